/** Reading what compiled trace programs produce: events from the ring buffer and maps, decoded for the formatters (core: no Node APIs). */

import { MapType } from '../ebpf/index.js';
import type { BpfMap } from '../ebpf/index.js';
import type { EventDesc, MapInfo } from './compiler.js';
import type { MapDump, MapEntry } from './format/index.js';
import { histBucketCount } from './format/hist.js';
import { decodeValue, readInt, sizeOf } from './types.js';
import type { AggValue, TraceType, Value } from './types.js';

/** Splits an event record into its description and bytes (undefined for a record no event describes). */
export function eventDecoder(events: EventDesc[]): (bytes: Uint8Array) => { desc: EventDesc; bytes: Uint8Array } | undefined {
  return (bytes) => {
    if (bytes.length < 8) return undefined;
    const id = Number(readInt(bytes, 0, 64, false));
    const desc = events[id];
    return desc ? { desc, bytes } : undefined;
  };
}

/** Reads one language map (kernel or VM) as a dump for the formatters. */
export async function dumpMap(info: MapInfo, map: BpfMap, ncpus: number): Promise<MapDump> {
  const entries: MapEntry[] = [];
  const perCpu = info.percpu;
  const slotSize = Math.ceil(map.spec.valueSize / 8) * 8;
  const cpuValues = (v: Uint8Array): Uint8Array[] => (perCpu ? Array.from({ length: ncpus }, (_, i) => v.subarray(i * slotSize, i * slotSize + map.spec.valueSize)) : [v]);
  const keyOf = (k: Uint8Array): Value[] => {
    if (!info.keyType) return [];
    const v = decodeValue(info.keyType, k, 0);
    return info.keyType.kind === 'tuple' && v.kind === 'tuple' ? v.elems : [v];
  };
  if (info.tseries) return dumpTSeries(info, map, entries, keyOf, cpuValues);
  if (info.bucketed) {
    const groups = new Map<string, { key: Value[]; counts: bigint[] }>();
    const nb = info.agg === 'hist' ? histBucketCount(info.histBits ?? 0) : Number((info.lhist!.max - info.lhist!.min) / info.lhist!.step) + 2;
    for await (const [k, v] of map.entries()) {
      let bucket: number;
      let keyBytes: Uint8Array;
      if (info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY) {
        bucket = Number(readInt(k, 0, 32, false));
        keyBytes = new Uint8Array(0);
      } else {
        bucket = Number(readInt(k, k.length - 8, 64, false));
        keyBytes = k.subarray(0, k.length - 8);
      }
      const total = cpuValues(v).reduce((a, x) => a + readInt(x, 0, 64, false), 0n);
      if (total === 0n && info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY) continue;
      const id = Array.from(keyBytes).join(',');
      let g = groups.get(id);
      if (!g) {
        g = { key: keyOf(keyBytes), counts: new Array<bigint>(nb).fill(0n) };
        groups.set(id, g);
      }
      if (bucket < nb) g.counts[bucket] += total;
    }
    // A scalar histogram always prints (empty after zero()), as bpftrace's does.
    if (!groups.size && !info.keyType) groups.set('', { key: [], counts: new Array<bigint>(nb).fill(0n) });
    for (const g of groups.values()) {
      const buckets = new Map<number, bigint>();
      g.counts.forEach((c, i) => { if (c) buckets.set(i, c); });
      const agg: AggValue = info.agg === 'hist' ? { agg: 'hist', buckets, bits: info.histBits ?? 0 } : { agg: 'lhist', buckets, ...info.lhist! };
      entries.push({ key: g.key, value: { kind: 'agg', agg } });
    }
    return { name: info.name, keyed: !!info.keyType, valueType: info.valueType, entries };
  }
  for await (const [k, v] of map.entries()) {
    const vals = cpuValues(v);
    let value: Value;
    switch (info.agg) {
      case 'count': case 'sum': {
        const total = vals.reduce((a, x) => a + readInt(x, 0, 64, true), 0n);
        value = { kind: 'agg', agg: { agg: info.agg, value: info.agg === 'count' ? BigInt.asUintN(64, total) : total } };
        if (info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY && !vals.some((x) => x.some((b) => b !== 0))) continue;
        break;
      }
      case 'min': case 'max': {
        let best: bigint | undefined;
        for (const x of vals) {
          if (readInt(x, 8, 64, false) === 0n) continue;
          const n = readInt(x, 0, 64, true);
          if (best === undefined || (info.agg === 'min' ? n < best : n > best)) best = n;
        }
        if (best === undefined) continue;
        value = { kind: 'agg', agg: { agg: info.agg, value: best, set: true } };
        break;
      }
      case 'avg': case 'stats': {
        let total = 0n;
        let count = 0n;
        for (const x of vals) {
          total += readInt(x, 0, 64, true);
          count += readInt(x, 8, 64, false);
        }
        if (count === 0n && info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY) continue;
        value = { kind: 'agg', agg: { agg: info.agg, sum: total, count } };
        break;
      }
      default:
        value = decodeValue(info.valueType, vals[0], 0);
    }
    entries.push({ key: keyOf(k), value });
  }
  return { name: info.name, keyed: !!info.keyType, valueType: info.valueType, entries };
}

/**
 * A time series map: slots of { value, meta, interval number } per key and CPU, reduced as bpftrace does: within a
 * slot, CPUs that wrote the same interval combine (the latest write, or avg/min/max/sum) and the newest interval wins.
 */
async function dumpTSeries(info: MapInfo, map: BpfMap, entries: MapEntry[], keyOf: (k: Uint8Array) => Value[], cpuValues: (v: Uint8Array) => Uint8Array[]): Promise<MapDump> {
  const args = info.tseries!;
  const signed = info.valueType.kind === 'agg' && info.valueType.signed;
  const groups = new Map<string, { key: Value[]; points: Map<bigint, bigint> }>();
  const lt = (a: bigint, b: bigint): boolean => (signed ? BigInt.asIntN(64, a) < BigInt.asIntN(64, b) : a < b);
  for await (const [k, v] of map.entries()) {
    const keyBytes = info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY ? new Uint8Array(0) : k.subarray(0, k.length - 8);
    const byEpoch = new Map<bigint, { value: bigint; meta: bigint }>();
    let latest = -1n;
    for (const x of cpuValues(v)) {
      const value = readInt(x, 0, 64, false);
      const meta = readInt(x, 8, 64, false);
      const stored = readInt(x, 16, 64, false);
      // Stored plus one: 0 is a slot never written.
      if (stored === 0n) continue;
      const epoch = stored - 1n;
      if (epoch > latest) latest = epoch;
      const cur = byEpoch.get(epoch);
      if (!cur) {
        byEpoch.set(epoch, { value, meta });
        continue;
      }
      switch (args.agg) {
        case 'none': if (meta > cur.meta) byEpoch.set(epoch, { value, meta }); break;
        case 'avg': byEpoch.set(epoch, { value: cur.value + value, meta: cur.meta + meta }); break;
        case 'sum': byEpoch.set(epoch, { value: cur.value + value, meta: cur.meta }); break;
        case 'min': if (lt(value, cur.value)) byEpoch.set(epoch, { value, meta }); break;
        case 'max': if (lt(cur.value, value)) byEpoch.set(epoch, { value, meta }); break;
      }
    }
    if (byEpoch.size === 0) continue;
    const id = Array.from(keyBytes).join(',');
    let g = groups.get(id);
    if (!g) {
      g = { key: keyOf(keyBytes), points: new Map() };
      groups.set(id, g);
    }
    const r = byEpoch.get(latest)!;
    const value = args.agg === 'avg' ? (signed ? BigInt.asIntN(64, r.value) / BigInt.asIntN(64, r.meta || 1n) : r.value / (r.meta || 1n)) : r.value;
    g.points.set(latest, BigInt.asUintN(64, value));
  }
  for (const g of groups.values()) entries.push({ key: g.key, value: { kind: 'agg', agg: { agg: 'tseries', points: g.points, args, signed } } });
  return { name: info.name, keyed: !!info.keyType, valueType: info.valueType, entries };
}

/** The zero value of a map's value type (what print() of an unset scalar map shows). */
export function zeroValue(info: MapInfo): Value {
  switch (info.agg) {
    case 'count': case 'sum': return { kind: 'agg', agg: { agg: info.agg, value: 0n } };
    case 'min': case 'max': return { kind: 'agg', agg: { agg: info.agg, value: 0n, set: false } };
    case 'avg': case 'stats': return { kind: 'agg', agg: { agg: info.agg, sum: 0n, count: 0n } };
    case 'hist': return { kind: 'agg', agg: { agg: 'hist', buckets: new Map(), bits: info.histBits ?? 0 } };
    case 'lhist': return { kind: 'agg', agg: { agg: 'lhist', buckets: new Map(), ...info.lhist! } };
    case 'tseries': return { kind: 'agg', agg: { agg: 'tseries', points: new Map(), args: info.tseries!, signed: info.valueType.kind === 'agg' && info.valueType.signed } };
    default: return decodeValue(info.valueType, new Uint8Array(Math.max(8, sizeOf(info.valueType))), 0);
  }
}

/** Enum-typed ints as their enumerator names (text output only; JSON keeps numbers). */
export function symbolize(v: Value, enums: Map<string, Map<bigint, string>>): Value {
  switch (v.kind) {
    case 'int': {
      const t = v.type;
      if (t.kind !== 'int' || t.enumName === undefined) return v;
      const name = enums.get(t.enumName)?.get(BigInt.asUintN(64, v.value));
      return name === undefined ? v : { kind: 'text', value: name };
    }
    case 'tuple': return { ...v, elems: v.elems.map((e) => symbolize(e, enums)) };
    case 'record': return { ...v, fields: v.fields.map((f) => ({ name: f.name, value: symbolize(f.value, enums) })) };
    default: return v;
  }
}

/** printf `%s` of an enum value prints the enumerator's name. */
export function enumNames(fmt: string, values: Value[], args: { type: TraceType }[], enums: Map<string, Map<bigint, string>>): Value[] {
  const convs = [...fmt.replace(/%%/g, '').matchAll(/%[-+ #0]*[0-9]*(?:\.[0-9]+)?(?:hh|h|ll|l|j|z|t)?([a-zA-Z])/g)].map((m) => m[1]);
  return values.map((v, i) => {
    const t = args[i].type;
    if (v.kind !== 'int' || t.kind !== 'int' || t.enumName === undefined || convs[i] !== 's') return v;
    const name = enums.get(t.enumName)?.get(v.value);
    return { kind: 'string', value: name ?? String(v.value) };
  });
}


/** Fills the frames of kstack/ustack values from the stack map (`lookup(id)` gives the map value: u64 addresses, 0-terminated). */
export function resolveStacks(v: Value, lookup: (id: number) => Uint8Array | undefined): Value {
  switch (v.kind) {
    case 'stack': {
      if (v.id === undefined) return v;
      const bytes = lookup(v.id);
      const frames: bigint[] = [];
      for (let off = 0; bytes && off + 8 <= bytes.length; off += 8) {
        const a = readInt(bytes, off, 64, false);
        if (a === 0n) break;
        frames.push(a);
      }
      return { ...v, frames };
    }
    case 'tuple': return { ...v, elems: v.elems.map((e) => resolveStacks(e, lookup)) };
    case 'record': return { ...v, fields: v.fields.map((f) => ({ name: f.name, value: resolveStacks(f.value, lookup) })) };
    default: return v;
  }
}
