/** A program prepared for the VM: instructions in flat typed arrays, basic blocks, bound `lddw` constants, load-time checks. */

import { ValidationError } from '../../util/index.js';
import type { Insn } from '../insn.js';
import { FUNC_PTR_TAG, MAP_HANDLE_TAG } from './memory.js';

/** Opcode classes and fields (RFC 9669) the VM reads. */
export const Cls = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;

/** How an `lddw` slot gets its value. */
export const LdKind = {
  /** A constant known at load time (plain immediates, map handles, function pointers). */
  CONST: 0,
  /** A pointer into a map value, made per run (`BPF_PSEUDO_MAP_VALUE`, `BPF_PSEUDO_MAP_IDX_VALUE`). */
  MAP_VALUE: 1,
} as const;

/** A program in the shape both engines run. Indices are 8-byte slots, as jump offsets count them. */
export interface VmCode {
  readonly slots: number;
  readonly op: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int16Array;
  readonly imm: Int32Array;
  /** `lddw`: the value for {@link LdKind.CONST}; the offset into the value for {@link LdKind.MAP_VALUE}. */
  readonly wide: BigUint64Array;
  /** `lddw`: one of {@link LdKind}. */
  readonly ldKind: Uint8Array;
  /** `lddw` with a map: the map's index in the program's map list. */
  readonly ldMap: Int32Array;
  /** Instructions in the basic block starting at this slot (0 when no block starts here). */
  readonly blockLen: Int32Array;
  /** Slots that start a basic block, ascending. */
  readonly blockStarts: readonly number[];
  /** Subprogram entry slots reached through `lddw` function pointers (callbacks). */
  readonly funcEntries: ReadonlySet<number>;
}

/** What {@link prepareCode} needs to know about the loading context. */
export interface PrepareOptions {
  /** Resolves a map reference (`ref` name, or `lddw` fd/index) to the map's index; undefined when unknown. */
  mapIndex(ref: string | undefined, imm: number): number | undefined;
  /** True when helper `id` exists in the VM. */
  hasHelper(id: number): boolean;
  /** A helper's name for messages. */
  helperName(id: number): string;
}

/** Opcodes the VM executes (besides `lddw`, the `call`/`exit`/jump family, which are checked by shape). */
const ALU_OPS = new Set([0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0]);
const JMP_CONDS = new Set([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]);
const MEM_OPS = new Set([0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb]);
const LEGACY_LD = new Set([0x20, 0x28, 0x30, 0x40, 0x48, 0x50]);
const ATOMIC_IMMS = new Set([0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1]);
/** libbpf's `call 0xbad2310`: the instruction it writes for a CO-RE relocation it could not resolve. */
const CORE_POISON_CALL = 0xbad2310;

function reject(code: string, msg: string, insn: number): never {
  throw new ValidationError(code, msg, { position: { insn } });
}

/**
 * Flattens `insns` into a {@link VmCode}, checking what the VM relies on: every opcode is
 * known, jumps land on instruction starts inside the program, helpers exist, maps bind.
 */
export function prepareCode(insns: readonly Insn[], opts: PrepareOptions): VmCode {
  let n = 0;
  for (const i of insns) n += i.code === 0x18 ? 2 : 1;
  const op = new Uint8Array(n), dst = new Uint8Array(n), src = new Uint8Array(n);
  const off = new Int16Array(n), imm = new Int32Array(n);
  const wide = new BigUint64Array(n), ldKind = new Uint8Array(n), ldMap = new Int32Array(n).fill(-1);
  const starts = new Uint8Array(n + 1); // 1 at a slot that begins an instruction
  const funcEntries = new Set<number>();
  const bySlot: Insn[] = [];
  let s = 0;
  for (const i of insns) {
    bySlot[s] = i;
    op[s] = i.code; dst[s] = i.dst; src[s] = i.src; off[s] = i.off; imm[s] = i.imm;
    starts[s] = 1;
    if (i.code === 0x18) {
      op[s + 1] = 0; // the second half never executes
      s += 2;
    } else s += 1;
  }
  if (n === 0) reject('E_VM_EMPTY', 'program has no instructions', 0);
  const leaders = new Uint8Array(n + 1);
  leaders[0] = 1;
  const target = (pc: number, t: number): void => {
    if (t < 0 || t >= n || !starts[t]) reject('E_VM_JUMP', `jump out of range to ${t}`, pc);
    leaders[t] = 1;
  };
  for (let pc = 0; pc < n; pc++) {
    if (!starts[pc]) continue;
    const o = op[pc], cls = o & 7;
    if (dst[pc] > 10 || src[pc] > 10) {
      if (!((cls === Cls.JMP || cls === Cls.JMP32) && (o & 0xf0) === 0x80 && src[pc] !== 0)) reject('E_VM_REG', `invalid register r${Math.max(dst[pc], src[pc])}`, pc);
    }
    if (o === 0x18) {
      const ins = bySlot[pc];
      const value = ins.imm64 ?? BigInt(ins.imm >>> 0);
      const hi = Number(BigInt.asIntN(32, value >> 32n));
      switch (src[pc]) {
        case 0: wide[pc] = BigInt.asUintN(64, value); break;
        case 1: case 5: case 2: case 6: {
          const m = opts.mapIndex(ins.ref, ins.imm);
          if (m === undefined) reject('E_VM_MAP', `unknown map ${ins.ref ?? ins.imm}`, pc);
          ldMap[pc] = m;
          if (src[pc] === 1 || src[pc] === 5) wide[pc] = MAP_HANDLE_TAG | BigInt(m);
          else { ldKind[pc] = LdKind.MAP_VALUE; wide[pc] = BigInt(hi >>> 0); }
          break;
        }
        case 4: {
          const t = pc + 1 + ins.imm; // as the kernel: the target is relative to the lddw slot plus one
          target(pc, t);
          funcEntries.add(t);
          wide[pc] = FUNC_PTR_TAG | BigInt(t);
          break;
        }
        default: reject('E_VM_LDDW', `lddw pseudo source ${src[pc]} not supported in the VM`, pc);
      }
      if (dst[pc] === 10) reject('E_VM_REG', 'r10 is read-only', pc);
      continue;
    }
    switch (cls) {
      case Cls.ALU: case Cls.ALU64: {
        const a = o & 0xf0;
        if (!ALU_OPS.has(a)) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
        if (dst[pc] === 10) reject('E_VM_REG', 'r10 is read-only', pc);
        if (a === 0xd0 && ![16, 32, 64].includes(imm[pc])) reject('E_VM_OPCODE', `invalid byte swap width ${imm[pc]}`, pc);
        if (a === 0xd0 && cls === Cls.ALU64 && (o & 8)) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
        break;
      }
      case Cls.JMP: case Cls.JMP32: {
        const a = o & 0xf0;
        if (a === 0x90) { if (o !== 0x95) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc); leaders[pc + 1] = 1; break; }
        if (a === 0x80) {
          if (cls !== Cls.JMP) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
          if (o === 0x8d) { if (dst[pc] > 10) reject('E_VM_REG', `invalid register r${dst[pc]}`, pc); break; } // callx: checked at run time
          if (src[pc] === 1) { target(pc, pc + 1 + imm[pc]); leaders[pc + 1] = 1; break; }
          if (src[pc] !== 0) reject('E_VM_CALL', `call with source ${src[pc]} (kfunc) not available in the VM`, pc);
          // libbpf's poisoned call for a CO-RE relocation it could not resolve: an error only if it runs (the kernel's verifier drops it as dead code).
          if (!opts.hasHelper(imm[pc]) && imm[pc] !== CORE_POISON_CALL) {
            throw new ValidationError('E_VM_HELPER', `helper ${opts.helperName(imm[pc])} not available in the VM`, { position: { insn: pc } });
          }
          break;
        }
        if (a === 0x00) {
          if (o === 0x05) target(pc, pc + 1 + off[pc]);
          else if (o === 0x06) target(pc, pc + 1 + imm[pc]);
          else reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
          leaders[pc + 1] = 1;
          break;
        }
        if (!JMP_CONDS.has(a)) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
        target(pc, pc + 1 + off[pc]);
        leaders[pc + 1] = 1;
        break;
      }
      default: {
        if (LEGACY_LD.has(o)) break;
        if (!MEM_OPS.has(o)) reject('E_VM_OPCODE', `unknown opcode 0x${o.toString(16)}`, pc);
        if (cls === Cls.LDX && dst[pc] === 10) reject('E_VM_REG', 'r10 is read-only', pc);
        if ((o === 0xc3 || o === 0xdb) && !ATOMIC_IMMS.has(imm[pc])) reject('E_VM_OPCODE', `unknown atomic operation 0x${imm[pc].toString(16)}`, pc);
        // A fetching atomic writes its source register; r10 stays the frame pointer (the JIT relies on it).
        if ((o === 0xc3 || o === 0xdb) && src[pc] === 10 && (imm[pc] & 1)) reject('E_VM_REG', 'r10 is read-only', pc);
      }
    }
  }
  // A block runs from a leader to the next leader; its length counts instructions (lddw once).
  const blockLen = new Int32Array(n);
  const blockStarts: number[] = [];
  for (let pc = 0; pc < n; ) {
    blockStarts.push(pc);
    let len = 0, e = pc;
    do {
      len++;
      e += op[e] === 0x18 ? 2 : 1;
    } while (e < n && !leaders[e]);
    blockLen[pc] = len;
    pc = e;
  }
  return { slots: n, op, dst, src, off, imm, wide, ldKind, ldMap, blockLen, blockStarts, funcEntries };
}
