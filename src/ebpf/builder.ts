/** A builder for eBPF programs in TypeScript: one method per instruction form, jumps to labels resolved at `build()`. */

import type { Insn } from './insn.js';
import { UsageError } from '../util/index.js';
import {
  ALU_OPS, BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_B, BPF_CALL, BPF_CMPXCHG, BPF_DW, BPF_END, BPF_EXIT, BPF_FETCH,
  BPF_H, BPF_IND, BPF_JA, BPF_JCOND, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_LOAD_ACQ, BPF_MEM, BPF_MEMSX,
  BPF_NEG, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_ST, BPF_STORE_REL,
  BPF_STX, BPF_TO_BE, BPF_W, BPF_X, BPF_XCHG, JMP_COND_OPS, LDDW, helperId,
} from './opcodes.js';

/** A register operand. Registers are objects so that `mov64(R0, 1)` (immediate) and `mov64(R0, R1)` differ. */
export interface Reg {
  readonly reg: number;
}
/** The register `rN` (0..10; 11..15 only for tests of rejection). */
export function reg(n: number): Reg {
  return Object.freeze({ reg: n });
}
export const R0 = reg(0), R1 = reg(1), R2 = reg(2), R3 = reg(3), R4 = reg(4), R5 = reg(5);
export const R6 = reg(6), R7 = reg(7), R8 = reg(8), R9 = reg(9), R10 = reg(10);

/** A register or a 32-bit immediate. */
export type Operand = Reg | number;
/** A jump target: a label name, or a raw slot offset. */
export type Target = string | { slots: number };
/** Memory widths in bits. */
export type Width = 8 | 16 | 32 | 64;
/** Atomic read-modify-write operations. */
export type AtomicOpName = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg';

const SIZE: Record<Width, number> = { 8: BPF_B, 16: BPF_H, 32: BPF_W, 64: BPF_DW };
const ALU = new Map(ALU_OPS.map((o) => [o.name, o.op]));
const JMP = new Map(JMP_COND_OPS.map((o) => [o.name, o.op]));
const ATOMIC: Record<AtomicOpName, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0, xchg: BPF_XCHG, cmpxchg: BPF_CMPXCHG };

type AluName = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'xor' | 'mov' | 'arsh';
type JmpName = 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle';

/** A 32-bit immediate as encoded: integers from -2^31 to 2^32-1 (above 2^31 taken as the bit pattern). */
function imm32(v: number, at: number): number {
  if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 32 - 1) {
    throw new UsageError('E_EBPF_BUILD_IMM', `immediate ${v} does not fit 32 bits`, { position: { insn: at } });
  }
  return v | 0;
}

interface Item {
  insn: Insn;
  target?: { label: string; field: 'off' | 'imm' };
}

/**
 * Builds a program. Example:
 * ```ts
 * const insns = new ProgramBuilder().mov64(R0, 0).ldxw(R1, R1, 4).jeq(R1, 2, 'out').mov64(R0, 1).label('out').exit().build();
 * ```
 * Methods ending in `64` use the ALU64/JMP class, `32` the ALU/JMP32 class; jumps without a
 * suffix are 64-bit. Labels count slots, so `lddw` is accounted for.
 */
export class ProgramBuilder {
  private readonly items: Item[] = [];
  private readonly labels = new Map<string, number>();
  private slot = 0;

  /** Appends an instruction value as is (decoded, raw, or hand-made). */
  raw(insn: Insn): this {
    this.items.push({ insn: { ...insn } });
    this.slot += insn.code === LDDW ? 2 : 1;
    return this;
  }

  /** Defines a label at the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new UsageError('E_EBPF_BUILD_LABEL', `duplicate label "${name}"`, { position: { insn: this.items.length } });
    this.labels.set(name, this.slot);
    return this;
  }

  private push(insn: Insn, target?: Target, field: 'off' | 'imm' = 'off'): this {
    const item: Item = { insn };
    if (typeof target === 'string') item.target = { label: target, field };
    else if (target) insn[field] = target.slots;
    this.items.push(item);
    this.slot += insn.code === LDDW ? 2 : 1;
    return this;
  }

  private alu(cls: number, name: AluName, dst: Reg, src: Operand, off = 0): this {
    const op = ALU.get(name)!;
    if (typeof src === 'number') return this.push({ code: cls | op, dst: dst.reg, src: 0, off, imm: imm32(src, this.items.length) });
    return this.push({ code: cls | op | BPF_X, dst: dst.reg, src: src.reg, off, imm: 0 });
  }

  add64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'add', dst, src); }
  sub64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'sub', dst, src); }
  mul64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'mul', dst, src); }
  div64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'div', dst, src); }
  sdiv64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'div', dst, src, 1); }
  mod64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'mod', dst, src); }
  smod64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'mod', dst, src, 1); }
  or64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'or', dst, src); }
  and64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'and', dst, src); }
  xor64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'xor', dst, src); }
  lsh64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'lsh', dst, src); }
  rsh64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'rsh', dst, src); }
  arsh64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'arsh', dst, src); }
  mov64(dst: Reg, src: Operand): this { return this.alu(BPF_ALU64, 'mov', dst, src); }
  add32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'add', dst, src); }
  sub32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'sub', dst, src); }
  mul32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'mul', dst, src); }
  div32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'div', dst, src); }
  sdiv32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'div', dst, src, 1); }
  mod32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'mod', dst, src); }
  smod32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'mod', dst, src, 1); }
  or32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'or', dst, src); }
  and32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'and', dst, src); }
  xor32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'xor', dst, src); }
  lsh32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'lsh', dst, src); }
  rsh32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'rsh', dst, src); }
  arsh32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'arsh', dst, src); }
  mov32(dst: Reg, src: Operand): this { return this.alu(BPF_ALU, 'mov', dst, src); }

  /** `dst = (sN)src` in 64 bits (N = 8, 16, 32). */
  movsx64(dst: Reg, src: Reg, bits: 8 | 16 | 32): this { return this.alu(BPF_ALU64, 'mov', dst, src, bits); }
  /** `wdst = (sN)wsrc` (N = 8, 16). */
  movsx32(dst: Reg, src: Reg, bits: 8 | 16): this { return this.alu(BPF_ALU, 'mov', dst, src, bits); }
  neg64(dst: Reg): this { return this.push({ code: BPF_ALU64 | BPF_NEG, dst: dst.reg, src: 0, off: 0, imm: 0 }); }
  neg32(dst: Reg): this { return this.push({ code: BPF_ALU | BPF_NEG, dst: dst.reg, src: 0, off: 0, imm: 0 }); }
  /** Converts to big endian (truncating to `bits`). */
  be(dst: Reg, bits: 16 | 32 | 64): this { return this.push({ code: BPF_ALU | BPF_END | BPF_TO_BE, dst: dst.reg, src: 0, off: 0, imm: bits }); }
  /** Converts to little endian (truncating to `bits`). */
  le(dst: Reg, bits: 16 | 32 | 64): this { return this.push({ code: BPF_ALU | BPF_END, dst: dst.reg, src: 0, off: 0, imm: bits }); }
  /** Unconditional byte swap (ALU64 END). */
  bswap(dst: Reg, bits: 16 | 32 | 64): this { return this.push({ code: BPF_ALU64 | BPF_END, dst: dst.reg, src: 0, off: 0, imm: bits }); }

  /** `dst = *(uN *)(src + off)`. */
  ldx(bits: Width, dst: Reg, src: Reg, off = 0): this { return this.push({ code: BPF_LDX | BPF_MEM | SIZE[bits], dst: dst.reg, src: src.reg, off, imm: 0 }); }
  /** `dst = *(sN *)(src + off)` (sign-extending, N = 8, 16, 32). */
  ldxs(bits: 8 | 16 | 32, dst: Reg, src: Reg, off = 0): this { return this.push({ code: BPF_LDX | BPF_MEMSX | SIZE[bits], dst: dst.reg, src: src.reg, off, imm: 0 }); }
  ldxb(dst: Reg, src: Reg, off = 0): this { return this.ldx(8, dst, src, off); }
  ldxh(dst: Reg, src: Reg, off = 0): this { return this.ldx(16, dst, src, off); }
  ldxw(dst: Reg, src: Reg, off = 0): this { return this.ldx(32, dst, src, off); }
  ldxdw(dst: Reg, src: Reg, off = 0): this { return this.ldx(64, dst, src, off); }
  /** `*(uN *)(dst + off) = src` (register) or `= imm`. */
  st(bits: Width, dst: Reg, off: number, value: Operand): this {
    if (typeof value === 'number') return this.push({ code: BPF_ST | BPF_MEM | SIZE[bits], dst: dst.reg, src: 0, off, imm: imm32(value, this.items.length) });
    return this.push({ code: BPF_STX | BPF_MEM | SIZE[bits], dst: dst.reg, src: value.reg, off, imm: 0 });
  }
  stb(dst: Reg, off: number, value: Operand): this { return this.st(8, dst, off, value); }
  sth(dst: Reg, off: number, value: Operand): this { return this.st(16, dst, off, value); }
  stw(dst: Reg, off: number, value: Operand): this { return this.st(32, dst, off, value); }
  stdw(dst: Reg, off: number, value: Operand): this { return this.st(64, dst, off, value); }

  /** Atomic `op` on `*(uN *)(dst + off)` with `src` (N = 32 or 64); `fetch` returns the old value in src (cmpxchg: r0). */
  atomic(op: AtomicOpName, bits: 32 | 64, dst: Reg, off: number, src: Reg, fetch = false): this {
    const imm = ATOMIC[op] | (fetch ? BPF_FETCH : 0);
    return this.push({ code: BPF_STX | BPF_ATOMIC | SIZE[bits], dst: dst.reg, src: src.reg, off, imm });
  }
  /** `dst = load_acquire((uN *)(src + off))`. */
  loadAcquire(bits: Width, dst: Reg, src: Reg, off = 0): this {
    return this.push({ code: BPF_STX | BPF_ATOMIC | SIZE[bits], dst: dst.reg, src: src.reg, off, imm: BPF_LOAD_ACQ });
  }
  /** `store_release((uN *)(dst + off), src)`. */
  storeRelease(bits: Width, dst: Reg, off: number, src: Reg): this {
    return this.push({ code: BPF_STX | BPF_ATOMIC | SIZE[bits], dst: dst.reg, src: src.reg, off, imm: BPF_STORE_REL });
  }

  /** `dst = imm64` (two slots). */
  lddw(dst: Reg, value: bigint | number): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new UsageError('E_EBPF_BUILD_IMM', `immediate ${value} is not a safe integer (pass a bigint)`, { position: { insn: this.items.length } });
    }
    const v = BigInt.asUintN(64, BigInt(value));
    return this.push({ code: LDDW, dst: dst.reg, src: 0, off: 0, imm: Number(BigInt.asIntN(32, v)), imm64: v });
  }
  /** `dst = map[name]`: a map reference (BPF_PSEUDO_MAP_FD) bound by name at load. */
  ldMap(dst: Reg, name: string): this {
    return this.push({ code: LDDW, dst: dst.reg, src: BPF_PSEUDO_MAP_FD, off: 0, imm: 0, imm64: 0n, ref: name });
  }
  /** `dst = &subprogram` (BPF_PSEUDO_FUNC): a callback for bpf_loop / for_each_map_elem, its label resolved at build. */
  ldFunc(dst: Reg, to: Target): this {
    return this.push({ code: LDDW, dst: dst.reg, src: BPF_PSEUDO_FUNC, off: 0, imm: 0, imm64: 0n }, to, 'imm');
  }
  /** `dst = &map[name].value[offset]` (BPF_PSEUDO_MAP_VALUE), bound by name at load. */
  ldMapValue(dst: Reg, name: string, offset = 0): this {
    return this.push({ code: LDDW, dst: dst.reg, src: BPF_PSEUDO_MAP_VALUE, off: 0, imm: 0, imm64: BigInt(offset >>> 0) << 32n, ref: name });
  }
  /** Legacy packet load `r0 = *(uN *)skb[imm]` (N = 8, 16, 32). */
  ldAbs(bits: 8 | 16 | 32, imm: number): this { return this.push({ code: BPF_LD | BPF_ABS | SIZE[bits], dst: 0, src: 0, off: 0, imm }); }
  /** Legacy packet load `r0 = *(uN *)skb[src + imm]`. */
  ldInd(bits: 8 | 16 | 32, src: Reg, imm = 0): this { return this.push({ code: BPF_LD | BPF_IND | SIZE[bits], dst: 0, src: src.reg, off: 0, imm }); }

  private jcc(cls: number, name: JmpName, dst: Reg, src: Operand, to: Target): this {
    const op = JMP.get(name)!;
    if (typeof src === 'number') return this.push({ code: cls | op, dst: dst.reg, src: 0, off: 0, imm: imm32(src, this.items.length) }, to);
    return this.push({ code: cls | op | BPF_X, dst: dst.reg, src: src.reg, off: 0, imm: 0 }, to);
  }
  jeq(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jeq', dst, src, to); }
  jne(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jne', dst, src, to); }
  jgt(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jgt', dst, src, to); }
  jge(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jge', dst, src, to); }
  jlt(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jlt', dst, src, to); }
  jle(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jle', dst, src, to); }
  jsgt(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jsgt', dst, src, to); }
  jsge(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jsge', dst, src, to); }
  jslt(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jslt', dst, src, to); }
  jsle(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jsle', dst, src, to); }
  jset(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP, 'jset', dst, src, to); }
  jeq32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jeq', dst, src, to); }
  jne32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jne', dst, src, to); }
  jgt32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jgt', dst, src, to); }
  jge32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jge', dst, src, to); }
  jlt32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jlt', dst, src, to); }
  jle32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jle', dst, src, to); }
  jsgt32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jsgt', dst, src, to); }
  jsge32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jsge', dst, src, to); }
  jslt32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jslt', dst, src, to); }
  jsle32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jsle', dst, src, to); }
  jset32(dst: Reg, src: Operand, to: Target): this { return this.jcc(BPF_JMP32, 'jset', dst, src, to); }

  /** `goto` (16-bit offset). */
  ja(to: Target): this { return this.push({ code: BPF_JMP | BPF_JA, dst: 0, src: 0, off: 0, imm: 0 }, to); }
  /** `gotol` (JMP32 ja, 32-bit offset in imm). */
  gotol(to: Target): this { return this.push({ code: BPF_JMP32 | BPF_JA, dst: 0, src: 0, off: 0, imm: 0 }, to, 'imm'); }
  /** `may_goto` (BPF_JCOND). */
  mayGoto(to: Target): this { return this.push({ code: BPF_JMP | BPF_JCOND, dst: 0, src: 0, off: 0, imm: 0 }, to); }
  /** A helper call by id or name (`'map_lookup_elem'` or `'bpf_map_lookup_elem'`). */
  call(helper: number | string): this {
    const id = typeof helper === 'number' ? helper : helperId(helper);
    if (id === undefined) throw new UsageError('E_EBPF_BUILD_HELPER', `unknown helper "${String(helper)}"`, { position: { insn: this.items.length } });
    return this.push({ code: BPF_JMP | BPF_CALL, dst: 0, src: 0, off: 0, imm: id });
  }
  /** A bpf-to-bpf call to a label. */
  callLocal(to: Target): this { return this.push({ code: BPF_JMP | BPF_CALL, dst: 0, src: BPF_PSEUDO_CALL, off: 0, imm: 0 }, to, 'imm'); }
  /** A kfunc call by BTF id. */
  kfunc(btfId: number): this { return this.push({ code: BPF_JMP | BPF_CALL, dst: 0, src: BPF_PSEUDO_KFUNC_CALL, off: 0, imm: btfId }); }
  /** `callx reg` (the register goes in dst, as llvm encodes it). */
  callx(target: Reg): this { return this.push({ code: BPF_JMP | BPF_CALL | BPF_X, dst: target.reg, src: 0, off: 0, imm: 0 }); }
  exit(): this { return this.push({ code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0 }); }

  /** Resolves labels and returns fresh instruction values. Throws a UsageError for an unknown label or an offset that does not fit. */
  build(): Insn[] {
    let s = 0;
    return this.items.map((it, i) => {
      const insn = { ...it.insn };
      s += insn.code === LDDW ? 2 : 1;
      if (!it.target) return insn;
      const to = this.labels.get(it.target.label);
      if (to === undefined) throw new UsageError('E_EBPF_BUILD_LABEL', `unknown label "${it.target.label}"`, { position: { insn: i } });
      // Relative to the next slot, as a call is; a BPF_PSEUDO_FUNC lddw counts from its first slot + 1.
      const delta = to - (insn.code === LDDW ? s - 1 : s);
      if (it.target.field === 'off' && (delta < -32768 || delta > 32767)) {
        throw new UsageError('E_EBPF_BUILD_RANGE', `label "${it.target.label}" too far for a 16-bit offset`, { position: { insn: i } });
      }
      insn[it.target.field] = delta;
      if (insn.code === LDDW) insn.imm64 = BigInt(delta >>> 0);
      return insn;
    });
  }
}
