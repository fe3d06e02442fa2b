// Kernel maps through bpf(): the real kernel's answers, and the fake seam replaying the same operations must agree.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapError, MapType, createMap } from '../../src/ebpf/index.js';
import type { MapSpec } from '../../src/ebpf/index.js';
import { FakeSys, Kernel, KernelMap, SyscallError } from '../../src/kernel/index.js';
import { kernelSkip, mountPrivateBpffs } from './helpers/kernel.js';

const why = await kernelSkip('kernel maps');
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64 = (n: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, n, true); return b; };

describe.skipIf(why !== undefined)('kernel maps', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  it('hash map: lookups, NOEXIST/EXIST, full map, delete and iteration, as the kernel answers them', async () => {
    using m = kernel.createMap({ name: 'h', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 3 });
    expect(m.get(u32(1))).toBeUndefined();
    m.set(u32(1), u64(100n));
    m.set(u32(2), u64(200n), 1);
    expect(() => m.set(u32(2), u64(0n), 1)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
    expect(() => m.set(u32(9), u64(0n), 2)).toThrow(expect.objectContaining({ errnoName: 'ENOENT' }));
    m.set(u32(3), u64(300n));
    expect(() => m.set(u32(4), u64(400n))).toThrow(expect.objectContaining({ errnoName: 'E2BIG' }));
    const seen = new Map<number, bigint>();
    for await (const [k, v] of m.entries()) seen.set(k[0], new DataView(v.buffer).getBigUint64(0, true));
    expect(seen).toEqual(new Map([[1, 100n], [2, 200n], [3, 300n]]));
    m.delete(u32(2));
    expect(() => m.delete(u32(2))).toThrow(expect.objectContaining({ errnoName: 'ENOENT' }));
    const keys: number[] = [];
    for await (const k of m.keys()) keys.push(k[0]);
    expect(keys.sort()).toEqual([1, 3]);
    expect(m.info()).toMatchObject({ type: 1, keySize: 4, valueSize: 8, maxEntries: 3, name: 'h' });
  });

  it('array map: zero-filled, E2BIG past the end, delete is EINVAL', async () => {
    using m = kernel.createMap({ name: 'a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(m.get(u32(3))).toEqual(u32(0));
    expect(m.get(u32(4))).toBeUndefined();
    expect(() => m.set(u32(4), u32(1))).toThrow(expect.objectContaining({ errnoName: 'E2BIG' }));
    expect(() => m.delete(u32(0))).toThrow(expect.objectContaining({ errnoName: 'EINVAL' }));
    m.set(u32(2), u32(0xdead));
    const all: number[] = [];
    for await (const [, v] of m.entries()) all.push(new DataView(v.buffer).getUint32(0, true));
    expect(all).toEqual([0, 0, 0xdead, 0]);
  });

  it('batch update, lookup and delete across several chunks', () => {
    using m = kernel.createMap({ name: 'b', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1000 });
    const entries = Array.from({ length: 700 }, (_, i) => [u32(i * 7), u32(i)] as const);
    expect(m.updateBatch(entries)).toBe(700);
    const got = m.lookupBatch(64);
    expect(got.length).toBe(700);
    const asMap = new Map(got.map(([k, v]) => [new DataView(k.buffer).getUint32(0, true), new DataView(v.buffer).getUint32(0, true)]));
    for (let i = 0; i < 700; i++) expect(asMap.get(i * 7)).toBe(i);
    expect(m.deleteBatch(entries.slice(0, 500).map(([k]) => k))).toBe(500);
    expect(m.lookupBatch().length).toBe(200);
  });

  it('per-CPU array values hold one slot per possible CPU', () => {
    using m = kernel.createMap({ name: 'pc', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(m.valueBytes).toBe(8 * kernel.possibleCpus);
    const v = new Uint8Array(m.valueBytes);
    for (let c = 0; c < kernel.possibleCpus; c++) v[c * 8] = c + 1;
    m.set(u32(0), v);
    expect(m.get(u32(0))).toEqual(v);
  });

  it('map-in-map: the outer map is created from the inner spec', () => {
    const inner: MapSpec = { name: 'in', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };
    using outer = kernel.createMap({ name: 'out', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: inner });
    using i = kernel.createMap(inner);
    outer.set(u32(1), u32(i.fd));
    // Lookups from user space return the inner map's id.
    expect(new DataView(outer.get(u32(1))!.buffer).getUint32(0, true)).toBe(i.info().id);
  });

  it('queue and stack maps: push, peek, pop in their orders', () => {
    using q = kernel.createMap({ name: 'q', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 3 });
    using s = kernel.createMap({ name: 's', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 3 });
    for (const n of [1, 2, 3]) { q.push(u32(n)); s.push(u32(n)); }
    expect(() => q.push(u32(4))).toThrow(expect.objectContaining({ errnoName: 'E2BIG' }));
    q.push(u32(4), 2); // BPF_EXIST: drop the oldest
    expect(q.peek()).toEqual(u32(2));
    expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([u32(2), u32(3), u32(4), undefined]);
    expect([s.pop(), s.pop(), s.pop(), s.pop()]).toEqual([u32(3), u32(2), u32(1), undefined]);
  });

  it('errors name the map and the errno, with a hint', () => {
    let err: unknown;
    try {
      kernel.createMap({ name: 'zero', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 0 });
    } catch (e) {
      err = e;
    }
    // The VM's error for the same refusal: a MapError with the kernel's errno.
    expect(err).toBeInstanceOf(MapError);
    expect((err as MapError).message).toBe('create map "zero": invalid argument (EINVAL)');
    expect((err as MapError).errno).toBe(22);
    expect(() => createMap({ name: 'zero', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 0 })).toThrowError(expect.objectContaining({ errno: 22 }) as Error);
  });

  describe('pinning on a private bpffs', () => {
    let fs: { dir: string; cleanup(): void };
    beforeAll(() => {
      fs = mountPrivateBpffs();
    });
    afterAll(() => fs?.cleanup());

    it('pins, reopens with the spec from the kernel, and shares the contents', () => {
      using m = kernel.createMap({ name: 'pinme', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
      m.set(u32(1), u32(11));
      m.pin(`${fs.dir}/pinme`);
      using again = kernel.openPinnedMap(`${fs.dir}/pinme`);
      expect(again.spec).toMatchObject({ name: 'pinme', type: 1, keySize: 4, valueSize: 4, maxEntries: 8 });
      again.set(u32(2), u32(22));
      expect(m.get(u32(2))).toEqual(u32(22));
      expect(() => m.pin(`${fs.dir}/pinme`)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
    });
  });

  it('the fake seam answers random operation sequences exactly as the kernel does (hash and array)', () => {
    type Op = { op: 'get' | 'set' | 'del' | 'next'; key: number; value: number; flags: number };
    const opArb = fc.record({ op: fc.constantFrom('get' as const, 'set' as const, 'del' as const, 'next' as const), key: fc.integer({ min: 0, max: 6 }), value: fc.integer({ min: 0, max: 0xffff }), flags: fc.integer({ min: 0, max: 2 }) });
    const run = (m: KernelMap, ops: Op[]) => ops.map(({ op, key, value, flags }) => {
      try {
        if (op === 'get') return m.get(u32(key))?.join(',') ?? 'none';
        if (op === 'set') { m.set(u32(key), u32(value), flags); return 'ok'; }
        if (op === 'del') { m.delete(u32(key)); return 'ok'; }
        // Hash order differs between kernel and fake; only "has a next key" is comparable.
        return m.nextKey(u32(key)) === undefined ? 'end' : 'more';
      } catch (e) {
        return e instanceof SyscallError || e instanceof MapError ? e.errnoName : String(e);
      }
    });
    const fake = new FakeSys();
    fc.assert(fc.property(fc.constantFrom(MapType.BPF_MAP_TYPE_HASH, MapType.BPF_MAP_TYPE_ARRAY), fc.array(opArb, { maxLength: 30 }), (type, ops) => {
      const spec: MapSpec = { name: 'diff', type, keySize: 4, valueSize: 4, maxEntries: 4 };
      using real = kernel.createMap(spec);
      using f = KernelMap.create(fake, spec);
      // 'next' on hash maps depends on order; compare it only for arrays.
      const cmp = type === MapType.BPF_MAP_TYPE_HASH ? ops.filter((o) => o.op !== 'next') : ops;
      expect(run(f, cmp)).toEqual(run(real, cmp));
    }), { numRuns: 150 });
  });
});
