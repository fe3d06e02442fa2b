/** Our llvm-syntax assembler reads `bpftool prog dump xlated` text back to exactly the xlated bytes the kernel returns (`dump xlated ... file`). */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipReason } from '../helpers/reference.js';
import { assembleLlvm, decodeProgram, encodeProgram } from '../../src/ebpf/index.js';
import { toHex } from '../../src/util/index.js';

const SOURCE = String.raw`
#define SEC(x) __attribute__((section(x), used))
typedef unsigned long long u64; typedef unsigned int u32;
struct { int (*type)[2]; int (*max_entries)[4]; u32 *key; u64 *value; } counts SEC(".maps");
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
static u64 (*bpf_ktime_get_ns)(void) = (void *) 5;
static __attribute__((noinline)) int sub(int x) { return x * 3 + 1; }
SEC("socket") int prog(void *ctx) {
  u32 k = bpf_ktime_get_ns() & 3;
  u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (!v) return 1;
  __sync_fetch_and_add(v, 1);
  u64 o = __sync_fetch_and_or(v, 4);
  __sync_val_compare_and_swap(v, o, 7);
  __atomic_exchange_n(v, 9, __ATOMIC_SEQ_CST);
  u32 x = (u32)*v;
  if ((int)x < 5) return sub(x);
  return (x >> 3) | (x << 2) | (u32)(*v >> 40);
}
char LICENSE[] SEC("license") = "GPL";
`;

const skip = skipReason('bpftool xlated dumps', { commands: ['bpftool', 'clang-19'], root: true, files: ['/sys/fs/bpf'] });

describe.skipIf(skip)('bpftool prog dump xlated', () => {
  it('text assembles to the dumped bytes (maps by id, helper calls by kernel imm, local calls, atomics, JMP32)', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'bpfkit-bpftool-'));
    const pin = `/sys/fs/bpf/bpfkit-asm-${process.pid}`;
    try {
      writeFileSync(path.join(work, 'k.c'), SOURCE);
      const obj = path.join(work, 'k.o');
      execFileSync('clang-19', ['-target', 'bpf', '-mcpu=v3', '-O2', '-g', '-c', path.join(work, 'k.c'), '-o', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
      execFileSync('bpftool', ['prog', 'loadall', obj, pin], { stdio: ['ignore', 'pipe', 'pipe'] });
      const text = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', `${pin}/prog`], { encoding: 'utf8' });
      const rawFile = path.join(work, 'x.bin');
      execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', `${pin}/prog`, 'file', rawFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      const raw = new Uint8Array(readFileSync(rawFile));
      expect(text).toMatch(/map\[id:\d+\]/);
      expect(text).toMatch(/call pc[-+]\d+/);
      expect(text).toMatch(/atomic64_cmpxchg/);
      const insns = assembleLlvm(text);
      expect(raw.length).toBeGreaterThan(30 * 8);
      // After JIT the kernel keeps a local call's subprogram number in off and 1 in imm; bpftool
      // prints the pc-relative target instead, so those slots compare by opcode and src only.
      const dumped = decodeProgram(raw);
      expect(insns.length).toBe(dumped.length);
      let compared = 0;
      dumped.forEach((d, i) => {
        if (d.code === 0x85 && d.src === 1) {
          expect({ code: insns[i].code, src: insns[i].src }).toEqual({ code: 0x85, src: 1 });
          return;
        }
        expect(toHex(encodeProgram([insns[i]])), `insn ${i}`).toBe(toHex(encodeProgram([d])));
        compared++;
      });
      expect(compared).toBe(dumped.length - 1);
    } finally {
      rmSync(pin, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
});
