// Attaching to kernel hooks: raw_tp and tracepoint programs counting this process's own gettid calls, and a ring buffer read over mmap.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import type { Insn, ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, RingBufferReader, SYSCALLS_AARCH64, SYSCALLS_X86_64, VMLINUX_BTF, attachRawTracepoint, attachTpBtf, attachTracepoint, tpBtfId } from '../../src/kernel/index.js';
import { hasCommand, reportSkip } from '../helpers/reference.js';
import { DW, W, call, exit, ins, jmp, ldMap, lddw, ldx, movImm, movReg, st, stx } from './helpers/asm.js';
import { kernelSkip, mountPrivate } from './helpers/kernel.js';

const why = await kernelSkip('kernel links and ring buffer');

/**
 * Counts this process's gettid calls in map "count" and sends each count's old value to ring buffer "events".
 * `nrCheck` reads the syscall number from the context (raw_tp: args[1]); tracepoints need none (the event is per syscall).
 */
function counterSpec(type: ProgType, pid: number, nrCheck: Insn[]): ProgramSpec {
  const body: Insn[] = [
    movReg(6, 1),
    call(14), // bpf_get_current_pid_tgid
    // Our main thread only (tgid = tid = pid): other threads of this process may make syscalls of their own.
    lddw(1, (BigInt(pid) << 32n) | BigInt(pid)),
    jmp(0x5d, 0, 1, 0), // if r0 != r1 goto out (patched)
    ...nrCheck,
    st(W, 10, -4, 0), ldMap(1, 'count'), movReg(2, 10), ins(0x07, 2, 0, 0, -4), call(1),
    jmp(0x15, 0, 0, 0), // if r0 == 0 goto out (patched)
    movImm(1, 1), ins(0xdb, 0, 1, 0, 0x01), // r1 = atomic_fetch_add((u64 *)(r0 + 0), r1)
    stx(DW, 10, 1, -16), ldMap(1, 'events'), movReg(2, 10), ins(0x07, 2, 0, 0, -16), movImm(3, 8), movImm(4, 0), call(130), // bpf_ringbuf_output
  ];
  const out = [movImm(0, 0), exit()];
  // Every "goto out" jumps to the first instruction of `out`, counting lddw as two slots.
  const slot = (n: number) => body.slice(0, n).reduce((s, i) => s + (i.code === 0x18 ? 2 : 1), 0);
  const end = slot(body.length);
  const insns = body.map((i, n) => ((i.code & 0x07) === 0x05 && i.off === 0 && i.code !== 0x85 && i.code !== 0x95 ? { ...i, off: end - slot(n) - 1 } : i));
  return {
    name: 'count_gettid', type, license: 'GPL', insns: [...insns, ...out],
    maps: [
      { name: 'count', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
      { name: 'events', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 64 * 1024 },
    ],
  };
}

const count = (p: { maps: ReadonlyMap<string, { get(k: Uint8Array): Uint8Array | undefined }> }) =>
  new DataView(p.maps.get('count')!.get(new Uint8Array(4))!.buffer).getBigUint64(0, true);

describe.skipIf(why !== undefined)('links and ring buffer', () => {
  let kernel: Kernel;
  let gettid: number;
  beforeAll(async () => {
    kernel = await Kernel.open();
    gettid = (kernel.sys.arch === 'x64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64).gettid;
  });

  it('raw_tp sys_enter counts exactly our 300 gettid calls; the ring buffer holds 0..299 in order', () => {
    using prog = kernel.load(counterSpec(ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, process.pid, [ldx(DW, 1, 6, 8), jmp(0x55, 1, 0, 0, gettid)]));
    using rb = new RingBufferReader(kernel.sys, prog.maps.get('events')!);
    {
      using link = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
      expect(link.target).toBe('raw_tp/sys_enter');
      for (let i = 0; i < 300; i++) kernel.sys.gettid();
    }
    // Detached: these are not counted.
    for (let i = 0; i < 50; i++) kernel.sys.gettid();
    expect(count(prog)).toBe(300n);
    const seq: bigint[] = [];
    expect(rb.consume((r) => seq.push(new DataView(r.buffer).getBigUint64(0, true)))).toBe(300);
    expect(seq).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
    expect(rb.consume(() => undefined)).toBe(0);
  });

  it('the ring buffer wakes an async reader through poll while the event loop runs', async () => {
    using prog = kernel.load(counterSpec(ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, process.pid, [ldx(DW, 1, 6, 8), jmp(0x55, 1, 0, 0, gettid)]));
    using rb = new RingBufferReader(kernel.sys, prog.maps.get('events')!);
    using _link = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
    // Produce in bursts from timers, so records arrive while the reader waits.
    let produced = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 50 && produced < 500; i++, produced++) kernel.sys.gettid();
      if (produced >= 500) clearInterval(timer);
    }, 1);
    const got: bigint[] = [];
    const safety = setTimeout(() => rb.close(), 20_000);
    for await (const r of rb) {
      got.push(new DataView(r.buffer).getBigUint64(0, true));
      if (got.length === 500) break;
    }
    clearTimeout(safety);
    clearInterval(timer);
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
  });

  it('epoll reports the ring buffer fd readable once records are there', () => {
    using prog = kernel.load(counterSpec(ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, process.pid, [ldx(DW, 1, 6, 8), jmp(0x55, 1, 0, 0, gettid)]));
    const ep = kernel.sys.epollCreate();
    try {
      kernel.sys.epollCtl(ep, 1 /* EPOLL_CTL_ADD */, prog.maps.get('events')!.fd, 1 /* EPOLLIN */, 0x1234567890n);
      expect(kernel.sys.epollWait(ep, 4, 0)).toEqual([]);
      using _link = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
      kernel.sys.gettid();
      expect(kernel.sys.epollWait(ep, 4, 1000)).toEqual([{ events: 1, data: 0x1234567890n }]);
    } finally {
      kernel.sys.close(ep);
    }
  });

  it('tp_btf sys_enter (TRACING + BTF_TRACE_RAW_TP on btf_trace_sys_enter) counts exactly our 250 gettid calls', async () => {
    const { link, program } = await attachTpBtf(kernel, counterSpec(ProgType.BPF_PROG_TYPE_TRACING, process.pid, [ldx(DW, 1, 6, 8), jmp(0x55, 1, 0, 0, gettid)]), 'sys_enter');
    using prog = program;
    using rb = new RingBufferReader(kernel.sys, prog.maps.get('events')!);
    {
      using l = link;
      expect(l.target).toBe('tp_btf/sys_enter');
      for (let i = 0; i < 250; i++) kernel.sys.gettid();
    }
    for (let i = 0; i < 40; i++) kernel.sys.gettid();
    expect(count(prog)).toBe(250n);
    expect(rb.consume(() => undefined)).toBe(250);
  });

  it.runIf(hasCommand('bpftool'))('tpBtfId finds the same btf_trace_<name> typedef ids as bpftool', async () => {
    const dump = execFileSync('sh', ['-c', `bpftool btf dump file ${VMLINUX_BTF} | grep -E "^\\[[0-9]+\\] TYPEDEF 'btf_trace_(sys_enter|sys_exit|sched_switch)'"`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const ref = [...dump.matchAll(/^\[(\d+)\] TYPEDEF 'btf_trace_(\w+)'/gm)].map((m) => [m[2], Number(m[1])] as const);
    expect(ref.length).toBeGreaterThanOrEqual(2);
    for (const [name, id] of ref) expect(await tpBtfId(name)).toBe(id);
  });

  it('tp_btf on a tracepoint vmlinux BTF lacks is a typed error naming it', async () => {
    await expect(attachTpBtf(kernel, counterSpec(ProgType.BPF_PROG_TYPE_TRACING, process.pid, []), 'no_such_tp_bpfkit')).rejects.toMatchObject({ code: 'E_BTF_TRACEPOINT', message: expect.stringContaining('no_such_tp_bpfkit') });
  });

  it('an unknown raw tracepoint is a typed error naming it', () => {
    using prog = kernel.load({ name: 'nop', type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, license: 'GPL', insns: [movImm(0, 0), exit()] });
    expect(() => attachRawTracepoint(kernel.sys, prog, 'no_such_tracepoint')).toThrow(/^attach raw_tp\/no_such_tracepoint: bpf: enoent/);
  });

  describe('tracepoint through a perf event (tracefs on a private mount)', () => {
    let tracefs: string | undefined;
    let unmount: (() => void) | undefined;
    beforeAll(() => {
      try {
        const m = mountPrivate('tracefs');
        tracefs = m.dir;
        unmount = m.cleanup;
      } catch {
        tracefs = undefined;
      }
    });
    afterAll(() => unmount?.());

    it('syscalls/sys_enter_gettid counts exactly our calls', async (ctx) => {
      if (!tracefs || !existsSync(path.join(tracefs, 'events/syscalls/sys_enter_gettid/id'))) {
        reportSkip('tracepoint test', 'tracefs or syscall tracepoints unavailable');
        ctx.skip();
        return;
      }
      using prog = kernel.load(counterSpec(ProgType.BPF_PROG_TYPE_TRACEPOINT, process.pid, []));
      {
        using link = await attachTracepoint(kernel.sys, prog, 'syscalls', 'sys_enter_gettid', [tracefs]);
        expect(link.target).toBe('tracepoint/syscalls/sys_enter_gettid');
        for (let i = 0; i < 250; i++) kernel.sys.gettid();
      }
      kernel.sys.gettid();
      expect(count(prog)).toBe(250n);
      await expect(attachTracepoint(kernel.sys, prog, 'syscalls', 'no_such_event', [tracefs])).rejects.toMatchObject({ code: 'E_TRACEPOINT' });
    });
  });
});
