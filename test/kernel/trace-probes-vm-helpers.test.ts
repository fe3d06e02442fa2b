/**
 * The VM's tracing helpers against the kernel's: one raw_tracepoint program calls each helper
 * (current task, pid/tgid, cgroup ids, namespace pid, jiffies, signals, stacks, numa node) and
 * stores what it got; the kernel runs it with BPF_PROG_TEST_RUN in this process's context, the
 * VM with a host describing this process from independent sources (/proc, /sys).
 */

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R10 } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { vm } from '../../src/ebpf/vm/index.js';
import type { VmHost } from '../../src/ebpf/vm/index.js';
import { BpfCmd, Kernel, testRunAttr } from '../../src/kernel/index.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('vm tracing helpers vs kernel');

/** Slots of the `out` value (u64 each) and the buffers after them. */
const S = { pidTgid: 0, jiffies: 1, task: 2, cgroup: 3, sig0: 4, sig65: 5, stackBadFlags: 6, stackBadSize: 7, nsOk: 8, nsBadIno: 9, nsBadSize: 10, numa: 11, ancestor0: 12, nsPid: 13, stackBuf: 14 } as const;
const VALUE_SIZE = (S.stackBuf + 4) * 8;

function helperProgram(nsDev: bigint, nsIno: bigint): ProgramSpec {
  const b = new ProgramBuilder().mov64(R6, R1)
    .stw(R10, -4, 0).ldMap(R1, 'out').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'out').mov64(R7, R0);
  const save = (slot: number): ProgramBuilder => b.st(64, R7, slot * 8, R0);
  b.call('get_current_pid_tgid'); save(S.pidTgid);
  b.call('jiffies64'); save(S.jiffies);
  b.call('get_current_task'); save(S.task);
  b.call('get_current_cgroup_id'); save(S.cgroup);
  b.mov64(R1, 0).call('send_signal'); save(S.sig0);
  b.mov64(R1, 65).call('send_signal'); save(S.sig65);
  b.mov64(R1, R6).mov64(R2, R7).add64(R2, S.stackBuf * 8).mov64(R3, 24).mov64(R4, 1 << 9).call('get_stack'); save(S.stackBadFlags);
  b.mov64(R1, R6).mov64(R2, R7).add64(R2, S.stackBuf * 8).mov64(R3, 12).mov64(R4, 0).call('get_stack'); save(S.stackBadSize);
  b.lddw(R1, nsDev).lddw(R2, nsIno).mov64(R3, R7).add64(R3, S.nsPid * 8).mov64(R4, 8).call('get_ns_current_pid_tgid'); save(S.nsOk);
  b.lddw(R1, nsDev).lddw(R2, nsIno + 1n).mov64(R3, R10).add64(R3, -16).mov64(R4, 8).call('get_ns_current_pid_tgid'); save(S.nsBadIno);
  b.lddw(R1, nsDev).lddw(R2, nsIno).mov64(R3, R10).add64(R3, -16).mov64(R4, 4).call('get_ns_current_pid_tgid'); save(S.nsBadSize);
  b.call('get_numa_node_id'); save(S.numa);
  b.mov64(R1, 0).call('get_current_ancestor_cgroup_id'); save(S.ancestor0);
  b.label('out').mov64(R0, 0).exit();
  return {
    name: 'tl_helpers', type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, license: 'GPL', insns: b.build(),
    maps: [{ name: 'out', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: VALUE_SIZE, maxEntries: 1 }],
  };
}

function slots(value: Uint8Array): bigint[] {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return Array.from({ length: VALUE_SIZE / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
}

const neg = (n: number): bigint => BigInt.asUintN(64, BigInt(-n));

/** This process's cgroup v2 id: the inode of its directory in the unified hierarchy. */
function cgroupV2Id(): bigint | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'cgroup2');
  if (!line || mounts.length === 0) return undefined;
  return BigInt(statSync(`${mounts[0][1]}${line.slice(3)}`).ino);
}

/** CONFIG_HZ, from the kernel's jiffies and the uptime it corresponds to. */
function guessHz(jiffies: bigint, uptimeS: number): number | undefined {
  return [100, 250, 300, 1000].find((hz) => {
    const expect = Number(jiffies - (0x100000000n - 300n * BigInt(hz))) / hz;
    return Math.abs(expect - uptimeS) < 2;
  });
}

describe.skipIf(why !== undefined)('vm tracing helpers vs the kernel (raw_tp test run)', () => {
  let kernelSlots: bigint[];
  let vmSlots: bigint[];
  let uptime: number;
  let spec: ProgramSpec;
  const ns = statSync('/proc/self/ns/pid');

  beforeAll(async () => {
    spec = helperProgram(BigInt(ns.dev), BigInt(ns.ino));
    const kernel = await Kernel.open();
    const prog = kernel.load(spec);
    try {
      uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      // A raw_tp test run takes only ctx_in (no data, ctx_out or repeat), which KernelProgram.testRun always sets.
      const ctx = new Uint8Array(8);
      kernel.sys.bpf(BpfCmd.BPF_PROG_TEST_RUN, testRunAttr({ progFd: prog.fd, dataIn: 0n, dataSizeIn: 0, dataOut: 0n, dataSizeOut: 0, ctxIn: kernel.sys.addressOf(ctx), ctxSizeIn: 8, repeat: 0 }));
      kernelSlots = slots(prog.maps.get('out')!.get(new Uint8Array(4))!);
    } finally {
      prog.close();
    }
    const hz = guessHz(kernelSlots[S.jiffies], uptime) ?? 250;
    const host: VmHost = {
      task: {
        pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm: 'node', taskAddr: kernelSlots[S.task], cgroupId: cgroupV2Id() ?? 0n,
        cgroupAncestors: [1n], pidNamespace: { dev: BigInt(ns.dev), ino: BigInt(ns.ino), pid: process.pid, tgid: process.pid },
      },
      hz, bootNow: () => BigInt(Math.round(uptime * 1e9)), stack: () => [0xffffffff81000000n, 0xffffffff81000010n],
    };
    const p = vm.load(spec, { host });
    p.run({ ctx: new Uint8Array(8) });
    vmSlots = slots(p.maps[0].lookupElem(new Uint8Array(4))!);
  });

  it('pid/tgid and the namespace pid are this process in both', () => {
    expect(kernelSlots[S.pidTgid]).toBe((BigInt(process.pid) << 32n) | BigInt(process.pid));
    expect(vmSlots[S.pidTgid]).toBe(kernelSlots[S.pidTgid]);
    expect([kernelSlots[S.nsOk], kernelSlots[S.nsPid]]).toEqual([0n, (BigInt(process.pid) << 32n) | BigInt(process.pid)]);
    expect([vmSlots[S.nsOk], vmSlots[S.nsPid]]).toEqual([kernelSlots[S.nsOk], kernelSlots[S.nsPid]]);
  });

  it('the same errors: bad namespace inode or size (-EINVAL), signal past _NSIG (-EINVAL), signal 0 (0), bad get_stack flags or size (-EINVAL)', () => {
    for (const slot of [S.nsBadIno, S.nsBadSize, S.sig65, S.sig0, S.stackBadFlags, S.stackBadSize] as const) {
      expect(vmSlots[slot], `slot ${slot}`).toBe(kernelSlots[slot]);
    }
    expect(kernelSlots[S.nsBadIno]).toBe(neg(22));
    expect(kernelSlots[S.sig65]).toBe(neg(22));
    expect(kernelSlots[S.sig0]).toBe(0n);
    expect(kernelSlots[S.stackBadFlags]).toBe(neg(22));
  });

  it('jiffies64 counts from INITIAL_JIFFIES at CONFIG_HZ, as the VM does', () => {
    const hz = guessHz(kernelSlots[S.jiffies], uptime);
    expect(hz, 'a CONFIG_HZ explains the kernel\'s jiffies').toBeDefined();
    // jiffies start ticking a fraction of a second after CLOCK_BOOTTIME's zero; allow a second.
    const diff = Number(vmSlots[S.jiffies] - kernelSlots[S.jiffies]);
    expect(Math.abs(diff)).toBeLessThanOrEqual(hz ?? 250);
  });

  it('current task and cgroup ids', () => {
    expect(kernelSlots[S.task] >> 47n).toBe(0x1ffffn); // a kernel address
    const cg = cgroupV2Id();
    if (cg !== undefined) expect(kernelSlots[S.cgroup]).toBe(cg);
    expect(vmSlots[S.cgroup]).toBe(kernelSlots[S.cgroup]);
    expect(kernelSlots[S.ancestor0]).toBe(1n);
    expect(vmSlots[S.ancestor0]).toBe(kernelSlots[S.ancestor0]);
    const nodes = readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d));
    if (nodes.length <= 1) expect(kernelSlots[S.numa]).toBe(0n);
    expect(vmSlots[S.numa]).toBe(0n);
  });
});
