/** BPF_MAP_TYPE_BLOOM_FILTER: a bit array set by `k` jhash functions; push adds a value, peek tests it. */

import { BPF_ANY, type MapSpec } from '../spec.js';
import { MapError, negErrno } from './errno.js';
import { BPF_F_ACCESS_MASK, KMALLOC_MAX_SIZE, MapFlags, VmMapBase, accessOk, checkMemory, createError, roundupPowerOf2, type ResolvedOptions } from './common.js';
import { jhash, jhash2 } from './jhash.js';

const BLOOM_CREATE_FLAG_MASK = MapFlags.BPF_F_NUMA_NODE | MapFlags.BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK;

/**
 * A bloom filter sized as bloom_filter.c sizes it (`maxEntries * k * 7 / 5` bits rounded up to a
 * power of two), so with the same seed it answers exactly as the kernel's does, false positives included.
 */
export class BloomFilterMap extends VmMapBase {
  private readonly hashes: number;
  private readonly mask: number;
  private readonly bits: Uint8Array;
  private readonly seed: number;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    const flags = spec.flags ?? 0;
    const extra = spec.mapExtra ?? 0;
    if (spec.valueSize > KMALLOC_MAX_SIZE) throw createError('E2BIG', spec, 'value_size too big');
    if (spec.keySize !== 0 || spec.valueSize === 0 || spec.maxEntries === 0 || flags & ~BLOOM_CREATE_FLAG_MASK || !accessOk(flags) || extra & ~0xf || extra < 0) {
      throw createError('EINVAL', spec, 'a bloom filter needs key_size 0, value_size and max_entries above 0, at most 15 hash functions');
    }
    super(spec, opts);
    this.hashes = extra || 5;
    let nrBits = spec.maxEntries * this.hashes;
    nrBits = nrBits > 0xffffffff ? Infinity : Math.floor(nrBits / 5) * 7;
    let bytes: number;
    if (nrBits > 2 ** 31) {
      bytes = 2 ** 29;
      this.mask = 0xffffffff;
    } else {
      nrBits = nrBits <= 64 ? 64 : roundupPowerOf2(nrBits);
      bytes = nrBits / 8;
      this.mask = nrBits - 1;
    }
    checkMemory(spec, bytes, opts);
    this.bits = new Uint8Array(bytes);
    this.seed = flags & MapFlags.BPF_F_ZERO_SEED ? 0 : opts.hashSeed;
  }

  private bit(value: Uint8Array, i: number): number {
    const v = value.subarray(0, this.spec.valueSize);
    const h = (this.spec.valueSize & 3) === 0 ? jhash2(v, (this.seed + i) >>> 0) : jhash(v, (this.seed + i) >>> 0);
    return (h & this.mask) >>> 0;
  }

  override pushElem(value: Uint8Array, flags: number): number {
    if (flags !== BPF_ANY) return negErrno('EINVAL');
    for (let i = 0; i < this.hashes; i++) {
      const b = this.bit(value, i);
      this.bits[b >>> 3] |= 1 << (b & 7);
    }
    return 0;
  }

  /** 0 when `value` may be in the set, -ENOENT when it surely is not. */
  override peekElem(value: Uint8Array): number {
    for (let i = 0; i < this.hashes; i++) {
      const b = this.bit(value, i);
      if (!(this.bits[b >>> 3] & (1 << (b & 7)))) return negErrno('ENOENT');
    }
    return 0;
  }

  override popElem(_out: Uint8Array): number {
    return negErrno('EOPNOTSUPP');
  }

  /** True when `value` may have been added (BPF_MAP_LOOKUP_ELEM, whose value is an input here). */
  has(value: Uint8Array): boolean {
    this.checkKey(undefined, 'lookup');
    this.checkValue(value, 'lookup');
    return this.peekElem(value) === 0;
  }

  /** The kernel's LOOKUP takes the value as input; `get` cannot say which, so it reports EINVAL: use {@link has}. */
  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    throw new MapError('EINVAL', this.opName('lookup'), 'a bloom filter is queried with has(value)');
  }

  /** Adds `value` (the key is empty). */
  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    this.fail(this.pushElem(value, flags), 'update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    throw new MapError('EOPNOTSUPP', this.opName('delete'));
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    throw new MapError('EOPNOTSUPP', this.opName('get next key'), 'a bloom filter has no keys');
  }
}
