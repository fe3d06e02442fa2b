// One contract for both backends: the same cases run against the VM (unit project) and the kernel (kernel project), so loaded programs, maps, collections and their errors have one shape.
import { describe, expect, it } from 'vitest';
import {
  MapType, ProgType, assembleLlvm,
  type BpfMap, type BpfProgram, type CollectionBackend, type MapSpec, type ProgramSpec,
} from '../../src/ebpf/index.js';
import { loadCollection, type CollectionSpec } from '../../src/elf/index.js';

/** What a backend offers the contract: load a spec, create a map, and load collections. */
export interface ContractBackend {
  name: string;
  load(spec: ProgramSpec): BpfProgram & { readonly maps: ReadonlyMap<string, unknown> };
  createMap(spec: MapSpec): BpfMap;
  collections: CollectionBackend;
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const COUNTS: MapSpec = { name: 'counts', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 };
const HASH: MapSpec = { name: 'seen', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 };

/** XDP: counts[0] += packet length; returns XDP_PASS. */
const COUNTER: ProgramSpec = {
  name: 'count_len', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', maps: [COUNTS],
  insns: assembleLlvm(`
    r6 = r1
    r1 = 0
    *(u32 *)(r10 - 4) = r1
    r2 = r10
    r2 += -4
    r1 = map[counts]
    call 1
    if r0 == 0 goto out
    r2 = *(u32 *)(r6 + 0)
    r3 = *(u32 *)(r6 + 4)
    r3 -= r2
    r1 = *(u64 *)(r0 + 0)
    r1 += r3
    *(u64 *)(r0 + 0) = r1
  out:
    r0 = 2
    exit`),
};

/** A hand-made collection spec: one program, one map, a `.rodata`-style frozen map. */
function collectionSpec(): CollectionSpec {
  const ro: MapSpec = { name: '.rodata', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x480, initialValue: u32(9) };
  return { programs: new Map([['count_len', COUNTER]]), maps: new Map([['counts', COUNTS], ['.rodata', ro]]), license: 'GPL', version: 0 };
}

/** Registers the contract's cases for one backend. */
export function backendContract(backend: () => ContractBackend | undefined): void {
  describe('backend contract', () => {
    it('a loaded program runs like BPF_PROG_TEST_RUN and has its maps by name', async () => {
      const b = backend()!;
      using p = b.load(COUNTER);
      const r = await p.testRun({ data: new Uint8Array(60) });
      expect(r.retval).toBe(2);
      expect(r.dataOut.length).toBe(60);
      expect([...p.maps.keys()]).toEqual(['counts']);
      const counts = p.maps.get('counts') as BpfMap;
      expect(new DataView(counts.get(u32(0))!.buffer).getBigUint64(0, true)).toBe(60n);
    });

    it('a test run the kernel refuses is refused with the same errno', async () => {
      const b = backend()!;
      using p = b.load(COUNTER);
      await expect(Promise.resolve().then(() => p.testRun({ data: new Uint8Array(13) }))).rejects.toMatchObject({ errno: 22 });
    });

    it('map operations: values, missing keys, and errors with the errno', async () => {
      const b = backend()!;
      using m = b.createMap(HASH);
      m.set(u32(1), u32(10));
      expect([...m.get(u32(1))!]).toEqual([...u32(10)]);
      expect(m.get(u32(2))).toBeUndefined();
      expect(() => m.set(u32(1), u32(11), 1 /* BPF_NOEXIST */)).toThrowError(expect.objectContaining({ errno: 17, errnoName: 'EEXIST' }) as Error);
      m.set(u32(2), u32(20));
      expect(() => m.set(u32(3), u32(30))).toThrowError(expect.objectContaining({ errno: 7 }) as Error);
      expect(() => m.delete(u32(5))).toThrowError(expect.objectContaining({ errno: 2 }) as Error);
      const keys: number[] = [];
      for await (const k of m.keys()) keys.push(new DataView(k.buffer, k.byteOffset).getUint32(0, true));
      expect(keys.sort()).toEqual([1, 2]);
      expect(() => b.createMap({ ...HASH, maxEntries: 0 })).toThrowError(expect.objectContaining({ errno: 22 }) as Error);
    });

    it('a collection owns its maps and programs, keyed alike, .rodata frozen', async () => {
      const b = backend()!;
      const coll = loadCollection(collectionSpec(), b.collections, { name: 'contract' });
      expect([...coll.maps.keys()].sort()).toEqual(['.rodata', 'counts']);
      expect([...coll.programs.keys()]).toEqual(['count_len']);
      expect(coll.map('.rodata').spec.name).toBe('contract.rodata');
      expect([...coll.map('.rodata').get(u32(0))!]).toEqual([...u32(9)]);
      expect(() => coll.map('.rodata').set(u32(0), u32(1))).toThrowError(expect.objectContaining({ errno: 1 }) as Error);
      expect((await coll.program('count_len').testRun({ data: new Uint8Array(20) })).retval).toBe(2);
      expect(new DataView(coll.map('counts').get(u32(0))!.buffer).getBigUint64(0, true)).toBe(20n);
      expect(() => coll.program('nope')).toThrowError(expect.objectContaining({ code: 'E_COLL_PROGRAM' }) as Error);
      coll.close();
      expect(() => coll.map('counts').get(u32(0))).toThrowError();
    });
  });
}
