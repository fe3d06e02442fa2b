/** ELF symbols of executables and shared objects (`.symtab` and `.dynsym`) resolved to file offsets through the program headers, for uprobes and USDT. */

import { FormatError, UsageError } from '../util/index.js';
import { SHT_NOBITS, SHT_SYMTAB, STT_FUNC } from './elf.js';

/** Section type of the dynamic symbol table. */
export const SHT_DYNSYM = 11;
/** Program header type of a loadable segment. */
export const PT_LOAD = 1;
/** STT_GNU_IFUNC: an indirect function (glibc's `memcpy` and friends). */
export const STT_GNU_IFUNC = 10;

/** One program header (segment). */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** A symbol of an executable or shared object, with the file offset a uprobe needs. */
export interface ElfBinarySymbol {
  name: string;
  /** The symbol's virtual address as the file states it (st_value). */
  address: number;
  size: number;
  type: number;
  bind: number;
  /** Where the symbol's bytes are in the file (address → offset through its PT_LOAD segment). */
  offset: number;
  /** Which table it came from. */
  table: '.symtab' | '.dynsym';
}

/** A section header of an executable or shared object (with its address, which `readElf` does not keep). */
export interface ElfSectionHeader {
  index: number;
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  /** The section's bytes (empty for SHT_NOBITS). */
  data: Uint8Array;
}

function header(bytes: Uint8Array): { le: boolean; v: DataView } {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new FormatError('E_ELF_MAGIC', 'not an elf file', { position: { offset: 0 } });
  }
  if (bytes[4] !== 2) throw new FormatError('E_ELF_CLASS', 'not a 64-bit elf file', { position: { offset: 4 } });
  return { le: bytes[5] === 1, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/**
 * The section headers of an ELF64 executable or shared object, bounds-checked. Unlike
 * `readElf` (made for relocatable eBPF objects) it reads no symbols or relocations, so it
 * works on any linked binary, stripped or not.
 */
export function readSectionHeaders(bytes: Uint8Array): ElfSectionHeader[] {
  const { le, v } = header(bytes);
  const shoff = Number(v.getBigUint64(0x28, le));
  const shentsize = v.getUint16(0x3a, le);
  const shnum = v.getUint16(0x3c, le);
  const shstrndx = v.getUint16(0x3e, le);
  if (shnum > 0 && shentsize < 64) throw new FormatError('E_ELF_SHDR', `section header size ${shentsize} too small`, { position: { offset: 0x3a } });
  if (shoff + shnum * shentsize > bytes.length) throw new FormatError('E_ELF_TRUNCATED', 'section headers past end of file', { position: { offset: shoff } });
  const out: ElfSectionHeader[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const type = v.getUint32(at + 4, le);
    const offset = Number(v.getBigUint64(at + 0x18, le));
    const size = Number(v.getBigUint64(at + 0x20, le));
    const present = type !== SHT_NOBITS && type !== 0;
    if (present && offset + size > bytes.length) throw new FormatError('E_ELF_TRUNCATED', `section ${i} past end of file`, { position: { offset: at } });
    out.push({
      index: i, name: '', type, addr: Number(v.getBigUint64(at + 0x10, le)), offset, size, link: v.getUint32(at + 0x28, le),
      data: present ? bytes.subarray(offset, offset + size) : new Uint8Array(0),
    });
  }
  const names = out[shstrndx]?.data;
  if (names) {
    for (const s of out) {
      const off = v.getUint32(shoff + s.index * shentsize, le);
      let end = off;
      while (end < names.length && names[end] !== 0) end++;
      s.name = String.fromCharCode(...names.subarray(Math.min(off, names.length), end));
    }
  }
  return out;
}

/** Reads the program headers of an ELF64 file (bounds-checked). */
export function readSegments(bytes: Uint8Array): ElfSegment[] {
  const { le, v } = header(bytes);
  const phoff = Number(v.getBigUint64(0x20, le));
  const phentsize = v.getUint16(0x36, le);
  const phnum = v.getUint16(0x38, le);
  if (phnum > 0 && phentsize < 56) throw new FormatError('E_ELF_PHDR', `program header size ${phentsize} too small`, { position: { offset: 0x36 } });
  if (phoff + phnum * phentsize > bytes.length) throw new FormatError('E_ELF_TRUNCATED', 'program headers past end of file', { position: { offset: phoff } });
  const out: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    out.push({
      type: v.getUint32(at, le),
      flags: v.getUint32(at + 4, le),
      offset: Number(v.getBigUint64(at + 8, le)),
      vaddr: Number(v.getBigUint64(at + 16, le)),
      filesz: Number(v.getBigUint64(at + 32, le)),
      memsz: Number(v.getBigUint64(at + 40, le)),
    });
  }
  return out;
}

/** The file offset of virtual address `vaddr` (through the PT_LOAD segment holding it), or undefined when no segment maps it. */
export function vaddrToOffset(segments: readonly ElfSegment[], vaddr: number): number | undefined {
  for (const s of segments) {
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
  }
  return undefined;
}

// The symbol tables of one kind, read directly (readElf keeps only the first SHT_SYMTAB).
function tableSymbols(bytes: Uint8Array, sections: readonly ElfSectionHeader[], le: boolean, segments: readonly ElfSegment[], type: number, table: '.symtab' | '.dynsym'): ElfBinarySymbol[] {
  const sec = sections.find((s) => s.type === type);
  if (!sec) return [];
  const strtab = sections[sec.link];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ElfBinarySymbol[] = [];
  for (let at = sec.offset; at + 24 <= sec.offset + sec.size; at += 24) {
    const info = bytes[at + 4];
    const symType = info & 0xf;
    const shndx = v.getUint16(at + 6, le);
    if (shndx === 0 || (symType !== STT_FUNC && symType !== STT_GNU_IFUNC)) continue;
    const nameOff = v.getUint32(at, le);
    if (!strtab || nameOff >= strtab.data.length) continue;
    let end = nameOff;
    while (end < strtab.data.length && strtab.data[end] !== 0) end++;
    const address = Number(v.getBigUint64(at + 8, le));
    const offset = vaddrToOffset(segments, address);
    if (offset === undefined) continue;
    out.push({
      name: String.fromCharCode(...strtab.data.subarray(nameOff, end)),
      address, size: Number(v.getBigUint64(at + 16, le)), type: symType, bind: info >> 4, offset, table,
    });
  }
  return out;
}

/** The function symbols of an executable or shared object, from `.symtab` and `.dynsym` (a stripped binary keeps only `.dynsym`). */
export function functionSymbols(bytes: Uint8Array): ElfBinarySymbol[] {
  const sections = readSectionHeaders(bytes);
  const segments = readSegments(bytes);
  const le = bytes[5] === 1;
  return [...tableSymbols(bytes, sections, le, segments, SHT_SYMTAB, '.symtab'), ...tableSymbols(bytes, sections, le, segments, SHT_DYNSYM, '.dynsym')];
}

/**
 * The file offset of function `name` in an executable or shared object (PIE or not): what a
 * uprobe's `config2` (probe_offset) takes. A `name@VERSION` suffix is ignored. Throws a
 * UsageError (`E_SYMBOL`) when the binary has no such function.
 */
export function symbolOffset(bytes: Uint8Array, name: string): number {
  const bare = name.replace(/@.*$/, '');
  const hit = functionSymbols(bytes).find((s) => s.name === bare);
  if (!hit) throw new UsageError('E_SYMBOL', `no function "${bare}" in the binary's symbol tables`);
  return hit.offset;
}
