/** Map, hist, lhist, stats and JSON printing against bpftrace's expected outputs in the runtime corpus (`outputs/`), fed the same data the cases' programs produce. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatMapJson, formatMapText, histBucketIndex, intValue, lhistBucketCount, lhistBucketIndex, stringValue,
} from '../../src/trace/format/index.js';
import type { MapDump, MapEntry, MapPrintOptions } from '../../src/trace/format/index.js';
import { corpusDir, skipReason } from '../helpers/reference.js';

const outputs = path.join(corpusDir, 'bpftrace-runtime/outputs');
const why = skipReason('bpftrace runtime outputs', { corpus: 'bpftrace-runtime/outputs/hist.txt' });
const expected = (file: string): string => readFileSync(path.join(outputs, file), 'utf8');

/** Aggregates samples into bpftrace's log2 buckets, as `@ = hist(x, k)` does. */
function hist(samples: readonly bigint[], k = 0): bigint[] {
  const counts = new Array<bigint>(70).fill(0n);
  for (const s of samples) counts[histBucketIndex(s, k)] += 1n;
  return counts;
}

function lhist(samples: readonly bigint[], min: bigint, max: bigint, step: bigint): bigint[] {
  const counts = new Array<bigint>(lhistBucketCount(min, max, step)).fill(0n);
  for (const s of samples) counts[lhistBucketIndex(s, min, max, step)] += 1n;
  return counts;
}

const big = (xs: number[]): bigint[] => xs.map(BigInt);
const scalar = (name: string, value: MapEntry['value']): MapDump => ({ name, keyed: false, entries: [{ key: [], value }] });
const keyed = (name: string, entries: [string[], MapEntry['value']][]): MapDump => ({
  name, keyed: true, entries: entries.map(([k, value]) => ({ key: k.map((s) => (/^\d+$/.test(s) ? intValue(BigInt(s)) : stringValue(s))), value })),
});

/** EXPECT_FILE: the stripped output equals the stripped file. */
function expectText(dump: MapDump, file: string, options?: MapPrintOptions): void {
  expect(formatMapText(dump, options).trim()).toBe(expected(file).trim());
}

/** EXPECT_JSON: exactly one line, equal as JSON to the file (compared as parsed values, as the runner does). */
function expectJson(dump: MapDump, file: string, options?: MapPrintOptions): void {
  const line = formatMapJson(dump, options);
  expect(line.includes('\n')).toBe(false);
  expect(JSON.parse(line)).toEqual(JSON.parse(expected(file)));
}

describe.skipIf(why !== undefined)('format vs bpftrace outputs/', () => {
  it('hist.txt: @=hist(-1); hist(2); hist(3); hist(7); hist(20)', () => {
    expectText(scalar('@', { kind: 'hist', counts: hist(big([-1, 2, 3, 7, 20])) }), 'hist.txt');
  });

  it('hist_2_values.txt: hist(3), hist(20)', () => {
    expectText(scalar('@', { kind: 'hist', counts: hist(big([3, 20])) }), 'hist_2_values.txt');
  });

  it('lhist.txt: lhist(2|3|7|-1|11, 0, 10, 2)', () => {
    expectText(scalar('@', { kind: 'lhist', counts: lhist(big([2, 3, 7, -1, 11]), 0n, 10n, 2n), min: 0n, max: 10n, step: 2n }), 'lhist.txt');
  });

  it('print_avg_map_args.txt and print_avg_map_with_large_top.txt: print(@, top, 10) of avg maps', () => {
    const avg = keyed('@', [['a', 10], ['b', 20], ['c', 30], ['d', 40]].map(([k, v]) => [[String(k)], { kind: 'avg', total: BigInt(v), count: 1n }]));
    expectText(avg, 'print_avg_map_args.txt', { top: 2, div: 10n });
    expectText(avg, 'print_avg_map_with_large_top.txt', { top: 10, div: 10n });
  });

  it('scalar.json, scalar_str.json', () => {
    expectJson(scalar('@scalar', { kind: 'value', value: intValue(5) }), 'scalar.json');
    expectJson(scalar('@scalar_str', { kind: 'value', value: stringValue('a b \n d e') }), 'scalar_str.json');
  });

  it('map.json and multiple_maps.ndjson', () => {
    expectJson(keyed('@map', [[['key1'], { kind: 'value', value: intValue(2) }], [['key2'], { kind: 'value', value: intValue(3) }]]), 'map.json');
    const lines = expected('multiple_maps.ndjson').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(JSON.parse(formatMapJson(keyed('@map1', [[['key1'], { kind: 'value', value: intValue(2) }]])))).toEqual(lines[0]);
    expect(JSON.parse(formatMapJson(keyed('@map2', [[['key2'], { kind: 'value', value: intValue(3) }]])))).toEqual(lines[1]);
  });

  it('hist.json, hist_zero.json, hist_10g.json, hist_2args.json', () => {
    expectJson(scalar('@hist', { kind: 'hist', counts: hist(big([2, 1025])) }), 'hist.json');
    expectJson(scalar('@hist', { kind: 'hist', counts: new Array<bigint>(66).fill(0n) }), 'hist_zero.json');
    expectJson(scalar('@', { kind: 'hist', counts: hist([10n * 1024n * 1024n * 1024n]) }), 'hist_10g.json');
    expectJson(scalar('@', { kind: 'hist', counts: hist(Array.from({ length: 1024 }, (_, i) => BigInt(i)), 3), bits: 3 }), 'hist_2args.json');
  });

  it('hist_multiple.json and hist_multiple_multiple_keys.json: keyed histograms sorted by total count', () => {
    expectJson(keyed('@', [[['bpftrace'], { kind: 'hist', counts: hist([2n]) }], [['curl'], { kind: 'hist', counts: hist(big([-1, 0, 511, 1024, 1025])) }]]), 'hist_multiple.json');
    expectJson(keyed('@', [[['bpftrace', '2'], { kind: 'hist', counts: hist([2n]) }], [['curl', '3'], { kind: 'hist', counts: hist(big([511, 1024])) }]]), 'hist_multiple_multiple_keys.json');
  });

  it('lhist.json, lhist_zero.json, lhist_multiple.json', () => {
    const lh = (xs: number[]): MapEntry['value'] => ({ kind: 'lhist', counts: lhist(big(xs), 0n, 100n, 10n), min: 0n, max: 100n, step: 10n });
    expectJson(scalar('@h', lh([2, 50, 1000])), 'lhist.json');
    expectJson(scalar('@h', lh([])), 'lhist_zero.json');
    expectJson(keyed('@stats', [[['bpftrace'], lh([2, 1000])], [['curl'], lh([50])]]), 'lhist_multiple.json');
  });

  it('stats.json and stats_multiple.json', () => {
    expectJson(scalar('@stats', { kind: 'stats', total: 12n, count: 2n }), 'stats.json');
    expectJson(keyed('@stats', [[['curl'], { kind: 'stats', total: 2n, count: 1n }], [['zsh'], { kind: 'stats', total: 10n, count: 1n }]]), 'stats_multiple.json');
  });
});
