/** The instruction forms of RFC 9669 and the field rules each form imposes (what must be zero, what values are allowed). */

import type { Insn } from './insn.js';
import {
  ALU_BY_OP, ATOMIC_BY_IMM, BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_DIV, BPF_DW, BPF_END, BPF_EXIT,
  BPF_IND, BPF_JA, BPF_JCOND, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_LOAD_ACQ, BPF_MEM, BPF_MEMSX,
  BPF_MOD, BPF_MOV, BPF_NEG, BPF_ST, BPF_STORE_REL, BPF_STX, BPF_W, BPF_X, JMP_COND_BY_OP, LDDW, SIZE_BYTES, opClass, opMode,
  opOp, opSize, opSrc,
} from './opcodes.js';

/** The kind of an instruction, which decides how it prints and what its fields mean. */
export type FormKind =
  | 'alu' | 'neg' | 'end' | 'lddw' | 'ld_abs' | 'ld_ind' | 'ldx' | 'st' | 'stx' | 'atomic'
  | 'ja' | 'gotol' | 'jcond' | 'call' | 'callx' | 'exit' | 'may_goto';

/** A field rule broken by an instruction: which field, and why. */
export interface FieldProblem {
  field: 'dst' | 'src' | 'off' | 'imm' | 'next';
  message: string;
}

/** What an opcode is, and which of its fields break the rules of that form. */
export interface FormInfo {
  /** Undefined for an opcode RFC 9669 and Linux do not define. */
  kind: FormKind | undefined;
  problems: FieldProblem[];
  /** True when `dst` is read as a register (false for ja, call, exit...). */
  usesDst: boolean;
  /** True when `dst` is written (so r10 is not allowed). */
  writesDst: boolean;
  /** True when `src` is read as a register. */
  usesSrc: boolean;
}

// Kinds by opcode for the classes whose opcode alone decides the kind.
function kindOfCode(code: number): FormKind | undefined {
  const cls = opClass(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const op = opOp(code);
      if (!ALU_BY_OP.has(op)) return undefined;
      if (op === BPF_NEG) return opSrc(code) === 0 ? 'neg' : undefined;
      if (op === BPF_END) return cls === BPF_ALU || opSrc(code) === 0 ? 'end' : undefined;
      return 'alu';
    }
    case BPF_LD:
      if (code === LDDW) return 'lddw';
      if (opSize(code) === BPF_DW) return undefined;
      if (opMode(code) === BPF_ABS) return 'ld_abs';
      if (opMode(code) === BPF_IND) return 'ld_ind';
      return undefined;
    case BPF_LDX:
      if (opMode(code) === BPF_MEM) return 'ldx';
      if (opMode(code) === BPF_MEMSX && opSize(code) !== BPF_DW) return 'ldx';
      return undefined;
    case BPF_ST:
      return opMode(code) === BPF_MEM ? 'st' : undefined;
    case BPF_STX:
      if (opMode(code) === BPF_MEM) return 'stx';
      if (opMode(code) === BPF_ATOMIC) return 'atomic';
      return undefined;
    default: {
      // BPF_JMP / BPF_JMP32
      const op = opOp(code);
      const x = opSrc(code) !== 0;
      if (JMP_COND_BY_OP.has(op)) return 'jcond';
      if (op === BPF_JA && !x) return cls === BPF_JMP ? 'ja' : 'gotol';
      if (cls !== BPF_JMP) return undefined;
      if (op === BPF_CALL) return x ? 'callx' : 'call';
      if (op === BPF_EXIT && !x) return 'exit';
      if (op === BPF_JCOND && !x) return 'may_goto';
      return undefined;
    }
  }
}

/** The kind of each of the 256 opcodes, computed once (the verifier and the checks classify every instruction). */
const KIND_BY_CODE: readonly (FormKind | undefined)[] = Array.from({ length: 256 }, (_, c) => kindOfCode(c));

function kindOf(code: number): FormKind | undefined {
  return code === (code & 0xff) ? KIND_BY_CODE[code] : kindOfCode(code);
}

// The fields a form leaves unused, as bits (describeInsn runs on every instruction of every program verified).
const DST = 1, SRC = 2, OFF = 4, IMM = 8;

function zero(insn: Insn, fields: number, out: FieldProblem[]): void {
  if (fields & DST && insn.dst !== 0) out.push({ field: 'dst', message: 'unused field dst is not zero' });
  if (fields & SRC && insn.src !== 0) out.push({ field: 'src', message: 'unused field src is not zero' });
  if (fields & OFF && insn.off !== 0) out.push({ field: 'off', message: 'unused field off is not zero' });
  if (fields & IMM && insn.imm !== 0) out.push({ field: 'imm', message: 'unused field imm is not zero' });
}

/** Classifies an instruction and lists the field rules it breaks (registers' ranges are checked elsewhere). */
export function describeInsn(insn: Insn): FormInfo {
  const kind = kindOf(insn.code);
  const p: FieldProblem[] = [];
  const info: FormInfo = { kind, problems: p, usesDst: false, writesDst: false, usesSrc: false };
  if (kind === undefined) return info;
  const x = opSrc(insn.code) === BPF_X;
  const cls = opClass(insn.code);
  switch (kind) {
    case 'alu': {
      const op = opOp(insn.code);
      info.usesDst = info.writesDst = true;
      info.usesSrc = x;
      zero(insn, x ? IMM : SRC, p);
      const divmod = op === BPF_DIV || op === BPF_MOD;
      const sx = cls === BPF_ALU64 ? [8, 16, 32] : [8, 16];
      const okOff = insn.off === 0 || (divmod && insn.off === 1) || (op === BPF_MOV && x && sx.includes(insn.off));
      if (!okOff) p.push({ field: 'off', message: divmod || (op === BPF_MOV && x) ? `invalid offset ${insn.off}` : 'unused field off is not zero' });
      break;
    }
    case 'neg':
      info.usesDst = info.writesDst = true;
      zero(insn, SRC | OFF | IMM, p);
      break;
    case 'end':
      info.usesDst = info.writesDst = true;
      zero(insn, SRC | OFF, p);
      if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) p.push({ field: 'imm', message: `invalid byte swap width ${insn.imm}` });
      break;
    case 'lddw':
      info.usesDst = info.writesDst = true;
      zero(insn, OFF, p);
      if (insn.src > 6) p.push({ field: 'src', message: `invalid lddw source ${insn.src}` });
      if (insn.imm64 === undefined && insn.next === undefined) p.push({ field: 'next', message: 'lddw is missing its second slot' });
      else if (insn.next && (insn.next.code | insn.next.dst | insn.next.src | insn.next.off) !== 0) {
        p.push({ field: 'next', message: 'lddw second slot has non-zero fields' });
      }
      break;
    case 'ld_abs':
      zero(insn, DST | SRC | OFF, p);
      break;
    case 'ld_ind':
      info.usesSrc = true;
      zero(insn, DST | OFF, p);
      break;
    case 'ldx':
      info.usesDst = info.writesDst = info.usesSrc = true;
      zero(insn, IMM, p);
      break;
    case 'st':
      info.usesDst = true;
      zero(insn, SRC, p);
      break;
    case 'stx':
      info.usesDst = info.usesSrc = true;
      zero(insn, IMM, p);
      break;
    case 'atomic': {
      info.usesDst = info.usesSrc = true;
      // load_acquire writes dst (loading from src + off).
      info.writesDst = insn.imm === BPF_LOAD_ACQ;
      const a = ATOMIC_BY_IMM.get(insn.imm);
      const size = opSize(insn.code);
      if (!a) p.push({ field: 'imm', message: `invalid atomic operation ${insn.imm}` });
      else if (insn.imm !== BPF_LOAD_ACQ && insn.imm !== BPF_STORE_REL && size !== BPF_W && size !== BPF_DW) {
        p.push({ field: 'imm', message: 'atomic operation needs a 32 or 64-bit size' });
      }
      break;
    }
    case 'ja':
      zero(insn, DST | SRC | IMM, p);
      break;
    case 'gotol':
      zero(insn, DST | SRC | OFF, p);
      break;
    case 'jcond':
      info.usesDst = true;
      info.usesSrc = x;
      zero(insn, x ? IMM : SRC, p);
      break;
    case 'call':
      zero(insn, DST | OFF, p);
      if (insn.src > 2) p.push({ field: 'src', message: `invalid call source ${insn.src}` });
      break;
    case 'callx':
      info.usesDst = true;
      zero(insn, SRC | OFF | IMM, p);
      break;
    case 'exit':
      zero(insn, DST | SRC | OFF | IMM, p);
      break;
    case 'may_goto':
      zero(insn, DST | SRC | IMM, p);
      break;
  }
  return info;
}

/** True for the 32-bit-operand classes (ALU, JMP32). */
export function is32(code: number): boolean {
  return opClass(code) === BPF_ALU || opClass(code) === BPF_JMP32;
}

/** The slot delta of a jump-like instruction (off, or imm for gotol and local calls), else undefined. */
export function branchDelta(insn: Insn): number | undefined {
  const k = kindOf(insn.code);
  if (k === 'ja' || k === 'jcond' || k === 'may_goto') return insn.off;
  if (k === 'gotol') return insn.imm;
  if (k === 'call' && insn.src === 1) return insn.imm;
  return undefined;
}

/** The kind of an opcode, without checking fields. */
export function formKind(code: number): FormKind | undefined {
  return kindOf(code);
}

/** Memory width (1, 2, 4, 8) of a load/store opcode. */
export function memBytes(code: number): number {
  return SIZE_BYTES[opSize(code)];
}
