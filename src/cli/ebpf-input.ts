/** Reads an eBPF program file for the CLI, whatever its form: raw bytes, hex text, llvm or conformance assembly, a bpf_conformance `.data` file, or an ELF object. */

import { readFileSync } from 'node:fs';
import { BpfkitError, FormatError, UsageError, fromHex } from '../util/index.js';
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
      throw new UsageError('E_ELF_NO_PROGRAM', options.section === undefined ? 'no program section in elf file' : `no program section "${options.section}"`);
    }
    return { format: 'elf', insns: pick.insns, sections };
  }
  if (!isText(bytes)) return { format: 'raw', insns: decodeProgram(bytes, { bigEndian: options.bigEndian }) };
  const text = latin1(bytes);
  if (/^\s*--\s*(asm|raw)\b/m.test(text)) return parseDataFile(text);
  const tokens = text.split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length > 0 && tokens.every((t) => /^0x[0-9a-f]{16}$/i.test(t))) {
    return { format: 'hex', insns: wordsToInsns(tokens) };
  }
  if (tokens.length > 0 && tokens.every((t) => /^(0x)?[0-9a-f]+$/i.test(t)) && !options.syntax) {
    return { format: 'hex', insns: decodeProgram(fromHex(text), { bigEndian: options.bigEndian }) };
  }
  const syntax = options.syntax ?? (/%r\d/.test(text) ? 'conformance' : 'llvm');
  return { format: syntax, insns: syntax === 'conformance' ? assembleConformance(text) : assembleLlvm(text) };
}

function wordsToInsns(words: readonly string[]): Insn[] {
  const bad = words.find((w) => !/^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(w));
  if (bad !== undefined) throw new FormatError('E_EBPF_RAW_WORD', `invalid 64-bit word "${bad}"`);
  const b = new Uint8Array(words.length * 8);
  const v = new DataView(b.buffer);
  words.forEach((w, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(w)), true));
  return decodeProgram(b);
}

// A bpf_conformance `.data` file: `-- raw` wins over `-- asm`; `#` starts a comment.
function parseDataFile(text: string): ProgramFile {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*$/, '').replace(/\r$/, '');
    const h = /--\s*(\w+)/.exec(line);
    if (line.includes('--') && h) {
      cur = [];
      sections.set(h[1], cur);
      continue;
    }
    cur?.push(line);
  }
  const get = (k: string): string => (sections.get(k) ?? []).join('\n');
  const out: ProgramFile = { format: 'conformance-data', insns: [] };
  const raw = get('raw').split(/\s+/).filter((t) => t !== '');
  if (sections.has('raw')) {
    out.insns = raw.every((t) => /^[0-9a-f]{2}$/i.test(t)) ? decodeProgram(new Uint8Array(raw.map((t) => parseInt(t, 16)))) : wordsToInsns(raw);
  } else {
    out.insns = assembleConformance(get('asm'));
  }
  const mem = get('mem').trim();
  out.mem = fromHex(mem);
  const result = get('result').trim();
  if (result !== '') {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(result)) throw new FormatError('E_EBPF_DATA_RESULT', `invalid result "${result}"`);
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
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}
