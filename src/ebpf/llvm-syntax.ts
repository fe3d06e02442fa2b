/** The kernel/llvm eBPF assembly syntax (`r0 = *(u32 *)(r1 + 0x4)`, `if w1 s< w2 goto -0x2`): disassembler and assembler that round-trip. */

import type { Insn } from './insn.js';
import { describeInsn, is32 } from './forms.js';
import {
  ALU_BY_OP, ALU_OPS, ATOMIC_BY_IMM, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_B, BPF_DW, BPF_END, BPF_FETCH, BPF_H, BPF_JMP,
  BPF_JMP32, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOV, BPF_NEG, BPF_ST, BPF_STX, BPF_TO_BE, BPF_W, BPF_X,
  BPF_ABS, BPF_IND, BPF_CMPXCHG, BPF_XCHG, BPF_LOAD_ACQ, BPF_STORE_REL,
  JMP_COND_OPS, JMP_COND_BY_OP, LDDW, SIZE_NAMES, helperId, helperName, opClass, opMode, opOp, opSize,
} from './opcodes.js';
import { AsmProgram, asmError, fieldValue, rawLines, stripComment, toImm32, parseNumber } from './asm-common.js';
import { slotOffsets, slotToIndex } from './encoding.js';

/** How the llvm-syntax disassembler prints. The defaults print exactly as `llvm-objdump-19 -d`. */
export interface LlvmFormatOptions {
  /** Print helper calls by name (`call bpf_map_lookup_elem`) instead of `call 0x1`. */
  helperNames?: boolean;
  /** Print numbers in decimal instead of llvm-objdump's hex. */
  decimal?: boolean;
  /** Print jump targets as labels (`goto LBB5`, with `LBB5:` lines) instead of slot offsets. */
  labels?: boolean;
}

const SIZE_BY_NAME: Record<string, number> = { '8': BPF_B, '16': BPF_H, '32': BPF_W, '64': BPF_DW };
const ATOMIC_SYM: Record<number, string> = { 0x00: '+=', 0x40: '|=', 0x50: '&=', 0xa0: '^=' };
const ATOMIC_FETCH_NAME: Record<number, string> = { 0x00: 'add', 0x40: 'or', 0x50: 'and', 0xa0: 'xor' };

function num(v: number | bigint, o: LlvmFormatOptions): string {
  const b = BigInt(v);
  if (o.decimal) return b.toString();
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}
function signedOff(v: number, o: LlvmFormatOptions): string {
  return v < 0 ? `-${num(-v, o)}` : `+${num(v, o)}`;
}
function memRef(reg: number, off: number, o: LlvmFormatOptions): string {
  return off < 0 ? `(r${reg} - ${num(-off, o)})` : `(r${reg} + ${num(off, o)})`;
}

/**
 * One instruction in llvm syntax (two `.8byte` lines for an lddw no form can express).
 * `target` replaces a jump's numeric offset with a label name when given.
 */
export function formatInsnLlvm(insn: Insn, options: LlvmFormatOptions = {}, target?: string): string[] {
  const o = options;
  const info = describeInsn(insn);
  if (info.kind === undefined || info.problems.length > 0) return rawLines(insn);
  const cls = opClass(insn.code);
  const w = is32(insn.code) ? 'w' : 'r';
  const d = `${w}${insn.dst}`;
  const s = `${w}${insn.src}`;
  const jt = (delta: number): string => target ?? signedOff(delta, o);
  const sz = SIZE_NAMES[opSize(insn.code)];
  switch (info.kind) {
    case 'alu': {
      const op = ALU_BY_OP.get(opOp(insn.code))!;
      const x = (insn.code & BPF_X) !== 0;
      if (op.op === BPF_MOV && x && insn.off !== 0) return [`${d} = (s${insn.off})${s}`];
      const sym = insn.off === 1 ? `s${op.sym}` : op.sym;
      return [`${d} ${sym} ${x ? s : num(insn.imm, o)}`];
    }
    case 'neg':
      return [`${d} = -${d}`];
    case 'end': {
      const name = cls === BPF_ALU64 ? 'bswap' : (insn.code & BPF_TO_BE) !== 0 ? 'be' : 'le';
      return [`r${insn.dst} = ${name}${insn.imm} r${insn.dst}`];
    }
    case 'lddw':
      return formatLddw(insn, o);
    case 'ld_abs':
      return [`r0 = *(${sz.u} *)skb[${num(insn.imm, o)}]`];
    case 'ld_ind':
      return [insn.imm === 0 ? `r0 = *(${sz.u} *)skb[r${insn.src}]` : `r0 = *(${sz.u} *)skb[r${insn.src} + ${num(insn.imm, o)}]`];
    case 'ldx':
      return [`r${insn.dst} = *(${opMode(insn.code) === BPF_MEMSX ? sz.s : sz.u} *)${memRef(insn.src, insn.off, o)}`];
    case 'st':
      return [`*(${sz.u} *)${memRef(insn.dst, insn.off, o)} = ${num(insn.imm, o)}`];
    case 'stx':
      return [`*(${sz.u} *)${memRef(insn.dst, insn.off, o)} = r${insn.src}`];
    case 'atomic': {
      const aw = opSize(insn.code) === BPF_DW ? 'r' : 'w';
      const m = memRef(insn.dst, insn.off, o);
      const bare = m.slice(1, -1);
      const a = ATOMIC_BY_IMM.get(insn.imm)!;
      // load_acquire reads (src + off) into dst; every other atomic addresses (dst + off).
      if (insn.imm === BPF_LOAD_ACQ) return [`${aw}${insn.dst} = load_acquire((${sz.u} *)${memRef(insn.src, insn.off, o)})`];
      if (insn.imm === BPF_STORE_REL) return [`store_release((${sz.u} *)${m}, ${aw}${insn.src})`];
      const width = aw === 'r' ? '_64' : '32_32';
      if (insn.imm === BPF_XCHG) return [`${aw}${insn.src} = xchg${width}(${bare}, ${aw}${insn.src})`];
      if (insn.imm === BPF_CMPXCHG) return [`${aw}0 = cmpxchg${width}(${bare}, ${aw}0, ${aw}${insn.src})`];
      if (a.fetch) return [`${aw}${insn.src} = atomic_fetch_${ATOMIC_FETCH_NAME[insn.imm & ~BPF_FETCH]}((${sz.u} *)${m}, ${aw}${insn.src})`];
      return [`lock *(${sz.u} *)${m} ${ATOMIC_SYM[insn.imm]} ${aw}${insn.src}`];
    }
    case 'ja':
      return [`goto ${jt(insn.off)}`];
    case 'gotol':
      return [`gotol ${jt(insn.imm)}`];
    case 'may_goto':
      return [`may_goto ${jt(insn.off)}`];
    case 'jcond': {
      const op = JMP_COND_BY_OP.get(opOp(insn.code))!;
      const rhs = (insn.code & BPF_X) !== 0 ? s : num(insn.imm, o);
      return [`if ${d} ${op.sym} ${rhs} goto ${jt(insn.off)}`];
    }
    case 'call':
      if (insn.src === 1) return [`call ${target ?? `pc${signedOff(insn.imm, o)}`}`];
      if (insn.src === 2) return [`call kfunc#${insn.imm}`];
      return [`call ${(o.helperNames && helperName(insn.imm)) || num(insn.imm, o)}`];
    case 'callx':
      return [`callx r${insn.dst}`];
    case 'exit':
      return ['exit'];
  }
}

function formatLddw(insn: Insn, o: LlvmFormatOptions): string[] {
  if (insn.imm64 === undefined) return rawLines(insn);
  const d = `r${insn.dst}`;
  const lo = insn.imm >>> 0;
  const hi = Number((insn.imm64 >> 32n) & 0xffffffffn);
  const named = insn.ref !== undefined && /^[A-Za-z_.][\w.]*$/.test(insn.ref) && lo === 0;
  switch (insn.src) {
    case 0:
      return [`${d} = ${num(BigInt.asIntN(64, insn.imm64), o)} ll`];
    case 1:
      if (hi !== 0) break;
      return [`${d} = map[${named ? insn.ref : `fd:${lo}`}]`];
    case 2:
      return [`${d} = map[${named ? insn.ref : `fd:${lo}`}][0]+${hi}`];
    case 3:
      if (hi !== 0) break;
      return [`${d} = btf[id:${lo}]`];
    case 4:
      if (hi !== 0) break;
      return [`${d} = func[${signedOff(insn.imm, o)}]`];
    case 5:
      if (hi !== 0) break;
      return [`${d} = map[idx:${lo}]`];
    case 6:
      return [`${d} = map[idx:${lo}][0]+${hi}`];
  }
  return rawLines(insn);
}

/** Disassembles a program to llvm-syntax lines (one string, newline-terminated lines). */
export function disassembleLlvm(insns: readonly Insn[], options: LlvmFormatOptions = {}): string {
  const lines: string[] = [];
  const offs = slotOffsets(insns);
  const byslot = slotToIndex(insns);
  const labelAt = new Map<number, string>();
  const targetOf = (i: number): number | undefined => {
    const insn = insns[i];
    const info = describeInsn(insn);
    if (info.kind === undefined || info.problems.length) return undefined;
    const delta = info.kind === 'gotol' || (info.kind === 'call' && insn.src === 1) ? insn.imm
      : info.kind === 'ja' || info.kind === 'jcond' || info.kind === 'may_goto' ? insn.off : undefined;
    if (delta === undefined) return undefined;
    const slot = offs[i] + (insn.code === LDDW ? 2 : 1) + delta;
    return slot >= 0 && slot < byslot.length && byslot[slot] >= 0 ? slot : undefined;
  };
  if (options.labels) for (let i = 0; i < insns.length; i++) {
    const t = targetOf(i);
    if (t !== undefined) labelAt.set(t, `LBB${t}`);
  }
  for (let i = 0; i < insns.length; i++) {
    const l = labelAt.get(offs[i]);
    if (l) lines.push(`${l}:`);
    const t = options.labels ? targetOf(i) : undefined;
    lines.push(...formatInsnLlvm(insns[i], options, t === undefined ? undefined : labelAt.get(t)));
  }
  const end = labelAt.get(offs[insns.length]);
  if (end) lines.push(`${end}:`);
  return lines.map((l) => (l.endsWith(':') ? l : `\t${l}`)).join('\n') + (lines.length ? '\n' : '');
}

// ---- assembler ----

const R = '([rw])(\\d+)';
const N = '([-+]?(?:0x[0-9a-fA-F]+|\\d+))';
const MEM = `\\(\\s*r(\\d+)\\s*(?:([-+])\\s*${N})?\\s*\\)`;
const TGT = '((?:pc)?[-+]\\s*(?:0x[0-9a-fA-F]+|\\d+)|[A-Za-z_.$][\\w.$]*)';
const SZ = '\\*\\s*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)';

interface Ctx {
  line: number;
  text: string;
  /** Column (1-based) where group `i` of the match begins. */
  col(i: number): number;
  g(i: number): string;
}

type Handler = (c: Ctx, prog: AsmProgram) => void;

/** Patterns tried in order; the first that matches the whole statement wins. */
const PATTERNS: [RegExp, Handler][] = [];
function pat(src: string, h: Handler): void {
  PATTERNS.push([new RegExp(`^${src}$`, 'd'), h]);
}

function reg(c: Ctx, kindGroup: number, numGroup: number, want?: string): { n: number; w: boolean } {
  const n = Number(c.g(numGroup));
  if (n > 15) asmError(`invalid register ${c.g(kindGroup)}${c.g(numGroup)}`, c.line, c.col(kindGroup), 'E_EBPF_ASM_REG');
  if (want !== undefined && c.g(kindGroup) !== want) {
    asmError(`register ${c.g(kindGroup)}${n} does not match the operation width`, c.line, c.col(kindGroup), 'E_EBPF_ASM_REG');
  }
  return { n, w: c.g(kindGroup) === 'w' };
}
function sizeOf(c: Ctx, signGroup: number, bitsGroup: number, allowSigned: boolean): number {
  if (c.g(signGroup) === 's' && !allowSigned) asmError('signed size not allowed here', c.line, c.col(signGroup));
  return SIZE_BY_NAME[c.g(bitsGroup)];
}
function memOff(c: Ctx, signGroup: number, numGroup: number): number {
  if (c.g(numGroup) === '') return 0;
  const v = fieldValue(c.g(numGroup), 'imm64', c.line, c.col(numGroup));
  const signed = c.g(signGroup) === '-' ? -v : v;
  if (signed < -32768n || signed > 32767n) asmError(`offset ${signed} out of range`, c.line, c.col(numGroup), 'E_EBPF_ASM_RANGE');
  return Number(signed);
}
function memReg(c: Ctx, g: number): number {
  const n = Number(c.g(g));
  if (n > 15) asmError(`invalid register r${n}`, c.line, c.col(g), 'E_EBPF_ASM_REG');
  return n;
}
function target(c: Ctx, g: number, field: 'off' | 'imm', insn: Insn, prog: AsmProgram): void {
  const t = c.g(g).replace(/\s+/g, '');
  const numText = t.startsWith('pc') ? t.slice(2) : t;
  if (/^[-+]/.test(numText)) {
    const v = fieldValue(numText, field === 'off' ? 'off16' : 'imm32', c.line, c.col(g));
    insn[field] = toImm32(v);
    prog.add({ insn, line: c.line, column: c.col(0) });
  } else {
    prog.add({ insn, line: c.line, column: c.col(0), target: { name: t, field, column: c.col(g) } });
  }
}

pat('exit', (c, p) => p.add({ insn: { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, line: c.line, column: c.col(0) }));
pat(`callx\\s+r(\\d+)`, (c, p) => p.add({ insn: { code: 0x8d, dst: memReg(c, 1), src: 0, off: 0, imm: 0 }, line: c.line, column: c.col(0) }));
pat(`call\\s+kfunc#${N}`, (c, p) => p.add({ insn: { code: 0x85, dst: 0, src: 2, off: 0, imm: toImm32(fieldValue(c.g(1), 'imm32', c.line, c.col(1))) }, line: c.line, column: c.col(0) }));
pat(`call\\s+${N}`, (c, p) => p.add({ insn: { code: 0x85, dst: 0, src: 0, off: 0, imm: toImm32(fieldValue(c.g(1), 'imm32', c.line, c.col(1))) }, line: c.line, column: c.col(0) }));
pat(`call\\s+([A-Za-z_.$][\\w.$]*)(?:#(-?\\d+))?`, (c, p) => {
  const name = c.g(1);
  const id = c.g(2) !== '' ? Number(c.g(2)) : helperId(name);
  if (id !== undefined && (c.g(2) !== '' || !p.hasLabel(name))) {
    p.add({ insn: { code: 0x85, dst: 0, src: 0, off: 0, imm: id }, line: c.line, column: c.col(0) });
  } else {
    // Not a helper: a bpf-to-bpf call to a label (resolved at the end, so it may come later).
    p.add({ insn: { code: 0x85, dst: 0, src: 1, off: 0, imm: 0 }, line: c.line, column: c.col(0), target: { name, field: 'imm', column: c.col(1) } });
  }
});
pat(`call\\s+(pc\\s*[-+]\\s*(?:0x[0-9a-fA-F]+|\\d+))(?:#\\S*)?`, (c, p) => target(c, 1, 'imm', { code: 0x85, dst: 0, src: 1, off: 0, imm: 0 }, p));
pat(`goto\\s+${TGT}`, (c, p) => target(c, 1, 'off', { code: 0x05, dst: 0, src: 0, off: 0, imm: 0 }, p));
pat(`gotol\\s+${TGT}`, (c, p) => target(c, 1, 'imm', { code: 0x06, dst: 0, src: 0, off: 0, imm: 0 }, p));
pat(`may_goto\\s+${TGT}`, (c, p) => target(c, 1, 'off', { code: 0xe5, dst: 0, src: 0, off: 0, imm: 0 }, p));
const CMP = JMP_COND_OPS.map((o) => o.sym.replace(/[&<>=!]/g, (ch) => `\\${ch}`)).sort((a, b) => b.length - a.length).join('|');
pat(`if\\s+${R}\\s*(${CMP})\\s*(?:${R}|${N})\\s+goto\\s+${TGT}`, (c, p) => {
  const d = reg(c, 1, 2);
  const op = JMP_COND_OPS.find((o) => o.sym === c.g(3))!;
  const cls = d.w ? BPF_JMP32 : BPF_JMP;
  const insn: Insn = { code: cls | op.op | BPF_K, dst: d.n, src: 0, off: 0, imm: 0 };
  if (c.g(4) !== '') {
    insn.code |= BPF_X;
    insn.src = reg(c, 4, 5, d.w ? 'w' : 'r').n;
  } else {
    insn.imm = toImm32(fieldValue(c.g(6), 'imm32', c.line, c.col(6)));
  }
  target(c, 7, 'off', insn, p);
});
pat(`lock\\s+${SZ}\\s*${MEM}\\s*(\\+=|\\|=|&=|\\^=)\\s*${R}`, (c, p) => {
  const size = sizeOf(c, 1, 2, false);
  const op = { '+=': 0x00, '|=': 0x40, '&=': 0x50, '^=': 0xa0 }[c.g(6)]!;
  const src = reg(c, 7, 8);
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | size, dst: memReg(c, 3), src: src.n, off: memOff(c, 4, 5), imm: op }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*atomic(?:64)?_fetch_(add|or|and|xor)\\s*\\(\\s*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  const op = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 }[c.g(3)]!;
  const size = sizeOf(c, 4, 5, false);
  const dst = reg(c, 1, 2);
  const src = reg(c, 9, 10, c.g(1));
  if (dst.n !== src.n) asmError('atomic_fetch result must be its source register', c.line, c.col(1));
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | size, dst: memReg(c, 6), src: src.n, off: memOff(c, 7, 8), imm: op | BPF_FETCH }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*xchg(_64|32_32)\\s*\\(\\s*r(\\d+)\\s*(?:([-+])\\s*${N})?\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  const dst = reg(c, 1, 2, c.g(3) === '_64' ? 'r' : 'w');
  const src = reg(c, 7, 8, c.g(1));
  if (dst.n !== src.n) asmError('xchg result must be its source register', c.line, c.col(1));
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | (c.g(3) === '_64' ? BPF_DW : BPF_W), dst: memReg(c, 4), src: src.n, off: memOff(c, 5, 6), imm: BPF_XCHG }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*cmpxchg(_64|32_32)\\s*\\(\\s*r(\\d+)\\s*(?:([-+])\\s*${N})?\\s*,\\s*${R}\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  const want = c.g(3) === '_64' ? 'r' : 'w';
  const d = reg(c, 1, 2, want);
  const cmp = reg(c, 7, 8, want);
  if (d.n !== 0 || cmp.n !== 0) asmError('cmpxchg compares and returns in r0', c.line, c.col(1));
  const src = reg(c, 9, 10, want);
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | (want === 'r' ? BPF_DW : BPF_W), dst: memReg(c, 4), src: src.n, off: memOff(c, 5, 6), imm: BPF_CMPXCHG }, line: c.line, column: c.col(0) });
});
// The kernel's (bpftool's) spelling: `r2 = atomic64_xchg((u64 *)(r1 +0), r2)`, `r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)`.
pat(`${R}\\s*=\\s*atomic(?:64)?_xchg\\s*\\(\\s*\\(\\s*u(32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  const dst = reg(c, 1, 2);
  const src = reg(c, 7, 8);
  if (dst.n !== src.n) asmError('xchg result must be its source register', c.line, c.col(1));
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | SIZE_BY_NAME[c.g(3)], dst: memReg(c, 4), src: src.n, off: memOff(c, 5, 6), imm: BPF_XCHG }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*atomic(?:64)?_cmpxchg\\s*\\(\\s*\\(\\s*u(32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  if (reg(c, 1, 2).n !== 0 || reg(c, 7, 8).n !== 0) asmError('cmpxchg compares and returns in r0', c.line, c.col(1));
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | SIZE_BY_NAME[c.g(3)], dst: memReg(c, 4), src: reg(c, 9, 10).n, off: memOff(c, 5, 6), imm: BPF_CMPXCHG }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*load_acquire\\s*\\(\\s*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*\\)`, (c, p) => {
  const d = reg(c, 1, 2);
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | sizeOf(c, 3, 4, false), dst: d.n, src: memReg(c, 5), off: memOff(c, 6, 7), imm: BPF_LOAD_ACQ }, line: c.line, column: c.col(0) });
});
pat(`store_release\\s*\\(\\s*\\(\\s*([us])(8|16|32|64)\\s*\\*\\s*\\)\\s*${MEM}\\s*,\\s*${R}\\s*\\)`, (c, p) => {
  const s = reg(c, 6, 7);
  p.add({ insn: { code: BPF_STX | BPF_ATOMIC | sizeOf(c, 1, 2, false), dst: memReg(c, 3), src: s.n, off: memOff(c, 4, 5), imm: BPF_STORE_REL }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*${SZ}\\s*skb\\s*\\[\\s*(?:${N}|r(\\d+)(?:\\s*\\+\\s*${N})?)\\s*\\]`, (c, p) => {
  const d = reg(c, 1, 2);
  if (d.n !== 0) asmError('packet loads write r0', c.line, c.col(1));
  const size = sizeOf(c, 3, 4, false);
  if (size === BPF_DW) asmError('packet loads take 8, 16 or 32 bits', c.line, c.col(4));
  if (c.g(5) !== '') {
    p.add({ insn: { code: BPF_LD | BPF_ABS | size, dst: 0, src: 0, off: 0, imm: toImm32(fieldValue(c.g(5), 'imm32', c.line, c.col(5))) }, line: c.line, column: c.col(0) });
  } else {
    const imm = c.g(7) === '' ? 0 : toImm32(fieldValue(c.g(7), 'imm32', c.line, c.col(7)));
    p.add({ insn: { code: BPF_LD | BPF_IND | size, dst: 0, src: memReg(c, 6), off: 0, imm }, line: c.line, column: c.col(0) });
  }
});
pat(`${R}\\s*=\\s*${SZ}\\s*${MEM}`, (c, p) => {
  const d = reg(c, 1, 2);
  const signed = c.g(3) === 's';
  const size = SIZE_BY_NAME[c.g(4)];
  if (signed && size === BPF_DW) asmError('no sign-extending 64-bit load', c.line, c.col(3));
  p.add({ insn: { code: BPF_LDX | (signed ? BPF_MEMSX : BPF_MEM) | size, dst: d.n, src: memReg(c, 5), off: memOff(c, 6, 7), imm: 0 }, line: c.line, column: c.col(0) });
});
pat(`${SZ}\\s*${MEM}\\s*=\\s*(?:${R}|${N})`, (c, p) => {
  const size = sizeOf(c, 1, 2, false);
  const base = { dst: memReg(c, 3), off: memOff(c, 4, 5), line: c.line };
  if (c.g(6) !== '') {
    p.add({ insn: { code: BPF_STX | BPF_MEM | size, dst: base.dst, src: reg(c, 6, 7).n, off: base.off, imm: 0 }, line: c.line, column: c.col(0) });
  } else {
    p.add({ insn: { code: BPF_ST | BPF_MEM | size, dst: base.dst, src: 0, off: base.off, imm: toImm32(fieldValue(c.g(8), 'imm32', c.line, c.col(8))) }, line: c.line, column: c.col(0) });
  }
});
pat(`${R}\\s*=\\s*${N}\\s+ll`, (c, p) => {
  const d = reg(c, 1, 2, 'r');
  const v = BigInt.asUintN(64, fieldValue(c.g(3), 'imm64', c.line, c.col(3)));
  p.add({ insn: { code: LDDW, dst: d.n, src: 0, off: 0, imm: toImm32(v), imm64: v }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*map\\s*\\[\\s*(?:(fd|idx|id):\\s*(\\d+)|([A-Za-z_.][\\w.]*))\\s*\\](?:\\s*\\[\\s*0\\s*\\]\\s*\\+\\s*(\\d+))?`, (c, p) => {
  const d = reg(c, 1, 2, 'r');
  const value = c.g(6) !== '';
  const kind = c.g(3);
  const src = kind === 'idx' ? (value ? 6 : 5) : value ? 2 : 1;
  const lo = kind === '' ? 0 : Number(c.g(4)) >>> 0;
  const hi = value ? Number(c.g(6)) >>> 0 : 0;
  const insn: Insn = { code: LDDW, dst: d.n, src, off: 0, imm: lo | 0, imm64: (BigInt(hi) << 32n) | BigInt(lo) };
  if (kind === '') insn.ref = c.g(5);
  p.add({ insn, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*btf\\s*\\[\\s*id:\\s*(\\d+)\\s*\\]`, (c, p) => {
  const v = Number(c.g(3)) >>> 0;
  p.add({ insn: { code: LDDW, dst: reg(c, 1, 2, 'r').n, src: 3, off: 0, imm: v | 0, imm64: BigInt(v) }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*func\\s*\\[\\s*${TGT}\\s*\\]`, (c, p) => {
  const insn: Insn = { code: LDDW, dst: reg(c, 1, 2, 'r').n, src: 4, off: 0, imm: 0, imm64: 0n };
  const t = c.g(3).replace(/\s+/g, '');
  if (/^[-+]/.test(t)) {
    insn.imm = toImm32(fieldValue(t, 'imm32', c.line, c.col(3)));
    insn.imm64 = BigInt(insn.imm >>> 0);
    p.add({ insn, line: c.line, column: c.col(0) });
  } else {
    p.add({ insn, line: c.line, column: c.col(0), target: { name: t, field: 'imm', column: c.col(3) } });
  }
});
pat(`${R}\\s*=\\s*\\(s(8|16|32)\\)\\s*${R}`, (c, p) => {
  const d = reg(c, 1, 2);
  const s = reg(c, 4, 5, c.g(1));
  const bits = Number(c.g(3));
  if (d.w && bits === 32) asmError('32-bit movsx takes 8 or 16 bits', c.line, c.col(3));
  p.add({ insn: { code: (d.w ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X, dst: d.n, src: s.n, off: bits, imm: 0 }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*-\\s*${R}`, (c, p) => {
  const d = reg(c, 1, 2);
  const s = reg(c, 3, 4, c.g(1));
  if (s.n !== d.n) asmError('neg negates its own register', c.line, c.col(3));
  p.add({ insn: { code: (d.w ? BPF_ALU : BPF_ALU64) | BPF_NEG, dst: d.n, src: 0, off: 0, imm: 0 }, line: c.line, column: c.col(0) });
});
pat(`${R}\\s*=\\s*(be|le|bswap)(16|32|64)\\s+${R}`, (c, p) => {
  const d = reg(c, 1, 2);
  const s = reg(c, 5, 6);
  if (s.n !== d.n) asmError('byte swap works in place', c.line, c.col(5));
  const code = c.g(3) === 'bswap' ? BPF_ALU64 | BPF_END : BPF_ALU | BPF_END | (c.g(3) === 'be' ? BPF_TO_BE : 0);
  p.add({ insn: { code, dst: d.n, src: 0, off: 0, imm: Number(c.g(4)) }, line: c.line, column: c.col(0) });
});
const ALU_SYMS = ALU_OPS.filter((o) => o.sym !== undefined).flatMap((o) => [o.sym!, `s${o.sym!}`]).filter((s, i, a) => a.indexOf(s) === i && s !== 's=' && s !== 'ss>>=');
const ALU_RE = ALU_SYMS.map((s) => s.replace(/[|^*+/%<>&-]/g, (ch) => `\\${ch}`)).sort((a, b) => b.length - a.length).join('|');
pat(`${R}\\s*(${ALU_RE})\\s*(?:${R}|${N})`, (c, p) => {
  const d = reg(c, 1, 2);
  let sym = c.g(3);
  let off = 0;
  if (sym.startsWith('s') && sym !== 's>>=') {
    sym = sym.slice(1);
    if (sym !== '/=' && sym !== '%=') asmError(`no signed form of ${sym}`, c.line, c.col(3));
    off = 1;
  }
  const op = ALU_OPS.find((o) => o.sym === sym)!;
  const insn: Insn = { code: (d.w ? BPF_ALU : BPF_ALU64) | op.op, dst: d.n, src: 0, off, imm: 0 };
  if (c.g(4) !== '') {
    insn.code |= BPF_X;
    insn.src = reg(c, 4, 5, c.g(1)).n;
  } else {
    insn.imm = toImm32(fieldValue(c.g(6), 'imm32', c.line, c.col(6)));
  }
  p.add({ insn, line: c.line, column: c.col(0) });
});

/**
 * Assembles llvm/kernel-syntax text: one statement per line, `name:` labels, `#`/`;`/`//`
 * comments, `.8byte 0x…` raw slots. Jump targets are `+N`/`-N` slots (also `pc+N`, with an
 * optional `<…>` annotation as llvm-objdump prints) or label names. Throws a ParseError with
 * line and column.
 */
export function assembleLlvm(text: string): Insn[] {
  const prog = new AsmProgram();
  // `bpftool prog dump xlated` listings: `  5: (18) r1 = map[id:6]`; other lines (source, function headers) are skipped.
  const bpftool = /^\s*\d+:\s*\([0-9a-f]{2}\)\s/m.test(text);
  text.split(/\r?\n/).forEach((raw, li) => {
    const line = li + 1;
    let s = stripComment(raw);
    if (bpftool) {
      const m = /^(\s*\d+:\s*\(([0-9a-f]{2})\)\s)/.exec(s);
      if (!m) return;
      // The kernel prints a 64-bit immediate load without llvm's `ll`; the opcode tells it apart.
      s = ' '.repeat(m[1].length) + s.slice(m[1].length);
      if (m[2] === '18' && /=\s*[-+]?(0x[0-9a-f]+|\d+)\s*$/i.test(s)) s += ' ll';
    }
    // llvm-objdump appends `<LBB0_2>` / `<prog+0xc0>` after jump targets: an annotation only.
    s = s.replace(/\s*<[^<>]*>\s*$/, '');
    let start = s.search(/\S/);
    if (start < 0) return;
    const labelM = /^([A-Za-z_.$][\w.$]*)\s*:/.exec(s.slice(start));
    if (labelM) {
      prog.label(labelM[1], line, start + 1);
      const rest = s.slice(start + labelM[0].length);
      const r = rest.search(/\S/);
      if (r < 0) return;
      start += labelM[0].length + r;
    }
    const stmt = s.slice(start);
    const raw8 = /^\.8byte\s+(\S+)$/.exec(stmt);
    if (raw8) {
      const v = parseNumber(raw8[1]);
      if (v === undefined || v < 0n || v >= 1n << 64n) asmError(`invalid .8byte value "${raw8[1]}"`, line, start + 1 + raw8[0].indexOf(raw8[1]));
      prog.addRaw(v, line, start + 1);
      return;
    }
    prog.breakRaw();
    for (const [re, h] of PATTERNS) {
      const m = re.exec(stmt);
      if (!m) continue;
      const indices = m.indices!;
      h(
        {
          line,
          text: stmt,
          col: (i) => start + 1 + (indices[i]?.[0] ?? 0),
          g: (i) => m[i] ?? '',
        },
        prog,
      );
      return;
    }
    asmError(`cannot parse "${stmt}"`, line, start + 1, 'E_EBPF_ASM_SYNTAX');
  });
  return prog.finish();
}
