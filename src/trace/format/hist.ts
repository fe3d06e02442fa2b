/** Histograms: bpftrace's bucket numbering for `hist`/`lhist` (what codegen computes) and their `@`-bar drawing. */

/** The bucket `hist(value, bits)` counts `value` in (0: negative, 1: zero, then log2 buckets split in 2^bits). */
export function histBucketIndex(value: bigint, bits = 0): number {
  void bits;
  if (value < 0n) return 0;
  if (value === 0n) return 1;
  return 2 + value.toString(2).length - 1;
}

/** How many buckets an `lhist(x, min, max, step)` map value holds: below min, one per step, at/above max. */
export function lhistBucketCount(min: bigint, max: bigint, step: bigint): number {
  return Number((max - min) / step) + 2;
}

/** The bucket `lhist(value, min, max, step)` counts `value` in. */
export function lhistBucketIndex(value: bigint, min: bigint, max: bigint, step: bigint): number {
  if (value < min) return 0;
  if (value >= max) return lhistBucketCount(min, max, step) - 1;
  return Number((value - min) / step) + 1;
}

/** One printed bucket: its label (`[4, 8)`, `[1K, 2K)`, `(..., 0)`), JSON bounds, and count. */
export interface HistRow {
  label: string;
  min?: bigint;
  max?: bigint;
  count: bigint;
}

/** The rows bpftrace prints for a `hist` map value (leading and trailing empty buckets trimmed). */
export function histRows(counts: readonly bigint[], bits = 0): HistRow[] {
  void counts; void bits;
  return [];
}

/** The rows bpftrace prints for an `lhist` map value. */
export function lhistRows(counts: readonly bigint[], min: bigint, max: bigint, step: bigint): HistRow[] {
  void counts; void min; void max; void step;
  return [];
}

/** Draws rows as bpftrace does: label padded to 16, count to 8, ` |` and a 52-wide `@` bar. */
export function drawHistogram(rows: readonly HistRow[]): string {
  void rows;
  return '';
}
