/** A `.BTF.ext` reader: per-section func info, line info and CO-RE relocation records of a clang object. */

import { elfFail } from './elf-error.js';
import type { ProgramSpec } from '../ebpf/index.js';
import type { Btf } from './btf.js';

/** One func_info record: the function starting at `insnOff` (bytes into its section) has BTF FUNC `typeId`. */
export interface BtfFuncInfo { insnOff: number; typeId: number }
/** One line_info record: the source line of the instruction at `insnOff` (bytes into its section). */
export interface BtfLineInfo { insnOff: number; fileName: string; line: string; lineNum: number; column: number; fileNameOff: number; lineOff: number }
/** One CO-RE relocation (`struct bpf_core_relo`): patch the instruction at `insnOff` by `kind` over `accessStr` from `typeId`. */
export interface BtfCoreRelo { insnOff: number; typeId: number; accessStr: string; kind: CoreReloKind }

/** `enum bpf_core_relo_kind`. */
export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0, FIELD_BYTE_SIZE: 1, FIELD_EXISTS: 2, FIELD_SIGNED: 3, FIELD_LSHIFT_U64: 4, FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6, TYPE_ID_TARGET: 7, TYPE_EXISTS: 8, TYPE_SIZE: 9, ENUMVAL_EXISTS: 10, ENUMVAL_VALUE: 11, TYPE_MATCHES: 12,
} as const;
export type CoreReloKind = (typeof CoreReloKind)[keyof typeof CoreReloKind];

/** Parsed `.BTF.ext`, records grouped by the ELF section name they apply to. */
export interface BtfExt {
  funcInfo: Map<string, BtfFuncInfo[]>;
  lineInfo: Map<string, BtfLineInfo[]>;
  coreRelos: Map<string, BtfCoreRelo[]>;
}

// Offsets are from the start of the .BTF.ext data.
function fail(code: string, message: string, offset: number): never {
  elfFail(code, message, offset, '.BTF.ext');
}

/** Parses `.BTF.ext`; names come from the object's `.BTF` string table. Throws `E_BTF_EXT_*` FormatErrors. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  if (bytes.length < 24) fail('E_BTF_EXT_TRUNCATED', 'btf.ext too short for its header', bytes.length);
  const le = btf.littleEndian;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint16(0, le) !== 0xeb9f) fail('E_BTF_EXT_MAGIC', 'not btf.ext (bad magic)', 0);
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.length) fail('E_BTF_EXT_TRUNCATED', `btf.ext header length ${hdrLen} outside the data`, 4);
  const out: BtfExt = { funcInfo: new Map(), lineInfo: new Map(), coreRelos: new Map() };
  // Each info block: a record size, then (section name, count, records) groups.
  const block = <T>(offField: number, into: Map<string, T[]>, minRec: number, rec: (at: number) => T): void => {
    if (offField + 8 > hdrLen) return;
    const off = v.getUint32(offField, le), len = v.getUint32(offField + 4, le);
    if (len === 0) return;
    const start = hdrLen + off, end = start + len;
    if (end > bytes.length || len < 4) fail('E_BTF_EXT_TRUNCATED', 'btf.ext info block past end of data', offField);
    const recSize = v.getUint32(start, le);
    if (recSize < minRec) fail('E_BTF_EXT_RECORD', `btf.ext record size ${recSize} too small`, start);
    let at = start + 4;
    while (at < end) {
      if (at + 8 > end) fail('E_BTF_EXT_TRUNCATED', 'btf.ext section header past end of block', at);
      const nameOff = v.getUint32(at, le);
      if (nameOff === 0 || nameOff >= btf.stringsLength) fail('E_BTF_EXT_STRING', `section name offset ${nameOff} outside the btf string section`, at);
      const sec = btf.string(nameOff);
      const n = v.getUint32(at + 4, le);
      at += 8;
      if (at + n * recSize > end) fail('E_BTF_EXT_TRUNCATED', `btf.ext records of ${sec} past end of block`, at);
      const list = into.get(sec) ?? [];
      for (let i = 0; i < n; i++, at += recSize) list.push(rec(at));
      into.set(sec, list);
    }
  };
  // Every string and type id a record names must exist in the object's BTF.
  const str = (at: number): string => {
    const off = v.getUint32(at, le);
    if (off >= btf.stringsLength) fail('E_BTF_EXT_STRING', `string offset ${off} outside the btf string section`, at);
    return btf.string(off);
  };
  const typeId = (at: number): number => {
    const id = v.getUint32(at, le);
    if (id >= btf.types.length) fail('E_BTF_EXT_TYPE_ID', `type id ${id} out of range (${btf.types.length - 1} types)`, at);
    return id;
  };
  block(8, out.funcInfo, 8, (at) => ({ insnOff: v.getUint32(at, le), typeId: typeId(at + 4) }));
  block(16, out.lineInfo, 16, (at) => {
    const lc = v.getUint32(at + 12, le);
    const fileNameOff = v.getUint32(at + 4, le), lineOff = v.getUint32(at + 8, le);
    return { insnOff: v.getUint32(at, le), fileName: str(at + 4), line: str(at + 8), lineNum: lc >>> 10, column: lc & 0x3ff, fileNameOff, lineOff };
  });
  block(24, out.coreRelos, 16, (at) => {
    const kind = v.getUint32(at + 12, le);
    if (kind > CoreReloKind.TYPE_MATCHES) fail('E_BTF_EXT_KIND', `unknown co-re relocation kind ${kind}`, at + 12);
    const accessStr = str(at + 8);
    if (!/^\d{1,9}(:\d{1,9})*$/.test(accessStr)) fail('E_BTF_EXT_ACCESS', `co-re access string ${JSON.stringify(accessStr.slice(0, 40))} is not indices joined by ':'`, at + 8);
    return { insnOff: v.getUint32(at, le), typeId: typeId(at + 4), accessStr, kind: kind as CoreReloKind };
  });
  return out;
}

/** `struct bpf_func_info` records (insn_off in instructions, type_id) for PROG_LOAD's `func_info` (record size 8), little-endian. */
export function encodeFuncInfo(spec: ProgramSpec): Uint8Array {
  const list = spec.funcInfo ?? [];
  const out = new Uint8Array(list.length * 8);
  const v = new DataView(out.buffer);
  list.forEach((f, i) => { v.setUint32(i * 8, f.insn, true); v.setUint32(i * 8 + 4, f.typeId, true); });
  return out;
}

/** `struct bpf_line_info` records for PROG_LOAD's `line_info` (record size 16); string offsets are into the object's BTF. */
export function encodeLineInfo(spec: ProgramSpec): Uint8Array {
  const list = spec.lineInfo ?? [];
  const out = new Uint8Array(list.length * 16);
  const v = new DataView(out.buffer);
  list.forEach((l, i) => {
    v.setUint32(i * 16, l.insn, true);
    v.setUint32(i * 16 + 4, l.fileNameOff ?? 0, true);
    v.setUint32(i * 16 + 8, l.lineOff ?? 0, true);
    v.setUint32(i * 16 + 12, ((l.lineNum << 10) | (l.column & 0x3ff)) >>> 0, true);
  });
  return out;
}
