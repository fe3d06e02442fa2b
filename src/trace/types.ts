/** The trace language's value types, their byte layout in maps and events, and decoded values (shared by the compiler and the output formatters). */

import { strerror } from './format/errno.js';
import { strsignal } from './format/signal.js';

/** How `kstack`/`ustack` print: bpftrace's `bpftrace` (default), `perf` and `raw` modes. */
export type StackMode = 'bpftrace' | 'perf' | 'raw';

/** How bpftrace prints a timestamp taken with `nsecs(...)`/`strftime`. */
export type TimestampMode = 'boot' | 'monotonic' | 'tai' | 'sw_tai';

/** One field of a record (a C struct from BTF, or a named tuple `(a=1, b=2)`). */
export interface Field {
  name: string;
  type: TraceType;
  /** Byte offset inside the record. */
  offset: number;
  /** For C bitfields: bit offset inside the field's storage unit and width in bits. */
  bitfield?: { bitOffset: number; bits: number };
}

/** Aggregation kinds: the value of a map assigned from `count()`, `hist(x)`... */
export type AggKind = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'stats' | 'hist' | 'lhist' | 'tseries';

/**
 * A value type of the language. `size` in bytes is {@link sizeOf}; ints are little-endian; a
 * string is a NUL-padded `char[size]`; a tuple/record is its fields at their offsets (8-byte
 * aligned members where bpftrace aligns them); a bool is one byte.
 */
export type TraceType =
  | { kind: 'none' }
  | { kind: 'int'; bits: 8 | 16 | 32 | 64; signed: boolean; /** An enum name, printed as the enumerator when known. */ enumName?: string }
  | { kind: 'bool' }
  | { kind: 'string'; size: number }
  | { kind: 'buffer'; size: number }
  | { kind: 'pointer'; to: TraceType; /** 'user' for user-space pointers (uprobe args). */ space?: 'kernel' | 'user' }
  | { kind: 'record'; name: string; fields: Field[]; size: number }
  | { kind: 'tuple'; elems: TraceType[]; offsets: number[]; size: number }
  | { kind: 'array'; elem: TraceType; count: number }
  | { kind: 'ksym' }
  | { kind: 'usym' }
  | { kind: 'inet' }
  | { kind: 'macaddr' }
  | { kind: 'timestamp'; mode: TimestampMode; /** strftime format. */ format?: string }
  | { kind: 'kstack'; frames: number; mode?: StackMode }
  | { kind: 'ustack'; frames: number; mode?: StackMode }
  | { kind: 'cgroup_path' }
  | { kind: 'strerror' }
  | { kind: 'signal_name' }
  | { kind: 'agg'; agg: AggKind; /** Signed sum/min/max/avg (the aggregated value's sign). */ signed: boolean; /** lhist bounds. */ lhist?: { min: bigint; max: bigint; step: bigint }; /** hist bits per power of two (bpftrace's `hist(x, k)`). */ histBits?: number; /** tseries interval and length. */ tseries?: TSeriesArgs };

/** How values in one `tseries` interval combine: the last one (`none`), or their average, maximum, minimum or sum. */
export type TSeriesAgg = 'none' | 'avg' | 'max' | 'min' | 'sum';

/** `tseries(value, interval_ns, num_intervals[, agg])`'s constant arguments. */
export interface TSeriesArgs {
  intervalNs: bigint;
  numIntervals: number;
  agg: TSeriesAgg;
}

/** Constructors for common types. */
export const T = {
  none: { kind: 'none' } as TraceType,
  u8: { kind: 'int', bits: 8, signed: false } as TraceType,
  u16: { kind: 'int', bits: 16, signed: false } as TraceType,
  u32: { kind: 'int', bits: 32, signed: false } as TraceType,
  u64: { kind: 'int', bits: 64, signed: false } as TraceType,
  s8: { kind: 'int', bits: 8, signed: true } as TraceType,
  s16: { kind: 'int', bits: 16, signed: true } as TraceType,
  s32: { kind: 'int', bits: 32, signed: true } as TraceType,
  s64: { kind: 'int', bits: 64, signed: true } as TraceType,
  bool: { kind: 'bool' } as TraceType,
  string(size: number): TraceType { return { kind: 'string', size }; },
};

/** bpftrace's default maximum string size (`BPFTRACE_MAX_STRLEN`). */
export const DEFAULT_STRLEN = 1024;

/** Bytes a value of this type takes in a map key/value or an event. */
export function sizeOf(t: TraceType): number {
  switch (t.kind) {
    case 'none': return 0;
    case 'int': return t.bits / 8;
    case 'bool': return 1;
    case 'string': case 'buffer': return t.size;
    case 'pointer': case 'ksym': case 'usym': case 'timestamp': case 'cgroup_path': case 'strerror': case 'signal_name': return 8;
    case 'record': case 'tuple': return t.size;
    case 'array': return sizeOf(t.elem) * t.count;
    case 'inet': return 24; // family (u64), then 16 address bytes (4 used for AF_INET)
    case 'macaddr': return 6;
    case 'kstack': case 'ustack': return 8; // stack id (u32) + pid (u32) for ustack
    case 'agg': return aggValueSize(t.agg);
  }
}

/** Alignment used when laying a type out in a tuple (bpftrace aligns ints to their size, aggregates to 8). */
export function alignOf(t: TraceType): number {
  switch (t.kind) {
    case 'int': return t.bits / 8;
    case 'bool': case 'string': case 'buffer': case 'macaddr': return 1;
    case 'tuple': return t.elems.reduce((a, e) => Math.max(a, alignOf(e)), 1);
    case 'record': return t.fields.reduce((a, f) => Math.max(a, alignOf(f.type)), 1);
    case 'array': return alignOf(t.elem);
    default: return 8;
  }
}

/** A tuple type with its elements laid out at aligned offsets. */
export function tupleType(elems: TraceType[]): TraceType {
  const offsets: number[] = [];
  let off = 0;
  let align = 1;
  for (const e of elems) {
    const a = alignOf(e);
    align = Math.max(align, a);
    off = Math.ceil(off / a) * a;
    offsets.push(off);
    off += sizeOf(e);
  }
  return { kind: 'tuple', elems, offsets, size: Math.ceil(off / align) * align };
}

/**
 * Bytes of one CPU's aggregation value in a map: count/sum are one u64; min/max a u64 value
 * followed by a u64 "set" flag; avg/stats a u64 sum then a u64 count; hist/lhist one u64 per
 * bucket are stored in separate map entries whose key ends in a u64 bucket index, so their
 * value is one u64 count.
 */
export function aggValueSize(agg: AggKind): number {
  switch (agg) {
    case 'min': case 'max': case 'avg': case 'stats': return 16;
    // value, meta (the last write's time, or avg's count, or min/max's "set"), interval number
    case 'tseries': return 24;
    default: return 8;
  }
}

/** A decoded value, as formatters take it. */
export type Value =
  | { kind: 'none' }
  | { kind: 'int'; value: bigint; type: TraceType }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'buffer'; bytes: Uint8Array }
  | { kind: 'tuple'; elems: Value[] }
  | { kind: 'record'; name: string; fields: { name: string; value: Value }[] }
  | { kind: 'array'; elems: Value[] }
  | { kind: 'ksym'; addr: bigint }
  | { kind: 'usym'; addr: bigint; pid: number }
  | { kind: 'inet'; bytes: Uint8Array }
  | { kind: 'macaddr'; bytes: Uint8Array }
  /** `strftime(format, ns)`: `format` is the strftime text the formatter applies (absent: the time as nanoseconds). */
  | { kind: 'timestamp'; ns: bigint; mode: TimestampMode; format?: string }
  /** kstack/ustack: `pid` for ustack symbols, `mode` as in `kstack(perf)` (default bpftrace). */
  | { kind: 'stack'; user: boolean; frames: bigint[]; pid?: number; mode?: StackMode; /** The stack map's id, before the runtime fills `frames`. */ id?: number }
  /** Text the runtime resolved in user space (cgroup_path, strerror, username, path): printed as is. */
  | { kind: 'text'; value: string }
  | { kind: 'agg'; agg: AggValue };

/** An aggregation's value, summed/merged over CPUs. */
export type AggValue =
  | { agg: 'count' | 'sum'; value: bigint }
  | { agg: 'min' | 'max'; value: bigint; set: boolean }
  | { agg: 'avg' | 'stats'; sum: bigint; count: bigint }
  | { agg: 'hist'; buckets: Map<number, bigint>; bits: number }
  | { agg: 'lhist'; buckets: Map<number, bigint>; min: bigint; max: bigint; step: bigint }
  /** Values by interval number (boot-clock nanoseconds / interval_ns), reduced over CPUs as bpftrace does. */
  | { agg: 'tseries'; points: Map<bigint, bigint>; args: TSeriesArgs; signed: boolean };

/** Reads a little-endian integer of `bits` from `bytes` at `off`. */
export function readInt(bytes: Uint8Array, off: number, bits: number, signed: boolean): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bits) {
    case 8: return BigInt(signed ? dv.getInt8(off) : dv.getUint8(off));
    case 16: return BigInt(signed ? dv.getInt16(off, true) : dv.getUint16(off, true));
    case 32: return BigInt(signed ? dv.getInt32(off, true) : dv.getUint32(off, true));
    default: return signed ? dv.getBigInt64(off, true) : dv.getBigUint64(off, true);
  }
}

/** A NUL-terminated string from bytes (Latin-1 safe, UTF-8 decoded). */
export function readCString(bytes: Uint8Array, off: number, size: number): string {
  let end = off;
  const limit = Math.min(bytes.length, off + size);
  while (end < limit && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(off, end));
}

/** A C bitfield: `bits` bits from `bitOffset` in the storage unit at `off` (little-endian), sign-extended for a signed member. */
function bitfieldValue(t: Extract<TraceType, { kind: 'int' }>, bf: { bitOffset: number; bits: number }, bytes: Uint8Array, off: number): Value {
  const unit = readInt(bytes, off, t.bits, false);
  let v = (unit >> BigInt(bf.bitOffset)) & ((1n << BigInt(bf.bits)) - 1n);
  if (t.signed) v = BigInt.asIntN(bf.bits, v);
  return { kind: 'int', value: v, type: t };
}

/** Decodes a value of type `t` laid out at `off` in `bytes` (not for aggregations: those merge CPUs, see the runtime). */
export function decodeValue(t: TraceType, bytes: Uint8Array, off = 0): Value {
  switch (t.kind) {
    case 'none': return { kind: 'none' };
    case 'int': return { kind: 'int', value: readInt(bytes, off, t.bits, t.signed), type: t };
    case 'bool': return { kind: 'bool', value: bytes[off] !== 0 };
    case 'string': return { kind: 'string', value: readCString(bytes, off, t.size) };
    case 'buffer': {
      const len = bytes[off] ?? 0;
      return { kind: 'buffer', bytes: bytes.slice(off + 1, off + 1 + Math.min(len, t.size - 1)) };
    }
    case 'pointer': return { kind: 'int', value: readInt(bytes, off, 64, false), type: t };
    case 'record': return { kind: 'record', name: t.name, fields: t.fields.map((f) => ({ name: f.name, value: f.bitfield && f.type.kind === 'int' ? bitfieldValue(f.type, f.bitfield, bytes, off + f.offset) : decodeValue(f.type, bytes, off + f.offset) })) };
    case 'tuple': return { kind: 'tuple', elems: t.elems.map((e, i) => decodeValue(e, bytes, off + t.offsets[i])) };
    case 'array': {
      const n = sizeOf(t.elem);
      return { kind: 'array', elems: Array.from({ length: t.count }, (_, i) => decodeValue(t.elem, bytes, off + i * n)) };
    }
    case 'ksym': return { kind: 'ksym', addr: readInt(bytes, off, 64, false) };
    case 'usym': return { kind: 'usym', addr: readInt(bytes, off, 64, false), pid: 0 };
    case 'inet': return { kind: 'inet', bytes: bytes.slice(off, off + 24) };
    case 'macaddr': return { kind: 'macaddr', bytes: bytes.slice(off, off + 6) };
    case 'timestamp': return { kind: 'timestamp', ns: readInt(bytes, off, 64, false), mode: t.mode, ...(t.format !== undefined ? { format: t.format } : {}) };
    case 'kstack': case 'ustack': {
      // Low half: the stack map id (negative: none); high half: the pid for ustack.
      const id = Number(readInt(bytes, off, 32, true));
      const pid = Number(readInt(bytes, off + 4, 32, false));
      return { kind: 'stack', user: t.kind === 'ustack', frames: [], pid, ...(t.mode ? { mode: t.mode } : {}), ...(id >= 0 ? { id } : {}) };
    }
    case 'strerror': return { kind: 'text', value: strerror(Number(readInt(bytes, off, 64, true))) };
    case 'signal_name': return { kind: 'text', value: strsignal(Number(readInt(bytes, off, 32, true))) };
    case 'cgroup_path': return { kind: 'int', value: readInt(bytes, off, 64, false), type: T.u64 };
    case 'agg': return { kind: 'none' };
  }
}

/** bpftrace's spelling of a type in diagnostics (`uint64`, `string[16]`, `(int64,string[4])`). */
export function typeName(t: TraceType): string {
  switch (t.kind) {
    case 'none': return 'none';
    case 'int': return `${t.signed ? 'int' : 'uint'}${t.bits}`;
    case 'bool': return 'bool';
    case 'string': return `string[${t.size}]`;
    case 'buffer': return `buffer[${t.size}]`;
    case 'pointer': return `${typeName(t.to)} *`;
    case 'record': return t.name;
    case 'tuple': return `(${t.elems.map(typeName).join(',')})`;
    case 'array': return `${typeName(t.elem)}[${t.count}]`;
    case 'agg': return `${t.agg}_t`;
    default: return t.kind;
  }
}
