/** What every VM map shares: creation flags and limits, the `VmMap` interface (syscall and program sides) and its base class. */

import { UsageError } from '../../util/index.js';
import type { BpfMap, MapSpec } from '../spec.js';
import { releaseHandle } from './handles.js';
import { MapError, errnoNameOf, negErrno, type MapErrnoName } from './errno.js';

/** BPF_F_* map creation flags as in <linux/bpf.h>. */
export const MapFlags = {
  BPF_F_NO_PREALLOC: 1 << 0, BPF_F_NO_COMMON_LRU: 1 << 1, BPF_F_NUMA_NODE: 1 << 2, BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4, BPF_F_STACK_BUILD_ID: 1 << 5, BPF_F_ZERO_SEED: 1 << 6, BPF_F_RDONLY_PROG: 1 << 7,
  BPF_F_WRONLY_PROG: 1 << 8, BPF_F_CLONE: 1 << 9, BPF_F_MMAPABLE: 1 << 10, BPF_F_PRESERVE_ELEMS: 1 << 11,
  BPF_F_INNER_MAP: 1 << 12,
} as const;

/** `BPF_F_ACCESS_MASK`: the read/write-only flags every map type accepts (unless it says otherwise). */
export const BPF_F_ACCESS_MASK = MapFlags.BPF_F_RDONLY | MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_WRONLY | MapFlags.BPF_F_WRONLY_PROG;

/** Kernel limits the map checks use (x86_64, 4 KiB pages). */
export const PAGE_SIZE = 4096;
export const KMALLOC_MAX_SIZE = 4 * 1024 * 1024;
export const PCPU_MIN_UNIT_SIZE = 32 * 1024;

/** Options for {@link createMap}. */
export interface MapOptions {
  /** Possible CPUs (per-CPU maps, perf event arrays, LRU lists); 1 when not given. */
  cpus?: number;
  /**
   * Seed of the hash map and bloom filter hashes. The kernel picks a random one unless
   * BPF_F_ZERO_SEED; the VM defaults to 0, so its iteration order is the kernel's under BPF_F_ZERO_SEED.
   */
  hashSeed?: number;
  /** Bytes one map may preallocate before creation fails with ENOMEM; 256 MiB when not given. */
  memoryLimit?: number;
}

/** A `bpf_for_each_map_elem` callback: returns 0 to go on, 1 to stop. */
export type ForEachCallback = (key: Uint8Array, value: Uint8Array) => number;

/**
 * A map in the VM. The syscall side (`get/set/delete/nextKey/...`, from {@link BpfMap}) throws a
 * {@link MapError} with the kernel's errno; the program side (`lookupElem/updateElem/...`, what the
 * helpers call) returns what the helper returns: a view or undefined (NULL), 0 or a negative errno.
 */
export interface VmMap extends BpfMap {
  /** Possible CPUs this map was created for. */
  readonly cpus: number;
  /** Bytes a syscall value has: `valueSize`, or for per-CPU maps `roundUp8(valueSize) * cpus`. */
  readonly syscallValueSize: number;
  /** BPF_MAP_FREEZE: syscall-side writes fail with EPERM from now on. */
  freeze(): void;
  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash family; queue and stack pop): undefined on ENOENT, as `get`. */
  lookupAndDelete(key?: Uint8Array): Uint8Array | undefined;
  /**
   * `bpf_map_lookup_elem`: a live view of the stored value (this CPU's for per-CPU maps) that the
   * program reads and writes in place; it stays valid until the element is deleted or replaced.
   */
  lookupElem(key: Uint8Array, cpu?: number): Uint8Array | undefined;
  /** `bpf_map_lookup_percpu_elem`: CPU `cpu`'s value, undefined past the last CPU. */
  lookupPercpuElem(key: Uint8Array, cpu: number): Uint8Array | undefined;
  /** `bpf_map_update_elem` from a program: 0 or a negative errno. */
  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu?: number): number;
  /** `bpf_map_delete_elem` from a program. */
  deleteElem(key: Uint8Array, cpu?: number): number;
  /** `bpf_map_push_elem` (queue, stack, bloom filter). */
  pushElem(value: Uint8Array, flags: number): number;
  /** `bpf_map_pop_elem`: writes into `out` (zeroed when empty). */
  popElem(out: Uint8Array): number;
  /** `bpf_map_peek_elem`: writes into `out` (queue, stack); for a bloom filter `out` is the value to test. */
  peekElem(out: Uint8Array): number;
  /** `bpf_for_each_map_elem`: the number of elements visited, or a negative errno. */
  forEachElem(callback: ForEachCallback, flags?: number, cpu?: number): number;
}

/** `round_up(n, 8)`. */
export function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** True for 1, 2, 4, ... */
export function isPowerOf2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/** `roundup_pow_of_two`. */
export function roundupPowerOf2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** `bpf_map_flags_access_ok`: RDONLY_PROG and WRONLY_PROG together are invalid. */
export function accessOk(flags: number): boolean {
  return (flags & (MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_WRONLY_PROG)) !== (MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_WRONLY_PROG);
}

/** Throws the EINVAL/E2BIG/... that map_create returns. */
export function createError(errno: MapErrnoName, spec: MapSpec, why: string): MapError {
  return new MapError(errno, `create map "${spec.name}"`, why);
}

/** Resolved options every map uses. */
export interface ResolvedOptions {
  cpus: number;
  hashSeed: number;
  memoryLimit: number;
}

/** Fills option defaults and checks them (a bad CPU count is the caller's mistake, not the kernel's). */
export function resolveOptions(o: MapOptions = {}): ResolvedOptions {
  const cpus = o.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 4096) throw new UsageError('E_MAP_CPUS', `cpus must be an integer in 1..4096, got ${cpus}`);
  return { cpus, hashSeed: (o.hashSeed ?? 0) >>> 0, memoryLimit: o.memoryLimit ?? 256 * 1024 * 1024 };
}

/** ENOMEM when preallocating `bytes` would pass the memory limit. */
export function checkMemory(spec: MapSpec, bytes: number, opts: ResolvedOptions): void {
  if (bytes > opts.memoryLimit) throw createError('ENOMEM', spec, `needs ${bytes} bytes, more than the vm's limit of ${opts.memoryLimit}`);
}

/**
 * The shared plumbing: handle lifetime, size checks, iteration built on `nextKey` (as a kernel
 * iterator would be), and program-side operations that this map type does not have.
 */
export abstract class VmMapBase implements VmMap {
  readonly spec: MapSpec;
  readonly cpus: number;
  protected closed = false;
  /** True after {@link freeze}: syscall-side writes fail with EPERM, program-side ones still work. */
  protected frozen = false;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    this.spec = { ...spec };
    this.cpus = opts.cpus;
  }

  get syscallValueSize(): number {
    return this.spec.valueSize;
  }

  /**
   * Every syscall-side operation starts here: EBADF after close, EPERM where BPF_F_RDONLY /
   * BPF_F_WRONLY deny the syscall side reading or writing (as the kernel checks the fd's mode
   * first), then keys of the wrong length.
   */
  protected checkKey(key: Uint8Array | undefined, op: string): void {
    if (this.closed) throw new MapError('EBADF', this.opName(op), 'map is closed');
    const flags = this.spec.flags ?? 0;
    const reads = op === 'lookup' || op === 'get next key' || op === 'lookup and delete';
    const writes = op === 'update' || op === 'delete' || op === 'lookup and delete';
    if ((reads && flags & MapFlags.BPF_F_WRONLY) || (writes && flags & MapFlags.BPF_F_RDONLY)) {
      throw new MapError('EPERM', this.opName(op), flags & MapFlags.BPF_F_RDONLY ? 'map is read-only for syscalls' : 'map is write-only for syscalls');
    }
    if (writes && this.frozen) throw new MapError('EPERM', this.opName(op), 'map is frozen');
    if (key !== undefined && key.length !== this.spec.keySize) {
      throw new UsageError('E_MAP_KEY_SIZE', `${this.opName(op)}: key has ${key.length} bytes, the map's keys have ${this.spec.keySize}`);
    }
  }

  /** The CPU a program-side call runs on, checked: a CPU the map was not created for is the caller's mistake. */
  protected cpuOf(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) {
      throw new UsageError('E_MAP_CPU', `${this.opName('use')}: cpu ${cpu} is not one of the map's ${this.cpus} cpus`);
    }
    return cpu;
  }

  protected checkValue(value: Uint8Array, op: string, size = this.syscallValueSize): void {
    if (value.length !== size) {
      throw new UsageError('E_MAP_VALUE_SIZE', `${this.opName(op)}: value has ${value.length} bytes, expected ${size}`);
    }
  }

  /** `bpf(BPF_MAP_UPDATE_ELEM)` flag check every type shares: BPF_F_LOCK needs a spin lock, which VM values never have. */
  protected checkSyscallFlags(flags: number, op: string): void {
    if (flags & 4) throw new MapError('EINVAL', this.opName(op), 'BPF_F_LOCK needs a bpf_spin_lock in the value');
  }

  /** What every `bpf(BPF_MAP_UPDATE_ELEM)` checks before the type's own work: the fd, the key and value sizes, the flags. */
  protected checkUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkKey(key, 'update');
    this.checkValue(value, 'update');
    this.checkSyscallFlags(flags, 'update');
  }

  protected opName(op: string): string {
    return `${op} map "${this.spec.name}"`;
  }

  /** Throws a MapError for a negative helper-style result. */
  protected fail(ret: number, op: string): void {
    if (ret < 0) {
      const name = errnoNameOf(ret) ?? 'EINVAL';
      throw new MapError(name, this.opName(op));
    }
  }

  abstract get(key: Uint8Array): Uint8Array | undefined;
  abstract set(key: Uint8Array, value: Uint8Array, flags?: number): void;
  abstract delete(key: Uint8Array): void;
  abstract nextKey(key?: Uint8Array): Uint8Array | undefined;

  lookupAndDelete(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup and delete');
    throw new MapError('ENOTSUPP', this.opName('lookup and delete'));
  }

  async *keys(): AsyncIterableIterator<Uint8Array> {
    let k = this.nextKey(undefined);
    while (k !== undefined) {
      yield k;
      k = this.nextKey(k);
    }
  }

  async *entries(): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    for await (const k of this.keys()) {
      // An element deleted between nextKey and get is skipped, as a kernel iterator skips ENOENT.
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  lookupElem(_key: Uint8Array, _cpu = 0): Uint8Array | undefined {
    return undefined;
  }

  lookupPercpuElem(_key: Uint8Array, _cpu: number): Uint8Array | undefined {
    return undefined;
  }

  updateElem(_key: Uint8Array, _value: Uint8Array, _flags: number, _cpu = 0): number {
    return negErrno('EOPNOTSUPP');
  }

  deleteElem(_key: Uint8Array, _cpu = 0): number {
    return negErrno('EOPNOTSUPP');
  }

  pushElem(_value: Uint8Array, _flags: number): number {
    return negErrno('EOPNOTSUPP');
  }

  popElem(_out: Uint8Array): number {
    return negErrno('EOPNOTSUPP');
  }

  peekElem(_out: Uint8Array): number {
    return negErrno('EOPNOTSUPP');
  }

  forEachElem(_callback: ForEachCallback, _flags = 0, _cpu = 0): number {
    return negErrno('EOPNOTSUPP');
  }

  /** BPF_MAP_FREEZE: from now on the syscall side cannot write the map (libbpf freezes `.rodata` before loading programs). */
  freeze(): void {
    if (this.closed) throw new MapError('EBADF', this.opName('freeze'), 'map is closed');
    if (this.frozen) throw new MapError('EBUSY', this.opName('freeze'), 'map is already frozen');
    this.frozen = true;
  }

  close(): void {
    this.closed = true;
    releaseHandle(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
