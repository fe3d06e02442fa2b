/** Benchmark: one kernel map lookup through KernelMap (koffi FFI) against the raw bpf() syscall from C, same map shape, same run; µs per lookup and the ratio. */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MapType } from '../src/ebpf/index.js';
import { BpfCmd, Kernel, mapElemAttr } from '../src/kernel/index.js';

const N = 200_000;

// The C reference: create the same hash map, insert key 1, then N lookups of it with bpf(2).
const C_SOURCE = `
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_HASH; a.key_size = 4; a.value_size = 8; a.max_entries = 16;
  int fd = bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) { perror("map_create"); return 1; }
  unsigned key = 1; unsigned long long val = 42;
  memset(&a, 0, sizeof a); a.map_fd = fd; a.key = (unsigned long)&key; a.value = (unsigned long)&val;
  if (bpf(BPF_MAP_UPDATE_ELEM, &a)) { perror("update"); return 1; }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) { if (bpf(BPF_MAP_LOOKUP_ELEM, &a)) { perror("lookup"); return 1; } }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%f\\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
  return 0;
}
`;

function cLookupNs(): number | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-bench-'));
  try {
    writeFileSync(path.join(dir, 'lookup.c'), C_SOURCE);
    execFileSync('gcc', ['-O2', '-o', path.join(dir, 'lookup'), path.join(dir, 'lookup.c')]);
    return Number(execFileSync(path.join(dir, 'lookup'), [String(N)], { encoding: 'utf8' }).trim());
  } catch (e) {
    console.log(`raw syscall reference skipped: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function time(label: string, fn: () => void): number {
  for (let i = 0; i < N / 10; i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${label.padEnd(42)} ${(ns / 1000).toFixed(2)} µs/lookup`);
  return ns;
}

const kernel = await Kernel.open();
using m = kernel.createMap({ name: 'bench', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
const key = Uint8Array.of(1, 0, 0, 0);
m.set(key, new Uint8Array(8).fill(42));

const api = time('KernelMap.get', () => m.get(key));
// The bare seam: a prebuilt attr, one koffi call per lookup.
const value = new Uint8Array(new ArrayBuffer(8));
const attr = mapElemAttr(m.fd, kernel.sys.addressOf(key), kernel.sys.addressOf(value));
const seam = time('Sys.bpf (prebuilt attr)', () => kernel.sys.bpf(BpfCmd.BPF_MAP_LOOKUP_ELEM, attr));
const raw = cLookupNs();
if (raw !== undefined) {
  console.log(`${'raw bpf() from C'.padEnd(42)} ${(raw / 1000).toFixed(2)} µs/lookup`);
  console.log(`ratio KernelMap.get / raw: ${(api / raw).toFixed(2)}x, Sys.bpf / raw: ${(seam / raw).toFixed(2)}x`);
}
