// kprobes and fentry/fexit: real where the kernel allows them; on kernels without the kprobe PMU or under lockdown, typed UnsupportedErrors naming the feature.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { Kernel, VMLINUX_BTF, attachFentry, attachKprobe, btfFuncId, kernelFuncBtfId } from '../../src/kernel/index.js';
import { UnsupportedError } from '../../src/util/index.js';
import { hasCommand, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt, countingSpec } from './helpers/probe-progs.js';

const why = await kernelSkip('kprobe and fentry');
const hasKprobePmu = existsSync('/sys/bus/event_source/devices/kprobe/type');

/** The running kernel's build configuration (/proc/config.gz or /boot/config-RELEASE), or undefined when neither is readable. */
function kernelConfig(): string | undefined {
  try {
    if (existsSync('/proc/config.gz')) return gunzipSync(readFileSync('/proc/config.gz')).toString('latin1');
    const boot = `/boot/config-${os.release()}`;
    return existsSync(boot) ? readFileSync(boot, 'latin1') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The kernel lockdown level (`none`, `integrity`, `confidentiality`) from securityfs, mounted in
 * a private mount namespace when the host has not mounted it; `none` without the lockdown LSM.
 */
function lockdownLevel(): string | undefined {
  const lsms = existsSync('/sys/kernel/security/lsm') ? readFileSync('/sys/kernel/security/lsm', 'utf8') : undefined;
  let text: string | undefined;
  try {
    text = existsSync('/sys/kernel/security/lockdown')
      ? readFileSync('/sys/kernel/security/lockdown', 'utf8')
      : execFileSync('unshare', ['--mount', 'sh', '-c', 'mount -t securityfs none /sys/kernel/security && cat /sys/kernel/security/lockdown 2>/dev/null || echo "[none]"'], { encoding: 'utf8' });
  } catch {
    return lsms !== undefined && !lsms.includes('lockdown') ? 'none' : undefined;
  }
  return /\[(\w+)\]/.exec(text)?.[1];
}

/** True when ftrace lists `fn` as traceable; true as well when the list cannot be read (tracefs not mounted for us). */
function traceableIn(file: string, fn: string): boolean {
  try {
    return new RegExp(`^${fn}( |$)`, 'm').test(readFileSync(file, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Whether fentry/fexit must work here, from facts of /proc and /sys (not from bpfkit's own feature
 * probe): kernel BTF, a trampoline architecture, ftrace direct calls built in, the JIT on, no
 * confidentiality lockdown, and the target function traceable. Undefined when the facts are not readable.
 */
function fentryExpected(fn: string): { expected: boolean; facts: string } | undefined {
  const config = kernelConfig();
  if (config === undefined) return undefined;
  const lockdown = lockdownLevel();
  if (lockdown === undefined) return undefined;
  const jit = existsSync('/proc/sys/net/core/bpf_jit_enable') ? readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim() : '0';
  const traceable = ['/sys/kernel/tracing/available_filter_functions', '/sys/kernel/debug/tracing/available_filter_functions'].find(existsSync);
  const facts = {
    btf: existsSync(VMLINUX_BTF),
    arch: process.arch === 'x64' || process.arch === 'arm64',
    directCalls: /^CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y$/m.test(config),
    jit: jit !== '0',
    // Trampolines patch kernel text, which any lockdown (integrity already) refuses.
    noLockdown: lockdown === 'none',
    traceable: traceable === undefined || traceableIn(traceable, fn),
  };
  return { expected: Object.values(facts).every(Boolean), facts: JSON.stringify(facts) };
}

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

  it('fentry and fexit: attached and counted where the kernel\'s facts say they work, else a typed UnsupportedError naming the feature', async (ctx) => {
    // gettid's syscall body: the x86-64 wrapper when the kernel's BTF has it, else the static __do_sys_ function it calls.
    const vmlinux = existsSync(VMLINUX_BTF) ? new Uint8Array(readFileSync(VMLINUX_BTF)) : undefined;
    const fn = ['__x64_sys_gettid', '__do_sys_gettid'].find((f) => vmlinux !== undefined && btfFuncId(vmlinux, f) !== undefined);
    const want = fn === undefined ? undefined : fentryExpected(fn);
    if (want === undefined || fn === undefined || process.arch !== 'x64') {
      reportSkip('fentry/fexit', fn === undefined ? 'no gettid function in the kernel btf' : want === undefined ? 'kernel config not readable (/proc/config.gz, /boot/config-*)' : 'the target function is x86-64 only');
      ctx.skip();
      return;
    }
    console.log(`[fentry] expected to work: ${want.expected} (${want.facts})`);
    const kernel = await Kernel.open();
    for (const kind of ['fentry', 'fexit'] as const) {
      const spec = countingSpec(kind, ProgType.BPF_PROG_TYPE_TRACING, { tgid: process.pid });
      if (!want.expected) {
        const err = await attachFentry(kernel, spec, kind, fn).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnsupportedError);
        expect((err as Error).message).toBe(`attach ${kind}/${fn}: this kernel does not support attach:${kind}`);
        continue;
      }
      expect(await kernelFuncBtfId(fn)).toBeGreaterThan(0);
      const { link, program } = await attachFentry(kernel, spec, kind, fn);
      for (let i = 0; i < 150; i++) kernel.sys.gettid();
      link.close();
      kernel.sys.gettid();
      expect(countAt(program, 0)).toBe(150n);
      program.close();
    }
  });
});
