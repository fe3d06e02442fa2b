// Every VM map type honours the shared BpfMap contract: lifetime, iteration, and errors carrying errno.
import { describe, expect, it } from 'vitest';
import { MapError, MapFlags, MapType, VM_MAP_TYPES, createMap, handleOf, objectOfHandle, type MapSpec } from '../../src/ebpf/index.js';

const inner: MapSpec = { name: 'in', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };
const specs: MapSpec[] = [
  { name: 'hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'prog_array', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'perf', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'pcpu_hash', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'pcpu_array', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'lru', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'lru_pcpu', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'lpm', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: MapFlags.BPF_F_NO_PREALLOC },
  { name: 'aom', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, innerMap: inner },
  { name: 'hom', type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, innerMap: inner },
  { name: 'queue', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 8 },
  { name: 'stack', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 8 },
  { name: 'ringbuf', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
  { name: 'bloom', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8 },
  { name: 'devmap', type: MapType.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'devmap_hash', type: MapType.BPF_MAP_TYPE_DEVMAP_HASH, keySize: 4, valueSize: 8, maxEntries: 8 },
  { name: 'cpumap', type: MapType.BPF_MAP_TYPE_CPUMAP, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'xskmap', type: MapType.BPF_MAP_TYPE_XSKMAP, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'sockmap', type: MapType.BPF_MAP_TYPE_SOCKMAP, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'sockhash', type: MapType.BPF_MAP_TYPE_SOCKHASH, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'reuseport', type: MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'cgroup_array', type: MapType.BPF_MAP_TYPE_CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'sk_storage', type: MapType.BPF_MAP_TYPE_SK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: MapFlags.BPF_F_NO_PREALLOC },
  { name: 'cg_storage', type: MapType.BPF_MAP_TYPE_CGROUP_STORAGE, keySize: 16, valueSize: 8, maxEntries: 0 },
  { name: 'pcpu_cg_storage', type: MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, keySize: 8, valueSize: 8, maxEntries: 0 },
];

describe('BpfMap contract', () => {
  it('covers every type the VM has', () => {
    expect(new Set(specs.map((s) => s.type))).toEqual(new Set(VM_MAP_TYPES.keys()));
  });

  for (const spec of specs) {
    it(`${spec.name}: iterates or fails with an errno, and refuses use after dispose`, async () => {
      let handle = 0;
      {
        using m = createMap(spec, { cpus: 2 });
        expect(m.spec).toEqual(spec);
        expect(m.spec).not.toBe(spec);
        handle = handleOf(m);
        expect(objectOfHandle(handle)).toBe(m);
        try {
          const keys: Uint8Array[] = [];
          for await (const k of m.keys()) keys.push(k);
          for (const k of keys) expect(k.length).toBe(spec.keySize);
          const entries: [Uint8Array, Uint8Array][] = [];
          for await (const e of m.entries()) entries.push(e);
          expect(entries.length).toBeLessThanOrEqual(keys.length);
        } catch (e) {
          expect(e).toBeInstanceOf(MapError);
          expect((e as MapError).errno).toBeGreaterThan(0);
        }
      }
      expect(objectOfHandle(handle)).toBeUndefined();
    });
  }
});
