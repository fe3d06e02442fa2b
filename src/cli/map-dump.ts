/** `bpfkit map dump`: a pinned kernel map's entries, or an object's maps as loaded into the VM, printed as bpftool prints them. */

import type { Command } from './command.js';
import { flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import { readObject } from './obj.js';
import { UsageError, toHex } from '../util/index.js';
import { vmBackend, type BpfMap } from '../ebpf/index.js';
import { loadCollection, objectNameOf } from '../elf/index.js';

const FLAGS: FlagSpec[] = [
  { names: ['--map', '-m'], key: 'map', value: true },
  { names: ['--json', '-j'], key: 'json' },
];

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

async function dump(m: BpfMap, json: boolean): Promise<string> {
  const rows: [Uint8Array, Uint8Array][] = [];
  for await (const e of m.entries()) rows.push(e);
  if (json) return `${JSON.stringify(rows.map(([k, v]) => ({ key: toHex(k), value: toHex(v) })))}\n`;
  const lines = rows.map(([k, v]) => `key: ${toHex(k, ' ')}  value: ${toHex(v, ' ')}`);
  lines.push(`Found ${rows.length} element${rows.length === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

/** `bpfkit map dump PINNED | FILE.o [--map NAME]`. */
export const mapDumpCommand: Command = {
  name: ['map', 'dump'],
  summary: "print a map's entries: a map pinned on bpffs, or an object's maps as loaded into the VM",
  help: `usage: bpfkit map dump [--json] PATH
       bpfkit map dump [--json] [--map NAME] FILE.o

PATH is a map pinned on bpffs (kernel; needs root). With a clang object, its maps
are loaded into the VM as loadCollection loads them (global data with its initial
values, prog arrays and map-in-maps filled) and printed: every map, or --map NAME.`,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'map dump takes one PATH or FILE.o');
    const file = args.positionals[0];
    const json = flagSet(args, 'json');
    const bytes = file.endsWith('.o') ? readObject(file) : undefined;
    if (bytes && ELF_MAGIC.every((b, i) => bytes[i] === b)) {
      using coll = loadCollection(bytes, vmBackend(), { name: objectNameOf(file) });
      const only = flagString(args, 'map');
      const maps = only === undefined ? [...coll.maps] : [[only, coll.map(only)] as const];
      for (const [name, m] of maps) {
        if (only === undefined && !json) io.stdout(`${name}:\n`);
        io.stdout(await dump(m, json));
      }
      return 0;
    }
    if (flagString(args, 'map') !== undefined) throw new UsageError('E_USAGE', '--map is for an object file; a pinned PATH is one map');
    const { Kernel } = await import('../kernel/kernel.js');
    using m = (await Kernel.open()).openPinnedMap(file);
    io.stdout(await dump(m, json));
    return 0;
  },
};
