/** The bpf_conformance mnemonic syntax (`mov %r0, 1`, `ldxw %r0, [%r1+4]`, `lock fetch add [%r1+0], %r2`): assembler and disassembler that round-trip. */

import type { Insn } from './insn.js';
import { describeInsn } from './forms.js';
import {
  ALU_BY_OP, ALU_OPS, ATOMIC_BY_IMM, BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_B, BPF_DIV, BPF_DW, BPF_END, BPF_H,
  BPF_IND, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MOV, BPF_NEG, BPF_ST, BPF_STX,
  BPF_TO_BE, BPF_W, BPF_X, JMP_COND_BY_OP, JMP_COND_OPS, LDDW, opClass, opMode, opOp, opSize,
} from './opcodes.js';
import { AsmProgram, asmError, fieldValue, rawLines, stripComment, toImm32, parseNumber } from './asm-common.js';

// ---- disassembler ----

/** Immediates as the reference disassembler prints them: 0..10 and negatives in decimal, the rest in hex. */
function imm(v: number): string {
  if (v === -2147483648) return '0x80000000';
  if (v <= 10) return String(v);
  return `0x${v.toString(16)}`;
}
const tgt = (v: number): string => (v < 0 ? String(v) : `+${v}`);
const mem = (reg: number, off: number): string => (off === 0 ? `[%r${reg}]` : off < 0 ? `[%r${reg}${off}]` : `[%r${reg}+${off}]`);
const SIZE_SUFFIX: Record<number, string> = { [BPF_B]: 'b', [BPF_H]: 'h', [BPF_W]: 'w', [BPF_DW]: 'dw' };

/** One instruction in conformance syntax (`.8byte` lines for forms the syntax cannot express). */
export function formatInsnConformance(insn: Insn): string[] {
  const info = describeInsn(insn);
  if (info.kind === undefined || info.problems.length > 0) return rawLines(insn);
  const cls = opClass(insn.code);
  const w = cls === BPF_ALU || cls === BPF_JMP32 ? '32' : '';
  const x = (insn.code & BPF_X) !== 0;
  const d = `%r${insn.dst}`;
  const s = `%r${insn.src}`;
  const sz = SIZE_SUFFIX[opSize(insn.code)];
  switch (info.kind) {
    case 'alu': {
      const op = ALU_BY_OP.get(opOp(insn.code))!;
      if (op.op === BPF_MOV && x && insn.off !== 0) return [`movsx${insn.off}${w || '64'} ${d}, ${s}`];
      const name = insn.off === 1 ? `s${op.name}` : op.name;
      return [`${name}${w} ${d}, ${x ? s : imm(insn.imm)}`];
    }
    case 'neg':
      return [`neg${w} ${d}`];
    case 'end':
      return [`${cls === BPF_ALU64 ? 'swap' : (insn.code & BPF_TO_BE) !== 0 ? 'be' : 'le'}${insn.imm} ${d}`];
    case 'lddw':
      if (insn.src !== 0 || insn.imm64 === undefined) return rawLines(insn);
      return [`lddw ${d}, 0x${insn.imm64.toString(16)}`];
    case 'ld_abs':
      return [`ldabs${sz} ${imm(insn.imm)}`];
    case 'ld_ind':
      return [`ldind${sz} ${s}, ${imm(insn.imm)}`];
    case 'ldx':
      return [`ldx${opMode(insn.code) === BPF_MEMSX ? 's' : ''}${sz} ${d}, ${mem(insn.src, insn.off)}`];
    case 'st':
      return [`st${sz} ${mem(insn.dst, insn.off)}, ${imm(insn.imm)}`];
    case 'stx':
      return [`stx${sz} ${mem(insn.dst, insn.off)}, ${s}`];
    case 'atomic': {
      const a = ATOMIC_BY_IMM.get(insn.imm)!;
      if (a.name === 'load_acquire' || a.name === 'store_release') return rawLines(insn);
      return [`lock ${a.name}${opSize(insn.code) === BPF_W ? '32' : ''} ${mem(insn.dst, insn.off)}, ${s}`];
    }
    case 'ja':
      return [`ja ${tgt(insn.off)}`];
    case 'gotol':
      return [`ja32 ${tgt(insn.imm)}`];
    case 'jcond': {
      const op = JMP_COND_BY_OP.get(opOp(insn.code))!;
      return [`${op.name}${w} ${d}, ${x ? s : imm(insn.imm)}, ${tgt(insn.off)}`];
    }
    case 'call':
      if (insn.src === 1) return [`call local ${tgt(insn.imm)}`];
      if (insn.src === 2) return [`call runtime ${imm(insn.imm)}`];
      return [`call helper ${imm(insn.imm)}`];
    case 'callx':
      return [`call helper ${d}`];
    case 'exit':
      return ['exit'];
    case 'may_goto':
      return rawLines(insn);
  }
}

/** Disassembles a program to conformance-syntax text, one instruction per line. */
export function disassembleConformance(insns: readonly Insn[]): string {
  const lines = insns.flatMap((i) => formatInsnConformance(i));
  return lines.join('\n') + (lines.length ? '\n' : '');
}

// ---- assembler ----

interface Operand {
  text: string;
  column: number;
}

interface Stmt {
  line: number;
  column: number;
  mnemonic: string;
  ops: Operand[];
}

type Handler = (s: Stmt, prog: AsmProgram) => void;
const MNEMONICS = new Map<string, Handler>();

function need(s: Stmt, n: number, what = s.mnemonic): void {
  if (s.ops.length !== n) asmError(`invalid number of operands for ${what}`, s.line, s.column, 'E_EBPF_ASM_OPERANDS');
}
function regOf(s: Stmt, o: Operand): number {
  const m = /^%r(\d+)$/.exec(o.text);
  if (!m || Number(m[1]) > 15) asmError(`invalid register "${o.text}"`, s.line, o.column, 'E_EBPF_ASM_REG');
  return Number(m[1]);
}
const isReg = (o: Operand): boolean => o.text.startsWith('%');
function imm32(s: Stmt, o: Operand): number {
  if (isReg(o)) asmError(`expected an immediate, got "${o.text}"`, s.line, o.column);
  return toImm32(fieldValue(o.text, 'imm32', s.line, o.column));
}
function memOf(s: Stmt, o: Operand): { reg: number; off: number } {
  const m = /^\[\s*(%r\d+)\s*(?:([-+])\s*(0x[0-9a-fA-F]+|\d+))?\s*\]$/.exec(o.text);
  if (!m) asmError(`invalid memory operand "${o.text}"`, s.line, o.column, 'E_EBPF_ASM_MEM');
  const reg = regOf(s, { text: m[1], column: o.column + 1 });
  if (m[3] === undefined) return { reg, off: 0 };
  const v = fieldValue(`${m[2]}${m[3]}`, 'off16', s.line, o.column);
  return { reg, off: Number(v) };
}
function jumpTo(s: Stmt, o: Operand, insn: Insn, field: 'off' | 'imm', prog: AsmProgram): void {
  if (/^[-+]/.test(o.text)) {
    insn[field] = field === 'off' ? Number(fieldValue(o.text, 'off16', s.line, o.column)) : toImm32(fieldValue(o.text, 'imm32', s.line, o.column));
    prog.add({ insn, line: s.line, column: s.column });
  } else {
    if (!/^[A-Za-z_.$][\w.$]*$/.test(o.text)) asmError(`invalid jump target "${o.text}"`, s.line, o.column, 'E_EBPF_ASM_LABEL');
    prog.add({ insn, line: s.line, column: s.column, target: { name: o.text, field, column: o.column } });
  }
}
const add = (s: Stmt, p: AsmProgram, insn: Insn): void => p.add({ insn, line: s.line, column: s.column });

for (const op of ALU_OPS) {
  if (op.op === BPF_END) continue;
  for (const [suffix, cls] of [['', BPF_ALU64], ['32', BPF_ALU]] as const) {
    if (op.op === BPF_NEG) {
      MNEMONICS.set(`neg${suffix}`, (s, p) => {
        need(s, 1);
        add(s, p, { code: cls | BPF_NEG, dst: regOf(s, s.ops[0]), src: 0, off: 0, imm: 0 });
      });
      continue;
    }
    const names: [string, number][] = [[op.name, 0]];
    if (op.op === BPF_DIV || op.op === BPF_MOD) names.push([`s${op.name}`, 1]);
    for (const [name, off] of names) {
      MNEMONICS.set(`${name}${suffix}`, (s, p) => {
        need(s, 2);
        const dst = regOf(s, s.ops[0]);
        if (isReg(s.ops[1])) add(s, p, { code: cls | op.op | BPF_X, dst, src: regOf(s, s.ops[1]), off, imm: 0 });
        else add(s, p, { code: cls | op.op, dst, src: 0, off, imm: imm32(s, s.ops[1]) });
      });
    }
  }
}
for (const [bits, suffix, cls] of [[8, '32', BPF_ALU], [16, '32', BPF_ALU], [8, '64', BPF_ALU64], [16, '64', BPF_ALU64], [32, '64', BPF_ALU64]] as const) {
  MNEMONICS.set(`movsx${bits}${suffix}`, (s, p) => {
    need(s, 2);
    add(s, p, { code: cls | BPF_MOV | BPF_X, dst: regOf(s, s.ops[0]), src: regOf(s, s.ops[1]), off: bits, imm: 0 });
  });
}
for (const bits of [16, 32, 64]) {
  const swaps: [string, number][] = [[`be${bits}`, BPF_ALU | BPF_END | BPF_TO_BE], [`le${bits}`, BPF_ALU | BPF_END], [`bswap${bits}`, BPF_ALU64 | BPF_END], [`swap${bits}`, BPF_ALU64 | BPF_END]];
  for (const [name, code] of swaps) {
    MNEMONICS.set(name, (s, p) => {
      need(s, 1);
      add(s, p, { code, dst: regOf(s, s.ops[0]), src: 0, off: 0, imm: bits });
    });
  }
}
for (const [suffix, size] of Object.entries(SIZE_SUFFIX).map(([k, v]) => [v, Number(k)] as const)) {
  MNEMONICS.set(`ldx${suffix}`, (s, p) => {
    need(s, 2);
    const m = memOf(s, s.ops[1]);
    add(s, p, { code: BPF_LDX | BPF_MEM | size, dst: regOf(s, s.ops[0]), src: m.reg, off: m.off, imm: 0 });
  });
  if (size !== BPF_DW) {
    MNEMONICS.set(`ldxs${suffix}`, (s, p) => {
      need(s, 2);
      const m = memOf(s, s.ops[1]);
      add(s, p, { code: BPF_LDX | BPF_MEMSX | size, dst: regOf(s, s.ops[0]), src: m.reg, off: m.off, imm: 0 });
    });
    MNEMONICS.set(`ldabs${suffix}`, (s, p) => {
      need(s, 1);
      add(s, p, { code: BPF_LD | BPF_ABS | size, dst: 0, src: 0, off: 0, imm: imm32(s, s.ops[0]) });
    });
    MNEMONICS.set(`ldind${suffix}`, (s, p) => {
      need(s, 2);
      add(s, p, { code: BPF_LD | BPF_IND | size, dst: 0, src: regOf(s, s.ops[0]), off: 0, imm: imm32(s, s.ops[1]) });
    });
  }
  MNEMONICS.set(`st${suffix}`, (s, p) => {
    need(s, 2);
    const m = memOf(s, s.ops[0]);
    add(s, p, { code: BPF_ST | BPF_MEM | size, dst: m.reg, src: 0, off: m.off, imm: imm32(s, s.ops[1]) });
  });
  MNEMONICS.set(`stx${suffix}`, (s, p) => {
    need(s, 2);
    const m = memOf(s, s.ops[0]);
    add(s, p, { code: BPF_STX | BPF_MEM | size, dst: m.reg, src: regOf(s, s.ops[1]), off: m.off, imm: 0 });
  });
}
MNEMONICS.set('lddw', (s, p) => {
  need(s, 2);
  const dst = regOf(s, s.ops[0]);
  if (isReg(s.ops[1])) asmError(`expected an immediate, got "${s.ops[1].text}"`, s.line, s.ops[1].column);
  const v = BigInt.asUintN(64, fieldValue(s.ops[1].text, 'imm64', s.line, s.ops[1].column));
  add(s, p, { code: LDDW, dst, src: 0, off: 0, imm: toImm32(v), imm64: v });
});
MNEMONICS.set('ja', (s, p) => {
  need(s, 1);
  jumpTo(s, s.ops[0], { code: BPF_JMP, dst: 0, src: 0, off: 0, imm: 0 }, 'off', p);
});
MNEMONICS.set('ja32', (s, p) => {
  need(s, 1);
  jumpTo(s, s.ops[0], { code: BPF_JMP32, dst: 0, src: 0, off: 0, imm: 0 }, 'imm', p);
});
for (const op of JMP_COND_OPS) {
  for (const [suffix, cls] of [['', BPF_JMP], ['32', BPF_JMP32]] as const) {
    MNEMONICS.set(`${op.name}${suffix}`, (s, p) => {
      need(s, 3);
      const insn: Insn = { code: cls | op.op, dst: regOf(s, s.ops[0]), src: 0, off: 0, imm: 0 };
      if (isReg(s.ops[1])) {
        insn.code |= BPF_X;
        insn.src = regOf(s, s.ops[1]);
      } else insn.imm = imm32(s, s.ops[1]);
      jumpTo(s, s.ops[2], insn, 'off', p);
    });
  }
}
MNEMONICS.set('exit', (s, p) => {
  need(s, 0);
  add(s, p, { code: BPF_JMP | 0x90, dst: 0, src: 0, off: 0, imm: 0 });
});
MNEMONICS.set('call', (s, p) => {
  // `call IMM`, `call %rN`, `call helper IMM|%rN`, `call local LABEL|+N`, `call runtime IMM`.
  const first = s.ops[0];
  const m = first ? /^(helper|local|runtime)\s+(.*)$/.exec(first.text) : null;
  const kind = m ? m[1] : 'helper';
  const ops = m ? [{ text: m[2], column: first.column + m[1].length + 1 }, ...s.ops.slice(1)] : s.ops;
  if (ops.length !== 1) asmError('invalid number of operands for call', s.line, s.column, 'E_EBPF_ASM_OPERANDS');
  const o = ops[0];
  if (kind === 'local') return jumpTo(s, o, { code: BPF_JMP | 0x80, dst: 0, src: 1, off: 0, imm: 0 }, 'imm', p);
  if (kind === 'helper' && isReg(o)) return add(s, p, { code: BPF_JMP | 0x80 | BPF_X, dst: regOf(s, o), src: 0, off: 0, imm: 0 });
  add(s, p, { code: BPF_JMP | 0x80, dst: 0, src: kind === 'runtime' ? 2 : 0, off: 0, imm: imm32(s, o) });
});

const LOCK_OPS = new Map<string, number>();
for (const a of ATOMIC_BY_IMM.values()) if (!a.name.includes('_')) LOCK_OPS.set(a.name, a.imm);

function lock(s: Stmt, p: AsmProgram, words: string): void {
  // The operation words sit between `lock` and the first operand: `lock fetch add32 [%r1+0], %r2`.
  const m = /^((?:fetch\s+)?)(add|or|and|xor|xchg|cmpxchg)(32)?$/.exec(words.trim());
  if (s.ops.length !== 2) asmError('invalid number of operands for lock', s.line, s.column, 'E_EBPF_ASM_OPERANDS');
  if (!m) asmError(`invalid lock operation "${words.trim()}"`, s.line, s.column, 'E_EBPF_ASM_MNEMONIC');
  const name = (m[1] ? 'fetch ' : '') + m[2];
  const op = LOCK_OPS.get(name);
  if (op === undefined) asmError(`invalid lock operation "${name}"`, s.line, s.column, 'E_EBPF_ASM_MNEMONIC');
  const dst = memOf(s, s.ops[0]);
  add(s, p, { code: BPF_STX | BPF_ATOMIC | (m[3] ? BPF_W : BPF_DW), dst: dst.reg, src: regOf(s, s.ops[1]), off: dst.off, imm: op });
}

/** Splits `a, [b + c], d` into operands with their columns; commas inside brackets do not split. */
function splitOperands(text: string, base: number): Operand[] {
  const out: Operand[] = [];
  let depth = 0;
  let start = 0;
  const push = (end: number): void => {
    const piece = text.slice(start, end);
    const lead = piece.length - piece.trimStart().length;
    out.push({ text: piece.trim(), column: base + start + lead });
  };
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '[') depth++;
    else if (text[i] === ']') depth--;
    else if (text[i] === ',' && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  if (text.trim() !== '' || out.length) push(text.length);
  return out;
}

/**
 * Assembles bpf_conformance syntax (see the corpus README): one instruction per line,
 * `name:` labels, an implicit `exit` label at the first `exit`, `.8byte 0x…` raw slots.
 * Throws a ParseError with line and column for every rule the syntax states.
 */
export function assembleConformance(text: string): Insn[] {
  const prog = new AsmProgram();
  let firstExit: number | undefined;
  text.split(/\r?\n/).forEach((rawLine, li) => {
    const line = li + 1;
    const s = stripComment(rawLine);
    const start = s.search(/\S/);
    if (start < 0) return;
    const body = s.slice(start);
    const label = /^([A-Za-z_.$][\w.$]*)\s*:$/.exec(body);
    if (label) return prog.label(label[1], line, start + 1);
    const raw8 = /^\.8byte\s+(\S+)$/.exec(body);
    if (raw8) {
      const v = parseNumber(raw8[1]);
      if (v === undefined || v < 0n || v >= 1n << 64n) asmError(`invalid .8byte value "${raw8[1]}"`, line, start + 1);
      return prog.addRaw(v, line, start + 1);
    }
    prog.breakRaw();
    const mm = /^[A-Za-z_.][\w.]*/.exec(body);
    if (!mm) asmError(`cannot parse "${body}"`, line, start + 1, 'E_EBPF_ASM_SYNTAX');
    const mnemonic = mm[0];
    let rest = body.slice(mnemonic.length);
    let restCol = start + 1 + mnemonic.length;
    if (mnemonic === 'lock') {
      // Operation words run up to the first operand (`[` or `%`).
      const firstOp = rest.search(/[[%]/);
      const words = firstOp < 0 ? rest : rest.slice(0, firstOp);
      const stmt: Stmt = { line, column: start + 1, mnemonic, ops: firstOp < 0 ? [] : splitOperands(rest.slice(firstOp), restCol + firstOp) };
      return lock(stmt, prog, words);
    }
    const handler = MNEMONICS.get(mnemonic);
    if (!handler) asmError(`invalid mnemonic "${mnemonic}"`, line, start + 1, 'E_EBPF_ASM_MNEMONIC');
    if (rest !== '' && !/^\s/.test(rest)) asmError(`invalid mnemonic "${body.split(/\s/)[0]}"`, line, start + 1, 'E_EBPF_ASM_MNEMONIC');
    const lead = rest.length - rest.trimStart().length;
    rest = rest.trimStart();
    restCol += lead;
    const stmt: Stmt = { line, column: start + 1, mnemonic, ops: splitOperands(rest, restCol) };
    if (stmt.ops.some((o) => o.text === '')) asmError('empty operand', line, start + 1, 'E_EBPF_ASM_OPERANDS');
    if (mnemonic === 'exit' && firstExit === undefined) firstExit = prog.slots;
    handler(stmt, prog);
  });
  return prog.finish((name) => (name === 'exit' ? firstExit : undefined));
}
