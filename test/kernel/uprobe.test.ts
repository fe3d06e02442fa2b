// uprobes on gcc-built binaries: a PIE and a non-PIE executable and a shared library, counted exactly per call, with the pid filter.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { functionSymbols, readSegments, symbolOffset, vaddrToOffset } from '../../src/elf/index.js';
import { Kernel, attachUprobe, readUsdtProbes, resolveBinary } from '../../src/kernel/index.js';
import { BpfkitError } from '../../src/util/index.js';
import { skipReason } from '../helpers/reference.js';
import { buildDir } from './helpers/c-build.js';
import { kernelSkip } from './helpers/kernel.js';
import { PT_REGS_X64, countAt, countingSpec } from './helpers/probe-progs.js';

const why = (await kernelSkip('uprobe')) ?? skipReason('uprobe', { commands: ['gcc'] });

// Waits for a line on stdin (so the probe is attached first), then calls work(i) for i = 1..N.
const MAIN = `
#include <stdio.h>
#include <stdlib.h>
extern long work(long x);
int main(int argc, char **argv) {
  long n = atol(argv[1]), sum = 0;
  char line[8];
  if (!fgets(line, sizeof line, stdin)) return 2;
  for (long i = 1; i <= n; i++) sum += work(i);
  printf("%ld\\n", sum);
  return 0;
}
`;
const WORK = `__attribute__((noinline)) long work(long x) { __asm__ volatile(""); return 2 * x; }\n`;

/** Runs `bin n` with LD_LIBRARY_PATH, calling `attach(pid)` before releasing it; resolves with its stdout. */
async function runProbed(bin: string, n: number, libDir: string, attach: (pid: number) => Promise<void>): Promise<string> {
  const child = spawn(bin, [String(n)], { env: { ...process.env, LD_LIBRARY_PATH: libDir }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await attach(child.pid!);
  } finally {
    child.stdin.end('go\n');
  }
  expect(await done).toBe(0);
  return out.trim();
}

describe('elf symbols of linked binaries (no root)', () => {
  const sample = ['/bin/true', '/usr/bin/true'].find(existsSync);
  it.runIf(sample !== undefined)('truncated or corrupted binaries give typed errors, never a crash', () => {
    const bytes = new Uint8Array(readFileSync(sample!));
    const headerEnd = Math.min(bytes.length, 4096);
    fc.assert(
      fc.property(fc.nat(bytes.length), fc.array(fc.tuple(fc.nat(headerEnd - 1), fc.nat(255)), { maxLength: 8 }), (cut, flips) => {
        const b = bytes.slice(0, cut);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        for (const f of [() => functionSymbols(b), () => readSegments(b), () => readUsdtProbes(b)]) {
          try {
            f();
          } catch (e) {
            if (!(e instanceof BpfkitError)) throw e;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it.runIf(sample !== undefined)('a stripped system binary still has .dynsym functions with offsets inside the file', () => {
    const bytes = new Uint8Array(readFileSync(sample!));
    const syms = functionSymbols(bytes);
    for (const s of syms) expect(s.offset + s.size).toBeLessThanOrEqual(bytes.length);
    expect(() => functionSymbols(Uint8Array.of(1, 2, 3))).toThrow(expect.objectContaining({ code: 'E_ELF_MAGIC' }));
  });
});

describe.skipIf(why !== undefined)('uprobe', () => {
  let kernel: Kernel;
  let b: ReturnType<typeof buildDir>;
  let pie: string, nopie: string, lib: string, withLib: string;
  beforeAll(async () => {
    kernel = await Kernel.open();
    b = buildDir('uprobe');
    pie = b.cc('pie', MAIN + WORK, ['-pie', '-fPIE']);
    nopie = b.cc('nopie', MAIN + WORK, ['-no-pie']);
    lib = b.cc('libwork.so', WORK, ['-shared', '-fPIC']);
    withLib = b.cc('withlib', MAIN, [`-L${b.dir}`, '-lwork']);
  });
  afterAll(() => b?.cleanup());

  it('symbol offsets: the PIE, non-PIE and shared-object offsets point at the same function bytes', () => {
    const bodies = [pie, nopie, lib].map((f) => {
      const bytes = new Uint8Array(readFileSync(f));
      const sym = functionSymbols(bytes).find((s) => s.name === 'work')!;
      expect(sym.offset).toBe(symbolOffset(bytes, 'work'));
      expect(vaddrToOffset(readSegments(bytes), sym.address)).toBe(sym.offset);
      return Buffer.from(bytes.subarray(sym.offset, sym.offset + sym.size)).toString('hex');
    });
    // gcc emits the same code for work() in all three: the offsets found the function, not something else.
    expect(bodies[0]).toBe(bodies[1]);
    expect(bodies[0]).toBe(bodies[2]);
    const noPieSym = functionSymbols(new Uint8Array(readFileSync(nopie))).find((s) => s.name === 'work')!;
    expect(noPieSym.address).toBeGreaterThanOrEqual(0x400000); // non-PIE: absolute address, offset differs
    expect(noPieSym.offset).toBeLessThan(noPieSym.address);
    expect(() => symbolOffset(new Uint8Array(readFileSync(pie)), 'no_such_fn')).toThrow(expect.objectContaining({ code: 'E_SYMBOL' }));
  });

  for (const variant of ['pie', 'nopie'] as const) {
    it(`uprobe on work() in a ${variant} executable counts exactly 1000 calls and sums their argument`, async () => {
      using prog = kernel.load(countingSpec('up_work', ProgType.BPF_PROG_TYPE_KPROBE, { sumField: PT_REGS_X64.rdi }));
      let link: { close(): void } | undefined;
      const out = await runProbed(variant === 'pie' ? pie : nopie, 1000, b.dir, async (pid) => {
        link = await attachUprobe(kernel.sys, prog, variant === 'pie' ? pie : nopie, 'work', { pid });
      });
      link?.close();
      expect(out).toBe(String(1000 * 1001));
      expect(countAt(prog, 0)).toBe(1000n);
      expect(countAt(prog, 1)).toBe(BigInt((1000 * 1001) / 2));
    });
  }

  it('uretprobe on work() in a shared library sees each return value (rax)', async () => {
    using prog = kernel.load(countingSpec('uret_work', ProgType.BPF_PROG_TYPE_KPROBE, { sumField: PT_REGS_X64.rax }));
    let link: { close(): void } | undefined;
    await runProbed(withLib, 700, b.dir, async (pid) => {
      link = await attachUprobe(kernel.sys, prog, lib, 'work', { pid, retprobe: true });
    });
    link?.close();
    expect(countAt(prog, 0)).toBe(700n);
    expect(countAt(prog, 1)).toBe(BigInt(700 * 701)); // sum of 2*i
  });

  it('the pid filter: a second process running the same binary is not counted', async () => {
    using prog = kernel.load(countingSpec('up_pid', ProgType.BPF_PROG_TYPE_KPROBE));
    let link: { close(): void } | undefined;
    await runProbed(pie, 300, b.dir, async (pid) => {
      link = await attachUprobe(kernel.sys, prog, pie, 'work', { pid });
      await runProbed(pie, 50, b.dir, async () => undefined); // another pid
    });
    link?.close();
    expect(countAt(prog, 0)).toBe(300n);
  });

  it('20 attach/close cycles leak no file descriptor', async () => {
    using prog = kernel.load(countingSpec('up_fd', ProgType.BPF_PROG_TYPE_KPROBE));
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) (await attachUprobe(kernel.sys, prog, pie, 'work', { pid: process.pid })).close();
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('libc resolves by bare name, and an unknown symbol is a typed error naming it', async () => {
    expect(await resolveBinary('libc.so.6')).toMatch(/libc\.so\.6$/);
    using prog = kernel.load(countingSpec('up_bad', ProgType.BPF_PROG_TYPE_KPROBE));
    await expect(attachUprobe(kernel.sys, prog, pie, 'no_such_fn')).rejects.toMatchObject({ code: 'E_SYMBOL', message: expect.stringMatching(/^attach uprobe\/.*no_such_fn: no function "no_such_fn"/) });
  });
});
