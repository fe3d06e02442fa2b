/** Validators for classic BPF: libpcap's bpf_validate, the Linux kernel's bpf_check_classic, and seccomp's extra rules. */

import { ValidationError } from '../util/index.js';
import type { Program } from './insn.js';
import {
  BPF_ABS,
  BPF_ALU,
  BPF_CLASS,
  BPF_DIV,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MOD,
  BPF_MODE,
  BPF_MSH,
  BPF_OP,
  BPF_RET,
  BPF_SRC,
  BPF_ST,
  BPF_STX,
  BPF_K,
  BPF_MISC,
  BPF_NEG,
  BPF_XOR,
  BPF_ADD,
  BPF_SUB,
  BPF_MUL,
  BPF_OR,
  BPF_AND,
  BPF_LSH,
  BPF_RSH,
  BPF_W,
} from './opcodes.js';
import { ancillaryOf, opcodeInfo } from './table.js';

/** Whose rules to check: libpcap's `bpf_validate`, Linux `SO_ATTACH_FILTER`, or Linux seccomp. */
export type ValidateMode = 'libpcap' | 'kernel' | 'seccomp';

/** Options of {@link validate}. */
export interface ValidateOptions {
  mode?: ValidateMode;
  /**
   * libpcap mode only: accept a backward `ja` written as a wrapping offset, as `bpf_validate`
   * does through a 32-bit overflow. Only libpcap's own `protochain` code needs it (its loop
   * advances through the packet, and the engines' step budget bounds it); default false, so a
   * hand-written wrap such as `5 0 0 4294967293` is rejected in every mode.
   */
  loops?: boolean;
}

/** Size of `struct seccomp_data` (nr, arch, instruction_pointer, args[6]). */
export const SECCOMP_DATA_SIZE = 64;

function fail(code: string, message: string, insn: number, hint?: string): never {
  throw new ValidationError(code, message, { position: { insn }, hint });
}

const LIBPCAP_ALU_OPS = new Set([BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH, BPF_NEG, BPF_DIV, BPF_MOD]);

/** libpcap's `bpf_validate` (pcap_validate_filter): lenient about encodings, strict about memory and jump bounds. */
function validateLibpcap(prog: Program, loops: boolean): void {
  const len = prog.length;
  if (len < 1) fail('E_CBPF_EMPTY', 'empty program', 0);
  for (let i = 0; i < len; i++) {
    const p = prog[i];
    const cls = BPF_CLASS(p.code);
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = BPF_MODE(p.code);
        if (mode === BPF_MEM) {
          if (p.k >= BPF_MEMWORDS) fail('E_CBPF_MEM_INDEX', `scratch memory index ${p.k} out of range (M[0]..M[15])`, i);
        } else if (mode !== BPF_IMM && mode !== BPF_ABS && mode !== BPF_IND && mode !== BPF_MSH && mode !== BPF_LEN) {
          fail('E_CBPF_OPCODE', `invalid load mode in opcode 0x${p.code.toString(16)}`, i);
        }
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (p.k >= BPF_MEMWORDS) fail('E_CBPF_MEM_INDEX', `scratch memory index ${p.k} out of range (M[0]..M[15])`, i);
        break;
      case BPF_ALU: {
        const op = BPF_OP(p.code);
        if (!LIBPCAP_ALU_OPS.has(op)) fail('E_CBPF_OPCODE', `invalid alu operation in opcode 0x${p.code.toString(16)}`, i);
        if ((op === BPF_DIV || op === BPF_MOD) && BPF_SRC(p.code) === BPF_K && p.k === 0) {
          fail('E_CBPF_DIV_ZERO', `${op === BPF_DIV ? 'division' : 'modulo'} by constant zero`, i);
        }
        break;
      }
      case BPF_JMP: {
        const from = i + 1;
        const op = BPF_OP(p.code);
        if (op === BPF_JA) {
          // libpcap adds in u_int, so a huge k wraps to a backward target; only `loops` allows that.
          const k = p.k >>> 0;
          if (from + k > 0xffffffff && !loops) fail('E_CBPF_BACKWARD_JUMP', `jump offset ${k} wraps around to instruction ${(from + k) >>> 0}`, i, 'classic BPF jumps forward only');
          if ((from + k) >>> 0 >= len) fail('E_CBPF_JUMP_RANGE', `jump target ${(from + k) >>> 0} past the end of the program`, i);
        } else if (op === BPF_JEQ || op === BPF_JGT || op === BPF_JGE || op === BPF_JSET) {
          if (from + p.jt >= len || from + p.jf >= len) fail('E_CBPF_JUMP_RANGE', `jump target ${from + Math.max(p.jt, p.jf)} past the end of the program`, i);
        } else {
          fail('E_CBPF_OPCODE', `invalid jump operation in opcode 0x${p.code.toString(16)}`, i);
        }
        break;
      }
      case BPF_RET:
      case BPF_MISC:
        break;
    }
  }
  if (BPF_CLASS(prog[len - 1].code) !== BPF_RET) fail('E_CBPF_NO_RET', 'program does not end with ret', len - 1);
}

/** The Linux kernel's `bpf_check_classic` plus `check_load_and_stores`. */
function validateKernel(prog: Program): void {
  const len = prog.length;
  if (len < 1) fail('E_CBPF_EMPTY', 'empty program', 0);
  if (len > BPF_MAXINSNS) fail('E_CBPF_TOO_LONG', `program has ${len} instructions, the kernel takes at most ${BPF_MAXINSNS}`, BPF_MAXINSNS);
  for (let pc = 0; pc < len; pc++) {
    const p = prog[pc];
    const info = opcodeInfo(p.code);
    if (!info || !info.kernel) fail('E_CBPF_OPCODE', `opcode 0x${p.code.toString(16)} is not allowed`, pc);
    switch (p.code) {
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_MOD | BPF_K:
        if (p.k === 0) fail('E_CBPF_DIV_ZERO', `${info.name === 'div' ? 'division' : 'modulo'} by constant zero`, pc);
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (p.k >= 32) fail('E_CBPF_SHIFT', `shift by ${p.k} (must be below 32)`, pc);
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (p.k >= BPF_MEMWORDS) fail('E_CBPF_MEM_INDEX', `scratch memory index ${p.k} out of range (M[0]..M[15])`, pc);
        break;
      case BPF_JMP | BPF_JA:
        if (pc + 1 + (p.k >>> 0) > 0xffffffff) fail('E_CBPF_BACKWARD_JUMP', `jump offset ${p.k >>> 0} wraps around to instruction ${(pc + 1 + p.k) >>> 0}`, pc, 'classic BPF jumps forward only');
        if (p.k >>> 0 >= len - pc - 1) fail('E_CBPF_JUMP_RANGE', `jump target ${pc + 1 + p.k} past the end of the program`, pc, 'the kernel allows forward jumps only');
        break;
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | 0x08 | BPF_ABS:
      case BPF_LD | 0x10 | BPF_ABS:
        if (p.k >= 0xfffff000 && !ancillaryOf(p.k)) fail('E_CBPF_ANCILLARY', `unknown ancillary load at SKF_AD_OFF+${p.k - 0xfffff000}`, pc);
        break;
      default:
        if (info.form === 'jk' || info.form === 'jx') {
          if (pc + p.jt + 1 >= len || pc + p.jf + 1 >= len) fail('E_CBPF_JUMP_RANGE', `jump target ${pc + 1 + Math.max(p.jt, p.jf)} past the end of the program`, pc);
        }
    }
  }
  const last = prog[len - 1].code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | 0x10)) fail('E_CBPF_NO_RET', 'program does not end with ret', len - 1);
  checkLoadAndStores(prog);
}

/** Scratch memory must be written on every path before it is read (the kernel's `check_load_and_stores`). */
function checkLoadAndStores(prog: Program): void {
  const masks = new Array<number>(prog.length).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    valid &= masks[pc];
    const p = prog[pc];
    const info = opcodeInfo(p.code);
    if (p.code === BPF_ST || p.code === BPF_STX) valid |= 1 << p.k;
    else if (p.code === (BPF_LD | BPF_MEM) || p.code === (BPF_LDX | BPF_MEM)) {
      if (!(valid & (1 << p.k))) fail('E_CBPF_MEM_UNINIT', `M[${p.k}] is read before it is written`, pc);
    } else if (info?.form === 'ja') {
      masks[pc + 1 + p.k] &= valid;
      valid = 0xffff;
    } else if (info?.form === 'jk' || info?.form === 'jx') {
      masks[pc + 1 + p.jt] &= valid;
      masks[pc + 1 + p.jf] &= valid;
      valid = 0xffff;
    }
  }
}

/** seccomp's `seccomp_check_filter`, run after the kernel's checks. */
function validateSeccomp(prog: Program): void {
  validateKernel(prog);
  prog.forEach((p, pc) => {
    if (p.code === (BPF_LD | BPF_W | BPF_ABS)) {
      if (p.k >= SECCOMP_DATA_SIZE || (p.k & 3) !== 0) {
        fail('E_CBPF_SECCOMP_LOAD', `load at offset ${p.k | 0} is not an aligned word inside struct seccomp_data`, pc, 'seccomp programs read 32-bit words at offsets 0, 4, ... 60');
      }
    } else if (!opcodeInfo(p.code)?.seccomp) {
      fail('E_CBPF_SECCOMP_OPCODE', `${opcodeInfo(p.code)?.name ?? 'opcode'} (0x${p.code.toString(16)}) is not allowed in seccomp filters`, pc);
    }
  });
}

/** Fields a `sock_filter` can hold: hand-built instructions (or JSON) may carry anything. */
function checkFields(prog: Program): void {
  prog.forEach((p, i) => {
    if (!Number.isInteger(p.code) || p.code < 0 || p.code > 0xffff) fail('E_CBPF_FIELD', `opcode ${String(p.code)} is not a 16-bit value`, i);
    if (!Number.isInteger(p.jt) || p.jt < 0 || p.jt > 0xff) fail('E_CBPF_FIELD', `jt ${String(p.jt)} is not an 8-bit value`, i);
    if (!Number.isInteger(p.jf) || p.jf < 0 || p.jf > 0xff) fail('E_CBPF_FIELD', `jf ${String(p.jf)} is not an 8-bit value`, i);
    if (!Number.isInteger(p.k) || p.k < -0x80000000 || p.k > 0xffffffff) fail('E_CBPF_FIELD', `k ${String(p.k)} is not a 32-bit value`, i);
  });
}

const VALIDATORS: Record<ValidateMode, (prog: Program, options: ValidateOptions) => void> = {
  libpcap: (prog, o) => validateLibpcap(prog, o.loops === true),
  kernel: validateKernel,
  seccomp: validateSeccomp,
};

/**
 * Checks a program against libpcap's, the kernel's or seccomp's rules and throws a
 * {@link ValidationError} naming the first offending instruction (`position.insn`).
 *
 * @example validate(parseProgram('ret #0'), { mode: 'kernel' })
 */
export function validate(prog: Program, options: ValidateOptions = {}): void {
  checkFields(prog);
  VALIDATORS[options.mode ?? 'libpcap'](prog, options);
}

/** The same check as {@link validate}, returning the error instead of throwing it. */
export function validationError(prog: Program, options: ValidateOptions = {}): ValidationError | undefined {
  try {
    validate(prog, options);
    return undefined;
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
}
