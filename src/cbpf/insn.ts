/** The classic BPF instruction: a plain value mirroring the kernel's `struct sock_filter`. */

/**
 * One classic BPF instruction. `code` is the 16-bit opcode, `jt`/`jf` the 8-bit
 * relative jump offsets, `k` the 32-bit operand stored as an unsigned number
 * (0..0xffffffff). Any four values form an instruction, so decoding never fails;
 * validity is the validator's question.
 */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** A classic BPF program is a sequence of instructions. */
export type Program = readonly Insn[];

/** Builds an instruction, normalising `k` to unsigned 32 bits. */
export function insn(code: number, k = 0, jt = 0, jf = 0): Insn {
  return { code: code & 0xffff, jt: jt & 0xff, jf: jf & 0xff, k: k >>> 0 };
}

/** Shorthand for a statement (no jump offsets), named as in libpcap's BPF_STMT. */
export function stmt(code: number, k = 0): Insn {
  return insn(code, k);
}

/** Shorthand for a conditional jump, named as in libpcap's BPF_JUMP. */
export function jump(code: number, k: number, jt: number, jf: number): Insn {
  return insn(code, k, jt, jf);
}
