/** Map printing: `@x: 5`, `@x[k1, k2]: v` in bpftrace's order, aggregations (count…stats, hist, lhist), `print(@m, top, div)`, text and JSON. */

import type { FormatContext } from './context.js';
import { buildHistogram, buildLinearHistogram, drawHistogram, histogramJson } from './hist.js';
import type { Histogram } from './hist.js';
import { average, intPrimitive, primitiveJson, primitiveText, statsRecord, stringifyJson, toPrimitive } from './print-value.js';
import type { JsonValue, Primitive } from './print-value.js';
import type { TraceType, TraceValue } from './value.js';
import { buildTimeSeries, drawTimeSeries, lastEpoch, latestOf, timeSeriesJson } from './tseries.js';
import type { TSeriesData, TimeSeries } from './tseries.js';

/**
 * A map value already summed over CPUs, as the runtime reads it: plain values, the scalar
 * aggregations (`signed` for sum/min/max/avg of signed values; default: signed except count),
 * `avg`/`stats` as total and count, histograms as dense bucket counts in bpftrace's numbering
 * ({@link histBucketIndex} with the same k, {@link lhistBucketIndex}).
 */
export type MapSlot =
  | { kind: 'value'; value: TraceValue }
  | { kind: 'count' | 'sum' | 'min' | 'max'; value: bigint; signed?: boolean }
  | { kind: 'avg' | 'stats'; total: bigint; count: bigint; signed?: boolean }
  | { kind: 'hist'; counts: readonly bigint[]; bits?: number }
  | { kind: 'lhist'; counts: readonly bigint[]; min: bigint; max: bigint; step: bigint }
  | { kind: 'tseries'; series: TSeriesData };

/** One entry: the key (no parts for a scalar map; several for `@x[a, b]`) and its value, as a slot or a decoded value (`agg` for aggregations). */
export interface MapEntry {
  key: readonly TraceValue[];
  value: MapSlot | TraceValue;
}

/**
 * A map read out of the kernel or the VM, ready to print. A scalar map without entries
 * prints nothing (as bpftrace at exit); for `print(@x)` of an unset scalar, bpftrace prints
 * the type's zero, so pass an entry holding the zero value.
 */
export interface MapDump {
  /** The name with its `@` (`@`, `@x`). */
  name: string;
  /** Whether the map is keyed (`@x[k]`) rather than a scalar (`@x`). */
  keyed: boolean;
  /** The value type: for aggregations, whether sum/min/max/avg are signed (default: signed). */
  valueType?: TraceType;
  /** Entries in the order the map yields them (bpftrace's sort is stable for ties in small maps). */
  entries: readonly MapEntry[];
}

/** A slot with its sign and hist bits settled. */
type Slot =
  | { kind: 'value'; value: TraceValue }
  | { kind: 'count' | 'sum' | 'min' | 'max'; value: bigint; signed: boolean }
  | { kind: 'avg' | 'stats'; total: bigint; count: bigint; signed: boolean }
  | { kind: 'hist'; counts: readonly bigint[]; bits: number }
  | { kind: 'lhist'; counts: readonly bigint[]; min: bigint; max: bigint; step: bigint }
  | { kind: 'tseries'; series: TSeriesData };

const SLOT_KINDS: ReadonlySet<string> = new Set(['value', 'count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist', 'tseries']);

function isSlot(v: MapSlot | TraceValue): v is MapSlot {
  return SLOT_KINDS.has(v.kind);
}

function dense(buckets: ReadonlyMap<number, bigint>): bigint[] {
  let n = 0;
  for (const i of buckets.keys()) n = Math.max(n, i + 1);
  const out = new Array<bigint>(n).fill(0n);
  for (const [i, c] of buckets) out[i] += c;
  return out;
}

function slotOf(v: MapSlot | TraceValue, valueType: TraceType | undefined): Slot {
  if (isSlot(v)) {
    switch (v.kind) {
      case 'value': case 'lhist': case 'tseries': return v;
      case 'count': return { kind: 'count', value: v.value, signed: false };
      case 'sum': case 'min': case 'max': case 'avg': case 'stats': return { ...v, signed: v.signed ?? true };
      case 'hist': return { kind: 'hist', counts: v.counts, bits: v.bits ?? 0 };
    }
  }
  if (v.kind !== 'agg') return { kind: 'value', value: v };
  const a = v.agg;
  const signed = valueType?.kind === 'agg' ? valueType.signed : a.agg !== 'count';
  switch (a.agg) {
    case 'count': return { kind: 'count', value: a.value, signed: false };
    case 'sum': return { kind: 'sum', value: a.value, signed };
    case 'min': case 'max': return { kind: a.agg, value: a.set ? a.value : 0n, signed };
    case 'avg': case 'stats': return { kind: a.agg, total: a.sum, count: a.count, signed };
    case 'hist': return { kind: 'hist', counts: dense(a.buckets), bits: a.bits };
    case 'lhist': return { kind: 'lhist', counts: dense(a.buckets), min: a.min, max: a.max, step: a.step };
    case 'tseries': return { kind: 'tseries', series: { points: a.points, intervalNs: a.args.intervalNs, numIntervals: a.args.numIntervals, signed: a.signed } };
  }
}

/** `print(@m, top, div)`: keep the last `top` entries after sorting (0: all); divide values by `div`. */
export interface MapPrintOptions {
  top?: number;
  div?: bigint;
}

/** bpftrace's `output::Value` for a map: a primitive, a histogram, key → value pairs, or a stats-flavoured one of those. */
type OutValue =
  | { v: 'prim'; p: Primitive }
  | { v: 'hist'; h: Histogram }
  | { v: 'tseries'; ts: TimeSeries }
  | { v: 'map'; entries: [Primitive, OutValue][] }
  | { v: 'stats'; inner: OutValue };

function keyPrimitive(key: readonly TraceValue[], ctx: FormatContext): Primitive {
  if (key.length === 1) return toPrimitive(key[0], ctx);
  return { t: 'tuple', vs: key.map((k) => toPrimitive(k, ctx)) };
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function histTotal(s: Slot): bigint {
  return s.kind === 'hist' || s.kind === 'lhist' ? s.counts.reduce((a, b) => a + b, 0n) : 0n;
}

/** The quantity bpftrace sorts entries by, or undefined when it sorts by key. */
function sortValue(s: Slot): bigint | undefined {
  switch (s.kind) {
    case 'count': return BigInt.asUintN(64, s.value);
    case 'sum': return s.signed ? BigInt.asIntN(64, s.value) : BigInt.asUintN(64, s.value);
    // bpftrace compares min/max as unsigned whatever their sign.
    case 'min': case 'max': return BigInt.asUintN(64, s.value);
    case 'avg': case 'stats': return average(s.total, s.count, s.signed);
    case 'hist': case 'lhist': return histTotal(s);
    // Least to most recently updated.
    case 'tseries': return latestOf(s.series);
    case 'value': return intKey(s.value);
  }
}

/** The numeric value of a plain int (enums and pointers excluded, as bpftrace's IsIntTy), else undefined. */
function intKey(v: TraceValue | undefined): bigint | undefined {
  if (v?.kind !== 'int' || v.type.kind !== 'int') return undefined;
  return v.type.signed ? BigInt.asIntN(v.type.bits, v.value) : BigInt.asUintN(v.type.bits, v.value);
}

/** Key comparison as bpftrace's `sort_by_key`: ints numerically, strings bytewise, other kinds unordered. */
function keyCompare(a: TraceValue | undefined, b: TraceValue | undefined): number {
  const x = intKey(a);
  const y = intKey(b);
  if (x !== undefined && y !== undefined) return cmpBig(x, y);
  if (a?.kind !== 'string' || b?.kind !== 'string') return 0;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

interface Slotted {
  entry: MapEntry;
  slot: Slot;
}

/** A key's bytes as the kernel map holds them (ints little-endian at their width, strings NUL-padded), for bpftrace's byte-order ties. */
function keyBytes(key: readonly TraceValue[]): number[] {
  const out: number[] = [];
  const put = (v: TraceValue): void => {
    switch (v.kind) {
      case 'int': {
        const bits = v.type.kind === 'int' ? v.type.bits : 64;
        let x = BigInt.asUintN(bits, v.value);
        for (let i = 0; i < bits / 8; i++, x >>= 8n) out.push(Number(x & 0xffn));
        break;
      }
      case 'bool': out.push(v.value ? 1 : 0); break;
      case 'string': case 'text': out.push(...utf8(v.value), 0); break;
      case 'buffer': out.push(...v.bytes); break;
      case 'tuple': case 'array': for (const e of v.elems) put(e); break;
      case 'record': for (const f of v.fields) put(f.value); break;
      default: break;
    }
  };
  for (const k of key) put(k);
  return out;
}

/** UTF-8 bytes of a string (the core layer has no TextEncoder). */
function utf8(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

function sortSlotted(items: Slotted[]): Slotted[] {
  const first = items[0];
  if (first === undefined) return items;
  // bpftrace gathers histogram maps in a std::map keyed by the key's bytes, then sorts by total:
  // equal totals stay in key-byte order.
  if (first.slot.kind === 'hist' || first.slot.kind === 'lhist' || first.slot.kind === 'tseries') {
    items = items.map((x) => ({ x, k: keyBytes(x.entry.key) })).sort((a, b) => compareBytes(a.k, b.k)).map((y) => y.x);
  }
  if (sortValue(first.slot) !== undefined) {
    const withValue = items.map((x) => ({ x, v: sortValue(x.slot) ?? 0n }));
    withValue.sort((a, b) => cmpBig(a.v, b.v));
    return withValue.map((w) => w.x);
  }
  // Sort by the last key part first, then stably by each earlier one, as bpftrace does.
  for (let i = first.entry.key.length - 1; i >= 0; i--) items.sort((a, b) => keyCompare(a.entry.key[i], b.entry.key[i]));
  return items;
}

/**
 * The entries in the order bpftrace prints them: by value for ints, count/sum/min/max/avg/stats
 * (ascending), by total count for histograms, else by key (ints, then strings bytewise).
 */
export function sortMapEntries(dump: MapDump): MapEntry[] {
  return sortSlotted(dump.entries.map((entry) => ({ entry, slot: slotOf(entry.value, dump.valueType) }))).map((x) => x.entry);
}

/** `last`: the newest interval number over the map's time series (they share one window). */
function slotValue(s: Slot, div: bigint, ctx: FormatContext, last = 0n): OutValue {
  switch (s.kind) {
    case 'value': {
      const p = toPrimitive(s.value, ctx);
      return { v: 'prim', p: p.t === 'int' && div !== 1n ? { ...p, v: p.v / div } : p };
    }
    case 'count': return { v: 'prim', p: intPrimitive(BigInt.asUintN(64, s.value) / div, false) };
    case 'sum': case 'min': case 'max': {
      const v = s.signed ? BigInt.asIntN(64, s.value) : BigInt.asUintN(64, s.value);
      return { v: 'prim', p: intPrimitive(v / div, s.signed) };
    }
    case 'avg': return { v: 'prim', p: intPrimitive(average(s.total, s.count, s.signed) / div, s.signed) };
    case 'stats': return { v: 'prim', p: statsRecord(s.total, s.count, s.signed, div) };
    case 'hist': return { v: 'hist', h: buildHistogram(s.counts, s.bits, div) };
    case 'lhist': return { v: 'hist', h: buildLinearHistogram(s.counts, s.min, s.max, s.step) };
    case 'tseries': return { v: 'tseries', ts: buildTimeSeries(s.series, last) };
  }
}

function isStatsMap(dump: MapDump, first: Slot | undefined): boolean {
  if (first) return first.kind === 'avg' || first.kind === 'stats';
  const t = dump.valueType;
  return t?.kind === 'agg' && (t.agg === 'avg' || t.agg === 'stats');
}

/** The map as bpftrace's `format(map, top, div)` builds it. */
function mapValue(dump: MapDump, options: MapPrintOptions, ctx: FormatContext): OutValue {
  const sorted = sortSlotted(dump.entries.map((entry) => ({ entry, slot: slotOf(entry.value, dump.valueType) })));
  const top = options.top ?? 0;
  const kept = top > 0 && sorted.length > top ? sorted.slice(sorted.length - top) : sorted;
  const div = options.div === undefined || options.div === 0n ? 1n : options.div;
  const stats = isStatsMap(dump, sorted[0]?.slot);
  const last = lastEpoch(sorted.flatMap((x) => (x.slot.kind === 'tseries' ? [x.slot.series] : []))) ?? 0n;
  if (!dump.keyed) {
    const e = kept[0];
    // A time series without any interval prints nothing, as a keyed map without entries.
    if (e === undefined || (e.slot.kind === 'tseries' && e.slot.series.points.size === 0)) return stats ? { v: 'stats', inner: { v: 'map', entries: [] } } : { v: 'map', entries: [] };
    const value = slotValue(e.slot, div, ctx, last);
    return stats ? { v: 'stats', inner: value } : value;
  }
  const m: OutValue = { v: 'map', entries: kept.map((e) => [keyPrimitive(e.entry.key, ctx), slotValue(e.slot, div, ctx, last)]) };
  return stats ? { v: 'stats', inner: m } : m;
}

function stripTupleParens(s: string): string {
  return s.length >= 2 && s.startsWith('(') && s.endsWith(')') ? s.slice(1, -1) : s;
}

function valueText(v: OutValue, ctx: FormatContext): string {
  switch (v.v) {
    case 'prim': return primitiveText(v.p);
    case 'hist': return drawHistogram(v.h);
    case 'tseries': return drawTimeSeries(v.ts, ctx);
    case 'stats': return valueText(v.inner, ctx);
    case 'map': return v.entries.map(([k, x]) => `[${primitiveText(k)}]: ${valueText(x, ctx)}\n`).join('');
  }
}

function emitMapText(name: string, entries: [Primitive, OutValue][], ctx: FormatContext): string {
  let out = '';
  for (const [key, value] of entries) {
    // A multi-line value (a histogram, a time series) starts on the next line.
    out += `${name}[${stripTupleParens(primitiveText(key))}]${value.v === 'prim' ? ': ' : ':\n'}${valueText(value, ctx)}\n`;
  }
  return out;
}

/**
 * The text bpftrace prints for a map (`TextOutput::map`): `@x: 5`, one `@x[k]: v` line per
 * entry, histograms under a `@h:` / `@h[k]:` line followed by a blank line.
 */
export function formatMapText(dump: MapDump, options: MapPrintOptions = {}, ctx: FormatContext = {}): string {
  const value = mapValue(dump, options, ctx);
  const inner = value.v === 'stats' ? value.inner : value;
  if (value.v === 'hist') return `${dump.name}:\n${drawHistogram(value.h)}\n`;
  if (value.v === 'tseries') return `${dump.name}:\n${drawTimeSeries(value.ts, ctx)}\n`;
  if (inner.v === 'map') return emitMapText(dump.name, inner.entries, ctx);
  return `${dump.name}: ${valueText(inner, ctx)}\n`;
}

function valueJson(v: OutValue, ctx: FormatContext): JsonValue {
  switch (v.v) {
    case 'prim': return primitiveJson(v.p);
    case 'hist': return histogramJson(v.h);
    case 'tseries': return timeSeriesJson(v.ts, ctx).map((p) => new Map<string, JsonValue>([['interval_start', p.interval_start], ['value', p.value]]));
    case 'stats': return valueJson(v.inner, ctx);
    // Keys are text without tuple parentheses and without spaces, as bpftrace writes them.
    case 'map': return new Map(v.entries.map(([k, x]) => [stripTupleParens(primitiveText(k)).replaceAll(' ', ''), valueJson(x, ctx)]));
  }
}

function hasKind(v: OutValue, kind: 'stats' | 'hist' | 'tseries'): boolean {
  if (v.v === kind) return true;
  if (v.v === 'map' && v.entries.length > 0) return hasKind(v.entries[0][1], kind);
  return false;
}

/**
 * The JSON line bpftrace prints for a map with `-f json` (`{"type": "map", "data": {"@x": …}}`;
 * type `stats` for avg/stats maps and `hist` for histograms), without its newline; the empty
 * string for a keyed map without entries (bpftrace prints nothing).
 */
export function formatMapJson(dump: MapDump, options: MapPrintOptions = {}, ctx: FormatContext = {}): string {
  const value = mapValue(dump, options, ctx);
  if (value.v === 'map' && value.entries.length === 0) return '';
  const type = hasKind(value, 'stats') ? 'stats' : hasKind(value, 'tseries') ? 'tseries' : hasKind(value, 'hist') ? 'hist' : 'map';
  return `{"type": "${type}", "data": ${stringifyJson(new Map([[dump.name, valueJson(value, ctx)]]))}}`;
}
