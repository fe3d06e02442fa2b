/** Per-instruction scalar steps: what one ALU or conditional-jump instruction does to scalar registers, decoded from its encoding as the kernel's check_alu_op and check_cond_jmp_op do for scalar operands (Linux 6.18). */

import type { Insn } from '../insn.js';
import {
  type AluOp,
  type JmpOp,
  type Scalar,
  scalarAlu,
  scalarBranchTaken,
  scalarBswap,
  scalarConst,
  scalarConst32,
  scalarForkSignMask,
  scalarIsConst,
  scalarMovsx,
  scalarRefine,
  scalarZext32,
} from './scalar.js';

const ALU_OPS: Record<number, AluOp | 'end'> = {
  0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh',
  0x80: 'neg', 0x90: 'mod', 0xa0: 'xor', 0xb0: 'mov', 0xc0: 'arsh', 0xd0: 'end',
};

const JMP_OPS: Record<number, JmpOp> = {
  0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset', 0x50: 'jne', 0x60: 'jsgt', 0x70: 'jsge', 0xa0: 'jlt', 0xb0: 'jle', 0xc0: 'jslt', 0xd0: 'jsle',
};

/** The result of a scalar ALU instruction. */
export interface ScalarAluStep {
  /** The destination register afterwards. */
  readonly dst: Scalar;
  /**
   * Set when the kernel splits the state (maybe_fork_scalars: `and`/`or` with a constant on a
   * register that is 0 or -1): the verifier must also explore this same instruction again
   * with the destination register replaced by `redo` (dst = 0), after the current path.
   */
  readonly redo?: Scalar;
}

/** The ALU operation of an ALU/ALU64 instruction, with the ISA v4 signed forms (`off` 1) and byte swaps. */
export function scalarAluOpOf(insn: Insn): AluOp | 'end' | 'movsx' | undefined {
  const op = ALU_OPS[insn.code & 0xf0];
  if (op === 'div' && insn.off === 1) return 'sdiv';
  if (op === 'mod' && insn.off === 1) return 'smod';
  if (op === 'mov' && insn.off !== 0 && insn.code & 0x08) return 'movsx';
  return op;
}

/**
 * One ALU or ALU64 instruction on scalar operands: `dst` is the destination register's
 * scalar, `src` the source register's (ignored for the immediate forms, which use `imm` as
 * the kernel does: sign-extended to 64 bits, zero-extended for a 32-bit `mov`). Shifts by an
 * unknown or out-of-range amount, div and mod give an unknown register, as in 6.18. The
 * instruction is assumed valid (check.ts and the core reject bad encodings and constant
 * division by zero first).
 */
export function scalarAluInsn(insn: Insn, dst: Scalar, src?: Scalar): ScalarAluStep {
  const is64 = (insn.code & 0x07) === 0x07;
  const x = (insn.code & 0x08) !== 0;
  const op = scalarAluOpOf(insn);
  if (op === undefined) throw new RangeError(`not an ALU instruction: 0x${insn.code.toString(16)}`);
  if (op === 'end') {
    // ALU64 END is bswap; in the ALU class the source bit selects be (to big-endian) over le.
    return { dst: scalarBswap(dst, insn.imm as 16 | 32 | 64, is64 ? 'always' : x) };
  }
  if (op === 'movsx') return { dst: scalarMovsx(src ?? dst, insn.off as 8 | 16 | 32, is64) };
  if (op === 'mov') {
    if (x) return { dst: is64 ? (src ?? dst) : scalarZext32(src ?? dst) };
    return { dst: is64 ? scalarConst(BigInt(insn.imm)) : scalarConst32(BigInt(insn.imm)) };
  }
  const s = op === 'neg' ? dst : x ? (src ?? dst) : scalarConst(BigInt(insn.imm));
  if ((op === 'and' || op === 'or') && scalarIsConst(s)) {
    const fork = scalarForkSignMask(dst);
    if (fork) return { dst: scalarAlu(op, fork.current, s, is64), redo: fork.pushed };
  }
  return { dst: scalarAlu(op, dst, s, is64) };
}

/** The result of a conditional jump on scalar operands. */
export interface ScalarCondStep {
  /** Known outcome (only one edge is followed, operands unchanged), or undefined when both edges are. */
  readonly taken: boolean | undefined;
  /** The operands on the jump edge, undefined when that edge is never followed. */
  readonly jump: { readonly dst: Scalar; readonly src: Scalar } | undefined;
  /** The operands on the fall-through edge, undefined when that edge is never followed. */
  readonly fall: { readonly dst: Scalar; readonly src: Scalar } | undefined;
}

/** The comparison of a JMP/JMP32 instruction, undefined for ja, call, exit. */
export function scalarJmpOpOf(insn: Insn): JmpOp | undefined {
  const cls = insn.code & 0x07;
  if (cls !== 0x05 && cls !== 0x06) return undefined;
  return JMP_OPS[insn.code & 0xf0];
}

/**
 * One conditional jump (JMP or JMP32) on scalar operands: `src` is the source register's
 * scalar for the X form (the immediate, sign-extended, for the K form). `sameReg`: the X form
 * compares a register with itself.
 */
export function scalarCondInsn(insn: Insn, dst: Scalar, src?: Scalar, sameReg = false): ScalarCondStep {
  const op = scalarJmpOpOf(insn);
  if (op === undefined) throw new RangeError(`not a conditional jump: 0x${insn.code.toString(16)}`);
  const is32 = (insn.code & 0x07) === 0x06;
  const x = (insn.code & 0x08) !== 0;
  const s = x ? (sameReg ? dst : (src ?? dst)) : scalarConst(BigInt(insn.imm));
  const same = x && sameReg;
  return {
    taken: scalarBranchTaken(op, dst, s, is32),
    jump: scalarRefine(op, dst, s, is32, true, same),
    fall: scalarRefine(op, dst, s, is32, false, same),
  };
}
