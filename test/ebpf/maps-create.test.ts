// createMap checks specs as the kernel's map_create does: which specs fail, and with which errno.
import { describe, expect, it } from 'vitest';
import { MapError, MapFlags, MapType, createMap, type MapSpec } from '../../src/ebpf/index.js';
import { errno } from '../helpers/maps.js';
import { UnsupportedError, UsageError } from '../../src/util/index.js';

const T = MapType;
const F = MapFlags;

const errnoOf = (spec: MapSpec, cpus = 2): string | undefined => errno(() => createMap(spec, { cpus }).close());

const base = { name: 'm', keySize: 4, valueSize: 8, maxEntries: 16 };

describe('createMap validation', () => {
  const cases: [string, MapSpec, string | undefined][] = [
    ['array ok', { ...base, type: T.BPF_MAP_TYPE_ARRAY }, undefined],
    ['array key 8', { ...base, type: T.BPF_MAP_TYPE_ARRAY, keySize: 8 }, 'EINVAL'],
    ['array max 0', { ...base, type: T.BPF_MAP_TYPE_ARRAY, maxEntries: 0 }, 'EINVAL'],
    ['array value 0', { ...base, type: T.BPF_MAP_TYPE_ARRAY, valueSize: 0 }, 'EINVAL'],
    ['array no_prealloc', { ...base, type: T.BPF_MAP_TYPE_ARRAY, flags: F.BPF_F_NO_PREALLOC }, 'EINVAL'],
    ['array mmapable', { ...base, type: T.BPF_MAP_TYPE_ARRAY, flags: F.BPF_F_MMAPABLE }, undefined],
    ['percpu array mmapable', { ...base, type: T.BPF_MAP_TYPE_PERCPU_ARRAY, flags: F.BPF_F_MMAPABLE }, 'EINVAL'],
    ['percpu array value 32k+1', { ...base, type: T.BPF_MAP_TYPE_PERCPU_ARRAY, valueSize: 32 * 1024 + 1 }, 'E2BIG'],
    ['array preserve_elems', { ...base, type: T.BPF_MAP_TYPE_ARRAY, flags: F.BPF_F_PRESERVE_ELEMS }, 'EINVAL'],
    ['rdonly_prog + wronly_prog', { ...base, type: T.BPF_MAP_TYPE_ARRAY, flags: F.BPF_F_RDONLY_PROG | F.BPF_F_WRONLY_PROG }, 'EINVAL'],
    ['rdonly + wronly', { ...base, type: T.BPF_MAP_TYPE_HASH, flags: F.BPF_F_RDONLY | F.BPF_F_WRONLY }, 'EINVAL'],
    ['hash ok no_prealloc', { ...base, type: T.BPF_MAP_TYPE_HASH, flags: F.BPF_F_NO_PREALLOC }, undefined],
    ['hash key 0', { ...base, type: T.BPF_MAP_TYPE_HASH, keySize: 0 }, 'EINVAL'],
    ['hash no_common_lru', { ...base, type: T.BPF_MAP_TYPE_HASH, flags: F.BPF_F_NO_COMMON_LRU }, 'EINVAL'],
    ['hash mmapable', { ...base, type: T.BPF_MAP_TYPE_HASH, flags: F.BPF_F_MMAPABLE }, 'EINVAL'],
    ['hash huge key+value', { ...base, type: T.BPF_MAP_TYPE_HASH, keySize: 4 << 20, valueSize: 4 }, 'E2BIG'],
    ['lru no_prealloc', { ...base, type: T.BPF_MAP_TYPE_LRU_HASH, flags: F.BPF_F_NO_PREALLOC }, 'ENOTSUPP'],
    ['lru no_common_lru', { ...base, type: T.BPF_MAP_TYPE_LRU_HASH, flags: F.BPF_F_NO_COMMON_LRU }, undefined],
    ['percpu hash numa', { ...base, type: T.BPF_MAP_TYPE_PERCPU_HASH, flags: F.BPF_F_NUMA_NODE }, 'EINVAL'],
    ['lpm ok', { ...base, type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, flags: F.BPF_F_NO_PREALLOC }, undefined],
    ['lpm prealloc', { ...base, type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 8 }, 'EINVAL'],
    ['lpm key 4', { ...base, type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 4, flags: F.BPF_F_NO_PREALLOC }, 'EINVAL'],
    ['lpm key 261', { ...base, type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 261, flags: F.BPF_F_NO_PREALLOC }, 'EINVAL'],
    ['lpm key 260', { ...base, type: T.BPF_MAP_TYPE_LPM_TRIE, keySize: 260, flags: F.BPF_F_NO_PREALLOC }, undefined],
    ['queue ok', { ...base, type: T.BPF_MAP_TYPE_QUEUE, keySize: 0 }, undefined],
    ['queue key 4', { ...base, type: T.BPF_MAP_TYPE_QUEUE }, 'EINVAL'],
    ['stack value 0', { ...base, type: T.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 0 }, 'EINVAL'],
    ['ringbuf ok', { ...base, type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }, undefined],
    ['ringbuf not page multiple', { ...base, type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 2048 }, 'EINVAL'],
    ['ringbuf not power of 2', { ...base, type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 3 * 4096 }, 'EINVAL'],
    ['ringbuf key 4', { ...base, type: T.BPF_MAP_TYPE_RINGBUF, valueSize: 0, maxEntries: 4096 }, 'EINVAL'],
    ['ringbuf rdonly', { ...base, type: T.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: F.BPF_F_RDONLY }, 'EINVAL'],
    ['perf array value 8', { ...base, type: T.BPF_MAP_TYPE_PERF_EVENT_ARRAY }, 'EINVAL'],
    ['perf array ok', { ...base, type: T.BPF_MAP_TYPE_PERF_EVENT_ARRAY, valueSize: 4, flags: F.BPF_F_PRESERVE_ELEMS }, undefined],
    ['prog array rdonly_prog', { ...base, type: T.BPF_MAP_TYPE_PROG_ARRAY, valueSize: 4, flags: F.BPF_F_RDONLY_PROG }, 'EINVAL'],
    ['array of maps without inner', { ...base, type: T.BPF_MAP_TYPE_ARRAY_OF_MAPS, valueSize: 4 }, 'EBADF'],
    ['bloom ok', { ...base, type: T.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, mapExtra: 3 }, undefined],
    ['bloom 16 hashes', { ...base, type: T.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, mapExtra: 16 }, 'EINVAL'],
    ['map_extra on a hash', { ...base, type: T.BPF_MAP_TYPE_HASH, mapExtra: 1 }, 'EINVAL'],
    ['unknown type', { ...base, type: 999 as MapSpec['type'] }, 'EINVAL'],
  ];
  for (const [name, spec, errno] of cases) {
    it(`${name} → ${errno ?? 'ok'}`, () => expect(errnoOf(spec)).toBe(errno));
  }

  it('nests maps one level only', () => {
    const inner: MapSpec = { ...base, type: T.BPF_MAP_TYPE_ARRAY_OF_MAPS, valueSize: 4, innerMap: { ...base, type: T.BPF_MAP_TYPE_ARRAY } };
    expect(errnoOf({ ...base, type: T.BPF_MAP_TYPE_HASH_OF_MAPS, valueSize: 4, innerMap: inner })).toBe('EINVAL');
  });

  it('says ENOMEM past the memory limit, and the error carries errno and code', () => {
    try {
      createMap({ ...base, type: T.BPF_MAP_TYPE_ARRAY, maxEntries: 1 << 20 }, { memoryLimit: 1 << 20 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MapError);
      const m = e as MapError;
      expect([m.errno, m.errnoName, m.code]).toEqual([12, 'ENOMEM', 'ENOMEM']);
      expect(m.message).toMatch(/^create map "m": /);
    }
  });

  it('rounds LRU per-CPU list sizes as the kernel does', () => {
    const m = createMap({ ...base, type: T.BPF_MAP_TYPE_LRU_HASH, maxEntries: 5, flags: F.BPF_F_NO_COMMON_LRU }, { cpus: 4 });
    expect(m.spec.maxEntries).toBe(8);
  });

  it('types the VM lacks are UnsupportedError, bad options UsageError', () => {
    expect(() => createMap({ ...base, type: T.BPF_MAP_TYPE_STACK_TRACE })).toThrow(UnsupportedError);
    expect(() => createMap({ ...base, type: T.BPF_MAP_TYPE_ARRAY }, { cpus: 0 })).toThrow(UsageError);
  });

  it('host-object maps: devices and CPUs keep the numbers written, socket maps stay empty, an empty slot is a miss', () => {
    const k = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
    const dev = createMap({ name: 'tx', type: T.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(dev.lookupElem(k(0))).toBeUndefined();
    dev.set(k(1), k(7));
    expect([...dev.get(k(1))!]).toEqual([...k(7)]);
    expect(() => dev.set(k(2), k(7))).toThrowError(expect.objectContaining({ errno: 7 }) as Error); // E2BIG: past max_entries
    expect(() => createMap({ name: 'bad', type: T.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 16, maxEntries: 2 })).toThrowError(expect.objectContaining({ errno: 22 }) as Error);
    const socks = createMap({ name: 'socks', type: T.BPF_MAP_TYPE_SOCKMAP, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(() => socks.set(k(0), k(3))).toThrow(UnsupportedError);
    expect(socks.updateElem(k(0), k(3), 0)).toBe(-95);
  });
});
