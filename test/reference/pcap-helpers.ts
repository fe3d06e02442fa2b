/** Shared by the pcap reference tests: runs libpcap (test/reference/native/pcap-dump.c) and bpfkit on capture files and renders both the same way. */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readCapture, streamCapture, type CaptureInfo, type Packet } from '../../src/pcap/index.js';
import { FormatError } from '../../src/util/index.js';
import { buildNative } from '../helpers/native.js';

/** What one reader saw in one file, as comparable lines. */
export interface Reading {
  /** `open_error MSG` or `open dlt=.. snaplen=.. swapped=.. version=..` */
  open: string;
  packets: string[];
  /** `eof` or `read_error MSG` */
  end: string;
}

/** FNV-1a 32 of the bytes, as pcap-dump prints it. */
export function fnv1a(b: Uint8Array): string {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function packetLine(p: Packet): string {
  return `packet ${p.data.length} ${p.origLen} ${p.tsSec} ${p.tsNsec} ${fnv1a(p.data)}`;
}

function openLine(r: CaptureInfo): string {
  return `open dlt=${r.linkType} snaplen=${r.snaplen} swapped=${r.byteOrder === 'be' ? 1 : 0} version=${r.versionMajor}.${r.versionMinor}`;
}

/** The reference: libpcap 1.10 through pcap-dump, nanosecond precision, many files per run. */
export function libpcapReadings(files: string[]): Map<string, Reading> {
  const exe = buildNative('pcap-dump', ['-lpcap']);
  const out = new Map<string, Reading>();
  for (let i = 0; i < files.length; i += 200) {
    const text = execFileSync(exe, files.slice(i, i + 200), { maxBuffer: 1 << 28 }).toString();
    let cur: Reading | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith('file ')) {
        cur = { open: '', packets: [], end: '' };
        out.set(line.slice(5), cur);
      } else if (!cur || line === '') continue;
      else if (line.startsWith('open')) cur.open = line;
      else if (line.startsWith('packet ')) cur.packets.push(normalizeSeconds(line));
      else cur.end = line;
    }
  }
  return out;
}

/**
 * `Packet.tsSec` is a number, so seconds beyond 2^53 (only in corrupted pcapng files, some
 * hundred million years out) are rounded; render libpcap's exact value the same way.
 */
function normalizeSeconds(line: string): string {
  const f = line.split(' ');
  f[3] = String(Number(f[3]));
  return f.join(' ');
}

/** bpfkit's whole-buffer reader on the same file. */
export function bpfkitReading(bytes: Uint8Array): Reading {
  try {
    const r = readCapture(bytes);
    return { open: openLine(r), packets: r.packets.map(packetLine), end: r.error ? `read_error ${r.error.detail}` : 'eof' };
  } catch (e) {
    if (e instanceof FormatError) return { open: `open_error ${e.detail}`, packets: [], end: '' };
    throw e;
  }
}

/** bpfkit's streaming reader on the same file, fed in chunks of `chunk` bytes. */
export async function bpfkitStreamReading(bytes: Uint8Array, chunk: number): Promise<Reading> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += chunk) yield bytes.slice(at, at + chunk);
  }
  const s = streamCapture(chunks());
  const packets: string[] = [];
  try {
    for await (const p of s) packets.push(packetLine(p));
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    if (!s.infoNow) return { open: `open_error ${e.detail}`, packets: [], end: '' };
    return { open: openLine(s.infoNow), packets, end: `read_error ${e.detail}` };
  }
  return { open: openLine(s.infoNow!), packets, end: 'eof' };
}

/** Reads a file as a plain Uint8Array. */
export function load(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}
