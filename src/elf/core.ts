/** CO-RE: resolves `bpf_core_relo` records (field offset/size/existence, type and enum relocations) against a target BTF and patches instructions. */

import type { Insn } from '../ebpf/index.js';
import { ValidationError } from '../util/index.js';
import { BtfKind, type Btf, type BtfType } from './btf.js';
import { CoreReloKind, type BtfCoreRelo } from './btf-ext.js';

/** libbpf's poison: a call to this helper id marks an instruction whose relocation failed (the verifier rejects it only if reached). */
export const CORE_POISON_HELPER = 0xbad2310;

// A field located by an access path: its bit offset from the root and its (resolved) type.
interface FieldPos { bitOffset: number; bitSize: number; type: BtfType; typeId: number }

// libbpf's "essential name": `task_struct___v2` matches `task_struct`.
function essentialName(name: string): string {
  const i = name.indexOf('___');
  return i > 0 ? name.slice(0, i) : name;
}

// Walks the local access path (all indices), giving the member names to look for in the target.
function localPath(btf: Btf, rootId: number, idx: number[]): { pos: FieldPos; names: (string | number)[] } {
  let t = btf.resolve(rootId);
  let bit = idx[0] * btf.sizeOf(rootId) * 8, bitSize = 0, typeId = t.id;
  const names: (string | number)[] = [];
  for (const i of idx.slice(1)) {
    if ((t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) && t.members && i < t.members.length) {
      const m = t.members[i];
      bit += m.bitOffset;
      bitSize = m.bitSize;
      // An anonymous struct/union member is no step of its own (as libbpf's spec parser skips it):
      // the target finds the named field through whichever anonymous member holds it there.
      if (m.name !== '') names.push(m.name);
      typeId = m.type;
      t = btf.resolve(m.type);
    } else if (t.kind === BtfKind.ARRAY && t.array) {
      bit += i * btf.sizeOf(t.array.type) * 8;
      names.push(i);
      typeId = t.array.type;
      t = btf.resolve(t.array.type);
    } else {
      throw new ValidationError('E_CORE_ACCESS', `co-re access index ${i} invalid in type ${t.id}`);
    }
  }
  return { pos: { bitOffset: bit, bitSize, type: t, typeId }, names };
}

// Finds a named member in a target struct/union, looking through anonymous members as C does.
function findMember(btf: Btf, t: BtfType, name: string, depth = 0): { bitOffset: number; bitSize: number; type: number } | undefined {
  // A struct nested in itself by value is no C type: bound the descent so a damaged BTF cannot recurse forever.
  if (depth > 64) throw new ValidationError('E_BTF_LOOP', `type ${t.id} contains itself through anonymous members`);
  for (const m of t.members ?? []) {
    if (m.name === name) return { bitOffset: m.bitOffset, bitSize: m.bitSize, type: m.type };
    if (m.name === '') {
      const inner = btf.resolve(m.type);
      if (inner.kind === BtfKind.STRUCT || inner.kind === BtfKind.UNION) {
        const hit = findMember(btf, inner, name, depth + 1);
        if (hit) return { ...hit, bitOffset: hit.bitOffset + m.bitOffset };
      }
    }
  }
  return undefined;
}

function targetPath(btf: Btf, root: BtfType, first: number, names: (string | number)[]): FieldPos | undefined {
  let t = root, typeId = root.id;
  let bit = first * btf.sizeOf(root.id) * 8, bitSize = 0;
  for (const n of names) {
    if (typeof n === 'string') {
      if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) return undefined;
      const m = findMember(btf, t, n);
      if (!m) return undefined;
      bit += m.bitOffset;
      bitSize = m.bitSize;
      typeId = m.type;
      t = btf.resolve(m.type);
    } else {
      if (t.kind !== BtfKind.ARRAY || !t.array) return undefined;
      if (t.array.nelems !== 0 && n >= t.array.nelems) return undefined;
      bit += n * btf.sizeOf(t.array.type) * 8;
      typeId = t.array.type;
      t = btf.resolve(t.array.type);
    }
  }
  return { bitOffset: bit, bitSize, type: t, typeId };
}

function candidates(local: Btf, target: Btf, rootId: number): BtfType[] {
  const lt = local.resolve(rootId);
  if (local === target) return [lt];
  const name = essentialName(lt.name);
  if (!name) return [];
  const out: BtfType[] = [];
  for (const t of target.byName(name, lt.kind)) out.push(t);
  return out;
}

function signedType(t: BtfType): boolean {
  if (t.kind === BtfKind.INT) return ((t.int?.encoding ?? 0) & 1) !== 0;
  if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return t.kindFlag;
  return false;
}

/** The value a relocation resolves to, or undefined when the target lacks the field/type (the instruction is then poisoned). */
export function resolveCoreRelo(relo: BtfCoreRelo, local: Btf, target: Btf): bigint | undefined {
  const idx = relo.accessStr.split(':').map(Number);
  if (idx.some((x) => !Number.isInteger(x) || x < 0)) throw new ValidationError('E_CORE_ACCESS', `bad co-re access string "${relo.accessStr}"`);
  const cands = candidates(local, target, relo.typeId);
  switch (relo.kind) {
    case CoreReloKind.TYPE_ID_LOCAL: return BigInt(relo.typeId);
    case CoreReloKind.TYPE_ID_TARGET: return cands.length ? BigInt(cands[0].id) : undefined;
    case CoreReloKind.TYPE_EXISTS: case CoreReloKind.TYPE_MATCHES: return cands.length ? 1n : 0n;
    case CoreReloKind.TYPE_SIZE: return cands.length ? BigInt(target.sizeOf(cands[0].id)) : undefined;
    case CoreReloKind.ENUMVAL_EXISTS: case CoreReloKind.ENUMVAL_VALUE: {
      const lt = local.resolve(relo.typeId);
      const name = lt.enumValues?.[idx[0]]?.name;
      for (const c of cands) {
        const hit = c.enumValues?.find((e) => e.name === name);
        if (hit) return relo.kind === CoreReloKind.ENUMVAL_EXISTS ? 1n : hit.value;
      }
      return relo.kind === CoreReloKind.ENUMVAL_EXISTS ? 0n : undefined;
    }
    default: break;
  }
  const { names } = localPath(local, relo.typeId, idx);
  let pos: FieldPos | undefined;
  for (const c of cands) if ((pos = targetPath(target, c, idx[0], names))) break;
  switch (relo.kind) {
    case CoreReloKind.FIELD_EXISTS: return pos ? 1n : 0n;
    case CoreReloKind.FIELD_BYTE_OFFSET: return pos ? BigInt(Math.floor(pos.bitOffset / 8)) : undefined;
    case CoreReloKind.FIELD_BYTE_SIZE: return pos ? BigInt(pos.bitSize ? Math.ceil(pos.bitSize / 8) : target.sizeOf(pos.typeId)) : undefined;
    case CoreReloKind.FIELD_SIGNED: return pos ? (signedType(pos.type) ? 1n : 0n) : undefined;
    case CoreReloKind.FIELD_LSHIFT_U64: case CoreReloKind.FIELD_RSHIFT_U64: {
      if (!pos) return undefined;
      const size = pos.bitSize ? Math.ceil(pos.bitSize / 8) : target.sizeOf(pos.typeId);
      const bits = pos.bitSize || size * 8;
      const byteOff = Math.floor(pos.bitOffset / 8) & ~(size - 1);
      const lshift = 64 - (pos.bitOffset - byteOff * 8) - bits; // little-endian layout, as libbpf computes it
      return relo.kind === CoreReloKind.FIELD_LSHIFT_U64 ? BigInt(lshift) : BigInt(64 - bits);
    }
    default: throw new ValidationError('E_CORE_KIND', `co-re relocation kind ${relo.kind} not supported`);
  }
}

/** Patches one instruction with a resolved value: ALU immediates and `lddw` take it as the constant, loads/stores as the offset. */
export function patchCoreInsn(insn: Insn, value: bigint | undefined, index: number): Insn {
  if (value === undefined) return { code: 0x85, dst: 0, src: 0, off: 0, imm: CORE_POISON_HELPER };
  const cls = insn.code & 7;
  if (insn.code === 0x18) return { ...insn, imm: Number(BigInt.asIntN(32, value)), imm64: BigInt.asUintN(64, value) };
  if ((cls === 4 || cls === 7) && (insn.code & 8) === 0) return { ...insn, imm: Number(BigInt.asIntN(32, value)) };
  if (cls === 1 || cls === 2 || cls === 3) {
    if (value > 0x7fffn) throw new ValidationError('E_CORE_PATCH', `co-re offset ${value} does not fit a 16-bit offset`, { position: { insn: index } });
    return { ...insn, off: Number(value) };
  }
  throw new ValidationError('E_CORE_PATCH', `co-re relocation on an instruction it cannot patch (opcode 0x${insn.code.toString(16)})`, { position: { insn: index } });
}
