/** Structural checks: each rejection with its code and instruction index, and the optional read-before-write check. */

import { describe, expect, it } from 'vitest';
import { assembleLlvm, checkProgram, findProblems, ProgramBuilder, R0, R1, R2, type Insn } from '../../src/ebpf/index.js';
import { ValidationError } from '../../src/util/index.js';

const first = (insns: Insn[], opts = {}): { code: string; insn: number } | undefined => {
  const p = findProblems(insns, opts)[0];
  return p && { code: p.code, insn: p.insn };
};
const raw = (code: number, f: Partial<Insn> = {}): Insn => ({ code, dst: 0, src: 0, off: 0, imm: 0, ...f });
const EXIT = raw(0x95);

describe('checkProgram', () => {
  it('accepts a well-formed program', () => {
    expect(findProblems(assembleLlvm('r0 = 0\nif r1 > 5 goto +1\nr0 = 1\nexit'))).toEqual([]);
  });

  it('rejects an empty program', () => {
    expect(first([])).toEqual({ code: 'E_EBPF_EMPTY', insn: 0 });
  });

  it('rejects unknown opcodes, naming the instruction', () => {
    expect(first([raw(0xb7), raw(0xff), EXIT])).toEqual({ code: 'E_EBPF_OPCODE', insn: 1 });
    expect(() => checkProgram([raw(0xb7), raw(0xff), EXIT])).toThrow(ValidationError);
    try {
      checkProgram([raw(0xb7), raw(0x8c), EXIT]);
    } catch (e) {
      expect((e as ValidationError).position).toEqual({ insn: 1 });
      expect((e as ValidationError).message).toBe('unknown opcode 0x8c (at insn 1)');
    }
  });

  it('rejects non-zero reserved fields', () => {
    expect(first([raw(0xb7, { src: 1 }), EXIT])).toEqual({ code: 'E_EBPF_FIELD', insn: 0 });
    expect(first([raw(0xbf, { imm: 3 }), EXIT])).toEqual({ code: 'E_EBPF_FIELD', insn: 0 });
    expect(first([raw(0xb7), raw(0x95, { imm: 1 })])).toEqual({ code: 'E_EBPF_FIELD', insn: 1 });
  });

  it('rejects bad registers and writes to r10', () => {
    expect(first([raw(0xb7, { dst: 11 }), EXIT])).toEqual({ code: 'E_EBPF_REG', insn: 0 });
    expect(first([raw(0xbf, { dst: 1, src: 12 }), EXIT])).toEqual({ code: 'E_EBPF_REG', insn: 0 });
    expect(first([raw(0xb7, { dst: 10 }), EXIT])).toEqual({ code: 'E_EBPF_FP_WRITE', insn: 0 });
    // A verifier that follows refuses the writes a path reaches.
    expect(findProblems([raw(0xb7, { dst: 10 }), EXIT], { frameWrites: false })).toEqual([]);
    // Storing through r10 is fine; r10 is only read.
    expect(first([raw(0x7a, { dst: 10, off: -8 }), EXIT])).toBeUndefined();
  });

  it('rejects jumps out of range and into the middle of lddw', () => {
    expect(first([raw(0x05, { off: 5 }), EXIT])).toEqual({ code: 'E_EBPF_JUMP_RANGE', insn: 0 });
    expect(first([raw(0x05, { off: -2 }), EXIT])).toEqual({ code: 'E_EBPF_JUMP_RANGE', insn: 0 });
    expect(first([raw(0x05, { off: 1 }), { ...raw(0x18, { dst: 1 }), imm64: 0n, next: { code: 0, dst: 0, src: 0, off: 0 } }, EXIT])).toEqual({ code: 'E_EBPF_JUMP_LDDW', insn: 0 });
    expect(first([raw(0x06, { imm: 3 }), EXIT])).toEqual({ code: 'E_EBPF_JUMP_RANGE', insn: 0 });
    expect(first([raw(0x85, { src: 1, imm: 7 }), EXIT])).toEqual({ code: 'E_EBPF_JUMP_RANGE', insn: 0 });
  });

  it('rejects an lddw with a non-zero or missing second slot', () => {
    expect(first([{ ...raw(0x18, { dst: 1 }), imm64: 0n, next: { code: 0, dst: 1, src: 0, off: 0 } }, EXIT])).toEqual({ code: 'E_EBPF_FIELD', insn: 0 });
    expect(first([EXIT, raw(0x18, { dst: 1 })])).toEqual({ code: 'E_EBPF_FIELD', insn: 1 });
  });

  it('requires the last instruction to be exit or an unconditional jump', () => {
    expect(first([raw(0xb7)])).toEqual({ code: 'E_EBPF_LAST', insn: 0 });
    expect(first([EXIT, raw(0x05, { off: -2 })])).toBeUndefined();
  });

  it('reports every problem, not only the first', () => {
    expect(findProblems([raw(0xff), raw(0xb7, { dst: 12 })]).map((p) => p.code)).toEqual(['E_EBPF_OPCODE', 'E_EBPF_REG', 'E_EBPF_LAST']);
  });

  it('finds reads before writes when entry registers are given', () => {
    const prog = new ProgramBuilder().jeq(R1, 0, 'skip').mov64(R0, 1).label('skip').exit().build();
    expect(first(prog, { initialized: [1] })).toEqual({ code: 'E_EBPF_UNINIT', insn: 2 });
    expect(first(new ProgramBuilder().mov64(R0, R2).exit().build(), { initialized: [1] })).toEqual({ code: 'E_EBPF_UNINIT', insn: 0 });
    expect(first(new ProgramBuilder().mov64(R0, R2).exit().build(), { initialized: [1, 2] })).toBeUndefined();
    // A helper call clobbers r1-r5 and sets r0.
    expect(first(new ProgramBuilder().call(5).mov64(R0, R1).exit().build(), { initialized: [1] })).toEqual({ code: 'E_EBPF_UNINIT', insn: 1 });
    expect(first(new ProgramBuilder().call(5).exit().build(), { initialized: [1] })).toBeUndefined();
    // Without the option no dataflow check runs.
    expect(first(new ProgramBuilder().exit().build())).toBeUndefined();
  });
});
