/** Structural load-time checks every eBPF loader runs before anything else: opcodes, reserved fields, registers, jump targets, the last instruction. */

import type { Insn } from './insn.js';
import { ValidationError } from '../util/index.js';
import { describeInsn, branchDelta, formKind, type FormInfo } from './forms.js';
import { slotOffsets, slotToIndex } from './encoding.js';
import { FP_REG as R10, MAX_REG } from './opcodes.js';

/** Options of {@link checkProgram}. */
export interface CheckOptions {
  /**
   * Registers that hold a value at entry. When given, a register read on some path before
   * any write is rejected (`E_EBPF_UNINIT`), as the kernel verifier does (`R0 !read_ok`).
   * Omitted: no dataflow check (the conformance runners preset r1, r2 and r10).
   */
  initialized?: readonly number[];
  /** Highest number of instructions accepted (the kernel's BPF_COMPLEXITY_LIMIT_INSNS is 1,000,000). */
  maxInsns?: number;
  /**
   * Refuse every write to r10 (default true). False when a verifier follows: the kernel refuses
   * only writes some path reaches (check_reg_arg in do_check), and dead code is never run.
   */
  frameWrites?: boolean;
  /**
   * Refuse unknown opcodes and reserved fields everywhere (default true). False when a verifier follows: the kernel
   * refuses them where a path reaches them (do_check), and dead code is replaced before it could run.
   */
  fields?: boolean;
  /** {@link describeInsn} of each instruction, when the caller has them already (the verifier does). */
  forms?: readonly FormInfo[];
}

/** One structural problem: a stable code, a message, the instruction index. */
export interface CheckProblem {
  code: string;
  message: string;
  insn: number;
}

/**
 * Lists every structural problem of a program (empty when it is well formed). Codes:
 * `E_EBPF_EMPTY`, `E_EBPF_TOO_LONG`, `E_EBPF_OPCODE`, `E_EBPF_FIELD`, `E_EBPF_REG`,
 * `E_EBPF_FP_WRITE`, `E_EBPF_JUMP_RANGE`, `E_EBPF_JUMP_LDDW`, `E_EBPF_LAST`, `E_EBPF_UNINIT`.
 */
export function findProblems(insns: readonly Insn[], options: CheckOptions = {}): CheckProblem[] {
  const out: CheckProblem[] = [];
  if (insns.length === 0) return [{ code: 'E_EBPF_EMPTY', message: 'program is empty', insn: 0 }];
  if (insns.length > (options.maxInsns ?? 1_000_000)) out.push({ code: 'E_EBPF_TOO_LONG', message: `program has ${insns.length} instructions`, insn: 0 });
  const offs = slotOffsets(insns);
  // From the offsets made above (slotToIndex would make them again): the verifier runs this for every program.
  const byslot = indexBySlot(offs);
  insns.forEach((insn, i) => {
    const info = options.forms?.[i] ?? describeInsn(insn);
    if (info.kind === undefined) {
      if (options.fields !== false) out.push({ code: 'E_EBPF_OPCODE', message: `unknown opcode 0x${insn.code.toString(16).padStart(2, '0')}`, insn: i });
      return;
    }
    if (options.fields !== false) for (const f of info.problems) out.push({ code: 'E_EBPF_FIELD', message: f.message, insn: i });
    if (info.usesDst && insn.dst >= MAX_REG) out.push({ code: 'E_EBPF_REG', message: `invalid register r${insn.dst}`, insn: i });
    else if (info.writesDst && insn.dst === R10 && options.frameWrites !== false) out.push({ code: 'E_EBPF_FP_WRITE', message: 'frame pointer r10 is read only', insn: i });
    if (info.usesSrc && insn.src >= MAX_REG) out.push({ code: 'E_EBPF_REG', message: `invalid register r${insn.src}`, insn: i });
    const delta = branchDelta(insn);
    if (delta !== undefined) {
      const target = offs[i] + (insn.code === 0x18 ? 2 : 1) + delta;
      if (target < 0 || target >= offs[insns.length]) {
        out.push({ code: 'E_EBPF_JUMP_RANGE', message: `jump out of range to slot ${target}`, insn: i });
      } else if (byslot[target] < 0) {
        out.push({ code: 'E_EBPF_JUMP_LDDW', message: `jump into the middle of lddw at slot ${target}`, insn: i });
      }
    }
    if (info.kind === 'lddw' && insn.src === 4 && insn.imm64 !== undefined) {
      // BPF_PSEUDO_FUNC: imm is a slot delta to a subprogram, like a local call.
      const target = offs[i] + 1 + insn.imm;
      if (target < 0 || target >= offs[insns.length] || byslot[target] < 0) {
        out.push({ code: 'E_EBPF_JUMP_RANGE', message: `function reference out of range to slot ${target}`, insn: i });
      }
    }
  });
  const last = insns.length - 1;
  const lk = formKind(insns[last].code);
  if (lk !== 'exit' && lk !== 'ja' && lk !== 'gotol') {
    out.push({ code: 'E_EBPF_LAST', message: 'last instruction is not exit or ja', insn: last });
  }
  if (options.initialized && out.length === 0) out.push(...uninitializedReads(insns, options.initialized));
  return out;
}

/**
 * slotToIndex from offsets already made: the instruction index at each slot, -1 inside an lddw. A plain array: a typed
 * array of more than a few dozen entries lives outside the heap, and making one cost more than the rest of the checks.
 */
function indexBySlot(offs: readonly number[]): number[] {
  const n = offs.length - 1;
  const out = new Array<number>(offs[n] + 1).fill(-1);
  for (let i = 0; i <= n; i++) out[offs[i]] = i;
  return out;
}

/**
 * Throws a {@link ValidationError} for the first structural problem, naming its instruction.
 * The interpreter, JIT and kernel loader call this at load.
 */
export function checkProgram(insns: readonly Insn[], options: CheckOptions = {}): void {
  const p = findProblems(insns, options)[0];
  if (p) throw new ValidationError(p.code, p.message, { position: { insn: p.insn } });
}

// Forward dataflow over the instruction graph: the set of surely-written registers (a
// bitmask) meets by intersection; it only shrinks, so the worklist terminates.
function uninitializedReads(insns: readonly Insn[], initial: readonly number[]): CheckProblem[] {
  const offs = slotOffsets(insns);
  const byslot = slotToIndex(insns);
  const state = new Int32Array(insns.length).fill(-1);
  const seen = new Uint8Array(insns.length);
  let entry = 0;
  for (const r of initial) entry |= 1 << r;
  entry |= 1 << R10;
  state[0] = entry;
  seen[0] = 1;
  const work = [0];
  const problems = new Map<number, CheckProblem>();
  const flow = (to: number, s: number): void => {
    if (to < 0 || to >= insns.length) return;
    const merged = seen[to] ? state[to] & s : s;
    if (!seen[to] || merged !== state[to]) {
      seen[to] = 1;
      state[to] = merged;
      work.push(to);
    }
  };
  while (work.length) {
    const i = work.pop()!;
    const insn = insns[i];
    const info = describeInsn(insn);
    let s = state[i];
    const need = (r: number): void => {
      if (!(s & (1 << r)) && !problems.has(i)) problems.set(i, { code: 'E_EBPF_UNINIT', message: `r${r} is read before it is written`, insn: i });
    };
    const kind = info.kind;
    // mov (not movsx) writes dst without reading it; lddw and loads only write.
    const pureWrite = kind === 'lddw' || kind === 'ldx' || (kind === 'alu' && (insn.code & 0xf0) === 0xb0) || (kind === 'atomic' && insn.imm === 0x100);
    if (info.usesSrc) need(insn.src);
    if (info.usesDst && !pureWrite) need(insn.dst);
    if (kind === 'ld_abs' || kind === 'ld_ind') need(6);
    if (kind === 'exit') need(0);
    if (kind === 'atomic' && insn.imm === 0xf1) need(0);
    if (info.writesDst) s |= 1 << insn.dst;
    if (kind === 'call' || kind === 'callx') s = (s & ~0x3e) | 1; // r1-r5 clobbered, r0 set
    if (kind === 'ld_abs' || kind === 'ld_ind') s = (s & ~0x3e) | 1;
    if (kind === 'atomic' && (insn.imm & 1)) s |= insn.imm === 0xf1 ? 1 : 1 << insn.src;
    if (kind === 'exit') continue;
    const d = branchDelta(insn);
    if (d !== undefined && !(kind === 'call')) {
      const t = byslot[offs[i] + 1 + d];
      if (t !== undefined && t >= 0) flow(t, s);
      if (kind === 'ja' || kind === 'gotol') continue;
    }
    flow(i + 1, s);
  }
  return [...problems.values()].sort((a, b) => a.insn - b.insn);
}
