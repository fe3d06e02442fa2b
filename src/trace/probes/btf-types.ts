/** Kernel types from BTF for the language: struct layouts for member access, raw tracepoint arguments, and `-lv struct` listings. */

import type { Btf } from '../../elf/index.js';

/** One member of a struct or union: where it is and what it is. */
export interface StructField {
  name: string;
  /** Byte offset from the start of the aggregate (for bitfields, of the containing byte). */
  offset: number;
  /** Byte size (0 for flexible arrays). */
  size: number;
  /** BTF id of the member's type (resolve with {@link typeInfo}). */
  typeId: number;
  /** The C type as bpftrace prints it (`struct task_struct *`, `char[16]`, `u64`). */
  typeName: string;
  /** Bitfields: bit offset in the containing byte and bit width. */
  bitfield?: { bitOffset: number; bits: number };
}

/** A type resolved far enough for codegen: its kind, size, and what it points to or holds. */
export interface TypeInfo {
  kind: 'int' | 'bool' | 'pointer' | 'array' | 'struct' | 'union' | 'enum' | 'float' | 'void' | 'function';
  size: number;
  signed?: boolean;
  /** Pointers and arrays: the element type's BTF id. */
  elementTypeId?: number;
  /** Arrays: element count. */
  length?: number;
  /** Struct/union/enum name (without the keyword). */
  name?: string;
  /** The C spelling (`unsigned int`, `struct file *`). */
  typeName: string;
}

/** A function-like signature: named arguments with their C types. */
export interface ArgInfo {
  name: string;
  typeId: number;
  typeName: string;
  size: number;
}

/**
 * The layout of `struct NAME` / `union NAME` (or a typedef to one), with anonymous members
 * flattened as C does. undefined when BTF has no such type.
 */
export function structLayout(btf: Btf, name: string): StructField[] | undefined {
  void btf; void name;
  return undefined;
}

/** The resolved type of BTF id `id` (typedefs and qualifiers skipped). */
export function typeInfo(btf: Btf, id: number): TypeInfo {
  void btf; void id;
  return { kind: 'void', size: 0, typeName: 'void' };
}

/** The C spelling of BTF type `id` as bpftrace prints it (`struct task_struct *`). */
export function typeName(btf: Btf, id: number): string {
  void btf; void id;
  return '';
}

/**
 * The arguments of raw tracepoint `name` from its `btf_trace_<name>` typedef (a pointer to a
 * FUNC_PROTO whose first `void *__data` argument is dropped). undefined when absent.
 */
export function rawTracepointArgs(btf: Btf, name: string): ArgInfo[] | undefined {
  void btf; void name;
  return undefined;
}

/** `bpftrace -lv 'struct NAME'`: the definition as C text, or undefined. */
export function formatStructDefinition(btf: Btf, name: string): string | undefined {
  void btf; void name;
  return undefined;
}
