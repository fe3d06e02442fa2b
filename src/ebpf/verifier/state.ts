/** The verifier's abstract state: typed registers, 8-byte stack slots, call frames, acquired references, and the comparisons pruning needs. */

import {
  type Scalar, formatScalar, scalarConst, scalarEqual, scalarIsConst, scalarUnknown, scalarWithin,
} from './scalar.js';

/** A register's type (enum bpf_reg_type, base types the program types here need). */
export type RegType =
  | 'not_init' | 'scalar' | 'ctx' | 'map_ptr' | 'map_value' | 'map_key' | 'stack'
  | 'pkt' | 'pkt_meta' | 'pkt_end' | 'mem' | 'sock' | 'sock_common' | 'func';

/**
 * One register. `s` is the value of a scalar, or the variable part of a pointer's offset;
 * `off` the fixed part. Objects are never changed in place: an update makes a new one.
 */
export interface Reg {
  readonly t: RegType;
  readonly s: Scalar;
  readonly off: number;
  /** PTR_MAYBE_NULL: the pointer may be NULL until a null check. */
  readonly nul: boolean;
  /** Shared by copies: a null check or packet range proven on one applies to all; for scalars, linked copies. */
  readonly id: number;
  /** ref_obj_id: the acquired object this pointer refers to. */
  readonly ref: number;
  /** Packet pointers: bytes proven readable from the pointer's base (or AT_PKT_END/BEYOND_PKT_END). */
  readonly range: number;
  /** Map pointers, values, keys: the index of the map in the program's maps. */
  readonly map: number;
  /** PTR_TO_MEM: the size of the memory (ringbuf records). */
  readonly size: number;
  /** Stack pointers: the frame they point into. */
  readonly frame: number;
  /** PTR_TO_FUNC: the subprogram's first instruction. */
  readonly sub: number;
  /** MEM_RDONLY. */
  readonly rdonly: boolean;
}

const UNKNOWN = scalarUnknown();
const ZERO = scalarConst(0n);

const BASE: Reg = { t: 'not_init', s: UNKNOWN, off: 0, nul: false, id: 0, ref: 0, range: 0, map: -1, size: 0, frame: 0, sub: -1, rdonly: false };

/** An uninitialized register. */
export const NOT_INIT: Reg = BASE;

/** A scalar register. */
export function scalarReg(s: Scalar, id = 0): Reg {
  // A literal in BASE's key order (not a spread): one of these is made per ALU instruction.
  return { t: 'scalar', s, off: 0, nul: false, id, ref: 0, range: 0, map: -1, size: 0, frame: 0, sub: -1, rdonly: false };
}

/** An unknown scalar. */
export const UNKNOWN_REG: Reg = scalarReg(UNKNOWN);

const NONE: Partial<Reg> = {};

/** A pointer of a type with a fixed offset of 0 (extra fields by `more`). */
export function ptrReg(t: RegType, more: Partial<Reg> = NONE): Reg {
  // A literal in BASE's key order, not a spread of `more`: lddw, ctx loads and helper calls make one each.
  return {
    t, s: more.s ?? ZERO, off: more.off ?? 0, nul: more.nul ?? false, id: more.id ?? 0, ref: more.ref ?? 0, range: more.range ?? 0,
    map: more.map ?? -1, size: more.size ?? 0, frame: more.frame ?? 0, sub: more.sub ?? -1, rdonly: more.rdonly ?? false,
  };
}

/**
 * A copy of `r` with the fields of `p` replaced. A literal in BASE's key order, so that every register has one
 * shape: object spreads of registers were a large part of pointer arithmetic and branch refinement.
 */
export function regWith(r: Reg, p: Partial<Reg>): Reg {
  return {
    t: p.t ?? r.t, s: p.s ?? r.s, off: p.off ?? r.off, nul: p.nul ?? r.nul, id: p.id ?? r.id, ref: p.ref ?? r.ref,
    range: p.range ?? r.range, map: p.map ?? r.map, size: p.size ?? r.size, frame: p.frame ?? r.frame, sub: p.sub ?? r.sub,
    rdonly: p.rdonly ?? r.rdonly,
  };
}

/** True for every type but scalar and not_init. */
export function isPointer(r: Reg): boolean {
  return r.t !== 'scalar' && r.t !== 'not_init';
}

/** True for packet, packet-meta pointers. */
export function isPktPtr(r: Reg): boolean {
  return r.t === 'pkt' || r.t === 'pkt_meta';
}

/** The kernel's reg_type_str: the name a log and an error use for a type. */
export function regTypeStr(r: Reg): string {
  const pre = r.t === 'mem' && r.size > 0 && r.ref ? 'ringbuf_' : r.rdonly ? 'rdonly_' : '';
  return pre + TYPE_STR[r.t] + (r.nul ? '_or_null' : '');
}

const TYPE_STR: Readonly<Record<RegType, string>> = {
  not_init: '?', scalar: 'scalar', ctx: 'ctx', map_ptr: 'map_ptr', map_value: 'map_value', map_key: 'map_key', stack: 'fp',
  pkt: 'pkt', pkt_meta: 'pkt_meta', pkt_end: 'pkt_end', mem: 'mem', sock: 'sock', sock_common: 'sock_common', func: 'func',
};

/** A register as the kernel's log prints it: `ctx()`, `fp-8`, `pkt(off=14,r=14)`, `scalar(...)`, `5`. */
export function formatReg(r: Reg, maps: readonly { keySize: number; valueSize: number }[] = []): string {
  if (r.t === 'not_init') return '?';
  if (r.t === 'scalar') return formatScalar(r.s, { id: r.id });
  if (r.t === 'stack' && scalarIsConst(r.s) && r.s.var.value === 0n) return `fp${r.off === 0 ? '0' : r.off}`;
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.ref) parts.push(`ref_obj_id=${r.ref}`);
  if (r.off) parts.push(`off=${r.off}`);
  if (r.t === 'pkt' || r.t === 'pkt_meta') parts.push(`r=${r.range}`);
  if ((r.t === 'map_value' || r.t === 'map_ptr' || r.t === 'map_key') && maps[r.map]) parts.push(`ks=${maps[r.map].keySize},vs=${maps[r.map].valueSize}`);
  if (r.t === 'mem') parts.push(`sz=${r.size}`);
  if (!scalarIsConst(r.s) || r.s.var.value !== 0n) parts.push(formatScalar(r.s).replace(/^scalar\(|\)$/g, ''));
  return `${regTypeStr(r)}(${parts.join(',')})`;
}

/**
 * One 8-byte stack slot: the type of each byte (`?` invalid, `m` misc, `0` zero, `r` part of a spilled register),
 * indexed as the kernel does (index 7 is the lowest address), and the spilled register.
 */
export interface Slot {
  readonly bytes: string;
  /** Always present (undefined when none): one object shape for every slot. */
  readonly spill: Reg | undefined;
}

/** A slot nothing has written. */
export const EMPTY_SLOT: Slot = { bytes: '????????', spill: undefined };

/** A function's frame: registers, stack slots (slot i covers fp-8(i+1) .. fp-8i-1), where it was called from. */
export interface Frame {
  regs: Reg[];
  stack: Slot[];
  /** The instruction index of the call that made this frame (-1 for the main program). */
  readonly callsite: number;
  /** First instruction of the function. */
  readonly sub: number;
  /** Callback frames (bpf_loop, for_each_map_elem): their return value must be in [0, 1] and they end the path. */
  readonly callback: boolean;
}

/** An acquired object that must be released before exit. */
export interface RefState {
  readonly id: number;
  readonly insn: number;
}

/** A state stored at a prune point: later states that fall within it are safe. */
export interface StoredState {
  readonly state: VState;
  readonly pc: number;
  /** Paths still being explored below this state; 0 = fully explored, usable for pruning. */
  branches: number;
  readonly parent: StoredState | undefined;
  /** Times it pruned a path, and times it did not (stale states are dropped). */
  hits: number;
  misses: number;
  /** The loop-detection key of the state (see the verifier's loopKey). */
  readonly key: number;
  /** Order of storing (the kernel's list order at one instruction). */
  readonly seq: number;
  /** Dropped from its instruction's list while still being explored (it kept missing). */
  evicted?: boolean;
  /**
   * Its constants where they must meet the same constant (see ConstSig; sigRegs -1: none, for several frames; -2: not
   * made yet, on the first comparison: many states never meet one). Fields of the state itself, not an object of
   * their own: visited() reads them for every stored state it passes.
   */
  sigRegs: number;
  sigLo: number;
  sigHi: number;
  sigHash: number;
}

/**
 * The constant scalars of a one-frame state in the registers (`regs`) and stack slots below 64 (`lo`, `hi`, spilled
 * whole) whose values pruning compares, and their hash. A stored constant only covers the same constant (regsafe:
 * range_within and tnum_in of a single value), so a current state whose values at a stored state's positions hash
 * otherwise is not covered: visited() tests that before statesSafe, whose cost is mostly loading the stored state.
 */
export interface ConstSig {
  readonly regs: number;
  readonly lo: number;
  readonly hi: number;
  readonly hash: number;
}

/** The constant at a register, or a whole spilled register, that can be in a signature (else undefined). */
function sigConst(r: Reg | undefined): bigint | undefined {
  return r && r.t === 'scalar' && scalarIsConst(r.s) ? r.s.var.value : undefined;
}

function slotConst(sl: Slot | undefined): bigint | undefined {
  return sl && sl.bytes === 'rrrrrrrr' ? sigConst(sl.spill) : undefined;
}

/** The signature of a one-frame state over the positions that matter (see ConstSig): the positions holding constants. */
export function constSig(st: VState, regs: number, lo: number, hi: number): ConstSig {
  const f = st.frames[0];
  let h = 0, sr = 0, sl = 0, sh = 0;
  for (let m = regs & 0x7ff; m !== 0; m &= m - 1) {
    const r = lowBit(m);
    const v = sigConst(f.regs[r]);
    if (v !== undefined) { sr |= 1 << r; h = mix(h, Number(v)); }
  }
  for (let m = lo; m !== 0; m &= m - 1) {
    const i = lowBit(m);
    const v = slotConst(f.stack[i]);
    if (v !== undefined) { sl |= 1 << i; h = mix(h, Number(v)); }
  }
  for (let m = hi; m !== 0; m &= m - 1) {
    const i = lowBit(m);
    const v = slotConst(f.stack[32 + i]);
    if (v !== undefined) { sh |= 1 << i; h = mix(h, Number(v)); }
  }
  return { regs: sr, lo: sl, hi: sh, hash: h };
}

/** The hash a one-frame state has at a signature's positions, in its order; NaN when one of them holds no constant. */
export function constHash(st: VState, regs: number, lo: number, hi: number): number {
  const f = st.frames[0];
  let h = 0;
  for (let m = regs; m !== 0; m &= m - 1) {
    const v = sigConst(f.regs[lowBit(m)]);
    if (v === undefined) return NaN;
    h = mix(h, Number(v));
  }
  for (let m = lo; m !== 0; m &= m - 1) {
    const v = slotConst(f.stack[lowBit(m)]);
    if (v === undefined) return NaN;
    h = mix(h, Number(v));
  }
  for (let m = hi; m !== 0; m &= m - 1) {
    const v = slotConst(f.stack[32 + lowBit(m)]);
    if (v === undefined) return NaN;
    h = mix(h, Number(v));
  }
  return h;
}

/** The index of the lowest set bit of a non-zero mask (masks are walked with m &= m - 1). */
function lowBit(m: number): number {
  return 31 - Math.clz32(m & -m);
}

/** One step of a 32-bit hash over numbers (a double's low and high 32-bit halves both count). */
export function mix(h: number, x: number): number {
  h = Math.imul(h ^ (x | 0), 0x9e3779b1);
  h = Math.imul(h ^ ((x / 4294967296) | 0), 0x85ebca77);
  return h ^ (h >>> 15);
}

/** Entries per history segment. */
const SEG = 32;

/**
 * A run of up to SEG consecutive entries of a path's history (each instruction that wrote a register: its pc, the
 * register, the registers it read, the value after), following the first `prevLen` entries of `prev`; the backward
 * slice of an error walks them newest first. Paths that went on from one point share the segments before it: the path
 * whose end is a segment's end appends in place, any other starts a segment of its own. Arrays of numbers, not an
 * object per instruction: a long path with many pending branches keeps every entry alive, and the garbage collector's
 * work on those objects was about a third of such a verification. (Not typed arrays: a segment is made at most
 * branches, and an ArrayBuffer costs more than the small arrays that grow as entries come.)
 */
export class HistorySeg {
  /** Per entry: pc, then register | reads << 4. */
  private readonly data: number[] = [];
  private readonly values: (Reg | undefined)[] = [];
  /** Entries written: a path at this end may append in place. */
  len = 0;
  constructor(readonly prev: HistorySeg | undefined, readonly prevLen: number, readonly depth: number) {}
  pc(i: number): number {
    return this.data[2 * i];
  }
  reg(i: number): number {
    return this.data[2 * i + 1] & 15;
  }
  reads(i: number): number {
    return this.data[2 * i + 1] >>> 4;
  }
  value(i: number): Reg | undefined {
    return this.values[i];
  }
  /** Appends at `len` (the caller owns the end and checked there is room). */
  push(pc: number, reg: number, reads: number, value: Reg | undefined): void {
    this.len++;
    this.data.push(pc, reg | (reads << 4));
    this.values.push(value);
  }
}

/**
 * Appends an entry to a path's history. Once the path holds more than `limit` entries, its next segment follows a
 * copy of the newest `keep` only: a long path does not keep one entry per instruction alive.
 */
export function histPush(st: VState, pc: number, reg: number, reads: number, value: Reg | undefined, keep: number, limit: number): void {
  let seg = st.hist;
  let len = st.histLen;
  if (!seg || seg.len !== len || len === SEG) {
    // Another path went on from this end, or the segment is full: a segment of this path's own.
    if (seg && seg.depth + len > limit) {
      seg = histCopy(seg, len, keep);
      len = seg.len;
    }
    seg = new HistorySeg(seg, len, seg ? seg.depth + len : 0);
    st.hist = seg;
    st.histLen = 0;
  }
  seg.push(pc, reg, reads, value);
  st.histLen++;
}

/** The newest `n` entries of the history that ends at entry `len` of `seg`, as a chain of new segments. */
function histCopy(seg: HistorySeg, len: number, n: number): HistorySeg {
  // The segments that hold them, newest first, with the entries each contributes.
  const segs: HistorySeg[] = [];
  const ends: number[] = [];
  let left = n;
  for (let s: HistorySeg | undefined = seg, k = len; s && left > 0; k = s.prevLen, s = s.prev) {
    segs.push(s);
    ends.push(k);
    left -= k;
  }
  let out = new HistorySeg(undefined, 0, 0);
  for (let j = segs.length - 1; j >= 0; j--) {
    const s = segs[j];
    // The oldest segment gives only its newest entries.
    for (let i = j === segs.length - 1 ? Math.max(0, -left) : 0; i < ends[j]; i++) {
      if (out.len === SEG) out = new HistorySeg(out, SEG, out.depth + SEG);
      out.push(s.pc(i), s.reg(i), s.reads(i), s.value(i));
    }
  }
  return out;
}

/** The whole state along one path. */
export interface VState {
  frames: Frame[];
  /** Never changed in place (a change makes a new array): copies of a state share it. */
  refs: readonly RefState[];
  parent: StoredState | undefined;
  /** The path's history: the first `histLen` entries of `hist` and those before it. */
  hist: HistorySeg | undefined;
  histLen: number;
}

/**
 * A copy whose frames and arrays can be changed without touching `s` (registers and slots are shared: they are
 * immutable); `history` false: without the history (a stored state is only compared with). Literals, not spreads: a
 * copy is made at every branch and every stored state.
 */
export function cloneState(s: VState, history = true): VState {
  const frames = new Array<Frame>(s.frames.length);
  for (let i = 0; i < frames.length; i++) frames[i] = cloneFrame(s.frames[i]);
  return { frames, refs: s.refs, parent: s.parent, hist: history ? s.hist : undefined, histLen: history ? s.histLen : 0 };
}

function cloneFrame(f: Frame): Frame {
  return { regs: f.regs.slice(), stack: f.stack.slice(), callsite: f.callsite, sub: f.sub, callback: f.callback };
}

/** The id correspondence of one state comparison (check_ids): an old id must always meet the same current id. */
class IdMap {
  // Made on the first non-zero id: most comparisons meet none, and one comparison runs per stored state.
  private m: Map<number, number> | undefined;
  private back: Map<number, number> | undefined;
  /** Forgets every pair (one IdMap serves all comparisons: they never nest). Map.clear costs more than new maps. */
  reset(): void {
    this.m = undefined;
    this.back = undefined;
  }
  check(oldId: number, curId: number): boolean {
    if (oldId === 0 && curId === 0) return true;
    if (oldId === 0 || curId === 0) return false;
    if (!this.m || !this.back) {
      this.m = new Map();
      this.back = new Map();
    }
    const a = this.m.get(oldId);
    const b = this.back.get(curId);
    if (a === undefined && b === undefined) {
      this.m.set(oldId, curId);
      this.back.set(curId, oldId);
      return true;
    }
    return a === curId && b === oldId;
  }
  /** Scalar ids: an old unlinked scalar fits any current one. */
  checkScalar(oldId: number, curId: number): boolean {
    if (oldId === 0) return true;
    return this.check(oldId, curId === 0 ? -1 - (this.m?.size ?? 0) : curId);
  }
}

/** The id map of the comparison under way. */
const IDS = new IdMap();

/** regsafe: every value `cur` may hold, `old` may hold too, with the same meaning. */
function regSafe(old: Reg, cur: Reg, ids: IdMap): boolean {
  if (old.t === 'not_init') return true;
  if (cur.t !== old.t) return false;
  if (old.t === 'scalar') return scalarWithin(old.s, cur.s) && ids.checkScalar(old.id, cur.id);
  if (old.nul !== cur.nul || old.off !== cur.off || old.rdonly !== cur.rdonly) return false;
  if (!scalarWithin(old.s, cur.s)) return false;
  switch (old.t) {
    case 'pkt':
    case 'pkt_meta':
      // A current range at least as large as the old one (the negative markers must be equal).
      if (old.range < 0 || cur.range < 0 ? old.range !== cur.range : cur.range < old.range) return false;
      return ids.check(old.id, cur.id);
    case 'map_value':
    case 'map_key':
    case 'map_ptr':
      return old.map === cur.map && (!old.nul || ids.check(old.id, cur.id)) && ids.check(old.ref, cur.ref);
    case 'mem':
      return old.size === cur.size && (!old.nul || ids.check(old.id, cur.id)) && ids.check(old.ref, cur.ref);
    case 'stack':
      return old.frame === cur.frame;
    case 'func':
      return old.sub === cur.sub;
    case 'sock':
    case 'sock_common':
      return (!old.nul || ids.check(old.id, cur.id)) && ids.check(old.ref, cur.ref);
    default:
      return true;
  }
}

/** A register regsafe finds safe against itself whatever the ids met so far: it has no id or reference to match. */
function unshared(r: Reg): boolean {
  return r.id === 0 && r.ref === 0;
}

/** stacksafe with uninitialized reads allowed (privileged): old misc/invalid bytes accept anything. */
function stackSafe(old: Slot[], cur: Slot[], ids: IdMap, uninitOk: boolean, relLo: number, relHi: number): boolean {
  for (let i = 0; i < old.length; i++) {
    const o = old[i];
    const c = cur[i] ?? EMPTY_SLOT;
    // The same slot (a stored state shares its slots with the path that stored it): safe unless an id must match.
    if (o === c && (!o.spill || unshared(o.spill))) continue;
    // A spilled scalar no relevant load reads back again: any spilled scalar will do.
    const relevant = i < 32 ? (relLo >>> i) & 1 : i < 64 ? (relHi >>> (i - 32)) & 1 : 1;
    if (!relevant && o.spill && c.spill && o.spill.t === 'scalar' && c.spill.t === 'scalar' && o.bytes === 'rrrrrrrr' && c.bytes === 'rrrrrrrr') continue;
    if (o.spill) {
      if (!c.spill || c.bytes !== o.bytes) {
        // A spilled unknown scalar reads like misc bytes.
        if (o.spill.t === 'scalar' && scalarWithin(o.spill.s, UNKNOWN) && o.bytes === 'rrrrrrrr' && !o.spill.id && /^[m0]{8}$/.test(c.bytes)) continue;
        return false;
      }
      if (!regSafe(o.spill, c.spill, ids)) return false;
      continue;
    }
    if (o.bytes === c.bytes) continue;
    for (let b = 0; b < 8; b++) {
      const ob = o.bytes[b];
      const cb = c.bytes[b];
      if (ob === '?') continue;
      if (ob === 'm' && (uninitOk || cb !== '?')) continue;
      if (ob !== cb) return false;
    }
  }
  return true;
}

/**
 * states_equal for pruning: `cur` (arriving at the same instruction) is covered by the fully explored `old`.
 * `live` gives, per frame from the outermost, the registers still read from here on; `slotsLo`/`slotsHi`, the
 * innermost frame's stack slots whose spilled scalars may still matter (bit i: slot i; all by default).
 */
export function statesSafe(old: VState, cur: VState, live: ArrayLike<number>, uninitOk: boolean, precise?: ArrayLike<number>, slotsLo = -1, slotsHi = -1): boolean {
  if (old.frames.length !== cur.frames.length || old.refs.length !== cur.refs.length) return false;
  const ids = IDS;
  ids.reset();
  for (let f = 0; f < old.frames.length; f++) {
    const of = old.frames[f];
    const cf = cur.frames[f];
    if (of.callsite !== cf.callsite) return false;
    const exact = precise ? precise[f] : -1;
    // The live registers only, lowest first (one comparison runs per stored state at every prune point).
    for (let m = live[f] & 0x7ff; m !== 0; m &= m - 1) {
      const r = lowBit(m);
      const o = of.regs[r];
      const c = cf.regs[r];
      // The same register (shared with the path that stored it): safe unless an id must match.
      if (o === c && unshared(o)) continue;
      // A scalar whose value cannot matter any more: only its type is compared.
      if (!(exact & (1 << r)) && o.t === 'scalar' && c.t === 'scalar') continue;
      if (!regSafe(o, c, ids)) return false;
    }
    if (!stackSafe(of.stack, cf.stack, ids, uninitOk, f === old.frames.length - 1 ? slotsLo : -1, f === old.frames.length - 1 ? slotsHi : -1)) return false;
  }
  for (let i = 0; i < old.refs.length; i++) if (!ids.check(old.refs[i].id, cur.refs[i].id)) return false;
  return true;
}

/** Two registers hold exactly the same knowledge (loop detection's equality). */
export function regEqual(a: Reg, b: Reg): boolean {
  return a.t === b.t && a.off === b.off && a.nul === b.nul && a.range === b.range && a.map === b.map && a.size === b.size && a.frame === b.frame && a.sub === b.sub && scalarEqual(a.s, b.s);
}
