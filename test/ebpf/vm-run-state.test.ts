// State the VM reuses between runs (memory, stack frame, packet views): each run still starts clean and returns its own results, on both engines.
import { describe, expect, it } from 'vitest';
import { MapType, ProgType, type MapSpec } from '../../src/ebpf/spec.js';
import { arrayKey, createMap } from '../../src/ebpf/maps/index.js';
import { STACK_REGION, load, pointer, type EngineKind } from '../../src/ebpf/vm/index.js';
import { asm } from './vm-support.js';

const ENGINES: EngineKind[] = ['interp', 'jit'];

describe.each(ENGINES)('run state (%s)', (engine) => {
  it('the stack frame starts zeroed even after a run wrote it through a forged pointer', () => {
    // No store goes through r10, so the VM may skip re-zeroing the frame, except after user-given arguments.
    const p = load({ name: 's', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(`
      r0 = *(u64 *)(r10 - 8)
      if r1 == 0 goto out
      *(u64 *)(r1 + 504) = 7
    out:
      exit`), license: 'GPL' }, { engine });
    expect(p.run({ args: [pointer(STACK_REGION, 0)] }).r0).toBe(0n);
    expect(p.run().r0).toBe(0n);
    expect(p.run().r0).toBe(0n);
  });

  it('a run that stores to its stack does not leak into the next one', () => {
    const p = load({ name: 's2', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(`
      r0 = *(u64 *)(r10 - 8)
      *(u64 *)(r10 - 8) = r2
      exit`), license: 'GPL' }, { engine });
    expect(p.run({ mem: new Uint8Array(5) }).r0).toBe(0n);
    expect(p.run({ mem: new Uint8Array(3) }).r0).toBe(0n);
  });

  it('results of earlier runs keep their bytes (memOut, dataOut are copies)', () => {
    const p = load({ name: 'm', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(`
      r0 = *(u8 *)(r1 + 0)
      r0 += 1
      *(u8 *)(r1 + 0) = r0
      exit`), license: 'GPL' }, { engine });
    const a = p.run({ mem: new Uint8Array([1, 2]) });
    const b = p.run({ mem: new Uint8Array([5, 6]) });
    expect([...a.memOut!]).toEqual([2, 2]);
    expect([...b.memOut!]).toEqual([6, 6]);
    const x = load({ name: 'x', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(`
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += 1
      r0 = 2
      if r4 > r3 goto out
      r5 = *(u8 *)(r2 + 0)
      r5 += 1
      *(u8 *)(r2 + 0) = r5
    out:
      exit`), license: 'GPL' }, { engine });
    const d1 = x.run({ data: new Uint8Array([10, 20]) }).dataOut;
    const d2 = x.run({ data: new Uint8Array([30, 40]) }).dataOut;
    expect([...d1]).toEqual([11, 20]);
    expect([...d2]).toEqual([31, 40]);
  });

  it('headroom a run wrote after bpf_xdp_adjust_head is zero again in the next run', () => {
    // Grows the packet by 8 bytes at the front; stores 0x55 there when the old first byte is 1, returns what is there otherwise.
    const x = load({ name: 'h', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(`
      r6 = r1
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += 1
      r0 = 99
      if r4 > r3 goto out
      r7 = *(u8 *)(r2 + 0)
      r1 = r6
      r2 = -8
      call 44
      r2 = *(u32 *)(r6 + 0)
      r3 = *(u32 *)(r6 + 4)
      r4 = r2
      r4 += 8
      r0 = 98
      if r4 > r3 goto out
      r0 = *(u8 *)(r2 + 0)
      if r7 != 1 goto out
      *(u8 *)(r2 + 0) = 0x55
    out:
      exit`), license: 'GPL' }, { engine });
    const frame = (first: number): Uint8Array => new Uint8Array(20).fill(2).fill(first, 0, 1);
    expect(x.run({ data: frame(1) }).r0).toBe(0n);
    expect(x.run({ data: frame(1) }).dataOut[0]).toBe(0x55); // the write happened
    expect(x.run({ data: frame(0) }).r0).toBe(0n);
    expect(x.testRun({ data: frame(1), repeat: 3 }).retval).toBe(0);
  });

  it('testRun with repeat runs every repeat and returns the last result', () => {
    const spec: MapSpec = { name: 'n', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 };
    const n = createMap(spec);
    const p = load({ name: 'c', type: ProgType.BPF_PROG_TYPE_XDP, maps: [spec], insns: asm(`
      r1 = mapvalue:n+0 ll
      r0 = *(u64 *)(r1 + 0)
      r0 += 1
      *(u64 *)(r1 + 0) = r0
      exit`), license: 'GPL' }, { engine, maps: { n } });
    const r = p.testRun({ data: new Uint8Array(20), repeat: 5 });
    expect(r.retval).toBe(5);
    expect(r.dataOut.length).toBe(20);
    const v = n.get(arrayKey(0))!;
    expect(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0, true)).toBe(5n);
  });
});
