/** Reader for classic BPF text: detects tcpdump `-d`/`-dd`/`-ddd` listings or bpf_asm source and turns it into instructions. */

import { ParseError } from '../../util/index.js';
import { insn, type Insn } from '../insn.js';
import { SKF_AD_OFF } from '../opcodes.js';
import { ANCILLARY_BY_NAME, OPCODES, type OperandForm } from '../table.js';
import type { ProgramFormat } from './format.js';

const NUM = String.raw`-?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)`;

/** Parses a number as bpf_asm does (decimal, 0x hex, 0b binary, leading 0 octal, optional minus). */
function parseNumber(text: string, line: number, column: number): number {
  const t = text.trim();
  const neg = t.startsWith('-');
  const body = neg ? t.slice(1) : t;
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[bB][01]+$/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[0-7]+$/.test(body)) v = parseInt(body.slice(1), 8);
  else if (/^\d+$/.test(body)) v = parseInt(body, 10);
  else throw new ParseError('E_CBPF_NUMBER', `"${t}" is not a number`, { position: { line, column } });
  if (neg) v = -v;
  if (v > 0xffffffff || v < -0x80000000) {
    throw new ParseError('E_CBPF_RANGE', `${t} does not fit in 32 bits`, { position: { line, column } });
  }
  return v >>> 0;
}

interface Line {
  text: string;
  /** 1-based line number. */
  line: number;
}

/** Splits into lines, dropping `;`/`//` comments and blank lines. */
function contentLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    let t = raw;
    const cut = t.search(/;|\/\//);
    if (cut >= 0) t = t.slice(0, cut);
    if (t.trim() !== '') out.push({ text: t, line: i + 1 });
  });
  return out;
}

/** Guesses the format of a program text from its first lines. */
export function detectFormat(text: string): ProgramFormat {
  const lines = contentLines(text);
  if (lines.length === 0) return 'asm';
  const first = lines[0].text;
  if (/^\s*\{/.test(first)) return 'dd';
  if (/^\s*\(\d+\)/.test(first)) return 'd';
  if (/^\s*\d+\s*$/.test(first) && (lines.length === 1 || /^\s*\d+\s+\d+\s+\d+\s+\d+\s*$/.test(lines[1].text))) return 'ddd';
  return 'asm';
}

function col(l: Line, sub: string): number {
  const i = l.text.indexOf(sub);
  return i >= 0 ? i + 1 : 1;
}

function checkField(v: number, max: number, what: string, l: Line, sub: string): number {
  if (v > max) throw new ParseError('E_CBPF_RANGE', `${what} ${v} out of range (max ${max})`, { position: { line: l.line, column: col(l, sub) } });
  return v;
}

function parseDd(lines: Line[]): Insn[] {
  const re = new RegExp(String.raw`^\s*\{\s*(${NUM})\s*,\s*(${NUM})\s*,\s*(${NUM})\s*,\s*(${NUM})\s*\}\s*,?\s*$`);
  return lines.map((l) => {
    const m = re.exec(l.text);
    if (!m) throw new ParseError('E_CBPF_SYNTAX', 'expected "{ code, jt, jf, k },"', { position: { line: l.line, column: 1 } });
    const [code, jt, jf] = [m[1], m[2], m[3]].map((s, i) => checkField(parseNumber(s, l.line, col(l, s)), i === 0 ? 0xffff : 0xff, ['code', 'jt', 'jf'][i], l, s));
    return insn(code, parseNumber(m[4], l.line, col(l, m[4])), jt, jf);
  });
}

function parseDdd(lines: Line[]): Insn[] {
  const count = parseNumber(lines[0].text, lines[0].line, 1);
  const body = lines.slice(1);
  if (count !== body.length) {
    throw new ParseError('E_CBPF_COUNT', `count line says ${count} instructions but ${body.length} follow`, { position: { line: lines[0].line, column: 1 } });
  }
  return body.map((l) => {
    const f = l.text.trim().split(/\s+/);
    if (f.length !== 4) throw new ParseError('E_CBPF_SYNTAX', 'expected "code jt jf k"', { position: { line: l.line, column: 1 } });
    const [code, jt, jf] = f.slice(0, 3).map((s, i) => checkField(parseNumber(s, l.line, col(l, s)), i === 0 ? 0xffff : 0xff, ['code', 'jt', 'jf'][i], l, s));
    return insn(code, parseNumber(f[3], l.line, col(l, f[3])), jt, jf);
  });
}

/** A parsed operand: its form and k. */
interface Operand {
  form: OperandForm | 'unimp';
  k: number;
}

/** Parses the operand text of a non-jump part (`[12]`, `#0x800`, `M[3]`, `x`, ...). */
function parseOperand(text: string, l: Line): Operand {
  const t = text.trim();
  const c = col(l, t || text);
  const num = (s: string): number => parseNumber(s, l.line, col(l, s));
  let m: RegExpExecArray | null;
  if (t === '') return { form: 'none', k: 0 };
  if (/^%?x$/i.test(t)) return { form: 'x', k: 0 };
  if (/^%?a$/i.test(t)) return { form: 'a', k: 0 };
  if (/^#?(pkt)?len$/.test(t)) return { form: 'len', k: 0 };
  if ((m = new RegExp(`^#\\s*(${NUM})$`).exec(t))) return { form: 'imm', k: num(m[1]) };
  if ((m = new RegExp(`^M\\s*\\[\\s*(${NUM})\\s*\\]$`).exec(t))) return { form: 'mem', k: num(m[1]) };
  if ((m = new RegExp(`^\\[\\s*%?x\\s*(?:\\+\\s*(${NUM})\\s*)?\\]$`, 'i').exec(t))) return { form: 'ind', k: m[1] === undefined ? 0 : num(m[1]) };
  if ((m = new RegExp(`^\\[\\s*(${NUM})\\s*\\]$`).exec(t))) return { form: 'abs', k: num(m[1]) };
  if ((m = new RegExp(`^4\\s*\\*\\s*\\(\\s*\\[\\s*(${NUM})\\s*\\]\\s*&\\s*0x[fF]\\s*\\)$`).exec(t))) return { form: 'msh', k: num(m[1]) };
  if ((m = /^\[?\s*#?([a-z_]+)\s*\]?$/.exec(t))) {
    const off = ANCILLARY_BY_NAME.get(m[1]);
    if (off !== undefined) return { form: 'abs', k: (SKF_AD_OFF + off) >>> 0 };
  }
  if ((m = new RegExp(`^(${NUM})$`).exec(t))) return { form: 'unimp', k: num(m[1]) };
  throw new ParseError('E_CBPF_OPERAND', `cannot read operand "${t}"`, { position: { line: l.line, column: c } });
}

/** Mnemonic + operand form → opcode, from the table plus bpf_asm's extra spellings. */
const BY_NAME = new Map<string, number>();
for (const o of OPCODES) {
  const form = o.form === 'kdec' || o.form === 'khex' ? 'imm' : o.form === 'jk' ? 'imm' : o.form === 'jx' ? 'x' : o.form;
  BY_NAME.set(`${o.name} ${form}`, o.code);
}
BY_NAME.set('ldi imm', 0x00);
BY_NAME.set('ldxi imm', 0x01);
BY_NAME.set('ldx msh', 0xb1);
BY_NAME.set('ret none', 0x16);
BY_NAME.set('ret x', 0x0e);
BY_NAME.set('jmp ja', 0x05);
/** bpf_asm's jump-if-false mnemonics, and the opcode they stand for. */
const NEGATED: Record<string, string> = { jne: 'jeq', jneq: 'jeq', jlt: 'jge', jle: 'jgt' };

function lookup(mnemonic: string, form: string, l: Line): number {
  const code = BY_NAME.get(`${mnemonic} ${form}`);
  if (code === undefined) {
    const known = [...BY_NAME.keys()].some((key) => key.startsWith(mnemonic + ' ')) || mnemonic in NEGATED;
    throw new ParseError(known ? 'E_CBPF_OPERAND' : 'E_CBPF_MNEMONIC', known ? `${mnemonic} does not take this operand` : `unknown instruction "${mnemonic}"`, {
      position: { line: l.line, column: col(l, mnemonic) },
    });
  }
  return code;
}

function relative(target: number, n: number, max: number, l: Line, what: string, column = col(l, String(target))): number {
  const off = target - n - 1;
  if (off < 0 || off > max) {
    throw new ParseError('E_CBPF_JUMP_RANGE', `${what} ${target} is out of reach from instruction ${n}`, { position: { line: l.line, column } });
  }
  return off;
}

function parseD(lines: Line[]): Insn[] {
  return lines.map((l, seq) => {
    const m = /^\s*\((\d+)\)\s+([a-z]+)\s*(.*?)\s*$/.exec(l.text);
    if (!m) throw new ParseError('E_CBPF_SYNTAX', 'expected "(NNN) op operand"', { position: { line: l.line, column: 1 } });
    const n = parseInt(m[1], 10);
    if (n !== seq) throw new ParseError('E_CBPF_SYNTAX', `instruction (${m[1]}) out of sequence, expected ${seq}`, { position: { line: l.line, column: col(l, m[1]) } });
    const mnemonic = m[2];
    let rest = m[3];
    let jt = 0;
    let jf = 0;
    let jump = false;
    const j = /^(.*?)\s*jt\s+(\d+)\s+jf\s+(\d+)$/.exec(rest);
    if (j) {
      rest = j[1];
      jump = true;
      const at = l.text.search(/jt\s+\d+\s+jf/);
      jt = relative(parseInt(j[2], 10), n, 255, l, 'jt', at + 4);
      jf = relative(parseInt(j[3], 10), n, 255, l, 'jf', l.text.search(/jf\s+\d+\s*$/) + 4);
    }
    if (mnemonic === 'unimp') {
      const op = parseOperand(rest, l);
      return insn(checkField(op.k, 0xffff, 'code', l, rest), 0, jt, jf);
    }
    if (mnemonic === 'ja') {
      const target = parseNumber(rest, l.line, col(l, rest)) | 0;
      return insn(lookup('ja', 'ja', l), target - n - 1);
    }
    const op = parseOperand(rest, l);
    const code = lookup(mnemonic, op.form, l);
    const isCond = ['jeq', 'jgt', 'jge', 'jset'].includes(mnemonic);
    if (isCond !== jump) throw new ParseError('E_CBPF_SYNTAX', isCond ? 'conditional jump needs "jt N jf M"' : 'only conditional jumps take jt/jf', { position: { line: l.line, column: 1 } });
    return insn(code, op.k, jt, jf);
  });
}

interface AsmInsn {
  l: Line;
  mnemonic: string;
  operand: string;
  labels: string[];
}

function parseAsm(lines: Line[]): Insn[] {
  const labels = new Map<string, number>();
  const items: AsmInsn[] = [];
  for (const l of lines) {
    let t = l.text;
    let m: RegExpExecArray | null;
    while ((m = /^\s*([A-Za-z_.][\w.]*)\s*:/.exec(t))) {
      if (labels.has(m[1])) throw new ParseError('E_CBPF_LABEL', `label "${m[1]}" defined twice`, { position: { line: l.line, column: col(l, m[1]) } });
      labels.set(m[1], items.length);
      t = t.slice(m[0].length);
    }
    if (t.trim() === '') continue;
    const im = /^\s*([A-Za-z_.][\w.]*)\s*(.*?)\s*$/.exec(t);
    if (!im) throw new ParseError('E_CBPF_SYNTAX', 'expected an instruction', { position: { line: l.line, column: 1 } });
    items.push({ l, mnemonic: im[1].toLowerCase(), operand: im[2], labels: [] });
  }
  const target = (name: string, l: Line): number => {
    const t = labels.get(name.trim());
    if (t === undefined) throw new ParseError('E_CBPF_LABEL', `undefined label "${name.trim()}"`, { position: { line: l.line, column: col(l, name.trim()) } });
    return t;
  };
  return items.map(({ l, mnemonic, operand }, n) => {
    if (mnemonic === '.insn') {
      const f = operand.split(',');
      if (f.length !== 4) throw new ParseError('E_CBPF_SYNTAX', 'expected ".insn code, jt, jf, k"', { position: { line: l.line, column: 1 } });
      const [code, jt, jf, k] = f.map((s) => parseNumber(s, l.line, col(l, s.trim())));
      return insn(checkField(code, 0xffff, 'code', l, f[0]), k, checkField(jt, 0xff, 'jt', l, f[1]), checkField(jf, 0xff, 'jf', l, f[2]));
    }
    if (mnemonic === 'ja' || mnemonic === 'jmp') {
      return insn(0x05, target(operand, l) - n - 1);
    }
    const base = NEGATED[mnemonic] ?? mnemonic;
    if (['jeq', 'jgt', 'jge', 'jset'].includes(base)) {
      const parts = operand.split(',');
      if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && base !== mnemonic)) {
        throw new ParseError('E_CBPF_SYNTAX', `${mnemonic} takes an operand and ${base !== mnemonic ? 'one label' : 'one or two labels'}`, { position: { line: l.line, column: col(l, mnemonic) } });
      }
      const op = parseOperand(parts[0], l);
      const code = lookup(base, op.form, l);
      const first = relative(target(parts[1], l), n, 255, l, 'jump to');
      const second = parts.length === 3 ? relative(target(parts[2], l), n, 255, l, 'jump to') : 0;
      return base !== mnemonic ? insn(code, op.k, 0, first) : insn(code, op.k, first, second);
    }
    const op = parseOperand(operand, l);
    return insn(lookup(mnemonic, op.form, l), op.k);
  });
}

/**
 * Reads a program in any of the four text formats (detected with {@link detectFormat}, or
 * forced with `format`). Throws a {@link ParseError} with the line and column of the problem.
 */
export function parseProgram(text: string, format: ProgramFormat = detectFormat(text)): Insn[] {
  const lines = contentLines(text);
  if (lines.length === 0) throw new ParseError('E_CBPF_EMPTY', 'empty program', { position: { line: 1, column: 1 } });
  switch (format) {
    case 'dd':
      return parseDd(lines);
    case 'ddd':
      return parseDdd(lines);
    case 'd':
      return parseD(lines);
    case 'asm':
      return parseAsm(lines);
  }
}
