// VM maps against kernel maps (Linux bpf() as the reference): seeded op scripts on every map type both have, same results, errnos and dumps; random specs, same accept/reject.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MapFlags, MapType, ProgType, createMap, handleOf, vm,
} from '../../src/ebpf/index.js';
import type { BloomFilterMap, Insn, MapSpec, ProgramSpec, VmMap } from '../../src/ebpf/index.js';
import { Kernel, KernelMap } from '../../src/kernel/index.js';
import type { KernelProgram } from '../../src/kernel/index.js';
import { W, call, exit, ins, jmp, ldMap, ldx, movImm, movReg, st, stx } from './helpers/asm.js';
import { kernelSkip } from './helpers/kernel.js';
import { engines } from './helpers/parity.js';
import { hex, pinToCpu0, runScript } from './helpers/map-parity.js';
import type { DumpKind, MapOp, Side } from './helpers/map-parity.js';

const why = await kernelSkip('kernel maps parity');

const ZERO_SEED = MapFlags.BPF_F_ZERO_SEED;
const NO_PREALLOC = MapFlags.BPF_F_NO_PREALLOC;
/** BPF_ANY, BPF_NOEXIST, BPF_EXIST, then two invalid ones: BPF_F_LOCK (no spin lock) and 3. */
const FLAGS = fc.constantFrom(0, 0, 1, 2, 2, 4, 3);
const RUNS = 250;
const MAX_OPS = 100;

const u32 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

/** One map configuration: its spec, the keys and values scripts draw from, and which ops make sense. */
interface Profile {
  name: string;
  spec: MapSpec;
  key: fc.Arbitrary<Uint8Array>;
  dump: DumpKind;
  /** Scripts to run; maps of maps take fewer, as each of their updates and deletes waits for an RCU grace period in the kernel. */
  runs?: number;
  /** Ops for this profile given the value size a syscall uses. */
  ops(valueBytes: number, key: fc.Arbitrary<Uint8Array>): fc.Arbitrary<MapOp>;
}

/** Keyed maps (hash family, arrays, LPM): updates, lookups, deletes, nextKey from present and absent keys, walks. */
function keyedOps(valueBytes: number, key: fc.Arbitrary<Uint8Array>): fc.Arbitrary<MapOp> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ k: fc.constant('update' as const), key, value: bytes(valueBytes), flags: FLAGS }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('lookup' as const), key }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), key }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('next' as const), key: fc.option(key, { nil: undefined, freq: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('lookupAndDelete' as const), key }) },
    { weight: 1, arbitrary: fc.constant({ k: 'dump' as const }) },
  );
}

const NOKEY = new Uint8Array(0);
const nokey = fc.constant(NOKEY);

/** Queue and stack: push (update) with any flag, peek (lookup), pop, and the ops they refuse. */
function queueOps(valueBytes: number): fc.Arbitrary<MapOp> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('update' as const), key: nokey, value: bytes(valueBytes), flags: FLAGS }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('lookup' as const), key: nokey }) },
    { weight: 3, arbitrary: fc.constant({ k: 'lookupAndDelete' as const }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), key: nokey }) },
    { weight: 1, arbitrary: fc.constant({ k: 'next' as const }) },
  );
}

/** Bloom filter values come from a small pool so that tests hit what was pushed (and false positives show). */
const BLOOM_VALUES = Array.from({ length: 40 }, (_, i) => u32(i * 2654435761));
const bloomValue = fc.constantFrom(...BLOOM_VALUES);

function bloomOps(): fc.Arbitrary<MapOp> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('update' as const), key: nokey, value: bloomValue, flags: fc.constantFrom(0, 0, 1, 2, 4) }) },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('has' as const), value: bloomValue }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), key: nokey }) },
    { weight: 1, arbitrary: fc.constant({ k: 'next' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'lookupAndDelete' as const }) },
  );
}

/** Fd maps: store a pool object (ref 0-1 fit, 2 does not, 3 is no object at all), look ids up, delete, walk. */
function refOps(_valueBytes: number, key: fc.Arbitrary<Uint8Array>): fc.Arbitrary<MapOp> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('updateRef' as const), key, ref: fc.nat(3), flags: FLAGS }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('lookup' as const), key }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), key }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('next' as const), key: fc.option(key, { nil: undefined, freq: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('lookupAndDelete' as const), key }) },
  );
}

/** A 4-byte key from a range a bit wider than the map, so updates hit full maps and out-of-range indexes. */
const key4 = (n: number): fc.Arbitrary<Uint8Array> => fc.nat(n).map(u32);
/** 5-byte keys whose last byte varies too (jhash's tail path). */
const key5 = fc.tuple(fc.nat(15), fc.nat(2)).map(([a, b]) => Uint8Array.of(a, 0, 0, 0, b));
/** LPM keys: prefix length (up to 2 past the data's bits, which the kernel refuses) + data from a few bit patterns. */
const lpmKey = (dataBytes: number): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.nat(dataBytes * 8 + 2), fc.array(fc.constantFrom(0x00, 0x01, 0x40, 0x80, 0xc0, 0xff), { minLength: dataBytes, maxLength: dataBytes }))
    .map(([p, d]) => Uint8Array.of(...u32(p), ...d));

const INNER: MapSpec = { name: 'inner', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 };

const profiles: Profile[] = [
  { name: 'hash, 4-byte keys', spec: { name: 'h4', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 3, maxEntries: 10, flags: ZERO_SEED }, key: key4(16), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'hash, 5-byte keys, no prealloc', spec: { name: 'h5', type: MapType.BPF_MAP_TYPE_HASH, keySize: 5, valueSize: 8, maxEntries: 13, flags: ZERO_SEED | NO_PREALLOC }, key: key5, dump: { k: 'keys' }, ops: keyedOps },
  { name: 'percpu hash', spec: { name: 'ph', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 10, flags: ZERO_SEED }, key: key4(16), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lru hash', spec: { name: 'lru', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 12, flags: ZERO_SEED }, key: key4(24), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lru hash, no common lru', spec: { name: 'lrun', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 12, flags: ZERO_SEED | MapFlags.BPF_F_NO_COMMON_LRU }, key: key4(24), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lru percpu hash', spec: { name: 'lrup', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 12, flags: ZERO_SEED }, key: key4(24), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lru hash, 64 entries', spec: { name: 'lru64', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 64, flags: ZERO_SEED }, key: key4(150), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lru percpu hash, no common lru', spec: { name: 'lrupn', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 16, flags: ZERO_SEED | MapFlags.BPF_F_NO_COMMON_LRU }, key: key4(40), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'array', spec: { name: 'a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 10 }, key: key4(12), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'percpu array', spec: { name: 'pa', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 10 }, key: key4(12), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lpm trie, 2 data bytes', spec: { name: 'lpm2', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 6, valueSize: 2, maxEntries: 12, flags: NO_PREALLOC }, key: lpmKey(2), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'lpm trie, ipv4', spec: { name: 'lpm4', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, flags: NO_PREALLOC }, key: lpmKey(4), dump: { k: 'keys' }, ops: keyedOps },
  { name: 'queue', spec: { name: 'q', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 2, maxEntries: 5 }, key: nokey, dump: { k: 'pop' }, ops: queueOps },
  { name: 'stack', spec: { name: 's', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 3, maxEntries: 5 }, key: nokey, dump: { k: 'pop' }, ops: queueOps },
  { name: 'bloom filter, 3 hashes', spec: { name: 'bf', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8, flags: ZERO_SEED, mapExtra: 3 }, key: nokey, dump: { k: 'probe', values: BLOOM_VALUES }, ops: bloomOps },
  { name: 'bloom filter, default hashes', spec: { name: 'bf5', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 4, flags: ZERO_SEED }, key: nokey, dump: { k: 'probe', values: BLOOM_VALUES }, ops: bloomOps },
  { name: 'array of maps', spec: { name: 'aom', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER }, key: key4(5), dump: { k: 'keys' }, ops: refOps, runs: 40 },
  { name: 'hash of maps', spec: { name: 'hom', type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, flags: ZERO_SEED, innerMap: INNER }, key: key4(6), dump: { k: 'keys' }, ops: refOps, runs: 40 },
  { name: 'prog array', spec: { name: 'pa', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }, key: key4(5), dump: { k: 'keys' }, ops: refOps },
];

/** `r0 = 0; exit`: the smallest program, for program arrays. */
const RET0: Insn[] = [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
const prog = (name: string, type: ProgramSpec['type']): ProgramSpec => ({ name, type, insns: RET0, license: 'GPL' });
/** A 4-byte fd/handle that names nothing on either side. */
const NO_OBJECT = u32(0x7fff0);

/**
 * Each side's pool of objects a fd map may store: refs 0 and 1 fit, ref 2 does not (another inner
 * spec / another program type than ref 0's), ref 3 is no object. Lookups name them back by ref.
 */
interface Pool {
  vm: object[];
  kernel: { fd: number; id: number }[];
  close(): void;
}

function makePool(kernel: Kernel, spec: MapSpec): Pool {
  if (spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY) {
    const specs = [prog('p0', ProgType.BPF_PROG_TYPE_SOCKET_FILTER), prog('p1', ProgType.BPF_PROG_TYPE_SOCKET_FILTER), prog('p2', ProgType.BPF_PROG_TYPE_XDP)];
    const progs: KernelProgram[] = specs.map((s) => kernel.load(s));
    return { vm: specs.map((s) => ({ spec: s })), kernel: progs.map((p) => ({ fd: p.fd, id: p.info().id })), close: () => progs.forEach((p) => p.close()) };
  }
  const inner = spec.innerMap!;
  const specs = [inner, inner, { ...inner, valueSize: 8 }];
  const maps = specs.map((s) => kernel.createMap(s));
  return { vm: specs.map((s) => createMap(s)), kernel: maps.map((m) => ({ fd: m.fd, id: m.info().id })), close: () => maps.forEach((m) => m.close()) };
}

function vmSide(map: VmMap, pool: Pool | undefined): Side {
  const handles = pool?.vm.map((o) => handleOf(o)) ?? [];
  return {
    map,
    has: (v) => (map as BloomFilterMap).has(v),
    refValue: (ref) => (ref < handles.length ? u32(handles[ref]) : NO_OBJECT),
    show: pool ? (v) => ref(handles, v) : undefined,
  };
}

function kernelSide(map: KernelMap, pool: Pool | undefined): Side {
  const ids = pool?.kernel.map((o) => o.id) ?? [];
  return {
    map,
    has: (v) => map.has(v),
    refValue: (r) => (pool && r < pool.kernel.length ? u32(pool.kernel[r].fd) : NO_OBJECT),
    show: pool ? (v) => ref(ids, v) : undefined,
  };
}

/** A looked-up fd-map value (an id) as the pool ref it names. */
function ref(ids: number[], v: Uint8Array): string {
  const id = new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
  const i = ids.indexOf(id);
  return i < 0 ? `id?${hex(v)}` : `ref${i}`;
}

describe.skipIf(why !== undefined)('VM maps vs kernel maps', () => {
  let kernel: Kernel;
  let unpin: () => void;
  const figures: string[] = [];

  beforeAll(async () => {
    kernel = await Kernel.open();
    // LRU maps take free nodes from the current CPU's lists; the VM models syscalls from CPU 0.
    unpin = pinToCpu0(kernel.sys.gettid());
  });
  afterAll(() => {
    unpin?.();
    if (figures.length) console.log(`[maps parity] ${figures.join('; ')}`);
  });

  for (const [i, p] of profiles.entries()) {
    it(`${p.name}: same results, errnos and dumps`, () => {
      const cpus = kernel.possibleCpus;
      const pool = p.spec.type === MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS || p.spec.type === MapType.BPF_MAP_TYPE_HASH_OF_MAPS || p.spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY
        ? makePool(kernel, p.spec) : undefined;
      const probe = createMap(p.spec, { cpus });
      const valueBytes = probe.syscallValueSize;
      probe.close();
      let runs = 0, ops = 0, nonEmpty = 0;
      try {
        fc.assert(fc.property(fc.array(p.ops(valueBytes, p.key), { minLength: 5, maxLength: MAX_OPS, size: 'max' }), (script) => {
          const vm = createMap(p.spec, { cpus });
          const km = kernel.createMap(p.spec);
          try {
            expect(km.valueBytes).toBe(valueBytes);
            const want = runScript(kernelSide(km, pool), script, p.dump);
            const got = runScript(vmSide(vm, pool), script, p.dump);
            expect(got).toEqual(want);
            runs++;
            ops += script.length;
            if (want.dump !== 'end' && want.dump !== 'none' && !/^0*$/.test(want.dump)) nonEmpty++;
          } finally {
            vm.close();
            km.close();
          }
        }), { seed: 0x5eed + i, numRuns: p.runs ?? RUNS });
      } finally {
        pool?.close();
      }
      // The scripts must have left something in most maps, or the comparison says little.
      expect(nonEmpty).toBeGreaterThan((p.runs ?? RUNS) / 2);
      figures.push(`${p.name} ${runs}x${ops}`);
    });
  }
});

describe.skipIf(why !== undefined)('cgroup storage: an empty map on both sides (no program attached to a cgroup)', () => {
  it('updates, lookups, deletes and walks give the kernel\'s errnos, with either key layout', async () => {
    const kernel = await Kernel.open();
    for (const spec of [
      { name: 'cgs', type: MapType.BPF_MAP_TYPE_CGROUP_STORAGE, keySize: 16, valueSize: 12, maxEntries: 0 },
      { name: 'pcgs', type: MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, keySize: 8, valueSize: 4, maxEntries: 0 },
    ] as MapSpec[]) {
      const vmMap = createMap(spec, { cpus: kernel.possibleCpus });
      const km = kernel.createMap(spec);
      try {
        expect(km.valueBytes).toBe(vmMap.syscallValueSize);
        const key = new Uint8Array(spec.keySize).fill(1);
        const script: MapOp[] = [
          { k: 'update', key, value: new Uint8Array(vmMap.syscallValueSize), flags: 0 },
          { k: 'update', key, value: new Uint8Array(vmMap.syscallValueSize), flags: 3 },
          { k: 'lookup', key }, { k: 'delete', key }, { k: 'next' }, { k: 'next', key }, { k: 'dump' },
        ];
        const want = runScript(kernelSide(km, undefined), script, { k: 'keys' });
        expect(runScript(vmSide(vmMap, undefined), script, { k: 'keys' }), spec.name).toEqual(want);
        expect(want.trace.some((t) => t.includes('ENOENT'))).toBe(true);
      } finally {
        vmMap.close();
        km.close();
      }
    }
  });
});

/** Map types both backends create; the others the VM does not have (it says so with an UnsupportedError). */
const CREATE_TYPES = [
  MapType.BPF_MAP_TYPE_UNSPEC, MapType.BPF_MAP_TYPE_HASH, MapType.BPF_MAP_TYPE_ARRAY, MapType.BPF_MAP_TYPE_PROG_ARRAY,
  MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, MapType.BPF_MAP_TYPE_PERCPU_HASH, MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
  MapType.BPF_MAP_TYPE_LRU_HASH, MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, MapType.BPF_MAP_TYPE_LPM_TRIE,
  MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS, MapType.BPF_MAP_TYPE_QUEUE,
  MapType.BPF_MAP_TYPE_STACK, MapType.BPF_MAP_TYPE_RINGBUF, MapType.BPF_MAP_TYPE_BLOOM_FILTER,
  MapType.BPF_MAP_TYPE_CGROUP_STORAGE, MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
] as const;
/** Inner specs a map of maps may be given (valid maps: the outer map's own checks are what is compared). */
const INNER_SPECS: MapSpec[] = [
  INNER,
  { name: 'ih', type: MapType.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 4 },
  { name: 'iq', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 },
  { name: 'ir', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
  { name: 'ip', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'ii', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlags.BPF_F_INNER_MAP },
];
const CREATE_RUNS = 4000;
const MAP_IN_MAP = new Set<number>([MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]);
/** Each creation flag alone is likelier to reach a type's own check than a random mask. */
const FLAG_BITS = [0, 0, 0, ...Object.values(MapFlags), MapFlags.BPF_F_RDONLY | MapFlags.BPF_F_WRONLY, MapFlags.BPF_F_RDONLY_PROG | MapFlags.BPF_F_WRONLY_PROG, 1 << 20];

/** A valid spec of each type; the random specs change up to two of its fields, so that each type's own checks are reached. */
const BASES: MapSpec[] = [
  { name: 'c', type: MapType.BPF_MAP_TYPE_UNSPEC, keySize: 4, valueSize: 4, maxEntries: 1 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 8, valueSize: 16, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 64, flags: NO_PREALLOC },
  { name: 'c', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER },
  { name: 'c', type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER },
  { name: 'c', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 64 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_CGROUP_STORAGE, keySize: 16, valueSize: 8, maxEntries: 0 },
  { name: 'c', type: MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, keySize: 8, valueSize: 8, maxEntries: 0 },
];
// Each of the bases' types must be one the VM has (the others throw UnsupportedError, nothing to compare).
for (const b of BASES) if (!CREATE_TYPES.includes(b.type as (typeof CREATE_TYPES)[number])) throw new Error(`no base for ${b.type}`);

type Mutation = (s: MapSpec) => MapSpec;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(0, 1, 3, 4, 5, 8, 16, 17, 260, 261, 512, 513).map((keySize): Mutation => (s) => ({ ...s, keySize })),
  fc.constantFrom(0, 1, 4, 8, 12, 32768, 32769, 65536, 1 << 22, (1 << 22) + 1).map((valueSize): Mutation => (s) => ({ ...s, valueSize })),
  fc.constantFrom(0, 1, 7, 4095, 8192, 12288, 1 << 16, 1 << 24, 0xffffffff).map((maxEntries): Mutation => (s) => ({ ...s, maxEntries })),
  fc.constantFrom(...FLAG_BITS).map((f): Mutation => (s) => ({ ...s, flags: (s.flags ?? 0) ^ f })),
  fc.constantFrom(1, 3, 15, 16, 0x10001).map((mapExtra): Mutation => (s) => ({ ...s, mapExtra })),
  fc.constantFrom(...INNER_SPECS).map((innerMap): Mutation => (s) => (MAP_IN_MAP.has(s.type) ? { ...s, innerMap } : s)),
);
/**
 * Specs whose elements would take more than 16 MiB are left out: the VM refuses above its own
 * memory limit (a model, not a kernel rule) and the kernel takes seconds to preallocate gigabytes.
 */
const SMALL_ENOUGH = 16 << 20;
const specArb: fc.Arbitrary<MapSpec> = fc.tuple(fc.constantFrom(...BASES), fc.array(mutation, { maxLength: 3 }))
  .map(([base, ms]) => ms.reduce((s, m) => m(s), base))
  .filter((s) => (s.keySize + s.valueSize) * s.maxEntries * 2 <= SMALL_ENOUGH);

/** `ok` or the errno name map_create gave. */
function created(make: () => { close(): void }): string {
  try {
    make().close();
    return 'ok';
  } catch (e) {
    const name = (e as { errnoName?: unknown }).errnoName;
    if (typeof name === 'string') return name;
    throw e;
  }
}

describe.skipIf(why !== undefined)('VM map creation vs kernel map creation', () => {
  it('random specs: same accept/reject and errno', async () => {
    const kernel = await Kernel.open();
    const seen = new Map<string, number>();
    const byType = new Map<number, Set<string>>();
    fc.assert(fc.property(specArb, (spec) => {
      const want = created(() => kernel.createMap(spec));
      const got = created(() => createMap(spec, { cpus: kernel.possibleCpus }));
      expect(got, JSON.stringify(spec)).toBe(want);
      seen.set(want, (seen.get(want) ?? 0) + 1);
      byType.set(spec.type, (byType.get(spec.type) ?? new Set()).add(want));
    }), { seed: 0xc4ea7e, numRuns: CREATE_RUNS });
    console.log(`[maps parity] creation: ${CREATE_RUNS} specs, outcomes ${JSON.stringify(Object.fromEntries(seen))}`);
    // Every type was both created and refused (BPF_MAP_TYPE_UNSPEC only refused), or the specs probe too little.
    for (const t of CREATE_TYPES) {
      const outcomes = [...(byType.get(t) ?? [])];
      if (t === MapType.BPF_MAP_TYPE_UNSPEC) expect(outcomes).toEqual(['EINVAL']);
      else expect(outcomes.length, `map type ${t}: ${outcomes.join(',')}`).toBeGreaterThanOrEqual(2);
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });
});

/**
 * A socket filter that looks `outerKey` up in the map of maps `outer`, then key 0 in the inner map it
 * got, adds 1 to that value in place and returns it; 100 when the outer lookup fails, 200 the inner.
 */
function innerLookupProgram(outer: MapSpec, outerKey: number): ProgramSpec {
  const key = (v: number): Insn[] => [st(W, 10, -4, v), movReg(2, 10), ins(0x07, 2, 0, 0, -4)];
  return {
    name: 'inner_lookup', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL', maps: [outer],
    insns: [
      ...key(outerKey), ldMap(1, outer.name), call(1),
      jmp(0x55, 0, 0, 2), movImm(0, 100), exit(),
      movReg(1, 0), ...key(0), call(1),
      jmp(0x55, 0, 0, 2), movImm(0, 200), exit(),
      ldx(W, 1, 0, 0), ins(0x07, 1, 0, 0, 1), stx(W, 0, 1, 0), movReg(0, 1), exit(),
    ],
  };
}

describe.skipIf(why !== undefined)('maps of maps from programs: VM helpers vs kernel', () => {
  const packet = new Uint8Array(64);
  for (const outerType of [MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]) {
    const outer: MapSpec = { name: 'outer', type: outerType, keySize: 4, valueSize: 4, maxEntries: 4, innerMap: INNER };
    for (const outerKey of [2, 1, 9]) {
      it(`${outerType === MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS ? 'array' : 'hash'} of maps, outer key ${outerKey}: same return value and inner map`, async () => {
        const kernel = await Kernel.open();
        const spec = innerLookupProgram(outer, outerKey);
        // Slot 2 holds an inner map whose key 0 is 41; the other slots are empty.
        const kInner = kernel.createMap(INNER);
        const kOuter = kernel.createMap(outer);
        kInner.set(u32(0), u32(41));
        kOuter.set(u32(2), u32(kInner.fd));
        let want: { retval: number; inner: string };
        try {
          const kp = kernel.load(spec, { maps: new Map([['outer', kOuter]]) });
          try {
            want = { retval: (await kp.testRun({ data: packet })).retval, inner: hex(kInner.get(u32(0))!) };
          } finally {
            kp.close();
          }
        } finally {
          kOuter.close();
          kInner.close();
        }
        expect(want.retval).toBe(outerKey === 2 ? 42 : 100);
        for (const engine of engines) {
          const vInner = createMap(INNER);
          const vOuter = createMap(outer);
          vInner.set(u32(0), u32(41));
          vOuter.set(u32(2), u32(handleOf(vInner)));
          using p = vm.load(spec, { engine, maps: new Map([['outer', vOuter]]) });
          const got = { retval: (await p.testRun({ data: packet })).retval, inner: hex(vInner.get(u32(0))!) };
          expect({ engine, ...got }).toEqual({ engine, ...want });
        }
      });
    }
  }
});
