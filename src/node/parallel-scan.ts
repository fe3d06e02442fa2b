/** Counting and copying a big pcap file on every core: the file cut into chunks at record boundaries that the scans themselves prove. */

import { closeSync, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { jitRangeSource, type Insn } from '../cbpf/index.js';
import type { CaptureInfo } from '../pcap/index.js';
import { canScan } from './pcap-scan.js';
import type { ScanWorkerMessage } from './scan-worker.js';
import { CHUNK_FIELDS as FIELDS, COPY_END, drainChunks, scanSegment, type ChunkPass, type CopyChunk } from './segment-scan.js';

/** Below this size one thread is faster than starting another. */
export const PARALLEL_MIN_BYTES = 48 << 20;

export interface ParallelScanOptions {
  /** The filter; null keeps every record. */
  insns: readonly Insn[] | null;
  /** Threads to use, the calling one included (default: the machine's parallelism, at most 8). */
  threads?: number;
  /** Copy the matching records to this descriptor from this offset on: a pcap file's records, in file order. */
  write?: { fd: number; at: number };
  /** Scan even a small file in parallel, in chunks of this many bytes (for tests). */
  chunkBytes?: number;
}

export interface ParallelScanResult {
  records: number;
  matched: number;
  /** Bytes of the matching records, headers included: what was copied. */
  matchedBytes: number;
}


/**
 * Scans a plain pcap file on several threads: undefined when the file does not qualify (not a
 * regular file, small, an odd format) or when a scan met something only the full decoder
 * handles or a claimed boundary proved false — then the caller reads the file the ordinary
 * way (and rewrites whatever was copied). Threads take chunks from a shared counter, so a
 * late-starting worker simply takes fewer. Record order is kept: pass 1 counts each chunk,
 * pass 2 copies chunk k after the bytes of chunks 0..k-1.
 */
export async function parallelScanPcap(path: string, info: CaptureInfo, opts: ParallelScanOptions): Promise<ParallelScanResult | undefined> {
  if (!canScan(info)) return undefined;
  let size: number;
  try {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      size = st.size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (opts.chunkBytes === undefined && size < PARALLEL_MIN_BYTES) return undefined;
  const threads = Math.max(1, opts.threads ?? Math.min(availableParallelism(), 8));
  if (threads < 2) return undefined;
  const bounds = chunkBounds(size, threads, opts.chunkBytes);
  const chunks = bounds.length - 1;
  const pass: ChunkPass = {
    path,
    fileSize: size,
    littleEndian: info.byteOrder === 'le',
    nanoseconds: info.tsResolution.base === 10 && info.tsResolution.exponent === 9,
    snaplen: info.snaplen,
    filter: opts.insns ? jitRangeSource(opts.insns) : null,
    bounds,
    next: new SharedArrayBuffer(4),
    results: new SharedArrayBuffer(8 * FIELDS * chunks),
  };
  const pool = new WorkerPool(Math.min(threads, chunks) - 1);
  try {
    return await scanInPasses(pool, pass, opts.write);
  } catch {
    // An I/O error in any thread: the ordinary reader meets it again and reports it.
    return undefined;
  } finally {
    pool.close();
  }
}

/** The smallest chunk of a big file: ~2 ms of work, and a claim (a few KiB read at its start) costs nothing beside it. */
const MIN_CHUNK_BYTES = 8 << 20;

/**
 * Nominal chunk starts (and the file's size last): half of what is left per thread, then
 * less and less down to {@link MIN_CHUNK_BYTES}, so that the threads end within ~2 ms of each
 * other with few chunks (~16 for 1 GB on 2 threads, each with a claim to prove). `fixed`: equal
 * chunks of that size (tests).
 */
export function chunkBounds(size: number, threads: number, fixed?: number): number[] {
  const bounds = [24];
  for (let b = 24; ; ) {
    const rest = size - b;
    const step = fixed ?? Math.max(MIN_CHUNK_BYTES, Math.ceil(rest / (threads * 2)));
    // A last sliver joins the chunk before it.
    if (rest <= step + (fixed === undefined ? MIN_CHUNK_BYTES >> 1 : 0)) break;
    b += step;
    bounds.push(b);
  }
  bounds.push(size);
  return bounds;
}

async function scanInPasses(pool: WorkerPool, pass: ChunkPass, out: { fd: number; at: number } | undefined): Promise<ParallelScanResult | undefined> {
  const chunks = pass.bounds.length - 1;
  const size = pass.fileSize;
  {
    const counted = await pool.runPass(pass);
    // Chunk k must start exactly where chunk k-1's scan stopped. Where a claim proved false (or
    // none was found), the chunk is scanned again here from the proven boundary: one chunk's work.
    for (let k = 0; k < chunks; k++) {
      const r = counted.subarray(k * FIELDS, (k + 1) * FIELDS);
      const proven = k === 0 ? pass.bounds[0] : counted[(k - 1) * FIELDS + 1];
      if (r[5] !== 0 || r[0] !== proven) {
        const s = scanSegment({ path: pass.path, from: proven, to: pass.bounds[k + 1], fileSize: size, littleEndian: pass.littleEndian, snaplen: pass.snaplen, filter: pass.filter });
        r.set([proven, s.stop, s.records, s.matched, s.matchedBytes, s.end === 'ok' ? 0 : 1]);
        // A record only the full decoder takes.
        if (s.end !== 'ok') return undefined;
      }
    }
    if (counted[(chunks - 1) * FIELDS + 1] !== size) return undefined;
    const total: ParallelScanResult = { records: 0, matched: 0, matchedBytes: 0 };
    for (let k = 0; k < chunks; k++) {
      total.records += counted[k * FIELDS + 2];
      total.matched += counted[k * FIELDS + 3];
      total.matchedBytes += counted[k * FIELDS + 4];
    }
    if (out) {
      const starts: number[] = [];
      const writeAt: number[] = [];
      let at = out.at;
      for (let k = 0; k < chunks; k++) {
        starts.push(counted[k * FIELDS]);
        writeAt.push(at);
        at += counted[k * FIELDS + 4];
      }
      starts.push(size);
      const copied = await pool.runPass({ ...pass, starts, writeFd: out.fd, writeAt, next: new SharedArrayBuffer(4), results: new SharedArrayBuffer(8 * FIELDS * chunks) });
      // The same bytes were read twice: a difference means the file changed under us.
      for (let k = 0; k < chunks; k++) {
        if (copied[k * FIELDS + 5] !== 0 || copied[k * FIELDS + 4] !== counted[k * FIELDS + 4]) return undefined;
      }
    }
    return total;
  }
}

/** Worker threads that each drain one pass's chunks per message. */
class WorkerPool {
  private readonly workers: Worker[] = [];

  constructor(n: number) {
    for (let i = 0; i < n; i++) this.workers.push(takeWorker());
  }

  /** Runs a pass on every worker and on this thread; resolves with the shared results. */
  async runPass(pass: ChunkPass): Promise<Float64Array> {
    const done = this.workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (): void => {
            w.off('error', onError);
            w.off('exit', onMessage);
            resolve();
          };
          const onError = (e: Error): void => {
            w.off('message', onMessage);
            w.off('exit', onMessage);
            reject(e);
          };
          w.once('message', onMessage);
          w.once('error', onError);
          // A worker gone without a word: the chunks it took have no result and are scanned again.
          w.once('exit', onMessage);
          w.postMessage({ pass } satisfies ScanWorkerMessage);
        }),
    );
    drainChunks(pass);
    await Promise.all(done);
    return new Float64Array(pass.results);
  }

  /** Ends the workers without waiting for them to go (a few ms each): nothing of theirs is needed any more. */
  close(): void {
    for (const w of this.workers) {
      w.unref();
      void w.terminate();
    }
  }
}

/** A worker started ahead of time (see {@link prestartScanWorker}), and whether it died before use. */
let prestarted: { worker: Worker; dead: boolean } | undefined;

/**
 * Starts the scan worker of a big regular file now, so that it boots (tens of ms) while the
 * caller opens the capture and compiles its filter; the next parallel scan or copy takes it.
 * Call {@link releaseScanWorker} when done, in case none did.
 */
export function prestartScanWorker(path: string): void {
  if (prestarted) return;
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size < PARALLEL_MIN_BYTES) return;
  } catch {
    return;
  }
  const p = { worker: newWorker(), dead: false };
  const dead = (): void => {
    p.dead = true;
  };
  p.worker.on('error', dead);
  p.worker.on('exit', dead);
  // An idle worker keeps nothing alive.
  p.worker.unref();
  prestarted = p;
}

/** Ends the prestarted worker if nothing took it. */
export async function releaseScanWorker(): Promise<void> {
  const p = prestarted;
  prestarted = undefined;
  if (p) await p.worker.terminate();
}

/** The prestarted worker when it is alive, else a new one. */
function takeWorker(): Worker {
  const p = prestarted;
  prestarted = undefined;
  if (!p || p.dead) return newWorker();
  p.worker.removeAllListeners('error');
  p.worker.removeAllListeners('exit');
  p.worker.ref();
  return p.worker;
}

/** A scan allocates almost nothing per record: a small heap keeps each worker's memory small. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

/** The worker script sits beside this module: .js when built, .ts under tsx/vitest (loaded through tsx). */
function newWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Source form (tests): the worker registers tsx's loader before importing the TypeScript script.
    const script = JSON.stringify(new URL('./scan-worker.ts', here).href);
    return new Worker(`import('tsx/esm/api').then((t) => t.register()).then(() => import(${script}));`, { eval: true, resourceLimits: WORKER_LIMITS });
  }
  return new Worker(new URL('./scan-worker.js', here), { resourceLimits: WORKER_LIMITS });
}

/** Options of {@link pipelinedCopyPcap}. */
export interface PipelinedCopyOptions {
  /** The filter; null keeps every record. */
  insns: readonly Insn[] | null;
  /** Where the matching records go: a regular file's descriptor, written by offset from `at` on. */
  out: { fd: number; at: number };
  /** Stop after this many matching records (-c). */
  maxMatched?: number;
  /** Polled after each buffer written; true stops the copy there. */
  stopped?: () => boolean;
  /** Copy even a small file this way, in buffers of this many bytes (for tests); the default is {@link COPY_SLOT_BYTES}. */
  slotBytes?: number;
}

/** How a pipelined copy ended, at a record boundary: what the output holds and where the input stands. */
export interface PipelinedCopyResult {
  /** `fallback`: a record only the full decoder takes (or an error it reports) at `offset`, which is record `records`. */
  end: 'eof' | 'fallback' | 'stopped' | 'interrupted';
  records: number;
  matched: number;
  /** File offset after the last record taken. */
  offset: number;
  /** Bytes written from `out.at` on. */
  bytes: number;
}

/** Buffers in flight: enough that neither thread waits on the other's jitter. */
const COPY_BUFFERS = 8;
/**
 * Bytes per buffer: small enough that a buffer stays in cache from the read through the filter
 * to the write (on a 1 GB capture, 256–512 KiB buffers cost both threads a third less CPU than
 * 2 MiB ones), large enough that a write and a message per buffer cost nothing.
 */
export const COPY_SLOT_BYTES = 512 << 10;

/**
 * Copies the matching records of a plain pcap file (from offset `from`) in one pass on two
 * threads: a worker reads and filters into buffers it hands over, this thread writes them (see
 * `CopyJob`). Undefined when the file does not qualify (small, an odd format); otherwise the
 * copy stops at a record boundary, and a `fallback` end leaves the rest to the full reader from
 * `records` on. Each buffer arrives as a message, so signals are seen between any two.
 */
export async function pipelinedCopyPcap(fd: number, info: CaptureInfo, from: number, opts: PipelinedCopyOptions): Promise<PipelinedCopyResult | undefined> {
  if (!canScan(info)) return undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (opts.slotBytes === undefined && st.size < PARALLEL_MIN_BYTES)) return undefined;
  } catch {
    return undefined;
  }
  const bufferBytes = Math.max(opts.slotBytes ?? COPY_SLOT_BYTES, 64);
  const stateBuf = new SharedArrayBuffer(8);
  const state = new Int32Array(stateBuf);
  const { port1: back, port2: backToWorker } = new MessageChannel();
  const worker = takeWorker();
  const done: PipelinedCopyResult = { end: 'fallback', records: 0, matched: 0, offset: from, bytes: 0 };
  try {
    await new Promise<void>((resolve, reject) => {
      // A worker that dies (an exception outside the producer's own catch, a failed start) ends the copy where it stands.
      const finish = (): void => {
        worker.off('message', onChunk);
        worker.off('error', finish);
        worker.off('exit', finish);
        resolve();
      };
      const onChunk = (c: CopyChunk | 'done'): void => {
        if (c === 'done') return finish();
        try {
          // An error chunk's bytes are not all in place: the full reader redoes it and reports the error.
          if (c.end === COPY_END.error) return finish();
          const bytes = new Uint8Array(c.buf, 0, c.len);
          let at = 0;
          while (at < c.len) at += writeSync(opts.out.fd, bytes, at, c.len - at, opts.out.at + done.bytes + at);
          done.bytes += c.len;
          done.records = c.records;
          done.matched = c.matched;
          done.offset = c.offset;
          if (c.end !== COPY_END.more) {
            done.end = c.end === COPY_END.eof ? 'eof' : c.end === COPY_END.stopped ? 'stopped' : 'fallback';
            return finish();
          }
          if (opts.stopped?.()) {
            done.end = 'interrupted';
            return finish();
          }
          back.postMessage(c.buf, [c.buf]);
          Atomics.add(state, 0, 1);
          Atomics.notify(state, 0);
        } catch (e) {
          worker.off('message', onChunk);
          reject(e);
        }
      };
      worker.on('message', onChunk);
      worker.once('error', finish);
      worker.once('exit', finish);
      worker.postMessage(
        {
          copy: {
            fd,
            from,
            littleEndian: info.byteOrder === 'le',
            snaplen: info.snaplen,
            filter: opts.insns ? jitRangeSource(opts.insns) : null,
            maxMatched: opts.maxMatched,
            buffers: COPY_BUFFERS,
            bufferBytes,
            back: backToWorker,
            state: stateBuf,
          },
        } satisfies ScanWorkerMessage,
        [backToWorker],
      );
    });
    return done;
  } finally {
    // Ask the producer to stop (it may wait for a buffer) before the worker goes.
    Atomics.store(state, 1, 1);
    Atomics.notify(state, 0);
    back.close();
    // Not waited for: the producer writes nothing, and nothing else of the worker's is needed.
    worker.unref();
    void worker.terminate();
  }
}
