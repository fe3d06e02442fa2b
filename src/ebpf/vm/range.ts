/** A verifier-style forward range analysis for the JIT on the VM-only (memory, length) model, which no kernel program type has: which packet loads are proven in bounds, so they can skip the run-time check (skb and XDP programs take these from the verifier's facts instead). */

import { Cls, type VmCode } from './code.js';
import { STACK_SIZE } from './memory.js';
import type { CtxField } from './program-types.js';

/**
 * Abstract register values. PKT is the packet start (ctx->data, or r1 at entry in the
 * (memory, length) model), END the packet end (ctx->data_end, or r1 + r2 at entry).
 * A packet pointer is PKT + V + off, V an unknown named by `id` (0: V = 0) with V in [vlo, vhi].
 */
type Val =
  | { readonly k: 0 } // anything
  | { readonly k: 1; readonly lo: number; readonly hi: number } // a scalar in [lo, hi] (small, non-negative)
  | { readonly k: 2; readonly id: number; readonly vlo: number; readonly vhi: number; readonly off: number } // a packet pointer
  | { readonly k: 3 } // END
  | { readonly k: 4 } // r2 at entry: the length, PKT + LEN = END
  | { readonly k: 5; readonly off: number }; // the converted context + off

const TOP: Val = { k: 0 };
const END: Val = { k: 3 };
/** Bounds stay far from 2^31 so no arithmetic on them wraps. */
const MAXV = 1 << 30;
const SLOTS = STACK_SIZE / 8;
/** Visits of a block before growing ranges widen to "anything" (termination). */
const WIDEN_AFTER = 3;

interface State {
  r: Val[];
  /** 8-byte stack slots of the frame, or null when the stack is not tracked. */
  s: Val[] | null;
  /** range[id] = k: PKT + V_id + k <= END has been proven. */
  range: Map<number, number>;
}

/** What the analysis needs to know about how the program starts. */
export interface RangeOptions {
  /** Fields of a converted context (r1 at entry is the context), when the type has one. */
  fields?: readonly CtxField[];
  /** True when r1 at entry is the start of a region at least r2 bytes long (or r2 is 0): the (memory, length) model. */
  memEntry: boolean;
}

/** The analysis' result: per slot, 1 when the load there is proven in bounds of the packet. */
export interface RangeInfo {
  readonly proven: Uint8Array;
  /** Slots after which the packet start's linear base must be (re)computed from register `rootReg[pc]`. */
  readonly rootReg: Int8Array;
  /** True when any load is proven (the JIT then keeps the packet's base in a local). */
  readonly any: boolean;
}

const sc = (lo: number, hi: number): Val => (lo >= 0 && hi < MAXV && lo <= hi ? { k: 1, lo, hi } : TOP);

function eqVal(a: Val, b: Val): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 1: { const o = b as typeof a; return a.lo === o.lo && a.hi === o.hi; }
    case 2: { const o = b as typeof a; return a.id === o.id && a.vlo === o.vlo && a.vhi === o.vhi && a.off === o.off; }
    case 5: return a.off === (b as typeof a).off;
    default: return true;
  }
}

function joinVal(a: Val, b: Val, widen: boolean): Val {
  if (eqVal(a, b)) return a;
  if (widen || a.k !== b.k) return TOP;
  if (a.k === 1) { const o = b as typeof a; return sc(Math.min(a.lo, o.lo), Math.max(a.hi, o.hi)); }
  if (a.k === 2) {
    const o = b as typeof a;
    if (a.id !== o.id || a.off !== o.off) return TOP;
    return { k: 2, id: a.id, vlo: Math.min(a.vlo, o.vlo), vhi: Math.max(a.vhi, o.vhi), off: a.off };
  }
  return TOP;
}

function copy(st: State): State {
  return { r: st.r.slice(), s: st.s ? st.s.slice() : null, range: new Map(st.range) };
}

function topState(trackStack: boolean): State {
  return { r: new Array<Val>(11).fill(TOP), s: trackStack ? new Array<Val>(SLOTS).fill(TOP) : null, range: new Map() };
}

/** Joins `b` into `a`; true when `a` changed. */
function joinInto(a: State, b: State, widen: boolean): boolean {
  let changed = false;
  for (let i = 0; i < 11; i++) {
    const v = joinVal(a.r[i], b.r[i], widen);
    if (!eqVal(v, a.r[i])) { a.r[i] = v; changed = true; }
  }
  if (a.s && b.s) {
    for (let i = 0; i < SLOTS; i++) {
      const v = joinVal(a.s[i], b.s[i], widen);
      if (!eqVal(v, a.s[i])) { a.s[i] = v; changed = true; }
    }
  }
  for (const [id, k] of a.range) {
    const o = b.range.get(id) ?? 0;
    if (o < k) {
      changed = true;
      if (widen || o <= 0) a.range.delete(id); else a.range.set(id, o);
    }
  }
  return changed;
}

/** Forgets every packet fact (after a call: helpers may move the packet). */
function killPacket(st: State): void {
  const bad = (v: Val): boolean => v.k === 2 || v.k === 3 || v.k === 4;
  for (let i = 0; i < 11; i++) if (bad(st.r[i])) st.r[i] = TOP;
  if (st.s) for (let i = 0; i < SLOTS; i++) if (bad(st.s[i])) st.s[i] = TOP;
  st.range.clear();
}

/** Forgets values with packet variable `id` (the instruction making it runs again: a new V). */
function killId(st: State, id: number): void {
  const bad = (v: Val): boolean => v.k === 2 && v.id === id;
  for (let i = 0; i < 11; i++) if (bad(st.r[i])) st.r[i] = TOP;
  if (st.s) for (let i = 0; i < SLOTS; i++) if (bad(st.s[i])) st.s[i] = TOP;
  st.range.delete(id);
}

const SIZE_OF: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** True when a run may write its stack frame: a store through r10, or r10 copied (then helpers or pointers may). */
export function writesFrame(code: VmCode): boolean {
  if (!stackPrivate(code)) return true;
  for (let pc = 0; pc < code.slots; pc++) {
    const cls = code.op[pc] & 7;
    if ((cls === Cls.ST || cls === Cls.STX) && code.dst[pc] === 10) return true;
  }
  return false;
}

/** True when the frame pointer's value is never copied anywhere: then only r10-based accesses touch the frame. */
function stackPrivate(code: VmCode): boolean {
  for (let pc = 0; pc < code.slots; pc++) {
    const op = code.op[pc], cls = op & 7;
    if ((cls === Cls.ALU || cls === Cls.ALU64) && (op & 8) && code.src[pc] === 10) return false;
    if ((cls === Cls.STX) && code.src[pc] === 10) return false;
  }
  return true;
}

/**
 * Runs the analysis to a fixpoint over the program's blocks and marks the loads whose
 * access lies inside the proven packet bounds. Sound by construction: everything it does not
 * understand becomes "anything", calls forget all packet facts, and only loads are marked.
 */
export function analyzeRanges(code: VmCode, opts: RangeOptions): RangeInfo {
  const n = code.slots;
  const proven = new Uint8Array(n);
  const rootReg = new Int8Array(n).fill(-1);
  const track = stackPrivate(code);
  const blockIndex = new Int32Array(n).fill(-1);
  code.blockStarts.forEach((s, i) => { blockIndex[s] = i; });
  const nb = code.blockStarts.length;
  const inState: (State | undefined)[] = new Array(nb);
  const visits = new Int32Array(nb);
  // Loop headers (targets of backward jumps) widen; every cycle passes one, so the fixpoint ends.
  const header = new Uint8Array(nb);
  for (let pc = 0; pc < n; pc++) {
    const op = code.op[pc], cls = op & 7, a = op & 0xf0;
    if ((cls !== Cls.JMP && cls !== Cls.JMP32) || a === 0x80 || a === 0x90) continue;
    const t = pc + 1 + (op === 0x06 ? code.imm[pc] : code.off[pc]);
    if (t <= pc && t >= 0 && blockIndex[t] >= 0) header[blockIndex[t]] = 1;
  }
  const work = new Set<number>();
  const fields = opts.fields;

  const entry = topState(track);
  if (fields) entry.r[1] = { k: 5, off: 0 };
  else if (opts.memEntry) { entry.r[1] = { k: 2, id: 0, vlo: 0, vhi: 0, off: 0 }; entry.r[2] = { k: 4 }; }
  const roots: [number, State][] = [[0, entry]];
  for (const f of code.funcEntries) roots.push([f, topState(track)]);
  for (let pc = 0; pc < n; pc++) if (code.op[pc] === 0x85 && code.src[pc] === 1) roots.push([pc + 1 + code.imm[pc], topState(track)]);

  let recording = false;
  const flow = (pc: number, st: State): void => {
    if (recording) return;
    const b = blockIndex[pc];
    if (b < 0) return;
    const cur = inState[b];
    if (!cur) { inState[b] = copy(st); work.add(b); return; }
    visits[b]++;
    if (joinInto(cur, st, header[b] === 1 && visits[b] > WIDEN_AFTER)) work.add(b);
  };
  for (const [pc, st] of roots) {
    const b = blockIndex[pc];
    if (b < 0) continue;
    // A root can also be reached by jumps; its state joins with theirs (the entry's facts stay only if they agree).
    if (inState[b] && pc !== 0) joinInto(inState[b]!, st, true);
    else if (!inState[b]) inState[b] = copy(st);
    else joinInto(inState[b]!, st, true);
    work.add(b);
  }

  const runBlock = (b: number, record: boolean): void => {
    const st = copy(inState[b]!);
    let pc = code.blockStarts[b];
    const len = code.blockLen[pc];
    for (let k = 0; k < len; k++) {
      const next = step(pc, st, record);
      if (next === undefined) return; // the block ended in a jump, exit or call: successors handled
      pc = next;
    }
    flow(pc, st);
  };

  /** Transfers `st` over instruction `pc`; returns the next slot in the block or undefined when the instruction ends it. */
  const step = (pc: number, st: State, record: boolean): number | undefined => {
    const op = code.op[pc], cls = op & 7, d = code.dst[pc], s = code.src[pc], off = code.off[pc], imm = code.imm[pc];
    const R = st.r;
    switch (cls) {
      case Cls.ALU64: case Cls.ALU: {
        const a = op & 0xf0, x = (op & 8) !== 0, is64 = cls === Cls.ALU64;
        const dv = R[d], sv = x ? R[s] : sc(imm, imm);
        const sh = is64 ? 63 : 31;
        let out: Val = TOP;
        if (a === 0xb0 && off === 0) { // mov
          if (x) out = is64 || sv.k === 1 ? sv : TOP;
          else out = is64 || imm >= 0 ? sc(imm, imm) : TOP;
        } else if (a === 0x00 && is64) { // add
          if (dv.k === 1 && sv.k === 1) out = sc(dv.lo + sv.lo, dv.hi + sv.hi);
          else if (dv.k === 2 && !x) out = Math.abs(dv.off + imm) < MAXV ? { ...dv, off: dv.off + imm } : TOP;
          else if (dv.k === 5 && !x) out = { k: 5, off: dv.off + imm };
          else if ((dv.k === 2 && sv.k === 1) || (dv.k === 1 && sv.k === 2)) {
            const p = dv.k === 2 ? dv : sv as Extract<Val, { k: 2 }>;
            const q = dv.k === 1 ? dv : sv as Extract<Val, { k: 1 }>;
            const lo = p.vlo + p.off + q.lo, hi = p.vhi + p.off + q.hi;
            killId(st, pc + 1);
            out = lo >= 0 && hi < MAXV ? { k: 2, id: pc + 1, vlo: lo, vhi: hi, off: 0 } : TOP;
          } else if ((dv.k === 2 && sv.k === 4) || (dv.k === 4 && sv.k === 2)) {
            const p = (dv.k === 2 ? dv : sv) as Extract<Val, { k: 2 }>;
            out = p.id === 0 && p.off === 0 ? END : TOP;
          }
        } else if (a === 0x10 && is64 && !x) { // sub imm
          if (dv.k === 1) out = sc(dv.lo - imm, dv.hi - imm);
          else if (dv.k === 2 && Math.abs(dv.off - imm) < MAXV) out = { ...dv, off: dv.off - imm };
        } else if (a === 0x00 && !is64 && dv.k === 1 && sv.k === 1) out = sc(dv.lo + sv.lo, dv.hi + sv.hi);
        else if (a === 0x50 && !x && imm >= 0) out = dv.k === 1 ? sc(0, Math.min(dv.hi, imm)) : sc(0, imm);
        else if (a === 0x60 && !x && dv.k === 1 && (imm & sh) < 30) out = sc(dv.lo * 2 ** (imm & sh), dv.hi * 2 ** (imm & sh));
        else if (a === 0x70 && !x && dv.k === 1) out = sc(Math.floor(dv.lo / 2 ** (imm & sh)), Math.floor(dv.hi / 2 ** (imm & sh)));
        R[d] = out;
        return pc + 1;
      }
      case Cls.LDX: {
        const size = SIZE_OF[op & 0x18];
        const bv = R[s];
        let out: Val = TOP;
        if (s === 10 && st.s && size === 8 && off % 8 === 0 && off >= -STACK_SIZE && off < 0) out = st.s[(off + STACK_SIZE) / 8];
        else if (bv.k === 2) {
          const at = bv.off + off;
          if (at >= 0 && at + size <= (st.range.get(bv.id) ?? 0)) {
            if (record) proven[pc] = 1;
          }
          if ((op & 0xe0) === 0x60 && size < 4) out = sc(0, size === 1 ? 0xff : 0xffff);
        } else if (bv.k === 5 && fields) {
          const at = bv.off + off;
          const f = size === 4 ? fields.find((x) => x.offset === at) : undefined;
          if (f?.kind === 'data') { out = { k: 2, id: 0, vlo: 0, vhi: 0, off: 0 }; if (record) rootReg[pc] = d; }
          else if (f?.kind === 'data_end') out = END;
        } else if ((op & 0xe0) === 0x60 && size < 4) out = sc(0, size === 1 ? 0xff : 0xffff);
        R[d] = out;
        return pc + 1;
      }
      case Cls.ST: case Cls.STX: {
        const size = SIZE_OF[op & 0x18];
        if ((op & 0xe0) === 0xc0) { // atomics: a fetch writes r0 or src
          if (imm === 0xf1) R[0] = TOP; else if (imm & 1) R[s] = TOP;
        }
        if (d === 10 && st.s) {
          if (off >= -STACK_SIZE && off + size <= 0) {
            const first = Math.floor((off + STACK_SIZE) / 8), last = Math.floor((off + STACK_SIZE + size - 1) / 8);
            for (let i = first; i <= last; i++) st.s[i] = TOP;
            if (size === 8 && off % 8 === 0 && (op & 0xe0) === 0x60) st.s[first] = cls === Cls.STX ? R[s] : sc(imm, imm);
          }
        }
        return pc + 1;
      }
      case Cls.JMP: case Cls.JMP32: {
        const a = op & 0xf0;
        if (a === 0x90) return undefined;
        if (a === 0x80) {
          for (let r = 0; r <= 5; r++) R[r] = TOP;
          killPacket(st);
          if (op === 0x85 && s === 1) { flow(pc + 1, st); return undefined; }
          return pc + 1;
        }
        if (a === 0x00) { flow(pc + 1 + (cls === Cls.JMP ? off : imm), st); return undefined; }
        const taken = copy(st);
        const fall = st;
        if (cls === Cls.JMP) refine(a, (op & 8) !== 0, d, s, imm, taken, fall);
        flow(pc + 1 + off, taken);
        flow(pc + 1, fall);
        return undefined;
      }
      default: {
        if (op === 0x18) { R[d] = code.wide[pc] < BigInt(MAXV) && code.ldKind[pc] === 0 && code.ldMap[pc] < 0 ? sc(Number(code.wide[pc]), Number(code.wide[pc])) : TOP; return pc + 2; }
        R[0] = TOP; // ld_abs / ld_ind
        return pc + 1;
      }
    }
  };

  while (work.size) {
    const b = work.values().next().value as number;
    work.delete(b);
    runBlock(b, false);
  }
  // The fixpoint is reached: one more pass over each block marks the proven loads.
  recording = true;
  for (let b = 0; b < nb; b++) if (inState[b]) runBlock(b, true);
  let any = false;
  for (let i = 0; i < n; i++) if (proven[i]) { any = true; break; }
  return { proven, rootReg, any };
}

/** Narrows the states of a conditional jump's two edges. */
function refine(a: number, x: boolean, d: number, s: number, imm: number, taken: State, fall: State): void {
  const dv = taken.r[d];
  if (!x) {
    if (imm < 0) return;
    const lim = (st: State, lo: number, hi: number): void => {
      const v = st.r[d];
      const cur = v.k === 1 ? v : v.k === 0 ? { lo: 0, hi: MAXV - 1 } : undefined;
      if (!cur) return;
      st.r[d] = sc(Math.max(cur.lo, lo), Math.min(cur.hi, hi));
    };
    switch (a) {
      case 0x10: lim(taken, imm, imm); break; // jeq
      case 0x50: lim(fall, imm, imm); break; // jne
      case 0xa0: if (imm > 0) lim(taken, 0, imm - 1); if (dv.k === 1) lim(fall, imm, MAXV - 1); break; // jlt
      case 0xb0: lim(taken, 0, imm); if (dv.k === 1) lim(fall, imm + 1, MAXV - 1); break; // jle
      case 0x20: if (dv.k === 1) lim(taken, imm + 1, MAXV - 1); lim(fall, 0, imm); break; // jgt
      case 0x30: if (dv.k === 1) lim(taken, imm, MAXV - 1); if (imm > 0) lim(fall, 0, imm - 1); break; // jge
    }
    return;
  }
  const sv = taken.r[s];
  // Which edge proves "pkt <= end" (le) or "pkt < end" (lt).
  let p: Extract<Val, { k: 2 }> | undefined;
  let edge: State | undefined;
  let strict = false;
  if (dv.k === 2 && sv.k === 3) {
    p = dv;
    switch (a) {
      case 0x20: edge = fall; break; // jgt p, end
      case 0x30: edge = fall; strict = true; break; // jge p, end
      case 0xa0: edge = taken; strict = true; break; // jlt p, end
      case 0xb0: edge = taken; break; // jle p, end
    }
  } else if (dv.k === 3 && sv.k === 2) {
    p = sv;
    switch (a) {
      case 0x20: edge = taken; strict = true; break; // jgt end, p
      case 0x30: edge = taken; break; // jge end, p
      case 0xa0: edge = fall; break; // jlt end, p
      case 0xb0: edge = fall; strict = true; break; // jle end, p
    }
  }
  if (!p || !edge) return;
  const k = p.off + (strict ? 1 : 0);
  if (k > (edge.range.get(p.id) ?? 0)) edge.range.set(p.id, k);
}
