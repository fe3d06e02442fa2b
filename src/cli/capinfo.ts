/** `bpfkit capinfo`: what a capture file holds (format, link types, snaplen, packet count, time span), and where it is damaged. */

import { openCaptureFileSync } from '../node/index.js';
import { formatLinkType, linkTypeDescription, tsResolutionDigits, type CaptureInfo, type Packet, type TsResolution } from '../pcap/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { parseArgs } from './args.js';
import type { Command, Io } from './command.js';

/** A time stamp as ISO 8601 UTC with as many fraction digits as the file's resolution. */
export function formatTimestamp(sec: number, nsec: number, resolution: TsResolution): string {
  const digits = tsResolutionDigits(resolution);
  const ms = sec * 1000;
  if (!(nsec >= 0 && nsec < 1e9) || !(Math.abs(ms) <= 8.64e15)) return `${sec}.${String(nsec).padStart(9, '0').slice(0, digits)}`;
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
  return digits > 0 ? `${iso}.${String(nsec).padStart(9, '0').slice(0, digits)}Z` : `${iso}Z`;
}

function resolutionText(r: TsResolution): string {
  if (r.base === 10 && r.exponent === 6) return 'microseconds';
  if (r.base === 10 && r.exponent === 9) return 'nanoseconds';
  return `${r.base}^-${r.exponent} s`;
}

function describe(file: string, info: CaptureInfo, count: number, first: [number, number] | undefined, last: [number, number] | undefined): string {
  const lines: string[] = [];
  const row = (k: string, v: string): number => lines.push(`${(k + ':').padEnd(18)}${v}`);
  row('File', file);
  row('Format', `${info.format} (version ${info.versionMajor}.${info.versionMinor})`);
  row('Byte order', info.byteOrder === 'le' ? 'little-endian' : 'big-endian');
  const lt = (v: number): string => `${formatLinkType(v)}${linkTypeDescription(v) ? ` ${linkTypeDescription(v)}` : ''}`;
  row('Link type', lt(info.linkType));
  row('Snapshot length', String(info.snaplen));
  row('Time stamps', resolutionText(info.tsResolution));
  if (info.format === 'pcapng') {
    row('Interfaces', String(info.interfaces.length));
    for (const i of info.interfaces) {
      lines.push(
        `  #${i.id}${i.section ? ` (section ${i.section})` : ''}: ${lt(i.linkType)}, snaplen ${i.snaplen}, ${resolutionText(i.tsResolution)}`,
      );
    }
  }
  row('Packets', String(count));
  if (first) row('First packet', formatTimestamp(first[0], first[1], info.tsResolution));
  if (last) row('Last packet', formatTimestamp(last[0], last[1], info.tsResolution));
  return lines.join('\n') + '\n';
}

/** Reads one file through the streaming reader; returns false when it is damaged or unreadable. */
function capinfo(file: string, io: Io): boolean {
  let capture;
  try {
    capture = openCaptureFileSync(file);
  } catch (e) {
    if (!(e instanceof BpfkitError)) throw e;
    // A file-system error already names the file.
    io.stderr(e.code === 'E_FILE' ? `bpfkit capinfo: ${e.detail}\n` : `bpfkit capinfo: ${file}: ${e.detail} [${e.code}]\n`);
    return false;
  }
  let count = 0;
  let first: [number, number] | undefined;
  let last: Packet | undefined;
  let error: BpfkitError | undefined;
  try {
    for (const batch of capture.batches()) {
      if (!first) first = [batch[0].tsSec, batch[0].tsNsec];
      count += batch.length;
      last = batch[batch.length - 1];
    }
  } catch (e) {
    if (!(e instanceof BpfkitError)) throw e;
    error = e;
  } finally {
    capture.close();
  }
  io.stdout(describe(file, capture.info, count, first, last && [last.tsSec, last.tsNsec]));
  if (error) {
    const offset = error.position?.offset;
    io.stdout(`${'Error:'.padEnd(18)}${error.detail}${offset !== undefined ? ` (at offset ${offset})` : ''} [${error.code}]\n`);
  }
  return error === undefined;
}

export const capinfoCommand: Command = {
  name: ['capinfo'],
  summary: 'describe capture files: format, link types, snaplen, packets, time span',
  help: `usage: bpfkit capinfo FILE...

Prints, for each pcap or pcapng file: format and version, byte order, link type(s),
snapshot length, time-stamp resolution, packet count, first and last time stamp.
A damaged file shows what could be read plus the error, and the exit status is 1.`,
  async run(argv, io) {
    const args = parseArgs(argv, []);
    if (args.positionals.length === 0) throw new UsageError('E_USAGE', 'capinfo needs at least one FILE');
    let ok = true;
    args.positionals.forEach((file, i) => {
      if (i > 0) io.stdout('\n');
      if (!capinfo(file, io)) ok = false;
    });
    return ok ? 0 : 1;
  },
};
