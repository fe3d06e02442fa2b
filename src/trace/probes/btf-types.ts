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
export function declaration(btf: BtfSource, id: number, inner: string): string {
  const t = btf.type(id);
  const join = (base: string, decl: string): string => (decl === '' ? base : decl.startsWith('*') || decl.startsWith('(') || decl.startsWith('[') ? `${base} ${decl}` : `${base} ${decl}`);
  switch (t.kind) {
    case BtfKind.UNKN: return join('void', inner);
    case BtfKind.INT: case BtfKind.FLOAT: case BtfKind.TYPEDEF: return join(t.name, inner);
    case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: case BtfKind.FWD: {
      const kw = t.kind === BtfKind.FWD ? (t.kindFlag ? 'union' : 'struct') : undefined;
      return join(kw ? `${kw} ${t.name}` : tagged(t), inner);
    }
    case BtfKind.PTR: {
      const target = btf.type(t.type);
      const decl = `*${inner}`;
      // Pointers to arrays and functions need parentheses around the declarator.
      return declaration(btf, t.type, target.kind === BtfKind.ARRAY || target.kind === BtfKind.FUNC_PROTO ? `(${decl})` : decl);
    }
    case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: {
      const word = t.kind === BtfKind.CONST ? 'const' : t.kind === BtfKind.VOLATILE ? 'volatile' : 'restrict';
      const target = btf.type(t.type);
      // `const char *`: the qualifier goes before a base type; after the `*` of a qualified pointer.
      if (target.kind === BtfKind.PTR) return declaration(btf, t.type, inner === '' ? word : `${word} ${inner}`).replace(/\* (const|volatile|restrict)$/, '* $1');
      return `${word} ${declaration(btf, t.type, inner)}`;
    }
    case BtfKind.TYPE_TAG: return declaration(btf, t.type, inner);
    case BtfKind.ARRAY: return declaration(btf, t.array?.type ?? 0, `${inner}[${t.array?.nelems ?? 0}]`);
    case BtfKind.FUNC_PROTO: {
      const params = (t.params ?? []).map((p) => (p.type === 0 ? '...' : declaration(btf, p.type, '')));
      return declaration(btf, t.type, `${inner}(${params.length === 0 ? 'void' : params.join(', ')})`);
    }
    case BtfKind.FUNC: return declaration(btf, t.type, inner === '' ? t.name : inner);
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
  for (const id of btf.ids()) {
    if (btf.kindOf(id) !== BtfKind.FUNC) continue;
    const fname = btf.nameOf(id);
    const prefix = RAW_TRACEPOINT_PREFIXES.find((p) => fname.startsWith(p));
    if (prefix === undefined) continue;
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

function memberLines(btf: BtfSource, t: BtfType, depth: number): string[] {
  const ind = '\t'.repeat(depth);
  const lines: string[] = [];
  for (const m of t.members ?? []) {
    const mt = btf.type(m.type);
    const r = resolveType(btf, m.type);
    const anon = (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION) && mt.name === '';
    if (anon) {
      lines.push(`${ind}${mt.kind === BtfKind.UNION ? 'union' : 'struct'} {`, ...memberLines(btf, r, depth + 1), `${ind}}${m.name ? ` ${m.name}` : ''};`);
      continue;
    }
    const bits = m.bitSize ? `: ${m.bitSize}` : '';
    lines.push(`${ind}${declaration(btf, m.type, m.name).replace(/\* (?=\w)/g, '*')}${bits};`);
  }
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
    const vals = (e.enumValues ?? []).map((v, i, all) => `\t${v.name} = ${v.value}${i < all.length - 1 ? ',' : ''}`);
    return [`enum ${e.name} {`, ...vals, '};'].join('\n');
  }
  const t = findAggregate(btf, name);
  if (!t) return undefined;
  return [`${t.kind === BtfKind.UNION ? 'union' : 'struct'} ${t.name} {`, ...memberLines(btf, t, 1), '};'].join('\n');
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
