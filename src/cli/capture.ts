/** `bpfkit capture`: tcpdump -i for Linux — a live AF_PACKET capture with the compiled filter attached in the kernel; print, count or write. */

import { readFileSync } from 'node:fs';
import { formatPacket, PrintState, type Layer, type PrintOptions } from '../decode/index.js';
import { compileFilter } from '../filter/index.js';
import type { CaptureStats, LiveCapture } from '../kernel/index.js';
import { AtomicFileWriter, formatInterfaceList, listInterfaces, onStop } from '../node/index.js';
import { PcapWriter, PcapngWriter, linkTypeDescription, linkTypeName, linkTypeToDlt, type Packet } from '../pcap/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { flagInt, flagPacketCount, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import type { Command, Io } from './command.js';
import { PRINT_FLAGS, printOptionsFrom } from './print-flags.js';
import { systemResolver } from './resolver.js';

const FLAGS: FlagSpec[] = [
  { names: ['-i'], key: 'interface', value: true },
  { names: ['-D', '--list-interfaces'], key: 'list' },
  { names: ['-w'], key: 'write', value: true },
  { names: ['-c'], key: 'max', value: true },
  { names: ['--count'], key: 'count' },
  { names: ['-s'], key: 'snaplen', value: true },
  { names: ['-F'], key: 'file', value: true },
  { names: ['-l'], key: 'lineBuffered' },
  { names: ['--json'], key: 'json' },
  ...PRINT_FLAGS,
];

const HELP = `usage: bpfkit capture [-i IFACE] [-w OUT] [-c COUNT] [--count] [-s SNAPLEN] [-F EXPRFILE]
                      [--json] [-l] [-e] [-q] [-S] [-v[v[v]]] [-A|-x|-xx|-X|-XX] [-t...] [--nano] [EXPR...]
       bpfkit capture -D

Captures packets on a Linux network interface, like \`tcpdump -i IFACE EXPR\`. The
expression is compiled to classic BPF (with Linux extensions: inbound, outbound, ifindex)
and attached to the AF_PACKET socket before it is bound, so no unfiltered packet is seen.
Needs root (or CAP_NET_RAW). Ctrl-C (or SIGTERM, SIGHUP) stops it, completes the output
and prints the packet counts to stderr.

  -i IFACE     interface to capture on (e.g. lo, eth0); \`any\` captures on all of them in
               Linux cooked v2 (LINUX_SLL2); default: the first one \`-D\` lists
  -D           list the interfaces, as tcpdump -D does
  -w OUT       write packets to OUT: pcap, or pcapng when OUT ends in .pcapng; a regular file is
               replaced atomically when the capture ends, \`-\` is standard output
  -c COUNT     stop after COUNT packets
  --count      print only the number of packets captured
  -s SNAPLEN   bytes kept of each packet (default 262144)
  -F FILE      read the expression from FILE
  --json       one JSON object per packet (time, length, layers and fields)
  -l           line-buffered output (capture always writes each packet's line at once)
  other flags  print as bpfkit filter / tcpdump do

Exit status: 0, 1 when the capture cannot be opened or its output written, 2 for a usage error.`;

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
  if (flagSet(args, 'list')) {
    io.stdout(formatInterfaceList(listInterfaces()));
    return 0;
  }
  const exprFile = flagString(args, 'file');
  const expr = (exprFile ? readFileSync(exprFile, 'utf8').replace(/#.*$/gm, ' ') : args.positionals.join(' ')).trim();
  const maxCount = flagPacketCount(args, 'max');
  const countOnly = flagSet(args, 'count');
  const out = flagString(args, 'write');
  const json = flagSet(args, 'json');
  const snaplen = flagInt(args, 'snaplen') || DEFAULT_SNAPLEN;
  if (snaplen < 1) throw new UsageError('E_USAGE', `-s must be a positive snapshot length, got ${snaplen}`);
  const printOpts = printOptionsFrom(args);
  const printing = !countOnly && !out;
  // No -i: the first interface libpcap lists, as tcpdump does.
  const iface = flagString(args, 'interface') ?? listInterfaces()[0]?.name;
  if (!iface) throw new UsageError('E_NO_INTERFACE', 'no interfaces available for capture');

  // The defining modules: a dynamic import of the kernel barrel would load all of it (and the VM it reaches).
  const [{ Kernel }, { LiveCapture: Live, linkTypeForHatype, cookedKernelFilter, LINKTYPE_LINUX_SLL2 }] = await Promise.all([import('../kernel/kernel.js'), import('../kernel/capture.js')]);
  let linkType: number;
  if (iface === 'any') linkType = LINKTYPE_LINUX_SLL2;
  else {
    const hatype = interfaceHatype(iface);
    const lt = linkTypeForHatype(hatype);
    if (lt === undefined) throw new UsageError('E_LINK_TYPE', `interface "${iface}" has hardware type ${hatype}, which bpfkit cannot capture on`);
    linkType = lt;
  }
  // Compiled before anything opens, so a bad expression fails with nothing to clean up.
  // The kernel trims a packet to the filter's return value and the original length is lost with it (libpcap's
  // fix_program has the same reason): the filter keeps whole packets and the capture cuts them to -s.
  const prog = expr ? compileFilter(expr, { linkType: linkTypeToDlt(linkType), snaplen: DEFAULT_SNAPLEN, linuxExtensions: true, resolver: systemResolver(), netmask: 0 }) : undefined;
  // On \`any\` the kernel runs the filter without the cooked header: moved loads, or (when a load
  // needs a header field the kernel cannot give) no kernel filter and the program run here.
  const kernelFilter = prog && iface === 'any' ? cookedKernelFilter(prog.insns) : prog?.insns;
  const userFilter = prog && kernelFilter === undefined ? prog : undefined;

  let cap: LiveCapture;
  try {
    const kernel = await Kernel.open();
    cap = Live.open(kernel.sys, { interface: iface, snaplen, filter: kernelFilter });
  } catch (e) {
    if (!(e instanceof BpfkitError)) throw e;
    io.stderr(`bpfkit capture: ${e.message}\n`);
    return 1;
  }

  let writer: AtomicFileWriter | undefined;
  let encode: ((p: Packet) => void) | undefined;
  const offStop = onStop(() => cap.close());
  const state = new PrintState();
  let captured = 0;
  let stats: CaptureStats | undefined;
  try {
    if (out) {
      const w = (writer = new AtomicFileWriter(out, io.stdoutBytes ? { stdout: io.stdoutBytes } : {}));
      if (out.endsWith('.pcapng')) {
        const ng = new PcapngWriter({ snaplen, tsResolution: 'nsec', byteOrder: 'le' });
        w.write(ng.header());
        w.write(ng.interfaceBlock(linkType));
        encode = (p) => w.write(ng.record(p));
      } else {
        const pw = new PcapWriter({ linkType, snaplen, tsResolution: 'nsec', byteOrder: 'le' });
        w.write(pw.header());
        encode = (p) => w.write(pw.record(p));
      }
      // A pipe reader sees each packet as it comes, as with tcpdump -w - -U.
      if (w.kind !== 'file') w.flush();
    }
    io.stderr(`listening on ${iface}, link-type ${linkTypeName(linkType) ?? linkType} (${linkTypeDescription(linkType) ?? 'unknown'}), snapshot length ${snaplen} bytes\n`);
    for await (const p of cap) {
      if (userFilter && userFilter.match(p.data, p.origLen) === 0) continue;
      captured++;
      if (encode) {
        encode(p);
        if (writer?.kind !== 'file') writer?.flush();
      }
      if (printing) io.stdout((json ? JSON.stringify(packetJson(p, printOpts, state)) : formatPacket(p, printOpts, state).text) + '\n');
      // Each packet's line is written at once (so -l is how capture always prints); a slow reader holds it back.
      if (io.drain) await io.drain();
      if (maxCount !== undefined && captured >= maxCount) break;
    }
    cap.close();
    stats = cap.stats();
    writer?.commit();
  } catch (e) {
    writer?.abort();
    throw e;
  } finally {
    offStop();
    cap.close();
  }
  if (countOnly) io.stdout(`${captured} packet${captured === 1 ? '' : 's'}\n`);
  const plural = (n: number, what: string): string => `${n} packet${n === 1 ? '' : 's'} ${what}\n`;
  io.stderr(plural(captured, 'captured') + plural(stats.received, 'received by filter') + plural(stats.dropped + stats.droppedByReader, 'dropped by kernel'));
  return 0;
}

/** One packet as JSON, the shape \`bpfkit filter --json\` prints. */
function packetJson(p: Packet, opts: PrintOptions, state: PrintState): { time: string; length: number; caplen: number; layers: Layer[]; summary: string } {
  const { text, decoded } = formatPacket(p, { ...opts, timestamp: 'none', hex: 0, asciiText: 0 }, state);
  return {
    time: `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`,
    length: p.origLen,
    caplen: p.data.length,
    layers: decoded?.layers ?? [],
    summary: text,
  };
}

export const captureCommand: Command = { name: ['capture'], summary: 'capture live packets on a Linux interface (filter in the kernel), print/count/write them', help: HELP, run };
