/** Our llvm-syntax assembler/disassembler and ELF reader against LLVM 19: llvm-mc as the reference assembler for every instruction form, llvm-objdump on clang-compiled objects. */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectFloor, skipReason } from '../helpers/reference.js';
import { main } from '../../src/cli/main.js';
import {
  assembleConformance, assembleLlvm, decodeProgram, describeInsn, disassembleLlvm, encodeProgram, formatInsnLlvm, slotOffsets, type Insn,
} from '../../src/ebpf/index.js';
import { programSections, readElf } from '../../src/elf/index.js';
import { toHex } from '../../src/util/index.js';

const work = mkdtempSync(path.join(tmpdir(), 'bpfkit-llvm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A deterministic generator (xorshift) so the forms are the same on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * Every opcode that has a valid form, several times with random fields, repaired until
 * describeInsn accepts it. Forms llvm 19 cannot write are left out: pseudo lddw and call
 * forms, load-acquire/store-release, ld_ind with an immediate.
 */
function llvmForms(): Insn[] {
  const next = rng(0x9e3779b9);
  const out: Insn[] = [];
  for (let code = 0; code < 256; code++) {
    for (let k = 0; k < 6; k++) {
      const r = next();
      const insn: Insn = { code, dst: r % 10, src: (r >>> 4) % 11, off: ((next() & 0xffff) << 16) >> 16, imm: next() | 0 };
      if (k === 0) insn.imm = (next() % 21) - 10;
      if (code === 0x18) {
        insn.imm64 = (BigInt(next()) << 32n) | BigInt(insn.imm >>> 0);
        insn.next = { code: 0, dst: 0, src: 0, off: 0 };
      }
      let info = describeInsn(insn);
      if (info.kind === undefined) break;
      for (let tries = 0; tries < 4 && info.problems.length; tries++) {
        for (const p of info.problems) {
          if (p.field === 'imm') insn.imm = info.kind === 'end' ? [16, 32, 64][r % 3] : info.kind === 'atomic' ? [0, 0x40, 0x50, 0xa0, 1, 0x41, 0x51, 0xa1, 0xe1, 0xf1][r % 10] : 0;
          else if (p.field === 'off') insn.off = info.kind === 'alu' && (insn.code & 0xf8) === 0xb8 ? [0, 8, 16, 32][r % 4] : 0;
          else if (p.field === 'src') insn.src = 0;
          else if (p.field === 'dst') insn.dst = 0;
        }
        info = describeInsn(insn);
      }
      if (info.problems.length) continue;
      if (info.kind === 'lddw') insn.src = 0;
      if (info.kind === 'call') insn.src = 0;
      if (info.kind === 'atomic' && (insn.imm === 0x100 || insn.imm === 0x110)) continue;
      if (info.kind === 'ld_ind') insn.imm = 0;
      if (info.kind === 'ld_abs' || info.kind === 'ld_ind') insn.dst = 0;
      // llvm-mc 19 parses a gotol target as a 16-bit number only (the encoding holds 32 bits).
      if (info.kind === 'gotol') insn.imm = (insn.imm << 16) >> 16;
      out.push(insn);
    }
  }
  return out;
}

/** The encodings llvm-mc prints, one byte array per instruction. */
function llvmMcEncodings(text: string): Uint8Array[] {
  const file = path.join(work, 'forms.s');
  writeFileSync(file, text);
  const out = execFileSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '-show-encoding', file], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return [...out.matchAll(/encoding: \[([^\]]*)\]/g)].map((m) => new Uint8Array(m[1].split(',').map((b) => Number(b))));
}

/** llvm-objdump's instruction text per slot index (annotations `<…>` removed). */
function objdumpText(obj: string, extra: string[] = []): Map<string, Map<number, string>> {
  const out = execFileSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', ...extra, obj], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const bySection = new Map<string, Map<number, string>>();
  let cur = new Map<number, string>();
  for (const line of out.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) bySection.set(sec[1], (cur = new Map()));
    const m = /^\s*(\d+):\s*(.*?)\s*$/.exec(line);
    if (m) cur.set(Number(m[1]), m[2].replace(/(\S)\s+<[^<>]*>$/, '$1'));
  }
  return bySection;
}

const mcSkip = skipReason('llvm-mc reference assembler', { commands: ['llvm-mc-19'] });

describe.skipIf(mcSkip)('llvm-mc-19 as the reference assembler', () => {
  const forms = llvmForms();

  it('covers every defined opcode except the 8/16-bit atomics (load-acquire/store-release only)', () => {
    const codes = new Set(forms.map((f) => f.code));
    const defined = Array.from({ length: 256 }, (_, c) => c).filter((c) => describeInsn({ code: c, dst: 0, src: 0, off: 0, imm: 0 }).kind !== undefined);
    expect(defined.filter((c) => !codes.has(c)).map((c) => `0x${c.toString(16)}`)).toEqual(['0xcb', '0xd3']);
  });

  it('llvm-mc assembles our disassembly of every form to the bytes we encode', () => {
    const text = forms.map((f) => formatInsnLlvm(f).join('\n')).join('\n') + '\n';
    const enc = llvmMcEncodings(text);
    expect(enc.length).toBe(forms.length);
    forms.forEach((f, i) => expect(toHex(enc[i]), formatInsnLlvm(f)[0]).toBe(toHex(encodeProgram([f]))));
  });

  it('our assembler reads the same text to the same bytes, also in decimal', () => {
    const bytes = encodeProgram(forms);
    expect(toHex(encodeProgram(assembleLlvm(disassembleLlvm(forms))))).toBe(toHex(bytes));
    expect(toHex(encodeProgram(assembleLlvm(disassembleLlvm(forms, { decimal: true }))))).toBe(toHex(bytes));
  });

  it('llvm-objdump prints each form exactly as our disassembler does', () => {
    const src = path.join(work, 'forms-obj.s');
    const obj = path.join(work, 'forms.o');
    writeFileSync(src, disassembleLlvm(forms));
    execFileSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', src, '-o', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
    const plain = objdumpText(obj).get('.text')!;
    // Without +alu32 llvm-objdump shows 32-bit atomics as <unknown>; with it, 32-bit loads print as wN.
    const alu32 = objdumpText(obj, ['--mattr=+alu32']).get('.text')!;
    const offs = slotOffsets(forms);
    forms.forEach((f, i) => {
      const ref = plain.get(offs[i]) === '<unknown>' ? alu32.get(offs[i]) : plain.get(offs[i]);
      expect(formatInsnLlvm(f)[0]).toBe(ref);
    });
  });
});

/** C snippets that exercise calls, maps, atomics, jumps, byte swaps, sign extension, switch tables. */
const C_SOURCE = String.raw`
#define SEC(x) __attribute__((section(x), used))
typedef unsigned long long u64; typedef unsigned int u32; typedef unsigned short u16; typedef unsigned char u8;
typedef long long s64; typedef int s32; typedef short s16; typedef signed char s8;
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
struct { int (*type)[2]; int (*max_entries)[4]; u32 *key; u64 *value; } counts SEC(".maps");
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
static u64 (*bpf_ktime_get_ns)(void) = (void *) 5;
u64 glob = 5;
s32 sglob[4];
#if __BPF_CPU_VERSION__ >= 4
#define SDIV(a, b) ((a) / (b))
#define SMOD(a, b) ((a) % (b))
#else
#define SDIV(a, b) ((s64)((u64)(a) / (u64)(b)))
#define SMOD(a, b) ((s64)((u64)(a) % (u64)(b)))
#endif
static __attribute__((noinline)) int sub(int x, int y) { return x * 3 + SDIV(y, 7) - SMOD(x, 5); }
SEC("xdp") int prog(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  u32 k = ctx->ingress_ifindex & 3;
  u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (!v) return 1;
  __sync_fetch_and_add(v, 1);
  u64 old = __sync_fetch_and_or(v, 2);
  __sync_val_compare_and_swap(v, old, 7);
  __atomic_exchange_n(v, 9, __ATOMIC_SEQ_CST);
  if (data + 20 > end) return 2;
  u16 proto = __builtin_bswap16(*(u16 *)(data + 12));
  s8 b = *(s8 *)(data + 1);
  s16 h = *(s16 *)(data + 2);
  s32 w = *(s32 *)(data + 4);
  s64 acc = (s64)b + h + w + (s64)(bpf_ktime_get_ns() >> 3);
  switch (proto) { case 0x800: acc += 1; break; case 0x86dd: acc ^= 3; break; case 0x806: acc -= 9; break; default: acc *= 5; }
  if (k > 2) return sub(k, (int)acc) + glob;
  sglob[k] = SDIV((s32)acc, -3);
  return SMOD(acc, 3) == 0 ? 2 : __builtin_bswap32((u32)acc) & 1;
}
SEC("socket") int sock(void *ctx) { u32 x = glob; x = x << 3 | x >> 29; return (int)(x > 100) + SMOD((s32)x, 11); }
char LICENSE[] SEC("license") = "GPL";
`;

const clangSkip = skipReason('clang-19 objects vs llvm-objdump-19', { commands: ['clang-19', 'llvm-objdump-19'] });

describe.skipIf(clangSkip)('clang-19 -target bpf objects vs llvm-objdump-19', () => {
  const cfile = path.join(work, 'prog.c');
  if (!clangSkip) writeFileSync(cfile, C_SOURCE);

  for (const cpu of ['v1', 'v2', 'v3', 'v4']) {
    for (const endian of ['bpfel', 'bpfeb']) {
      it(`-mcpu=${cpu} ${endian}: every instruction of every program section prints as llvm-objdump prints it`, () => {
        const obj = path.join(work, `prog-${cpu}-${endian}.o`);
        execFileSync('clang-19', ['-target', endian, `-mcpu=${cpu}`, '-O2', '-c', cfile, '-o', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
        const elf = readElf(new Uint8Array(readFileSync(obj)));
        expect(elf.littleEndian).toBe(endian === 'bpfel');
        const sections = programSections(elf);
        expect(sections.map((s) => s.section.name).sort()).toEqual(['.text', 'socket', 'xdp']);
        const ref = objdumpText(obj, cpu === 'v1' || cpu === 'v2' ? [] : ['--mattr=+alu32']);
        let compared = 0;
        for (const s of sections) {
          const want = ref.get(s.section.name)!;
          const offs = slotOffsets(s.insns);
          s.insns.forEach((insn, i) => {
            let text = formatInsnLlvm(insn)[0];
            // With +alu32 llvm-objdump shows 8/16/32-bit loads and stores with wN; we print rN, which both read.
            if (cpu === 'v3' || cpu === 'v4') text = text.replace(/^r(\d+) = \*\(u(8|16|32) \*\)/, 'w$1 = *(u$2 *)').replace(/(\*\(u(?:8|16|32) \*\)\(r\d+ [-+] 0x[0-9a-f]+\)) = r(\d+)$/, '$1 = w$2');
            // llvm-objdump prints a local call's imm as a plain number.
            if (insn.code === 0x85 && insn.src === 1) text = `call ${insn.imm < 0 ? '-' : ''}0x${Math.abs(insn.imm).toString(16)}`;
            expect(text, `${s.section.name} slot ${offs[i]}`).toBe(want.get(offs[i]));
            compared++;
          });
          expect([...want.keys()].sort((a, b) => a - b)).toEqual(offs.slice(0, -1));
          // Our text reassembles to the section's bytes.
          expect(toHex(encodeProgram(assembleLlvm(disassembleLlvm(s.insns)), { bigEndian: !elf.littleEndian }))).toBe(toHex(s.section.data));
        }
        expectFloor('ebpf-llvm: instructions compared per variant', compared, 80);
      });
    }
  }

  it('symbols and relocations match llvm-objdump -t -r', () => {
    const obj = path.join(work, 'prog-rel.o');
    execFileSync('clang-19', ['-target', 'bpf', '-O2', '-c', cfile, '-o', obj]);
    const elf = readElf(new Uint8Array(readFileSync(obj)));
    const sections = programSections(elf);
    const relText = execFileSync('llvm-objdump-19', ['-r', obj], { encoding: 'utf8' });
    const want: string[] = [];
    let sec = '';
    for (const line of relText.split('\n')) {
      const h = /^RELOCATION RECORDS FOR \[(.*)\]:$/.exec(line);
      if (h) sec = h[1].replace(/^\.rel/, '');
      const m = /^([0-9a-f]{16}) (R_BPF_\S+)\s+(\S+)$/.exec(line);
      if (m && sections.some((s) => s.section.name === sec)) want.push(`${sec} ${Number.parseInt(m[1], 16) / 8} ${m[3]}`);
    }
    const got = sections.flatMap((s) => s.relocations.map((r) => `${s.section.name} ${r.slot} ${r.symbol}`));
    expect(got.sort()).toEqual(want.sort());
    expect(got.some((g) => g.endsWith(' counts'))).toBe(true);
    const symText = execFileSync('llvm-objdump-19', ['-t', obj], { encoding: 'utf8' });
    for (const name of ['prog', 'sock', 'sub']) {
      const m = new RegExp(`^([0-9a-f]{16}) .*\\s(\\S+)\\s+[0-9a-f]{16} ${name}$`, 'm').exec(symText)!;
      expect(m, name).not.toBeNull();
      const sym = elf.symbols.find((s) => s.name === name)!;
      expect(sym.value).toBe(Number.parseInt(m[1], 16));
      expect(elf.sections[sym.shndx].name).toBe(m[2]);
    }
  });

  it('bpfkit ebpf disasm lists every section of the object with symbols as labels; each listing reassembles to the section bytes', async () => {
    const obj = path.join(work, 'prog-cli.o');
    execFileSync('clang-19', ['-target', 'bpf', '-mcpu=v4', '-O2', '-c', cfile, '-o', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
    const elf = readElf(new Uint8Array(readFileSync(obj)));
    for (const syntax of ['llvm', 'conformance']) {
      let out = '';
      const status = await main(['ebpf', 'disasm', '--syntax', syntax, obj], { stdout: (t) => void (out += t), stderr: () => undefined, isTTY: false });
      expect(status).toBe(0);
      const parts = out.split(/^[;#] section (.*)\n/m).slice(1);
      const names: string[] = [];
      for (let i = 0; i < parts.length; i += 2) {
        names.push(parts[i]);
        const asm = syntax === 'llvm' ? assembleLlvm : assembleConformance;
        expect(toHex(encodeProgram(asm(parts[i + 1]))), `${syntax} ${parts[i]}`).toBe(toHex(elf.section(parts[i])!.data));
      }
      expect(names.sort()).toEqual(['.text', 'socket', 'xdp']);
      expect(out).toMatch(/^prog:$/m);
      expect(out).toMatch(/relocation: counts/);
    }
  });

  it('decodes raw section bytes the same way as the ELF reader', () => {
    const obj = path.join(work, 'prog-raw.o');
    execFileSync('clang-19', ['-target', 'bpf', '-O2', '-c', cfile, '-o', obj]);
    const elf = readElf(new Uint8Array(readFileSync(obj)));
    const xdp = elf.section('xdp')!;
    expect(decodeProgram(xdp.data)).toEqual(programSections(elf).find((s) => s.section.name === 'xdp')!.insns);
  });
});
