/** The eBPF instruction (RFC 9669): a plain value; `lddw` is one instruction two slots wide. */

/**
 * One eBPF instruction. Any field values form an instruction, so decoding is total.
 * `code` is the 8-bit opcode, `dst`/`src` register numbers (0..15 as encoded), `off` a
 * signed 16-bit offset, `imm` a signed 32-bit immediate. The wide `lddw` (code 0x18)
 * also carries `imm64`, the full 64-bit value (its low 32 bits equal `imm`), and
 * occupies two 8-byte slots; jump offsets count slots.
 */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** Only on `lddw`: the 64-bit immediate assembled from both slots. */
  imm64?: bigint;
  /** Only on `lddw`: the raw second slot's code/dst/src/off, kept so that re-encoding is exact (normally all zero). */
  next?: { code: number; dst: number; src: number; off: number };
  /** A symbolic reference resolved at load time: the name of a map (lddw pseudo forms) or a label. */
  ref?: string;
}

/** The width of an instruction in 8-byte slots. */
export function slots(i: Insn): 1 | 2 {
  return i.code === 0x18 ? 2 : 1;
}
