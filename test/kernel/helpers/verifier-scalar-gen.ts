/** Generated programs for the scalar-domain precision test and benchmark: build a scalar in r6 (loads, ALU ops, branches), use it as an offset into a map value, and predict with our scalar domain every state the kernel's verifier prints. */

import fc from 'fast-check';
import type { Insn, ProgramSpec } from '../../../src/ebpf/index.js';
import { type AluOp, type JmpOp, type Scalar, formatScalar, scalarConst, scalarIsConst, scalarLoad, scalarLoadSx, scalarPtrAdd, scalarUnknown } from '../../../src/ebpf/verifier/scalar.js';
import { scalarAluInsn, scalarCondInsn } from '../../../src/ebpf/verifier/scalar-insn.js';

/** The map value size: the final access proves r6 in [0, VALUE_SIZE - 1]. */
export const VALUE_SIZE = 256;

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm: imm | 0 });

const ALU_CODE: Record<Exclude<AluOp, 'sdiv' | 'smod'>, number> = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0,
};
const JMP_CODE: Record<JmpOp, number> = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};
const SIZE_CODE = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as const;

/** One step of a generated program, acting on r6 (the scalar under test) and r7 (a second operand). */
export type Step =
  | { k: 'load'; reg: 6 | 7; bytes: 1 | 2 | 4 | 8; sx: boolean; off: number }
  | { k: 'movk'; reg: 6 | 7; imm: number; is64: boolean }
  | { k: 'lddw'; value: bigint }
  | { k: 'alu'; dst: 6 | 7; op: AluOp; is64: boolean; x: boolean; imm: number }
  | { k: 'movsx'; bits: 8 | 16 | 32; is64: boolean }
  | { k: 'end'; bits: 16 | 32 | 64; kind: 'le' | 'be' | 'bswap' }
  | { k: 'jmp'; op: JmpOp; is32: boolean; x: boolean; self: boolean; imm: number; stayOnTaken: boolean };

const immArb = fc.oneof(
  fc.integer({ min: -4, max: 64 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.constantFrom(0xff, 0xf0, 0xfff, 0x7fffffff, -1, -0x80000000, 0x80, 0x7f, 255, 256, 1024),
);
const ALU_OPS: AluOp[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'neg', 'mov'];
const JMP_OPS = Object.keys(JMP_CODE) as JmpOp[];

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('load' as const), reg: fc.constantFrom(6 as const, 7 as const), bytes: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), sx: fc.boolean(), off: fc.integer({ min: 0, max: 7 }).map((n) => n * 8) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('movk' as const), reg: fc.constantFrom(6 as const, 7 as const), imm: immArb, is64: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('alu' as const), dst: fc.constantFrom(6 as const, 6 as const, 6 as const, 7 as const), op: fc.constantFrom(...ALU_OPS), is64: fc.boolean(), x: fc.boolean(), imm: immArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('lddw' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: -300n, max: 300n }).map((v) => BigInt.asUintN(64, v)), fc.bigInt({ min: 0n, max: 0xffffn }).map((v) => v << 32n)) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('movsx' as const), bits: fc.constantFrom(8 as const, 16 as const, 32 as const), is64: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('end' as const), bits: fc.constantFrom(16 as const, 32 as const, 64 as const), kind: fc.constantFrom('le' as const, 'be' as const, 'bswap' as const) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('jmp' as const), op: fc.constantFrom(...JMP_OPS), is32: fc.boolean(), x: fc.boolean(), self: fc.integer({ min: 0, max: 9 }).map((n) => n === 0), imm: immArb, stayOnTaken: fc.boolean() }) },
);

/** A generated program, the states our domain predicts the kernel prints, and whether our bounds prove the final access on every path. */
export interface Case {
  spec: ProgramSpec;
  /** Insn index → register → formatScalar after the insn (for a jump, on its fall-through), one per path that reaches it. */
  after: Map<number, Map<number, Set<string>>>;
  /** "A:B" (the log's "from A to B") → register → formatScalar on that jump edge. */
  edges: Map<string, Map<number, Set<string>>>;
  /** Our verdict: on every path that reaches it, the access is proven. */
  accept: boolean;
  /** The slot of `r8 += r6` and the pointer's variable part after it (scalarPtrAdd), for a variable r6, per path. */
  ptrAt: number;
  ptr: Set<string>;
  text: string[];
  /** Scalar steps we ran over all paths (for the benchmark's per-instruction figure). */
  steps: number;
}

/** What one emitted instruction does to r6/r7, for our side of the comparison. */
type Sem =
  | { k: 'set'; at: number; reg: number; f: (regs: ReadonlyMap<number, Scalar>) => Scalar }
  | { k: 'alu'; at: number; insn: Insn; dst: number; srcReg: number }
  | { k: 'jmp'; at: number; insn: Insn; srcReg: number; stayOnTaken: boolean };

/** Whether build() formats the predicted states (the benchmark times the domain alone). */
let recording = true;

function addState(m: Map<string | number, Map<number, Set<string>>>, key: string | number, reg: number, s: Scalar): void {
  if (!recording) return;
  const regs = m.get(key) ?? new Map<number, Set<string>>();
  const set = regs.get(reg) ?? new Set<string>();
  set.add(formatScalar(s));
  regs.set(reg, set);
  m.set(key, regs);
}

/** Builds the program for `steps`, then runs our domain along every path the kernel explores (jumps and sign-mask forks). */
export function build(steps: Step[], record = true): Case {
  const insns: Insn[] = [];
  const text: string[] = [];
  const sems: Sem[] = [];
  const outJumps: number[] = []; // slot indices of jumps to `out`
  let slot = 0;
  const emit = (i: Insn, t: string): number => {
    insns.push(i);
    text.push(`${slot}: ${t}`);
    const at = slot;
    slot += i.code === 0x18 ? 2 : 1;
    return at;
  };
  // Prologue: r8 = a map value of VALUE_SIZE bytes; r6 and r7 loaded from it.
  emit(ins(0x62, 10, 0, -4, 0), '*(u32 *)(r10 - 4) = 0');
  emit(ins(0xbf, 2, 10), 'r2 = r10');
  emit(ins(0x07, 2, 0, 0, -4), 'r2 += -4');
  emit({ code: 0x18, dst: 1, src: 1, off: 0, imm: 0, imm64: 0n, ref: 'vs_value' }, 'r1 = map ll');
  emit(ins(0x85, 0, 0, 0, 1), 'call 1');
  outJumps.push(emit(ins(0x15, 0, 0, 0, 0), 'if r0 == 0 goto out'));
  emit(ins(0xbf, 8, 0), 'r8 = r0');
  const all: Step[] = [{ k: 'load', reg: 6, bytes: 1, sx: false, off: 0 }, { k: 'load', reg: 7, bytes: 1, sx: false, off: 8 }, ...steps];
  for (const st of all) {
    switch (st.k) {
      case 'load': {
        // There is no sign-extending 8-byte load.
        const sx = st.sx && st.bytes !== 8;
        const at = emit(ins((sx ? 0x81 : 0x61) | SIZE_CODE[st.bytes], st.reg, 8, st.off), `r${st.reg} = *(${sx ? 's' : 'u'}${st.bytes * 8} *)(r8 + ${st.off})`);
        const v = sx ? scalarLoadSx(st.bytes as 1 | 2 | 4) : scalarLoad(st.bytes);
        sems.push({ k: 'set', at, reg: st.reg, f: () => v });
        break;
      }
      case 'movk': {
        const insn = ins(st.is64 ? 0xb7 : 0xb4, st.reg, 0, 0, st.imm);
        const at = emit(insn, `${st.is64 ? 'r' : 'w'}${st.reg} = ${st.imm}`);
        sems.push({ k: 'alu', at, insn, dst: st.reg, srcReg: 0 });
        break;
      }
      case 'lddw': {
        const at = emit({ code: 0x18, dst: 7, src: 0, off: 0, imm: Number(BigInt.asIntN(32, st.value)), imm64: st.value }, `r7 = 0x${st.value.toString(16)} ll`);
        const v = scalarConst(st.value);
        sems.push({ k: 'set', at, reg: 7, f: () => v });
        break;
      }
      case 'alu': {
        const base = st.op === 'sdiv' ? 'div' : st.op === 'smod' ? 'mod' : st.op;
        const off = st.op === 'sdiv' || st.op === 'smod' ? 1 : 0;
        // A register mov links r6 and r7 (one id): the kernel then refines both on a branch, which is the core's business, not the scalar domain's.
        const x = st.op !== 'neg' && st.op !== 'mov' && st.x;
        let imm = st.op === 'neg' ? 0 : st.imm;
        // The kernel refuses constant division by zero and out-of-range constant shifts: keep to what it loads.
        if ((base === 'div' || base === 'mod') && imm === 0) imm = 1;
        if (base === 'lsh' || base === 'rsh' || base === 'arsh') imm = ((imm % 64) + 64) % (st.is64 ? 64 : 32);
        const code = (st.is64 ? 0x07 : 0x04) | ALU_CODE[base as keyof typeof ALU_CODE] | (x ? 0x08 : 0);
        const d = st.dst, sr = d === 6 ? 7 : 6;
        const w = st.is64 ? 'r' : 'w';
        const insn = ins(code, d, x ? sr : 0, off, x ? 0 : imm);
        const at = emit(insn, `${w}${d} ${st.op}= ${x ? `${w}${sr}` : imm}`);
        sems.push({ k: 'alu', at, insn, dst: d, srcReg: x ? sr : 0 });
        break;
      }
      case 'movsx': {
        const bits = st.is64 ? st.bits : st.bits === 32 ? 16 : st.bits;
        const insn = ins(st.is64 ? 0xbf : 0xbc, 6, 6, bits);
        const at = emit(insn, `${st.is64 ? 'r' : 'w'}6 = (s${bits})${st.is64 ? 'r' : 'w'}6`);
        sems.push({ k: 'alu', at, insn, dst: 6, srcReg: 6 });
        break;
      }
      case 'end': {
        const code = st.kind === 'bswap' ? 0xd7 : st.kind === 'be' ? 0xdc : 0xd4;
        const insn = ins(code, 6, 0, 0, st.bits);
        const at = emit(insn, `r6 = ${st.kind}${st.bits} r6`);
        sems.push({ k: 'alu', at, insn, dst: 6, srcReg: 0 });
        break;
      }
      case 'jmp': {
        // `self`: the register against itself (`if r6 > r6`).
        const srcReg = st.x ? (st.self ? 6 : 7) : 0;
        const code = (st.is32 ? 0x06 : 0x05) | JMP_CODE[st.op] | (st.x ? 0x08 : 0);
        const cond = `if ${st.is32 ? 'w' : 'r'}6 ${st.op} ${st.x ? `${st.is32 ? 'w' : 'r'}${srcReg}` : st.imm}`;
        // Either the jump leaves (to `out`) and the fall-through continues, or the jump skips a `goto out`.
        const insn = ins(code, 6, srcReg, st.stayOnTaken ? 1 : 0, st.x ? 0 : st.imm);
        const at = emit(insn, `${cond} goto ${st.stayOnTaken ? '+1' : 'out'}`);
        if (st.stayOnTaken) outJumps.push(emit(ins(0x05, 0, 0, 0, 0), 'goto out'));
        else outJumps.push(at);
        sems.push({ k: 'jmp', at, insn, srcReg, stayOnTaken: st.stayOnTaken });
        break;
      }
    }
  }
  // The access: r8 + r6 into a VALUE_SIZE-byte map value.
  const ptrAt = emit(ins(0x0f, 8, 6), 'r8 += r6');
  emit(ins(0x71, 0, 8, 0), 'r0 = *(u8 *)(r8 + 0)');
  const out = slot;
  emit(ins(0xb7, 0, 0, 0, 0), 'out: r0 = 0');
  emit(ins(0x95), 'exit');
  for (const j of outJumps) {
    const i = insns.findIndex((_, n) => slotOf(insns, n) === j);
    insns[i] = { ...insns[i], off: out - j - 1 };
  }

  // Our side: every path, as the kernel explores them.
  recording = record;
  const after = new Map<number, Map<number, Set<string>>>();
  const edges = new Map<string, Map<number, Set<string>>>();
  let accept = true;
  const ptr = new Set<string>();
  const work: { i: number; regs: Map<number, Scalar> }[] = [{ i: 0, regs: new Map() }];
  let budget = 10_000;
  while (work.length > 0) {
    const path = work.pop()!;
    const regs = path.regs;
    let i = path.i;
    for (; i < sems.length; i++) {
      if (--budget < 0) throw new Error('too many paths');
      const sm = sems[i];
      if (sm.k === 'set') {
        regs.set(sm.reg, sm.f(regs));
        addState(after, sm.at, sm.reg, regs.get(sm.reg)!);
      } else if (sm.k === 'alu') {
        // The per-instruction step verifier-core uses (scalar-insn.ts), so the kernel checks its decoding too.
        const step = scalarAluInsn(sm.insn, regs.get(sm.dst) ?? scalarUnknown(), sm.srcReg ? regs.get(sm.srcReg) : undefined);
        if (step.redo) work.push({ i, regs: new Map([...regs, [sm.dst, step.redo]]) });
        regs.set(sm.dst, step.dst);
        addState(after, sm.at, sm.dst, step.dst);
      } else {
        const same = sm.srcReg === 6;
        const { fall, jump } = scalarCondInsn(sm.insn, regs.get(6)!, sm.srcReg ? regs.get(sm.srcReg) : undefined, same);
        const record = (m: Map<string | number, Map<number, Set<string>>>, key: string | number, r: { dst: Scalar; src: Scalar }): void => {
          addState(m, key, 6, r.dst);
          if (sm.srcReg === 7) addState(m, key, 7, r.src);
        };
        if (fall) record(after as Map<string | number, Map<number, Set<string>>>, sm.at, fall);
        if (jump) record(edges as Map<string | number, Map<number, Set<string>>>, `${sm.at}:${sm.stayOnTaken ? sm.at + 2 : out}`, jump);
        const cont = sm.stayOnTaken ? jump : fall;
        if (!cont) break;
        regs.set(6, cont.dst);
        if (sm.srcReg === 7) regs.set(7, cont.src);
      }
    }
    if (i === sems.length) {
      const r6 = regs.get(6)!;
      if (record && !scalarIsConst(r6)) ptr.add(formatScalar(scalarPtrAdd(scalarConst(0n), r6)).replace(/^scalar\(|\)$/g, ''));
      if (!(r6.smin >= 0n && r6.umax <= BigInt(VALUE_SIZE - 1))) accept = false;
    }
  }
  const spec: ProgramSpec = {
    name: 'vs_scalar', type: 1, license: 'GPL', insns,
    maps: [{ name: 'vs_value', type: 2, keySize: 4, valueSize: VALUE_SIZE, maxEntries: 1 }],
  } as ProgramSpec;
  return { spec, after, edges, accept, text, ptrAt, ptr, steps: 10_000 - budget };
}

function slotOf(insns: Insn[], n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += insns[i].code === 0x18 ? 2 : 1;
  return s;
}

/** The register states in one kernel log line: `R6=scalar(...)` or `R6=P5` (precision marks and ids dropped). */
export function parseRegs(line: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = /\bR(\d+)(?:_\w+)?=/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    let i = re.lastIndex, depth = 0;
    const start = i;
    for (; i < line.length; i++) {
      const c = line[i];
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (c === ' ' && depth === 0) break;
    }
    let v = line.slice(start, i);
    // An id may carry a constant delta (`id=3+5`, BPF_ADD_CONST) and ends with `)` when nothing follows.
    v = v.replace(/^P/, '').replace(/\(id=\d+(?:[+-]\d+)?,?/, '(');
    out.set(Number(m[1]), v);
  }
  return out;
}

