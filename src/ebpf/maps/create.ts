/** `createMap`: the map types the VM has, as a table, and the checks map_create makes before the type's own. */

import { UnsupportedError } from '../../util/index.js';
import { MapType, type MapSpec } from '../spec.js';
import { ArrayMap } from './array.js';
import { BloomFilterMap } from './bloom-filter.js';
import { MapFlags, createError, resolveOptions, type MapOptions, type ResolvedOptions, type VmMap } from './common.js';
import { ArrayOfMapsMap, HashOfMapsMap, PerfEventArrayMap, ProgArrayMap } from './fd-maps.js';
import { HashMap } from './hash.js';
import { CgroupStorageMap, HOST_MAP_KINDS, HostObjectMap } from './host-maps.js';
import { LpmTrieMap } from './lpm-trie.js';
import { QueueStackMap } from './queue-stack.js';
import { RingbufMap } from './ringbuf.js';

type MapFactory = (spec: MapSpec, opts: ResolvedOptions) => VmMap;

/** Map type → constructor, for every type the VM implements. */
export const VM_MAP_TYPES: ReadonlyMap<number, MapFactory> = new Map<number, MapFactory>([
  [MapType.BPF_MAP_TYPE_HASH, (s, o) => new HashMap(s, o)],
  [MapType.BPF_MAP_TYPE_ARRAY, (s, o) => new ArrayMap(s, o)],
  [MapType.BPF_MAP_TYPE_PROG_ARRAY, (s, o) => new ProgArrayMap(s, o)],
  [MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, (s, o) => new PerfEventArrayMap(s, o)],
  [MapType.BPF_MAP_TYPE_PERCPU_HASH, (s, o) => new HashMap(s, o)],
  [MapType.BPF_MAP_TYPE_PERCPU_ARRAY, (s, o) => new ArrayMap(s, o)],
  [MapType.BPF_MAP_TYPE_LRU_HASH, (s, o) => new HashMap(s, o)],
  [MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, (s, o) => new HashMap(s, o)],
  [MapType.BPF_MAP_TYPE_LPM_TRIE, (s, o) => new LpmTrieMap(s, o)],
  [MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, (s, o) => new ArrayOfMapsMap(s, o)],
  [MapType.BPF_MAP_TYPE_HASH_OF_MAPS, (s, o) => new HashOfMapsMap(s, o)],
  [MapType.BPF_MAP_TYPE_QUEUE, (s, o) => new QueueStackMap(s, o)],
  [MapType.BPF_MAP_TYPE_STACK, (s, o) => new QueueStackMap(s, o)],
  [MapType.BPF_MAP_TYPE_RINGBUF, (s, o) => new RingbufMap(s, o)],
  [MapType.BPF_MAP_TYPE_BLOOM_FILTER, (s, o) => new BloomFilterMap(s, o)],
  [MapType.BPF_MAP_TYPE_CGROUP_STORAGE, (s, o) => new CgroupStorageMap(s, o)],
  [MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, (s, o) => new CgroupStorageMap(s, o)],
  ...[...HOST_MAP_KINDS.keys()].map((t): [number, MapFactory] => [t, (s, o) => new HostObjectMap(s, o)]),
]);

const KNOWN_TYPES = new Set<number>(Object.values(MapType));

/**
 * Creates a map in the VM, checking the spec as the kernel's map_create does: a spec the kernel
 * rejects throws a {@link MapError} with the kernel's errno (EINVAL, E2BIG, ENOTSUPP, ...).
 * A type the kernel has but the VM lacks throws an `UnsupportedError`.
 *
 * @example
 * const counts = createMap({ name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
 */
export function createMap(spec: MapSpec, options: MapOptions = {}): VmMap {
  const opts = resolveOptions(options);
  const flags = spec.flags ?? 0;
  for (const [k, v] of [['keySize', spec.keySize], ['valueSize', spec.valueSize], ['maxEntries', spec.maxEntries]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw createError('EINVAL', spec, `${k} must be a u32`);
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw createError('EINVAL', spec, 'flags must be a u32');
  if ((flags & MapFlags.BPF_F_RDONLY) && (flags & MapFlags.BPF_F_WRONLY)) throw createError('EINVAL', spec, 'BPF_F_RDONLY and BPF_F_WRONLY together');
  if (spec.type !== MapType.BPF_MAP_TYPE_BLOOM_FILTER && (spec.mapExtra ?? 0) !== 0) throw createError('EINVAL', spec, 'map_extra is for bloom filters');
  const make = VM_MAP_TYPES.get(spec.type);
  if (make) return make(spec, opts);
  if (!KNOWN_TYPES.has(spec.type) || spec.type === MapType.BPF_MAP_TYPE_UNSPEC) throw createError('EINVAL', spec, `unknown map type ${spec.type}`);
  const name = Object.entries(MapType).find(([, v]) => v === spec.type)?.[0] ?? String(spec.type);
  throw new UnsupportedError('E_VM_MAP_TYPE', `create map "${spec.name}": the vm has no ${name}`, { hint: 'load it into the kernel backend instead' });
}
