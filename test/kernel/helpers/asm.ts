/** Tiny eBPF instruction builders for the kernel tests (the ISA area owns the real assembler). */

import type { Insn } from '../../../src/ebpf/index.js';

export const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm: imm | 0 });

/** r_dst = imm (64-bit mov). */
export const movImm = (dst: number, imm: number): Insn => ins(0xb7, dst, 0, 0, imm);
/** r_dst = r_src (64-bit mov). */
export const movReg = (dst: number, src: number): Insn => ins(0xbf, dst, src);
export const exit = (): Insn => ins(0x95);
/** call helper `id`. */
export const call = (id: number): Insn => ins(0x85, 0, 0, 0, id);
/** r_dst = 64-bit immediate. */
export const lddw = (dst: number, v: bigint): Insn => ({ code: 0x18, dst, src: 0, off: 0, imm: Number(BigInt.asIntN(32, v)), imm64: BigInt.asUintN(64, v) });
/** r_dst = the map named `ref` (pseudo map fd, bound at load). */
export const ldMap = (dst: number, ref: string): Insn => ({ code: 0x18, dst, src: 1, off: 0, imm: 0, imm64: 0n, ref });
/** *(size *)(r_dst + off) = r_src; size code 0x00 W, 0x08 H, 0x10 B, 0x18 DW. */
export const stx = (size: number, dst: number, src: number, off: number): Insn => ins(0x63 | size, dst, src, off);
/** *(size *)(r_dst + off) = imm. */
export const st = (size: number, dst: number, off: number, imm: number): Insn => ins(0x62 | size, dst, 0, off, imm);
/** r_dst = *(size *)(r_src + off). */
export const ldx = (size: number, dst: number, src: number, off: number): Insn => ins(0x61 | size, dst, src, off);
/** A conditional or unconditional jump (code is the full opcode). */
export const jmp = (code: number, dst: number, src: number, off: number, imm = 0): Insn => ins(code, dst, src, off, imm);

export const W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
