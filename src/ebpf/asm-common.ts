/** What both eBPF assembly syntaxes share: numbers, raw `.8byte` slots, labels counted in slots, and typed errors with line and column. */

import type { Insn } from './insn.js';
import { ParseError } from '../util/index.js';
import { joinImm64 } from './encoding.js';
import { LDDW } from './opcodes.js';

/** Throws the assembler's ParseError at a 1-based line and column. */
export function asmError(message: string, line: number, column: number, code = 'E_EBPF_ASM'): never {
  throw new ParseError(code, message, { position: { line, column } });
}

/** A parsed number as a bigint, or undefined when the text is not `[-+]dec` or `[-+]0xhex`. */
export function parseNumber(text: string): bigint | undefined {
  const m = /^([-+]?)(0x[0-9a-f]+|\d+)$/i.exec(text.trim());
  if (!m) return undefined;
  const v = BigInt(m[2]);
  return m[1] === '-' ? -v : v;
}

/** Range kinds an immediate can be checked against. */
export type NumberRange = 'imm32' | 'off16' | 'imm64';

/**
 * Converts a number to a field value: imm32 takes -2^31..2^32-1 (hex above 2^31 is a bit
 * pattern), off16 takes -2^15..2^15-1, imm64 any 64-bit pattern. Throws at `column` otherwise.
 */
export function fieldValue(text: string, range: NumberRange, line: number, column: number): bigint {
  const v = parseNumber(text);
  if (v === undefined) asmError(`invalid number "${text}"`, line, column);
  const lim: Record<NumberRange, [bigint, bigint]> = {
    imm32: [-(1n << 31n), (1n << 32n) - 1n],
    off16: [-(1n << 15n), (1n << 15n) - 1n],
    imm64: [-(1n << 63n), (1n << 64n) - 1n],
  };
  const [lo, hi] = lim[range];
  // Decimal 32-bit immediates must fit int32; hex may use the full unsigned pattern.
  const hiEff = range === 'imm32' && !/0x/i.test(text) ? (1n << 31n) - 1n : hi;
  if (v < lo || v > hiEff) asmError(`number ${text} out of range`, line, column, 'E_EBPF_ASM_RANGE');
  return v;
}

/** A 32-bit field value as the signed number `Insn.imm` holds. */
export function toImm32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** The little-endian 64-bit word of one slot (as the conformance `-- raw` section writes it). */
export function slotWord(s: { code: number; dst: number; src: number; off: number; imm: number }): bigint {
  return (
    BigInt(s.code & 0xff) |
    (BigInt(((s.src & 0xf) << 4) | (s.dst & 0xf)) << 8n) |
    (BigInt(s.off & 0xffff) << 16n) |
    (BigInt(s.imm >>> 0) << 32n)
  );
}

/** The slot fields of a little-endian 64-bit word. */
export function wordSlot(w: bigint): { code: number; dst: number; src: number; off: number; imm: number } {
  const u = BigInt.asUintN(64, w);
  return {
    code: Number(u & 0xffn),
    dst: Number((u >> 8n) & 0xfn),
    src: Number((u >> 12n) & 0xfn),
    off: Number(BigInt.asIntN(16, (u >> 16n) & 0xffffn)),
    imm: Number(BigInt.asIntN(32, u >> 32n)),
  };
}

/** `.8byte 0x…` lines for an instruction no syntax form can express exactly. */
export function rawLines(insn: Insn): string[] {
  const hex = (w: bigint): string => `.8byte 0x${w.toString(16).padStart(16, '0')}`;
  const out = [hex(slotWord(insn))];
  if (insn.code === LDDW && (insn.imm64 !== undefined || insn.next)) {
    const nx = insn.next ?? { code: 0, dst: 0, src: 0, off: 0 };
    out.push(hex(slotWord({ ...nx, imm: Number(BigInt.asIntN(32, (insn.imm64 ?? 0n) >> 32n)) })));
  }
  return out;
}

/** One statement the assembler parsed, before labels are resolved. */
export interface AsmItem {
  insn: Insn;
  line: number;
  column: number;
  /** A label the instruction jumps to; resolved into `off` or `imm` as a slot delta. */
  target?: { name: string; field: 'off' | 'imm'; column: number };
  /** A raw slot from `.8byte` (joined with the next one when it is an lddw). */
  raw?: boolean;
}

/** Collects statements and labels, then resolves label references into slot deltas. */
export class AsmProgram {
  readonly items: AsmItem[] = [];
  private readonly labels = new Map<string, number>();
  private pendingRawLddw: AsmItem | undefined;
  private slot = 0;

  /** Defines a label at the current slot. */
  label(name: string, line: number, column: number): void {
    if (this.labels.has(name)) asmError(`duplicate label "${name}"`, line, column);
    this.labels.set(name, this.slot);
  }

  /** True when a label of that name exists. */
  hasLabel(name: string): boolean {
    return this.labels.has(name);
  }

  /** Adds one statement. */
  add(item: AsmItem): void {
    this.items.push(item);
    this.slot += item.insn.code === LDDW ? 2 : 1;
  }

  /** Adds a raw `.8byte` slot; an lddw word takes the next raw word as its second slot. */
  addRaw(word: bigint, line: number, column: number): void {
    const s = wordSlot(word);
    if (this.pendingRawLddw) {
      const first = this.pendingRawLddw.insn;
      first.imm64 = joinImm64(first.imm, s.imm);
      first.next = { code: s.code, dst: s.dst, src: s.src, off: s.off };
      this.pendingRawLddw = undefined;
      this.slot++;
      return;
    }
    const item: AsmItem = { insn: { ...s }, line, column, raw: true };
    this.items.push(item);
    this.slot++;
    if (s.code === LDDW) this.pendingRawLddw = item;
  }

  /** Ends raw-lddw pairing: a non-raw statement after a raw lddw word leaves it one slot wide. */
  breakRaw(): void {
    this.pendingRawLddw = undefined;
  }

  /** The current slot number. */
  get slots(): number {
    return this.slot;
  }

  /** Resolves labels; `implicit` supplies labels the syntax defines by itself (conformance `exit`). */
  finish(implicit?: (name: string) => number | undefined): Insn[] {
    const starts: number[] = [];
    let s = 0;
    for (const it of this.items) {
      starts.push(s);
      s += it.insn.code === LDDW && !(it.raw && it.insn.imm64 === undefined) ? 2 : 1;
    }
    this.items.forEach((it, i) => {
      if (!it.target) return;
      const at = this.labels.get(it.target.name) ?? implicit?.(it.target.name);
      if (at === undefined) asmError(`unknown label "${it.target.name}"`, it.line, it.target.column, 'E_EBPF_ASM_LABEL');
      const width = it.insn.code === LDDW ? 2 : 1;
      const delta = at - (starts[i] + width);
      if (it.target.field === 'off') {
        if (delta < -32768 || delta > 32767) asmError(`label "${it.target.name}" too far for a 16-bit offset`, it.line, it.target.column, 'E_EBPF_ASM_RANGE');
        it.insn.off = delta;
      } else {
        it.insn.imm = delta;
        if (it.insn.code === LDDW) it.insn.imm64 = BigInt.asUintN(64, BigInt(delta));
      }
    });
    return this.items.map((it) => it.insn);
  }
}

/** Strips a `#` or `;` or `//` comment and trailing whitespace, keeping columns. */
export function stripComment(line: string): string {
  // `#` right after a word is part of `bpf_map_lookup_elem#1` (bpftool style), not a comment.
  const m = /(^|\s)(#|;|\/\/)/.exec(line);
  return (m ? line.slice(0, m.index + m[1].length) : line).replace(/\s+$/, '');
}
