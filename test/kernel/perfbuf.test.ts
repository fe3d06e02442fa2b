// The perf buffer reader: bpf_perf_event_output from raw_tp sys_enter on our own gettid calls, read per CPU over mmap, with loss counts.

import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import type { Insn, ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, PerfBufferReader, SYSCALLS_AARCH64, SYSCALLS_X86_64, attachRawTracepoint } from '../../src/kernel/index.js';
import { skipReason } from '../helpers/reference.js';
import { DW, W, call, exit, jmp, ldMap, lddw, ldx, movImm, movReg, st, stx } from './helpers/asm.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('perf buffer reader');

/** On our main thread's gettid: counter++ (map "count"), then perf_event_output(the old count, 8 bytes) to "events" on this CPU. */
function emitterSpec(pid: number, gettid: number, cpus: number): ProgramSpec {
  const body: Insn[] = [
    movReg(6, 1),
    call(14), // bpf_get_current_pid_tgid
    lddw(1, (BigInt(pid) << 32n) | BigInt(pid)),
    jmp(0x5d, 0, 1, 0), // if r0 != r1 goto out
    ldx(DW, 1, 6, 8), // args[1]: the syscall number
    jmp(0x55, 1, 0, 0, gettid), // if r1 != gettid goto out
    st(W, 10, -4, 0), ldMap(1, 'count'), movReg(2, 10), { code: 0x07, dst: 2, src: 0, off: 0, imm: -4 }, call(1),
    jmp(0x15, 0, 0, 0), // if r0 == 0 goto out
    movImm(1, 1), { code: 0xdb, dst: 0, src: 1, off: 0, imm: 0x01 }, // r1 = atomic_fetch_add((u64 *)r0, 1)
    stx(DW, 10, 1, -16),
    movReg(1, 6), ldMap(2, 'events'), lddw(3, 0xffffffffn), movReg(4, 10), { code: 0x07, dst: 4, src: 0, off: 0, imm: -16 }, movImm(5, 8),
    call(25), // bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, r10 - 16, 8)
  ];
  const slot = (n: number) => body.slice(0, n).reduce((s, i) => s + (i.code === 0x18 ? 2 : 1), 0);
  const end = slot(body.length);
  const insns = body.map((i, n) => ((i.code & 0x07) === 0x05 && i.off === 0 && i.code !== 0x85 && i.code !== 0x95 ? { ...i, off: end - slot(n) - 1 } : i));
  return {
    name: 'perf_emit', type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, license: 'GPL', insns: [...insns, movImm(0, 0), exit()],
    maps: [
      { name: 'count', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 },
      { name: 'events', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: cpus },
    ],
  };
}

const seqOf = (d: Uint8Array) => Number(new DataView(d.buffer, d.byteOffset).getBigUint64(0, true));

/** Pins our main thread to one CPU for `fn` (so every sample lands in one ring and a LOST record is flushed by the next sample there). */
function onOneCpu<T>(fn: () => T): T {
  const before = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' }).split(':').pop()!.trim();
  execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    execFileSync('taskset', ['-pc', before, String(process.pid)], { stdio: 'ignore' });
  }
}

describe.skipIf(why !== undefined)('perf buffer reader', () => {
  let kernel: Kernel;
  let gettid: number;
  beforeAll(async () => {
    kernel = await Kernel.open();
    gettid = (kernel.sys.arch === 'x64' ? SYSCALLS_X86_64 : SYSCALLS_AARCH64).gettid;
  });

  it('every one of 400 samples arrives once, in order per CPU, with its 8 bytes (padded to 12 by the kernel); none lost', () => {
    using prog = kernel.load(emitterSpec(process.pid, gettid, kernel.possibleCpus));
    using pb = new PerfBufferReader(kernel.sys, prog.maps.get('events')!);
    expect(pb.cpus.length).toBeGreaterThan(0);
    {
      using _l = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
      for (let i = 0; i < 400; i++) kernel.sys.gettid();
    }
    const byCpu = new Map<number, number[]>();
    const n = pb.consume((s) => {
      expect(s.data.length).toBe(12);
      expect([...s.data.subarray(8)]).toEqual([0, 0, 0, 0]);
      byCpu.set(s.cpu, [...(byCpu.get(s.cpu) ?? []), seqOf(s.data)]);
    });
    expect(n).toBe(400);
    const all = [...byCpu.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => i));
    for (const seq of byCpu.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
    expect(pb.lost).toBe(0);
    expect(pb.consume(() => undefined)).toBe(0);
    // The map's entries hold our perf events; closing takes them out.
    const events = prog.maps.get('events')!;
    const key = Uint8Array.of(pb.cpus[0], 0, 0, 0);
    pb.close();
    // (User space cannot look up a perf event array; deleting a missing entry is ENOENT.)
    expect(() => events.delete(key)).toThrow(/enoent/);
  });

  it.skipIf(why === undefined && skipReason('perf buffer overflow', { commands: ['taskset'] }) !== undefined)('a full 1-page ring reports the dropped samples: received + lost = emitted, exactly', () => {
    using prog = kernel.load(emitterSpec(process.pid, gettid, kernel.possibleCpus));
    using pb = new PerfBufferReader(kernel.sys, prog.maps.get('events')!, { pageCount: 1 });
    let received = 0;
    onOneCpu(() => {
      using _l = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
      for (let i = 0; i < 1000; i++) kernel.sys.gettid();
      received += pb.consume(() => undefined);
      // The kernel writes the LOST record with the next sample that finds space.
      for (let i = 0; i < 5; i++) kernel.sys.gettid();
      received += pb.consume(() => undefined);
    });
    // 4096 bytes hold 170 records of 24 bytes.
    expect(received).toBeLessThan(200);
    expect(pb.lost).toBeGreaterThan(800);
    expect(received + pb.lost).toBe(1005);
  });

  it('wakes an async reader through poll while the event loop runs', async () => {
    using prog = kernel.load(emitterSpec(process.pid, gettid, kernel.possibleCpus));
    using pb = new PerfBufferReader(kernel.sys, prog.maps.get('events')!);
    using _l = attachRawTracepoint(kernel.sys, prog, 'sys_enter');
    let produced = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 25 && produced < 300; i++, produced++) kernel.sys.gettid();
      if (produced >= 300) clearInterval(timer);
    }, 1);
    const got: number[] = [];
    const safety = setTimeout(() => pb.close(), 20_000);
    for await (const s of pb) {
      got.push(seqOf(s.data));
      if (got.length === 300) break;
    }
    clearTimeout(safety);
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('refuses a map that is not a perf event array, and a page count that is not a power of two', () => {
    using m = kernel.createMap({ name: 'notperf', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => new PerfBufferReader(kernel.sys, m)).toThrow(/not a perf event array/);
    using p = kernel.createMap({ name: 'perf', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: kernel.possibleCpus });
    expect(() => new PerfBufferReader(kernel.sys, p, { pageCount: 3 })).toThrow(/power of two/);
  });
});
