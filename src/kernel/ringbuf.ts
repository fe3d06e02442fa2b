/** A BPF ring buffer reader: the map mmapped (consumer page read-write, producer page + data read-only), records parsed in JS, woken by poll. */

import { MapType } from '../ebpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import type { KernelMap } from './map.js';
import type { PollWatcher, Sys } from './sys.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
/** Record header bits in the length word. */
const BPF_RINGBUF_BUSY_BIT = 0x80000000;
const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
const BPF_RINGBUF_HDR_SZ = 8;
const PAGE_SIZE = 4096;

/**
 * Reads records a program writes with bpf_ringbuf_output / reserve+submit. Call `consume()`
 * to drain what is there, or iterate it with `for await` (woken by poll on the map fd).
 * Owns its mappings; the map stays owned by whoever created it.
 */
export class RingBufferReader implements AsyncIterable<Uint8Array> {
  private readonly sys: Sys;
  private readonly fd: number;
  private readonly size: number;
  private consumerAddr: bigint;
  private producerAddr: bigint;
  private consumerPos: BigUint64Array | undefined;
  private producerPos: BigUint64Array | undefined;
  private data: Uint8Array | undefined;
  private dataView: DataView | undefined;
  private lenWords: Int32Array | undefined;
  private watcher: PollWatcher | undefined;
  private readonly queue: Uint8Array[] = [];
  private waiters: ((r: IteratorResult<Uint8Array>) => void)[] = [];
  private closed = false;

  constructor(sys: Sys, map: KernelMap) {
    if (map.spec.type !== MapType.BPF_MAP_TYPE_RINGBUF) {
      throw new UsageError('E_USAGE', `map "${map.spec.name}" is not a ring buffer`);
    }
    this.sys = sys;
    this.fd = map.fd;
    this.size = map.spec.maxEntries;
    let consumer: bigint | undefined;
    try {
      consumer = sys.mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, this.fd, 0);
      // The data area is mapped twice back to back, so a record that wraps reads as one piece.
      this.producerAddr = sys.mmap(PAGE_SIZE + 2 * this.size, PROT_READ, MAP_SHARED, this.fd, PAGE_SIZE);
      this.consumerAddr = consumer;
    } catch (e) {
      if (consumer !== undefined) sys.munmap(consumer, PAGE_SIZE);
      throw e instanceof BpfkitError ? e.withContext(`map ring buffer "${map.spec.name}"`) : e;
    }
    this.consumerPos = new BigUint64Array(sys.view(this.consumerAddr, PAGE_SIZE), 0, 1);
    const prod = sys.view(this.producerAddr, PAGE_SIZE + 2 * this.size);
    this.producerPos = new BigUint64Array(prod, 0, 1);
    this.data = new Uint8Array(prod, PAGE_SIZE, 2 * this.size);
    this.dataView = new DataView(prod, PAGE_SIZE, 2 * this.size);
    this.lenWords = new Int32Array(prod, PAGE_SIZE, (2 * this.size) / 4);
  }

  /** Hands every complete record to `onRecord` (copies: the space is released afterwards); returns how many. */
  consume(onRecord: (record: Uint8Array) => void): number {
    if (!this.consumerPos || !this.producerPos || !this.data || !this.lenWords || !this.dataView) {
      throw new UsageError('E_CLOSED', 'ring buffer reader is closed');
    }
    let n = 0;
    let cons = Atomics.load(this.consumerPos, 0);
    const mask = BigInt(this.size - 1);
    for (;;) {
      const prod = Atomics.load(this.producerPos, 0);
      if (cons >= prod) break;
      const off = Number(cons & mask);
      // The length word is written last by the producer (with release semantics): read it atomically.
      const len = Atomics.load(this.lenWords, off / 4) >>> 0;
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
        onRecord(this.data.slice(off + BPF_RINGBUF_HDR_SZ, off + BPF_RINGBUF_HDR_SZ + size));
        n++;
      }
      cons += BigInt((size + BPF_RINGBUF_HDR_SZ + 7) & ~7);
      Atomics.store(this.consumerPos, 0, cons);
    }
    return n;
  }

  private pump(): void {
    this.consume((r) => {
      const w = this.waiters.shift();
      if (w) w({ value: r, done: false });
      else this.queue.push(r);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (!this.watcher && !this.closed) this.watcher = this.sys.poll(this.fd, { readable: true }, () => this.pump());
    return {
      next: () => {
        const r = this.queue.shift();
        if (r) return Promise.resolve({ value: r, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        this.pump();
        const again = this.queue.shift();
        if (again) return Promise.resolve({ value: again, done: false });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      // Leaving a `for await` early keeps the reader open; its owner closes it.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** Unmaps the buffer and stops polling; views are dropped first so nothing reads unmapped memory. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.consumerPos = this.producerPos = undefined;
    this.data = undefined;
    this.dataView = undefined;
    this.lenWords = undefined;
    this.sys.munmap(this.consumerAddr, PAGE_SIZE);
    this.sys.munmap(this.producerAddr, PAGE_SIZE + 2 * this.size);
    for (const w of this.waiters) w({ value: undefined, done: true });
    this.waiters = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
