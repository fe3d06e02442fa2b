/** Time series (`tseries()`): the window of intervals bpftrace shows, its text chart and its JSON. */

import type { FormatContext } from './context.js';
import { cStrftime } from './time.js';

/** One key's series: interval numbers (boot ns / interval) to values. */
export interface TSeriesData {
  points: ReadonlyMap<bigint, bigint>;
  intervalNs: bigint;
  numIntervals: number;
  signed: boolean;
}

/** A series laid out for printing: interval start times (boot-clock ns) and values, `undefined` where an interval has none. */
export interface TimeSeries {
  values: { startNs: bigint; value: bigint | undefined }[];
  intervalNs: bigint;
  signed: boolean;
}

/** The newest interval number over all keys (bpftrace shows every key over the same window). */
export function lastEpoch(series: readonly TSeriesData[]): bigint | undefined {
  let last: bigint | undefined;
  for (const s of series) for (const e of s.points.keys()) if (last === undefined || e > last) last = e;
  return last;
}

/** The key's newest interval number (bpftrace orders keys from least to most recently updated). */
export function latestOf(s: TSeriesData): bigint {
  let last = 0n;
  for (const e of s.points.keys()) if (e > last) last = e;
  return last;
}

/**
 * The window [last − n + 1, last] for one key, starting at its first interval with a value inside
 * the window (bpftrace's build_time_series).
 */
export function buildTimeSeries(s: TSeriesData, last: bigint): TimeSeries {
  const first = last - BigInt(s.numIntervals) + 1n;
  let start = last;
  for (const e of s.points.keys()) if (e >= first && e < start) start = e;
  const values: TimeSeries['values'] = [];
  for (let e = start; e <= last; e++) values.push({ startNs: e * s.intervalNs, value: s.points.get(e) });
  return { values, intervalNs: s.intervalNs, signed: s.signed };
}

/** bpftrace's display unit for a duration: seconds, or milliseconds/microseconds/nanoseconds with that many digits. */
function displayUnit(ns: bigint): { name: string; digits: number } {
  if (ns >= 1_000_000_000n) return { name: 's', digits: 0 };
  if (ns >= 1_000_000n) return { name: 'ms', digits: 3 };
  if (ns >= 1_000n) return { name: 'μs', digits: 6 };
  return { name: 'ns', digits: 9 };
}

const floorSeconds = (ns: bigint): bigint => (ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n);

/** A wall-clock time of day for a boot-clock time: `%H:%M:%S` plus the unit's fraction digits. */
function timeOfDay(bootNs: bigint, digits: number, ctx: FormatContext): string {
  const wall = bootNs + (ctx.bootTimeNs ?? 0n);
  const hms = cStrftime('%H:%M:%S', floorSeconds(wall), ctx.utcOffsetMinutes);
  if (digits === 0) return hms;
  const frac = ((wall % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return `${hms}.${frac.toString().padStart(9, '0').slice(0, digits)}`;
}

/** Pads to `width` bytes as C++'s setw does (a `μ` counts two). */
function byteLen(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
const padEndBytes = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - byteLen(s)));
const padStartBytes = (s: string, w: number): string => ' '.repeat(Math.max(0, w - byteLen(s))) + s;

const GRAPH_WIDTH = 53;
const PADDING = 21;

/** The chart bpftrace draws for a series: a time per line, a `*` at the value's place between the minimum and maximum. */
export function drawTimeSeries(ts: TimeSeries, ctx: FormatContext = {}): string {
  if (ts.values.length === 0) return '<no data>';
  const limit = (v: bigint): bigint => (ts.signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v));
  const present = ts.values.filter((p) => p.value !== undefined).map((p) => limit(p.value!));
  let min = present.length ? present.reduce((a, b) => (b < a ? b : a)) : 0n;
  let max = present.length ? present.reduce((a, b) => (b > a ? b : a)) : 0n;
  if (min === max) {
    // Room on both sides of a flat line, unless at the type's edge.
    if (ts.signed ? min > -(1n << 63n) : min > 0n) min -= 1n;
    if (ts.signed ? max < (1n << 63n) - 1n : max < (1n << 64n) - 1n) max += 1n;
  }
  const n = ts.values.length;
  const interval = n > 1 ? (ts.values[n - 1].startNs - ts.values[0].startNs) / BigInt(n - 1) : ts.values[0].startNs - ts.values[0].startNs;
  const unit = displayUnit(interval);
  const timeFmt = unit.digits ? `hh:mm:ss.${unit.name}` : 'hh:mm:ss';
  const timeSize = 8 + (unit.digits ? 1 + unit.digits : 0);
  const span = Number(max - min);
  const lines: string[] = [];
  const scale = `${' '.repeat(timeSize + 1)}${String(min).padEnd(PADDING)}${String(max).padStart(GRAPH_WIDTH - PADDING)}`;
  lines.push(scale);
  lines.push(`${padEndBytes(timeFmt, timeSize + 1)}|${'_'.repeat(GRAPH_WIDTH - 2)}|`);
  const zero = min < 0n && max > 0n ? Math.trunc((GRAPH_WIDTH * Number(-min)) / span) : 0;
  for (const p of ts.values) {
    const row = new Array<string>(GRAPH_WIDTH).fill(' ');
    row[0] = '|';
    row[GRAPH_WIDTH - 1] = '|';
    if (zero > 0) row[zero] = '.';
    let line = `${timeOfDay(p.startNs, unit.digits, ctx)} `;
    if (p.value === undefined) {
      line += `${row.join('')} -`;
    } else {
      const v = limit(p.value);
      const at = min === max ? Math.trunc(GRAPH_WIDTH / 2) : Math.trunc(((GRAPH_WIDTH - 1) * Number(v - min)) / span);
      row[Math.max(0, Math.min(GRAPH_WIDTH - 1, at))] = '*';
      line += `${row.join('')} ${v}`;
    }
    lines.push(line);
  }
  const bottom = `v${'_'.repeat(GRAPH_WIDTH - 2)}v`;
  lines.push(`${padStartBytes('', timeSize)} ${bottom}`);
  lines.push(`${padStartBytes('', timeSize)} ${String(min).padEnd(PADDING)}${String(max).padStart(GRAPH_WIDTH - PADDING)}`);
  return `${lines.join('\n')}\n`;
}

/** bpftrace's JSON for a series: `[{"interval_start": "…", "value": v}, …]`, intervals without a value left out. */
export function timeSeriesJson(ts: TimeSeries, ctx: FormatContext = {}): { interval_start: string; value: bigint }[] {
  const out: { interval_start: string; value: bigint }[] = [];
  for (const p of ts.values) {
    if (p.value === undefined) continue;
    const wall = p.startNs + (ctx.bootTimeNs ?? 0n);
    const frac = ((wall % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    const value = ts.signed ? BigInt.asIntN(64, p.value) : BigInt.asUintN(64, p.value);
    out.push({ interval_start: `${cStrftime('%Y-%m-%dT%H:%M:%S', floorSeconds(wall), ctx.utcOffsetMinutes)}.${frac.toString().padStart(9, '0')}`, value });
  }
  return out;
}
