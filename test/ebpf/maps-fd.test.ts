// Maps of references: perf event arrays, program arrays (tail calls), arrays and hashes of maps.
import { describe, expect, it } from 'vitest';
import {
  ArrayOfMapsMap, BPF_ANY, BPF_EXIST, BPF_F_CURRENT_CPU, HashOfMapsMap, MapFlags, MapType, PerfEventArrayMap,
  PerfEventBuffer, ProgArrayMap, ProgType, arrayIndex, arrayKey, createMap, handleOf, type MapSpec, type ProgramSpec,
} from '../../src/ebpf/index.js';
import { errno } from '../helpers/maps.js';

const prog = (type: ProgramSpec['type']): { spec: ProgramSpec } => ({ spec: { name: 'p', type, insns: [], license: 'GPL' } });

describe('perf event array', () => {
  const spec = { name: 'events', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 };

  it('outputs samples to the current CPU\'s buffer, padded as the kernel pads raw samples', () => {
    const m = createMap(spec, { cpus: 2 }) as PerfEventArrayMap;
    const b0 = m.open(0);
    const b1 = m.open(1);
    expect(m.output(Uint8Array.of(1, 2, 3), BPF_F_CURRENT_CPU, 1)).toBe(0);
    expect(m.output(Uint8Array.of(4, 5, 6, 7), 0, 0)).toBe(0);
    const s1 = b1.read();
    expect(s1.samples.map((s) => [...s.data])).toEqual([[1, 2, 3, 0]]);
    expect(b0.read().samples[0].data.length).toBe(4);
  });

  it('returns the helper errnos', () => {
    const m = createMap(spec, { cpus: 2 }) as PerfEventArrayMap;
    expect(m.output(Uint8Array.of(1), 0, 0)).toBe(-2);
    m.open(0);
    expect(m.output(Uint8Array.of(1), 5, 0)).toBe(-7);
    expect(m.output(Uint8Array.of(1), 0, 1)).toBe(-95);
    expect(m.output(Uint8Array.of(1), 1n << 60n, 0)).toBe(-22);
    const small = new PerfEventBuffer(1, 64);
    m.set(arrayKey(1), arrayKey(handleOf(small)));
    expect(m.output(new Uint8Array(40), BPF_F_CURRENT_CPU, 1)).toBe(0);
    expect(m.output(new Uint8Array(40), BPF_F_CURRENT_CPU, 1)).toBe(-28);
    expect(small.read().lost).toBe(1);
  });

  it('syscall side: LOOKUP is ENOTSUPP, UPDATE takes BPF_ANY and a perf event handle', () => {
    const m = createMap(spec);
    expect(errno(() => m.get(arrayKey(0)))).toBe('ENOTSUPP');
    const buf = new PerfEventBuffer(0);
    expect(errno(() => m.set(arrayKey(0), arrayKey(handleOf(buf)), BPF_EXIST))).toBe('EINVAL');
    expect(errno(() => m.set(arrayKey(2), arrayKey(handleOf(buf))))).toBe('E2BIG');
    expect(errno(() => m.set(arrayKey(0), arrayKey(0x7fffffff)))).toBe('EBADF');
    expect(errno(() => m.set(arrayKey(0), arrayKey(handleOf(m))))).toBe('EINVAL');
    m.set(arrayKey(0), arrayKey(handleOf(buf)));
    m.delete(arrayKey(0));
    expect(errno(() => m.delete(arrayKey(0)))).toBe('ENOENT');
    // Checked against Linux 6.18: an index past the end says E2BIG, an empty slot ENOENT, LOOKUP_AND_DELETE ENOTSUPP.
    expect(errno(() => m.delete(arrayKey(9)))).toBe('E2BIG');
    expect(errno(() => m.lookupAndDelete(arrayKey(0)))).toBe('ENOTSUPP');
  });
});

describe('program array', () => {
  const spec = { name: 'jmp', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 };

  it('holds programs of one type; lookup gives the program id', () => {
    const m = createMap(spec) as ProgArrayMap;
    const a = prog(ProgType.BPF_PROG_TYPE_XDP);
    m.setProgram(1, a);
    expect(m.program(1)).toBe(a);
    expect(m.program(0)).toBeUndefined();
    expect(m.program(7)).toBeUndefined();
    expect(arrayIndex(m.get(arrayKey(1))!)).toBe(handleOf(a));
    expect(m.get(arrayKey(0))).toBeUndefined();
    expect(errno(() => m.setProgram(2, prog(ProgType.BPF_PROG_TYPE_SOCKET_FILTER)))).toBe('EINVAL');
    const b = prog(ProgType.BPF_PROG_TYPE_XDP);
    m.set(arrayKey(2), arrayKey(handleOf(b)));
    expect(m.program(2)).toBe(b);
    expect(m.deleteElem(arrayKey(2))).toBe(0);
    expect(m.program(2)).toBeUndefined();
  });
});

describe('maps of maps', () => {
  const inner: MapSpec = { name: 'in', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 };

  it('array of maps checks inner maps against the inner spec (max_entries too, unless BPF_F_INNER_MAP)', () => {
    const m = createMap({ name: 'outer', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: inner }) as ArrayOfMapsMap;
    const a = createMap(inner);
    m.setInner(0, a);
    expect(m.lookupInner(arrayKey(0))).toBe(a);
    expect(m.lookupInner(arrayKey(1))).toBeUndefined();
    expect(arrayIndex(m.get(arrayKey(0))!)).toBe(handleOf(a));
    expect(errno(() => m.setInner(1, createMap({ ...inner, maxEntries: 8 })))).toBe('EINVAL');
    expect(errno(() => m.setInner(1, createMap({ ...inner, valueSize: 4 })))).toBe('EINVAL');
    const loose = createMap({ name: 'outer', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: { ...inner, flags: MapFlags.BPF_F_INNER_MAP } }) as ArrayOfMapsMap;
    loose.setInner(0, createMap({ ...inner, maxEntries: 8, flags: MapFlags.BPF_F_INNER_MAP }));
    a.close();
    expect(errno(() => m.set(arrayKey(1), arrayKey(handleOf(a) + 0)))).toBe('EBADF');
  });

  it('hash of maps stores inner maps under hash keys', () => {
    const hinner: MapSpec = { ...inner, type: MapType.BPF_MAP_TYPE_HASH };
    const m = createMap({ name: 'outer', type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 8, valueSize: 4, maxEntries: 2, innerMap: hinner }) as HashOfMapsMap;
    const a = createMap({ ...hinner, maxEntries: 100 });
    const key = new Uint8Array(8).fill(3);
    m.setInner(key, a);
    expect(m.lookupInner(key)).toBe(a);
    expect(errno(() => m.setInner(key, a, 1))).toBe('EEXIST');
    expect(errno(() => m.setInner(new Uint8Array(8), createMap(inner)))).toBe('EINVAL');
    expect(errno(() => m.set(new Uint8Array(8), arrayKey(0x7ffffff0), BPF_ANY))).toBe('EBADF');
    expect(errno(() => m.lookupAndDelete(key))).toBe('ENOTSUPP');
    m.delete(key);
    expect(m.lookupInner(key)).toBeUndefined();
  });
});
