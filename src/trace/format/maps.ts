/** Map printing: `@x: 5`, `@x[k1, k2]: v` in bpftrace's order, aggregations (count…stats, hist, lhist), `print(@m, top, div)`, text and JSON. */

import type { FormatContext } from './context.js';
import type { TraceValue } from './value.js';

/**
 * The value slot of one map entry, already summed over CPUs for per-CPU maps:
 * plain values, the scalar aggregations, `avg`/`stats` as total and count, histograms as
 * bucket counts in bpftrace's bucket numbering (see {@link histBuckets}).
 */
export type MapSlot =
  | { kind: 'value'; value: TraceValue }
  | { kind: 'count' | 'sum' | 'min' | 'max'; value: bigint; signed?: boolean }
  | { kind: 'avg' | 'stats'; total: bigint; count: bigint; signed?: boolean }
  /** `hist(x[, k])`: `counts[i]` is bpftrace's bucket i (0: negative, 1: zero, then powers of two split in 2^k). */
  | { kind: 'hist'; counts: readonly bigint[]; bits?: number }
  /** `lhist(x, min, max, step)`: `counts[0]` below min, then one per step, last at or above max. */
  | { kind: 'lhist'; counts: readonly bigint[]; min: bigint; max: bigint; step: bigint };

/** One entry: the key's parts (empty for a scalar map) and its slot. */
export interface MapEntry {
  key: readonly TraceValue[];
  value: MapSlot;
}

/** A map read out of the kernel or the VM, ready to print. */
export interface MapDump {
  /** The name with its `@` (`@`, `@x`). */
  name: string;
  /** Whether the map is keyed (`@x[k]`) rather than a scalar (`@x`), even when it has no entries. */
  keyed: boolean;
  entries: readonly MapEntry[];
}

/** `print(@m, top, div)`: keep the last `top` entries after sorting; divide values by `div`. */
export interface MapPrintOptions {
  top?: number;
  div?: bigint;
}

/** Sorts entries as bpftrace does before printing (by value for aggregations, ascending). */
export function sortMapEntries(dump: MapDump): MapEntry[] {
  return [...dump.entries];
}

/** The text bpftrace prints for a map (at exit or by `print(@m)`), ending with the blank line it adds. */
export function formatMapText(dump: MapDump, options: MapPrintOptions = {}, ctx: FormatContext = {}): string {
  void dump; void options; void ctx;
  return '';
}

/** The one JSON line bpftrace prints for a map with `-f json` (`{"type": "map", "data": {...}}`, or `hist`/`stats`). */
export function formatMapJson(dump: MapDump, options: MapPrintOptions = {}, ctx: FormatContext = {}): string {
  void dump; void options; void ctx;
  return '';
}
