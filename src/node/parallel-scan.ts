/** Counting and copying a big pcap file on every core: the file split at record boundaries that the scans themselves prove. */

import { closeSync, fstatSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Insn } from '../cbpf/index.js';
import type { CaptureInfo } from '../pcap/index.js';
import { canScan } from './pcap-scan.js';
import { claimBoundary, scanSegment, type SegmentJob, type SegmentResult } from './segment-scan.js';

/** Below this size one thread is faster than starting another. */
export const PARALLEL_MIN_BYTES = 48 << 20;

export interface ParallelScanOptions {
  /** The filter; null keeps every record. */
  insns: readonly Insn[] | null;
  /** Threads to use, the calling one included (default: the machine's parallelism, at most 8). */
  threads?: number;
  /** Copy the matching records to this descriptor from this offset on: a pcap file's records, in file order. */
  write?: { fd: number; at: number };
  /** Scan even a small file in parallel (for tests). */
  force?: boolean;
}

export interface ParallelScanResult {
  records: number;
  matched: number;
  matchedBytes: number;
}

/**
 * Scans a plain pcap file on several threads: undefined when the file does not qualify (not a
 * regular file, small, an odd format) or when a scan met something only the full decoder
 * handles or a claimed boundary proved false — then nothing was written and the caller
 * reads the file the ordinary way. Record order is kept: segment k's copies land after
 * segment k-1's, at offsets known once every segment is counted.
 */
export async function parallelScanPcap(path: string, info: CaptureInfo, opts: ParallelScanOptions): Promise<ParallelScanResult | undefined> {
  if (!canScan(info)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  let bounds: number[];
  const littleEndian = info.byteOrder === 'le';
  try {
    const st = fstatSync(fd);
    const size = st.size;
    if (!st.isFile() || (!opts.force && size < PARALLEL_MIN_BYTES)) return undefined;
    const threads = Math.max(1, Math.min(opts.threads ?? Math.min(availableParallelism(), 8), Math.floor(size / (1 << 16)) || 1));
    if (threads < 2) return undefined;
    const nano = info.tsResolution.base === 10 && info.tsResolution.exponent === 9;
    bounds = [24];
    for (let k = 1; k < threads; k++) {
      const guess = Math.max(bounds[k - 1] + 1, Math.floor((size * k) / threads));
      const claim = claimBoundary(fd, guess, size, littleEndian, info.snaplen, nano);
      if (claim === undefined || claim <= bounds[k - 1]) return undefined;
      bounds.push(claim);
    }
    bounds.push(size);
  } finally {
    closeSync(fd);
  }
  const base = (k: number): SegmentJob => ({
    path,
    from: bounds[k],
    to: bounds[k + 1],
    fileSize: bounds[bounds.length - 1],
    littleEndian,
    snaplen: info.snaplen,
    insns: opts.insns,
  });
  const segments = bounds.length - 1;
  const pool = await WorkerPool.start(segments - 1);
  try {
    // Pass 1 counts; a copy needs pass 2 to know where each segment's records go.
    const counts = await runAll(pool, segments, (k) => base(k));
    if (counts.some((r) => r.end !== 'ok')) return undefined;
    const total: ParallelScanResult = { records: 0, matched: 0, matchedBytes: 0 };
    for (const r of counts) {
      total.records += r.records;
      total.matched += r.matched;
      total.matchedBytes += r.matchedBytes;
    }
    const out = opts.write;
    if (out) {
      const starts: number[] = [];
      let at = out.at;
      for (const r of counts) {
        starts.push(at);
        at += r.matchedBytes;
      }
      const copies = await runAll(pool, segments, (k) => ({ ...base(k), write: { fd: out.fd, at: starts[k] } }));
      // The same bytes were read twice: a difference means the file changed under us.
      if (copies.some((r, k) => r.end !== 'ok' || r.matchedBytes !== counts[k].matchedBytes)) return undefined;
    }
    return total;
  } finally {
    await pool.close();
  }
}

/** Runs segment 0 on this thread and the others on the pool's workers, all at once. */
async function runAll(pool: WorkerPool, segments: number, job: (k: number) => SegmentJob): Promise<SegmentResult[]> {
  const pending: Promise<SegmentResult>[] = [];
  for (let k = 1; k < segments; k++) pending.push(pool.run(k - 1, job(k)));
  const first = scanSegment(job(0));
  return [first, ...(await Promise.all(pending))];
}

/** Worker threads that each run one segment job per message. */
class WorkerPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(n: number): Promise<WorkerPool> {
    const workers: Worker[] = [];
    for (let i = 0; i < n; i++) workers.push(newWorker());
    return new WorkerPool(workers);
  }

  run(i: number, job: SegmentJob): Promise<SegmentResult> {
    const w = this.workers[i];
    return new Promise((resolve, reject) => {
      const onMessage = (r: SegmentResult): void => {
        w.off('error', onError);
        resolve(r);
      };
      const onError = (e: Error): void => {
        w.off('message', onMessage);
        reject(e);
      };
      w.once('message', onMessage);
      w.once('error', onError);
      w.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

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

/** A scan allocates almost nothing per record: a small heap keeps each worker's memory small. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };
