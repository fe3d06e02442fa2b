// Tracing contexts in the VM: tp_btf (BPF_PROG_TYPE_TRACING) args, kprobe pt_regs, and a host-supplied current task read through bpf_probe_read_kernel.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_ADDRESS, PT_REGS, ProgType, assembleLlvm, vm } from '../../src/ebpf/index.js';

const TASK = 0xffff888012340000n;
/** The host's kernel memory: a task_struct whose pid (at +0x10 here) is 4242. */
const readMemory = (address: bigint, len: number): Uint8Array | undefined => {
  if (address < TASK || address + BigInt(len) > TASK + 0x100n) return undefined;
  const mem = new Uint8Array(0x100);
  new DataView(mem.buffer).setUint32(0x10, 4242, true);
  const at = Number(address - TASK);
  return mem.slice(at, at + len);
};

const READ_PID = assembleLlvm(`
  call 35                      # bpf_get_current_task
  r3 = r0
  r3 += 16
  r1 = r10
  r1 += -8
  r2 = 4
  call 113                     # bpf_probe_read_kernel(&pid, 4, &task->pid)
  if r0 != 0 goto fail
  r0 = *(u32 *)(r10 - 8)
  exit
fail:
  r0 = 0xffff
  exit`);

describe.each(['interp', 'jit'] as const)('tracing contexts (%s)', (engine) => {
  it('a kprobe reads the host-supplied task through bpf_probe_read_kernel', () => {
    const p = vm.load({ name: 'pid', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns: READ_PID }, { engine, host: { currentTask: TASK, readMemory } });
    expect(p.run({ ctx: new Uint8Array(168) }).r0).toBe(4242n);
    // Without the host's task the address is a fixed non-zero one whose memory is unmapped: -EFAULT path.
    const q = vm.load({ name: 'pid', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns: READ_PID }, { engine });
    expect(q.run({ ctx: new Uint8Array(168) }).r0).toBe(0xffffn);
    expect(DEFAULT_TASK_ADDRESS).not.toBe(0n);
  });

  it('a kprobe reads pt_regs; a tp_btf program reads its u64 arguments; neither has a kernel test run', () => {
    const regs = new Uint8Array(168);
    new DataView(regs.buffer).setBigUint64(PT_REGS.si, 77n, true);
    const kp = vm.load({ name: 'si', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns: assembleLlvm(`r0 = *(u64 *)(r1 + ${PT_REGS.si})\nexit`) }, { engine });
    expect(kp.run({ ctx: regs }).r0).toBe(77n);
    expect(() => kp.testRun({ ctx: regs })).toThrowError(expect.objectContaining({ errno: 524 }) as Error); // ENOTSUPP, as bpf_prog_test_run
    const args = new Uint8Array(32);
    new DataView(args.buffer).setBigUint64(24, 5n, true);
    const tp = vm.load({ name: 'state', type: ProgType.BPF_PROG_TYPE_TRACING, expectedAttachType: 23, license: 'GPL', insns: assembleLlvm('r0 = *(u64 *)(r1 + 24)\nr0 += 1\nexit') }, { engine });
    expect(tp.run({ ctx: args }).r0).toBe(6n);
    expect(() => tp.testRun({ ctx: args })).toThrowError(expect.objectContaining({ errno: 14 }) as Error); // EFAULT, as the kernel gives tp_btf
  });
});

describe('max_ctx_offset: how much context a raw tracepoint test run must bring', () => {
  it('follows the context pointer through moves and branches, not through other writes', async () => {
    const { maxCtxRead } = await import('../../src/ebpf/vm/test-run-checks.js');
    expect(maxCtxRead(assembleLlvm('r0 = *(u64 *)(r1 + 8)\nexit'))).toBe(16);
    expect(maxCtxRead(assembleLlvm('r6 = r1\nif r0 > 1 goto out\nr0 = *(u32 *)(r6 + 40)\nout:\nexit'))).toBe(44);
    expect(maxCtxRead(assembleLlvm('r1 = 0\nr0 = *(u64 *)(r10 - 8)\nexit'))).toBe(0);
    expect(maxCtxRead(assembleLlvm('call 5\nr0 = *(u64 *)(r1 + 8)\nexit'))).toBe(0); // r1 is clobbered by the call
    const p = vm.load({ name: 'arg1', type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, license: 'GPL', insns: assembleLlvm('r0 = *(u64 *)(r1 + 8)\nexit') });
    expect(() => p.testRun({ ctx: new Uint8Array(8) })).toThrowError(expect.objectContaining({ errno: 22 }) as Error);
    expect(p.testRun({ ctx: new Uint8Array(16) }).retval).toBe(0);
  });
});
