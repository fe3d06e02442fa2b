/** Counting and copying a big pcap file on every core: the file cut into chunks at record boundaries that the scans themselves prove. */

import { closeSync, fstatSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { jitRangeSource, type Insn } from '../cbpf/index.js';
import type { CaptureInfo } from '../pcap/index.js';
import { canScan } from './pcap-scan.js';
import { CHUNK_FIELDS as FIELDS, drainChunks, type ChunkPass } from './segment-scan.js';

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
  // Chunks small enough to balance the threads, big enough that claims cost nothing.
  const chunkBytes = opts.chunkBytes ?? Math.max(16 << 20, Math.ceil(size / (threads * 8)));
  const bounds = [24];
  for (let b = 24 + chunkBytes; b < size; b += chunkBytes) bounds.push(b);
  bounds.push(size);
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
    await pool.close();
  }
}

async function scanInPasses(pool: WorkerPool, pass: ChunkPass, out: { fd: number; at: number } | undefined): Promise<ParallelScanResult | undefined> {
  const chunks = pass.bounds.length - 1;
  const size = pass.fileSize;
  {
    const counted = await pool.runPass(pass);
    // Chunk k must start exactly where chunk k-1's scan stopped.
    for (let k = 0; k < chunks; k++) {
      if (counted[k * FIELDS + 5] !== 0) return undefined;
      if (k > 0 && counted[k * FIELDS] !== counted[(k - 1) * FIELDS + 1]) return undefined;
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
    for (let i = 0; i < n; i++) this.workers.push(newWorker());
  }

  /** Runs a pass on every worker and on this thread; resolves with the shared results. */
  async runPass(pass: ChunkPass): Promise<Float64Array> {
    const done = this.workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (): void => {
            w.off('error', onError);
            resolve();
          };
          const onError = (e: Error): void => {
            w.off('message', onMessage);
            reject(e);
          };
          w.once('message', onMessage);
          w.once('error', onError);
          w.postMessage(pass);
        }),
    );
    drainChunks(pass);
    await Promise.all(done);
    return new Float64Array(pass.results);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
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
