// Helpers in the VM: maps in place, callbacks (bpf_loop, for_each), tail calls, tracing helpers, ring buffers; on both engines.
import { describe, expect, it } from 'vitest';
import { MapType, ProgType, type MapSpec } from '../../src/ebpf/spec.js';
import { createMap, arrayKey, type PerfEventArrayMap, type RingbufMap, type ProgArrayMap } from '../../src/ebpf/maps/index.js';
import { load, type EngineKind, type VmLoadOptions } from '../../src/ebpf/vm/index.js';
import { asm } from './vm-support.js';

const ENGINES: EngineKind[] = ['interp', 'jit'];
const u64 = (v: Uint8Array | undefined): bigint => new DataView(v!.buffer, v!.byteOffset).getBigUint64(0, true);

const COUNTS: MapSpec = { name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 };
const ARR: MapSpec = { name: 'arr', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 4 };

describe.each(ENGINES)('helpers (%s)', (engine) => {
  const mk = (text: string, maps: MapSpec[] = [], opts: VmLoadOptions = {}, type: ProgType = ProgType.BPF_PROG_TYPE_UNSPEC) =>
    load({ name: 't', type, insns: asm(text), license: 'GPL', maps }, { engine, ...opts });

  it('map_update then map_lookup: the program increments the value in place', () => {
    const counts = createMap(COUNTS);
    const p = mk(`
      *(u32 *)(r10 - 4) = 7
      r1 = map:counts ll
      r2 = r10
      r2 += -4
      call 1
      if r0 != 0 goto found
      *(u64 *)(r10 - 16) = 100
      r1 = map:counts ll
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -16
      r4 = 0
      call 2
      r0 = 0
      exit
    found:
      r1 = *(u64 *)(r0 + 0)
      r1 += 1
      *(u64 *)(r0 + 0) = r1
      r0 = r1
      exit`, [COUNTS], { maps: { counts } });
    expect(p.run().r0).toBe(0n);
    expect(u64(counts.get(arrayKey(7)))).toBe(100n);
    expect(p.run().r0).toBe(101n);
    expect(p.run().r0).toBe(102n);
    expect(u64(counts.get(arrayKey(7)))).toBe(102n);
  });

  it('a pointer into an array value sees map_update and the host sees writes through it', () => {
    const arr = createMap(ARR);
    const p = mk(`
      *(u32 *)(r10 - 4) = 2
      r1 = map:arr ll
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto out
      r6 = r0
      *(u64 *)(r6 + 0) = 5
      *(u64 *)(r10 - 24) = 9
      *(u64 *)(r10 - 16) = 0
      r1 = map:arr ll
      r2 = r10
      r2 += -4
      r3 = r10
      r3 += -24
      r4 = 0
      call 2
      r0 = *(u64 *)(r6 + 0)
      *(u64 *)(r6 + 8) = 77
    out:
      exit`, [ARR], { maps: { arr } });
    expect(p.run().r0).toBe(9n);
    expect(u64(arr.get(arrayKey(2)))).toBe(9n);
    expect(u64(arr.get(arrayKey(2))!.subarray(8))).toBe(77n);
  });

  it('map value pointers are bounds-checked against the value size', () => {
    const arr = createMap(ARR);
    const p = mk(`
      *(u32 *)(r10 - 4) = 1
      r1 = map:arr ll
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto out
      r0 = *(u64 *)(r0 + 12)
    out:
      exit`, [ARR], { maps: { arr } });
    expect(() => p.run()).toThrow(/out-of-bounds access of 8 bytes at map arr value\+12/);
  });

  it('an lddw map-value pointer (global data) reads and writes the array value', () => {
    const arr = createMap(ARR);
    arr.set(arrayKey(0), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
    const p = mk('r1 = mapvalue:arr+8 ll\nr0 = *(u64 *)(r1 + 0)\nr0 += 40\n*(u64 *)(r1 + 0) = r0\nexit', [ARR], { maps: { arr } });
    expect(p.run().r0).toBe(42n);
    expect([...arr.get(arrayKey(0))!.subarray(8, 9)]).toEqual([42]);
  });

  it('map_delete_elem and map_push/pop on a queue', () => {
    const q: MapSpec = { name: 'q', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 };
    const queue = createMap(q);
    const p = mk(`
      *(u32 *)(r10 - 4) = 11
      r1 = map:q ll
      r2 = r10
      r2 += -4
      r3 = 0
      call 87
      *(u32 *)(r10 - 4) = 22
      r1 = map:q ll
      r2 = r10
      r2 += -4
      r3 = 0
      call 87
      r1 = map:q ll
      r2 = r10
      r2 += -8
      call 88
      r0 = *(u32 *)(r10 - 8)
      exit`, [q], { maps: { q: queue } });
    expect(p.run().r0).toBe(11n);
  });

  it('bpf_loop runs the callback with the index and a context pointer', () => {
    const p = mk(`
      *(u64 *)(r10 - 8) = 0
      r1 = 10
      r2 = func:cb ll
      r3 = r10
      r3 += -8
      r4 = 0
      call 181
      r1 = *(u64 *)(r10 - 8)
      r0 <<= 32
      r0 |= r1
      exit
    cb:
      r3 = *(u64 *)(r2 + 0)
      r3 += r1
      *(u64 *)(r2 + 0) = r3
      r0 = 0
      if r1 != 6 goto +1
      r0 = 1
      exit`);
    // Indices 0..6 run (the callback returns 1 at 6): 7 iterations, sum 21.
    expect(p.run().r0).toBe((7n << 32n) | 21n);
  });

  it('for_each_map_elem visits every element and the callback sees key and value', () => {
    const counts = createMap(COUNTS);
    for (const [k, v] of [[1, 10n], [2, 20n], [3, 30n]] as const) {
      const val = new Uint8Array(8);
      new DataView(val.buffer).setBigUint64(0, v, true);
      counts.set(arrayKey(k), val);
    }
    const p = mk(`
      *(u64 *)(r10 - 8) = 0
      r1 = map:counts ll
      r2 = func:cb ll
      r3 = r10
      r3 += -8
      r4 = 0
      call 164
      r1 = *(u64 *)(r10 - 8)
      r0 <<= 32
      r0 |= r1
      exit
    cb:
      r5 = *(u32 *)(r2 + 0)
      r0 = *(u64 *)(r3 + 0)
      r0 *= r5
      r1 = *(u64 *)(r4 + 0)
      r1 += r0
      *(u64 *)(r4 + 0) = r1
      r0 = 0
      exit`, [COUNTS], { maps: { counts } });
    expect(p.run().r0).toBe((3n << 32n) | 140n);
  });

  it('tail_call jumps to the program in the array; a missing slot falls through', () => {
    const pa: MapSpec = { name: 'jmp', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 };
    const jmp = createMap(pa) as ProgArrayMap;
    const target = mk('r0 = *(u32 *)(r1 + 0)\nr0 += 1000\nexit', [], {}, ProgType.BPF_PROG_TYPE_KPROBE);
    jmp.setProgram(1, target);
    const caller = mk(`
      r6 = r1
      r1 = r6
      r2 = map:jmp ll
      r3 = 3
      call 12
      r1 = r6
      r2 = map:jmp ll
      r3 = 1
      call 12
      r0 = 7
      exit`, [pa], { maps: { jmp } }, ProgType.BPF_PROG_TYPE_KPROBE);
    const ctx = new Uint8Array(168);
    ctx[0] = 5;
    expect(caller.run({ ctx }).r0).toBe(1005n);
    expect(target.run({ ctx }).r0).toBe(1005n);
  });

  it('get_current_pid_tgid, uid_gid and comm come from the host task', () => {
    const host = { task: { pid: 42, tgid: 40, uid: 1000, gid: 100, comm: 'bash' } };
    const p = mk('call 14\nexit', [], { host });
    expect(p.run().r0).toBe((40n << 32n) | 42n);
    expect(mk('call 15\nexit', [], { host }).run().r0).toBe((100n << 32n) | 1000n);
    const comm = mk('r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u32 *)(r10 - 16)\nexit', [], { host });
    expect(comm.run().r0).toBe(0x68736162n); // "bash" little-endian
  });

  it('probe_read_kernel(_str) read host memory, -EFAULT when unmapped', () => {
    const host = {
      readMemory: (addr: bigint, len: number) => (addr === 0x1000n ? new Uint8Array([104, 105, 0, 9, 9, 9, 9, 9]).subarray(0, len) : undefined),
    };
    const p = mk('r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0x1000\ncall 115\nr1 = *(u16 *)(r10 - 8)\nr0 <<= 16\nr0 |= r1\nexit', [], { host });
    expect(p.run().r0).toBe((3n << 16n) | 0x6968n);
    const bad = mk('r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0x2000\ncall 113\nexit', [], { host });
    expect(bad.run().r0).toBe(BigInt.asUintN(64, -14n));
  });

  it('trace_printk formats and collects lines', () => {
    const lines: string[] = [];
    const p = mk(`
      r1 = 0x7825203d2078 ll
      *(u64 *)(r10 - 16) = r1
      *(u64 *)(r10 - 8) = 0
      r1 = r10
      r1 += -16
      r2 = 16
      r3 = 255
      call 6
      exit`, [], { host: { tracePrintk: (l: string) => lines.push(l) } });
    const r = p.run();
    expect(r.trace).toEqual(['x = ff']);
    expect(lines).toEqual(['x = ff']);
  });

  it('ringbuf reserve/submit and output reach the consumer', () => {
    const rbSpec: MapSpec = { name: 'rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };
    const rb = createMap(rbSpec) as RingbufMap;
    const p = mk(`
      r1 = map:rb ll
      r2 = 8
      r3 = 0
      call 131
      if r0 == 0 goto out
      *(u64 *)(r0 + 0) = 0x1122
      r1 = r0
      r2 = 0
      call 132
      *(u32 *)(r10 - 4) = 0x33
      r1 = map:rb ll
      r2 = r10
      r2 += -4
      r3 = 4
      r4 = 0
      call 130
    out:
      exit`, [rbSpec], { maps: { rb } });
    expect(p.run().r0).toBe(0n);
    const recs = rb.read();
    expect(recs.map((r) => [...r.data])).toEqual([[0x22, 0x11, 0, 0, 0, 0, 0, 0], [0x33, 0, 0, 0]]);
  });

  it('ktime_get_ns and get_prandom_u32 use the host', () => {
    const host = { now: () => 123456789n, random: () => 0xdeadbeef };
    expect(mk('call 5\nexit', [], { host }).run().r0).toBe(123456789n);
    expect(mk('call 7\nexit', [], { host }).run().r0).toBe(0xdeadbeefn);
    expect(mk('call 160\nexit', [], { host }).run().r0).toBe(120000000n);
  });

  it('csum_diff sums 32-bit words with end-around carry and folds to 16 bits (Linux 6.13+, every arch)', () => {
    const p = mk('*(u32 *)(r10 - 4) = 0x01000201\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 28\nexit');
    // 0x01000201 folded: 0x0201 + 0x0100
    expect(p.run().r0).toBe(0x0301n);
    // csum_sub(seed 2 + 0xffffffff = 0x1_00000001 -> 0x00000002 with the carry around, 0xffffffff) = 2
    const q = mk('*(u32 *)(r10 - 4) = -1\n*(u32 *)(r10 - 8) = -1\nr1 = r10\nr1 += -4\nr2 = 4\nr3 = r10\nr3 += -8\nr4 = 4\nr5 = 2\ncall 28\nexit');
    expect(q.run().r0).toBe(2n);
  });

  it('perf_event_output writes the sample to the current CPU buffer', () => {
    const pe: MapSpec = { name: 'events', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 };
    const events = createMap(pe) as PerfEventArrayMap;
    const buf = events.open(0);
    const seen: string[] = [];
    const p = mk(`
      *(u32 *)(r10 - 4) = 0xabcd
      r2 = map:events ll
      r3 = 0xffffffff ll
      r4 = r10
      r4 += -4
      r5 = 4
      call 25
      exit`, [pe], { maps: { events }, host: { perfOutput: (m: string, cpu: number) => seen.push(`${m}@${cpu}`) } }, ProgType.BPF_PROG_TYPE_KPROBE);
    expect(p.run({ ctx: new Uint8Array(168) }).r0).toBe(0n);
    expect(buf.read().samples.map((x) => [...x.data.subarray(0, 4)])).toEqual([[0xcd, 0xab, 0, 0]]);
    expect(seen).toEqual(['events@0']);
  });

  it('snprintf formats into a buffer and returns the length with the NUL', () => {
    const p = mk(`
      r1 = 0x7325203a6425 ll
      *(u64 *)(r10 - 8) = r1
      *(u64 *)(r10 - 24) = -5
      r1 = r10
      r1 += -16
      *(u64 *)(r1 + 0) = r1
      r1 = 0x6968 ll
      *(u64 *)(r10 - 40) = r1
      r1 = r10
      r1 += -40
      *(u64 *)(r10 - 16) = r1
      r1 = r10
      r1 += -64
      r2 = 16
      r3 = r10
      r3 += -8
      r4 = r10
      r4 += -24
      r5 = 16
      call 165
      r1 = *(u64 *)(r10 - 64)
      exit`);
    // "%d: %s" with (-5, "hi") -> "-5: hi" (6 chars + NUL)
    expect(p.run().r0).toBe(7n);
    const text = load({ ...p.spec, insns: [...p.spec.insns.slice(0, -2), ...asm('r0 = *(u64 *)(r10 - 64)\nexit')] }, { engine });
    expect(text.run().r0).toBe(0x6968203a352dn); // "-5: hi" then NULs, little-endian
  });

  it('tail calls stop after 33 in a chain (MAX_TAIL_CALL_CNT)', () => {
    const pa: MapSpec = { name: 'jmp', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };
    const jmp = createMap(pa) as ProgArrayMap;
    // Counts its runs in an array map, then tail-calls itself.
    const counter: MapSpec = { name: 'n', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 };
    const n = createMap(counter);
    const self = mk(`
      r6 = r1
      r1 = mapvalue:n+0 ll
      r2 = *(u64 *)(r1 + 0)
      r2 += 1
      *(u64 *)(r1 + 0) = r2
      r1 = r6
      r2 = map:jmp ll
      r3 = 0
      call 12
      r0 = 9
      exit`, [pa, counter], { maps: { jmp, n } }, ProgType.BPF_PROG_TYPE_KPROBE);
    jmp.setProgram(0, self);
    expect(self.run({ ctx: new Uint8Array(168) }).r0).toBe(9n);
    expect(u64(n.get(arrayKey(0)))).toBe(34n); // the first run and 33 tail calls
  });

  it('xdp_adjust_tail and xdp_adjust_meta resize the packet; old pointers stop working', () => {
    const p = mk(`
      r6 = r1
      r2 = -4
      call 65
      r1 = r6
      r2 = -8
      call 54
      r2 = *(u32 *)(r6 + 8)
      r3 = *(u32 *)(r6 + 0)
      r0 = r3
      r0 -= r2
      *(u32 *)(r2 + 0) = 0x11223344
      exit`, [], { verify: false }, ProgType.BPF_PROG_TYPE_XDP); // writes the metadata without a bounds check: the VM's own check
    const data = new Uint8Array(60).map((_, i) => i);
    const r = p.run({ data });
    expect(r.r0).toBe(8n);
    expect(r.dataOut.length).toBe(8 + 56);
    expect([...r.dataOut.subarray(0, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([...r.dataOut.subarray(8)]).toEqual([...data.subarray(0, 56)]);
    const stale = mk(`
      r6 = r1
      r7 = *(u32 *)(r6 + 0)
      r1 = r6
      r2 = -4
      call 65
      r0 = *(u8 *)(r7 + 0)
      exit`, [], { verify: false }, ProgType.BPF_PROG_TYPE_XDP); // a stale packet pointer, rejected by the verifier on purpose
    expect(() => stale.run({ data })).toThrow(/out-of-bounds/);
  });

  it('skb_load_bytes_relative reads from the network header', () => {
    const frame = new Uint8Array(40).map((_, i) => i);
    const p = mk(`
      r2 = 2
      r3 = r10
      r3 += -4
      r4 = 2
      r5 = 1
      call 68
      r0 = *(u16 *)(r10 - 4)
      exit`, [], {}, ProgType.BPF_PROG_TYPE_SCHED_CLS);
    expect(p.run({ data: frame }).r0).toBe(BigInt(16 | (17 << 8)));
  });

  it('a loop may look up thousands of distinct map values in one run', () => {
    const big: MapSpec = { name: 'big', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 5000 };
    const arr = createMap(big);
    for (let i = 0; i < 5000; i++) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigUint64(0, BigInt(i), true);
      arr.set(arrayKey(i), v);
    }
    const p = mk(`
      *(u64 *)(r10 - 8) = 0
      r1 = 5000
      r2 = func:cb ll
      r3 = r10
      r3 += -8
      r4 = 0
      call 181
      r0 = *(u64 *)(r10 - 8)
      exit
    cb:
      r6 = r2
      *(u32 *)(r10 - 4) = r1
      r1 = map:big ll
      r2 = r10
      r2 += -4
      call 1
      if r0 == 0 goto done
      r1 = *(u64 *)(r0 + 0)
      r2 = *(u64 *)(r6 + 0)
      r2 += r1
      *(u64 *)(r6 + 0) = r2
    done:
      r0 = 0
      exit`, [big], { maps: { big: arr } });
    expect(p.run().r0).toBe(BigInt((4999 * 5000) / 2));
  });
});
