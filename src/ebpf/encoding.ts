/** eBPF binary encoding: 8-byte slots to `Insn` values and back (decoding is total), and slot/index mapping. */

import type { Insn } from './insn.js';
import { slots } from './insn.js';
import { LDDW } from './opcodes.js';
import { UsageError } from '../util/index.js';

/** Byte order of the encoded program (the register nibbles swap too, as in the kernel's big-endian layout). */
export interface EncodingOptions {
  bigEndian?: boolean;
}

/** Size of one instruction slot in bytes. */
export const SLOT_SIZE = 8;

interface RawSlot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

function readSlot(v: DataView, at: number, be: boolean): RawSlot {
  const regs = v.getUint8(at + 1);
  return {
    code: v.getUint8(at),
    // Big-endian kernels put dst in the high nibble (struct bpf_insn bitfield order).
    dst: be ? regs >> 4 : regs & 0x0f,
    src: be ? regs & 0x0f : regs >> 4,
    off: v.getInt16(at + 2, !be),
    imm: v.getInt32(at + 4, !be),
  };
}

function writeSlot(v: DataView, at: number, s: RawSlot, be: boolean): void {
  v.setUint8(at, s.code & 0xff);
  v.setUint8(at + 1, be ? ((s.dst & 0xf) << 4) | (s.src & 0xf) : ((s.src & 0xf) << 4) | (s.dst & 0xf));
  v.setInt16(at + 2, s.off << 16 >> 16, !be);
  v.setInt32(at + 4, s.imm | 0, !be);
}

/** The 64-bit immediate of an `lddw` from its two 32-bit halves. */
export function joinImm64(lo: number, hi: number): bigint {
  return BigInt.asUintN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/**
 * Decodes a program. Total: every 8 bytes give an instruction; an `lddw` whose second slot
 * is missing (at the end) is kept as a one-slot raw instruction without `imm64`, and a
 * trailing partial slot (length not a multiple of 8) is ignored.
 */
export function decodeProgram(bytes: Uint8Array, options: EncodingOptions = {}): Insn[] {
  const be = options.bigEndian ?? false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.floor(bytes.byteLength / SLOT_SIZE);
  const out: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const s = readSlot(v, i * SLOT_SIZE, be);
    const insn: Insn = { code: s.code, dst: s.dst, src: s.src, off: s.off, imm: s.imm };
    if (s.code === LDDW && i + 1 < n) {
      const t = readSlot(v, (i + 1) * SLOT_SIZE, be);
      insn.imm64 = joinImm64(s.imm, t.imm);
      insn.next = { code: t.code, dst: t.dst, src: t.src, off: t.off };
      i++;
    }
    out.push(insn);
  }
  return out;
}

/** Number of 8-byte slots a program occupies. */
export function programSlots(insns: readonly Insn[]): number {
  let n = 0;
  for (const i of insns) n += encodedSlots(i);
  return n;
}

// An `lddw` decoded from a truncated program has no imm64 and occupies one slot only.
function encodedSlots(i: Insn): 1 | 2 {
  return slots(i) === 2 && i.imm64 === undefined && i.next === undefined ? 1 : slots(i);
}

/**
 * Encodes instructions to bytes. An `lddw` writes its second slot from `imm64` (high half)
 * and `next` (normally zero). Throws a UsageError (`E_EBPF_ENCODE`, naming the instruction)
 * for a field that does not fit: registers 0..15, off 16 bits signed, imm 32 bits.
 */
export function encodeProgram(insns: readonly Insn[], options: EncodingOptions = {}): Uint8Array {
  const be = options.bigEndian ?? false;
  const out = new Uint8Array(programSlots(insns) * SLOT_SIZE);
  const v = new DataView(out.buffer);
  let at = 0;
  insns.forEach((insn, index) => {
    for (const [k, lim] of [['dst', 15], ['src', 15]] as const) {
      if (!Number.isInteger(insn[k]) || insn[k] < 0 || insn[k] > lim) {
        throw new UsageError('E_EBPF_ENCODE', `${k} register ${insn[k]} out of range`, { position: { insn: index } });
      }
    }
    if (!Number.isInteger(insn.off) || insn.off < -32768 || insn.off > 32767) {
      throw new UsageError('E_EBPF_ENCODE', `offset ${insn.off} does not fit 16 bits`, { position: { insn: index } });
    }
    if (!Number.isInteger(insn.imm) || insn.imm < -(2 ** 31) || insn.imm > 2 ** 32 - 1) {
      throw new UsageError('E_EBPF_ENCODE', `immediate ${insn.imm} does not fit 32 bits`, { position: { insn: index } });
    }
    if (encodedSlots(insn) === 2) {
      const imm64 = insn.imm64 ?? BigInt(insn.imm >>> 0);
      const lo = Number(BigInt.asIntN(32, imm64));
      writeSlot(v, at, { ...insn, imm: lo }, be);
      const nx = insn.next ?? { code: 0, dst: 0, src: 0, off: 0 };
      writeSlot(v, at + SLOT_SIZE, { ...nx, imm: Number(BigInt.asIntN(32, imm64 >> 32n)) }, be);
      at += 2 * SLOT_SIZE;
    } else {
      writeSlot(v, at, insn, be);
      at += SLOT_SIZE;
    }
  });
  return out;
}

/** The slot number at which each instruction starts; one extra entry at the end gives the total. */
export function slotOffsets(insns: readonly Insn[]): number[] {
  const out = new Array<number>(insns.length + 1);
  let s = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = s;
    s += encodedSlots(insns[i]);
  }
  out[insns.length] = s;
  return out;
}

/**
 * A slot→instruction-index map: `slotToIndex(insns)[slot]` is the index of the instruction
 * starting at that slot, or -1 for the second slot of an `lddw`. Its length is slots + 1, the
 * last entry (one past the end) mapping to `insns.length`.
 */
export function slotToIndex(insns: readonly Insn[]): Int32Array {
  const offs = slotOffsets(insns);
  const out = new Int32Array(offs[insns.length] + 1).fill(-1);
  for (let i = 0; i <= insns.length; i++) out[offs[i]] = i;
  return out;
}

/**
 * The instruction index a jump at `index` lands on, or undefined when the target is outside
 * the program or inside an `lddw`. `delta` is the slot offset (off, or imm for gotol/calls).
 */
export function jumpTargetIndex(insns: readonly Insn[], index: number, delta: number, map?: { offs: number[]; byslot: Int32Array }): number | undefined {
  const offs = map?.offs ?? slotOffsets(insns);
  const byslot = map?.byslot ?? slotToIndex(insns);
  const target = offs[index] + encodedSlots(insns[index]) + delta;
  if (target < 0 || target >= byslot.length) return undefined;
  const t = byslot[target];
  return t < 0 || t >= insns.length ? undefined : t;
}
