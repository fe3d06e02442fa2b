/** One thread's share of a parallel pcap scan: the records that start inside a byte range of the file, filtered, counted and optionally copied out. */

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { compileJitRange, type CbpfRangeFunction, type Insn } from '../cbpf/index.js';

/** What one thread scans. Plain data, so it crosses to a worker thread as a message. */
export interface SegmentJob {
  path: string;
  /** File offset of the segment's first record (a record boundary, or a claimed one). */
  from: number;
  /** The next segment's first record: this segment ends at the first record starting at or past it. */
  to: number;
  /** The file's size: the last segment ends exactly there. */
  fileSize: number;
  littleEndian: boolean;
  snaplen: number;
  /** The filter; null keeps every record. */
  insns: readonly Insn[] | null;
  /** Copy the matching records to this descriptor from this offset on (positional writes). */
  write?: { fd: number; at: number };
  bufferSize?: number;
}

/**
 * How a segment ended. `ok`: the last record ended exactly at `to`. `misaligned`: a record
 * crossed `to`, so the next segment's claimed start was not a record boundary. `fallback`:
 * a record the fast path does not take (caplen over snaplen, a truncated tail): the caller
 * redoes the file with the full decoder, which reports it as libpcap does.
 */
export type SegmentEnd = 'ok' | 'misaligned' | 'fallback';

export interface SegmentResult {
  end: SegmentEnd;
  records: number;
  matched: number;
  /** Bytes of the matching records, headers included: what a copy writes. */
  matchedBytes: number;
}

/** Scans the records of one segment. Synchronous: a worker runs it whole, the main thread runs segment 0 the same way. */
export function scanSegment(job: SegmentJob): SegmentResult {
  const bufferSize = job.bufferSize ?? 1 << 20;
  const filter: CbpfRangeFunction | null = job.insns ? compileJitRange(job.insns) : null;
  const le = job.littleEndian;
  const snaplen = job.snaplen;
  const to = job.to;
  const out = job.write;
  let outPos = out?.at ?? 0;
  let buf = new Uint8Array(bufferSize);
  let view = new DataView(buf.buffer);
  const fd = openSync(job.path, 'r');
  let records = 0;
  let matched = 0;
  let matchedBytes = 0;
  // Matching records next to each other in the buffer are written as one run.
  let runStart = 0;
  let runEnd = 0;
  const flush = (): void => {
    if (out && runEnd > runStart) {
      let at = runStart;
      while (at < runEnd) {
        const n = writeSync(out.fd, buf, at, runEnd - at, outPos);
        at += n;
        outPos += n;
      }
    }
    runStart = runEnd = 0;
  };
  try {
    let base = job.from; // file offset of buf[0]
    let filled = readSync(fd, buf, 0, buf.length, base);
    let pos = 0;
    for (;;) {
      while (pos + 16 <= filled) {
        if (base + pos >= to) {
          flush();
          return { end: base + pos === to ? 'ok' : 'misaligned', records, matched, matchedBytes };
        }
        const caplen = view.getUint32(pos + 8, le);
        if (caplen > snaplen) {
          flush();
          return { end: 'fallback', records, matched, matchedBytes };
        }
        const end = pos + 16 + caplen;
        if (end > filled) break;
        records++;
        if (filter === null || filter(buf, pos + 16, caplen, view.getUint32(pos + 12, le)) !== 0) {
          matched++;
          matchedBytes += 16 + caplen;
          if (out) {
            if (pos !== runEnd) {
              flush();
              runStart = pos;
            }
            runEnd = end;
          }
        }
        pos = end;
      }
      flush();
      if (base + pos >= to) return { end: base + pos === to ? 'ok' : 'misaligned', records, matched, matchedBytes };
      // Keep the partial record at the front, refill behind it.
      const rest = filled - pos;
      const need = pos + 16 <= filled ? 16 + view.getUint32(pos + 8, le) : 16;
      if (need > buf.length) {
        const bigger = new Uint8Array(need + bufferSize);
        bigger.set(buf.subarray(pos, filled));
        buf = bigger;
        view = new DataView(buf.buffer);
      } else buf.copyWithin(0, pos, filled);
      base += pos;
      pos = 0;
      filled = rest;
      const n = readSync(fd, buf, filled, buf.length - filled, base + filled);
      if (n === 0) return { end: 'fallback', records, matched, matchedBytes }; // a truncated last record
      filled += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Wire lengths beyond this are not real packets (the largest GSO frames are 256 KiB). */
const MAX_WIRE_LEN = 1 << 24;
/** Consecutive real records of a capture are rarely an hour apart. */
const MAX_CHAIN_SPREAD_SECONDS = 3600;

/**
 * Finds the first offset at or after `guess` where `chain` pcap record headers in a row are
 * plausible (caplen within snaplen, sub-second field in range, each header where the last
 * record ends). The scan of the segment before proves the claim: it must end exactly there.
 */
export function claimBoundary(fd: number, guess: number, fileSize: number, littleEndian: boolean, snaplen: number, nanoseconds: boolean, chain = 16): number | undefined {
  const window = Math.min(fileSize - guess, (chain + 1) * (16 + snaplen) + (1 << 16));
  if (window < 16) return undefined;
  const buf = new Uint8Array(window);
  const got = readSync(fd, buf, 0, window, guess);
  const view = new DataView(buf.buffer, 0, got);
  const subsecLimit = nanoseconds ? 1_000_000_000 : 1_000_000;
  // A header read a few bytes off the real one can chain through real records (when caplen
  // equals the wire length); the wire length and the time stamps' spread rule that out.
  const plausible = (at: number): number => {
    const caplen = view.getUint32(at + 8, littleEndian);
    const origLen = view.getUint32(at + 12, littleEndian);
    if (caplen > snaplen || origLen < caplen || origLen > MAX_WIRE_LEN || view.getUint32(at + 4, littleEndian) >= subsecLimit) return -1;
    return at + 16 + caplen;
  };
  for (let c = 0; c + 16 <= got; c++) {
    let at = c;
    let ok = 0;
    let lo = Infinity;
    let hi = -Infinity;
    while (ok < chain && at + 16 <= got) {
      const next = plausible(at);
      if (next < 0) break;
      const sec = view.getUint32(at, littleEndian);
      lo = Math.min(lo, sec);
      hi = Math.max(hi, sec);
      ok++;
      at = next;
    }
    // A chain that reaches the end of the file counts as whole.
    if ((ok === chain || (ok > 0 && guess + at === fileSize)) && hi - lo <= MAX_CHAIN_SPREAD_SECONDS) return guess + c;
    if (c > (1 << 16) + 16 + snaplen) break;
  }
  return undefined;
}
