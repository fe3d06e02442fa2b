/** One value as bpftrace's text and JSON outputs show it (`print($x)`, map keys and values, printf `%s`), through bpftrace's output primitives. */

import type { FormatContext } from './context.js';
import { macaddr, ntop } from './net.js';
import { formatKsym, formatStack, formatUsym } from './symbols.js';
import { strftime } from './time.js';
import type { AggValue, TraceType, TraceValue } from './value.js';

/**
 * bpftrace's `output::Primitive`: what a value becomes once everything symbolic is resolved.
 * Text and JSON are both emitted from this, so `print`, map keys and printf `%s` agree.
 * `sym` is a value with a text and a number (pointers, enums, hist labels such as `1K`):
 * text shows the text, JSON the number.
 */
export type Primitive =
  | { t: 'none' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: bigint; signed: boolean }
  | { t: 'str'; v: string }
  | { t: 'array'; vs: Primitive[] }
  | { t: 'buffer'; bytes: Uint8Array }
  | { t: 'tuple'; vs: Primitive[] }
  | { t: 'record'; fields: [string, Primitive][] }
  | { t: 'sym'; symbol: string; numeric: bigint };

/** A JSON value as bpftrace's JSON output emits it: 64-bit ints stay exact as bigint, objects keep their key order as a Map. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | Map<string, JsonValue>;

/** An int primitive normalized to its width: signed ones sign-extended, unsigned ones masked. */
export function intPrimitive(value: bigint, signed: boolean, bits = 64): Primitive {
  return { t: 'int', v: signed ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value), signed };
}

function intOf(value: bigint, type: TraceType, ctx: FormatContext): Primitive {
  if (type.kind === 'pointer') {
    const n = BigInt.asUintN(64, value);
    return { t: 'sym', symbol: `0x${n.toString(16)}`, numeric: n };
  }
  if (type.kind !== 'int') return intPrimitive(value, false);
  if (type.enumName !== undefined) {
    // An enum prints as its enumerator, or as its number when the value has none.
    const n = BigInt.asUintN(type.bits, value);
    const name = ctx.enums?.get(type.enumName)?.get(n) ?? ctx.enums?.get(type.enumName)?.get(BigInt.asIntN(type.bits, value));
    return { t: 'sym', symbol: name ?? n.toString(), numeric: n };
  }
  return intPrimitive(value, type.signed, type.bits);
}

/** An `inet` value: an address family (u64) then 16 address bytes (4 used for AF_INET). */
function inetText(bytes: Uint8Array): string {
  const af = bytes[0] ?? 0;
  return ntop(af === AF_INET6 ? bytes.subarray(8, 24) : bytes.subarray(8, 12));
}

const AF_INET6 = 10;

/** An aggregation read as one value (`print(@x[k])`, `$x = @c`): what bpftrace shows for that map's value. */
function aggPrimitive(a: AggValue, signed: boolean): Primitive {
  switch (a.agg) {
    case 'count': return intPrimitive(a.value, false);
    case 'sum': return intPrimitive(a.value, signed);
    case 'min': case 'max': return intPrimitive(a.set ? a.value : 0n, signed);
    case 'avg': return intPrimitive(average(a.sum, a.count, signed), signed);
    case 'stats': return statsRecord(a.sum, a.count, signed, 1n);
    case 'hist': case 'lhist': case 'tseries': return { t: 'none' };
  }
}

/** `total / count` in the aggregation's sign (0 without samples), as bpftrace's stats_value. */
export function average(total: bigint, count: bigint, signed: boolean): bigint {
  const t = signed ? BigInt.asIntN(64, total) : BigInt.asUintN(64, total);
  return count > 0n ? t / (signed ? BigInt.asIntN(64, count) : count) : 0n;
}

/** A stats value: `{ .count = n, .average = a, .total = t }` (the average divided by `div`). */
export function statsRecord(total: bigint, count: bigint, signed: boolean, div: bigint): Primitive {
  const t = signed ? BigInt.asIntN(64, total) : BigInt.asUintN(64, total);
  return {
    t: 'record',
    fields: [
      ['count', intPrimitive(count, signed)],
      ['average', intPrimitive(average(total, count, signed) / div, signed)],
      ['total', { t: 'int', v: t, signed }],
    ],
  };
}

/** Resolves a value to a primitive: symbols through the context's symbolizer, times through its clock. */
export function toPrimitive(value: TraceValue, ctx: FormatContext = {}): Primitive {
  switch (value.kind) {
    case 'none': return { t: 'none' };
    case 'int': return intOf(value.value, value.type, ctx);
    case 'bool': return { t: 'bool', v: value.value };
    case 'string': case 'text': return { t: 'str', v: value.value };
    case 'buffer': return { t: 'buffer', bytes: value.bytes };
    case 'tuple': return { t: 'tuple', vs: value.elems.map((e) => toPrimitive(e, ctx)) };
    case 'array': return { t: 'array', vs: value.elems.map((e) => toPrimitive(e, ctx)) };
    case 'record': return { t: 'record', fields: value.fields.map((f) => [f.name, toPrimitive(f.value, ctx)]) };
    case 'ksym': return { t: 'str', v: formatKsym(value.addr, ctx) };
    case 'usym': return { t: 'str', v: formatUsym(value.addr, value.pid, ctx) };
    case 'stack': return { t: 'str', v: formatStack(value.frames, value.user, value.pid ?? -1, value.mode ?? 'bpftrace', ctx) };
    case 'inet': return { t: 'str', v: inetText(value.bytes) };
    case 'macaddr': return { t: 'str', v: macaddr(value.bytes) };
    case 'timestamp': {
      if (value.format === undefined) return { t: 'int', v: value.ns, signed: false };
      // Boot-relative times get the boot time added; TAI ones are already since the epoch.
      const epoch = value.mode === 'boot' ? value.ns + (ctx.bootTimeNs ?? 0n) : value.ns;
      return { t: 'str', v: strftime(value.format, epoch, ctx.utcOffsetMinutes) };
    }
    case 'agg': return aggPrimitive(value.agg, value.agg.agg !== 'count');
  }
}

/** A primitive in bpftrace's text form (`TextEmitter<Primitive>`). */
export function primitiveText(p: Primitive): string {
  switch (p.t) {
    case 'none': return 'null';
    case 'bool': return p.v ? 'true' : 'false';
    case 'int': return p.v.toString();
    case 'str': return p.v;
    case 'sym': return p.symbol;
    // Arrays have no spaces, tuples do: as bpftrace prints them.
    case 'array': return `[${p.vs.map(primitiveText).join(',')}]`;
    case 'tuple': return `(${p.vs.map(primitiveText).join(', ')})`;
    case 'record': return p.fields.length === 0 ? '{}' : `{ ${p.fields.map(([k, v]) => `.${k} = ${primitiveText(v)}`).join(', ')} }`;
    case 'buffer': return hexFormatBuffer(p.bytes, true, true);
  }
}

/**
 * bpftrace's `hex_format_buffer`: printable ASCII kept when `keepAscii`, other bytes as
 * `\xNN` when `escapeHex`, else as space-separated `NN` pairs (`%rh`).
 */
export function hexFormatBuffer(bytes: Uint8Array, keepAscii: boolean, escapeHex: boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const hex = b.toString(16).padStart(2, '0');
    if (keepAscii && b >= 32 && b <= 126) out += String.fromCharCode(b);
    else if (escapeHex) out += `\\x${hex}`;
    else out += i === bytes.length - 1 ? hex : `${hex} `;
  }
  return out;
}

/** A primitive as bpftrace's JSON holds it: tuples and arrays as arrays, records as objects, symbols as numbers. */
export function primitiveJson(p: Primitive): JsonValue {
  switch (p.t) {
    case 'none': return null;
    case 'bool': return p.v;
    case 'int': return p.v;
    case 'str': return p.v;
    case 'sym': return p.numeric;
    case 'array': case 'tuple': return p.vs.map(primitiveJson);
    case 'record': return new Map(p.fields.map(([k, v]) => [k, primitiveJson(v)]));
    // A buffer is a vector of C chars: signed numbers.
    case 'buffer': return Array.from(p.bytes, (b) => BigInt((b << 24) >> 24));
  }
}

/**
 * A value in bpftrace's text form: ints in decimal, strings unquoted, tuples `(1, abc)`,
 * records and structs `{ .a = 1 }`, arrays `[1,2]`, buffers with `\xNN` escapes, symbols
 * resolved through the context's symbolizer.
 */
export function formatValue(value: TraceValue, ctx: FormatContext = {}): string {
  return primitiveText(toPrimitive(value, ctx));
}

/** A value as bpftrace's JSON output holds it (tuples as arrays, records as objects). */
export function valueToJson(value: TraceValue, ctx: FormatContext = {}): JsonValue {
  return primitiveJson(toPrimitive(value, ctx));
}

/** A JSON string literal with bpftrace's escapes (`\"`, `\\`, `\n`, `\r`, `\t`, other controls as `\u00XX`). */
export function jsonString(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code <= 0x1f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

const MAX_SAFE = 2n ** 53n;

/**
 * Serializes a {@link JsonValue} in bpftrace's spacing (`{"a": 1, "b": [1,2]}`). An integer a
 * double cannot hold exactly is emitted as a string, as bpftrace does (RFC 8259).
 */
export function stringifyJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return exactInDouble(value) ? value.toString() : `"${value}"`;
  if (typeof value === 'number') return Number.isInteger(value) ? value.toString() : String(value);
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
  return `{${[...value].map(([k, v]) => `${jsonString(k)}: ${stringifyJson(v)}`).join(', ')}}`;
}

function exactInDouble(v: bigint): boolean {
  if (v >= -MAX_SAFE && v <= MAX_SAFE) return true;
  // A double holds it exactly when it round-trips and stays inside the 64-bit range.
  const d = Number(v);
  return Number.isFinite(d) && d < 2 ** 64 && d >= -(2 ** 63) && BigInt(d) === v;
}
