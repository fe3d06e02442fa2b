/** Reads an eBPF program file for the CLI, whatever its form: raw bytes, hex text, llvm or conformance assembly, a bpf_conformance `.data` file, or an ELF object. */

import { readFileSync } from 'node:fs';
import { BpfkitError, FormatError, ParseError, UsageError, fromHex } from '../util/index.js';
import { assembleConformance, assembleLlvm, decodeProgram, type Insn } from '../ebpf/index.js';
import { isElf, programSections, readElf, type ElfProgramSection } from '../elf/index.js';

/** The assembly syntaxes the CLI reads and writes. */
export type AsmSyntax = 'llvm' | 'conformance';

/** What a program file turned out to be. */
export type ProgramFileFormat = 'elf' | 'raw' | 'hex' | 'llvm' | 'conformance' | 'conformance-data';

/** A loaded program file. */
export interface ProgramFile {
  format: ProgramFileFormat;
  /** The program: the first program section of an ELF object (or the one named by `section`). */
  insns: Insn[];
  /** ELF only: every program section. */
  sections?: ElfProgramSection[];
  /** `.data` files only: the `-- mem` bytes and the `-- result` value. */
  mem?: Uint8Array;
  result?: bigint;
}

/** Options of {@link loadProgramFile}. */
export interface LoadProgramOptions {
  /** Forces the assembly syntax of a text file (otherwise: `%r` means conformance, else llvm). */
  syntax?: AsmSyntax;
  /** ELF: the program section to pick (default: the first). */
  section?: string;
  /** Raw bytes in big-endian layout. */
  bigEndian?: boolean;
}

/** Reads `path` (`-` is stdin) and turns it into instructions; throws BpfkitErrors naming the file. */
export function loadProgramFile(path: string, options: LoadProgramOptions = {}): ProgramFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (e) {
    throw new UsageError('E_FILE', `cannot read ${path}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`, { position: { file: path }, cause: e });
  }
  try {
    return parseProgramBytes(bytes, options);
  } catch (e) {
    if (e instanceof BpfkitError) throw e.withContext(path);
    throw e;
  }
}

/** The same detection over bytes already in memory. */
export function parseProgramBytes(bytes: Uint8Array, options: LoadProgramOptions = {}): ProgramFile {
  if (isElf(bytes)) {
    const sections = programSections(readElf(bytes));
    const pick = options.section === undefined ? sections[0] : sections.find((s) => s.section.name === options.section);
    if (!pick) {
      // Positioned at the section header table, where a reader would look for the sections.
      const shoff = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0x28, bytes[5] !== 2));
      const have = sections.map((s) => s.section.name).join(', ');
      throw new UsageError('E_ELF_NO_PROGRAM', options.section === undefined ? 'no program section in elf file' : `no program section "${options.section}"${have ? ` (have: ${have})` : ''}`, { position: { offset: shoff } });
    }
    return { format: 'elf', insns: pick.insns, sections };
  }
  if (!isText(bytes)) return { format: 'raw', insns: decodeProgram(bytes, { bigEndian: options.bigEndian }) };
  const text = latin1(bytes);
  if (/^\s*--\s*(asm|raw)\b/m.test(text)) return parseDataFile(text);
  const tokens = text.split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length > 0 && tokens.every((t) => /^0x[0-9a-f]{16}$/i.test(t))) {
    return { format: 'hex', insns: wordsToInsns(positioned(text, 1)) };
  }
  if (tokens.length > 0 && tokens.every((t) => /^(0x)?[0-9a-f]+$/i.test(t)) && !options.syntax) {
    return { format: 'hex', insns: decodeProgram(hexLines(text, 1), { bigEndian: options.bigEndian }) };
  }
  const syntax = options.syntax ?? (/%r\d/.test(text) ? 'conformance' : 'llvm');
  return { format: syntax, insns: syntax === 'conformance' ? assembleConformance(text) : assembleLlvm(text) };
}

/** A word of a text and where it is (1-based line and column). */
interface Word { text: string; line: number; column: number }

/** The blank- or comma-separated words of `text`, whose first line is line `firstLine` of its file. */
function positioned(text: string, firstLine: number): Word[] {
  const out: Word[] = [];
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/[^\s,]+/g)) out.push({ text: m[0], line: firstLine + i, column: m.index + 1 });
  });
  return out;
}

/** Hex bytes over several lines; an error names the line and column. */
function hexLines(text: string, firstLine: number): Uint8Array {
  const parts: Uint8Array[] = [];
  text.split('\n').forEach((l, i) => {
    try {
      parts.push(fromHex(l));
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError(e.code, e.detail, { position: { line: firstLine + i, column: e.position?.column } });
      throw e;
    }
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function wordsToInsns(words: readonly Word[]): Insn[] {
  const bad = words.find((w) => !/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(w.text) || BigInt(w.text) > 0xffffffffffffffffn);
  if (bad !== undefined) throw new FormatError('E_EBPF_RAW_WORD', `invalid 64-bit word "${bad.text.slice(0, 40)}"`, { position: { line: bad.line, column: bad.column } });
  const b = new Uint8Array(words.length * 8);
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setBigUint64(i * 8, BigInt(w.text), true));
  return decodeProgram(b);
}

// A bpf_conformance `.data` file: `-- raw` wins over `-- asm`; `#` starts a comment.
function parseDataFile(text: string): ProgramFile {
  // Each section's lines, and the file line its first line is on (errors name file lines).
  const sections = new Map<string, { lines: string[]; first: number }>();
  let cur: string[] | undefined;
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*$/, '').replace(/\r$/, '');
    const h = /--\s*(\w+)/.exec(line);
    if (line.includes('--') && h) {
      cur = [];
      sections.set(h[1], { lines: cur, first: i + 2 });
      return;
    }
    cur?.push(line);
  });
  const get = (k: string): string => (sections.get(k)?.lines ?? []).join('\n');
  const firstLine = (k: string): number => sections.get(k)?.first ?? 1;
  const out: ProgramFile = { format: 'conformance-data', insns: [] };
  const raw = positioned(get('raw'), firstLine('raw'));
  if (sections.has('raw')) {
    out.insns = raw.every((t) => /^[0-9a-f]{2}$/i.test(t.text)) ? decodeProgram(new Uint8Array(raw.map((t) => parseInt(t.text, 16)))) : wordsToInsns(raw);
  } else {
    try {
      out.insns = assembleConformance(get('asm'));
    } catch (e) {
      // The assembler counts lines from the section's start; the file's line is what a reader needs.
      if (e instanceof ParseError && e.position?.line !== undefined) throw new ParseError(e.code, e.detail, { position: { ...e.position, line: e.position.line + firstLine('asm') - 1 } });
      throw e;
    }
  }
  out.mem = hexLines(get('mem'), firstLine('mem'));
  const result = get('result').trim();
  if (result !== '') {
    if (!/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(result)) throw new FormatError('E_EBPF_DATA_RESULT', `invalid result "${result.slice(0, 40)}"`, { position: { line: firstLine('result') } });
    out.result = BigInt.asUintN(64, BigInt(result));
  }
  return out;
}

function isText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 4096)));
  return s;
}
