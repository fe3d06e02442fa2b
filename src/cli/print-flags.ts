/** The tcpdump printing flags (-e -q -S -v -x -X -A -t --nano) shared by `bpfkit filter` and `bpfkit capture`, and the options they make. */

import { readdirSync, readFileSync } from 'node:fs';
import type { PrintOptions, TimestampFormat } from '../decode/index.js';
import { flagSet, type FlagSpec, type ParsedArgs } from './args.js';

/** Flags that choose how a packet is printed, as tcpdump spells them. */
export const PRINT_FLAGS: readonly FlagSpec[] = [
  { names: ['-n'], key: 'n' },
  { names: ['-nn'], key: 'n' },
  { names: ['-e'], key: 'e' },
  { names: ['-q'], key: 'q' },
  { names: ['-S'], key: 'S' },
  { names: ['-v'], key: 'v1' },
  { names: ['-vv'], key: 'v2' },
  { names: ['-vvv'], key: 'v3' },
  { names: ['-x'], key: 'x1' },
  { names: ['-xx'], key: 'x2' },
  { names: ['-X'], key: 'X1' },
  { names: ['-XX'], key: 'X2' },
  { names: ['-A'], key: 'A1' },
  { names: ['-AA'], key: 'A2' },
  { names: ['-t'], key: 't1' },
  { names: ['-tt'], key: 't2' },
  { names: ['-ttt'], key: 't3' },
  { names: ['-tttt'], key: 't4' },
  { names: ['-ttttt'], key: 't5' },
  { names: ['--nano'], key: 'nano' },
];

/** The {@link PrintOptions} that the flags of {@link PRINT_FLAGS} in `args` ask for. */
export function printOptionsFrom(args: ParsedArgs): PrintOptions {
  const ts: TimestampFormat = flagSet(args, 't5') ? 'sinceFirst' : flagSet(args, 't4') ? 'date' : flagSet(args, 't3') ? 'delta' : flagSet(args, 't2') ? 'epoch' : flagSet(args, 't1') ? 'none' : 'default';
  const hexLevel = flagSet(args, 'x2') || flagSet(args, 'X2') ? 2 : flagSet(args, 'x1') || flagSet(args, 'X1') ? 1 : 0;
  return {
    verbose: flagSet(args, 'v3') ? 3 : flagSet(args, 'v2') ? 2 : flagSet(args, 'v1') ? 1 : 0,
    linkHeader: flagSet(args, 'e'),
    quick: flagSet(args, 'q'),
    absoluteSeq: flagSet(args, 'S'),
    timestamp: ts,
    nano: flagSet(args, 'nano'),
    hex: hexLevel,
    ascii: flagSet(args, 'X1') || flagSet(args, 'X2'),
    asciiText: flagSet(args, 'A2') ? 2 : flagSet(args, 'A1') ? 1 : 0,
    ifName: interfaceName,
  };
}

let ifNames: Map<number, string> | undefined;
/** Interface names by index, for LINUX_SLL2 (tcpdump asks if_indextoname). */
export function interfaceName(index: number): string | undefined {
  if (!ifNames) {
    ifNames = new Map();
    try {
      for (const name of readdirSync('/sys/class/net')) {
        const idx = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
        ifNames.set(idx, name);
      }
    } catch {
      // No sysfs (not Linux): names print as "?".
    }
  }
  return ifNames.get(index);
}
