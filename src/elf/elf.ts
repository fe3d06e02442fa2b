/** A minimal ELF64 reader (either byte order): sections, symbols and relocations of a `clang -target bpf` object, with bounds-checked typed errors. */

import { decodeProgram, LDDW, type Insn } from '../ebpf/index.js';
import { elfFail, latin1 } from './elf-error.js';

/** Section header types used here (SHT_*). */
export const SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9;
/** Section flags (SHF_*). */
export const SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4;
/** Symbol types (STT_*) and bindings (STB_*). */
export const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3;
export const STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2;
/** e_machine of eBPF objects. */
export const EM_BPF = 247;
/** BPF relocation types (R_BPF_*). */
export const R_BPF_NONE = 0, R_BPF_64_64 = 1, R_BPF_64_ABS64 = 2, R_BPF_64_ABS32 = 3, R_BPF_64_NODYLD32 = 4, R_BPF_64_32 = 10;

/** One section; `data` is a view into the file (empty for SHT_NOBITS). */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  data: Uint8Array;
}

/** One symbol of `.symtab`. */
export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  visibility: number;
  /** Section index (SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2). */
  shndx: number;
}

/** One relocation entry (REL or RELA) applying to a section. */
export interface ElfRelocation {
  offset: number;
  type: number;
  symbol: number;
  /** RELA only. */
  addend?: bigint;
}

/** A parsed ELF64 object. */
export interface ElfFile {
  littleEndian: boolean;
  type: number;
  machine: number;
  flags: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** Relocations by the index of the section they apply to. */
  relocations: Map<number, ElfRelocation[]>;
  /** The first section of that name. */
  section(name: string): ElfSection | undefined;
}

function fail(code: string, message: string, offset: number, section?: string): never {
  elfFail(code, message, offset, section);
}

/** Section indices at and above SHN_LORESERVE are special (ABS, COMMON, XINDEX...), not sections. */
const SHN_LORESERVE = 0xff00;

/**
 * Reads an ELF64 file. Throws an ElfError (a FormatError; `E_ELF_*`, with the byte offset and
 * the section concerned) for anything malformed: a header or section past the end of the file,
 * a bad string, symbol or section index, a relocation outside its section. Never reads out of bounds.
 */
export function readElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < 64) fail('E_ELF_TRUNCATED', 'file too short for an elf64 header', bytes.length);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail('E_ELF_MAGIC', 'not an elf file', 0);
  if (bytes[4] !== 2) fail('E_ELF_CLASS', 'not a 64-bit elf file', 4);
  if (bytes[5] !== 1 && bytes[5] !== 2) fail('E_ELF_DATA', 'unknown elf byte order', 5);
  const le = bytes[5] === 1;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => v.getUint16(o, le);
  const u32 = (o: number): number => v.getUint32(o, le);
  const u64 = (o: number, what: string): number => {
    const x = v.getBigUint64(o, le);
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) fail('E_ELF_RANGE', `${what} too large`, o);
    return Number(x);
  };
  const shoff = u64(0x28, 'section header offset');
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);
  if (shnum > 0 && shentsize < 64) fail('E_ELF_SHDR', `section header size ${shentsize} too small`, 0x3a);
  if (shoff + shnum * shentsize > bytes.length) fail('E_ELF_TRUNCATED', 'section headers past end of file', shoff);
  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const type = u32(at + 4);
    const offset = u64(at + 0x18, 'section offset');
    const size = u64(at + 0x20, 'section size');
    if (type !== SHT_NOBITS && type !== SHT_NULL && offset + size > bytes.length) fail('E_ELF_TRUNCATED', `section ${i} past end of file`, at);
    sections.push({
      index: i,
      name: '',
      type,
      flags: u64(at + 8, 'section flags'),
      offset,
      size,
      link: u32(at + 0x28),
      info: u32(at + 0x2c),
      addralign: u64(at + 0x30, 'section alignment'),
      entsize: u64(at + 0x38, 'section entry size'),
      data: type === SHT_NOBITS || type === SHT_NULL ? new Uint8Array(0) : bytes.subarray(offset, offset + size),
    });
  }
  const strAt = (sec: ElfSection | undefined, off: number, where: number): string => {
    if (!sec) return '';
    if (off >= sec.data.length) fail('E_ELF_STRING', `string offset ${off} outside ${sec.name || 'string table'}`, where);
    let end = off;
    while (end < sec.data.length && sec.data[end] !== 0) end++;
    return decodeName(sec.data.subarray(off, end));
  };
  if (shnum > 0 && shstrndx >= shnum) fail('E_ELF_SHSTRNDX', `section name table index ${shstrndx} of ${shnum} sections`, 0x3e);
  const shstr = shstrndx > 0 ? sections[shstrndx] : undefined;
  if (shstr && shstr.type !== SHT_STRTAB) fail('E_ELF_SHSTRNDX', `section name table ${shstrndx} is not a string table`, shoff + shstrndx * shentsize);
  for (const s of sections) s.name = strAt(shstr, u32(shoff + s.index * shentsize), shoff + s.index * shentsize);
  for (const s of sections) {
    const at = shoff + s.index * shentsize;
    // A link names a section; a relocation's info names the section it patches.
    if ((s.type === SHT_SYMTAB || s.type === SHT_REL || s.type === SHT_RELA) && (s.link === 0 || s.link >= shnum)) fail('E_ELF_LINK', `link ${s.link} is not a section`, at + 0x28, s.name);
    if (s.type === SHT_SYMTAB && sections[s.link].type !== SHT_STRTAB) fail('E_ELF_LINK', `symbol names in section ${s.link}, which is not a string table`, at + 0x28, s.name);
    if ((s.type === SHT_REL || s.type === SHT_RELA) && (s.info === 0 || s.info >= shnum)) fail('E_ELF_RELOC', `relocations for section ${s.info}, which does not exist`, at + 0x2c, s.name);
    const ent = s.type === SHT_SYMTAB ? 24 : s.type === SHT_RELA ? 24 : s.type === SHT_REL ? 16 : 0;
    if (ent && s.size % ent !== 0) fail('E_ELF_SIZE', `size ${s.size} is not a multiple of its ${ent}-byte entries`, at + 0x20, s.name);
  }

  const symbols: ElfSymbol[] = [];
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (symtab) {
    const strtab = sections[symtab.link];
    const n = Math.floor(symtab.size / 24);
    for (let i = 0; i < n; i++) {
      const at = symtab.offset + i * 24;
      const info = bytes[at + 4];
      const shndx = u16(at + 6);
      if (shndx >= shnum && shndx < SHN_LORESERVE) fail('E_ELF_SYMBOL', `symbol ${i} is in section ${shndx} of ${shnum}`, at + 6, symtab.name);
      symbols.push({
        index: i,
        name: strAt(strtab, u32(at), at),
        value: u64(at + 8, 'symbol value'),
        size: u64(at + 16, 'symbol size'),
        type: info & 0xf,
        bind: info >> 4,
        visibility: bytes[at + 5] & 3,
        shndx: u16(at + 6),
      });
    }
  }

  const relocations = new Map<number, ElfRelocation[]>();
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    const rela = s.type === SHT_RELA;
    const ent = rela ? 24 : 16;
    const list: ElfRelocation[] = [];
    const target = sections[s.info];
    for (let i = 0; i + ent <= s.size; i += ent) {
      const at = s.offset + i;
      const info = v.getBigUint64(at + 8, le);
      const r: ElfRelocation = { offset: u64(at, 'relocation offset'), type: Number(info & 0xffffffffn), symbol: Number(info >> 32n) };
      if (rela) r.addend = v.getBigInt64(at + 16, le);
      if (r.symbol >= symbols.length && r.symbol !== 0) fail('E_ELF_RELOC', `relocation refers to symbol ${r.symbol} of ${symbols.length}`, at, s.name);
      if (r.offset >= target.size) fail('E_ELF_RELOC', `relocation at offset ${r.offset} outside ${target.name || `section ${s.info}`} (${target.size} bytes)`, at, s.name);
      list.push(r);
    }
    relocations.set(s.info, [...(relocations.get(s.info) ?? []), ...list]);
  }

  return {
    littleEndian: le,
    type: u16(0x10),
    machine: u16(0x12),
    flags: u32(0x30),
    sections,
    symbols,
    relocations,
    section: (name) => sections.find((s) => s.name === name),
  };
}

/** A program section of an eBPF object, decoded, with its function symbols and relocations by instruction index. */
export interface ElfProgramSection {
  section: ElfSection;
  insns: Insn[];
  /** Function (and other) symbols defined in this section, sorted by offset. */
  symbols: ElfSymbol[];
  /** Relocations of this section: instruction index (counted in slots: byte offset / 8) and the symbol's name. */
  relocations: { slot: number; type: number; symbol: string }[];
}

/**
 * The instructions of a code section, in the object's byte order. Throws an ElfError when the
 * section is not whole instructions: a size that is not a multiple of 8, or an `lddw` cut off
 * by the end of the section.
 */
export function decodeCodeSection(elf: ElfFile, section: ElfSection): Insn[] {
  if (section.size % 8 !== 0) fail('E_ELF_CODE_SIZE', `code size ${section.size} is not a multiple of 8`, section.offset, section.name);
  const insns = decodeProgram(section.data, { bigEndian: !elf.littleEndian });
  const last = insns[insns.length - 1];
  if (last && last.code === LDDW && last.imm64 === undefined) fail('E_ELF_CODE', 'lddw cut off by the end of the section', section.offset + section.size - 8, section.name);
  return insns;
}

/** The executable sections (SHF_EXECINSTR, non-empty) of an eBPF object, decoded in the object's byte order. */
export function programSections(elf: ElfFile): ElfProgramSection[] {
  return elf.sections
    .filter((s) => s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0)
    .map((section) => ({
      section,
      insns: decodeCodeSection(elf, section),
      symbols: elf.symbols.filter((y) => y.shndx === section.index && y.type !== STT_SECTION).sort((a, b) => a.value - b.value),
      relocations: (elf.relocations.get(section.index) ?? []).map((r) => ({
        slot: Math.floor(r.offset / 8),
        type: r.type,
        symbol: symbolName(elf, r.symbol),
      })),
    }));
}

// A section symbol has no name of its own; name it after its section, as llvm-objdump does.
function symbolName(elf: ElfFile, index: number): string {
  const s = elf.symbols[index];
  if (!s) return '';
  if (s.type === STT_SECTION || s.name === '') return elf.sections[s.shndx]?.name ?? '';
  return s.name;
}

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

// The core has no TextDecoder (no DOM/Node lib): decode UTF-8 names, falling back to latin-1 for invalid bytes.
function decodeName(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) ascii = false;
  const text = latin1(b);
  if (ascii) return text;
  try {
    return decodeURIComponent(Array.from(b, (x) => `%${x.toString(16).padStart(2, '0')}`).join(''));
  } catch {
    return text;
  }
}
