/**
 * Maps whose values are references, stored as the kernel stores fds: perf event arrays (with a
 * per-CPU sample buffer as consumer), program arrays (tail calls), and arrays and hashes of maps.
 */

import { BPF_ANY, MapType, type MapSpec, type ProgramSpec } from '../spec.js';
import { arrayIndex, arrayKey, arrayNextKey, checkArraySpec } from './array.js';
import { MapError, negErrno } from './errno.js';
import { MapFlags, VmMapBase, createError, roundUp8, type ResolvedOptions, type VmMap } from './common.js';
import { handleOf, objectOfHandle } from './handles.js';
import { HashMap, checkHashSpec } from './hash.js';

/** `BPF_F_CURRENT_CPU` / `BPF_F_INDEX_MASK` of `bpf_perf_event_output` flags. */
export const BPF_F_CURRENT_CPU = 0xffffffffn;
export const BPF_F_INDEX_MASK = 0xffffffffn;
/** `BPF_F_CTXLEN_MASK`: bytes of the context to append (the helper's caller handles those). */
export const BPF_F_CTXLEN_MASK = 0xfffffn << 32n;

/** `fd_array_map_alloc_check`: values are 4-byte fds; then the array checks. */
function checkFdArraySpec(spec: MapSpec): void {
  if (spec.valueSize !== 4) throw createError('EINVAL', spec, 'values of this map are 4-byte fds');
  if ((spec.flags ?? 0) & (MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_WRONLY_PROG)) throw createError('EINVAL', spec, 'program read/write-only flags are not for fd maps');
  checkArraySpec(spec);
}

function u32(v: number): Uint8Array {
  return arrayKey(v);
}

/** An array of references; subclasses say what a stored fd must be and what lookup returns. */
abstract class FdArrayMap<T extends object> extends VmMapBase {
  protected readonly slots: (T | undefined)[];
  /** False where the kernel has no `map_fd_sys_lookup_elem` and LOOKUP says ENOTSUPP. */
  protected readonly sysLookup: boolean = true;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    checkFdArraySpec(spec);
    super(spec, opts);
    this.slots = new Array<T | undefined>(spec.maxEntries).fill(undefined);
  }

  /** What the fd must refer to, or the errno the kernel gives (EBADF for no such object, EINVAL for a wrong kind). */
  protected abstract resolve(obj: object | undefined): T | MapError;
  /** The id LOOKUP returns. */
  protected abstract idOf(entry: T): number;

  /** Puts `entry` at `index` as UPDATE with its fd would (`bpf_fd_array_map_update_elem`). */
  protected put(index: number, entry: T | MapError, flags: number, op: string): void {
    if (flags !== BPF_ANY) throw new MapError('EINVAL', this.opName(op), 'fd maps take BPF_ANY only');
    if (index >= this.spec.maxEntries) throw new MapError('E2BIG', this.opName(op));
    if (entry instanceof MapError) throw entry;
    this.slots[index] = entry;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    if (!this.sysLookup) throw new MapError('ENOTSUPP', this.opName('lookup'));
    const entry = this.slots[arrayIndex(key)];
    return entry && u32(this.idOf(entry));
  }

  /** UPDATE with a 4-byte fd (in the VM: a handle from {@link handleOf}). */
  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    this.put(arrayIndex(key), this.resolve(objectOfHandle(arrayIndex(value))), flags, 'update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    this.fail(this.deleteElem(key), 'delete');
  }

  override deleteElem(key: Uint8Array): number {
    const index = arrayIndex(key);
    if (index >= this.spec.maxEntries) return negErrno('E2BIG');
    if (!this.slots[index]) return negErrno('ENOENT');
    this.slots[index] = undefined;
    return 0;
  }

  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    return arrayNextKey(key, this.spec.maxEntries);
  }
}

/** One sample or loss notice a perf buffer holds. */
export interface PerfSample {
  cpu: number;
  /** The raw sample as the kernel delivers it: the data, zero-padded so that `4 + length` is a multiple of 8. */
  data: Uint8Array;
}

/**
 * A perf event's ring (a `perf_event_open` of PERF_COUNT_SW_BPF_OUTPUT on one CPU, mmapped), with
 * the kernel's space accounting: each sample takes an 8-byte header, a u32 size and the padded data.
 */
export class PerfEventBuffer {
  readonly cpu: number;
  /** Ring bytes (the kernel's data pages). */
  readonly capacity: number;
  private used = 0;
  private samples: PerfSample[] = [];
  /** Samples that did not fit since the last read (PERF_RECORD_LOST). */
  lost = 0;

  constructor(cpu: number, capacity = 8 * 4096) {
    this.cpu = cpu;
    this.capacity = capacity;
  }

  /** Appends a sample; -ENOSPC (and a lost count) when it does not fit. */
  write(data: Uint8Array): number {
    const raw = roundUp8(data.length + 4) - 4;
    const need = 8 + 4 + raw;
    if (this.used + need > this.capacity) {
      this.lost++;
      return negErrno('ENOSPC');
    }
    const padded = new Uint8Array(raw);
    padded.set(data);
    this.samples.push({ cpu: this.cpu, data: padded });
    this.used += need;
    return 0;
  }

  /** Takes every sample written so far and the lost count, freeing the ring. */
  read(): { samples: PerfSample[]; lost: number } {
    const out = { samples: this.samples, lost: this.lost };
    this.samples = [];
    this.used = 0;
    this.lost = 0;
    return out;
  }
}

/** BPF_MAP_TYPE_PERF_EVENT_ARRAY: slot i holds the perf event of CPU i; programs write samples with `output`. */
export class PerfEventArrayMap extends FdArrayMap<PerfEventBuffer> {
  protected resolve(obj: object | undefined): PerfEventBuffer | MapError {
    if (!obj) return new MapError('EBADF', this.opName('update'), 'no such perf event');
    if (!(obj instanceof PerfEventBuffer)) return new MapError('EINVAL', this.opName('update'), 'not a perf event');
    return obj;
  }

  protected override readonly sysLookup = false;

  protected idOf(): number {
    return 0;
  }

  /** Opens a perf buffer for CPU `cpu` and stores it at `index` (what `perf_buffer__new` does per CPU). */
  open(index: number, cpu = index, capacity?: number): PerfEventBuffer {
    this.checkKey(undefined, 'update');
    const buf = new PerfEventBuffer(cpu, capacity);
    this.put(index, buf, BPF_ANY, 'update');
    return buf;
  }

  /** The buffer at `index`, if one is attached. */
  buffer(index: number): PerfEventBuffer | undefined {
    return this.slots[index];
  }

  /** `bpf_perf_event_output` from a program running on `cpu`: 0 or -EINVAL/-E2BIG/-ENOENT/-EOPNOTSUPP/-ENOSPC. */
  output(data: Uint8Array, flags: bigint | number, cpu = 0): number {
    const f = BigInt.asUintN(64, BigInt(flags));
    if (f & ~(BPF_F_INDEX_MASK | BPF_F_CTXLEN_MASK)) return negErrno('EINVAL');
    let index = f & BPF_F_INDEX_MASK;
    if (index === BPF_F_CURRENT_CPU) index = BigInt(cpu);
    if (index >= BigInt(this.spec.maxEntries)) return negErrno('E2BIG');
    const buf = this.slots[Number(index)];
    if (!buf) return negErrno('ENOENT');
    if (buf.cpu !== cpu) return negErrno('EOPNOTSUPP');
    return buf.write(data);
  }
}

/** What a program array holds: any loaded program (the VM's or a test's stand-in). */
export interface TailCallTarget {
  readonly spec: ProgramSpec;
}

/** BPF_MAP_TYPE_PROG_ARRAY: programs for `bpf_tail_call`, all of one program type (the first stored sets it). */
export class ProgArrayMap extends FdArrayMap<TailCallTarget> {
  private ownerType: number | undefined;

  protected resolve(obj: object | undefined): TailCallTarget | MapError {
    if (!obj) return new MapError('EBADF', this.opName('update'), 'no such program');
    const spec = (obj as Partial<TailCallTarget>).spec;
    if (!spec || !Array.isArray(spec.insns)) return new MapError('EINVAL', this.opName('update'), 'not a program');
    if (this.ownerType !== undefined && spec.type !== this.ownerType) return new MapError('EINVAL', this.opName('update'), 'program type differs from the array\'s');
    return obj as TailCallTarget;
  }

  protected idOf(entry: TailCallTarget): number {
    return handleOf(entry);
  }

  protected override put(index: number, entry: TailCallTarget | MapError, flags: number, op: string): void {
    super.put(index, entry, flags, op);
    if (!(entry instanceof MapError)) this.ownerType ??= entry.spec.type;
  }

  /** Stores `program` at `index` (UPDATE with its fd). */
  setProgram(index: number, program: TailCallTarget): void {
    this.checkKey(undefined, 'update');
    this.put(index, this.resolve(program), BPF_ANY, 'update');
  }

  /** The tail-call target at `index`, undefined when out of range or empty (the tail call falls through). */
  program(index: number): TailCallTarget | undefined {
    return index >= 0 && index < this.spec.maxEntries ? this.slots[index] : undefined;
  }
}

/** `bpf_map_meta_equal` (+ `array_map_meta_equal`): may `inner` go into a map whose inner spec is `meta`? */
export function innerMapCompatible(meta: MapSpec, inner: MapSpec): boolean {
  const arrayLike = meta.type === MapType.BPF_MAP_TYPE_ARRAY || meta.type === MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
  return meta.type === inner.type && meta.keySize === inner.keySize && meta.valueSize === inner.valueSize &&
    (meta.flags ?? 0) === (inner.flags ?? 0) &&
    (!arrayLike || ((meta.flags ?? 0) & MapFlags.BPF_F_INNER_MAP) !== 0 || meta.maxEntries === inner.maxEntries);
}

const MAP_IN_MAP = new Set<number>([MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]);

/** `bpf_map_meta_alloc`'s checks on the inner map spec: there must be one, and not itself a map of maps. */
function checkInnerSpec(spec: MapSpec): MapSpec {
  if (!spec.innerMap) throw createError('EBADF', spec, 'a map of maps needs an inner map spec');
  if (MAP_IN_MAP.has(spec.innerMap.type)) throw createError('EINVAL', spec, 'maps of maps nest one level only');
  // A program array has no map_meta_equal (its owner program type could not be checked through the outer map).
  if (spec.innerMap.type === MapType.BPF_MAP_TYPE_PROG_ARRAY) throw createError('ENOTSUPP', spec, 'a program array cannot be an inner map');
  return spec.innerMap;
}

function resolveInner(map: VmMapBase, meta: MapSpec, obj: object | undefined, op: string): VmMap | MapError {
  if (!obj) return new MapError('EBADF', `${op} map "${map.spec.name}"`, 'no such map');
  if (!(obj instanceof VmMapBase)) return new MapError('EINVAL', `${op} map "${map.spec.name}"`, 'not a map');
  if (!innerMapCompatible(meta, obj.spec)) return new MapError('EINVAL', `${op} map "${map.spec.name}"`, 'inner map does not match the inner map spec');
  return obj;
}

/** BPF_MAP_TYPE_ARRAY_OF_MAPS: LOOKUP gives the inner map's id; programs get the map itself. */
export class ArrayOfMapsMap extends FdArrayMap<VmMap> {
  readonly innerSpec: MapSpec;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    // The kernel runs the array's map_alloc_check before it opens the inner map fd.
    checkFdArraySpec(spec);
    const inner = checkInnerSpec(spec);
    super(spec, opts);
    this.innerSpec = inner;
  }

  protected resolve(obj: object | undefined): VmMap | MapError {
    return resolveInner(this, this.innerSpec, obj, 'update');
  }

  protected idOf(entry: VmMap): number {
    return handleOf(entry);
  }

  /** Stores `inner` at `index`. */
  setInner(index: number, inner: VmMap): void {
    this.checkKey(undefined, 'update');
    this.put(index, this.resolve(inner), BPF_ANY, 'update');
  }

  /** `bpf_map_lookup_elem` from a program: the inner map, or undefined. */
  lookupInner(key: Uint8Array): VmMap | undefined {
    const i = arrayIndex(key);
    return i < this.spec.maxEntries ? this.slots[i] : undefined;
  }
}

/** BPF_MAP_TYPE_HASH_OF_MAPS: a hash whose 4-byte values are inner map handles (ids on LOOKUP). */
export class HashOfMapsMap extends HashMap {
  readonly innerSpec: MapSpec;
  /** Replacing an inner map keeps the element where it is (`bpf_fd_htab_map_update_elem`, checked on Linux 6.18). */
  protected override readonly updatesInPlace = true;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    if (spec.valueSize !== 4) throw createError('EINVAL', spec, 'values of this map are 4-byte fds');
    checkHashSpec(spec);
    const inner = checkInnerSpec(spec);
    super(spec, opts);
    this.innerSpec = inner;
  }

  /** UPDATE with a 4-byte inner map fd (a VM handle). */
  override set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    const inner = resolveInner(this, this.innerSpec, objectOfHandle(arrayIndex(value)), 'update');
    if (inner instanceof MapError) throw inner;
    super.set(key, value, flags);
  }

  /** Stores `inner` under `key`. */
  setInner(key: Uint8Array, inner: VmMap, flags = 0): void {
    this.set(key, u32(handleOf(inner)), flags);
  }

  /** `bpf_map_lookup_elem` from a program: the inner map, or undefined. */
  lookupInner(key: Uint8Array): VmMap | undefined {
    const v = super.lookupElem(key);
    const obj = v && objectOfHandle(arrayIndex(v));
    return obj instanceof VmMapBase ? obj : undefined;
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM is for plain hashes only: ENOTSUPP. */
  override lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup and delete');
    throw new MapError('ENOTSUPP', this.opName('lookup and delete'));
  }

  /** Programs cannot look a hash of maps' values up as bytes; use {@link lookupInner}. */
  override lookupElem(): Uint8Array | undefined {
    return undefined;
  }

  override updateElem(): number {
    return negErrno('EOPNOTSUPP');
  }
}
