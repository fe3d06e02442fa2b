// kprobes and fentry/fexit: real where the kernel allows them; on kernels without the kprobe PMU or under lockdown, typed UnsupportedErrors naming the feature.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { Kernel, VMLINUX_BTF, attachFentry, attachKprobe, btfFuncId, kernelFuncBtfId } from '../../src/kernel/index.js';
import { UnsupportedError } from '../../src/util/index.js';
import { hasCommand, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt, countingSpec } from './helpers/probe-progs.js';

const why = await kernelSkip('kprobe and fentry');
const hasKprobePmu = existsSync('/sys/bus/event_source/devices/kprobe/type');

describe.skipIf(why !== undefined)('kprobe', () => {
  it.runIf(!hasKprobePmu)('without the kprobe pmu, attaching is a typed UnsupportedError naming it', async () => {
    const kernel = await Kernel.open();
    using prog = kernel.load(countingSpec('kp', ProgType.BPF_PROG_TYPE_KPROBE));
    const err = await attachKprobe(kernel.sys, prog, 'do_sys_openat2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect(err).toMatchObject({ code: 'E_UNSUPPORTED', message: 'attach kprobe/do_sys_openat2: this kernel has no kprobe pmu (/sys/bus/event_source/devices/kprobe/type missing)' });
    expect((err as UnsupportedError).hint).toMatch(/CONFIG_KPROBES/);
    await expect(attachKprobe(kernel.sys, prog, 'do_sys_openat2', { retprobe: true })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/^attach kretprobe\//) });
  });

  it.runIf(hasKprobePmu && process.arch === 'x64')('kprobe on __x64_sys_gettid counts exactly our 200 calls', async () => {
    const kernel = await Kernel.open();
    using prog = kernel.load(countingSpec('kp', ProgType.BPF_PROG_TYPE_KPROBE, { tgid: process.pid }));
    {
      using _link = await attachKprobe(kernel.sys, prog, '__x64_sys_gettid');
      for (let i = 0; i < 200; i++) kernel.sys.gettid();
    }
    kernel.sys.gettid();
    expect(countAt(prog, 0)).toBe(200n);
  });

  it('a bad function name is a usage error', async () => {
    const kernel = await Kernel.open();
    using prog = kernel.load(countingSpec('kp', ProgType.BPF_PROG_TYPE_KPROBE));
    await expect(attachKprobe(kernel.sys, prog, 'a b')).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

describe.skipIf(why !== undefined)('fentry/fexit', () => {
  it('btf function ids match bpftool', (ctx) => {
    if (!existsSync(VMLINUX_BTF) || !hasCommand('bpftool')) {
      reportSkip('btf ids', 'no vmlinux btf or bpftool');
      ctx.skip();
      return;
    }
    const btf = new Uint8Array(readFileSync(VMLINUX_BTF));
    const dump = execFileSync('sh', ['-c', `bpftool btf dump file ${VMLINUX_BTF} | grep -E "^\\[[0-9]+\\] FUNC '(do_sys_openat2|vfs_read|__x64_sys_getpid)'"`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const ref = new Map([...dump.matchAll(/^\[(\d+)\] FUNC '(\w+)'/gm)].map((m) => [m[2], Number(m[1])]));
    expect(ref.size).toBeGreaterThanOrEqual(2);
    for (const [name, id] of ref) expect(btfFuncId(btf, name)).toBe(id);
    expect(btfFuncId(btf, 'no_such_function_here')).toBeUndefined();
    expect(() => btfFuncId(btf.subarray(0, 10), 'x')).toThrow(expect.objectContaining({ code: 'E_BTF_TRUNCATED' }));
  });

  it('fentry and fexit: attached and counted where allowed, else a typed UnsupportedError naming the feature', async () => {
    const kernel = await Kernel.open();
    for (const kind of ['fentry', 'fexit'] as const) {
      const spec = countingSpec(kind, ProgType.BPF_PROG_TYPE_TRACING, { tgid: process.pid });
      if (!kernel.probes.has(`attach:${kind}`)) {
        const err = await attachFentry(kernel, spec, kind, '__x64_sys_gettid').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnsupportedError);
        expect((err as Error).message).toBe(`attach ${kind}/__x64_sys_gettid: this kernel does not support attach:${kind}`);
        continue;
      }
      if (kernel.sys.arch !== 'x64') continue;
      expect(await kernelFuncBtfId('__x64_sys_gettid')).toBeGreaterThan(0);
      const { link, program } = await attachFentry(kernel, spec, kind, '__x64_sys_gettid');
      for (let i = 0; i < 150; i++) kernel.sys.gettid();
      link.close();
      kernel.sys.gettid();
      expect(countAt(program, 0)).toBe(150n);
      program.close();
    }
  });
});
