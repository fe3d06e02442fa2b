/**
 * BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH: the kernel's bucket layout (jhash,
 * power-of-2 buckets, new elements at the bucket head), so `nextKey` walks keys in the kernel's order
 * for the same seed (the VM's default seed 0 is the kernel's BPF_F_ZERO_SEED), and LRU eviction
 * through the kernel's node allocator model ({@link Lru}).
 */

import { BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, MapType, type MapSpec } from '../spec.js';
import { negErrno } from './errno.js';
import {
  BPF_F_ACCESS_MASK, KMALLOC_MAX_SIZE, MapFlags, PCPU_MIN_UNIT_SIZE, VmMapBase, accessOk, createError, roundUp8, roundupPowerOf2, type ForEachCallback, type ResolvedOptions,
} from './common.js';
import { htabHash } from './jhash.js';
import { Lru, LruNode } from './lru.js';

const HTAB_CREATE_FLAG_MASK = MapFlags.BPF_F_NO_PREALLOC | MapFlags.BPF_F_NO_COMMON_LRU | MapFlags.BPF_F_NUMA_NODE |
  BPF_F_ACCESS_MASK | MapFlags.BPF_F_ZERO_SEED;

/** sizeof(struct htab_elem) on x86_64, for the kernel's size limits. */
const HTAB_ELEM_SIZE = 48;

/** `htab_map_alloc_check` (and the value-size rule of hash of maps, checked by the caller first). */
export function checkHashSpec(spec: MapSpec): void {
  const flags = spec.flags ?? 0;
  const t = spec.type;
  const percpu = t === MapType.BPF_MAP_TYPE_PERCPU_HASH || t === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const lru = t === MapType.BPF_MAP_TYPE_LRU_HASH || t === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (flags & ~HTAB_CREATE_FLAG_MASK || !accessOk(flags)) throw createError('EINVAL', spec, 'flags not valid for a hash');
  if (!lru && flags & MapFlags.BPF_F_NO_COMMON_LRU) throw createError('EINVAL', spec, 'BPF_F_NO_COMMON_LRU is for lru hashes');
  if (lru && flags & MapFlags.BPF_F_NO_PREALLOC) throw createError('ENOTSUPP', spec, 'an lru hash is always preallocated');
  if (flags & MapFlags.BPF_F_NUMA_NODE && (percpu || flags & MapFlags.BPF_F_NO_COMMON_LRU)) throw createError('EINVAL', spec, 'per-cpu maps have no numa node');
  if (spec.maxEntries === 0 || spec.keySize === 0 || spec.valueSize === 0) throw createError('EINVAL', spec, 'max_entries, key_size and value_size must not be 0');
  if (spec.keySize + spec.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) throw createError('E2BIG', spec, 'key_size + value_size too big');
  if (percpu && roundUp8(spec.valueSize) > PCPU_MIN_UNIT_SIZE) throw createError('E2BIG', spec, 'per-cpu value_size above 32 KiB');
}

/** One element: its key, bucket hash, value per CPU (one for shared maps), LRU node. */
interface HashElem {
  key: Uint8Array;
  hash: number;
  values: Uint8Array[];
  node: LruNode<HashElem> | undefined;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The hash family. LRU maps evict on insert, per {@link Lru}; the others say E2BIG when full. */
export class HashMap extends VmMapBase {
  protected readonly percpu: boolean;
  protected readonly lruMap: boolean;
  private readonly nBuckets: number;
  private readonly seed: number;
  /** Bucket index → elements, head (newest) first; empty buckets are absent. */
  private readonly buckets = new Map<number, HashElem[]>();
  private count = 0;
  private readonly lru: Lru<HashElem> | undefined;
  /** The CPU the syscall side runs on (LRU lists are per CPU); 0 unless set. */
  syscallCpu = 0;
  /**
   * True where the kernel replaces an existing element's value in place, keeping its place in
   * the bucket (`htab_map_update_elem_in_place`: hashes of maps), instead of a new head element.
   */
  protected readonly updatesInPlace: boolean = false;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    checkHashSpec(spec);
    super(spec, opts);
    const t = spec.type;
    const flags = spec.flags ?? 0;
    this.percpu = t === MapType.BPF_MAP_TYPE_PERCPU_HASH || t === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH;
    this.lruMap = t === MapType.BPF_MAP_TYPE_LRU_HASH || t === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH;
    const percpuLru = (flags & MapFlags.BPF_F_NO_COMMON_LRU) !== 0;
    if (percpuLru) {
      // Each CPU's list gets the same number of nodes, as htab_map_alloc rounds max_entries.
      const up = Math.ceil(spec.maxEntries / opts.cpus) * opts.cpus;
      this.spec.maxEntries = up <= 0xffffffff ? up : Math.floor(spec.maxEntries / opts.cpus) * opts.cpus;
    }
    const max = this.spec.maxEntries;
    if (max > 2 ** 31) throw createError('E2BIG', spec, 'max_entries above 2^31');
    this.nBuckets = roundupPowerOf2(max);
    if (this.nBuckets > Math.floor(0xffffffff / 16)) throw createError('E2BIG', spec, 'too many buckets');
    // Elements are allocated as they are inserted, so the VM has no preallocation to refuse (ENOMEM).
    this.seed = flags & MapFlags.BPF_F_ZERO_SEED ? 0 : opts.hashSeed;
    this.lru = this.lruMap ? new Lru<HashElem>(percpuLru, opts.cpus, max, (n) => this.delNode(n)) : undefined;
  }

  override get syscallValueSize(): number {
    return this.percpu ? roundUp8(this.spec.valueSize) * this.cpus : this.spec.valueSize;
  }

  /** Elements in the map now. */
  get size(): number {
    return this.count;
  }

  private find(key: Uint8Array): [HashElem | undefined, number] {
    const hash = htabHash(key, this.seed);
    const b = this.buckets.get(hash & (this.nBuckets - 1));
    if (b) for (const e of b) if (e.hash === hash && sameKey(e.key, key)) return [e, hash];
    return [undefined, hash];
  }

  private addHead(e: HashElem): void {
    const i = e.hash & (this.nBuckets - 1);
    const b = this.buckets.get(i);
    if (b) b.unshift(e);
    else this.buckets.set(i, [e]);
    this.count++;
  }

  private unlink(e: HashElem): boolean {
    const i = e.hash & (this.nBuckets - 1);
    const b = this.buckets.get(i);
    const at = b ? b.indexOf(e) : -1;
    if (!b || at < 0) return false;
    b.splice(at, 1);
    if (b.length === 0) this.buckets.delete(i);
    this.count--;
    return true;
  }

  /** `htab_lru_map_delete_node`: the LRU evicts this node's element. */
  private delNode(n: LruNode<HashElem>): boolean {
    return n.owner !== undefined && this.unlink(n.owner);
  }

  /**
   * Per-CPU values are 8-byte-padded slots (the kernel copies them whole, padding included);
   * `values` holds views of their first `valueSize` bytes, which programs see.
   */
  private newValues(value: Uint8Array, cpu: number, allCpus: boolean): Uint8Array[] {
    const vs = this.spec.valueSize;
    if (!this.percpu) return [value.slice(0, vs)];
    const stride = roundUp8(vs);
    return Array.from({ length: this.cpus }, (_, c) => {
      const slot = new Uint8Array(stride);
      if (allCpus) slot.set(value.subarray(c * stride, (c + 1) * stride));
      else if (c === cpu) slot.set(value.subarray(0, vs));
      return slot.subarray(0, vs);
    });
  }

  /** The whole padded slot behind a per-CPU value view. */
  private static slotOf(view: Uint8Array, stride: number): Uint8Array {
    return new Uint8Array(view.buffer, view.byteOffset, stride);
  }

  /** `check_flags`. */
  private static checkFlags(old: HashElem | undefined, flags: number): number {
    const f = flags & ~BPF_F_LOCK;
    if (old && f === BPF_NOEXIST) return negErrno('EEXIST');
    if (!old && f === BPF_EXIST) return negErrno('ENOENT');
    return 0;
  }

  /** The update of every hash flavour, in the kernel's order of checks; `allCpus` for the syscall side of per-CPU maps. */
  protected update(key: Uint8Array, value: Uint8Array, flags: number, cpu: number, allCpus: boolean): number {
    if (this.lruMap || this.percpu ? flags > BPF_EXIST : (flags & ~BPF_F_LOCK) > BPF_EXIST) return negErrno('EINVAL');
    if (flags & BPF_F_LOCK) return negErrno('EINVAL');
    const lru = this.lru;
    if (lru && !this.percpu) {
      const node = lru.pop(cpu);
      if (!node) return negErrno('ENOMEM');
      const [old, hash] = this.find(key);
      const ret = HashMap.checkFlags(old, flags);
      if (ret) {
        lru.push(node);
        return ret;
      }
      const e: HashElem = { key: key.slice(), hash, values: this.newValues(value, cpu, allCpus), node };
      node.owner = e;
      this.addHead(e);
      if (old?.node) {
        lru.setRef(node);
        this.unlink(old);
        lru.push(old.node);
      }
      return 0;
    }
    if (lru) {
      const node = flags !== BPF_EXIST ? lru.pop(cpu) : undefined;
      if (flags !== BPF_EXIST && !node) return negErrno('ENOMEM');
      const [old, hash] = this.find(key);
      let ret = HashMap.checkFlags(old, flags);
      if (!ret && old) {
        if (old.node) lru.setRef(old.node);
        this.copyIn(old, value, cpu, allCpus);
      } else if (!ret && node) {
        const e: HashElem = { key: key.slice(), hash, values: this.newValues(value, cpu, allCpus), node };
        node.owner = e;
        this.addHead(e);
        return 0;
      } else if (!ret) {
        ret = negErrno('ENOMEM');
      }
      if (node) lru.push(node);
      return ret;
    }
    const [old, hash] = this.find(key);
    const ret = HashMap.checkFlags(old, flags);
    if (ret) return ret;
    if (old && this.percpu) {
      this.copyIn(old, value, cpu, allCpus);
      return 0;
    }
    if (old && this.updatesInPlace) {
      old.values[0].set(value.subarray(0, this.spec.valueSize));
      return 0;
    }
    if (!old && this.count >= this.spec.maxEntries) return negErrno('E2BIG');
    // A shared-value hash puts a new element at the bucket head and unlinks the old one.
    this.addHead({ key: key.slice(), hash, values: this.newValues(value, cpu, allCpus), node: undefined });
    if (old) this.unlink(old);
    return 0;
  }

  private copyIn(e: HashElem, value: Uint8Array, cpu: number, allCpus: boolean): void {
    const vs = this.spec.valueSize;
    const stride = roundUp8(vs);
    if (!allCpus) e.values[this.percpu ? cpu : 0].set(value.subarray(0, vs));
    else for (let c = 0; c < this.cpus; c++) HashMap.slotOf(e.values[c], stride).set(value.subarray(c * stride, (c + 1) * stride));
  }

  private syscallValue(e: HashElem): Uint8Array {
    if (!this.percpu) return e.values[0].slice();
    const out = new Uint8Array(this.syscallValueSize);
    const stride = roundUp8(this.spec.valueSize);
    e.values.forEach((v, c) => out.set(HashMap.slotOf(v, stride), c * stride));
    return out;
  }

  protected remove(key: Uint8Array): number {
    const [e] = this.find(key);
    if (!e) return negErrno('ENOENT');
    this.unlink(e);
    if (e.node && this.lru) this.lru.push(e.node);
    return 0;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const [e] = this.find(key);
    return e && this.syscallValue(e);
  }

  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    this.fail(this.update(key, value, flags, this.cpuOf(this.syscallCpu), true), 'update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    this.fail(this.remove(key), 'delete');
  }

  override lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup and delete');
    const [e] = this.find(key);
    if (!e) return undefined;
    const v = this.syscallValue(e);
    this.remove(key);
    return v;
  }

  /** `htab_map_get_next_key`: the next key in its bucket, else the first of a later bucket; a missing key restarts at the first. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    let from = 0;
    if (key !== undefined) {
      const [e, hash] = this.find(key);
      if (e) {
        const i = hash & (this.nBuckets - 1);
        const b = this.buckets.get(i) as HashElem[];
        const at = b.indexOf(e);
        if (at + 1 < b.length) return b[at + 1].key.slice();
        from = i + 1;
      }
    }
    const b = this.firstBucketFrom(from);
    return b ? b[0].key.slice() : undefined;
  }

  private firstBucketFrom(from: number): HashElem[] | undefined {
    if (this.nBuckets - from <= 4 * this.buckets.size) {
      for (let i = from; i < this.nBuckets; i++) {
        const b = this.buckets.get(i);
        if (b) return b;
      }
      return undefined;
    }
    let best = -1;
    for (const i of this.buckets.keys()) if (i >= from && (best < 0 || i < best)) best = i;
    return best < 0 ? undefined : this.buckets.get(best);
  }

  override lookupElem(key: Uint8Array, cpu = 0): Uint8Array | undefined {
    this.cpuOf(cpu);
    const [e] = this.find(key);
    if (!e) return undefined;
    if (e.node && this.lru) this.lru.setRef(e.node);
    return e.values[this.percpu ? cpu : 0];
  }

  override lookupPercpuElem(key: Uint8Array, cpu: number): Uint8Array | undefined {
    if (!this.percpu || cpu < 0 || cpu >= this.cpus) return undefined;
    const [e] = this.find(key);
    if (!e) return undefined;
    if (e.node && this.lru) this.lru.setRef(e.node);
    return e.values[cpu];
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu = 0): number {
    return this.update(key, value, flags, this.cpuOf(cpu), false);
  }

  override deleteElem(key: Uint8Array): number {
    return this.remove(key);
  }

  override forEachElem(callback: ForEachCallback, flags = 0, cpu = 0): number {
    if (flags) return negErrno('EINVAL');
    this.cpuOf(cpu);
    let n = 0;
    const order = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const i of order) {
      for (const e of [...(this.buckets.get(i) ?? [])]) {
        n++;
        if (callback(e.key, e.values[this.percpu ? cpu : 0])) return n;
      }
    }
    return n;
  }
}
