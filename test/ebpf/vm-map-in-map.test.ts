// Maps of maps from programs in the VM: bpf_map_lookup_elem on an array or hash of maps gives the inner map, which map helpers then take; on both engines.
import { describe, expect, it } from 'vitest';
import { MapType, ProgType, type MapSpec } from '../../src/ebpf/spec.js';
import { arrayKey, createMap, handleOf, type ArrayOfMapsMap, type HashOfMapsMap } from '../../src/ebpf/maps/index.js';
import { load, type EngineKind } from '../../src/ebpf/vm/index.js';
import { asm } from './vm-support.js';

const ENGINES: EngineKind[] = ['interp', 'jit'];
const INNER: MapSpec = { name: 'inner', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 };
const u32 = (v: Uint8Array | undefined): number => new DataView(v!.buffer, v!.byteOffset).getUint32(0, true);

/** outer[key] → inner map; inner[0] += 1 and returned; 100 when the outer has no such key. */
const PROGRAM = (key: number): string => `
  *(u32 *)(r10 - 4) = ${key}
  r1 = map:outer ll
  r2 = r10
  r2 += -4
  call 1
  if r0 != 0 goto found
  r0 = 100
  exit
found:
  r1 = r0
  *(u32 *)(r10 - 4) = 0
  r2 = r10
  r2 += -4
  call 1
  if r0 != 0 goto value
  r0 = 200
  exit
value:
  r1 = *(u32 *)(r0 + 0)
  r1 += 1
  *(u32 *)(r0 + 0) = r1
  r0 = r1
  exit
`;

describe.each(ENGINES)('maps of maps from programs (%s)', (engine) => {
  for (const type of [MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]) {
    const outerSpec: MapSpec = { name: 'outer', type, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER };
    const kind = type === MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS ? 'array' : 'hash';
    const mk = (key: number, outer: ArrayOfMapsMap | HashOfMapsMap) =>
      load({ name: 't', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(PROGRAM(key)), license: 'GPL', maps: [outerSpec] }, { engine, maps: { outer } });

    it(`${kind} of maps: the inner map's value is changed in place`, () => {
      const outer = createMap(outerSpec) as ArrayOfMapsMap | HashOfMapsMap;
      const inner = createMap(INNER);
      inner.set(arrayKey(0), arrayKey(41));
      outer.set(arrayKey(2), arrayKey(handleOf(inner)));
      const p = mk(2, outer);
      expect(p.run().r0).toBe(42n);
      expect(p.run().r0).toBe(43n);
      expect(u32(inner.get(arrayKey(0)))).toBe(43);
    });

    it(`${kind} of maps: a missing outer key gives NULL`, () => {
      const outer = createMap(outerSpec) as ArrayOfMapsMap | HashOfMapsMap;
      const p = mk(1, outer);
      expect(p.run().r0).toBe(100n);
      // Past an array's end is NULL too, not a fault.
      expect(mk(9, outer).run().r0).toBe(100n);
    });

    it(`${kind} of maps: replacing the inner map between runs is seen by the next run`, () => {
      const outer = createMap(outerSpec) as ArrayOfMapsMap | HashOfMapsMap;
      const a = createMap(INNER);
      const b = createMap(INNER);
      a.set(arrayKey(0), arrayKey(10));
      b.set(arrayKey(0), arrayKey(20));
      outer.set(arrayKey(0), arrayKey(handleOf(a)));
      const p = mk(0, outer);
      expect(p.run().r0).toBe(11n);
      outer.set(arrayKey(0), arrayKey(handleOf(b)));
      expect(p.run().r0).toBe(21n);
      expect([u32(a.get(arrayKey(0))), u32(b.get(arrayKey(0)))]).toEqual([11, 21]);
      outer.delete(arrayKey(0));
      expect(p.run().r0).toBe(100n);
    });
  }
});
