// Arrays and per-CPU arrays: zero-filled slots by index, update flags, in-place views, iteration.
import { describe, expect, it } from 'vitest';
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, ArrayMap, MapError, MapFlags, MapType, arrayKey, createMap,
} from '../../src/ebpf/index.js';
import { errno } from '../helpers/maps.js';
import { UsageError } from '../../src/util/index.js';


const spec = { name: 'arr', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 6, maxEntries: 4 };

describe('array map, syscall side', () => {
  it('starts zeroed, stores and reads values by index', () => {
    const m = createMap(spec);
    expect(m.get(arrayKey(3))).toEqual(new Uint8Array(6));
    m.set(arrayKey(2), Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(m.get(arrayKey(2))).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6));
    m.set(arrayKey(2), Uint8Array.of(9, 9, 9, 9, 9, 9), BPF_EXIST);
    expect(m.get(arrayKey(2))?.[0]).toBe(9);
  });

  it('returns errors as the kernel does', () => {
    const m = createMap(spec);
    const v = new Uint8Array(6);
    expect(m.get(arrayKey(4))).toBeUndefined();
    expect(errno(() => m.set(arrayKey(4), v))).toBe('E2BIG');
    expect(errno(() => m.set(arrayKey(0), v, BPF_NOEXIST))).toBe('EEXIST');
    expect(errno(() => m.set(arrayKey(4), v, BPF_NOEXIST))).toBe('E2BIG');
    expect(errno(() => m.set(arrayKey(0), v, 3))).toBe('EINVAL');
    expect(errno(() => m.set(arrayKey(0), v, BPF_F_LOCK))).toBe('EINVAL');
    expect(errno(() => m.delete(arrayKey(0)))).toBe('EINVAL');
    expect(errno(() => m.lookupAndDelete(arrayKey(0)))).toBe('ENOTSUPP');
    expect(() => m.get(new Uint8Array(8))).toThrow(UsageError);
    expect(() => m.set(arrayKey(0), new Uint8Array(5))).toThrow(UsageError);
  });

  it('iterates in index order; a missing key restarts at 0', async () => {
    const m = createMap(spec);
    expect(m.nextKey()).toEqual(arrayKey(0));
    expect(m.nextKey(arrayKey(1))).toEqual(arrayKey(2));
    expect(m.nextKey(arrayKey(3))).toBeUndefined();
    expect(m.nextKey(arrayKey(100))).toEqual(arrayKey(0));
    const keys: number[] = [];
    for await (const k of m.keys()) keys.push(k[0]);
    expect(keys).toEqual([0, 1, 2, 3]);
    m.set(arrayKey(1), Uint8Array.of(7, 0, 0, 0, 0, 0));
    const entries: [number, number][] = [];
    for await (const [k, v] of m.entries()) entries.push([k[0], v[0]]);
    expect(entries).toEqual([[0, 0], [1, 7], [2, 0], [3, 0]]);
  });

  it('closes: later calls say EBADF, and using works', () => {
    let m0: ReturnType<typeof createMap>;
    {
      using m = createMap(spec);
      m0 = m;
    }
    expect(errno(() => m0.get(arrayKey(0)))).toBe('EBADF');
  });
});

describe('array map, program side', () => {
  it('lookupElem returns a live view that writes through', () => {
    const m = createMap(spec);
    const v = m.lookupElem(arrayKey(1));
    expect(v?.length).toBe(6);
    v![0] = 42;
    expect(m.get(arrayKey(1))?.[0]).toBe(42);
    m.set(arrayKey(1), Uint8Array.of(5, 5, 5, 5, 5, 5));
    expect(v![0]).toBe(5);
    expect(m.lookupElem(arrayKey(1))).toBe(v);
    expect(m.lookupElem(arrayKey(4))).toBeUndefined();
  });

  it('helper returns are negative errnos', () => {
    const m = createMap(spec);
    const v = new Uint8Array(6);
    expect(m.updateElem(arrayKey(0), v, BPF_ANY)).toBe(0);
    expect(m.updateElem(arrayKey(9), v, BPF_ANY)).toBe(-7);
    expect(m.updateElem(arrayKey(0), v, BPF_NOEXIST)).toBe(-17);
    expect(m.updateElem(arrayKey(0), v, 7)).toBe(-22);
    expect(m.deleteElem(arrayKey(0))).toBe(-22);
  });

  it('for_each visits indexes in order and counts the one that stopped it', () => {
    const m = createMap(spec);
    const seen: number[] = [];
    expect(m.forEachElem((k) => (seen.push(k[0]), k[0] === 2 ? 1 : 0))).toBe(3);
    expect(seen).toEqual([0, 1, 2]);
    expect(m.forEachElem(() => 0)).toBe(4);
    expect(m.forEachElem(() => 0, 1)).toBe(-22);
  });

  it('an mmapable array shows values in its mmap area, 8-byte strided', () => {
    const m = createMap({ ...spec, flags: MapFlags.BPF_F_MMAPABLE }) as ArrayMap;
    m.set(arrayKey(1), Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect([...m.mmap().subarray(8, 14)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => (createMap(spec) as ArrayMap).mmap()).toThrow(MapError);
  });
});

describe('per-CPU array', () => {
  const pspec = { ...spec, type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY };

  it('syscall values are every CPU value rounded up to 8 bytes, concatenated', () => {
    const m = createMap(pspec, { cpus: 3 });
    expect(m.syscallValueSize).toBe(24);
    m.lookupElem(arrayKey(0), 1)!.set([7, 7]);
    m.updateElem(arrayKey(0), Uint8Array.of(1, 1, 1, 1, 1, 1), BPF_ANY, 2);
    const v = m.get(arrayKey(0))!;
    expect([...v]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 7, 7, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    const all = new Uint8Array(24);
    for (let i = 0; i < 24; i++) all[i] = i;
    m.set(arrayKey(3), all);
    expect([...m.lookupPercpuElem(arrayKey(3), 1)!]).toEqual([8, 9, 10, 11, 12, 13]);
    expect(m.lookupPercpuElem(arrayKey(3), 3)).toBeUndefined();
    // Padding travels too: Linux 6.18 copies whole 8-byte-rounded slots on update and lookup.
    expect([...m.get(arrayKey(3))!.subarray(6, 8)]).toEqual([6, 7]);
  });
});

describe('CPU indexes', () => {
  it('a CPU the map was not created for is a usage error, not a crash', () => {
    const m = createMap({ ...spec, type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY }, { cpus: 2 });
    expect(() => m.lookupElem(arrayKey(0), 2)).toThrow(UsageError);
    const h = createMap({ ...spec, type: MapType.BPF_MAP_TYPE_LRU_HASH }, { cpus: 2 });
    expect(() => h.updateElem(arrayKey(0), new Uint8Array(6), BPF_ANY, 5)).toThrow(UsageError);
  });
});
