/** The ELF loader: a clang `-target bpf` object to a `CollectionSpec` (programs with linked subprograms and relocations, BTF/legacy/global-data maps, CO-RE). */

import { MapType, slots, type Insn, type MapSpec, type ProgramSpec } from '../ebpf/index.js';
import { BpfkitError, UsageError, ValidationError } from '../util/index.js';
import { BtfKind, parseBtf, type Btf, type BtfType } from './btf.js';
import { parseBtfExt, type BtfExt } from './btf-ext.js';
import { kernelBtf } from './btf-fixup.js';
import { patchCoreInsn, resolveCoreRelo } from './core.js';
import {
  EM_BPF, R_BPF_64_32, R_BPF_64_64, SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, STB_LOCAL, STT_FUNC, STT_SECTION,
  decodeCodeSection, readElf, type ElfFile, type ElfSection, type ElfSymbol,
} from './elf.js';
import { ElfError, elfFail, latin1 } from './elf-error.js';
import { matchSection } from './section-defs.js';

/** Everything an object file declares: plain data. */
export interface CollectionSpec {
  programs: Map<string, ProgramSpec>;
  maps: Map<string, MapSpec>;
  license: string;
  /** The `version` section (kernel version for old kprobe loaders), 0 when absent. */
  version: number;
  /** The object's own BTF, when it has a `.BTF` section. */
  btf?: Btf;
  btfExt?: BtfExt;
}

/** Options of {@link loadCollectionSpec}. */
export interface CollectionOptions {
  /** BTF that CO-RE relocations resolve against (the running kernel's vmlinux); default: the object's own BTF. */
  targetBtf?: Btf;
}

/** BPF_F_RDONLY_PROG / BPF_F_MMAPABLE: libbpf gives every global-data map MMAPABLE, and `.rodata` RDONLY_PROG too. */
const BPF_F_RDONLY_PROG = 0x80, BPF_F_MMAPABLE = 0x400;
const BPF_PSEUDO_MAP_FD = 1, BPF_PSEUDO_MAP_VALUE = 2, BPF_PSEUDO_CALL = 1, BPF_PSEUDO_FUNC = 4;
const LDDW = 0x18, CALL = 0x85;

function fail(code: string, message: string, offset: number, section?: string): never {
  elfFail(code, message, offset, section);
}

// Global data sections become one-value array maps, as libbpf's `.data`/`.rodata`/`.bss`/`.data.*`.
function isDataSection(s: ElfSection): boolean {
  if ((s.flags & SHF_ALLOC) === 0 || (s.flags & SHF_EXECINSTR) !== 0) return false;
  if (s.type !== SHT_PROGBITS && s.type !== SHT_NOBITS) return false;
  return /^\.(data|rodata|bss)(\..*)?$/.test(s.name);
}

function cString(b: Uint8Array): string {
  let end = 0;
  while (end < b.length && b[end] !== 0) end++;
  return latin1(b.subarray(0, end));
}

// `__uint(name, N)` is `int (*name)[N]`: read N from the pointer-to-array.
/** The map definition being read: its name and the file offset of its variable in `.maps` (where errors point). */
interface MapDef { name: string; at: number }

// Map definition errors name the map, its BTF type, and the file offset of its definition in `.maps`.
function mapBtfFail(d: MapDef, what: string, typeId: number): never {
  throw new ElfError('E_ELF_MAP_BTF', `map "${d.name}": ${what} (btf type ${typeId})`, d.at, '.maps');
}

function uintMember(btf: Btf, typeId: number, d: MapDef, what: string): number {
  const p = btf.resolve(typeId);
  const a = p.kind === BtfKind.PTR ? btf.resolve(p.type) : undefined;
  if (!a || a.kind !== BtfKind.ARRAY || !a.array) mapBtfFail(d, `field ${what} is not __uint()`, typeId);
  return a.array.nelems;
}

// `__type(name, T)` is `T *name`.
function typeMember(btf: Btf, typeId: number, d: MapDef, what: string): number {
  const p = btf.resolve(typeId);
  if (p.kind !== BtfKind.PTR) mapBtfFail(d, `field ${what} is not __type()`, typeId);
  return btf.sizeOf(p.type);
}

/** Reads one BTF map definition (`struct { __uint(type, ...); ... }`) into a MapSpec; `depth` bounds nested inner maps. */
function btfMapSpec(btf: Btf, d: MapDef, def: BtfType, depth = 0): MapSpec {
  const name = d.name;
  if (def.kind !== BtfKind.STRUCT) mapBtfFail(d, 'definition is not a struct', def.id);
  if (depth > 1) mapBtfFail(d, 'inner map of an inner map', def.id);
  const spec: MapSpec = { name, type: MapType.BPF_MAP_TYPE_UNSPEC, keySize: 0, valueSize: 0, maxEntries: 0 };
  for (const m of def.members ?? []) {
    switch (m.name) {
      case 'type': spec.type = uintMember(btf, m.type, d, m.name) as MapType; break;
      case 'max_entries': spec.maxEntries = uintMember(btf, m.type, d, m.name); break;
      case 'map_flags': spec.flags = uintMember(btf, m.type, d, m.name); break;
      case 'key_size': spec.keySize = uintMember(btf, m.type, d, m.name); break;
      case 'value_size': spec.valueSize = uintMember(btf, m.type, d, m.name); break;
      case 'key': spec.keySize = typeMember(btf, m.type, d, m.name); spec.btfKeyTypeId = btf.resolve(m.type).type; break;
      case 'value': spec.valueSize = typeMember(btf, m.type, d, m.name); spec.btfValueTypeId = btf.resolve(m.type).type; break;
      case 'pinning': spec.pinning = uintMember(btf, m.type, d, m.name); break;
      case 'map_extra': spec.mapExtra = uintMember(btf, m.type, d, m.name); break;
      case 'numa_node': break;
      case 'values': {
        // `__array(values, struct inner)`: a zero-length array of pointers to the inner definition.
        const arr = btf.resolve(m.type);
        const ptr = arr.kind === BtfKind.ARRAY && arr.array ? btf.resolve(arr.array.type) : undefined;
        const inner = ptr?.kind === BtfKind.PTR ? btf.resolve(ptr.type) : undefined;
        if (!inner) mapBtfFail(d, 'field values is not __array()', m.type);
        if (spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY) break;
        spec.innerMap = btfMapSpec(btf, { name: `${name}.inner`, at: d.at }, inner, depth + 1);
        spec.valueSize = 4;
        break;
      }
      default: mapBtfFail(d, `unknown field "${m.name}"`, def.id);
    }
  }
  if (spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY && spec.valueSize === 0) spec.valueSize = 4;
  if (spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY && spec.keySize === 0) spec.keySize = 4;
  return spec;
}

function collectMaps(elf: ElfFile, btf: Btf | undefined): { maps: Map<string, MapSpec>; bySection: Map<number, 'btf' | 'legacy' | 'data'> } {
  const maps = new Map<string, MapSpec>();
  const bySection = new Map<number, 'btf' | 'legacy' | 'data'>();
  const le = elf.littleEndian;
  for (const s of elf.sections) {
    if (s.name === '.maps') {
      bySection.set(s.index, 'btf');
      if (!btf) fail('E_ELF_NO_BTF', 'object has a .maps section but no .BTF', s.offset, s.name);
      const sec = btf.byName('.maps', BtfKind.DATASEC)[0];
      if (!sec) fail('E_ELF_NO_BTF', 'no btf datasec for .maps', s.offset, s.name);
      const valuesAt = new Map<string, number>();
      for (const si of sec.secinfos ?? []) {
        const v = btf.types[si.type];
        if (!v || v.kind !== BtfKind.VAR) continue;
        const def = btf.resolve(v.type);
        const sym = elf.symbols.find((y) => y.shndx === s.index && y.name === v.name);
        maps.set(v.name, btfMapSpec(btf, { name: v.name, at: s.offset + Math.min(sym?.value ?? 0, s.size) }, def));
        const values = def.members?.find((m) => m.name === 'values');
        if (values) valuesAt.set(v.name, values.bitOffset / 8);
      }
      // `.values = { [i] = &x }`: one 8-byte relocation per initialised slot of the `values` array.
      const defs = elf.symbols.filter((y) => y.shndx === s.index && y.type !== STT_SECTION && maps.has(y.name));
      for (const r of elf.relocations.get(s.index) ?? []) {
        const owner = defs.find((y) => r.offset >= y.value && r.offset < y.value + y.size);
        const start = owner ? valuesAt.get(owner.name) : undefined;
        const target = elf.symbols[r.symbol];
        if (!owner || start === undefined || !target) fail('E_ELF_MAP_INIT', 'relocation outside a values array', s.offset + r.offset, s.name);
        const index = (r.offset - owner.value - start) / 8;
        if (!Number.isInteger(index) || index < 0) fail('E_ELF_MAP_INIT', `relocation at ${r.offset} is not an 8-byte slot of "${owner.name}" values`, s.offset + r.offset, s.name);
        const spec = maps.get(owner.name)!;
        (spec.initialRefs ??= []).push({ index, ref: target.name });
      }
    } else if (s.name === 'maps') {
      bySection.set(s.index, 'legacy');
      const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
      for (const y of elf.symbols.filter((x) => x.shndx === s.index && x.type !== STT_SECTION && x.name)) {
        if (y.value + 16 > s.data.length) fail('E_ELF_MAP_DEF', `legacy map "${y.name}" past the end of the section`, s.offset + Math.min(y.value, s.size), s.name);
        const at = y.value;
        const spec: MapSpec = {
          name: y.name, type: view.getUint32(at, le) as MapType, keySize: view.getUint32(at + 4, le),
          valueSize: view.getUint32(at + 8, le), maxEntries: view.getUint32(at + 12, le),
        };
        if (at + 20 <= s.data.length && (y.size === 0 || y.size >= 20)) spec.flags = view.getUint32(at + 16, le);
        maps.set(y.name, spec);
      }
    } else if (isDataSection(s) && s.size > 0) {
      bySection.set(s.index, 'data');
      const spec: MapSpec = { name: s.name, type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: s.size, maxEntries: 1, flags: BPF_F_MMAPABLE };
      if (s.name.startsWith('.rodata')) spec.flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
      // libbpf types a global-data map's value with its DATASEC (and leaves the key untyped).
      const sec = btf?.byName(s.name, BtfKind.DATASEC)[0];
      if (sec) spec.btfValueTypeId = sec.id;
      if (s.type !== SHT_NOBITS) spec.initialValue = s.data.slice();
      maps.set(s.name, spec);
    }
  }
  return { maps, bySection };
}

// A function: a symbol's range of slots inside an executable section.
interface Func { section: ElfSection; name: string; start: number; end: number; sym?: ElfSymbol }

interface SectionCode {
  section: ElfSection;
  insns: Insn[];
  /** Logical instruction index by slot (-1 for the second half of an lddw). */
  bySlot: Int32Array;
  relocs: Map<number, { type: number; sym: ElfSymbol }>;
  funcs: Func[];
}

function sectionCode(elf: ElfFile, s: ElfSection): SectionCode {
  const insns = decodeCodeSection(elf, s);
  const bySlot = new Int32Array(s.size / 8).fill(-1);
  let slot = 0;
  insns.forEach((ins, i) => { bySlot[slot] = i; slot += slots(ins); });
  // Where a symbol or relocation is: whole instructions, inside the section, never the second half of an lddw.
  const checkSlot = (byteOff: number, what: string, where: number): void => {
    if (byteOff % 8 !== 0 || byteOff >= s.size || bySlot[byteOff / 8] < 0) fail('E_ELF_CODE_OFFSET', `${what} at byte ${byteOff} is not the start of an instruction`, where, s.name);
  };
  const relocs = new Map<number, { type: number; sym: ElfSymbol }>();
  for (const r of elf.relocations.get(s.index) ?? []) {
    const sym = elf.symbols[r.symbol];
    checkSlot(r.offset, 'relocation', s.offset + Math.min(r.offset, s.size));
    if (sym) relocs.set(r.offset / 8, { type: r.type, sym });
  }
  const syms = elf.symbols.filter((y) => y.shndx === s.index && y.type === STT_FUNC).sort((a, b) => a.value - b.value);
  for (const y of syms) {
    checkSlot(y.value, `function "${y.name}"`, s.offset + Math.min(y.value, s.size));
    if (y.size % 8 !== 0 || y.value + y.size > s.size) fail('E_ELF_SYMBOL', `function "${y.name}" of ${y.size} bytes at ${y.value} does not fit whole instructions of the section`, s.offset + y.value, s.name);
  }
  const funcs: Func[] = syms.map((y, i) => {
    const start = y.value / 8;
    const end = y.size > 0 ? start + y.size / 8 : i + 1 < syms.length ? syms[i + 1].value / 8 : bySlot.length;
    return { section: s, name: y.name, start, end, sym: y };
  });
  if (funcs.length === 0) funcs.push({ section: s, name: s.name, start: 0, end: bySlot.length });
  return { section: s, insns, bySlot, relocs, funcs };
}

/**
 * Reads a clang `-target bpf` object (open + prepare, in libbpf's words): every global
 * function of a known program section becomes a ProgramSpec with its subprograms appended
 * and call offsets fixed, map and global-data references named by `ref`, CO-RE relocations
 * resolved; maps come from `.maps` (BTF), `maps` (legacy) and `.data`/`.rodata`/`.bss`.
 * Throws FormatError/ValidationError (`E_ELF_*`, `E_BTF_*`, `E_CORE_*`) on bad input.
 *
 * @example
 * const coll = loadCollectionSpec(readFileSync('xdp.o'));
 * const prog = vm.load(coll.programs.get('xdp_pass')!);
 */
export function loadCollectionSpec(bytes: Uint8Array, options: CollectionOptions = {}): CollectionSpec {
  const elf = readElf(bytes);
  if (elf.machine !== EM_BPF) fail('E_ELF_MACHINE', `not a bpf object (e_machine ${elf.machine})`, 0x12);
  const licSec = elf.section('license');
  const license = licSec ? cString(licSec.data) : '';
  const verSec = elf.section('version');
  const version = verSec && verSec.size >= 4 ? new DataView(verSec.data.buffer, verSec.data.byteOffset, 4).getUint32(0, elf.littleEndian) : 0;
  const btfSec = elf.section('.BTF');
  // DATASEC sizes and variable offsets filled in from the ELF (clang leaves them 0), as libbpf does before anything reads them.
  const btf = btfSec ? parseBtf(kernelBtf(bytes)) : undefined;
  const extSec = elf.section('.BTF.ext');
  const btfExt = extSec && btf ? parseBtfExt(extSec.data, btf) : undefined;
  if (btfExt) checkExtOffsets(elf, btfExt);
  const { maps, bySection } = collectMaps(elf, btf);

  const code = new Map<number, SectionCode>();
  for (const s of elf.sections) {
    if (s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0) code.set(s.index, sectionCode(elf, s));
  }

  const programs = new Map<string, ProgramSpec>();
  for (const sc of code.values()) {
    // libbpf: `SEC("?tc")` is `SEC("tc")` with autoload off, and the `?` is forgotten from then on.
    const optional = sc.section.name.startsWith('?');
    const secName = optional ? sc.section.name.slice(1) : sc.section.name;
    const m = matchSection(secName);
    if (!m) continue; // `.text` and unknown sections hold subprograms only
    for (const f of sc.funcs) {
      if (f.sym && f.sym.bind === STB_LOCAL && sc.funcs.length > 1) continue; // static functions in a program section are subprograms
      try {
        const spec = linkProgram(f, code, elf, maps, bySection, btf, btfExt, options.targetBtf ?? btf);
        spec.type = m.def.type;
        spec.license = license;
        if (m.def.expectedAttachType !== undefined) spec.expectedAttachType = m.def.expectedAttachType;
        spec.sectionName = secName;
        spec.attachTo = m.target;
        if (optional) spec.autoload = false;
        programs.set(spec.name, spec);
      } catch (e) {
        throw e instanceof BpfkitError ? e.withContext(`program "${f.name}" in section "${sc.section.name}"`) : e;
      }
    }
  }
  const out: CollectionSpec = { programs, maps, license, version };
  if (btf) out.btf = btf;
  if (btfExt) out.btfExt = btfExt;
  return out;
}

/** Every func info, line info and CO-RE record must name an instruction start of an existing code section. */
function checkExtOffsets(elf: ElfFile, ext: BtfExt): void {
  const groups: [string, Map<string, { insnOff: number }[]>][] = [['func info', ext.funcInfo], ['line info', ext.lineInfo], ['co-re relocation', ext.coreRelos]];
  for (const [what, bySection] of groups) {
    for (const [name, list] of bySection) {
      const s = elf.section(name);
      if (!s || (s.flags & SHF_EXECINSTR) === 0) fail('E_BTF_EXT_SECTION', `${what} for "${name}", which is not a code section`, 0, '.BTF.ext');
      for (const r of list) {
        if (r.insnOff % 8 !== 0 || r.insnOff >= s.size) fail('E_BTF_EXT_OFFSET', `${what} at byte ${r.insnOff} of "${name}" is not an instruction of it (${s.size} bytes)`, 0, '.BTF.ext');
      }
    }
  }
}

function linkProgram(
  main: Func, code: Map<number, SectionCode>, elf: ElfFile, maps: Map<string, MapSpec>,
  bySection: Map<number, 'btf' | 'legacy' | 'data'>, btf: Btf | undefined, ext: BtfExt | undefined, target: Btf | undefined,
): ProgramSpec {
  // Place functions one after another; `base` is where each starts in the program, in slots.
  const placed: { f: Func; base: number }[] = [{ f: main, base: 0 }];
  const baseOf = new Map<Func, number>([[main, 0]]);
  let next = main.end - main.start;
  const place = (f: Func): number => {
    const b = baseOf.get(f);
    if (b !== undefined) return b;
    baseOf.set(f, next);
    placed.push({ f, base: next });
    next += f.end - f.start;
    return next - (f.end - f.start);
  };
  const funcAt = (sc: SectionCode, slot: number, where: number): Func => {
    const f = sc.funcs.find((x) => slot >= x.start && slot < x.end);
    if (!f || !Number.isInteger(slot) || sc.bySlot[slot] < 0) fail('E_ELF_CALL', `call target slot ${slot} is not an instruction inside a function`, where, sc.section.name);
    return f;
  };
  const usedMaps = new Set<string>();
  const out: Insn[] = [];
  const lineInfo: NonNullable<ProgramSpec['lineInfo']> = [];
  const funcInfo: NonNullable<ProgramSpec['funcInfo']> = [];

  for (let p = 0; p < placed.length; p++) {
    const { f, base } = placed[p];
    const sc = code.get(f.section.index)!;
    const coreBySlot = new Map<number, { value: bigint | undefined }>();
    if (ext && btf && target) {
      for (const r of ext.coreRelos.get(sc.section.name) ?? []) {
        const s = r.insnOff / 8;
        if (s < f.start || s >= f.end) continue;
        try {
          coreBySlot.set(s, { value: resolveCoreRelo(r, btf, target) });
        } catch (e) {
          if (!(e instanceof BpfkitError)) throw e;
          // Positioned at the instruction the relocation patches, in the linked program.
          throw new ValidationError(e.code, `co-re relocation (type ${r.typeId}, access ${r.accessStr}): ${e.detail}`, { position: { insn: base + s - f.start }, cause: e });
        }
      }
    }
    for (let s = f.start; s < f.end; s++) {
      const i = sc.bySlot[s];
      if (i < 0) continue;
      let ins: Insn = { ...sc.insns[i] };
      const at = base + (s - f.start);
      const fileOff = f.section.offset + s * 8;
      const rel = sc.relocs.get(s);
      const isCall = ins.code === CALL && ins.src === BPF_PSEUDO_CALL;
      if (rel && rel.type === R_BPF_64_64 && ins.code === LDDW) {
        const sym = rel.sym;
        const kind = bySection.get(sym.shndx);
        const symSec = elf.sections[sym.shndx];
        const secName = sc.section.name;
        if (sym.shndx === 0) fail('E_ELF_EXTERN', `extern "${sym.name}" not supported`, fileOff, secName);
        if (kind === 'btf' || kind === 'legacy') {
          if (!maps.has(sym.name)) fail('E_ELF_MAP_REF', `lddw refers to unknown map "${sym.name}"`, fileOff, secName);
          ins = { ...ins, src: BPF_PSEUDO_MAP_FD, imm: 0, imm64: 0n, ref: sym.name };
          usedMaps.add(sym.name);
        } else if (kind === 'data') {
          // A section symbol (static variable) carries the offset in imm; a variable symbol in its value.
          const off = (sym.type === STT_SECTION ? 0 : sym.value) + ins.imm;
          if (off < 0 || off >= Math.max(1, symSec.size)) fail('E_ELF_RELOC', `lddw refers to offset ${off} of ${symSec.name} (${symSec.size} bytes)`, fileOff, secName);
          ins = { ...ins, src: BPF_PSEUDO_MAP_VALUE, imm: 0, imm64: BigInt(off >>> 0) << 32n, ref: symSec.name };
          usedMaps.add(symSec.name);
        } else if (symSec && (symSec.flags & SHF_EXECINSTR) !== 0) {
          // Function pointer (bpf_loop callbacks and the like): becomes BPF_PSEUDO_FUNC.
          const tsc = code.get(sym.shndx);
          if (!tsc) fail('E_ELF_RELOC', `lddw refers to "${sym.name || symSec.name}", a code section without instructions`, fileOff, secName);
          const slot = (sym.type === STT_SECTION ? 0 : sym.value / 8) + Math.trunc(ins.imm / 8);
          const tf = funcAt(tsc, slot, fileOff);
          const tb = place(tf) + (slot - tf.start);
          ins = { ...ins, src: BPF_PSEUDO_FUNC, imm: tb - at - 1, imm64: BigInt.asUintN(32, BigInt(tb - at - 1)) };
        } else {
          fail('E_ELF_RELOC', `lddw refers to "${sym.name || symSec?.name}" in a section that is not a map or data section`, fileOff, secName);
        }
      } else if (isCall) {
        let tsc = sc, slot: number;
        if (rel && (rel.type === R_BPF_64_32 || rel.type === R_BPF_64_64)) {
          if (rel.sym.shndx === 0) fail('E_ELF_EXTERN', `call to extern function "${rel.sym.name}" not supported`, fileOff, sc.section.name);
          const c = code.get(rel.sym.shndx);
          if (!c) fail('E_ELF_CALL', `call target "${rel.sym.name}" is not in an executable section`, fileOff, sc.section.name);
          tsc = c;
          slot = rel.sym.value / 8 + ins.imm + 1;
        } else {
          slot = s + ins.imm + 1;
        }
        const tf = funcAt(tsc, slot, fileOff);
        const tb = place(tf) + (slot - tf.start);
        ins = { ...ins, imm: tb - at - 1 };
      }
      const core = coreBySlot.get(s);
      if (core) ins = patchCoreInsn(ins, core.value, at);
      out.push(ins);
    }
    for (const li of ext?.lineInfo.get(sc.section.name) ?? []) {
      const s = li.insnOff / 8;
      if (s >= f.start && s < f.end) lineInfo.push({ insn: base + s - f.start, fileName: li.fileName, line: li.line, lineNum: li.lineNum, column: li.column, fileNameOff: li.fileNameOff, lineOff: li.lineOff });
    }
    for (const fi of ext?.funcInfo.get(sc.section.name) ?? []) {
      const s = fi.insnOff / 8;
      if (s >= f.start && s < f.end) funcInfo.push({ insn: base + s - f.start, typeId: fi.typeId });
    }
  }
  const spec: ProgramSpec = { name: main.name, type: 0, insns: out, license: '' };
  if (usedMaps.size) spec.maps = [...usedMaps].map((n) => maps.get(n)!);
  if (lineInfo.length) spec.lineInfo = lineInfo.sort((a, b) => a.insn - b.insn);
  if (funcInfo.length) spec.funcInfo = funcInfo.sort((a, b) => a.insn - b.insn);
  return spec;
}

/** The source line of instruction `insn` (a slot index) from a program's line info: the last record at or before it. */
export function sourceLine(spec: ProgramSpec, insn: number): { fileName: string; line: string; lineNum: number; column: number } | undefined {
  let hit: NonNullable<ProgramSpec['lineInfo']>[number] | undefined;
  for (const l of spec.lineInfo ?? []) {
    if (l.insn > insn) break;
    hit = l;
  }
  return hit && { fileName: hit.fileName, line: hit.line, lineNum: hit.lineNum, column: hit.column };
}

// Where each BTF-attached program type finds its target in vmlinux (as the kernel names them).
const ATTACH_BTF_NAMES: readonly { expectedAttachType: number; prefix: string; kind: BtfKind }[] = [
  { expectedAttachType: 23, prefix: 'btf_trace_', kind: BtfKind.TYPEDEF }, // BPF_TRACE_RAW_TP
  { expectedAttachType: 24, prefix: '', kind: BtfKind.FUNC }, // BPF_TRACE_FENTRY
  { expectedAttachType: 25, prefix: '', kind: BtfKind.FUNC }, // BPF_TRACE_FEXIT
  { expectedAttachType: 26, prefix: '', kind: BtfKind.FUNC }, // BPF_MODIFY_RETURN
  { expectedAttachType: 27, prefix: 'bpf_lsm_', kind: BtfKind.FUNC }, // BPF_LSM_MAC
  { expectedAttachType: 43, prefix: 'bpf_lsm_', kind: BtfKind.FUNC }, // BPF_LSM_CGROUP
  { expectedAttachType: 28, prefix: 'bpf_iter_', kind: BtfKind.FUNC }, // BPF_TRACE_ITER
];

/**
 * The `attach_btf_id` a tp_btf/fentry/fexit/fmod_ret/lsm/iter program needs (PROG_LOAD's
 * `attachBtfId`), found in the kernel's BTF by its section's target. Undefined for programs
 * that attach without BTF; a UsageError (`E_ELF_ATTACH_BTF`) when the target is missing.
 */
export function attachBtfId(spec: ProgramSpec, vmlinux: Btf): number | undefined {
  const how = ATTACH_BTF_NAMES.find((a) => a.expectedAttachType === spec.expectedAttachType);
  if (!how || spec.type === 0) return undefined;
  const name = `${how.prefix}${spec.attachTo ?? ''}`;
  const hit = vmlinux.byName(name, how.kind)[0];
  if (!hit) throw new UsageError('E_ELF_ATTACH_BTF', `no ${how.kind === BtfKind.FUNC ? 'function' : 'type'} "${name}" in the kernel's btf for program "${spec.name}"`);
  return hit.id;
}
