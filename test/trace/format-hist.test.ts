/** Histogram bucket numbering (bpftrace's log2 and linear functions, as documented in its codegen) and labels. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildHistogram, buildLinearHistogram, bucketLabel, drawHistogram, histBucketCount, histBucketIndex, lhistBucketIndex,
} from '../../src/trace/format/index.js';

/** bpftrace's log2(n, k) written as its codegen comment states it: a loop finding the leftmost 1. */
function referenceLog2(n: bigint, k: number): number {
  if (n < 0n) return 0;
  const mask = (1n << BigInt(k)) - 1n;
  if (n <= mask) return Number(n) + 1;
  const n0 = n;
  let l = 0n;
  let v = n;
  for (let i = 5; i >= 0; i--) {
    const threshold = 1n << (1n << BigInt(i));
    const shift = (v >= threshold ? 1n : 0n) << BigInt(i);
    v >>= shift;
    l += shift;
  }
  l -= BigInt(k);
  const x = (n0 >> l) & mask;
  return Number(((l + 1n) << BigInt(k)) + x + 1n);
}

describe('hist buckets', () => {
  it('the codegen comment\'s example: 225 with k=2 is bucket 28', () => {
    expect(histBucketIndex(225n, 2)).toBe(28);
  });

  it('matches bpftrace\'s log2 for any int64 and k in 0..5', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: 0, max: 5 }), (n, k) => histBucketIndex(n, k) === referenceLog2(n, k)));
  });

  it('bucket counts cover the largest int64', () => {
    expect(histBucketCount(0)).toBe(65);
    expect(histBucketIndex(2n ** 63n - 1n, 5)).toBe(histBucketCount(5) - 1);
  });

  it('lhist: below min is 0, the range is split by step, max and above share the last bucket', () => {
    expect([-1n, 0n, 9n, 10n, 99n, 100n, 5000n].map((v) => lhistBucketIndex(v, 0n, 100n, 10n))).toEqual([0, 1, 1, 2, 10, 11, 11]);
    expect([14n, 15n, 16n].map((v) => lhistBucketIndex(v, 0n, 15n, 10n))).toEqual([2, 2, 2]);
  });
});

describe('hist labels', () => {
  it('single values, powers with K/M/G/T/P/E suffixes', () => {
    const counts = new Array<bigint>(66).fill(0n);
    counts[1] = 1n;
    counts[histBucketIndex(1500n)] = 2n;
    counts[histBucketIndex(2n ** 62n)] = 1n;
    const h = buildHistogram(counts);
    expect(bucketLabel(h, 0)).toBe('[0]');
    expect(bucketLabel(h, 1)).toBe('[1]');
    expect(bucketLabel(h, histBucketIndex(1500n) - 1)).toBe('[1K, 2K)');
    expect(bucketLabel(h, h.counts.length - 1)).toBe('[4E, 8E)');
  });

  it('k=2 splits each power in four (hist(x, 2))', () => {
    const counts = new Array<bigint>(300).fill(0n);
    counts[histBucketIndex(5000n, 2)] = 1n;
    const h = buildHistogram(counts, 2);
    expect(bucketLabel(h, 0)).toBe('[4K, 5K)');
  });

  it('lhist labels: K/M for steps of 1024, single values for step 1 (current bpftrace)', () => {
    const k = buildLinearHistogram([0n, 0n, 1n, 0n, 1n], 0n, 3072n, 1024n);
    expect([0, 1, 2].map((i) => bucketLabel(k, i))).toEqual(['[1K, 2K)', '[2K, 3K)', '[3K, ...)']);
    const one = buildLinearHistogram([1n, 1n, 1n], 0n, 5n, 1n);
    expect([0, 1, 2].map((i) => bucketLabel(one, i))).toEqual(['(..., 0)', '[0]', '[1]']);
  });

  it('bars truncate as single-precision floats', () => {
    const h = buildHistogram([0n, 1n, 97n]);
    expect(drawHistogram(h).split('\n')[0]).toBe(`[0]${' '.repeat(13)}       1 |${' '.repeat(52)}|`);
    const third = buildHistogram([0n, 1n, 3n]);
    expect(drawHistogram(third).split('\n')[0]).toBe(`[0]${' '.repeat(13)}       1 |${'@'.repeat(17)}${' '.repeat(35)}|`);
  });
});
