/** `bpfkit capture`: tcpdump -i for Linux — a live AF_PACKET capture with the compiled filter attached in the kernel; print, count or write. */

import { readFileSync } from 'node:fs';
import { formatPacket, PrintState } from '../decode/index.js';
import { compileFilter } from '../filter/index.js';
import type { CaptureStats, LiveCapture } from '../kernel/index.js';
import { AtomicFileWriter } from '../node/index.js';
import { PcapWriter, linkTypeDescription, linkTypeName, linkTypeToDlt, type Packet } from '../pcap/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { flagInt, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import type { Command, Io } from './command.js';
import { PRINT_FLAGS, printOptionsFrom } from './print-flags.js';
import { systemResolver } from './resolver.js';

const FLAGS: FlagSpec[] = [
  { names: ['-i'], key: 'interface', value: true },
  { names: ['-w'], key: 'write', value: true },
  { names: ['-c'], key: 'max', value: true },
  { names: ['--count'], key: 'count' },
  { names: ['-s'], key: 'snaplen', value: true },
  { names: ['-F'], key: 'file', value: true },
  ...PRINT_FLAGS,
];

const HELP = `usage: bpfkit capture -i IFACE [-w OUT] [-c COUNT] [--count] [-s SNAPLEN] [-F EXPRFILE]
                      [-e] [-q] [-S] [-v[v[v]]] [-x|-xx|-X|-XX] [-t...] [--nano] [EXPR...]

Captures packets on a Linux network interface, like \`tcpdump -i IFACE EXPR\`. The
expression is compiled to classic BPF (with Linux extensions: inbound, outbound, ifindex)
and attached to the AF_PACKET socket before it is bound, so no unfiltered packet is seen.
Needs root (or CAP_NET_RAW). Ctrl-C stops it and prints the packet counts to stderr.

  -i IFACE     interface to capture on (e.g. lo, eth0)
  -w OUT       write packets to the pcap file OUT, atomically when the capture ends
  -c COUNT     stop after COUNT packets
  --count      print only the number of packets captured
  -s SNAPLEN   bytes kept of each packet (default 262144)
  -F FILE      read the expression from FILE
  other flags  print as bpfkit filter / tcpdump do

Exit status: 0, 1 when the capture cannot be opened, 2 for a usage error.`;

const DEFAULT_SNAPLEN = 262144;

/** The ARPHRD_* hardware type of an interface, from sysfs. */
function interfaceHatype(name: string): number {
  if (!/^[^/\0]{1,15}$/.test(name) || name === '.' || name === '..') throw new UsageError('E_USAGE', `bad interface name "${name}"`);
  try {
    return Number(readFileSync(`/sys/class/net/${name}/type`, 'utf8').trim());
  } catch {
    throw new UsageError('E_NO_INTERFACE', `no network interface named "${name}"`);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const iface = flagString(args, 'interface');
  if (!iface) throw new UsageError('E_USAGE', 'capture needs -i IFACE');
  const exprFile = flagString(args, 'file');
  const expr = (exprFile ? readFileSync(exprFile, 'utf8').replace(/#.*$/gm, ' ') : args.positionals.join(' ')).trim();
  const maxCount = flagInt(args, 'max');
  if (maxCount !== undefined && maxCount < 1) throw new UsageError('E_USAGE', `-c must be a positive count, got ${maxCount}`);
  const countOnly = flagSet(args, 'count');
  const out = flagString(args, 'write');
  const snaplen = flagInt(args, 'snaplen') || DEFAULT_SNAPLEN;
  if (snaplen < 1) throw new UsageError('E_USAGE', `-s must be a positive snapshot length, got ${snaplen}`);
  const printOpts = printOptionsFrom(args);
  const printing = !countOnly && !out;

  const { Kernel, LiveCapture: Live, linkTypeForHatype } = await import('../kernel/index.js');
  const hatype = interfaceHatype(iface);
  const linkType = linkTypeForHatype(hatype);
  if (linkType === undefined) throw new UsageError('E_LINK_TYPE', `interface "${iface}" has hardware type ${hatype}, which bpfkit cannot capture on`);
  // Compiled before anything opens, so a bad expression fails with nothing to clean up.
  // The kernel trims a packet to the filter's return value and the original length is lost with it (libpcap's
  // fix_program has the same reason): the filter keeps whole packets and the capture cuts them to -s.
  const prog = expr ? compileFilter(expr, { linkType: linkTypeToDlt(linkType), snaplen: DEFAULT_SNAPLEN, linuxExtensions: true, resolver: systemResolver() }) : undefined;

  let cap: LiveCapture;
  try {
    const kernel = await Kernel.open();
    cap = Live.open(kernel.sys, { interface: iface, snaplen, filter: prog?.insns });
  } catch (e) {
    if (!(e instanceof BpfkitError)) throw e;
    io.stderr(`bpfkit capture: ${e.message}\n`);
    return 1;
  }

  let writer: AtomicFileWriter | undefined;
  let encode: ((p: Packet) => void) | undefined;
  if (out) {
    const w = (writer = new AtomicFileWriter(out));
    const pw = new PcapWriter({ linkType, snaplen, tsResolution: 'nsec', byteOrder: 'le' });
    w.write(pw.header());
    encode = (p) => w.write(pw.record(p));
  }
  io.stderr(`listening on ${iface}, link-type ${linkTypeName(linkType) ?? linkType} (${linkTypeDescription(linkType) ?? 'unknown'}), snapshot length ${snaplen} bytes\n`);

  const onSigint = (): void => cap.close();
  process.on('SIGINT', onSigint);
  const state = new PrintState();
  let captured = 0;
  let stats: CaptureStats;
  try {
    for await (const p of cap) {
      captured++;
      encode?.(p);
      if (printing) io.stdout(formatPacket(p, printOpts, state).text + '\n');
      if (maxCount !== undefined && captured >= maxCount) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
    cap.close();
    stats = cap.stats();
    if (writer) writer.commit();
  }
  if (countOnly) io.stdout(`${captured} packet${captured === 1 ? '' : 's'}\n`);
  const plural = (n: number, what: string): string => `${n} packet${n === 1 ? '' : 's'} ${what}\n`;
  io.stderr(plural(captured, 'captured') + plural(stats.received, 'received by filter') + plural(stats.dropped + stats.droppedByReader, 'dropped by kernel'));
  return 0;
}

export const captureCommand: Command = { name: ['capture'], summary: 'capture live packets on a Linux interface (filter in the kernel), print/count/write them', help: HELP, run };
