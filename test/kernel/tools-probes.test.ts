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

/** Runs a tool on a fresh workload around its calls; returns the tool's output. */
async function around(tool: string, args: (pid: number) => string[], ready: RegExp): Promise<string> {
  const c = child();
  try {
    const t = start(ours(tool, args(c.pid)), ready);
    await t.ready;
    await c.go();
    return await t.stop();
  } finally {
    c.kill();
  }
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
    const r = spawnSync(ours('memleak', [])[0], ours('memleak', []).slice(1), { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^memleak: kernel allocations \(no -p\) need the kmem tracepoints: not supported yet, give -p PID\n/);
    const z = spawnSync(ours('memleak', [])[0], ours('memleak', ['-p', '1', '-z', '9', '-Z', '3']).slice(1), { encoding: 'utf8' });
    expect(z.stderr).toMatch(/^memleak: min size \(-z\) can't be greater than max_size \(-Z\)\n/);
  });
});
