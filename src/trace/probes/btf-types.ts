/** Kernel types from BTF for the language: type spellings, struct layouts for member access, raw tracepoint arguments, enums, and `-l`/`-lv` struct listings. */

import { BtfKind } from '../../elf/index.js';
import type { BtfType } from '../../elf/index.js';
import type { BtfSource } from './kernel-btf.js';

/** One member of a struct or union (anonymous members flattened in), where it is and what it is. */
export interface StructField {
  name: string;
  /** Byte offset from the start of the aggregate (for bitfields: of the storage unit read). */
  offset: number;
  /** Byte size (0 for flexible arrays). */
  size: number;
  /** BTF id of the member's type. */
  typeId: number;
  /** The C type as bpftrace prints it (`struct task_struct *`, `char[16]`, `unsigned int`). */
  typeName: string;
  /** Bitfields: bit offset inside the storage unit at `offset` (of `size` bytes) and the width. */
  bitfield?: { bitOffset: number; bits: number };
}

/** A type resolved far enough for codegen: its kind, size, sign, and what it points to or holds. */
export interface TypeInfo {
  kind: 'int' | 'bool' | 'pointer' | 'array' | 'struct' | 'union' | 'enum' | 'float' | 'void' | 'function';
  /** Byte size (pointers 8, void 0). */
  size: number;
  /** BTF id of the type after typedefs and qualifiers. */
  typeId: number;
  signed?: boolean;
  /** Pointers and arrays: the element type's BTF id (0 for `void *`). */
  elementTypeId?: number;
  /** Arrays: element count. */
  length?: number;
  /** Struct/union/enum name without the keyword ('' when anonymous). */
  name?: string;
  /** The C spelling (`unsigned int`, `struct file *`). */
  typeName: string;
}

/** A named argument with its C type (raw tracepoint arguments). */
export interface ArgInfo {
  name: string;
  typeId: number;
  typeName: string;
  size: number;
}

const QUALIFIERS: ReadonlySet<number> = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

/** Follows typedefs and qualifiers. */
export function resolveType(btf: BtfSource, id: number): BtfType {
  let t = btf.type(id);
  for (let depth = 0; depth < 64 && QUALIFIERS.has(t.kind); depth++) t = btf.type(t.type);
  return t;
}

/** The byte size of a type (pointers 8, arrays element size × count, void/functions 0). */
export function btfSizeOf(btf: BtfSource, id: number): number {
  let mult = 1;
  for (let depth = 0; depth < 64; depth++) {
    const t = resolveType(btf, id);
    switch (t.kind) {
      case BtfKind.INT: case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FLOAT: return mult * t.size;
      case BtfKind.PTR: return mult * 8;
      case BtfKind.ARRAY: mult *= t.array?.nelems ?? 0; id = t.array?.type ?? 0; break;
      default: return 0;
    }
  }
  return 0;
}

function tagged(t: BtfType): string {
  const kw = t.kind === BtfKind.UNION ? 'union' : t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64 ? 'enum' : 'struct';
  return t.name ? `${kw} ${t.name}` : `${kw} {...}`;
}

/**
 * The C declaration of a type around `inner` (a declarator: a name, or '' for an abstract
 * type), as libbpf's btf_dump writes it: `struct task_struct *prev`, `char comm[16]`,
 * `void (*fn)(int)`, `const char *`.
 */
export function declaration(btf: BtfSource, id: number, inner: string, depth?: number): string {
  const t = btf.type(id);
  const recur = (next: number, decl: string): string => declaration(btf, next, decl, depth);
  const join = (base: string, decl: string): string => (decl === '' ? base : decl.startsWith('*') || decl.startsWith('(') || decl.startsWith('[') ? `${base} ${decl}` : `${base} ${decl}`);
  switch (t.kind) {
    case BtfKind.UNKN: return join('void', inner);
    case BtfKind.INT: case BtfKind.FLOAT: case BtfKind.TYPEDEF: return join(t.name, inner);
    case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FWD: {
      const kw = t.kind === BtfKind.FWD ? (t.kindFlag ? 'union' : 'struct') : undefined;
      // Inside a definition, btf_dump writes anonymous types out in place.
      if (depth !== undefined && t.name === '' && t.kind !== BtfKind.FWD) return join(anonymousBody(btf, t, depth), inner);
      return join(kw ? `${kw} ${t.name}` : tagged(t), inner);
    }
    case BtfKind.PTR: {
      const target = btf.type(t.type);
      // btf_dump separates a pointer's `*` from a following `(` (`void * (*fn)(…)`), not from a name.
      const decl = inner.startsWith('(') ? `* ${inner}` : `*${inner}`;
      // Pointers to arrays and functions need parentheses around the declarator.
      return recur(t.type, target.kind === BtfKind.ARRAY || target.kind === BtfKind.FUNC_PROTO ? `(${decl})` : decl);
    }
    case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: {
      const word = t.kind === BtfKind.CONST ? 'const' : t.kind === BtfKind.VOLATILE ? 'volatile' : 'restrict';
      const target = btf.type(t.type);
      // `const char *`: the qualifier goes before a base type; after the `*` of a qualified pointer.
      if (target.kind === BtfKind.PTR) return recur(t.type, inner === '' ? ` ${word}` : ` ${word} ${inner}`);
      const decl = recur(t.type, inner);
      // A qualified array qualifies its elements; btf_dump writes the qualifier once.
      return target.kind === BtfKind.ARRAY && decl.startsWith(`${word} `) ? decl : `${word} ${decl}`;
    }
    case BtfKind.TYPE_TAG: return recur(t.type, inner);
    case BtfKind.ARRAY: return recur(t.array?.type ?? 0, `${inner}[${t.array?.nelems ?? 0}]`);
    case BtfKind.FUNC_PROTO: {
      const params = (t.params ?? []).map((p) => (p.type === 0 ? '...' : declaration(btf, p.type, '')));
      return recur(t.type, `${inner}(${params.length === 0 ? 'void' : params.join(', ')})`);
    }
    case BtfKind.FUNC: return recur(t.type, inner === '' ? t.name : inner);
    default: return join(t.name, inner);
  }
}

/** The C spelling of BTF type `id` as bpftrace prints types (`struct task_struct *`, `char[16]`). */
export function typeName(btf: BtfSource, id: number): string {
  const t = btf.type(id);
  if (t.kind === BtfKind.ARRAY) return `${typeName(btf, t.array?.type ?? 0)}[${t.array?.nelems ?? 0}]`;
  return declaration(btf, id, '').replace(/ \*/g, ' *').replace(/\*\s+\*/g, '**');
}

/** The resolved type of BTF id `id` (typedefs and qualifiers skipped), with the spelling of `id` itself. */
export function typeInfo(btf: BtfSource, id: number): TypeInfo {
  const t = resolveType(btf, id);
  const base = { typeId: t.id, typeName: typeName(btf, id) };
  switch (t.kind) {
    case BtfKind.INT: {
      const enc = t.int?.encoding ?? 0;
      if (enc & 4) return { ...base, kind: 'bool', size: t.size };
      return { ...base, kind: 'int', size: t.size, signed: (enc & 1) !== 0 };
    }
    case BtfKind.PTR: return { ...base, kind: 'pointer', size: 8, elementTypeId: t.type };
    case BtfKind.ARRAY: return { ...base, kind: 'array', size: btfSizeOf(btf, t.id), elementTypeId: t.array?.type ?? 0, length: t.array?.nelems ?? 0 };
    case BtfKind.STRUCT: return { ...base, kind: 'struct', size: t.size, name: t.name };
    case BtfKind.UNION: return { ...base, kind: 'union', size: t.size, name: t.name };
    case BtfKind.ENUM: case BtfKind.ENUM64: return { ...base, kind: 'enum', size: t.size, name: t.name, signed: t.kindFlag };
    case BtfKind.FLOAT: return { ...base, kind: 'float', size: t.size };
    case BtfKind.FUNC_PROTO: case BtfKind.FUNC: return { ...base, kind: 'function', size: 0 };
    // A forward declaration has no layout: treat like an opaque struct.
    case BtfKind.FWD: return { ...base, kind: t.kindFlag ? 'union' : 'struct', size: 0, name: t.name };
    default: return { ...base, kind: 'void', size: 0 };
  }
}

/** The struct/union type `struct NAME`, `union NAME`, or a typedef name leading to one; undefined when BTF has none with a body. */
export function findAggregate(btf: BtfSource, name: string): BtfType | undefined {
  const m = /^\s*(struct|union)\s+(\w+)\s*$/.exec(name);
  const kinds = m ? [m[1] === 'union' ? BtfKind.UNION : BtfKind.STRUCT] : [BtfKind.STRUCT, BtfKind.UNION];
  const bare = m ? m[2] : name.trim();
  for (const kind of kinds) {
    const hit = btf.byName(bare, kind).find((t) => t.vlen > 0 || t.size > 0);
    if (hit) return hit;
  }
  if (!m) {
    for (const td of btf.byName(bare, BtfKind.TYPEDEF)) {
      const r = resolveType(btf, td.id);
      if (r.kind === BtfKind.STRUCT || r.kind === BtfKind.UNION) return r;
    }
  }
  return undefined;
}

function flatten(btf: BtfSource, t: BtfType, base: number, out: StructField[]): void {
  for (const m of t.members ?? []) {
    const bitOffset = base * 8 + m.bitOffset;
    const r = resolveType(btf, m.type);
    if (m.name === '' && (r.kind === BtfKind.STRUCT || r.kind === BtfKind.UNION)) {
      // Anonymous struct/union members are reached as if declared in the parent, as in C.
      flatten(btf, r, bitOffset / 8, out);
      continue;
    }
    const size = btfSizeOf(btf, m.type);
    const isBitfield = m.bitSize !== 0 || bitOffset % 8 !== 0;
    if (isBitfield) {
      // Read the storage unit of the member's declared type that holds the bits (aligned to its size).
      const unit = Math.max(1, size);
      const unitStart = Math.floor(bitOffset / (unit * 8)) * unit;
      out.push({ name: m.name, offset: unitStart, size: unit, typeId: m.type, typeName: typeName(btf, m.type), bitfield: { bitOffset: bitOffset - unitStart * 8, bits: m.bitSize || unit * 8 } });
    } else {
      out.push({ name: m.name, offset: bitOffset / 8, size, typeId: m.type, typeName: typeName(btf, m.type) });
    }
  }
}

/**
 * The layout of `struct NAME` / `union NAME` (or a typedef to one), anonymous members
 * flattened in as C does. undefined when BTF has no such type.
 */
export function structLayout(btf: BtfSource, name: string): StructField[] | undefined {
  const t = findAggregate(btf, name);
  return t ? structFields(btf, t.id) : undefined;
}

/** The flattened members of the struct or union with BTF id `id` (after typedefs). */
export function structFields(btf: BtfSource, id: number): StructField[] {
  const out: StructField[] = [];
  flatten(btf, resolveType(btf, id), 0, out);
  return out;
}

/** One member of a struct/union by name (anonymous members searched), or undefined. */
export function structMember(btf: BtfSource, id: number, member: string): StructField | undefined {
  return structFields(btf, id).find((f) => f.name === member);
}

/** Prefixes of the BTF functions that name raw tracepoints (as bpftrace's RT_BTF_PREFIXES). */
export const RAW_TRACEPOINT_PREFIXES = ['__probestub_', '__traceiter_'] as const;

/** x86-64 passes six arguments in registers; tracepoints with more are not listed (as bpftrace). */
const MAX_ARGS = 6;

/**
 * The arguments of raw tracepoint `name`, from the prototype of `__probestub_<name>` or
 * `__traceiter_<name>` (or the `btf_trace_<name>` typedef), without the leading `void *__data`.
 * undefined when BTF has none of them.
 */
export function rawTracepointArgs(btf: BtfSource, name: string): ArgInfo[] | undefined {
  let proto: BtfType | undefined;
  for (const prefix of RAW_TRACEPOINT_PREFIXES) {
    const fn = btf.byName(`${prefix}${name}`, BtfKind.FUNC)[0];
    if (fn) {
      proto = btf.type(fn.type);
      break;
    }
  }
  if (!proto) {
    const td = btf.byName(`btf_trace_${name}`, BtfKind.TYPEDEF)[0];
    const ptr = td && btf.type(td.type);
    if (ptr?.kind === BtfKind.PTR) proto = btf.type(ptr.type);
  }
  if (proto?.kind !== BtfKind.FUNC_PROTO) return undefined;
  return (proto.params ?? []).slice(1).map((p) => ({ name: p.name, typeId: p.type, typeName: typeName(btf, p.type), size: btfSizeOf(btf, p.type) }));
}

/** Every raw tracepoint in BTF as `vmlinux:NAME` (bpftrace's listing form), sorted. */
export function listRawTracepoints(btf: BtfSource, module = 'vmlinux'): string[] {
  const names = new Set<string>();
  // The functions by prefix: found in the string section when the source can, else by reading every function's name.
  const funcs = RAW_TRACEPOINT_PREFIXES.flatMap((prefix) =>
    (btf.idsWithNamePrefix?.(prefix, BtfKind.FUNC) ?? [...btf.ids()].filter((id) => btf.kindOf(id) === BtfKind.FUNC && btf.nameOf(id).startsWith(prefix)))
      .map((id) => ({ id, prefix })));
  for (const { id, prefix } of funcs) {
    const t = btf.type(id);
    const proto = btf.type(t.type);
    if (proto.kind !== BtfKind.FUNC_PROTO || proto.vlen > MAX_ARGS) continue;
    names.add(`${module}:${t.name.slice(prefix.length)}`);
  }
  return [...names].sort();
}

/** The `-lv` line of one argument: `struct task_struct * prev` (bpftrace joins the abstract type and the name with a space). */
export function argDeclaration(arg: ArgInfo): string {
  return `${arg.typeName} ${arg.name}`;
}

/** Enumerators by enum name (and for anonymous enums, under ''), for printing enum-typed values. */
export function enumValues(btf: BtfSource, name: string): Map<bigint, string> | undefined {
  const t = [...btf.byName(name, BtfKind.ENUM), ...btf.byName(name, BtfKind.ENUM64)][0];
  if (!t) return undefined;
  return new Map((t.enumValues ?? []).map((v) => [v.value, v.name]));
}

/** The enum type that declares enumerator `name` and its value (`TASK_RUNNING` → 0), or undefined. */
export function findEnumerator(btf: BtfSource, name: string): { enumName: string; value: bigint; typeId: number } | undefined {
  for (const id of btf.ids()) {
    const kind = btf.kindOf(id);
    if (kind !== BtfKind.ENUM && kind !== BtfKind.ENUM64) continue;
    const t = btf.type(id);
    const v = t.enumValues?.find((e) => e.name === name);
    if (v) return { enumName: t.name, value: v.value, typeId: id };
  }
  return undefined;
}

/**
 * Resolves a C type written in text (`const char *`, `unsigned long`, `struct sk_buff *`,
 * `pid_t`, `u8`) to a BTF id and pointer depth, for tracepoint fields and casts. undefined when
 * the base type is not in BTF.
 */
export function parseCType(btf: BtfSource, text: string): { typeId: number; pointers: number } | undefined {
  let s = text.replace(/\b(const|volatile|restrict|__user|__rcu|__percpu|__iomem)\b/g, ' ').trim();
  let pointers = 0;
  while (s.endsWith('*')) {
    pointers++;
    s = s.slice(0, -1).trim();
  }
  s = s.replace(/\s+/g, ' ');
  if (s === 'void') return { typeId: 0, pointers };
  const tag = /^(struct|union|enum) (\w+)$/.exec(s);
  if (tag) {
    const kinds = tag[1] === 'struct' ? [BtfKind.STRUCT, BtfKind.FWD] : tag[1] === 'union' ? [BtfKind.UNION, BtfKind.FWD] : [BtfKind.ENUM, BtfKind.ENUM64];
    for (const k of kinds) {
      const hit = btf.byName(tag[2], k).sort((a, b) => b.vlen - a.vlen)[0];
      if (hit) return { typeId: hit.id, pointers };
    }
    return undefined;
  }
  for (const name of cIntSpellings(s)) {
    const hit = btf.byName(name, BtfKind.INT)[0] ?? btf.byName(name, BtfKind.TYPEDEF)[0];
    if (hit) return { typeId: hit.id, pointers };
  }
  return undefined;
}

/** The spellings BTF (from DWARF) uses for a C integer type: `unsigned long` is `long unsigned int`. */
function cIntSpellings(s: string): string[] {
  const table: Record<string, string> = {
    'unsigned': 'unsigned int', 'unsigned long': 'long unsigned int', 'long unsigned': 'long unsigned int', 'unsigned long long': 'long long unsigned int',
    'long': 'long int', 'signed long': 'long int', 'long long': 'long long int', 'short': 'short int', 'unsigned short': 'short unsigned int',
    'signed': 'int', 'signed int': 'int', 'signed char': 'signed char', 'unsigned char': 'unsigned char', 'long int': 'long int',
  };
  return [s, ...(table[s] ? [table[s]] : [])];
}

/** libbpf's btf__align_of: natural alignment, 1 for an aggregate whose layout shows it is packed. */
const alignCache = new WeakMap<BtfSource, Map<number, number>>();

function alignOf(btf: BtfSource, id: number): number {
  let cache = alignCache.get(btf);
  if (!cache) alignCache.set(btf, (cache = new Map()));
  let a = cache.get(id);
  if (a === undefined) cache.set(id, (a = computeAlign(btf, id)));
  return a;
}

function computeAlign(btf: BtfSource, id: number): number {
  const t = btf.type(id);
  switch (t.kind) {
    case BtfKind.INT: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FLOAT: return Math.min(8, t.size);
    case BtfKind.PTR: return 8;
    case BtfKind.TYPEDEF: case BtfKind.VOLATILE: case BtfKind.CONST: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG: return alignOf(btf, t.type);
    case BtfKind.ARRAY: return alignOf(btf, t.array?.type ?? 0);
    case BtfKind.STRUCT: case BtfKind.UNION: {
      let max = 1;
      for (const m of t.members ?? []) {
        const a = alignOf(btf, m.type);
        max = Math.max(max, a);
        if (m.bitSize === 0 && a > 0 && m.bitOffset % (8 * a) !== 0) return 1;
      }
      return t.size % max !== 0 ? 1 : max;
    }
    default: return 0;
  }
}

/** libbpf's btf_is_struct_packed: a member off its natural alignment, or a size not a multiple of it. */
function isPacked(btf: BtfSource, t: BtfType): boolean {
  if (t.kind !== BtfKind.STRUCT) return false;
  let max = 1;
  for (const m of t.members ?? []) {
    const a = alignOf(btf, m.type);
    if (a && m.bitSize === 0 && m.bitOffset % (8 * a) !== 0) return true;
    max = Math.max(a, max);
  }
  return t.size % max !== 0;
}

const PADS: readonly (readonly [string, number])[] = [['long', 64], ['int', 32], ['short', 16], ['char', 8]];

/** libbpf's btf_dump_emit_bit_padding: `long: 64;`-style fillers for gaps natural alignment would not make. */
function bitPadding(cur: number, next: number, nextAlign: number, inBitfield: boolean, ind: string): string[] {
  if (cur >= next) return [];
  const out: string[] = [];
  const roundup = (x: number, a: number): number => Math.ceil(x / a) * a;
  let padBits = 0;
  let padType = '';
  let newOff = 0;
  for (const [name, bits] of PADS) {
    padBits = bits;
    padType = name;
    newOff = roundup(cur, bits);
    if (newOff <= next) break;
  }
  if (newOff > cur && newOff <= next) {
    if (inBitfield || (newOff === next && roundup(cur, nextAlign * 8) !== newOff) || (newOff !== next && next - newOff <= newOff - cur)) {
      out.push(`${ind}${padType}: ${inBitfield ? newOff - cur : 0};`);
    }
    cur = newOff;
  }
  while (cur !== next) {
    const bits = Math.min(next - cur, padBits);
    if (bits === padBits) {
      out.push(`${ind}${padType}: ${padBits};`);
      cur += bits;
      continue;
    }
    for (let i = PADS.length - 1; i >= 0; i--) {
      if (PADS[i][1] < bits) continue;
      out.push(`${ind}${PADS[i][0]}: ${bits};`);
      cur += bits;
      break;
    }
  }
  return out;
}

function enumBody(t: BtfType, depth: number): string[] {
  const ind = '\t'.repeat(depth + 1);
  const signed = t.kindFlag;
  return (t.enumValues ?? []).map((v) => `${ind}${v.name} = ${signed ? v.value : BigInt.asUintN(t.kind === BtfKind.ENUM64 ? 64 : 32, v.value)},`);
}

/** An anonymous struct/union/enum written out in place at nesting `depth` (`struct {\n…\n\t}`). */
function anonymousBody(btf: BtfSource, t: BtfType, depth: number): string {
  const close = '\t'.repeat(depth);
  if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return ['enum {', ...enumBody(t, depth), `${close}}`].join('\n');
  const kw = t.kind === BtfKind.UNION ? 'union' : 'struct';
  const attr = isPacked(btf, t) ? ' __attribute__((packed))' : '';
  const body = aggregateLines(btf, t, depth);
  return body.length === 0 ? `${kw} {}${attr}` : [`${kw} {`, ...body, `${close}}${attr}`].join('\n');
}

/** A struct/union body as btf_dump writes it at nesting `depth`: members, paddings, anonymous types inline. */
function aggregateLines(btf: BtfSource, t: BtfType, depth: number): string[] {
  const ind = '\t'.repeat(depth + 1);
  const lines: string[] = [];
  const packed = isPacked(btf, t);
  const isStruct = t.kind === BtfKind.STRUCT;
  let off = 0;
  let prevBitfield = false;
  for (const m of t.members ?? []) {
    const inBitfield = prevBitfield && m.bitSize !== 0;
    lines.push(...bitPadding(off, m.bitOffset, packed ? 1 : alignOf(btf, m.type), inBitfield, ind));
    lines.push(`${ind}${declaration(btf, m.type, m.name, depth + 1)}${m.bitSize ? `: ${m.bitSize}` : ''};`);
    if (m.bitSize) {
      off = m.bitOffset + m.bitSize;
      prevBitfield = true;
    } else {
      off = m.bitOffset + Math.max(0, btfSizeOf(btf, m.type)) * 8;
      prevBitfield = false;
    }
  }
  if (isStruct) lines.push(...bitPadding(off, t.size * 8, alignOf(btf, t.id), false, ind));
  return lines;
}

/**
 * A struct/union/enum definition as `bpftrace -lv 'struct NAME'` prints it (libbpf btf_dump's
 * C: tab-indented members, anonymous aggregates inline, `};` last). undefined when absent.
 */
export function formatStructDefinition(btf: BtfSource, name: string): string | undefined {
  const enumMatch = /^\s*enum\s+(\w+)\s*$/.exec(name);
  if (enumMatch) {
    const e = [...btf.byName(enumMatch[1], BtfKind.ENUM), ...btf.byName(enumMatch[1], BtfKind.ENUM64)][0];
    if (!e) return undefined;
    return [`enum ${e.name} {`, ...enumBody(e, 0), '};'].join('\n');
  }
  const t = findAggregate(btf, name);
  if (!t) return undefined;
  const kw = t.kind === BtfKind.UNION ? 'union' : 'struct';
  const attr = isPacked(btf, t) ? ' __attribute__((packed))' : '';
  const body = aggregateLines(btf, t, 0);
  // An empty struct stays on one line, as btf_dump keeps it.
  return body.length === 0 ? `${kw} ${t.name} {}${attr};` : [`${kw} ${t.name} {`, ...body, `}${attr};`].join('\n');
}

/** Every named struct, union and enum as `struct NAME`…, sorted (the candidates of `-l 'struct …'`). */
export function listStructs(btf: BtfSource): string[] {
  const out = new Set<string>();
  const keyword: Partial<Record<number, string>> = { [BtfKind.STRUCT]: 'struct', [BtfKind.UNION]: 'union', [BtfKind.ENUM]: 'enum', [BtfKind.ENUM64]: 'enum' };
  for (const id of btf.ids()) {
    const kw = keyword[btf.kindOf(id)];
    if (kw === undefined) continue;
    const name = btf.nameOf(id);
    if (name !== '') out.add(`${kw} ${name}`);
  }
  return [...out].sort();
}
