/** A perf buffer reader: one PERF_COUNT_SW_BPF_OUTPUT event per CPU, its ring mmapped and stored in a PERF_EVENT_ARRAY, records parsed in JS, woken by poll. */

import { MapType } from '../ebpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { PerfType, perfEventAttr } from './attr.js';
import type { KernelMap } from './map.js';
import { isErrno } from './sys.js';
import type { PollWatcher, Sys } from './sys.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const PAGE_SIZE = 4096;
const PERF_COUNT_SW_BPF_OUTPUT = 10n;
const PERF_SAMPLE_RAW = 1n << 10n;
const PERF_FLAG_FD_CLOEXEC = 8;
/** _IO('$', 0): start counting (here: start accepting output). */
const PERF_EVENT_IOC_ENABLE = 0x2400;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
/** struct perf_event_mmap_page: data_head and data_tail (u64 each). */
const DATA_HEAD = 1024;
const DATA_TAIL = 1032;
const HDR_SIZE = 8;

/** perf_event_header.type values the reader handles (enum perf_event_type). */
const PerfRecord = { PERF_RECORD_LOST: 2, PERF_RECORD_SAMPLE: 9 } as const;

/** One record a program sent with bpf_perf_event_output. */
export interface PerfSample {
  /** The CPU whose ring held it. */
  cpu: number;
  /** The bytes given to the helper, a copy. The kernel pads a raw sample so that 4 + its length is a multiple of 8: zero bytes may follow. */
  data: Uint8Array;
}

/** Options of {@link PerfBufferReader}. */
export interface PerfBufferOptions {
  /** Data pages per CPU ring (a power of two). Default 8 (32 KiB). */
  pageCount?: number;
  /** CPUs to open rings on. Default 0 .. the map's max_entries - 1 (offline CPUs are skipped). */
  cpus?: readonly number[];
  /** Samples per wakeup (perf_event_attr.wakeup_events). Default 1: every record wakes the reader. */
  wakeupEvents?: number;
}

interface Ring {
  cpu: number;
  fd: number;
  addr: bigint;
  head: BigUint64Array;
  tail: BigUint64Array;
  data: Uint8Array;
  watcher?: PollWatcher;
}

/**
 * Reads what programs write with bpf_perf_event_output into a PERF_EVENT_ARRAY map. Call
 * `consume()` to drain the rings, or iterate with `for await` (woken by poll on each CPU's fd).
 * `lost` counts samples the kernel dropped because a ring was full (PERF_RECORD_LOST).
 * Owns its perf events and mappings; the map stays owned by whoever created it.
 */
export class PerfBufferReader implements AsyncIterable<PerfSample> {
  /** Samples dropped by the kernel for lack of ring space, as reported so far. */
  lost = 0;
  private readonly sys: Sys;
  private readonly map: KernelMap;
  private readonly ringBytes: number;
  private rings: Ring[] = [];
  private readonly queue: PerfSample[] = [];
  private waiters: ((r: IteratorResult<PerfSample>) => void)[] = [];
  private closed = false;

  constructor(sys: Sys, map: KernelMap, options: PerfBufferOptions = {}) {
    if (map.spec.type !== MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
      throw new UsageError('E_USAGE', `map "${map.spec.name}" is not a perf event array`);
    }
    const pages = options.pageCount ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new UsageError('E_USAGE', `perf buffer page count must be a power of two, got ${pages}`);
    }
    this.sys = sys;
    this.map = map;
    this.ringBytes = pages * PAGE_SIZE;
    const cpus = options.cpus ?? Array.from({ length: map.spec.maxEntries }, (_, i) => i);
    try {
      for (const cpu of cpus) {
        if (cpu >= map.spec.maxEntries) throw new UsageError('E_USAGE', `cpu ${cpu} is past the end of map "${map.spec.name}" (${map.spec.maxEntries} entries)`);
        const ring = this.openRing(cpu, options.wakeupEvents ?? 1);
        if (!ring) continue;
        this.rings.push(ring);
        const key = new Uint8Array(4);
        const value = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        new DataView(value.buffer).setUint32(0, ring.fd, true);
        map.set(key, value);
        sys.ioctlInt(ring.fd, PERF_EVENT_IOC_ENABLE, 0);
      }
    } catch (e) {
      this.release();
      throw e instanceof BpfkitError ? e.withContext(`open perf buffer "${map.spec.name}"`) : e;
    }
  }

  /** Opens and maps one CPU's ring; undefined for an offline CPU. */
  private openRing(cpu: number, wakeupEvents: number): Ring | undefined {
    const attr = perfEventAttr({ type: PerfType.PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, samplePeriod: 1n, sampleType: PERF_SAMPLE_RAW, wakeupEvents });
    let fd: number;
    try {
      fd = this.sys.perfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    } catch (e) {
      if (isErrno(e, 'ENODEV')) return undefined;
      throw e;
    }
    try {
      this.sys.fcntl(fd, F_SETFL, this.sys.fcntl(fd, F_GETFL) | O_NONBLOCK);
      const addr = this.sys.mmap(PAGE_SIZE + this.ringBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      const buf = this.sys.view(addr, PAGE_SIZE + this.ringBytes);
      return { cpu, fd, addr, head: new BigUint64Array(buf, DATA_HEAD, 1), tail: new BigUint64Array(buf, DATA_TAIL, 1), data: new Uint8Array(buf, PAGE_SIZE, this.ringBytes) };
    } catch (e) {
      this.sys.close(fd);
      throw e;
    }
  }

  /** Hands every complete sample to `onSample` (copies: the space is released afterwards); returns how many. */
  consume(onSample: (sample: PerfSample) => void): number {
    if (this.closed) throw new UsageError('E_CLOSED', 'perf buffer reader is closed');
    let n = 0;
    for (const ring of this.rings) n += this.consumeRing(ring, onSample);
    return n;
  }

  private consumeRing(ring: Ring, onSample: (sample: PerfSample) => void): number {
    const mask = this.ringBytes - 1;
    const d = ring.data;
    // Little-endian reads that may wrap around the end of the ring.
    const u16 = (at: number): number => d[at & mask] | (d[(at + 1) & mask] << 8);
    const u32 = (at: number): number => (u16(at) | (u16(at + 2) << 16)) >>> 0;
    let n = 0;
    // data_head is published with release semantics; the Atomics load pairs with it.
    const head = Atomics.load(ring.head, 0);
    let tail = Atomics.load(ring.tail, 0);
    while (tail < head) {
      const at = Number(tail & BigInt(mask));
      const type = u32(at);
      const size = u16(at + 6);
      if (size < HDR_SIZE) break; // a corrupt header: stop rather than spin
      if (type === PerfRecord.PERF_RECORD_SAMPLE) {
        const len = u32(at + HDR_SIZE);
        const start = at + HDR_SIZE + 4;
        const data = new Uint8Array(len);
        const first = Math.min(len, this.ringBytes - (start & mask));
        data.set(d.subarray(start & mask, (start & mask) + first));
        if (first < len) data.set(d.subarray(0, len - first), first);
        onSample({ cpu: ring.cpu, data });
        n++;
      } else if (type === PerfRecord.PERF_RECORD_LOST) {
        // struct { header; u64 id; u64 lost; }: the count fits a double long before it could be exceeded.
        this.lost += u32(at + HDR_SIZE + 8) + u32(at + HDR_SIZE + 12) * 2 ** 32;
      }
      tail += BigInt(size);
    }
    Atomics.store(ring.tail, 0, tail);
    return n;
  }

  private pump(): void {
    if (this.closed) return;
    this.consume((s) => {
      const w = this.waiters.shift();
      if (w) w({ value: s, done: false });
      else this.queue.push(s);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<PerfSample> {
    if (!this.closed) for (const r of this.rings) r.watcher ??= this.sys.poll(r.fd, { readable: true }, () => this.pump());
    return {
      next: () => {
        if (!this.queue.length) this.pump();
        const s = this.queue.shift();
        if (s) return Promise.resolve({ value: s, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      // Leaving a `for await` early keeps the reader open; its owner closes it.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** The CPUs that have a ring. */
  get cpus(): number[] {
    return this.rings.map((r) => r.cpu);
  }

  private release(): void {
    for (const r of this.rings) {
      // A map entry holds the perf event (and its ring) alive in the kernel: take ours out while the map is open.
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, r.cpu, true);
      try {
        this.map.delete(key);
      } catch {
        // Not set yet (failed open), or the map was closed first: nothing of ours is left in it.
      }
      r.watcher?.close();
      r.watcher = undefined;
      this.sys.munmap(r.addr, PAGE_SIZE + this.ringBytes);
      this.sys.close(r.fd);
    }
    this.rings = [];
  }

  /** Stops polling, removes this reader's entries from the map, unmaps the rings and closes the perf events. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.queue.length = 0;
    for (const w of this.waiters) w({ value: undefined, done: true });
    this.waiters = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
