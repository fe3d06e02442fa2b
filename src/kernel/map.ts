/** `KernelMap`: a map living in the kernel behind an fd, with the same interface as the VM's maps. */

import { MapErrno, MapError, MapType, type MapErrnoName } from '../ebpf/index.js';
import type { BpfMap, MapSpec } from '../ebpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import {
  BPF_ATTR_SIZE, BPF_MAP_INFO_SIZE, BpfCmd, batchCount, decodeMapInfo, mapBatchAttr, mapFreezeAttr, mapCreateAttr, mapElemAttr, objAttr, objGetInfoAttr,
} from './attr.js';
import type { MapInfo } from './attr.js';
import { SyscallError, isErrno } from './sys.js';
import type { Sys } from './sys.js';

const PERCPU_TYPES = new Set<number>([
  MapType.BPF_MAP_TYPE_PERCPU_HASH, MapType.BPF_MAP_TYPE_PERCPU_ARRAY, MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);

// Map kinds without keys to iterate or look up (they are read another way: ring buffer, perf buffer).
const KEYLESS_TYPES = new Set<number>([MapType.BPF_MAP_TYPE_RINGBUF, MapType.BPF_MAP_TYPE_USER_RINGBUF]);

/** Options for opening maps. */
export interface KernelMapOptions {
  /** Number of possible CPUs, for per-CPU value sizes (the Kernel fills it in). */
  possibleCpus?: number;
}

/**
 * A failed map syscall as the VM reports it: a {@link MapError} with the kernel's errno
 * (`update map "counts": element exists (EEXIST)`), so both backends' errors compare equal;
 * an errno maps never give stays a SyscallError with the context added.
 */
function wrap(e: unknown, context: string): unknown {
  if (e instanceof SyscallError && e.errnoName in MapErrno) {
    const m = new MapError(e.errnoName as MapErrnoName, context);
    m.cause = e;
    return m;
  }
  return e instanceof BpfkitError ? e.withContext(context) : e;
}

function newBytes(n: number): Uint8Array {
  // An explicit ArrayBuffer keeps the bytes off the JS heap, so their address is stable while the kernel writes.
  return new Uint8Array(new ArrayBuffer(n));
}

/**
 * A kernel map. Keys and values are raw bytes. For per-CPU maps a value is the
 * concatenation of one 8-byte-aligned slot per possible CPU.
 */
export class KernelMap implements BpfMap {
  readonly spec: MapSpec;
  /** Bytes of one value as lookups return it (per-CPU maps: one aligned slot per CPU). */
  readonly valueBytes: number;
  private readonly sys: Sys;
  private fdValue: number;
  /** A reused attr for the element commands (only this map's thread of JS touches it), to spare an allocation per call. */
  private readonly elemAttr = new Uint8Array(new ArrayBuffer(BPF_ATTR_SIZE));
  private readonly elemView = new DataView(this.elemAttr.buffer);
  /** Reused key/value buffers with their addresses taken once: a lookup then costs one FFI call. */
  private scratch: { key: Uint8Array; keyPtr: bigint; value: Uint8Array; valuePtr: bigint } | undefined;

  constructor(sys: Sys, fd: number, spec: MapSpec, options: KernelMapOptions = {}) {
    this.sys = sys;
    this.fdValue = fd;
    this.spec = spec;
    this.valueBytes = PERCPU_TYPES.has(spec.type) ? Math.ceil(spec.valueSize / 8) * 8 * (options.possibleCpus ?? 1) : spec.valueSize;
  }

  /** Creates a map from its spec (`innerMapFd` for map-in-map outer maps). */
  static create(sys: Sys, spec: MapSpec, options: KernelMapOptions & { innerMapFd?: number; btfFd?: number } = {}): KernelMap {
    let innerMapFd = options.innerMapFd;
    let inner: KernelMap | undefined;
    try {
      if (spec.innerMap && innerMapFd === undefined) {
        // The kernel only needs a template of the inner map while creating the outer one.
        inner = KernelMap.create(sys, spec.innerMap, { ...options, btfFd: undefined });
        innerMapFd = inner.fd;
      }
      const fd = sys.bpf(BpfCmd.BPF_MAP_CREATE, mapCreateAttr({
        mapType: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries,
        mapFlags: spec.flags ?? 0, innerMapFd, name: spec.name,
        mapExtra: spec.mapExtra === undefined ? undefined : BigInt(spec.mapExtra),
        ...(options.btfFd !== undefined && spec.btfValueTypeId ? { btfFd: options.btfFd, btfKeyTypeId: spec.btfKeyTypeId ?? 0, btfValueTypeId: spec.btfValueTypeId } : {}),
      }));
      return new KernelMap(sys, fd, spec, options);
    } catch (e) {
      throw wrap(e, `create map "${spec.name}"`);
    } finally {
      inner?.close();
    }
  }

  /** Opens a map pinned on bpffs; its spec comes from the kernel (OBJ_GET_INFO_BY_FD). */
  static fromPin(sys: Sys, path: string, options: KernelMapOptions = {}): KernelMap {
    let fd: number;
    try {
      fd = sys.bpf(BpfCmd.BPF_OBJ_GET, objAttr(sys.addressOf(cString(path)), 0));
    } catch (e) {
      throw wrap(e, `open pinned map ${path}`);
    }
    const info = mapInfoOf(sys, fd);
    const spec: MapSpec = { name: info.name, type: info.type as MapType, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags };
    return new KernelMap(sys, fd, spec, options);
  }

  /** The fd; throws after `close()`. */
  get fd(): number {
    if (this.fdValue < 0) throw new UsageError('E_CLOSED', `map "${this.spec.name}" is closed`);
    return this.fdValue;
  }

  private checkKey(key: Uint8Array, what = 'key'): void {
    if (KEYLESS_TYPES.has(this.spec.type)) {
      throw new UsageError('E_USAGE', `map "${this.spec.name}" has no keys (read it as a ring buffer)`);
    }
    if (key.length !== this.spec.keySize) {
      throw new UsageError('E_MAP_KEY_SIZE', `map "${this.spec.name}": ${what} is ${key.length} bytes, the map's keys are ${this.spec.keySize}`);
    }
  }

  private addr(bytes: Uint8Array): bigint {
    return this.sys.addressOf(bytes);
  }

  /** The element-command attr (map_fd, key, value/next_key, flags), written into the reused buffer. */
  private elem(key: bigint, value: bigint, flags = 0): Uint8Array {
    const v = this.elemView;
    v.setUint32(0, this.fd, true);
    // Keyless maps (queue, stack, bloom filter) need a NULL key: the kernel refuses any pointer there.
    v.setBigUint64(8, this.spec.keySize === 0 ? 0n : key, true);
    v.setBigUint64(16, value, true);
    v.setBigUint64(24, BigInt(flags), true);
    return this.elemAttr;
  }

  private scratchBuffers(): NonNullable<KernelMap['scratch']> {
    if (!this.scratch) {
      const key = newBytes(Math.max(1, this.spec.keySize));
      const value = newBytes(Math.max(1, this.valueBytes));
      this.scratch = { key, keyPtr: this.addr(key), value, valuePtr: this.addr(value) };
    }
    return this.scratch;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const s = this.scratchBuffers();
    s.key.set(key);
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_LOOKUP_ELEM, this.elem(s.keyPtr, s.valuePtr));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw wrap(e, `lookup in map "${this.spec.name}"`);
    }
    return s.value.slice(0, this.valueBytes);
  }

  /** Writes a value; `flags` is BPF_ANY (0), BPF_NOEXIST (1), BPF_EXIST (2), optionally | BPF_F_LOCK. */
  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey(key);
    if (value.length !== this.valueBytes) {
      throw new UsageError('E_MAP_VALUE_SIZE', `map "${this.spec.name}": value is ${value.length} bytes, the map's values are ${this.valueBytes}`);
    }
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_UPDATE_ELEM, this.elem(this.addr(key), this.addr(value), flags));
    } catch (e) {
      throw wrap(e, `update map "${this.spec.name}"`);
    }
  }

  /** Deletes a key; a missing key throws a SyscallError with errno ENOENT (arrays: EINVAL). */
  delete(key: Uint8Array): void {
    this.checkKey(key);
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_DELETE_ELEM, this.elem(this.addr(key), 0n));
    } catch (e) {
      throw wrap(e, `delete from map "${this.spec.name}"`);
    }
  }

  /** Looks a key up and deletes it in one step; queues and stacks take no key (pass undefined). */
  lookupAndDelete(key?: Uint8Array): Uint8Array | undefined {
    if (key && key.length > 0) this.checkKey(key);
    else key = undefined;
    const value = newBytes(this.valueBytes);
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, mapElemAttr(this.fd, key ? this.addr(key) : 0n, this.addr(value)));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw wrap(e, `lookup and delete in map "${this.spec.name}"`);
    }
    return value;
  }

  /** Queue/stack maps: pushes a value (BPF_EXIST overwrites the oldest when full). */
  push(value: Uint8Array, flags = 0): void {
    this.set(new Uint8Array(0), value, flags);
  }

  /** Queue/stack maps: removes and returns the next value, undefined when empty. */
  pop(): Uint8Array | undefined {
    return this.lookupAndDelete();
  }

  /** Queue/stack maps: the next value without removing it. */
  peek(): Uint8Array | undefined {
    return this.get(new Uint8Array(0));
  }

  /**
   * Bloom filters: true when `value` may be in the set (LOOKUP with the value as input), false
   * when it surely is not (ENOENT).
   */
  has(value: Uint8Array): boolean {
    if (value.length !== this.valueBytes) {
      throw new UsageError('E_MAP_VALUE_SIZE', `map "${this.spec.name}": value is ${value.length} bytes, the map's values are ${this.valueBytes}`);
    }
    const v = newBytes(Math.max(1, value.length));
    v.set(value);
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_LOOKUP_ELEM, this.elem(0n, this.addr(v)));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw wrap(e, `lookup in map "${this.spec.name}"`);
    }
    return true;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    if (key) this.checkKey(key);
    const next = newBytes(this.spec.keySize);
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_GET_NEXT_KEY, this.elem(key ? this.addr(key) : 0n, this.addr(next)));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw wrap(e, `next key in map "${this.spec.name}"`);
    }
    return next;
  }

  /** Keys in the kernel's order. Deleting the current key while iterating a hash may restart the walk (as in the kernel). */
  async *keys(): AsyncIterableIterator<Uint8Array> {
    yield* this.keysSync();
  }

  /** The synchronous walk behind `keys()`. Bounded by maxEntries + 1 steps, so a map that keeps changing cannot loop forever. */
  *keysSync(): IterableIterator<Uint8Array> {
    let key: Uint8Array | undefined;
    for (let n = 0; n <= this.spec.maxEntries; n++) {
      key = this.nextKey(key);
      if (!key) return;
      yield key;
    }
  }

  async *entries(): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    for (const key of this.keysSync()) {
      const v = this.get(key);
      // A key deleted between GET_NEXT_KEY and LOOKUP is skipped.
      if (v) yield [key, v];
    }
  }

  /**
   * All entries through BPF_MAP_LOOKUP_BATCH (one syscall per `chunk` entries). Throws a
   * SyscallError (EINVAL/ENOTSUPP) on map types without batch support; use `entries()` there.
   */
  lookupBatch(chunk = 256): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    const ks = this.spec.keySize;
    const vs = this.valueBytes;
    // The batch token is opaque; a hash map needs at least key-size bytes, an array 4.
    const tokenSize = Math.max(ks, 8);
    const inTok = newBytes(tokenSize);
    const outTok = newBytes(tokenSize);
    let first = true;
    for (;;) {
      const keys = newBytes(ks * chunk);
      const values = newBytes(vs * chunk);
      const attr = mapBatchAttr({
        mapFd: this.fd, inBatch: first ? 0n : this.addr(inTok), outBatch: this.addr(outTok),
        keys: this.addr(keys), values: this.addr(values), count: chunk,
      });
      let done = false;
      try {
        this.sys.bpf(BpfCmd.BPF_MAP_LOOKUP_BATCH, attr);
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw wrap(e, `batch lookup in map "${this.spec.name}"`);
        done = true; // ENOENT: this chunk holds the last entries
      }
      const n = batchCount(attr);
      for (let i = 0; i < n; i++) out.push([keys.slice(i * ks, (i + 1) * ks), values.slice(i * vs, (i + 1) * vs)]);
      if (done || n === 0) return out;
      inTok.set(outTok);
      first = false;
    }
  }

  /** Writes many entries with one BPF_MAP_UPDATE_BATCH; returns how many were written. */
  updateBatch(entries: readonly (readonly [Uint8Array, Uint8Array])[], elemFlags = 0): number {
    if (entries.length === 0) return 0;
    const ks = this.spec.keySize;
    const vs = this.valueBytes;
    const keys = newBytes(ks * entries.length);
    const values = newBytes(vs * entries.length);
    entries.forEach(([k, v], i) => {
      this.checkKey(k);
      if (v.length !== vs) throw new UsageError('E_MAP_VALUE_SIZE', `map "${this.spec.name}": value ${i} is ${v.length} bytes, the map's values are ${vs}`);
      keys.set(k, i * ks);
      values.set(v, i * vs);
    });
    const attr = mapBatchAttr({ mapFd: this.fd, inBatch: 0n, outBatch: 0n, keys: this.addr(keys), values: this.addr(values), count: entries.length, elemFlags });
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_UPDATE_BATCH, attr);
    } catch (e) {
      throw wrap(e, `batch update map "${this.spec.name}" (${batchCount(attr)} of ${entries.length} written)`);
    }
    return batchCount(attr);
  }

  /** Deletes many keys with one BPF_MAP_DELETE_BATCH; returns how many were deleted. */
  deleteBatch(keysToDelete: readonly Uint8Array[]): number {
    if (keysToDelete.length === 0) return 0;
    const ks = this.spec.keySize;
    const keys = newBytes(ks * keysToDelete.length);
    keysToDelete.forEach((k, i) => {
      this.checkKey(k);
      keys.set(k, i * ks);
    });
    const attr = mapBatchAttr({ mapFd: this.fd, inBatch: 0n, outBatch: 0n, keys: this.addr(keys), values: 0n, count: keysToDelete.length });
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_DELETE_BATCH, attr);
    } catch (e) {
      throw wrap(e, `batch delete from map "${this.spec.name}" (${batchCount(attr)} of ${keysToDelete.length} deleted)`);
    }
    return batchCount(attr);
  }

  /** What the kernel says about this map. */
  info(): MapInfo {
    return mapInfoOf(this.sys, this.fd);
  }

  /** BPF_MAP_FREEZE: the syscall side can no longer write the map (libbpf freezes `.rodata` so the verifier may trust its values). */
  freeze(): void {
    try {
      this.sys.bpf(BpfCmd.BPF_MAP_FREEZE, mapFreezeAttr(this.fd));
    } catch (e) {
      throw wrap(e, `freeze map "${this.spec.name}"`);
    }
  }

  /** Pins the map at a bpffs path (the directory must be on a mounted bpffs). */
  pin(path: string): void {
    try {
      this.sys.bpf(BpfCmd.BPF_OBJ_PIN, objAttr(this.sys.addressOf(cString(path)), this.fd));
    } catch (e) {
      throw wrap(e, `pin map "${this.spec.name}" at ${path}`);
    }
  }

  close(): void {
    if (this.fdValue < 0) return;
    const fd = this.fdValue;
    this.fdValue = -1;
    this.sys.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A NUL-terminated UTF-8 string in its own buffer. */
export function cString(text: string): Uint8Array {
  const enc = new TextEncoder().encode(text);
  const out = newBytes(enc.length + 1);
  out.set(enc);
  return out;
}

function mapInfoOf(sys: Sys, fd: number): MapInfo {
  const info = newBytes(BPF_MAP_INFO_SIZE);
  try {
    sys.bpf(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, objGetInfoAttr(fd, sys.addressOf(info), info.length));
  } catch (e) {
    throw wrap(e, 'get map info');
  }
  return decodeMapInfo(info);
}
