/**
 * `attachProbe` on this kernel: every probe kind a bpftrace script can name, attached for real
 * and counted, and the cause-specific errors for what this machine lacks — decided by probing
 * the machine at run time (kprobe pmu, cpu pmu, trampoline support), not hard-coded.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel } from '../../src/kernel/index.js';
import type { KernelLink, KernelProgram } from '../../src/kernel/index.js';
import { attachProbe, expandProbe, programTypeFor } from '../../src/trace/probes/index.js';
import type { ConcreteProbe } from '../../src/trace/probes/index.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt, countingSpec } from './helpers/probe-progs.js';

const why = await kernelSkip('trace probes attach');

let kernel: Kernel;
const open: { close(): void }[] = [];

function load(probe: ConcreteProbe, opts: { tgid?: number } = {}): KernelProgram {
  const t = programTypeFor(probe);
  if (!t) throw new Error(`no program type for ${probe.provider}`);
  const prog = kernel.load(countingSpec(`tl_${probe.provider}`.slice(0, 15), t.type as ProgType, opts));
  open.push(prog);
  return prog;
}

async function one(spec: string): Promise<ConcreteProbe> {
  const [p] = await expandProbe(spec);
  expect(p, spec).toBeDefined();
  return p;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spins the CPU for `ms` so clock-driven events fire on this one. */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
}

describe.skipIf(why !== undefined)('attachProbe on this kernel', () => {
  beforeAll(async () => {
    kernel = await Kernel.open();
  });
  afterAll(() => {
    for (const o of open.reverse()) o.close();
  });

  it('tracepoint:syscalls:sys_enter_getppid counts this process\'s getppid calls', async () => {
    const probe = await one('tracepoint:syscalls:sys_enter_getppid');
    const prog = load(probe, { tgid: process.pid });
    const link = await attachProbe(kernel, prog, probe);
    open.push(link);
    for (let i = 0; i < 5; i++) void process.ppid; // each read is a getppid(2)
    link.close();
    const n = countAt(prog, 0);
    expect(n).toBeGreaterThanOrEqual(5n);
    expect(n).toBeLessThan(50n);
  });

  it('rawtracepoint:sys_enter sees this process\'s syscalls', async () => {
    const probe = await one('rawtracepoint:sys_enter');
    expect(probe.name).toBe('rawtracepoint:vmlinux:sys_enter');
    const prog = load(probe, { tgid: process.pid });
    const link = await attachProbe(kernel, prog, probe);
    open.push(link);
    void process.ppid;
    link.close();
    expect(countAt(prog, 0)).toBeGreaterThan(0n);
  });

  for (const kind of ['uprobe', 'uretprobe'] as const) {
    it.runIf(existsSync('/bin/bash'))(`${kind}:/bin/bash:echo_builtin with -p counts exactly that process's echoes`, async () => {
      const probe = await one(`${kind}:/bin/bash:echo_builtin`);
      const prog = load(probe);
      const child = spawn('/bin/bash', ['-c', 'read x; echo a; echo b; echo c'], { stdio: ['pipe', 'ignore', 'inherit'] });
      const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
      let link: KernelLink | undefined;
      try {
        link = await attachProbe(kernel, prog, probe, { pid: child.pid });
      } finally {
        child.stdin.end('go\n');
      }
      expect(await done).toBe(0);
      link?.close();
      expect(countAt(prog, 0)).toBe(3n);
    });
  }

  it.runIf(existsSync('/usr/bin/python3'))('usdt:/usr/bin/python3:python:gc__start with -p: the semaphore is raised and each collection counts', async () => {
    const probe = await one('usdt:/usr/bin/python3:python:gc__start');
    const prog = load(probe);
    const script = 'import gc, sys\nsys.stdin.readline()\nfor i in range(7):\n    gc.collect()\n';
    const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'ignore', 'inherit'] });
    const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    let link: KernelLink | undefined;
    try {
      await sleep(300); // let the interpreter start and map the binary
      link = await attachProbe(kernel, prog, probe, { pid: child.pid });
    } finally {
      child.stdin.end('go\n');
    }
    expect(await done).toBe(0);
    link?.close();
    // Seven gc.collect() calls, plus any collection the interpreter makes on the way out.
    expect(countAt(prog, 0)).toBeGreaterThanOrEqual(7n);
  });

  it('interval:ms:10 fires on one CPU about every 10 ms', async () => {
    const probe = await one('interval:ms:10');
    const prog = load(probe);
    const link = await attachProbe(kernel, prog, probe);
    open.push(link);
    await sleep(300);
    link.close();
    const n = countAt(prog, 0);
    expect(n).toBeGreaterThanOrEqual(10n);
    expect(n).toBeLessThanOrEqual(40n);
  });

  it('profile:hz:99 and software:cpu-clock:100000 sample the busy CPU', async () => {
    for (const spec of ['profile:hz:99', 'software:cpu-clock:100000', 'profile:ms:5']) {
      const probe = await one(spec);
      // Every CPU's samples count: other load on this machine may keep this process off-CPU for a while.
      const prog = load(probe);
      const link = await attachProbe(kernel, prog, probe);
      spin(500);
      link.close();
      expect(countAt(prog, 0), spec).toBeGreaterThan(0n);
    }
  });

  it('kprobes: attach, or the cause when this kernel has none', async () => {
    const probe = await one('kprobe:do_nanosleep');
    const prog = load(probe);
    if (existsSync('/sys/bus/event_source/devices/kprobe')) {
      const link = await attachProbe(kernel, prog, probe);
      link.close();
    } else {
      await expect(attachProbe(kernel, prog, probe)).rejects.toMatchObject({ code: 'E_PROBE_KPROBES', message: expect.stringMatching(/kprobes are not available/) });
      await expect(attachProbe(kernel, prog, await one('kretprobe:do_nanosleep'))).rejects.toMatchObject({ code: 'E_PROBE_KPROBES' });
    }
  });

  it('fentry/fexit: attach, or EPERM-before-the-verifier named as such', async () => {
    const probe = await one('fentry:do_nanosleep');
    const spec: ProgramSpec = { ...countingSpec('tl_fentry', ProgType.BPF_PROG_TYPE_TRACING), type: ProgType.BPF_PROG_TYPE_TRACING };
    if (kernel.probes.has('attach:fentry')) {
      const link = await attachProbe(kernel, { fd: -1 }, probe, { spec });
      link.close();
    } else {
      await expect(attachProbe(kernel, { fd: -1 }, probe, { spec })).rejects.toMatchObject({ code: 'E_PROBE_LOCKDOWN', message: expect.stringMatching(/fentry is refused by this kernel.*EPERM/) });
      await expect(attachProbe(kernel, { fd: -1 }, await one('fexit:do_nanosleep'), { spec })).rejects.toMatchObject({ code: 'E_PROBE_LOCKDOWN' });
    }
  });

  it('hardware events: attach, or the missing PMU named', async () => {
    const probe = await one('hardware:cpu-cycles:1000000');
    const prog = load(probe);
    let link: KernelLink | undefined;
    let error: unknown;
    try {
      link = await attachProbe(kernel, prog, probe);
    } catch (e) {
      error = e;
    }
    link?.close();
    if (existsSync('/sys/bus/event_source/devices/cpu')) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ code: 'E_PROBE_NO_PMU', message: expect.stringMatching(/need a cpu pmu/) });
  });
});
