/**
 * BPF_MAP_TYPE_RINGBUF: the kernel's record layout (8-byte header `u32 len | BUSY | DISCARD, u32
 * pg_off`, records 8-byte aligned, a data area wrapping as the kernel's double mapping makes it look),
 * the producer helpers (reserve/submit/discard/output/query) and a consumer that reads as libbpf's.
 */

import { MapError, negErrno } from './errno.js';
import { MapFlags, PAGE_SIZE, VmMapBase, createError, checkMemory, isPowerOf2, type ResolvedOptions } from './common.js';
import type { MapSpec } from '../spec.js';

/** Header bits and size (<linux/bpf.h>). */
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
/** Flags of submit/discard/output. */
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;
/** `bpf_ringbuf_query` flags. */
export const RingbufQuery = { BPF_RB_AVAIL_DATA: 0, BPF_RB_RING_SIZE: 1, BPF_RB_CONS_POS: 2, BPF_RB_PROD_POS: 3 } as const;

/** Pages before the data area in `struct bpf_ringbuf` (header page, consumer page, producer page): records' `pg_off` counts from there. */
const RINGBUF_META_PAGES = 3;
const RINGBUF_MAX_RECORD_SZ = Math.floor(0xffffffff / 4);

/** One record a consumer read. */
export interface RingbufRecord {
  /** The sample bytes (a copy). */
  data: Uint8Array;
  /** Consumer position of the record's header. */
  pos: number;
}

/**
 * A ring buffer. The data area is allocated twice over, as the kernel maps it twice, so a reserved
 * record is always one contiguous view; whatever lands past the end is folded back on commit.
 */
export class RingbufMap extends VmMapBase {
  /** `2 * maxEntries` bytes; the first half is the ring, the second the wrap-around mirror. */
  private readonly data: Uint8Array;
  private readonly view: DataView;
  private readonly mask: number;
  private consumerPos = 0;
  private producerPos = 0;
  /** Called when the kernel would wake a consumer (epoll). */
  onWakeup: (() => void) | undefined;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    if ((spec.flags ?? 0) & ~MapFlags.BPF_F_NUMA_NODE) throw createError('EINVAL', spec, 'flags not valid for a ring buffer');
    if (spec.keySize || spec.valueSize || !isPowerOf2(spec.maxEntries) || spec.maxEntries % PAGE_SIZE) {
      throw createError('EINVAL', spec, 'a ring buffer needs key_size 0, value_size 0 and max_entries a power-of-2 multiple of the page size');
    }
    super(spec, opts);
    checkMemory(spec, 2 * spec.maxEntries, opts);
    this.data = new Uint8Array(2 * spec.maxEntries);
    this.view = new DataView(this.data.buffer);
    this.mask = spec.maxEntries - 1;
  }

  /** `bpf_ringbuf_reserve`: a view of `size` writable bytes, or undefined (NULL) when it does not fit. */
  reserve(size: number, flags = 0): Uint8Array | undefined {
    if (flags) return undefined;
    if (size > RINGBUF_MAX_RECORD_SZ || size < 0) return undefined;
    const len = Math.ceil((size + BPF_RINGBUF_HDR_SZ) / 8) * 8;
    if (len > this.spec.maxEntries) return undefined;
    // Busy records sit between consumer and producer, so bounding by the consumer also bounds by
    // the kernel's pending_pos: the VM's consumer never runs ahead of a busy record.
    const next = this.producerPos + len;
    if (next - this.consumerPos > this.mask) return undefined;
    const off = this.producerPos & this.mask;
    this.view.setUint32(off, (size | BPF_RINGBUF_BUSY_BIT) >>> 0, true);
    this.view.setUint32(off + 4, RINGBUF_META_PAGES + Math.floor(off / PAGE_SIZE), true);
    this.producerPos = next;
    const sample = this.data.subarray(off + BPF_RINGBUF_HDR_SZ, off + BPF_RINGBUF_HDR_SZ + size);
    sample.fill(0);
    return sample;
  }

  /** The ring offset of a sample view from {@link reserve}, or a usage fault for a foreign view. */
  private headerOf(sample: Uint8Array): number {
    const off = sample.byteOffset - BPF_RINGBUF_HDR_SZ;
    if (sample.buffer !== this.data.buffer || off < 0 || off >= this.spec.maxEntries || off % 8) {
      throw new MapError('EINVAL', this.opName('commit'), 'not a record reserved from this ring buffer');
    }
    const h = this.view.getUint32(off, true);
    if (!(h & BPF_RINGBUF_BUSY_BIT)) throw new MapError('EINVAL', this.opName('commit'), 'record already submitted or discarded');
    return off;
  }

  private commit(sample: Uint8Array, flags: number, discard: boolean): void {
    const off = this.headerOf(sample);
    const h = this.view.getUint32(off, true);
    const size = h & ~BPF_RINGBUF_BUSY_BIT;
    // Fold back what the program wrote past the end of the ring (the kernel's second mapping).
    const end = off + BPF_RINGBUF_HDR_SZ + size;
    if (end > this.spec.maxEntries) this.data.copyWithin(0, this.spec.maxEntries, end);
    this.view.setUint32(off, (size | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0, true);
    const recPos = this.producerPosOf(off);
    if (flags & BPF_RB_FORCE_WAKEUP || (this.consumerPos === recPos && !(flags & BPF_RB_NO_WAKEUP))) this.onWakeup?.();
  }

  /** The absolute position of the record at ring offset `off` (between consumer and producer). */
  private producerPosOf(off: number): number {
    return this.consumerPos + ((off - (this.consumerPos & this.mask) + this.spec.maxEntries) & this.mask);
  }

  /** `bpf_ringbuf_submit`. */
  submit(sample: Uint8Array, flags = 0): void {
    this.commit(sample, flags, false);
  }

  /** `bpf_ringbuf_discard`. */
  discard(sample: Uint8Array, flags = 0): void {
    this.commit(sample, flags, true);
  }

  /** `bpf_ringbuf_output`: 0, -EINVAL for unknown flags, -EAGAIN when the record does not fit. */
  output(data: Uint8Array, flags = 0): number {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return negErrno('EINVAL');
    const sample = this.reserve(data.length, 0);
    if (!sample) return negErrno('EAGAIN');
    sample.set(data);
    this.submit(sample, flags);
    return 0;
  }

  /** `bpf_ringbuf_query`; unknown flags give 0. */
  query(flags: number): bigint {
    switch (flags) {
      case RingbufQuery.BPF_RB_AVAIL_DATA: return BigInt(this.producerPos - this.consumerPos);
      case RingbufQuery.BPF_RB_RING_SIZE: return BigInt(this.spec.maxEntries);
      case RingbufQuery.BPF_RB_CONS_POS: return BigInt(this.consumerPos);
      case RingbufQuery.BPF_RB_PROD_POS: return BigInt(this.producerPos);
      default: return 0n;
    }
  }

  /**
   * Reads committed records in order as libbpf's `ring_buffer__consume` does: stops at the first
   * record still being written, skips discarded ones. Returns how many were delivered.
   */
  consume(callback: (record: RingbufRecord) => void): number {
    let n = 0;
    while (this.consumerPos < this.producerPos) {
      const off = this.consumerPos & this.mask;
      const h = this.view.getUint32(off, true);
      if (h & BPF_RINGBUF_BUSY_BIT) break;
      const size = h & ~BPF_RINGBUF_DISCARD_BIT;
      const pos = this.consumerPos;
      this.consumerPos += Math.ceil((size + BPF_RINGBUF_HDR_SZ) / 8) * 8;
      if (h & BPF_RINGBUF_DISCARD_BIT) continue;
      const data = new Uint8Array(size);
      const start = off + BPF_RINGBUF_HDR_SZ;
      const first = Math.min(size, this.spec.maxEntries - start);
      data.set(this.data.subarray(start, start + first));
      if (first < size) data.set(this.data.subarray(0, size - first), first);
      callback({ data, pos });
      n++;
    }
    return n;
  }

  /** All committed records now, consumed. */
  read(): RingbufRecord[] {
    const out: RingbufRecord[] = [];
    this.consume((r) => out.push(r));
    return out;
  }

  /** The raw ring (first half: what the kernel's data pages hold), for layout checks. */
  rawData(): Uint8Array {
    return this.data.subarray(0, this.spec.maxEntries);
  }

  private unsupported(op: string): never {
    throw new MapError('ENOTSUPP', this.opName(op));
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    return this.unsupported('lookup');
  }

  set(key: Uint8Array, _value?: Uint8Array, _flags?: number): void {
    this.checkKey(key, 'update');
    this.unsupported('update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    this.unsupported('delete');
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    return this.unsupported('get next key');
  }
}
