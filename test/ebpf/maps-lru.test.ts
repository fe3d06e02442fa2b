// LRU hashes: eviction as the kernel's LRU lists do it (batches of target_free, reference bits, per-CPU lists).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, HashMap, MapError, MapFlags, MapType, createMap } from '../../src/ebpf/index.js';

const k4 = (n: number): Uint8Array => Uint8Array.of(n & 255, (n >> 8) & 255, 0, 0);
const spec = { name: 'lru', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 40 };

function keysOf(m: HashMap): number[] {
  const out: number[] = [];
  for (let k = m.nextKey(); k; k = m.nextKey(k)) out.push(k[0] | (k[1] << 8));
  return out.sort((a, b) => a - b);
}

describe('LRU hash eviction', () => {
  it('evicts in batches as Linux 6.18 does (40 entries, 2 CPUs, 55 inserts from one CPU)', () => {
    // Observed with `taskset -c 0 bpftool batch` on Linux 6.18: keys 21..55 remain.
    const m = createMap(spec, { cpus: 2 }) as HashMap;
    for (let i = 1; i <= 55; i++) m.set(k4(i), new Uint8Array(4));
    expect(keysOf(m)).toEqual(Array.from({ length: 35 }, (_, i) => i + 21));
  });

  it('never fails with E2BIG, and never holds more than max_entries', () => {
    const m = createMap(spec, { cpus: 2 }) as HashMap;
    for (let i = 0; i < 500; i++) m.set(k4(i), new Uint8Array(4));
    expect(m.size).toBeLessThanOrEqual(40);
    expect(m.size).toBeGreaterThan(0);
    expect(keysOf(m)).toContain(499);
  });

  it('spares elements a program looked up (reference bit)', () => {
    const m = createMap({ ...spec, maxEntries: 8 }, { cpus: 1 }) as HashMap;
    for (let i = 0; i < 8; i++) m.set(k4(i), new Uint8Array(4));
    m.lookupElem(k4(0));
    m.lookupElem(k4(1));
    for (let i = 8; i < 12; i++) m.set(k4(i), new Uint8Array(4));
    const keys = keysOf(m);
    expect(keys).toContain(0);
    expect(keys).toContain(1);
    expect(keys).not.toContain(2);
  });

  it('a syscall lookup does not count as a use', () => {
    const m = createMap({ ...spec, maxEntries: 8 }, { cpus: 1 }) as HashMap;
    for (let i = 0; i < 8; i++) m.set(k4(i), new Uint8Array(4));
    m.get(k4(0));
    for (let i = 8; i < 12; i++) m.set(k4(i), new Uint8Array(4));
    expect(keysOf(m)).not.toContain(0);
  });

  it('checks flags after taking a node, so a failing NOEXIST on a full map still evicts', () => {
    const m = createMap({ ...spec, maxEntries: 8 }, { cpus: 1 }) as HashMap;
    for (let i = 0; i < 8; i++) m.set(k4(i), new Uint8Array(4));
    let err: unknown;
    try {
      m.set(k4(7), new Uint8Array(4), BPF_NOEXIST);
    } catch (e) {
      err = e;
    }
    expect((err as MapError).errnoName).toBe('EEXIST');
    expect(m.size).toBeLessThan(8);
    expect(m.updateElem(k4(100), new Uint8Array(4), BPF_EXIST)).toBe(-2);
    expect(m.updateElem(k4(1), new Uint8Array(4), 4)).toBe(-22);
  });

  it('per-CPU LRU lists (BPF_F_NO_COMMON_LRU) evict only from the inserting CPU\'s list', () => {
    const m = createMap({ ...spec, maxEntries: 8, flags: MapFlags.BPF_F_NO_COMMON_LRU }, { cpus: 2 }) as HashMap;
    for (let i = 0; i < 4; i++) expect(m.updateElem(k4(i), new Uint8Array(4), BPF_ANY, 0)).toBe(0);
    for (let i = 100; i < 110; i++) expect(m.updateElem(k4(i), new Uint8Array(4), BPF_ANY, 1)).toBe(0);
    const keys = keysOf(m);
    expect(keys.filter((k) => k < 4)).toEqual([0, 1, 2, 3]);
    expect(keys.filter((k) => k >= 100).length).toBeLessThanOrEqual(4);
  });

  it('LRU per-CPU hash keeps values per CPU and replaces in place', () => {
    const m = createMap({ ...spec, type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, maxEntries: 8 }, { cpus: 2 });
    expect(m.updateElem(k4(1), Uint8Array.of(1, 1, 1, 1), BPF_ANY, 1)).toBe(0);
    const view = m.lookupElem(k4(1), 1)!;
    expect(m.updateElem(k4(1), Uint8Array.of(2, 2, 2, 2), BPF_EXIST, 1)).toBe(0);
    expect([...view]).toEqual([2, 2, 2, 2]);
    expect([...m.get(k4(1))!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0]);
  });
});

describe('LRU model test', () => {
  it('holds only values last written, at most max_entries, and every fresh insert survives it', () => {
    const op = fc.record({ key: fc.nat(30), value: fc.nat(255), cpu: fc.nat(1), lookup: fc.boolean() });
    fc.assert(fc.property(fc.array(op, { maxLength: 120 }), fc.boolean(), (ops, common) => {
      const m = createMap({ ...spec, maxEntries: 10, flags: common ? 0 : MapFlags.BPF_F_NO_COMMON_LRU }, { cpus: 2 }) as HashMap;
      const last = new Map<number, number>();
      for (const o of ops) {
        if (o.lookup) {
          const v = m.lookupElem(k4(o.key), o.cpu);
          if (v) expect(v[0]).toBe(last.get(o.key));
          continue;
        }
        expect(m.updateElem(k4(o.key), Uint8Array.of(o.value, 0, 0, 0), BPF_ANY, o.cpu)).toBe(0);
        last.set(o.key, o.value);
        expect(m.get(k4(o.key))?.[0]).toBe(o.value);
        expect(m.size).toBeLessThanOrEqual(10);
      }
      for (const k of keysOf(m)) expect(m.get(k4(k))?.[0]).toBe(last.get(k));
    }), { numRuns: 300 });
  });
});
