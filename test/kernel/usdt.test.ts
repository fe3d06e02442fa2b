// USDT: argument specs parsed, `.note.stapsdt` read from gcc-built programs (compared with readelf -n), and probes attached with their semaphores raised and arguments read from pt_regs.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R6, R7, R8, R10 } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, attachUsdt, emitUsdtArg, fileOffsetToAddress, parseUsdtArg, parseUsdtArgs, readUsdtProbes } from '../../src/kernel/index.js';
import type { UsdtArg, UsdtSemaphoreMode } from '../../src/kernel/index.js';
import { hasCommand, reportSkip, skipReason } from '../helpers/reference.js';
import { buildDir } from './helpers/c-build.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt } from './helpers/probe-progs.js';

describe('usdt argument specs', () => {
  it('parses register, memory and constant forms with size and sign', () => {
    expect(parseUsdtArg('-4@%edi')).toEqual({ kind: 'reg', size: 4, signed: true, reg: 'edi', regOffset: 112 });
    expect(parseUsdtArg('8@%rax')).toEqual({ kind: 'reg', size: 8, signed: false, reg: 'rax', regOffset: 80 });
    expect(parseUsdtArg('8@-8(%rbp)')).toEqual({ kind: 'mem', size: 8, signed: false, reg: 'rbp', regOffset: 32, offset: -8 });
    expect(parseUsdtArg('-2@(%r12)')).toEqual({ kind: 'mem', size: 2, signed: true, reg: 'r12', regOffset: 24, offset: 0 });
    expect(parseUsdtArg('1@0x10(%rsp)')).toEqual({ kind: 'mem', size: 1, signed: false, reg: 'rsp', regOffset: 152, offset: 16 });
    expect(parseUsdtArg('4@$5')).toEqual({ kind: 'const', size: 4, signed: false, value: 5n });
    expect(parseUsdtArg('-4@$-1')).toEqual({ kind: 'const', size: 4, signed: true, value: -1n });
    expect(parseUsdtArgs(' -4@%edi 8@-8(%rbp) ').map((a) => a.kind)).toEqual(['reg', 'mem']);
    expect(parseUsdtArgs('')).toEqual([]);
  });

  it('rejects what it cannot read with a typed error naming the argument', () => {
    expect(() => parseUsdtArg('3@%eax', 2)).toThrow(expect.objectContaining({ code: 'E_USDT_ARG', position: { column: 2 } }));
    expect(() => parseUsdtArg('8@%xmm0')).toThrow(/unknown register %xmm0/);
    expect(() => parseUsdtArg('8@counter(%rip)')).toThrow(/unsupported location/);
    expect(() => parseUsdtArg('8@8(%rax,%rbx,8)')).toThrow(expect.objectContaining({ code: 'E_USDT_ARG' }));
  });

  it('emits register reads with sign/zero extension and memory reads through bpf_probe_read_user', () => {
    const regInsns = emitUsdtArg(new ProgramBuilder(), parseUsdtArg('-4@%edi'), { ctx: R6, dst: R7 }).build();
    expect(regInsns.map((i) => [i.code, i.dst, i.src, i.off, i.imm])).toEqual([[0x79, 7, 6, 112, 0], [0x67, 7, 0, 0, 32], [0xc7, 7, 0, 0, 32]]);
    const memInsns = emitUsdtArg(new ProgramBuilder(), parseUsdtArg('2@-6(%rbp)'), { ctx: R6, dst: R8, stackOff: -16 }).build();
    expect(memInsns.find((i) => i.code === 0x85)?.imm).toBe(112);
    expect(memInsns.at(-1)).toMatchObject({ code: 0x77, dst: 8, imm: 48 });
    expect(emitUsdtArg(new ProgramBuilder(), parseUsdtArg('8@$7'), { ctx: R6, dst: R7 }).build()).toEqual([expect.objectContaining({ code: 0x18, dst: 7, imm64: 7n })]);
  });

  it('maps a file offset to a process address through /proc/PID/maps lines', () => {
    const maps = '55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 42 /tmp/x\n55d0c0a01000-55d0c0a03000 rw-p 00002000 08:01 42 /tmp/x\n';
    expect(fileOffsetToAddress(maps, '/tmp/x', 0x2010)).toBe(0x55d0c0a01010n);
    expect(fileOffsetToAddress(maps, '/tmp/x', 0x9000)).toBeUndefined();
  });
});

// Debian puts it under the multiarch include dir.
const hasSdt = ['/usr/include/sys/sdt.h', '/usr/include/x86_64-linux-gnu/sys/sdt.h', '/usr/include/aarch64-linux-gnu/sys/sdt.h'].some(existsSync);
const why = (await kernelSkip('usdt')) ?? skipReason('usdt', { commands: ['gcc'], missing: hasSdt ? undefined : '<sys/sdt.h> (systemtap-sdt-dev) missing' });

// bpfkit:tick fires only when its semaphore is raised; bpfkit:plain (whose semaphore nobody checks) always fires.
const PROGRAM = `
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>
__extension__ unsigned short bpfkit_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short bpfkit_plain_semaphore __attribute__((unused)) __attribute__((section(".probes")));
int main(int argc, char **argv) {
  long n = atol(argv[1]), fired = 0;
  char line[8];
  if (!fgets(line, sizeof line, stdin)) return 2;
  for (long i = 1; i <= n; i++) {
    int x = -(int)i;
    long y = i * 3;
    if (bpfkit_tick_semaphore) { fired++; DTRACE_PROBE2(bpfkit, tick, x, y); }
    DTRACE_PROBE1(bpfkit, plain, i);
  }
  printf("%ld\\n", fired);
  return 0;
}
`;

/** counts[0] += 1, counts[1] += arg0, counts[2] += arg1 (each argument read by emitUsdtArg). */
function argSumSpec(args: UsdtArg[]): ProgramSpec {
  const b = new ProgramBuilder().mov64(R6, R1);
  emitUsdtArg(b, args[0], { ctx: R6, dst: R7, stackOff: -8 });
  emitUsdtArg(b, args[1], { ctx: R6, dst: R8, stackOff: -16 });
  for (const [slot, val] of [[0, 1], [1, R7], [2, R8]] as const) {
    b.stw(R10, -20, slot).ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -20).call('map_lookup_elem').jeq(R0, 0, 'out');
    if (typeof val === 'number') b.mov64(R1, val).atomic('add', 64, R0, 0, R1);
    else b.atomic('add', 64, R0, 0, val);
  }
  b.label('out').mov64(R0, 0).exit();
  return { name: 'usdt_args', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns: b.build(), maps: [{ name: 'counts', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 3 }] };
}

/** Runs `bin n`, calling `attach(pid)` before releasing it; returns what it printed (how often the semaphore was up). */
async function run(bin: string, n: number, attach: (pid: number) => Promise<void>): Promise<number> {
  const child = spawn(bin, [String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  try {
    await attach(child.pid!);
  } finally {
    child.stdin.end('go\n');
  }
  expect(await done).toBe(0);
  return Number(out.trim());
}

describe.skipIf(why !== undefined)('usdt probes in gcc-built programs', () => {
  let kernel: Kernel;
  let b: ReturnType<typeof buildDir>;
  const bins: Record<string, string> = {};
  beforeAll(async () => {
    kernel = await Kernel.open();
    b = buildDir('usdt');
    bins.O0 = b.cc('usdt-O0', PROGRAM, ['-O0']);
    bins.O2 = b.cc('usdt-O2', PROGRAM, ['-O2']);
  });
  afterAll(() => b?.cleanup());

  it('reads the notes as readelf -n shows them', (ctx) => {
    if (!hasCommand('readelf')) {
      reportSkip('usdt notes vs readelf', 'readelf not installed');
      ctx.skip();
      return;
    }
    for (const bin of Object.values(bins)) {
      const probes = readUsdtProbes(new Uint8Array(readFileSync(bin)));
      const text = execFileSync('readelf', ['-n', bin], { encoding: 'utf8' });
      const ref = [...text.matchAll(/Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)/g)]
        .map((m) => ({ provider: m[1], name: m[2], pc: Number(m[3]), semaphore: Number(m[5]), argsText: m[6].trim() }));
      expect(ref.length).toBe(2);
      expect(probes.map((p) => ({ provider: p.provider, name: p.name, pc: p.pc, semaphore: p.semaphore, argsText: p.argsText }))).toEqual(ref);
      const tick = probes.find((p) => p.name === 'tick')!;
      expect(tick.semaphore).not.toBe(0);
      expect(tick.semaphoreOffset).toBeGreaterThan(0);
      expect(tick.args).toHaveLength(2);
      expect(probes.find((p) => p.name === 'plain')!.semaphore).not.toBe(tick.semaphore);
    }
    // -O0 keeps locals on the stack: the memory form is exercised.
    const o0 = readUsdtProbes(new Uint8Array(readFileSync(bins.O0))).find((p) => p.name === 'tick')!;
    expect(o0.args.some((a) => a.kind === 'mem')).toBe(true);
  });

  it('without a probe attached the semaphore stays down', async () => {
    expect(await run(bins.O2, 50, async () => undefined)).toBe(0);
  });

  for (const opt of ['O0', 'O2'] as const) {
    for (const mode of ['kernel', 'procmem'] as UsdtSemaphoreMode[]) {
      it(`-${opt}, semaphore by ${mode}: bpfkit:tick fires exactly 400 times and its two arguments sum as the program passed them`, async () => {
        const tick = readUsdtProbes(new Uint8Array(readFileSync(bins[opt]))).find((p) => p.name === 'tick')!;
        using prog = kernel.load(argSumSpec(tick.args));
        let link: { close(): void } | undefined;
        const fired = await run(bins[opt], 400, async (pid) => {
          link = await attachUsdt(kernel.sys, prog, bins[opt], 'bpfkit', 'tick', { pid, semaphore: mode });
        });
        link?.close();
        expect(fired).toBe(400);
        expect(countAt(prog, 0)).toBe(400n);
        expect(countAt(prog, 1)).toBe(BigInt.asUintN(64, BigInt(-(400 * 401) / 2)));
        expect(countAt(prog, 2)).toBe(BigInt((3 * 400 * 401) / 2));
      });
    }
  }

  it('an unknown probe is a typed error', async () => {
    using prog = kernel.load(argSumSpec([parseUsdtArg('8@$1'), parseUsdtArg('8@$2')]));
    await expect(attachUsdt(kernel.sys, prog, bins.O2, 'bpfkit', 'nope')).rejects.toMatchObject({ code: 'E_USDT_PROBE' });
  });
});
