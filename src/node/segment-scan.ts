/** One thread's share of a parallel pcap scan: the records that start inside a byte range of the file, filtered, counted and optionally copied out; imports nothing but node:fs and node:worker_threads, so a worker starts fast. */

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { CbpfRangeFunction } from '../cbpf/index.js';

/** What one thread scans. Plain data, so it crosses to a worker thread as a message. */
export interface SegmentJob {
  path: string;
  /** File offset of the segment's first record (a record boundary, or a claimed one). */
  from: number;
  /** The segment ends at its first record starting at or past this offset (the file's size for the last). */
  to: number;
  /** The file's size: the last segment ends exactly there. */
  fileSize: number;
  littleEndian: boolean;
  snaplen: number;
  /** The filter as `jitRangeSource` text (a worker builds it without loading the compiler); null keeps every record. */
  filter: string | null;
  /** Copy the matching records to this descriptor from this offset on (positional writes). */
  write?: { fd: number; at: number };
  bufferSize?: number;
}

/**
 * How a segment ended. `ok`: at `stop`, the first record boundary at or past `to`.
 * `fallback`: a record the fast path does not take (caplen over snaplen, a truncated tail):
 * the caller redoes the file with the full decoder, which reports it as libpcap does.
 */
export type SegmentEnd = 'ok' | 'fallback';

export interface SegmentResult {
  end: SegmentEnd;
  /** File offset where the scan stopped: the next segment must start exactly here. */
  stop: number;
  records: number;
  matched: number;
  /** Bytes of the matching records, headers included: what a copy writes. */
  matchedBytes: number;
}

/** What a thrown fault becomes in a scan: any error sends the file to the ordinary reader, which reports it. */
const scanRuntime = { fault: (code: string, message: string): Error => new Error(`${code}: ${message}`) };
/** Filters built in this thread, by source: one function per filter, so V8 optimizes it once and the call site stays monomorphic. */
const built = new Map<string, CbpfRangeFunction>();

/** The range filter of a `jitRangeSource` text, built once per thread. */
export function rangeFilter(source: string): CbpfRangeFunction {
  let f = built.get(source);
  if (f === undefined) {
    f = (new Function('rt', source) as (rt: typeof scanRuntime) => CbpfRangeFunction)(scanRuntime);
    built.set(source, f);
  }
  return f;
}

/** This thread's read buffer, reused by every segment it scans: garbage buffers would be freed only by a full GC and pile up as external memory. */
let scratch: Uint8Array | undefined;

/** Why {@link recordLoop} returned. */
const LOOP_LIMIT = 0;
const LOOP_PARTIAL = 1;
const LOOP_ODD = 2;

/**
 * The record loop's counters and position, kept in this thread's module state (not a result
 * object per buffer): {@link recordLoop} advances them, {@link scanSegment} reads them.
 */
let loopPos = 0;
let loopRecords = 0;
let loopMatched = 0;
let loopMatchedBytes = 0;

/** A copy's pending run of matching records that lie next to each other in the buffer, and where it goes. */
interface RunWriter {
  fd: number;
  /** File offset of the next byte written. */
  at: number;
  runStart: number;
  runEnd: number;
}

/** Writes the pending run (positional writes, as many as the kernel needs) and empties it. */
function flushRun(out: RunWriter, buf: Uint8Array): void {
  let at = out.runStart;
  while (at < out.runEnd) {
    const n = writeSync(out.fd, buf, at, out.runEnd - at, out.at);
    at += n;
    out.at += n;
  }
  out.runStart = out.runEnd = 0;
}

/**
 * Filters the whole records of `buf[loopPos, filled)` that start before `limit`. The hot loop
 * alone, in a function of its own: V8 optimizes it once, with type feedback from every path it
 * takes (the refill around it runs once per buffer and would otherwise deoptimize it at the
 * first refill, and each thread would compile it again).
 */
function recordLoop(
  buf: Uint8Array,
  view: DataView,
  filled: number,
  limit: number,
  le: boolean,
  snaplen: number,
  filter: CbpfRangeFunction | null,
  out: RunWriter | null,
): number {
  let pos = loopPos;
  let records = 0;
  let matched = 0;
  let matchedBytes = 0;
  let why = LOOP_PARTIAL;
  while (pos + 16 <= filled) {
    if (pos >= limit) {
      why = LOOP_LIMIT;
      break;
    }
    const caplen = view.getUint32(pos + 8, le);
    if (caplen > snaplen) {
      why = LOOP_ODD;
      break;
    }
    const end = pos + 16 + caplen;
    if (end > filled) break;
    records++;
    if (filter === null || filter(buf, pos + 16, caplen, view.getUint32(pos + 12, le)) !== 0) {
      matched++;
      matchedBytes += 16 + caplen;
      if (out !== null) {
        if (pos !== out.runEnd) {
          if (out.runEnd > out.runStart) flushRun(out, buf);
          out.runStart = pos;
        }
        out.runEnd = end;
      }
    }
    pos = end;
  }
  loopPos = pos;
  loopRecords += records;
  loopMatched += matched;
  loopMatchedBytes += matchedBytes;
  return why;
}

/** Scans the records of one segment. Synchronous: a worker runs it whole, the main thread runs segment 0 the same way. */
export function scanSegment(job: SegmentJob): SegmentResult {
  // Reads the size of a core's cache share: the scan then finds the records where the read put them (measured faster than 1–4 MiB).
  const bufferSize = job.bufferSize ?? 256 << 10;
  const filter: CbpfRangeFunction | null = job.filter === null ? null : rangeFilter(job.filter);
  const le = job.littleEndian;
  const snaplen = job.snaplen;
  const to = job.to;
  const out: RunWriter | null = job.write ? { fd: job.write.fd, at: job.write.at, runStart: 0, runEnd: 0 } : null;
  if (scratch?.length !== bufferSize) scratch = new Uint8Array(bufferSize);
  let buf = scratch;
  let view = new DataView(buf.buffer);
  const fd = openSync(job.path, 'r');
  loopRecords = loopMatched = loopMatchedBytes = 0;
  const result = (end: SegmentEnd, stop: number): SegmentResult => {
    if (out !== null && out.runEnd > out.runStart) flushRun(out, buf);
    return { end, stop, records: loopRecords, matched: loopMatched, matchedBytes: loopMatchedBytes };
  };
  try {
    let base = job.from; // file offset of buf[0]
    let filled = readSync(fd, buf, 0, buf.length, base);
    loopPos = 0;
    for (;;) {
      const why = recordLoop(buf, view, filled, to - base, le, snaplen, filter, out);
      const pos = loopPos;
      if (why === LOOP_LIMIT) return result('ok', base + pos);
      if (why === LOOP_ODD) return result('fallback', base + pos);
      if (out !== null && out.runEnd > out.runStart) flushRun(out, buf);
      if (base + pos >= to) return result('ok', base + pos);
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
      loopPos = 0;
      filled = rest;
      const n = readSync(fd, buf, filled, buf.length - filled, base + filled);
      if (n === 0) return result('fallback', base); // a truncated last record
      filled += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The window of every claim in this thread, as large as the largest one needed so far (at most a few MiB): one buffer, not one per chunk. */
let claimScratch: Uint8Array | undefined;

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
  // The next boundary is at most one record away; look a little further for a provable one.
  const search = 16 + snaplen + (1 << 16);
  const reach = Math.min(fileSize - guess, (chain + 1) * (16 + snaplen) + search);
  if (reach < 16) return undefined;
  // The window starts small and grows only when a chain of big records walks past it.
  claimScratch ??= new Uint8Array(1 << 16);
  let buf = reach >= claimScratch.length ? claimScratch : claimScratch.subarray(0, reach);
  let got = readSync(fd, buf, 0, buf.length, guess);
  let view = new DataView(buf.buffer, 0, got);
  const ensure = (end: number): boolean => {
    if (end <= got) return true;
    if (got === reach || end > reach) return false;
    const bigger = new Uint8Array(Math.min(reach, Math.max(end, buf.length * 2)));
    bigger.set(buf.subarray(0, got));
    got += readSync(fd, bigger, got, bigger.length - got, guess + got);
    buf = bigger;
    // Kept for the next claims (big records come in runs): no garbage buffer per claim.
    if (bigger.length > (claimScratch?.length ?? 0)) claimScratch = bigger;
    view = new DataView(buf.buffer, 0, got);
    return end <= got;
  };
  const subsecLimit = nanoseconds ? 1_000_000_000 : 1_000_000;
  // A header read a few bytes off the real one can chain through real records (when caplen
  // equals the wire length); the wire length and the time stamps' spread rule that out.
  for (let c = 0; c <= search && ensure(c + 16); c++) {
    let at = c;
    let ok = 0;
    let lo = Infinity;
    let hi = -Infinity;
    while (ok < chain && ensure(at + 16)) {
      const caplen = view.getUint32(at + 8, littleEndian);
      const origLen = view.getUint32(at + 12, littleEndian);
      // No packet is empty on the wire: zero bytes in a payload would otherwise chain as empty records.
      if (caplen > snaplen || origLen < caplen || origLen === 0 || origLen > MAX_WIRE_LEN || view.getUint32(at + 4, littleEndian) >= subsecLimit) break;
      const sec = view.getUint32(at, littleEndian);
      lo = Math.min(lo, sec);
      hi = Math.max(hi, sec);
      ok++;
      at += 16 + caplen;
    }
    // A chain that reaches the end of the file counts as whole.
    if ((ok === chain || (ok > 0 && guess + at === fileSize)) && hi - lo <= MAX_CHAIN_SPREAD_SECONDS) return guess + c;
  }
  return undefined;
}

/** What every thread needs to scan any chunk: plain data, sent to each worker once per pass. */
export interface ChunkPass {
  path: string;
  fileSize: number;
  littleEndian: boolean;
  nanoseconds: boolean;
  snaplen: number;
  /** The filter as `jitRangeSource` text; null keeps every record. */
  filter: string | null;
  /** Nominal chunk starts; chunk k covers the records starting in [bounds[k], bounds[k+1]), moved to real boundaries. */
  bounds: number[];
  /** Pass 2 only: each chunk's proven start, and where its copies go. */
  starts?: number[];
  writeFd?: number;
  writeAt?: number[];
  /** [next chunk to take], shared by all threads. */
  next: SharedArrayBuffer;
  /** Per chunk: start, stop, records, matched, matchedBytes, end (0 ok, 1 fallback, 2 no boundary). */
  results: SharedArrayBuffer;
}

/** Numbers per chunk in `ChunkPass.results`. */
export const CHUNK_FIELDS = 6;

/** Takes chunks from the shared counter until none is left: run by the calling thread and by each worker. */
export function drainChunks(pass: ChunkPass): void {
  const next = new Int32Array(pass.next);
  const results = new Float64Array(pass.results);
  const chunks = pass.bounds.length - 1;
  let fd: number | undefined;
  try {
    for (;;) {
      const k = Atomics.add(next, 0, 1);
      if (k >= chunks) return;
      let from = pass.starts?.[k];
      if (from === undefined) {
        if (k === 0) from = pass.bounds[0];
        else {
          fd ??= openSync(pass.path, 'r');
          from = claimBoundary(fd, pass.bounds[k], pass.fileSize, pass.littleEndian, pass.snaplen, pass.nanoseconds);
        }
      }
      const r = results.subarray(k * CHUNK_FIELDS, (k + 1) * CHUNK_FIELDS);
      if (from === undefined) {
        r[5] = 2;
        continue;
      }
      const job: SegmentJob = {
        path: pass.path,
        from,
        to: pass.starts ? pass.starts[k + 1] : pass.bounds[k + 1],
        fileSize: pass.fileSize,
        littleEndian: pass.littleEndian,
        snaplen: pass.snaplen,
        filter: pass.filter,
        write: pass.writeFd !== undefined && pass.writeAt ? { fd: pass.writeFd, at: pass.writeAt[k] } : undefined,
      };
      const s = scanSegment(job);
      r.set([from, s.stop, s.records, s.matched, s.matchedBytes, s.end === 'ok' ? 0 : 1]);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * One pass that copies a pcap file's matching records while another thread writes them: the
 * producer (a worker) reads the file into buffers of its own, filters each buffer's records and
 * moves the matching ones to the front, in order, then hands the buffer over (a transfer, no
 * copy); the consumer writes its front with one large positional write and hands it back.
 * Reading and filtering overlap the writing. The buffers are plain ArrayBuffers, not a shared
 * ring: V8 moves bytes inside shared memory with relaxed atomic stores, ~6× slower than memmove,
 * and the compaction moves most of the input.
 */
export interface CopyJob {
  /** The input's descriptor (shared by the threads of a process; read by offset only). */
  fd: number;
  /** File offset of the first record. */
  from: number;
  littleEndian: boolean;
  snaplen: number;
  /** The filter as `jitRangeSource` text; null keeps every record. */
  filter: string | null;
  /** Stop after this many matching records (-c). */
  maxMatched?: number;
  /** Buffers in flight (the producer's and the consumer's together), and the size of each. */
  buffers: number;
  bufferBytes: number;
  /** Where the consumer hands buffers back (read with receiveMessageOnPort: the producer never returns to its event loop). */
  back: MessagePort;
  /** Int32 × 2: buffers handed back so far (notified on each), and the consumer's request to stop. */
  state: SharedArrayBuffer;
}

/** What the producer posts per buffer: its bytes to write (`buf[0, len)`), the running counts, and how the copy goes on. */
export interface CopyChunk {
  buf: ArrayBuffer;
  len: number;
  /** Records and matching records so far. */
  records: number;
  matched: number;
  /** File offset after the buffer's last record. */
  offset: number;
  end: CopyEnd;
}

/** How a buffer ends the copy: more follow; end of file; a record only the full decoder takes; -c reached; an error (the full reader meets it again). */
export const COPY_END = { more: 0, eof: 1, fallback: 2, stopped: 3, error: 4 } as const;
export type CopyEnd = (typeof COPY_END)[keyof typeof COPY_END];

/** Where {@link compactRecords} left the matching records: they fill `buf[0, loopOut)`. */
let loopOut = 0;

/**
 * Filters the whole records of `buf[0, filled)` and moves the matching ones to the front, in
 * order (one move per run of adjacent matches); stops early at a record over the snaplen
 * (LOOP_ODD) or at the `maxMatched`-th match (LOOP_LIMIT). A function of its own, called per
 * buffer, for the reason {@link recordLoop} is: one optimization, no deopt at the first refill.
 */
function compactRecords(buf: Uint8Array, view: DataView, filled: number, le: boolean, snaplen: number, filter: CbpfRangeFunction | null, maxMatched: number): number {
  let pos = loopPos;
  let records = loopRecords;
  let matched = loopMatched;
  let out = 0;
  let why = LOOP_PARTIAL;
  // A run of matching records waiting to move to `out`.
  let runStart = 0;
  let runEnd = 0;
  while (pos + 16 <= filled) {
    const caplen = view.getUint32(pos + 8, le);
    if (caplen > snaplen) {
      why = LOOP_ODD;
      break;
    }
    const next = pos + 16 + caplen;
    if (next > filled) break;
    records++;
    if (filter === null || filter(buf, pos + 16, caplen, view.getUint32(pos + 12, le)) !== 0) {
      matched++;
      if (pos !== runEnd) {
        if (runEnd > runStart && runStart !== out) buf.copyWithin(out, runStart, runEnd);
        out += runEnd - runStart;
        runStart = pos;
      }
      runEnd = next;
      if (matched >= maxMatched) {
        pos = next;
        why = LOOP_LIMIT;
        break;
      }
    }
    pos = next;
  }
  if (runEnd > runStart && runStart !== out) buf.copyWithin(out, runStart, runEnd);
  out += runEnd - runStart;
  loopPos = pos;
  loopRecords = records;
  loopMatched = matched;
  loopOut = out;
  return why;
}

/** The producer's side of a {@link CopyJob}: runs in a worker until the file, -c or a stop request ends it; `post` sends a chunk (transferring its buffer). */
export function produceCopyChunks(job: CopyJob, post: (chunk: CopyChunk) => void): void {
  const B = job.bufferBytes;
  const state = new Int32Array(job.state);
  const filter = job.filter === null ? null : rangeFilter(job.filter);
  const le = job.littleEndian;
  const snaplen = job.snaplen;
  const maxMatched = job.maxMatched ?? Infinity;
  const free: ArrayBuffer[] = [];
  for (let i = 0; i < job.buffers; i++) free.push(new ArrayBuffer(B));
  // The partial record at a buffer's end starts the next one (at most one record, so below a buffer).
  const carry = new Uint8Array(B);
  let carried = 0;
  let base = job.from; // file offset of the current buffer's byte 0
  let records = 0;
  let matched = 0;
  for (;;) {
    let ab = free.pop();
    while (ab === undefined) {
      if (Atomics.load(state, 1) !== 0) return;
      const seen = Atomics.load(state, 0);
      const m = receiveMessageOnPort(job.back);
      if (m) ab = m.message as ArrayBuffer;
      // A hand-back after `seen` was read changes the counter: the wait then returns at once.
      else Atomics.wait(state, 0, seen, 100);
    }
    if (Atomics.load(state, 1) !== 0) return;
    const buf = new Uint8Array(ab);
    const view = new DataView(ab);
    let end: CopyEnd = COPY_END.more;
    let out = 0;
    let pos = 0;
    try {
      buf.set(carry.subarray(0, carried));
      let filled = carried;
      const n = readSync(job.fd, buf, filled, B - filled, base + filled);
      filled += n;
      loopPos = 0;
      loopRecords = records;
      loopMatched = matched;
      const why = compactRecords(buf, view, filled, le, snaplen, filter, maxMatched);
      pos = loopPos;
      out = loopOut;
      records = loopRecords;
      matched = loopMatched;
      if (why === LOOP_ODD) end = COPY_END.fallback;
      else if (why === LOOP_LIMIT) end = COPY_END.stopped;
      else if (n === 0) end = pos === filled ? COPY_END.eof : COPY_END.fallback; // a truncated last record
      else if (pos === 0 && filled === B) end = COPY_END.fallback; // a record bigger than a buffer
      carried = filled - pos;
      if (end === COPY_END.more) carry.set(buf.subarray(pos, filled));
    } catch {
      end = COPY_END.error;
    }
    post({ buf: ab, len: out, records, matched, offset: base + pos, end });
    base += pos;
    if (end !== COPY_END.more) return;
  }
}
