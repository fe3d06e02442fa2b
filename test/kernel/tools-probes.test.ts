/**
 * `bpfkit tools` built on one process's uprobes (memleak -p) and the one-shot probe tools (trace, argdist), on a C
 * program whose allocations and calls are known: each reports exactly what the program did. libbpf-tools 0.26 has
 * none of these and bcc's Python versions need kernel headers, so the workload is the reference (printed as such).
 */

import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, reportSkip } from '../helpers/reference.js';
import { buildDir } from './helpers/c-build.js';
import { kernelSkip } from './helpers/kernel.js';
import { ours, reference, start } from './helpers/tools.js';
import type { Running } from './helpers/tools.js';

const why = await kernelSkip('bpfkit tools');

/**
 * Waits for a line on stdin, then: 8 mallocs of 100..107 bytes through leak_small() and frees of the first 4, a calloc(10, 30),
 * malloc(50) grown by realloc to 500, posix_memalign of 1000 and aligned_alloc of 128; then 5 calls of ping(i * 7) and 3 of
 * ping(100); prints "done" and waits again (so its memory is still outstanding when the tool reports).
 */
const LEAK_C = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *volatile sink[64];
__attribute__((noinline)) void *leak_small(size_t n) { return malloc(n); }
__attribute__((noinline)) long ping(long v) { sink[40] = (void *)v; return v + 1; }
int main(void) {
  printf("pid=%d\\n", getpid());
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (int i = 0; i < 8; i++) sink[i] = leak_small(100 + i);
  for (int i = 0; i < 4; i++) free(sink[i]);
  sink[10] = calloc(10, 30);
  sink[11] = malloc(50);
  sink[11] = realloc(sink[11], 500);
  if (posix_memalign((void **)&sink[12], 64, 1000)) return 1;
  sink[13] = aligned_alloc(64, 128);
  for (long i = 0; i < 5; i++) ping(i * 7);
  for (int i = 0; i < 3; i++) ping(100);
  printf("done\\n");
  fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) return 1;
  return 0;
}
`;

let bin: string | undefined;
let cleanup = (): void => {};

/** The workload started and waiting: `go()` runs it and resolves when it printed "done". */
function child(): { pid: number; go(): Promise<void>; kill(): void } {
  const c = spawn(bin!, []);
  const done = new Promise<void>((resolve) => c.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
  return {
    pid: c.pid!,
    go: async () => {
      c.stdin.write('go\n');
      await done;
    },
    kill: () => c.kill(),
  };
}

/** The last `Top N stacks` report of memleak's output: per stack, its bytes, count, addresses and frames' function names. */
function lastReport(out: string): { bytes: number; count: number; addrs: number; funcs: string[] }[] {
  const reports = out.split(/^\[\d+:\d+:\d+\] Top \d+ stacks with outstanding allocations:\n/m);
  const last = reports[reports.length - 1];
  const groups: { bytes: number; count: number; addrs: number; funcs: string[] }[] = [];
  for (const l of last.split('\n')) {
    const g = /^(\d+) bytes in (\d+) allocations from stack$/.exec(l);
    if (g) groups.push({ bytes: Number(g[1]), count: Number(g[2]), addrs: 0, funcs: [] });
    else if (/^\taddr = 0x[0-9a-f]+ size = \d+$/.test(l)) groups[groups.length - 1].addrs++;
    else {
      const f = /^\t\d+ \[<[0-9a-f]{16}>\] (?:(\w+)\+0x[0-9a-f]+ )?\[(\S+)\]$/.exec(l);
      if (f) groups[groups.length - 1].funcs.push(f[1] ?? `[${f[2].split('/').pop()}]`);
      else if (l !== '') throw new Error(`unexpected memleak line: ${JSON.stringify(l)}`);
    }
  }
  return groups;
}

/** Runs a tool on a fresh workload around its calls (ready at its header, or once it holds `ready` BPF links); returns the tool's output. */
async function around(tool: string, args: (pid: number) => string[], ready: RegExp | number, settleMs = 0): Promise<string> {
  const c = child();
  let t: Running | undefined;
  try {
    t = start(ours(tool, args(c.pid)), ready);
    await t.ready;
    await c.go();
    // Interval tools print after the workload only at their next tick.
    await new Promise((r) => setTimeout(r, settleMs));
    return await t.stop();
  } finally {
    c.kill();
  }
}

/** `bpfkit tools ARGS`, run to its end: status, stdout and stderr. */
function run(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const cmd = ours(tool, args);
  return spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
}

describe.skipIf(why !== undefined)('bpfkit tools on a process\'s uprobes', () => {
  beforeAll(() => {
    if (!hasCommand('gcc')) {
      reportSkip('tools memleak/trace/argdist', 'needs gcc for the C workload');
      return;
    }
    const b = buildDir('tools-probes');
    cleanup = b.cleanup;
    bin = b.cc('leak', LEAK_C, ['-g', '-fno-omit-frame-pointer']);
  });
  afterAll(() => cleanup());

  it('memleak -p -a: the bytes and allocations the program left outstanding, by stack, with their addresses', async (ctx) => {
    if (!bin) return ctx.skip();
    reference('memleak');
    const out = await around('memleak', (pid) => ['-p', String(pid), '-a', '1'], /Attaching to pid \d+, Ctrl\+C to quit\./);
    expect(out).toMatch(/^using default object: libc\.so\.6\nusing page size: 4096\nAttaching to pid \d+, Ctrl\+C to quit\.\n/);
    const groups = lastReport(out);
    // posix_memalign's block is read through its first argument (user memory): never the null a kernel-memory read gives.
    expect(out).not.toMatch(/\taddr = 0x0 /);
    // Largest first: posix_memalign 1000, realloc 500 (its malloc(50) freed by the realloc), the 4 unfreed leak_small() blocks, calloc 10*30, aligned_alloc 128.
    expect(groups.map((g) => [g.bytes, g.count, g.addrs, g.funcs[0], g.funcs[1]])).toEqual([
      [1000, 1, 1, 'main', '[libc.so.6]'],
      [500, 1, 1, 'main', '[libc.so.6]'],
      [104 + 105 + 106 + 107, 4, 4, 'leak_small', 'main'],
      [300, 1, 1, 'main', '[libc.so.6]'],
      [128, 1, 1, 'main', '[libc.so.6]'],
    ]);
  });

  it('memleak -z/-Z/-C/-T: only sizes in range, combined, the top stacks', async (ctx) => {
    if (!bin) return ctx.skip();
    const out = await around('memleak', (pid) => ['-p', String(pid), '-z', '200', '-Z', '600', '-C', '-T', '2', '1'], /Attaching to pid/);
    expect(lastReport(out).map((g) => [g.bytes, g.count, g.addrs])).toEqual([[500, 1, 0], [300, 1, 0]]);
    expect(out).toMatch(/\] Top 2 stacks with outstanding allocations:\n/);
  });

  it('memleak -t: a line per allocator call and per free of a traced block', async (ctx) => {
    if (!bin) return ctx.skip();
    const out = await around('memleak', (pid) => ['-p', String(pid), '-t', '-z', '100', '-Z', '107', '60'], /Attaching to pid/);
    // leak_small's 8 mallocs of 100..107 pass the size filter; the first 4 are freed.
    expect(out.match(/^alloc entered, size = 10[0-7]$/gm)).toHaveLength(8);
    expect(out.match(/^alloc exited, size = 10[0-7], result = [0-9a-f]+$/gm)).toHaveLength(8);
    expect(out.match(/^free entered, address = [0-9a-f]+, size = 10[0-3]$/gm)).toHaveLength(4);
  });

  it('memleak: bad use is a usage error', () => {
    const r = run('memleak', []);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^memleak: kernel allocations \(no -p\) need the kmem tracepoints: not supported yet, give -p PID\n/);
    expect(run('memleak', ['-p', '1', '-z', '9', '-Z', '3']).stderr).toMatch(/^memleak: min size \(-z\) can't be greater than max_size \(-Z\)\n/);
  });

  it('trace -p: a line per hit of a program function, libc malloc (filtered), calloc\'s return and a write tracepoint, formatted as bcc does', async (ctx) => {
    if (!bin) return ctx.skip();
    reference('trace');
    const out = await around('trace', (pid) => ['-p', String(pid),
      `${bin}:ping "v=%d", arg1`,
      'c:malloc (arg1 >= 100 && arg1 < 108) "size=%d", arg1',
      'r:c:calloc (retval != 0) "calloc=%lx", retval',
      't:syscalls:sys_enter_write (args->fd == 1) "fd=%d count=%d", args->fd, args->count'], /^PID {5}TID {5}COMM {12}FUNC {13}-\n/m);
    const lines = out.split('\n').slice(1).filter((l) => l !== '');
    const pid = /^(\d+) /.exec(lines[0])?.[1];
    for (const l of lines) expect(l).toMatch(new RegExp(`^${pid} +${pid} +leak {12}\\S+ +\\S`));
    expect(lines.map((l) => l.slice(32))).toEqual([
      ...[100, 101, 102, 103, 104, 105, 106, 107].map((n) => `malloc           size=${n}`),
      expect.stringMatching(/^calloc {11}calloc=[0-9a-f]{6,}$/),
      ...[0, 7, 14, 21, 28, 100, 100, 100].map((n) => `ping             v=${n}`),
      'sys_enter_write  fd=1 count=5',
    ]);
  });

  it('trace -M -n -f -T: stops after N events; filters on the name and the message; a time column', async (ctx) => {
    if (!bin) return ctx.skip();
    const out = await around('trace', (pid) => ['-p', String(pid), '-M', '3', '-n', 'lea', '-f', 'v=1', '-T', `${bin}:ping "v=%d", arg1`], /TIME {5}PID/);
    const lines = out.split('\n').slice(1).filter((l) => l !== '');
    expect(lines.map((l) => l.replace(/^\d\d:\d\d:\d\d /, 'T ').replace(/ +/g, ' ').split(' ').slice(4).join(' '))).toEqual(['ping v=14', 'ping v=100', 'ping v=100']);
  });

  it('argdist -C/-H -c: counts by argument value, by a return probe\'s $entry() with a $latency filter, total calls, and a histogram, as bcc prints them', async (ctx) => {
    if (!bin) return ctx.skip();
    reference('argdist');
    // Ready once its five probes are attached (argdist prints nothing until its first interval).
    const out = await around('argdist', (pid) => ['-p', String(pid), '-c', '-i', '1',
      '-C', `p:${bin}:ping(long v):long:v`,
      '-C', 'r:c:malloc(size_t size):size_t:$entry(size):$latency > 0#malloc sizes',
      '-C', 'p:c:free()',
      '-H', 'p:c:malloc(size_t size):size_t:size:size >= 100'], 5, 1500);
    const blocks = out.split(/^\[\d\d:\d\d:\d\d\]\n/m);
    const last = blocks[blocks.length - 1];
    const section = (title: string): string[] => {
      const rest = last.slice(last.indexOf(`${title}\n\tCOUNT      EVENT\n`) + title.length + 1).split('\n').slice(1);
      return rest.slice(0, rest.findIndex((l) => !l.startsWith('\t')));
    };
    expect(last.startsWith(`p:${bin}:ping(long v):long:v\n\tCOUNT      EVENT\n`)).toBe(true);
    const ping = section(`p:${bin}:ping(long v):long:v`);
    expect(ping.slice(-1)).toEqual(['\t3          v = 100']);
    expect(ping.slice(0, -1).sort()).toEqual(['\t1          v = 0', '\t1          v = 14', '\t1          v = 21', '\t1          v = 28', '\t1          v = 7']);
    expect(section('malloc sizes').sort()).toEqual([50, 100, 101, 102, 103, 104, 105, 106, 107].map((n) => `\t1          size = ${n}`).sort());
    expect(section('p:c:free()')).toEqual(['\t4          total calls']);
    const row = (low: number, high: number, n: number, stars: number): string => `${String(low).padStart(10)} -> ${String(high).padEnd(10)} : ${String(n).padEnd(8)} |${'*'.repeat(stars).padEnd(40)}|`;
    expect(last.slice(last.indexOf('     size  '))).toBe([
      `     ${'size'.padEnd(19)} : count     distribution`,
      ...[[0, 1], [2, 3], [4, 7], [8, 15], [16, 31], [32, 63]].map(([l, h]) => row(l, h, 0, 0)),
      row(64, 127, 8, 40),
      '',
    ].join('\n'));
  });

  it('trace and argdist: a kernel function is a kprobe, refused with the cause; bad specifiers are usage errors', () => {
    const k = run('trace', ['do_sys_open "x"']);
    expect(k.status).toBe(1);
    expect(k.stderr).toMatch(/^trace: kprobes are not available: this kernel has no kprobe pmu/);
    expect(run('argdist', ['-C', 'p::vfs_read()']).stderr).toMatch(/^argdist: kprobes are not available: this kernel has no kprobe pmu/);
    expect(run('trace', []).stderr).toMatch(/^trace: the following arguments are required: probe\n/);
    expect(run('trace', ['x:c:malloc']).stderr).toMatch(/^trace: error in probe 'x:c:malloc': probe type must be '', 'p', 't', 'r', or 'u', but got 'x'\n/);
    expect(run('trace', ['c:malloc "%d %d", arg1']).stderr).toMatch(/^trace: error in probe 'c:malloc "%d %d", arg1': 2 format specifiers but 1 arguments\n/);
    expect(run('argdist', []).stderr).toMatch(/^argdist: at least one specifier is required\n/);
    expect(run('argdist', ['-H', 'p:c:malloc(size_t size)']).stderr).toMatch(/^argdist: invalid specifier 'p:c:malloc\(size_t size\)': histograms must have expr\n/);
    expect(run('argdist', ['-C', 'p:c:malloc(size_t size):u64:$entry(size)']).stderr).toMatch(/^argdist: invalid specifier .*: \$entry is for return probes\n/);
  });
});
