// Hash and per-CPU hash maps: flags, fullness, the kernel's bucket iteration order, and a model test.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, HashMap, MapFlags, MapType, createMap, jhash,
} from '../../src/ebpf/index.js';
import { errno } from '../helpers/maps.js';

const k4 = (n: number): Uint8Array => Uint8Array.of(n & 255, (n >> 8) & 255, 0, 0);
const v8 = (n: number): Uint8Array => Uint8Array.of(n & 255, 0, 0, 0, 0, 0, 0, n >> 8);
const spec = { name: 'h', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 };

async function allKeys(m: { keys(): AsyncIterableIterator<Uint8Array> }): Promise<number[]> {
  const out: number[] = [];
  for await (const k of m.keys()) out.push(k[0] | (k[1] << 8));
  return out;
}

describe('jhash', () => {
  it('matches lookup3 reference values', () => {
    // From Bob Jenkins' lookup3.c driver: hashlittle("", 0) = 0xdeadbeef, hashlittle("Four score and seven years ago", 0) = 0x17770551.
    expect(jhash(new Uint8Array(0), 0)).toBe(0xdeadbeef);
    expect(jhash(new TextEncoder().encode('Four score and seven years ago'), 0)).toBe(0x17770551);
    expect(jhash(new TextEncoder().encode('Four score and seven years ago'), 1)).toBe(0xcd628161);
  });
});

describe('hash map, syscall side', () => {
  it('stores, replaces, deletes, with the kernel errnos', () => {
    const m = createMap(spec);
    expect(m.get(k4(1))).toBeUndefined();
    expect(errno(() => m.set(k4(1), v8(1), BPF_EXIST))).toBe('ENOENT');
    m.set(k4(1), v8(1), BPF_NOEXIST);
    expect(errno(() => m.set(k4(1), v8(2), BPF_NOEXIST))).toBe('EEXIST');
    m.set(k4(1), v8(3), BPF_EXIST);
    expect(m.get(k4(1))).toEqual(v8(3));
    expect(errno(() => m.set(k4(1), v8(3), 3))).toBe('EINVAL');
    expect(errno(() => m.set(k4(1), v8(3), BPF_F_LOCK))).toBe('EINVAL');
    m.delete(k4(1));
    expect(errno(() => m.delete(k4(1)))).toBe('ENOENT');
  });

  it('says E2BIG for a new key when full, but replaces existing keys', () => {
    const m = createMap(spec);
    for (let i = 0; i < 4; i++) m.set(k4(i), v8(i));
    expect(errno(() => m.set(k4(9), v8(9)))).toBe('E2BIG');
    expect(errno(() => m.set(k4(9), v8(9), BPF_EXIST))).toBe('ENOENT');
    m.set(k4(2), v8(22));
    expect(m.get(k4(2))).toEqual(v8(22));
    m.delete(k4(0));
    m.set(k4(9), v8(9));
    expect((m as HashMap).size).toBe(4);
  });

  it('walks keys in the order Linux 6.18 dumps a BPF_F_ZERO_SEED hash', async () => {
    // Observed with bpftool: keys 1..12 (u32) into 16 entries; keys [i,0,0,0,9] into 7 entries.
    const a = createMap({ ...spec, maxEntries: 16, valueSize: 4, flags: MapFlags.BPF_F_ZERO_SEED });
    for (let i = 1; i <= 12; i++) a.set(k4(i), new Uint8Array(4));
    expect(await allKeys(a)).toEqual([10, 4, 5, 7, 2, 1, 8, 12, 11, 9, 6, 3]);
    const b = createMap({ ...spec, keySize: 5, maxEntries: 7, valueSize: 4, flags: MapFlags.BPF_F_ZERO_SEED });
    for (let i = 1; i <= 7; i++) b.set(Uint8Array.of(i, 0, 0, 0, 9), new Uint8Array(4));
    const order: number[] = [];
    for await (const k of b.keys()) order.push(k[0]);
    expect(order).toEqual([5, 4, 7, 3, 6, 2, 1]);
  });

  it('nextKey of a missing key is the first key; deleting while iterating visits each survivor', async () => {
    const m = createMap({ ...spec, maxEntries: 64 });
    for (let i = 0; i < 40; i++) m.set(k4(i), v8(i));
    const first = m.nextKey();
    expect(m.nextKey(k4(1000))).toEqual(first);
    const seen = new Set<number>();
    for await (const k of m.keys()) {
      const n = k[0];
      seen.add(n);
      if (n % 2 === 0) m.delete(k);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect((await allKeys(m)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
  });

  it('BPF_F_RDONLY / BPF_F_WRONLY deny the syscall side with EPERM, as Linux 6.18 does', () => {
    const ro = createMap({ ...spec, flags: MapFlags.BPF_F_RDONLY });
    expect([errno(() => ro.set(k4(9), v8(0))), errno(() => ro.get(k4(9))), errno(() => ro.delete(k4(9))), errno(() => ro.nextKey(k4(9))), errno(() => ro.lookupAndDelete(k4(9)))])
      .toEqual(['EPERM', undefined, 'EPERM', undefined, 'EPERM']);
    const wo = createMap({ ...spec, flags: MapFlags.BPF_F_WRONLY });
    expect([errno(() => wo.set(k4(9), v8(0))), errno(() => wo.get(k4(9))), errno(() => wo.delete(k4(8))), errno(() => wo.nextKey(k4(9))), errno(() => wo.lookupAndDelete(k4(9)))])
      .toEqual([undefined, 'EPERM', 'ENOENT', 'EPERM', 'EPERM']);
    // The program side is not affected by the syscall-side flags.
    expect(ro.updateElem(k4(1), v8(1), BPF_ANY)).toBe(0);
  });

  it('lookupAndDelete returns the value and removes the key', () => {
    const m = createMap(spec);
    m.set(k4(5), v8(5));
    expect(m.lookupAndDelete(k4(5))).toEqual(v8(5));
    expect(m.lookupAndDelete(k4(5))).toBeUndefined();
  });
});

describe('hash map, program side', () => {
  it('lookup views write through until the element is replaced', () => {
    const m = createMap(spec);
    m.updateElem(k4(1), v8(1), BPF_ANY);
    const v = m.lookupElem(k4(1))!;
    v[0] = 99;
    expect(m.get(k4(1))?.[0]).toBe(99);
    expect(m.lookupElem(k4(1))).toBe(v);
    expect(m.updateElem(k4(1), v8(2), BPF_NOEXIST)).toBe(-17);
    expect(m.updateElem(k4(2), v8(2), BPF_EXIST)).toBe(-2);
    expect(m.deleteElem(k4(2))).toBe(-2);
    expect(m.deleteElem(k4(1))).toBe(0);
    expect(m.lookupElem(k4(1))).toBeUndefined();
  });

  it('for_each walks in nextKey order and stops on 1', async () => {
    const m = createMap({ ...spec, maxEntries: 16 });
    for (let i = 0; i < 10; i++) m.set(k4(i), v8(i));
    const seen: number[] = [];
    expect(m.forEachElem((k) => (seen.push(k[0]), 0))).toBe(10);
    expect(seen).toEqual(await allKeys(m));
    expect(m.forEachElem((k) => (k[0] === seen[3] ? 1 : 0))).toBe(4);
  });

  it('per-CPU: a program update zeroes other CPUs for a new key and touches only its CPU after', () => {
    const m = createMap({ ...spec, type: MapType.BPF_MAP_TYPE_PERCPU_HASH, valueSize: 4 }, { cpus: 2 });
    expect(m.updateElem(k4(1), Uint8Array.of(1, 2, 3, 4), BPF_ANY, 1)).toBe(0);
    expect([...m.get(k4(1))!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
    m.updateElem(k4(1), Uint8Array.of(5, 5, 5, 5), BPF_EXIST, 0);
    expect([...m.get(k4(1))!.subarray(0, 12)]).toEqual([5, 5, 5, 5, 0, 0, 0, 0, 1, 2, 3, 4]);
    expect(m.lookupPercpuElem(k4(1), 1)).toEqual(Uint8Array.of(1, 2, 3, 4));
    const all = Uint8Array.of(9, 9, 9, 9, 0, 0, 0, 0, 8, 8, 8, 8, 0, 0, 0, 0);
    m.set(k4(2), all);
    expect(m.lookupElem(k4(2), 1)).toEqual(Uint8Array.of(8, 8, 8, 8));
  });
});

describe('hash map model test', () => {
  it('behaves as a bounded dictionary under random operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.nat(12), value: fc.nat(255), flags: fc.constantFrom(BPF_ANY, BPF_NOEXIST, BPF_EXIST) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.nat(12) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, percpu) => {
      const m = createMap({ ...spec, maxEntries: 6, type: percpu ? MapType.BPF_MAP_TYPE_PERCPU_HASH : MapType.BPF_MAP_TYPE_HASH });
      const model = new Map<number, number>();
      for (const o of ops) {
        if (o.kind === 'set') {
          const exists = model.has(o.key);
          const want = o.flags === BPF_NOEXIST && exists ? 'EEXIST' : o.flags === BPF_EXIST && !exists ? 'ENOENT' : !exists && model.size >= 6 ? 'E2BIG' : undefined;
          expect(errno(() => m.set(k4(o.key), v8(o.value), o.flags))).toBe(want);
          if (!want) model.set(o.key, o.value);
        } else {
          expect(errno(() => m.delete(k4(o.key)))).toBe(model.has(o.key) ? undefined : 'ENOENT');
          model.delete(o.key);
        }
      }
      const keys: number[] = [];
      for (let k = m.nextKey(); k; k = m.nextKey(k)) keys.push(k[0]);
      expect(keys.sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
      for (const [k, v] of model) expect(m.get(k4(k))?.[0]).toBe(v);
    }), { numRuns: 300 });
  });
});
