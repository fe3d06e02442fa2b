/** The two assembly syntaxes: forms, labels, pseudo lddw forms with map names, raw slots, and errors with line and column. */

import { describe, expect, it } from 'vitest';
import {
  assembleConformance, assembleLlvm, decodeProgram, disassembleConformance, disassembleLlvm, encodeProgram, type Insn,
} from '../../src/ebpf/index.js';
import { ParseError, toHex } from '../../src/util/index.js';

const hex = (insns: Insn[]): string => toHex(encodeProgram(insns), ' ');

/** Asserts a ParseError with code, line and column. */
function fails(f: () => unknown, code: string, line: number, column: number): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    expect({ code: (e as ParseError).code, ...(e as ParseError).position }).toEqual({ code, line, column });
    return;
  }
  expect.unreachable('no error thrown');
}

describe('llvm syntax', () => {
  it('assembles the forms clang and bpftool print (encodings from RFC 9669 tables)', () => {
    expect(hex(assembleLlvm('r0 = *(u32 *)(r1 + 4)'))).toBe('61 10 04 00 00 00 00 00');
    expect(hex(assembleLlvm('w1 += w2'))).toBe('0c 21 00 00 00 00 00 00');
    expect(hex(assembleLlvm('if r1 > 0x5 goto +3 <LBB0_2>'))).toBe('25 01 03 00 05 00 00 00');
    expect(hex(assembleLlvm('if w1 s< w2 goto -2'))).toBe('ce 21 fe ff 00 00 00 00');
    expect(hex(assembleLlvm('call bpf_map_lookup_elem'))).toBe('85 00 00 00 01 00 00 00');
    expect(hex(assembleLlvm('call bpf_map_lookup_elem#1'))).toBe('85 00 00 00 01 00 00 00');
    expect(hex(assembleLlvm('r1 = 0x1234 ll'))).toBe('18 01 00 00 34 12 00 00 00 00 00 00 00 00 00 00');
    expect(hex(assembleLlvm('lock *(u64 *)(r1 + 0) += r2'))).toBe('db 21 00 00 00 00 00 00');
    expect(hex(assembleLlvm('r0 = atomic_fetch_add((u64 *)(r10 - 8), r0)'))).toBe('db 0a f8 ff 01 00 00 00');
    expect(hex(assembleLlvm('r1 = bswap16 r1'))).toBe('d7 01 00 00 10 00 00 00');
    expect(hex(assembleLlvm('r1 = be16 r1'))).toBe('dc 01 00 00 10 00 00 00');
    expect(hex(assembleLlvm('r1 = (s8)r2'))).toBe('bf 21 08 00 00 00 00 00');
    expect(hex(assembleLlvm('r0 = *(s16 *)(r1 + 2)'))).toBe('89 10 02 00 00 00 00 00');
    expect(hex(assembleLlvm('gotol +70000'))).toBe('06 00 00 00 70 11 01 00');
    expect(hex(assembleLlvm('callx r3'))).toBe('8d 03 00 00 00 00 00 00');
    expect(hex(assembleLlvm('may_goto +2'))).toBe('e5 00 02 00 00 00 00 00');
    expect(hex(assembleLlvm('call kfunc#77'))).toBe('85 20 00 00 4d 00 00 00');
    expect(hex(assembleLlvm('w0 = load_acquire((u8 *)(r1 + 0))'))).toBe('d3 10 00 00 00 01 00 00');
    expect(hex(assembleLlvm('store_release((u64 *)(r1 + 8), r2)'))).toBe('db 21 08 00 10 01 00 00');
    expect(hex(assembleLlvm('r0 = *(u16 *)skb[r1 + 4]'))).toBe('48 10 00 00 04 00 00 00');
  });

  it('resolves labels in slots, across lddw, forward and backward', () => {
    const insns = assembleLlvm(['start:', '  r1 = 1 ll', '  if r1 == 0 goto out', '  goto start', 'out: exit', 'call sub', 'sub:', 'exit'].join('\n'));
    expect(insns[1].off).toBe(1);
    expect(insns[2].off).toBe(-4);
    expect(insns[4]).toMatchObject({ code: 0x85, src: 1, imm: 0 });
    expect(disassembleLlvm(insns, { labels: true })).toContain('goto LBB0');
  });

  it('prints and reads lddw pseudo forms, binding maps by name', () => {
    const text = ['r1 = map[counts]', 'r2 = map[fd:7]', 'r3 = map[stats][0]+16', 'r4 = btf[id:99]', 'r5 = func[+0x2]', 'r6 = map[idx:3]', 'r7 = map[idx:1][0]+8', 'exit'].join('\n');
    const insns = assembleLlvm(text);
    expect(insns.map((i) => i.src)).toEqual([1, 1, 2, 3, 4, 5, 6, 0]);
    expect(insns[0].ref).toBe('counts');
    expect(insns[2]).toMatchObject({ ref: 'stats', imm64: 16n << 32n });
    expect(insns[1].imm).toBe(7);
    expect(disassembleLlvm(insns).split('\n').map((l) => l.trim()).slice(0, 7)).toEqual(text.split('\n').slice(0, 7));
  });

  it('writes instructions no form expresses as .8byte, and reads them back', () => {
    const bad: Insn = { code: 0x07, dst: 1, src: 0, off: 1, imm: 2 };
    expect(disassembleLlvm([bad])).toBe('\t.8byte 0x0000000200010107\n');
    expect(assembleLlvm('.8byte 0x0000000200010107')).toEqual([bad]);
  });

  it('reads bpftool xlated listings: opcode prefixes, source lines, kernel spellings', () => {
    const listing = [
      'int prog(void * ctx):',
      '; u32 k = bpf_ktime_get_ns() & 3;',
      '   0: (85) call bpf_ktime_get_ns#269488',
      '   1: (18) r1 = 0x1122334455',
      '   3: (18) r2 = map[id:6578]',
      '   5: (db) r0 = atomic64_fetch_or((u64 *)(r1 +0), r0)',
      '   6: (db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)',
      '   7: (c3) r2 = atomic_xchg((u32 *)(r1 +4), r2)',
      '   8: (85) call pc+1#bpf_prog_e0952f3ef8ab7df9_sub',
      '   9: (95) exit',
      '  10: (95) exit',
    ].join('\n');
    expect(hex(assembleLlvm(listing))).toBe([
      '85 00 00 00 b0 1c 04 00',
      '18 01 00 00 55 44 33 22 00 00 00 00 11 00 00 00',
      '18 12 00 00 b2 19 00 00 00 00 00 00 00 00 00 00',
      'db 01 00 00 41 00 00 00',
      'db 21 00 00 f1 00 00 00',
      'c3 21 04 00 e1 00 00 00',
      '85 10 00 00 01 00 00 00',
      '95 00 00 00 00 00 00 00',
      '95 00 00 00 00 00 00 00',
    ].join(' '));
  });

  it('reports errors with line and column', () => {
    fails(() => assembleLlvm('exit\n  r1 = frob'), 'E_EBPF_ASM_SYNTAX', 2, 3);
    fails(() => assembleLlvm('r1 += 0x100000000'), 'E_EBPF_ASM_RANGE', 1, 7);
    fails(() => assembleLlvm('r1 = 2147483648'), 'E_EBPF_ASM_RANGE', 1, 6);
    fails(() => assembleLlvm('r0 = *(u32 *)(r1 + 40000)'), 'E_EBPF_ASM_RANGE', 1, 20);
    fails(() => assembleLlvm('goto nowhere'), 'E_EBPF_ASM_LABEL', 1, 6);
    fails(() => assembleLlvm('w1 += r2'), 'E_EBPF_ASM_REG', 1, 7);
    fails(() => assembleLlvm('r16 = 1'), 'E_EBPF_ASM_REG', 1, 1);
    fails(() => assembleLlvm('a:\na:'), 'E_EBPF_ASM', 2, 1);
  });
});

describe('conformance syntax', () => {
  it('assembles the README forms', () => {
    expect(hex(assembleConformance('mov %r0, 1'))).toBe('b7 00 00 00 01 00 00 00');
    expect(hex(assembleConformance('ldxw %r0, [%r1+4]'))).toBe('61 10 04 00 00 00 00 00');
    expect(hex(assembleConformance('jeq %r1, 2, +1'))).toBe('15 01 01 00 02 00 00 00');
    expect(hex(assembleConformance('lock fetch add [%r1+0], %r2'))).toBe('db 21 00 00 01 00 00 00');
    expect(hex(assembleConformance('lock cmpxchg32 [%r10-8], %r1'))).toBe('c3 1a f8 ff f1 00 00 00');
    expect(hex(assembleConformance('movsx3264 %r1, %r2'))).toBe('bf 21 20 00 00 00 00 00');
    expect(hex(assembleConformance('sdiv32 %r1, -3'))).toBe('34 01 01 00 fd ff ff ff');
    expect(hex(assembleConformance('ja32 +70000'))).toBe('06 00 00 00 70 11 01 00');
    expect(hex(assembleConformance('call %r3'))).toBe('8d 03 00 00 00 00 00 00');
    expect(hex(assembleConformance('call runtime 9'))).toBe('85 20 00 00 09 00 00 00');
    expect(hex(assembleConformance('mov32 %r0, 0xffffffff'))).toBe('b4 00 00 00 ff ff ff ff');
    expect(hex(assembleConformance('lddw %r0, -1'))).toBe('18 00 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff');
  });

  it('has an implicit exit label at the first exit, and counts lddw as two slots', () => {
    const insns = assembleConformance('jne %r0, %r1, exit\nlddw %r0, 5\nexit\nexit');
    expect(insns[0].off).toBe(2);
    const local = assembleConformance('call local f\nexit\nf:\nmov %r0, 1\nexit');
    expect(local[0]).toMatchObject({ src: 1, imm: 1 });
    expect(disassembleConformance(local).split('\n')[0]).toBe('call local +1');
  });

  it('reports errors with line and column', () => {
    fails(() => assembleConformance('mov32 %r0, 2147483648'), 'E_EBPF_ASM_RANGE', 1, 12);
    fails(() => assembleConformance('exit\nldxq %r0, [%r1]'), 'E_EBPF_ASM_MNEMONIC', 2, 1);
    fails(() => assembleConformance('ldxb %r0, %r1'), 'E_EBPF_ASM_MEM', 1, 11);
    fails(() => assembleConformance('lddw %r0'), 'E_EBPF_ASM_OPERANDS', 1, 1);
    fails(() => assembleConformance('or %r0, %r50'), 'E_EBPF_ASM_REG', 1, 9);
    fails(() => assembleConformance('mov r0, 1'), 'E_EBPF_ASM_REG', 1, 5);
    fails(() => assembleConformance('ja NOT_A_LABEL'), 'E_EBPF_ASM_LABEL', 1, 4);
    fails(() => assembleConformance('lock or [%r10-8]'), 'E_EBPF_ASM_OPERANDS', 1, 1);
    fails(() => assembleConformance('lock nand [%r10-8], %r1'), 'E_EBPF_ASM_MNEMONIC', 1, 1);
    fails(() => assembleConformance('ldxb %r0, [%r1+0x10000]'), 'E_EBPF_ASM_RANGE', 1, 11);
  });

  it('decodes and prints what it assembled', () => {
    const text = 'mov %r0, 0\nadd32 %r0, 0xb\nstxdw [%r10-8], %r0\nldxdw %r0, [%r10-8]\nbe16 %r0\nswap32 %r0\nneg %r0\nexit\n';
    expect(disassembleConformance(decodeProgram(encodeProgram(assembleConformance(text))))).toBe(text);
  });
});
