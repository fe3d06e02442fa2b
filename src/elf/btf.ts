/** A BTF reader: the `.BTF` section of an object or `/sys/kernel/btf/vmlinux` to types, with names, sizes and lookups. */

import { elfFail } from './elf-error.js';

/** BTF_KIND_* as in <linux/btf.h>. */
export const BtfKind = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

/** Kind names as `bpftool btf dump` prints them. */
export const BTF_KIND_NAMES: readonly string[] = [
  'UNKN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT',
  'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

/** A struct/union member; `bitOffset` from the start of the aggregate, `bitSize` 0 unless a bitfield. */
export interface BtfMember { name: string; type: number; bitOffset: number; bitSize: number }
/** An enum value (ENUM and ENUM64). */
export interface BtfEnumValue { name: string; value: bigint }
/** A function prototype parameter. */
export interface BtfParam { name: string; type: number }
/** A DATASEC entry: a VAR's type id, offset and size inside the section. */
export interface BtfVarSecinfo { type: number; offset: number; size: number }

/**
 * One BTF type. `type` is the referenced type (PTR, TYPEDEF, CV qualifiers, FUNC, VAR, ...
 * and a FUNC_PROTO's return type); `size` the byte size for sized kinds.
 */
export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  kindFlag: boolean;
  vlen: number;
  size: number;
  type: number;
  /** INT: encoding bits (1 signed, 2 char, 4 bool), bit offset, bit count. */
  int?: { encoding: number; offset: number; bits: number };
  array?: { type: number; indexType: number; nelems: number };
  members?: BtfMember[];
  enumValues?: BtfEnumValue[];
  params?: BtfParam[];
  /** VAR linkage (0 static, 1 global, 2 extern); FUNC linkage is in `vlen`. */
  linkage?: number;
  secinfos?: BtfVarSecinfo[];
  /** DECL_TAG: the member/param index tagged (-1 for the whole type). */
  componentIdx?: number;
}

/** Parsed BTF: `types[id]` (id 0 is void), the string table, and lookups. */
export interface Btf {
  types: BtfType[];
  littleEndian: boolean;
  /** A string of the string section by offset. */
  string(offset: number): string;
  /** The size of the string section: every valid string offset is below it. */
  stringsLength: number;
  /** Every type named `name` (optionally of one kind), by id order. */
  byName(name: string, kind?: BtfKind): BtfType[];
  /** The byte size of a type, following typedefs/qualifiers/arrays (pointers are 8). */
  sizeOf(id: number): number;
  /** Skips typedefs, CV qualifiers and type tags. */
  resolve(id: number): BtfType;
}

const VOID: BtfType = { id: 0, kind: BtfKind.UNKN, name: '', kindFlag: false, vlen: 0, size: 0, type: 0 };
const BTF_MAGIC = 0xeb9f;

// Offsets are from the start of the BTF data, as bpftool and the kernel's verifier count them.
function fail(code: string, message: string, offset: number): never {
  elfFail(code, message, offset, '.BTF');
}

/** Extra bytes after the 12-byte common header, by kind: a fixed part plus `vlen` entries of a size. */
const KIND_EXTRA: readonly (readonly [fixed: number, perVlen: number])[] = [
  [0, 0], [4, 0], [0, 0], [12, 0], [0, 12], [0, 12], [0, 8], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0],
  [0, 0], [0, 8], [4, 0], [0, 12], [0, 0], [4, 0], [0, 0], [0, 12],
];

/** Where the parts of raw BTF are, and each type record's offset and name offset (index = type id; 0 for void). */
export interface BtfLayout {
  littleEndian: boolean;
  /** The type section, as byte offsets into the BTF. */
  typesStart: number;
  typesEnd: number;
  /** The string section, as byte offsets into the BTF. */
  stringsStart: number;
  stringsEnd: number;
  offsets: Uint32Array;
  nameOffsets: Uint32Array;
}

/**
 * Reads the header and walks the type records once (a few milliseconds for vmlinux's ~130k
 * types), decoding nothing. Throws a FormatError (`E_BTF_*`) on a bad header or a record that
 * runs past its section.
 */
export function btfLayout(bytes: Uint8Array): BtfLayout {
  if (bytes.length < 24) fail('E_BTF_TRUNCATED', 'btf too short for its header', bytes.length);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (v.getUint16(0, true) !== BTF_MAGIC) {
    if (v.getUint16(0, false) !== BTF_MAGIC) fail('E_BTF_MAGIC', 'not btf (bad magic)', 0);
    le = false;
  }
  const hdrLen = v.getUint32(4, le);
  const typeOff = v.getUint32(8, le), typeLen = v.getUint32(12, le);
  const strOff = v.getUint32(16, le), strLen = v.getUint32(20, le);
  const tStart = hdrLen + typeOff, sStart = hdrLen + strOff;
  if (hdrLen < 24 || tStart + typeLen > bytes.length || sStart + strLen > bytes.length) fail('E_BTF_TRUNCATED', 'btf sections past end of data', 4);
  const end = tStart + typeLen;
  // Every record is at least 12 bytes: this bounds the count before the walk.
  const offsets = new Uint32Array(Math.floor(typeLen / 12) + 1);
  const names = new Uint32Array(offsets.length);
  // Little-endian and aligned (as vmlinux and clang's objects are): whole words, the fast case.
  const words = le && (bytes.byteOffset + tStart) % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + tStart, typeLen >>> 2) : undefined;
  let n = 1;
  for (let at = tStart; at < end; n++) {
    if (at + 12 > end) fail('E_BTF_TRUNCATED', 'type header past end of type section', at);
    const w = (at - tStart) >>> 2;
    const info = words ? words[w + 1] : v.getUint32(at + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const extra = KIND_EXTRA[kind];
    if (!extra) fail('E_BTF_KIND', `unknown btf kind ${kind}`, at);
    const next = at + 12 + extra[0] + extra[1] * (info & 0xffff);
    if (next > end) fail('E_BTF_TRUNCATED', `type ${n} past end of type section`, at);
    offsets[n] = at;
    names[n] = words ? words[w] : v.getUint32(at, le);
    at = next;
  }
  return { littleEndian: le, typesStart: tStart, typesEnd: end, stringsStart: sStart, stringsEnd: sStart + strLen, offsets: offsets.slice(0, n), nameOffsets: names.slice(0, n) };
}

/** Decodes the type record at byte `at` of BTF (`v` over all of it) as type `id`; `string` reads the string section. */
export function decodeBtfType(v: DataView, le: boolean, at: number, id: number, string: (offset: number) => string): BtfType {
  const info = v.getUint32(at + 4, le);
  const kind = ((info >>> 24) & 0x1f) as BtfKind;
  const vlen = info & 0xffff;
  const kindFlag = (info >>> 31) === 1;
  const sizeOrType = v.getUint32(at + 8, le);
  const t: BtfType = { id, kind, name: string(v.getUint32(at, le)), kindFlag, vlen, size: 0, type: 0 };
  const p = at + 12;
  switch (kind) {
    case BtfKind.INT: {
      const x = v.getUint32(p, le);
      t.size = sizeOrType;
      t.int = { encoding: (x >>> 24) & 0xf, offset: (x >>> 16) & 0xff, bits: x & 0xff };
      break;
    }
    case BtfKind.ARRAY:
      t.array = { type: v.getUint32(p, le), indexType: v.getUint32(p + 4, le), nelems: v.getUint32(p + 8, le) };
      break;
    case BtfKind.STRUCT: case BtfKind.UNION: {
      t.size = sizeOrType;
      const ms: BtfMember[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const q = p + i * 12;
        const off = v.getUint32(q + 8, le);
        ms[i] = {
          name: string(v.getUint32(q, le)), type: v.getUint32(q + 4, le),
          bitOffset: kindFlag ? off & 0xffffff : off, bitSize: kindFlag ? off >>> 24 : 0,
        };
      }
      t.members = ms;
      break;
    }
    case BtfKind.ENUM: case BtfKind.ENUM64: {
      t.size = sizeOrType;
      const vs: BtfEnumValue[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        if (kind === BtfKind.ENUM) {
          const q = p + i * 8;
          vs[i] = { name: string(v.getUint32(q, le)), value: BigInt(kindFlag ? v.getInt32(q + 4, le) : v.getUint32(q + 4, le)) };
        } else {
          const q = p + i * 12;
          const x = (BigInt(v.getUint32(q + 8, le)) << 32n) | BigInt(v.getUint32(q + 4, le));
          vs[i] = { name: string(v.getUint32(q, le)), value: kindFlag ? BigInt.asIntN(64, x) : x };
        }
      }
      t.enumValues = vs;
      break;
    }
    case BtfKind.FUNC_PROTO: {
      t.type = sizeOrType;
      const ps: BtfParam[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) ps[i] = { name: string(v.getUint32(p + i * 8, le)), type: v.getUint32(p + i * 8 + 4, le) };
      t.params = ps;
      break;
    }
    case BtfKind.VAR:
      t.type = sizeOrType;
      t.linkage = v.getUint32(p, le);
      break;
    case BtfKind.DATASEC: {
      t.size = sizeOrType;
      const ss: BtfVarSecinfo[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const q = p + i * 12;
        ss[i] = { type: v.getUint32(q, le), offset: v.getUint32(q + 4, le), size: v.getUint32(q + 8, le) };
      }
      t.secinfos = ss;
      break;
    }
    case BtfKind.FLOAT:
      t.size = sizeOrType;
      break;
    case BtfKind.DECL_TAG:
      t.type = sizeOrType;
      t.componentIdx = v.getInt32(p, le);
      break;
    default:
      t.type = sizeOrType; // PTR, FWD (0), TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, TYPE_TAG
  }
  return t;
}

/**
 * The string section as one string with a character per byte, so string offsets are character
 * offsets: UTF-8 decoding when the section is ASCII (as names are: the fast decoder), a code
 * unit per byte otherwise (names are then re-read as UTF-8 one by one).
 */
export function btfStringSection(strs: Uint8Array): { text: string; ascii: boolean } {
  // Browsers and Node have TextDecoder; the core's type library (ES only) does not declare it.
  const Decoder = (globalThis as { TextDecoder?: new () => { decode(bytes: Uint8Array): string } }).TextDecoder;
  const text = Decoder ? new Decoder().decode(strs) : '';
  // A multi-byte sequence shortens the text and an invalid byte becomes U+FFFD: neither happened, so every byte was ASCII.
  if (Decoder && text.length === strs.length && !text.includes('\ufffd')) return { text, ascii: true };
  // Not TextDecoder('latin1'), which is windows-1252 (0x80 becomes U+20AC): one code unit per byte value.
  let latin1 = '';
  for (let i = 0; i < strs.length; i += 8192) latin1 += String.fromCharCode.apply(null, Array.from(strs.subarray(i, i + 8192)));
  return { text: latin1, ascii: false };
}

/** The string at `off` in a string section read by {@link btfStringSection}. */
export function btfString(section: { text: string; ascii: boolean }, off: number): string {
  const all = section.text;
  const end = all.indexOf('\0', off);
  const raw = all.slice(off, end < 0 ? all.length : end);
  return section.ascii || !/[\u0080-\u00ff]/.test(raw) ? raw : utf8(raw);
}

/**
 * Parses BTF (either byte order, detected from the magic). Throws a FormatError (`E_BTF_*`,
 * with the byte offset) on anything malformed. For the kernel's BTF, where a program needs a
 * few types of ~130k, {@link LazyBtf} decodes only what is asked for.
 */
export function parseBtf(bytes: Uint8Array): Btf {
  const layout = btfLayout(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = layout.littleEndian;
  const tStart = layout.typesStart, sStart = layout.stringsStart;
  const strs = bytes.subarray(sStart, layout.stringsEnd);
  const section = btfStringSection(strs);
  const string = (off: number): string => {
    if (off === 0) return '';
    if (off >= strs.length) fail('E_BTF_STRING', `string offset ${off} outside the string section`, sStart);
    return btfString(section, off);
  };

  const types: BtfType[] = new Array(layout.offsets.length);
  types[0] = VOID;
  for (let id = 1; id < types.length; id++) types[id] = decodeBtfType(v, le, layout.offsets[id], id, string);

  checkTypeIds(types, tStart);

  let index: Map<string, BtfType[]> | undefined;
  const get = (id: number): BtfType => {
    const t = types[id];
    if (!t) fail('E_BTF_TYPE_ID', `type id ${id} out of range (${types.length - 1} types)`, tStart);
    return t;
  };
  const resolve = (id: number): BtfType => {
    let t = get(id);
    for (let depth = 0; depth < 64; depth++) {
      if (t.kind !== BtfKind.TYPEDEF && t.kind !== BtfKind.VOLATILE && t.kind !== BtfKind.CONST && t.kind !== BtfKind.RESTRICT && t.kind !== BtfKind.TYPE_TAG) return t;
      t = get(t.type);
    }
    fail('E_BTF_LOOP', `type ${id} refers to itself`, tStart);
  };
  const sizeOf = (id: number): number => {
    let mult = 1;
    for (let depth = 0; depth < 64; depth++) {
      const t = resolve(id);
      switch (t.kind) {
        case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.DATASEC: case BtfKind.FLOAT:
          return mult * t.size;
        case BtfKind.PTR: return mult * 8;
        case BtfKind.ARRAY:
          mult *= t.array!.nelems;
          // A size past 4 GiB is no type a program can hold (and past 2^53 would lose precision).
          if (mult > 0xffffffff) fail('E_BTF_SIZE', `type ${t.id} is larger than 4 GiB`, tStart);
          id = t.array!.type;
          break;
        case BtfKind.VAR: id = t.type; break;
        default: fail('E_BTF_SIZE', `type ${t.id} (${BTF_KIND_NAMES[t.kind]}) has no size`, tStart);
      }
    }
    fail('E_BTF_LOOP', `type ${id} refers to itself`, tStart);
  };
  return {
    types,
    littleEndian: le,
    string,
    stringsLength: strs.length,
    byName(name, kind) {
      if (!index) {
        index = new Map();
        for (const t of types) {
          if (!t.name) continue;
          const l = index.get(t.name);
          if (l) l.push(t);
          else index.set(t.name, [t]);
        }
      }
      const l = index.get(name) ?? [];
      return kind === undefined ? l : l.filter((t) => t.kind === kind);
    },
    sizeOf,
    resolve,
  };
}

/**
 * Every type id a type refers to must exist: members, parameters, array element and index
 * types, DATASEC variables and the `type` of referring kinds. Checked once at parse time, so
 * lookups afterwards meet no dangling id (self-references are caught by resolve's depth limit).
 */
function checkTypeIds(types: readonly BtfType[], tStart: number): void {
  const n = types.length;
  const check = (t: BtfType, id: number, what: string): void => {
    if (id >= n) fail('E_BTF_TYPE_ID', `type ${t.id} (${BTF_KIND_NAMES[t.kind]}) refers to type ${id} in its ${what}, of ${n - 1} types`, tStart);
  };
  for (const t of types) {
    check(t, t.type, 'type');
    if (t.array) { check(t, t.array.type, 'element type'); check(t, t.array.indexType, 'index type'); }
    for (const m of t.members ?? []) check(t, m.type, `member "${m.name}"`);
    for (const p of t.params ?? []) check(t, p.type, `parameter "${p.name}"`);
    for (const v of t.secinfos ?? []) check(t, v.type, 'variable');
  }
}

// Names are C identifiers (ASCII); file paths in line info may be UTF-8.
function utf8(latin1: string): string {
  try {
    return decodeURIComponent(latin1.replace(/[\s\S]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  } catch {
    return latin1;
  }
}

/** Byte offset of each type's record in raw BTF (index = type id; 0 for void), for in-place fix-ups. */
export function btfTypeOffsets(bytes: Uint8Array): number[] {
  return Array.from(btfLayout(bytes).offsets);
}
