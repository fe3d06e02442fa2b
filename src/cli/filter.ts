/** `bpfkit filter`: tcpdump -r for capture files — keep what matches, print, count or write it. */

import { readFileSync, statSync } from 'node:fs';
import type cliProgress from 'cli-progress';
import { formatPacket, printPacket, PrintState, TextBuffer, type PrintOptions, type Layer } from '../decode/index.js';
import { compileJitRange, type CbpfRangeFunction } from '../cbpf/index.js';
import { compileFilter, type FilterProgram } from '../filter/index.js';
import { AtomicFileWriter, OutputClosedError, canScan, fileError, onStop, openCaptureInput, parallelScanPcap, pipelinedCopyPcap, prestartScanWorker, releaseScanWorker, scanPcapFile } from '../node/index.js';
import { PcapWriter, PcapngWriter, linkTypeDescription, linkTypeName, type Packet } from '../pcap/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { flagInt, flagPacketCount, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import type { Command, Io } from './command.js';
import { PRINT_FLAGS, printOptionsFrom } from './print-flags.js';
import { systemResolver } from './resolver.js';

const FLAGS: FlagSpec[] = [
  { names: ['-r'], key: 'read', value: true },
  { names: ['-w'], key: 'write', value: true },
  { names: ['-c'], key: 'max', value: true },
  { names: ['--count'], key: 'count' },
  { names: ['-l'], key: 'lineBuffered' },
  ...PRINT_FLAGS,
  { names: ['-s'], key: 'snaplen', value: true },
  { names: ['-y'], key: 'linktype', value: true },
  { names: ['-F'], key: 'file', value: true },
  { names: ['--json'], key: 'json' },
  { names: ['--no-progress'], key: 'noProgress' },
  { names: ['--engine'], key: 'engine', value: true, choices: ['jit', 'interp'] },
];

const HELP = `usage: bpfkit filter -r FILE [-w OUT] [-c COUNT] [--count] [-l] [-n] [-e] [-q] [-S] [-v[v[v]]]
                     [-A|-x|-xx|-X|-XX] [-t|-tt|-ttt|-tttt|-ttttt] [--nano] [-s SNAPLEN]
                     [--json] [-F EXPRFILE] [EXPR...]

Reads a pcap or pcapng capture and keeps the packets that match the pcap-filter
expression EXPR (all packets when there is none), like \`tcpdump -r FILE EXPR\`.

  -r FILE      capture to read: a file, \`-\` (standard input), a pipe or a FIFO
  -w OUT       write matching packets to OUT (pcapng when OUT ends in .pcapng): a regular file is
               replaced atomically (a symlink's target), a device or FIFO written in place, \`-\` is stdout
  -c COUNT     stop after COUNT matching packets
  --count      print only the number of matching packets
  -l           line-buffered: write each packet's line at once
  -n           do not resolve names (bpfkit never does when printing; accepted for tcpdump users)
  -e           print the link-level header
  -q           quick output
  -S           absolute TCP sequence numbers
  -v           more detail (IP header fields, checksums)
  -x / -xx     hex dump of each packet (without / with the link header); -X/-XX add ASCII
  -A           each packet's bytes as ASCII (after the link header)
  -t ... -ttttt  timestamp format: none, epoch, delta, date, since first
  --nano       nanosecond timestamps
  -s SNAPLEN   the snapshot length the filter returns and written packets are cut to
  --json       one JSON object per packet (time, length, layers and fields)
  -F FILE      read the expression from FILE
  --engine E   jit (default) or interp

SIGINT, SIGTERM and SIGHUP stop the reading: the output is completed and the counts printed.
Exit status: 0, or 1 when the capture is damaged (after processing the packets before
the damage) or cannot be read or written, 2 for a usage error.`;

/** How often (packets) the loop lets the event loop run, so Ctrl-C is seen. */
const YIELD_EVERY = 1 << 16;
/** Printed text held before it is written (and the reader waited for): the back-pressure bound. */
const PRINT_BUFFER = 1 << 16;

/** `reading from file F, link-type NAME (DESC), snapshot length N`, as tcpdump prints it on stderr. */
export function readingFromLine(file: string, linkType: number, snaplen: number): string {
  const name = linkTypeName(linkType);
  const lt = name === undefined ? `${linkType}` : `${name} (${linkTypeDescription(linkType) ?? name})`;
  return `reading from file ${file}, link-type ${lt}, snapshot length ${snaplen}\n`;
}

async function run(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const fileOpt = flagString(args, 'read');
  if (!fileOpt) throw new UsageError('E_USAGE', 'filter needs -r FILE');
  const file: string = fileOpt;
  const exprFile = flagString(args, 'file');
  const expr = (exprFile ? readTextFile(exprFile) : args.positionals.join(' ')).trim();
  const maxCount = flagPacketCount(args, 'max');
  const countOnly = flagSet(args, 'count');
  const json = flagSet(args, 'json');
  const out = flagString(args, 'write');
  const snapOpt = flagInt(args, 'snaplen');
  const engine = flagString(args, 'engine') ?? 'jit';
  // JSON layers are built only for --json: the text alone needs none of them.
  const printOpts: PrintOptions = { ...printOptionsFrom(args), layers: json };
  const lineBuffered = flagSet(args, 'lineBuffered');
  // tcpdump prints packets unless it writes them (-w) or counts them.
  const printing = !countOnly && !out;

  // A big file counted or copied uses a worker thread: it boots (~30 ms of a core) while this one opens the capture and compiles the filter.
  // Standard input redirected from a big file (`-r - < big.pcap`) is scanned the same way.
  if (!printing && engine === 'jit' && !snapOpt && (out ? out !== '-' && !out.endsWith('.pcapng') : maxCount === undefined)) prestartScanWorker(file === '-' ? '/dev/stdin' : file);
  // SIGINT, SIGTERM, SIGHUP: stop reading (even mid-wait on a stalled pipe), complete the output, print the counts.
  const stop = new AbortController();
  let cap: Awaited<ReturnType<typeof openCaptureInput>>;
  try {
    // Printing is done with each batch before it asks for the next: the reader may reuse its buffers.
    cap = await openCaptureInput(file, { signal: stop.signal, reuseChunks: printing });
  } catch (e) {
    await releaseScanWorker();
    throw e;
  }
  let interrupted = false;
  const offStop = onStop(() => {
    interrupted = true;
    stop.abort();
  });
  let writer: AtomicFileWriter | undefined;
  try {
    return await filterCapture();
  } catch (e) {
    // Whatever stopped us (a full disk, a closed reader), no half-written file stays behind.
    writer?.abort();
    throw e;
  } finally {
    offStop();
    cap.close();
    await releaseScanWorker();
  }

  async function filterCapture(): Promise<number> {
    const info = cap.info;
    const snaplen = snapOpt || info.snaplen;
    const resolver = expr ? systemResolver() : undefined;
    const filters = new Map<number, ((p: Uint8Array, wirelen: number) => number) | null>();
    const programs = new Map<number, FilterProgram>();
    const filterFor = (linkType: number): ((p: Uint8Array, wirelen: number) => number) | null => {
      let f = filters.get(linkType);
      if (f === undefined) {
        if (!expr) f = null;
        else {
          // Compiled for a savefile, as tcpdump -r does: DLT_NULL/LOOP family values follow the file's byte
          // order, and the netmask is 0 (tcpdump -r knows no interface), so 'ip broadcast' compiles.
          const offlineAf = info.byteOrder === 'le' ? 'unswapped' : 'swapped';
          const prog: FilterProgram = compileFilter(expr, { linkType, snaplen, resolver, offlineAf, netmask: 0 });
          programs.set(linkType, prog);
          f = engine === 'jit' ? (p, w) => prog.match(p, w) : (p, w) => prog.interpret(p, w);
        }
        filters.set(linkType, f);
      }
      return f;
    };
    // Compile up front so that a bad expression fails before any output.
    filterFor(info.linkType);

    let encode: ((p: Packet) => void) | undefined;
    if (out) {
      const tsResolution = info.tsResolution.base === 10 && info.tsResolution.exponent >= 9 ? 'nsec' : 'usec';
      writer = new AtomicFileWriter(out, io.stdoutBytes ? { stdout: io.stdoutBytes } : {});
      const w = writer;
      if (out.endsWith('.pcapng')) {
        const ng = new PcapngWriter({ byteOrder: 'le', tsResolution, snaplen });
        w.write(ng.header());
        // The file's interface up front: a capture with no matching packet is still a valid one.
        w.write(ng.interfaceBlock(info.linkType));
        encode = (p) => w.write(ng.record(p));
      } else {
        const pw = new PcapWriter({ linkType: info.linkType, snaplen, tsResolution, byteOrder: 'le' });
        w.write(pw.header());
        encode = (p) => {
          const size = pw.recordSize(p);
          const r = w.reserve(size);
          if (r) {
            pw.writeRecord(p, r.buffer, r.at, r.view);
            w.advance(size);
          } else w.write(pw.record(p));
        };
      }
    }
    io.stderr(readingFromLine(file, info.linkType, info.snaplen));
    // Output on standard output is waited for often, so a slow reader holds us back (back-pressure).
    const drain = async (): Promise<void> => {
      if (writer?.kind === 'stdout') writer.flush();
      if (io.drain) await io.drain();
    };

    const state = new PrintState();
    let lines = '';
    // Printed text goes out as bytes, written from one reused buffer.
    const text = new TextBuffer(PRINT_BUFFER + (PRINT_BUFFER >> 2));
    const flushLines = (): void => {
      if (lines) {
        io.stdout(lines);
        lines = '';
      }
      if (text.length > 0) {
        // Node's UTF-8 decoder (the core has none of its own that fast): the sink encodes it back at memcpy speed.
        io.stdout(Buffer.from(text.bytes.buffer, text.bytes.byteOffset, text.length).toString('utf8'));
        text.length = 0;
      }
    };
    let seen = 0;
    let matched = 0;
    let error: BpfkitError | undefined;
    // The progress bar's library loads only when there is a terminal to draw on.
    const bar = io.isTTY && !flagSet(args, 'noProgress') && cap.seekableFd !== undefined ? await makeProgress(file) : undefined;
    const started = Date.now();
    const progress = (offset: number): void => bar?.update(offset, { pps: Math.round(seen / Math.max(1e-3, (Date.now() - started) / 1000)) });
    let skip = 0;
    let done = false;
    // Set when a fast path stopped at a record only the full reader takes.
    let fullReaderOnly = false;
    try {
      // Counting or copying a plain little-endian microsecond pcap needs no packet objects; it reads
      // by offset, so only a regular file takes this path (a pipe or FIFO streams below).
      const plainCopy = info.byteOrder === 'le' && info.tsResolution.exponent === 6 && !out?.endsWith('.pcapng');
      const scanFd = cap.seekableFd;
      if (scanFd !== undefined && !printing && !snapOpt && canScan(info) && (!out || plainCopy)) {
        filterFor(info.linkType);
        const prog = programs.get(info.linkType);
        // A big file is counted on every core (undefined: it did not qualify, or needs the full reader).
        if (maxCount === undefined && engine === 'jit' && writer === undefined) {
          const par = await parallelScanPcap(file === '-' ? `/dev/fd/${scanFd}` : file, info, { insns: prog?.insns ?? null });
          if (par) {
            seen = par.records;
            matched = par.matched;
            done = true;
          }
        }
        // A big file copied to a regular file: one pass, a worker reading and filtering while this thread writes.
        const to = engine === 'jit' && writer?.kind === 'file' ? writer.positional() : undefined;
        if (to) {
          let copy;
          try {
            copy = await pipelinedCopyPcap(scanFd, info, 24, { insns: prog?.insns ?? null, out: to, maxMatched: maxCount, stopped: () => interrupted });
          } catch (e) {
            throw fileError(e, 'write', out ?? '');
          }
          if (copy) {
            writer?.wroteAt(copy.bytes);
            seen = copy.records;
            matched = copy.matched;
            // The rest (from the record the copy could not take) goes through the full reader.
            skip = copy.records;
            fullReaderOnly = true;
            done = copy.end !== 'fallback';
          }
        }
      }
      if (!done && !fullReaderOnly && scanFd !== undefined && !printing && !snapOpt && canScan(info) && (!out || plainCopy)) {
        const prog = programs.get(info.linkType);
        const f: CbpfRangeFunction | null =
          prog === undefined ? null : engine === 'jit' ? compileJitRange(prog.insns) : (buf, at, caplen, wl) => prog.interpret(buf.subarray(at, at + caplen), wl);
        const w = writer;
        // Matching records that lie next to each other in the read buffer are written as one run.
        let runBuf: Uint8Array | undefined;
        let runStart = 0;
        let runEnd = 0;
        const flushRun = (): void => {
          if (w && runBuf && runEnd > runStart) w.write(runBuf.subarray(runStart, runEnd));
          runStart = runEnd = 0;
        };
        // Pauses let signals in; to a pipe or device they also bound what waits for the reader.
        const maxBytes = w === undefined || w.kind === 'file' ? 64 << 20 : 4 << 20;
        let offset: number | undefined;
        // One read buffer for every resumed scan: a new one per pause would pile up until a full GC.
        const readBuffer = new Uint8Array(4 << 20);
        for (;;) {
          const r = scanPcapFile(
            scanFd,
            info,
            (buf, at, caplen, origLen) => {
              seen++;
              if (f !== null && f(buf, at + 16, caplen, origLen) === 0) return true;
              matched++;
              if (w) {
                if (runBuf !== buf || at !== runEnd) {
                  flushRun();
                  runBuf = buf;
                  runStart = at;
                }
                runEnd = at + 16 + caplen;
              }
              return maxCount === undefined || matched < maxCount;
            },
            { from: offset, maxBytes, buffer: readBuffer, beforeRefill: flushRun },
          );
          skip += r.records;
          offset = r.offset;
          progress(offset);
          if (r.end === 'paused') {
            await drain();
            await new Promise((res) => setImmediate(res));
            if (interrupted) {
              done = true;
              break;
            }
            continue;
          }
          done = r.end !== 'fallback';
          break;
        }
      }
      let sinceYield = 0;
      // The filter of the link type last seen: a pcapng file rarely switches, so no lookup per packet.
      let curLinkType = info.linkType;
      let curFilter = filterFor(curLinkType);
      if (!done) {
        // A regular file's batches come synchronously, a stream's as they arrive.
        outer: for await (const batch of cap.batches()) {
          for (let i = 0; i < batch.length; i++) {
            if (skip > 0) {
              skip--;
              continue;
            }
            const p = batch[i];
            seen++;
            if (p.linkType !== curLinkType) {
              curLinkType = p.linkType;
              curFilter = filterFor(curLinkType);
            }
            const f = curFilter;
            if (f !== null && f(p.data, p.origLen) === 0) continue;
            matched++;
            const kept = snapOpt && p.data.length > snapOpt ? { ...p, data: p.data.subarray(0, snapOpt) } : p;
            if (encode) encode(kept);
            if (printing) {
              if (json) lines += JSON.stringify(packetJson(kept, printOpts, state)) + '\n';
              else {
                printPacket(kept, printOpts, state, text);
                text.writeByte(10);
              }
              if (lineBuffered || lines.length > PRINT_BUFFER || text.length > PRINT_BUFFER) {
                flushLines();
                await drain();
                if (interrupted) break outer;
              }
            }
            if (maxCount !== undefined && matched >= maxCount) break outer;
          }
          sinceYield += batch.length;
          progress(cap.offset);
          if (writer?.kind === 'stdout') await drain();
          if (sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            flushLines();
            await drain();
            await new Promise((r) => setImmediate(r));
          }
          if (interrupted) break;
        }
      }
    } catch (e) {
      // Damage in the capture (or a link type no filter compiles for) ends the packets, not the
      // command; a closed reader or a failed write ends the command.
      if (!(e instanceof BpfkitError) || e instanceof OutputClosedError || e.code === 'E_FILE') throw e;
      error = e;
    } finally {
      bar?.stop();
    }
    flushLines();
    // A damaged input still yields a complete output file of the packets before the damage.
    writer?.commit();
    if (countOnly) io.stdout(`${matched} packet${matched === 1 ? '' : 's'}\n`);
    await drain();
    if (interrupted) io.stderr(`${seen} packets read, ${matched} matched (interrupted)\n`);
    if (error) {
      io.stderr(`bpfkit filter: ${error.message}\n`);
      return 1;
    }
    return 0;
  }
}

/** An expression file (-F), with a typed error when it cannot be read. */
function readTextFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8').replace(/#.*$/gm, ' ');
  } catch (e) {
    throw fileError(e, 'open', file);
  }
}

async function makeProgress(file: string): Promise<cliProgress.SingleBar> {
  const size = statSize(file);
  const cliProgress = (await import('cli-progress')).default;
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {percentage}% | {value}/{total} bytes | {pps} packets/s', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(size, 0, { pps: 0 });
  return bar;
}

function statSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function packetJson(p: Packet, opts: PrintOptions, state: PrintState): { time: string; length: number; caplen: number; layers: Layer[]; summary: string } {
  const { text, decoded } = formatPacket(p, { ...opts, timestamp: 'none', hex: 0 }, state);
  return {
    time: `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`,
    length: p.origLen,
    caplen: p.data.length,
    layers: decoded?.layers ?? [],
    summary: text,
  };
}

export const filterCommand: Command = { name: ['filter'], summary: 'read a capture, keep what matches an expression, print/count/write it', help: HELP, run };
