/**
 * `curtask` in the VM: one program follows `bpf_get_current_task()->real_parent->tgid` and reads
 * `->comm` and `->cred->uid` at BTF offsets with bpf_probe_read_kernel. The kernel runs it for
 * this process (raw_tp test run); the VM runs it against a synthetic task_struct describing
 * this process from /proc. Both must agree.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R6, R7, R8, R10 } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { vm } from '../../src/ebpf/vm/index.js';
import { BpfCmd, Kernel, testRunAttr } from '../../src/kernel/index.js';
import { kernelBtf, structLayout, syntheticHost } from '../../src/trace/probes/index.js';
import type { BtfSource } from '../../src/trace/probes/index.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('synthetic curtask vs kernel');

function offset(btf: BtfSource, struct: string, member: string): number {
  const f = (structLayout(btf, struct) ?? []).find((x) => x.name === member);
  if (!f) throw new Error(`${struct} has no ${member}`);
  return f.offset;
}

/** out = { parent tgid (u64), uid (u64), comm[16] }. */
function program(btf: BtfSource): ProgramSpec {
  const parentOff = offset(btf, 'struct task_struct', 'real_parent');
  const tgidOff = offset(btf, 'struct task_struct', 'tgid');
  const commOff = offset(btf, 'struct task_struct', 'comm');
  const credOff = offset(btf, 'struct task_struct', 'cred');
  const uidOff = offset(btf, 'struct cred', 'uid');
  const read = (b: ProgramBuilder, dst: number, size: number, srcReg: typeof R6, srcOff: number): ProgramBuilder =>
    b.mov64(R1, R7).add64(R1, dst).mov64(R2, size).mov64(R3, srcReg).add64(R3, srcOff).call('probe_read_kernel');
  const b = new ProgramBuilder()
    .stw(R10, -4, 0).ldMap(R1, 'out').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'out').mov64(R7, R0)
    .call('get_current_task').mov64(R6, R0);
  // parent = task->real_parent (into out+0 as scratch), then parent->tgid into out+0.
  read(b, 0, 8, R6, parentOff).ldx(64, R8, R7, 0).stdw(R7, 0, 0);
  read(b, 0, 4, R8, tgidOff);
  // cred = task->cred, then cred->uid.val into out+8.
  read(b, 8, 8, R6, credOff).ldx(64, R8, R7, 8).stdw(R7, 8, 0);
  read(b, 8, 4, R8, uidOff);
  read(b, 16, 16, R6, commOff);
  b.label('out').mov64(R0, 0).exit();
  return {
    name: 'tl_curtask', type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, license: 'GPL', insns: b.build(),
    maps: [{ name: 'out', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 32, maxEntries: 1 }],
  };
}

function decode(v: Uint8Array): { ppid: bigint; uid: bigint; comm: string } {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const comm = v.subarray(16, 32);
  const z = comm.indexOf(0);
  return { ppid: dv.getBigUint64(0, true), uid: dv.getBigUint64(8, true), comm: new TextDecoder().decode(comm.subarray(0, z < 0 ? 16 : z)) };
}

describe.skipIf(why !== undefined)('curtask: synthetic task in the VM vs the kernel', () => {
  it('real_parent->tgid, cred->uid and comm agree', async () => {
    const btf = await kernelBtf();
    const spec = program(btf);
    const kernel = await Kernel.open();
    const prog = kernel.load(spec);
    let theirs: ReturnType<typeof decode>;
    try {
      const ctx = new Uint8Array(8);
      kernel.sys.bpf(BpfCmd.BPF_PROG_TEST_RUN, testRunAttr({ progFd: prog.fd, dataIn: 0n, dataSizeIn: 0, dataOut: 0n, dataSizeOut: 0, ctxIn: kernel.sys.addressOf(ctx), ctxSizeIn: 8, repeat: 0 }));
      theirs = decode(prog.maps.get('out')!.get(new Uint8Array(4))!);
    } finally {
      prog.close();
    }
    const comm = readFileSync(`/proc/self/task/${process.pid}/comm`, 'utf8').trim();
    const uid = process.getuid?.() ?? 0;
    expect(theirs).toEqual({ ppid: BigInt(process.ppid), uid: BigInt(uid), comm });
    const { host } = syntheticHost(btf, { pid: process.pid, comm, uid, parent: { pid: process.ppid, comm: 'parent' } });
    const p = vm.load(spec, { host });
    p.run({ ctx: new Uint8Array(8) });
    expect(decode(p.maps[0].lookupElem(new Uint8Array(4))!)).toEqual(theirs);
  });
});
