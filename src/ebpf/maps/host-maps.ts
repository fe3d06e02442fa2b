/** Maps whose values name host objects (devices, CPUs, AF_XDP and other sockets, cgroups) and cgroup storage: the VM keeps what user space writes and gives programs a miss for an empty slot, as the kernel does. */

import { UnsupportedError } from '../../util/index.js';
import { MapType, type MapSpec } from '../spec.js';
import { BPF_F_ACCESS_MASK, MapFlags, PCPU_MIN_UNIT_SIZE, accessOk, createError, roundUp8, type ResolvedOptions } from './common.js';
import { MapError, negErrno } from './errno.js';
import { HashMap } from './hash.js';

/** What a host-object map takes: indexed (array-like key u32 < max_entries) or hashed, its value sizes, and whether the VM can hold what a value names. */
interface HostMapKind {
  indexed: boolean;
  valueSizes: readonly number[];
  /** A device ifindex or a CPU's queue size is a plain number the VM can keep; a socket or cgroup fd is not. */
  plainValues: boolean;
}

/** The kernel's value layouts: `u32` or `struct bpf_devmap_val`/`bpf_cpumap_val` (with a program fd), fds for the socket maps; empty: any size. */
export const HOST_MAP_KINDS: ReadonlyMap<number, HostMapKind> = new Map<number, HostMapKind>([
  [MapType.BPF_MAP_TYPE_DEVMAP, { indexed: true, valueSizes: [4, 8], plainValues: true }],
  [MapType.BPF_MAP_TYPE_DEVMAP_HASH, { indexed: false, valueSizes: [4, 8], plainValues: true }],
  [MapType.BPF_MAP_TYPE_CPUMAP, { indexed: true, valueSizes: [4, 8], plainValues: true }],
  [MapType.BPF_MAP_TYPE_XSKMAP, { indexed: true, valueSizes: [4], plainValues: false }],
  [MapType.BPF_MAP_TYPE_SOCKMAP, { indexed: true, valueSizes: [4, 8], plainValues: false }],
  [MapType.BPF_MAP_TYPE_SOCKHASH, { indexed: false, valueSizes: [4, 8], plainValues: false }],
  [MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, { indexed: true, valueSizes: [4, 8], plainValues: false }],
  [MapType.BPF_MAP_TYPE_CGROUP_ARRAY, { indexed: true, valueSizes: [4], plainValues: false }],
  // Keyed by a socket fd, any value size: storage that lives on sockets the VM does not have.
  [MapType.BPF_MAP_TYPE_SK_STORAGE, { indexed: false, valueSizes: [], plainValues: false }],
]);

/**
 * A map of host objects. Device and CPU maps keep the numbers user space writes (the VM takes the
 * host's word that the device or CPU exists); socket and cgroup maps stay empty, since the VM has
 * no sockets or cgroups for an fd to name. Programs see an empty slot as a miss: `bpf_redirect_map`
 * falls back to its flags' action, lookups give NULL.
 */
export class HostObjectMap extends HashMap {
  private readonly kind: HostMapKind;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    const kind = HOST_MAP_KINDS.get(spec.type);
    if (!kind) throw createError('EINVAL', spec, 'not a host-object map type');
    if (kind.indexed && spec.keySize !== 4) throw createError('EINVAL', spec, 'keys of this map are u32 indexes');
    const local = spec.type === MapType.BPF_MAP_TYPE_SK_STORAGE;
    // bpf_local_storage_map_alloc_check: an fd key, no max_entries, never preallocated.
    if (local && (spec.keySize !== 4 || spec.maxEntries !== 0 || !((spec.flags ?? 0) & MapFlags.BPF_F_NO_PREALLOC) || spec.valueSize === 0)) {
      throw createError('EINVAL', spec, 'socket storage takes an fd key, max_entries 0 and BPF_F_NO_PREALLOC');
    }
    if (kind.valueSizes.length && !kind.valueSizes.includes(spec.valueSize)) throw createError('EINVAL', spec, `values of this map are ${kind.valueSizes.join(' or ')} bytes`);
    // The hash underneath needs a size; socket storage has none of its own (it lives on the sockets).
    super(local ? { ...spec, maxEntries: 1 } : spec, opts);
    if (local) this.spec.maxEntries = 0;
    this.kind = kind;
  }

  /** Socket storage cannot be walked from user space (notsupp_get_next_key). */
  override nextKey(key?: Uint8Array): Uint8Array | undefined {
    if (this.spec.type === MapType.BPF_MAP_TYPE_SK_STORAGE) {
      this.checkKey(key, 'get next key');
      throw new MapError('ENOTSUPP', this.opName('get next key'));
    }
    return super.nextKey(key);
  }

  private indexOk(key: Uint8Array): boolean {
    return !this.kind.indexed || new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true) < this.spec.maxEntries;
  }

  override set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (!this.kind.plainValues) {
      throw new UnsupportedError('E_VM_MAP_FD', `update map "${this.spec.name}": the vm has no sockets or cgroups for an fd to name`, { hint: 'load it into the kernel backend instead' });
    }
    this.checkUpdate(key, value, flags);
    if (!this.indexOk(key)) throw new MapError('E2BIG', this.opName('update'));
    super.set(key, value, flags);
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu = 0): number {
    if (!this.kind.plainValues) return negErrno('EOPNOTSUPP');
    if (!this.indexOk(key)) return negErrno('E2BIG');
    return super.updateElem(key, value, flags, cpu);
  }
}

/** bpf_cgroup_storage_key (u64 cgroup inode id, u32 attach type, padded) or the bare u64 id. */
const CGROUP_STORAGE_KEY_SIZES = [16, 8];
/** BPF_LOCAL_STORAGE_MAX_VALUE_SIZE on x86-64: U16_MAX less sizeof(struct bpf_local_storage_elem) (128). */
const LOCAL_STORAGE_MAX_VALUE_SIZE = 0xffff - 128;
/** LOCAL_STORAGE_CREATE_FLAG_MASK: BPF_F_NUMA_NODE and the access flags. */
const CGROUP_STORAGE_FLAGS = MapFlags.BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;

/**
 * BPF_MAP_TYPE_CGROUP_STORAGE and its per-CPU twin: storage the kernel makes for each cgroup a program
 * using the map is attached to. The VM attaches nothing to cgroups, so the map stays empty: user space
 * updates get ENOENT (cgroup_storage_update_elem finds no storage), deletes EINVAL, lookups a miss.
 */
export class CgroupStorageMap extends HashMap {
  constructor(spec: MapSpec, opts: ResolvedOptions) {
    // cgroup_storage_map_alloc's checks, in its order.
    if (!CGROUP_STORAGE_KEY_SIZES.includes(spec.keySize)) throw createError('EINVAL', spec, 'keys of cgroup storage are struct bpf_cgroup_storage_key or a u64');
    if (spec.valueSize === 0) throw createError('EINVAL', spec, 'cgroup storage needs a value size');
    const max = spec.type === MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE ? PCPU_MIN_UNIT_SIZE : LOCAL_STORAGE_MAX_VALUE_SIZE;
    if (spec.valueSize > max) throw createError('E2BIG', spec, `cgroup storage values are at most ${max} bytes`);
    const flags = spec.flags ?? 0;
    if (flags & ~CGROUP_STORAGE_FLAGS || !accessOk(flags)) throw createError('EINVAL', spec, 'flags cgroup storage does not take');
    if (spec.maxEntries !== 0) throw createError('EINVAL', spec, 'cgroup storage takes max_entries 0');
    // The hash underneath needs a size; the map's own has none.
    super({ ...spec, type: MapType.BPF_MAP_TYPE_HASH, maxEntries: 1 }, opts);
    this.spec.type = spec.type;
    this.spec.maxEntries = 0;
  }

  override get syscallValueSize(): number {
    return this.spec.type === MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE ? roundUp8(this.spec.valueSize) * this.cpus : this.spec.valueSize;
  }

  override set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey(key, 'update');
    if (flags & ~(4 | 2)) throw new MapError('EINVAL', this.opName('update'));
    this.checkUpdate(key, value, flags);
    throw new MapError('ENOENT', this.opName('update'), 'no cgroup storage for this key (the vm attaches no program to a cgroup)');
  }

  override delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    throw new MapError('EINVAL', this.opName('delete'), 'cgroup storage is not deleted by key');
  }

  override updateElem(): number {
    return negErrno('ENOENT');
  }

  override deleteElem(): number {
    return negErrno('EINVAL');
  }
}
