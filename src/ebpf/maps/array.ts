/** BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: preallocated, zero-filled values indexed by a u32 key. */

import { BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, MapType, type MapSpec } from '../spec.js';
import { MapError, negErrno } from './errno.js';
import {
  BPF_F_ACCESS_MASK, MapFlags, PCPU_MIN_UNIT_SIZE, VmMapBase, accessOk, checkMemory, createError, roundUp8,
  type ForEachCallback, type ResolvedOptions,
} from './common.js';

const ARRAY_CREATE_FLAG_MASK = MapFlags.BPF_F_NUMA_NODE | MapFlags.BPF_F_MMAPABLE | BPF_F_ACCESS_MASK |
  MapFlags.BPF_F_PRESERVE_ELEMS | MapFlags.BPF_F_INNER_MAP;

/** `array_map_alloc_check`: the checks every array-shaped map (also fd arrays) makes. */
export function checkArraySpec(spec: MapSpec): void {
  const flags = spec.flags ?? 0;
  const percpu = spec.type === MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
  if (spec.maxEntries === 0) throw createError('EINVAL', spec, 'max_entries must not be 0');
  if (spec.keySize !== 4) throw createError('EINVAL', spec, 'an array key must be 4 bytes');
  if (spec.valueSize === 0) throw createError('EINVAL', spec, 'value_size must not be 0');
  if (flags & ~ARRAY_CREATE_FLAG_MASK || !accessOk(flags)) throw createError('EINVAL', spec, 'flags not valid for an array');
  if (percpu && flags & MapFlags.BPF_F_NUMA_NODE) throw createError('EINVAL', spec, 'a per-cpu array has no numa node');
  if (spec.type !== MapType.BPF_MAP_TYPE_ARRAY && flags & (MapFlags.BPF_F_MMAPABLE | MapFlags.BPF_F_INNER_MAP)) {
    throw createError('EINVAL', spec, 'BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays');
  }
  if (spec.type !== MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY && flags & MapFlags.BPF_F_PRESERVE_ELEMS) {
    throw createError('EINVAL', spec, 'BPF_F_PRESERVE_ELEMS is for perf event arrays');
  }
  if (spec.valueSize > 0x7fffffff) throw createError('E2BIG', spec, 'value_size too big');
  if (percpu && roundUp8(spec.valueSize) > PCPU_MIN_UNIT_SIZE) throw createError('E2BIG', spec, 'per-cpu value_size above 32 KiB');
}

/** The u32 index a 4-byte array key holds (host order: little-endian). */
export function arrayIndex(key: Uint8Array): number {
  return (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
}

/** A 4-byte little-endian array key. */
export function arrayKey(index: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, index, true);
  return k;
}

/**
 * `array_map_get_next_key`: the first index for a missing or out-of-range key, ENOENT after the
 * last. Shared with every array-shaped map.
 */
export function arrayNextKey(key: Uint8Array | undefined, maxEntries: number): Uint8Array | undefined {
  const index = key === undefined ? maxEntries : arrayIndex(key);
  if (index >= maxEntries) return arrayKey(0);
  if (index === maxEntries - 1) return undefined;
  return arrayKey(index + 1);
}

/** An array or per-CPU array: one zeroed value slot (rounded up to 8 bytes) per index and CPU. */
export class ArrayMap extends VmMapBase {
  private readonly percpu: boolean;
  private readonly elemSize: number;
  /** One region per CPU (a single one for a plain array), `maxEntries * elemSize` bytes. */
  private readonly regions: Uint8Array[];
  /** Views handed out so far, so one slot is always the same Uint8Array object. */
  private readonly views: Map<number, Uint8Array>[];

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    checkArraySpec(spec);
    super(spec, opts);
    this.percpu = spec.type === MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
    this.elemSize = roundUp8(spec.valueSize);
    const n = this.percpu ? opts.cpus : 1;
    checkMemory(spec, spec.maxEntries * this.elemSize * n, opts);
    this.regions = Array.from({ length: n }, () => new Uint8Array(spec.maxEntries * this.elemSize));
    this.views = Array.from({ length: n }, () => new Map<number, Uint8Array>());
  }

  override get syscallValueSize(): number {
    return this.percpu ? this.elemSize * this.cpus : this.spec.valueSize;
  }

  /** The value area of a BPF_F_MMAPABLE array, as `mmap` of the map fd shows it (plain arrays only). */
  mmap(): Uint8Array {
    if (this.percpu || !((this.spec.flags ?? 0) & MapFlags.BPF_F_MMAPABLE)) throw new MapError('EINVAL', this.opName('mmap'), 'map is not BPF_F_MMAPABLE');
    return this.regions[0];
  }

  /** A fresh view of a slot (syscall side: not cached, so walking a big array keeps no garbage). */
  private raw(index: number, cpu: number): Uint8Array {
    const off = index * this.elemSize;
    return this.regions[cpu].subarray(off, off + this.spec.valueSize);
  }

  /** A whole slot, padding to 8 bytes included. */
  private slot(index: number, cpu: number): Uint8Array {
    const off = index * this.elemSize;
    return this.regions[cpu].subarray(off, off + this.elemSize);
  }

  private view(index: number, cpu: number): Uint8Array {
    let v = this.views[cpu].get(index);
    if (!v) {
      const off = index * this.elemSize;
      v = this.regions[cpu].subarray(off, off + this.spec.valueSize);
      this.views[cpu].set(index, v);
    }
    return v;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const index = arrayIndex(key);
    if (index >= this.spec.maxEntries) return undefined;
    if (!this.percpu) return this.raw(index, 0).slice();
    // Per-CPU slots travel whole, padding included, as the kernel's bpf_long_memcpy copies them.
    const out = new Uint8Array(this.syscallValueSize);
    for (let cpu = 0; cpu < this.cpus; cpu++) out.set(this.slot(index, cpu), cpu * this.elemSize);
    return out;
  }

  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    const ret = this.check(arrayIndex(key), flags);
    this.fail(ret, 'update');
    const index = arrayIndex(key);
    if (!this.percpu) this.raw(index, 0).set(value);
    else for (let cpu = 0; cpu < this.cpus; cpu++) this.slot(index, cpu).set(value.subarray(cpu * this.elemSize, (cpu + 1) * this.elemSize));
  }

  /** `array_map_update_elem`'s checks, in its order. */
  private check(index: number, flags: number): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return negErrno('EINVAL');
    if (index >= this.spec.maxEntries) return negErrno('E2BIG');
    if (flags & BPF_NOEXIST) return negErrno('EEXIST');
    if (flags & BPF_F_LOCK) return negErrno('EINVAL');
    return 0;
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    throw new MapError('EINVAL', this.opName('delete'), 'array elements cannot be deleted');
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    return arrayNextKey(key, this.spec.maxEntries);
  }

  override lookupElem(key: Uint8Array, cpu = 0): Uint8Array | undefined {
    const index = arrayIndex(key);
    if (index >= this.spec.maxEntries) return undefined;
    return this.view(index, this.percpu ? this.cpuOf(cpu) : 0);
  }

  override lookupPercpuElem(key: Uint8Array, cpu: number): Uint8Array | undefined {
    if (!this.percpu) return undefined;
    const index = arrayIndex(key);
    if (index >= this.spec.maxEntries || cpu >= this.cpus || cpu < 0) return undefined;
    return this.view(index, cpu);
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu = 0): number {
    const index = arrayIndex(key);
    const ret = this.check(index, flags);
    if (ret) return ret;
    this.raw(index, this.percpu ? this.cpuOf(cpu) : 0).set(value.subarray(0, this.spec.valueSize));
    return 0;
  }

  override deleteElem(): number {
    return negErrno('EINVAL');
  }

  override forEachElem(callback: ForEachCallback, flags = 0, cpu = 0): number {
    if (flags) return negErrno('EINVAL');
    const c = this.percpu ? this.cpuOf(cpu) : 0;
    let n = 0;
    for (let i = 0; i < this.spec.maxEntries; i++) {
      n++;
      if (callback(arrayKey(i), this.view(i, c))) break;
    }
    return n;
  }
}
