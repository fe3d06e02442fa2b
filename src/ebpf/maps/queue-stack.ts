/** BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK: keyless FIFO / LIFO rings of `maxEntries` values. */

import { BPF_EXIST, BPF_NOEXIST, MapType, type MapSpec } from '../spec.js';
import { MapError, negErrno } from './errno.js';
import { BPF_F_ACCESS_MASK, KMALLOC_MAX_SIZE, MapFlags, VmMapBase, accessOk, checkMemory, createError, type ResolvedOptions } from './common.js';

const QUEUE_STACK_CREATE_FLAG_MASK = MapFlags.BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;

/** `queue_stack_map_alloc_check`. */
export function checkQueueStackSpec(spec: MapSpec): void {
  const flags = spec.flags ?? 0;
  if (spec.maxEntries === 0 || spec.keySize !== 0 || spec.valueSize === 0 || flags & ~QUEUE_STACK_CREATE_FLAG_MASK || !accessOk(flags)) {
    throw createError('EINVAL', spec, 'a queue or stack needs key_size 0, value_size and max_entries above 0');
  }
  if (spec.valueSize > KMALLOC_MAX_SIZE) throw createError('E2BIG', spec, 'value_size too big');
}

/**
 * A queue or stack over a ring of `maxEntries + 1` slots, as queue_stack_maps.c keeps it; the
 * syscall side maps LOOKUP to peek, UPDATE to push and LOOKUP_AND_DELETE to pop.
 */
export class QueueStackMap extends VmMapBase {
  private readonly stack: boolean;
  private readonly slots: Uint8Array;
  private readonly size: number;
  private head = 0;
  private tail = 0;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    checkQueueStackSpec(spec);
    super(spec, opts);
    this.stack = spec.type === MapType.BPF_MAP_TYPE_STACK;
    this.size = spec.maxEntries + 1;
    checkMemory(spec, this.size * spec.valueSize, opts);
    this.slots = new Uint8Array(this.size * spec.valueSize);
  }

  /** Values held now. */
  get length(): number {
    return (this.head - this.tail + this.size) % this.size;
  }

  private slot(i: number): Uint8Array {
    return this.slots.subarray(i * this.spec.valueSize, (i + 1) * this.spec.valueSize);
  }

  override pushElem(value: Uint8Array, flags: number): number {
    // BPF_EXIST makes room by dropping the oldest value.
    if (flags & BPF_NOEXIST || flags > BPF_EXIST) return negErrno('EINVAL');
    if (this.length === this.spec.maxEntries) {
      if (!(flags & BPF_EXIST)) return negErrno('E2BIG');
      this.tail = (this.tail + 1) % this.size;
    }
    this.slot(this.head).set(value.subarray(0, this.spec.valueSize));
    this.head = (this.head + 1) % this.size;
    return 0;
  }

  private take(out: Uint8Array, remove: boolean): number {
    if (this.length === 0) {
      out.fill(0, 0, this.spec.valueSize);
      return negErrno('ENOENT');
    }
    if (this.stack) {
      const i = (this.head - 1 + this.size) % this.size;
      out.set(this.slot(i));
      if (remove) this.head = i;
    } else {
      out.set(this.slot(this.tail));
      if (remove) this.tail = (this.tail + 1) % this.size;
    }
    return 0;
  }

  override popElem(out: Uint8Array): number {
    return this.take(out, true);
  }

  override peekElem(out: Uint8Array): number {
    return this.take(out, false);
  }

  /** Peeks (the key is empty); undefined when empty. */
  get(key: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const out = new Uint8Array(this.spec.valueSize);
    return this.take(out, false) ? undefined : out;
  }

  /** Pushes; BPF_EXIST overwrites the oldest value when full. */
  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    this.fail(this.pushElem(value, flags), 'update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    throw new MapError('EINVAL', this.opName('delete'), 'use lookupAndDelete to pop');
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    throw new MapError('EINVAL', this.opName('get next key'), 'a queue or stack has no keys');
  }

  /** Pops (BPF_MAP_LOOKUP_AND_DELETE_ELEM). */
  override lookupAndDelete(key: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
    this.checkKey(key, 'lookup and delete');
    const out = new Uint8Array(this.spec.valueSize);
    return this.take(out, true) ? undefined : out;
  }
}
