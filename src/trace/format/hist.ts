/** Histograms: bpftrace's bucket numbering for `hist`/`lhist` (what codegen computes), bucket labels, and the `@`-bar drawing. */

import { primitiveJson, primitiveText } from './print-value.js';
import type { JsonValue, Primitive } from './print-value.js';

/**
 * The bucket `hist(value, k)` counts `value` in, as bpftrace's log2 function computes it:
 * 0 for negatives, `1 + value` below 2^k, else `1 + ((l + 1) << k) + x` where `l` is the
 * position of the leftmost 1 minus k and `x` the k bits after it.
 */
export function histBucketIndex(value: bigint, k = 0): number {
  const v = BigInt.asIntN(64, value);
  if (v < 0n) return 0;
  const mask = (1n << BigInt(k)) - 1n;
  if (v <= mask) return Number(v) + 1;
  const l = v.toString(2).length - 1 - k;
  const x = (v >> BigInt(l)) & mask;
  return ((l + 1) << k) + Number(x) + 1;
}

/** The number of buckets a `hist(x, k)` value has room for (the largest index of a positive int64, plus one). */
export function histBucketCount(k = 0): number {
  return histBucketIndex((1n << 63n) - 1n, k) + 1;
}

/** How many buckets an `lhist(x, min, max, step)` value holds: below min, one per step, the last at or above max. */
export function lhistBucketCount(min: bigint, max: bigint, step: bigint): number {
  return Number((max - min) / step) + 2;
}

/** The bucket `lhist(value, min, max, step)` counts `value` in (bpftrace's linear function). */
export function lhistBucketIndex(value: bigint, min: bigint, max: bigint, step: bigint): number {
  if (value < min) return 0;
  if (value > max) return 1 + Number((max - min) / step);
  return 1 + Number((value - min) / step);
}

/**
 * bpftrace's `output::Value::Histogram`: `labels[i]` is bucket i's upper bound; a bucket
 * past the last label is open (`[100, ...)`); `lowerBound` bounds the first bucket (absent:
 * `(..., x)`).
 */
export interface Histogram {
  lowerBound?: Primitive;
  labels: Primitive[];
  counts: bigint[];
}

function int(v: bigint | number): Primitive {
  return { t: 'int', v: BigInt(v), signed: true };
}

/** The label of log2 bucket `index` (its lower bound), with K/M/G… suffixes per power of 1024. */
function histIndexLabel(index: number, k: number): Primitive {
  const n = 1n << BigInt(k);
  const interval = BigInt(index) & (n - 1n);
  let power = (index >> k) - 1;
  const value = (1n << BigInt(power)) * (n + interval);
  const decade = Math.floor(power / 10);
  const suffix = ['', 'K', 'M', 'G', 'T', 'P', 'E'][decade] ?? '';
  power -= 10 * decade;
  return { t: 'sym', symbol: `${(1n << BigInt(power)) * (n + interval)}${suffix}`, numeric: value };
}

function usedRange(counts: readonly bigint[]): [number, number] {
  let lo = -1;
  let hi = -1;
  counts.forEach((c, i) => {
    if (c > 0n) {
      if (lo < 0) lo = i;
      hi = i;
    }
  });
  return [lo, hi];
}

/** A `hist(x, k)` value's buckets as bpftrace prints them (empty leading and trailing buckets dropped, counts divided by `div`). */
export function buildHistogram(counts: readonly bigint[], k = 0, div = 1n): Histogram {
  const h: Histogram = { labels: [], counts: [] };
  const [lo, hi] = usedRange(counts);
  if (lo < 0) return h;
  const small = 2 << k;
  if (lo !== 0) h.lowerBound = lo - 1 <= small ? int(lo - 1) : histIndexLabel(lo - 1, k);
  for (let i = lo; i <= hi; i++) {
    h.labels.push(i === 0 ? int(0) : i <= small ? int(i) : histIndexLabel(i, k));
    h.counts.push(counts[i] / div);
  }
  return h;
}

/** An lhist label: a plain number, or with K/M suffixes when the step is a multiple of 1024. */
function lhistIndexLabel(n: bigint, step: bigint): Primitive {
  if (step % 1024n !== 0n) return int(n);
  const mega = 1024n * 1024n;
  const text = n === 0n ? '0' : n % mega === 0n ? `${n / mega}M` : n % 1024n === 0n ? `${n / 1024n}K` : n.toString();
  return { t: 'sym', symbol: text, numeric: n };
}

/** An `lhist(x, min, max, step)` value's buckets as bpftrace prints them (`div` does not apply, as in bpftrace). */
export function buildLinearHistogram(counts: readonly bigint[], min: bigint, max: bigint, step: bigint): Histogram {
  const h: Histogram = { labels: [], counts: [] };
  const [lo, hi] = usedRange(counts);
  if (lo < 0) return h;
  if (lo !== 0) h.lowerBound = lhistIndexLabel(min + BigInt(lo - 1) * step, step);
  for (let i = lo; i <= hi; i++) {
    const upper = min + BigInt(i) * step;
    // The last bucket has no upper bound: it is drawn `[max, ...)`.
    if (upper <= max) h.labels.push(lhistIndexLabel(upper, step));
    h.counts.push(counts[i]);
  }
  return h;
}

function adjacent(a: Primitive, b: Primitive): boolean {
  return a.t === 'int' && b.t === 'int' && a.v + 1n === b.v;
}

/** The label of bucket `i`: `(..., 0)`, `[0]`, `[4, 8)`, `[1K, 2K)`, `[100, ...)`. */
export function bucketLabel(h: Histogram, i: number): string {
  const lab = (p: Primitive): string => primitiveText(p);
  if (i === 0) {
    if (!h.lowerBound) return `(..., ${lab(h.labels[0])})`;
    if (h.labels.length === 0) return `[${lab(h.lowerBound)}, ...)`;
    if (adjacent(h.lowerBound, h.labels[0])) return `[${lab(h.lowerBound)}]`;
    return `[${lab(h.lowerBound)}, ${lab(h.labels[0])})`;
  }
  if (i >= h.labels.length) return `[${lab(h.labels[i - 1])}, ...)`;
  if (adjacent(h.labels[i - 1], h.labels[i])) return `[${lab(h.labels[i - 1])}]`;
  return `[${lab(h.labels[i - 1])}, ${lab(h.labels[i])})`;
}

const BAR_WIDTH = 52;

/** Draws a histogram as bpftrace does: label left in 16, count right in 8, ` |`, a 52-wide `@` bar, `|`. */
export function drawHistogram(h: Histogram): string {
  let max = 0n;
  for (const c of h.counts) if (c > max) max = c;
  let out = '';
  for (let i = 0; i < h.counts.length; i++) {
    // bpftrace scales in single-precision float; fround keeps the same truncation points.
    const ratio = Math.fround(Math.fround(Number(h.counts[i])) / Math.fround(Number(max)));
    const width = Math.trunc(Math.fround(ratio * BAR_WIDTH));
    out += `${bucketLabel(h, i).padEnd(16)}${h.counts[i].toString().padStart(8)} |${'@'.repeat(width).padEnd(BAR_WIDTH)}|\n`;
  }
  return out;
}

function oneLess(p: Primitive): JsonValue {
  if (p.t === 'sym') return BigInt.asIntN(64, p.numeric - 1n);
  if (p.t === 'int') return p.signed ? p.v - 1n : BigInt.asIntN(64, p.v - 1n);
  return primitiveJson(p);
}

/** A histogram in bpftrace's JSON: `[{"min": 2, "max": 3, "count": 1}, …]` with closed intervals. */
export function histogramJson(h: Histogram): JsonValue {
  return h.counts.map((count, i) => {
    const o = new Map<string, JsonValue>();
    if (i === 0 && h.lowerBound) o.set('min', primitiveJson(h.lowerBound));
    else if (i > 0) o.set('min', primitiveJson(h.labels[i - 1]));
    if (i < h.labels.length) o.set('max', oneLess(h.labels[i]));
    o.set('count', count);
    return o;
  });
}
