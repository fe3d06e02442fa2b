/** The VM's tracing helpers on the paths a test run on this kernel cannot reach: stacks copied and skipped, signals refused, strncmp, cookies, func ip, user writes. */

import { describe, expect, it } from 'vitest';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R10 } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { vm } from '../../src/ebpf/vm/index.js';
import type { VmHost } from '../../src/ebpf/vm/index.js';

/** A program whose body (with r6 = ctx, r7 = a 64-byte map value) calls one helper; it returns r0 and leaves the value to read. */
function spec(body: (b: ProgramBuilder) => void): ProgramSpec {
  const b = new ProgramBuilder().mov64(R6, R1)
    .stw(R10, -4, 0).ldMap(R1, 'out').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'fail').mov64(R7, R0);
  body(b);
  b.exit().label('fail').mov64(R0, -1).exit();
  return { name: 'h', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns: b.build(), maps: [{ name: 'out', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 64, maxEntries: 1 }] };
}

function run(s: ProgramSpec, host: VmHost, init?: Uint8Array): { r0: bigint; out: bigint[] } {
  const p = vm.load(s, { host });
  if (init) p.maps[0].updateElem(new Uint8Array(4), init, 0);
  const r0 = BigInt.asIntN(64, p.run({ ctx: new Uint8Array(168) }).r0);
  const v = p.maps[0].lookupElem(new Uint8Array(4))!;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return { r0, out: Array.from({ length: 8 }, (_, i) => dv.getBigUint64(i * 8, true)) };
}

const task = { pid: 42, tgid: 42, uid: 0, gid: 0, comm: 'test' };

describe('bpf_get_stack', () => {
  const stack = [0x1000n, 0x2000n, 0x3000n, 0x4000n];
  const call = (size: number, flags: number) => spec((b) => b.mov64(R1, R6).mov64(R2, R7).mov64(R3, size).mov64(R4, flags).call('get_stack'));

  it('copies frames, zeroes the rest, returns the bytes copied', () => {
    const full = new Uint8Array(64).fill(0xff);
    expect(run(call(48, 0), { task, stack: () => stack }, full)).toEqual({ r0: 32n, out: [...stack, 0n, 0n, 0xffffffffffffffffn, 0xffffffffffffffffn] });
  });

  it('skips frames (flags & 0xff), truncates to the buffer, reads the user stack with BPF_F_USER_STACK', () => {
    expect(run(call(16, 1), { task, stack: () => stack }).out.slice(0, 2)).toEqual([0x2000n, 0x3000n]);
    const user = [0x7f00n];
    expect(run(call(8, 1 << 8), { task, stack: (u) => (u ? user : stack) })).toMatchObject({ r0: 8n, out: [0x7f00n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] });
  });

  it('more frames skipped than exist, or no stack: -EFAULT with the buffer cleared', () => {
    const full = new Uint8Array(64).fill(0xff);
    expect(run(call(16, 5), { task, stack: () => stack }, full)).toMatchObject({ r0: -14n, out: [0n, 0n, 0xffffffffffffffffn, 0xffffffffffffffffn, 0xffffffffffffffffn, 0xffffffffffffffffn, 0xffffffffffffffffn, 0xffffffffffffffffn] });
    expect(run(call(16, 0), { task }).r0).toBe(-14n);
  });
});

describe('signals, strings, cookies', () => {
  const signal = (sig: number) => spec((b) => b.mov64(R1, sig).call('send_signal'));

  it('bpf_send_signal: delivered to the host; refused for kernel threads and init', () => {
    const got: [number, boolean][] = [];
    expect(run(signal(9), { task, sendSignal: (s, t) => got.push([s, t]) }).r0).toBe(0n);
    expect(got).toEqual([[9, false]]);
    expect(run(signal(9), { task: { ...task, kernelThread: true } }).r0).toBe(-1n);
    expect(run(signal(9), { task: { ...task, pid: 1, tgid: 1 } }).r0).toBe(-1n);
    expect(run(signal(65), { task }).r0).toBe(-22n);
    const thread = spec((b) => b.mov64(R1, 10).call('send_signal_thread'));
    expect(run(thread, { task, sendSignal: (s, t) => got.push([s, t]) }).r0).toBe(0n);
    expect(got[1]).toEqual([10, true]);
  });

  it('bpf_strncmp: the kernel\'s -1/0/1 over at most n bytes', () => {
    const cmp = (a: string, bStr: string, n: number): bigint => {
      const init = new Uint8Array(64);
      init.set(new TextEncoder().encode(a), 0);
      init.set(new TextEncoder().encode(`${bStr}\0`), 32);
      return run(spec((b) => b.mov64(R1, R7).mov64(R2, n).mov64(R3, R7).add64(R3, 32).call('strncmp')), { task }, init).r0;
    };
    expect([cmp('abc', 'abc', 3), cmp('abd', 'abc', 3), cmp('abb', 'abc', 3), cmp('abcX', 'abcY', 3), cmp('ab', 'abc', 3), cmp('\xff', 'a', 1)]).toEqual([0n, 1n, -1n, 0n, -1n, 1n]);
  });

  it('current task, cgroup, func ip, attach cookie, numa node, tai clock from the host', () => {
    const host: VmHost = { task: { ...task, taskAddr: 0xffff888000001000n, cgroupId: 77n }, funcIp: 0xffffffff81234560n, attachCookie: 5n, numaNode: 1, taiNow: () => 123n };
    const ids = ['get_current_task', 'get_current_task_btf', 'get_current_cgroup_id', 'get_func_ip', 'get_attach_cookie', 'get_numa_node_id', 'ktime_get_tai_ns'];
    const results = ids.map((h) => BigInt.asUintN(64, run(spec((b) => b.mov64(R1, R6).call(h)), host).r0));
    expect(results).toEqual([0xffff888000001000n, 0xffff888000001000n, 77n, 0xffffffff81234560n, 5n, 1n, 123n]);
  });

  it('bpf_probe_write_user: the host stores the bytes, or -EFAULT', () => {
    const writes: [bigint, number[]][] = [];
    const prog = spec((b) => b.stdw(R7, 0, 0x04030201).lddw(R1, 0x7f0000001000n).mov64(R2, R7).mov64(R3, 4).call('probe_write_user'));
    expect(run(prog, { task, writeMemory: (a, bytes) => (writes.push([a, [...bytes]]), true) }).r0).toBe(0n);
    expect(writes).toEqual([[0x7f0000001000n, [1, 2, 3, 4]]]);
    expect(run(prog, { task }).r0).toBe(-14n);
  });

  it('jiffies64 from the boot clock at CONFIG_HZ, starting 300 s before the 32-bit wrap', () => {
    const j = spec((b) => b.call('jiffies64'));
    expect(run(j, { task, hz: 250, bootNow: () => 10_000_000_000n }).r0).toBe(0x100000000n - 75000n + 2500n);
    expect(run(j, { task, jiffies: () => 99n }).r0).toBe(99n);
  });
});
