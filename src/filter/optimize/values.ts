/**
 * Value numbering for the optimizer: symbolic values of A, X and M[], what the branches
 * taken so far prove about them, and which loads are known not to abort.
 */

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_CLASS, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET,
  BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MISCOP, BPF_MOD, BPF_MODE, BPF_MSH, BPF_MUL, BPF_NEG, BPF_OP, BPF_OR,
  BPF_RSH, BPF_SIZE, BPF_SRC, BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_W, BPF_X, BPF_XOR, BPF_K, type Insn,
} from '../../cbpf/index.js';
import { ParseError } from '../../util/index.js';
import { A_ATOM, N_ATOMS, X_ATOM, workMeter } from './graph.js';

/** An inclusive unsigned 32-bit range. */
export type Range = readonly [number, number];
const FULL: Range = [0, 0xffffffff];

/** Bytes each load width reads. */
const WIDTH: Record<number, number> = { [BPF_W]: 4, [BPF_H]: 2, [BPF_B]: 1 };

/** Constant folding of ALU operations; undefined where the result is not defined (division by 0, shifts of 32+). */
const FOLD: Record<number, (a: number, b: number) => number | undefined> = {
  [BPF_ADD]: (a, b) => (a + b) >>> 0,
  [BPF_SUB]: (a, b) => (a - b) >>> 0,
  [BPF_MUL]: (a, b) => Math.imul(a, b) >>> 0,
  [BPF_DIV]: (a, b) => (b === 0 ? undefined : Math.floor(a / b) >>> 0),
  [BPF_MOD]: (a, b) => (b === 0 ? undefined : a % b >>> 0),
  [BPF_OR]: (a, b) => (a | b) >>> 0,
  [BPF_AND]: (a, b) => (a & b) >>> 0,
  [BPF_XOR]: (a, b) => (a ^ b) >>> 0,
  [BPF_LSH]: (a, b) => (b >= 32 ? undefined : (a << b) >>> 0),
  [BPF_RSH]: (a, b) => (b >= 32 ? undefined : a >>> b),
  [BPF_NEG]: (a) => -a >>> 0,
};

/** Operand values that leave A unchanged (`add #0`, `mul #1`, ...). */
const IDENTITY: Record<number, number> = { [BPF_ADD]: 0, [BPF_SUB]: 0, [BPF_OR]: 0, [BPF_XOR]: 0, [BPF_LSH]: 0, [BPF_RSH]: 0, [BPF_MUL]: 1, [BPF_DIV]: 1, [BPF_AND]: 0xffffffff };

/**
 * What a load out of the captured bytes means to the optimizer (a filter that does one
 * returns 0 at once).
 *
 * - `libpcap`: what libpcap's optimizer assumes, and so what tcpdump selects with: a load is
 *   a pure value that is always there. Unused loads go, tests are reordered and decided
 *   without regard to where a short packet would have stopped, so on a packet too short for
 *   some load the optimized program may answer otherwise than the unoptimized one, exactly
 *   as tcpdump's does. A load's width is not used to bound its value either (libpcap does
 *   not): deciding a test from it would drop a load libpcap keeps, and change a short
 *   packet's verdict where tcpdump's does not change.
 * - `exact`: the optimized program returns what the unoptimized one returns on every packet,
 *   truncated or not.
 */
export type AbortModel = 'libpcap' | 'exact';

/**
 * The table of value numbers of one analysis: equal numbers mean equal values on every
 * packet. Packet loads are pure functions of the packet, so equal loads share a number.
 */
export class ValueTable {
  constructor(readonly model: AbortModel = 'libpcap') {}

  /** True in the optimizer's first phase: tests are decided only as libpcap decides them ({@link decideWeak}), ALU results fold only true constants. */
  weak = false;

  private readonly byKey = new Map<string, number>();
  /** Constants by value: they are the most common lookups, so they skip building a string key. */
  private readonly byConst = new Map<number, number>();
  private readonly constOf: (number | undefined)[] = [undefined];
  private readonly rangeOf: Range[] = [FULL];

  /** The number of a constant. */
  k(c: number): number {
    const u = c >>> 0;
    let v = this.byConst.get(u);
    if (v === undefined) {
      v = this.unique([u, u], u);
      this.byConst.set(u, v);
    }
    return v;
  }

  /** The number of an expression identified by `key`, with a range it always lies in. */
  expr(key: string, range: Range = FULL): number {
    return this.intern(key, undefined, range);
  }

  /** A new number distinct from every other, for values nothing else can equal (a join, a random load). */
  unique(range: Range = FULL, c: number | undefined = undefined): number {
    const v = this.constOf.length;
    this.constOf.push(c);
    this.rangeOf.push(range);
    return v;
  }

  constant(v: number): number | undefined {
    return this.constOf[v];
  }

  range(v: number): Range {
    return this.rangeOf[v];
  }

  private intern(key: string, c: number | undefined, range: Range): number {
    let v = this.byKey.get(key);
    if (v === undefined) {
      v = this.constOf.length;
      this.byKey.set(key, v);
      this.constOf.push(c);
      this.rangeOf.push(range);
    }
    return v;
  }
}

/**
 * At most this many facts, ranges and done loads are kept per state: forgetting is always
 * sound, and it keeps long chains of tests linear rather than quadratic.
 */
export const MAX_FACTS = 16;

/**
 * What a path knows, as an immutable map `key -> V` (branch outcomes, ranges): each branch
 * adds an entry to both of its edges, so a new map shares its parent's entries and keeps only
 * the few added since in a short list, folded into a new map once that list grows.
 */
export class Facts<V = boolean> {
  static readonly EMPTY = new Facts<boolean>(new Map(), undefined, 0);

  /** The empty map of any value type. */
  static empty<V>(): Facts<V> {
    return new Facts<V>(new Map(), undefined, 0);
  }

  /** How many added entries are kept in the list before they are folded into the map. */
  private static readonly FOLD_AT = 32;

  private constructor(
    private readonly base: ReadonlyMap<number, V>,
    /** Entries added since `base`, newest first; their keys are not in `base` nor repeated. */
    private readonly added: FactNode<V> | undefined,
    private readonly addedCount: number,
  ) {}

  get size(): number {
    return this.base.size + this.addedCount;
  }

  get(key: number): V | undefined {
    for (let n = this.added; n !== undefined; n = n.next) {
      workMeter.steps++;
      if (n.key === key) return n.value;
    }
    return this.base.get(key);
  }

  /** The set with `key` mapped to `value`. */
  with(key: number, value: V): Facts<V> {
    const old = this.get(key);
    if (old === value) return this;
    if (old !== undefined || this.addedCount >= Facts.FOLD_AT) {
      const m = new Map(this.entries());
      m.set(key, value);
      return new Facts(m, undefined, 0);
    }
    return new Facts(this.base, { key, value, next: this.added }, this.addedCount + 1);
  }

  /** The map without `key`. */
  without(key: number): Facts<V> {
    if (this.get(key) === undefined) return this;
    const m = new Map(this.entries());
    m.delete(key);
    return new Facts(m, undefined, 0);
  }

  /** The entries that `other` maps to the same result; `this` when that is all of them. */
  intersect(other: Facts<V>): Facts<V> {
    if (other === this) return this;
    // The keys to drop, found without building the list of entries (most meets drop none).
    workMeter.steps += this.size;
    let drop: number[] | undefined;
    for (let n = this.added; n !== undefined; n = n.next) if (other.get(n.key) !== n.value) (drop ??= []).push(n.key);
    for (const [k, v] of this.base) if (other.get(k) !== v) (drop ??= []).push(k);
    if (drop === undefined) return this;
    const m = new Map(this.entries());
    for (const k of drop) m.delete(k);
    return new Facts(m, undefined, 0);
  }

  /** Calls `f` on every entry, newest first, without building a list (the map is immutable: `f` may build another). */
  each(f: (key: number, value: V) => void): void {
    workMeter.steps += this.size;
    for (let n = this.added; n !== undefined; n = n.next) f(n.key, n.value);
    for (const [k, v] of this.base) f(k, v);
  }

  /** All entries, oldest first. */
  entries(): [number, V][] {
    workMeter.steps += this.size;
    const out: [number, V][] = [...this.base];
    const at = out.length;
    for (let n = this.added; n !== undefined; n = n.next) out.push([n.key, n.value]);
    // The list holds the newest first.
    const tail = out.splice(at).reverse();
    return out.concat(tail);
  }
}

/** One entry of {@link Facts}' list of recent additions. */
interface FactNode<V> {
  readonly key: number;
  readonly value: V;
  readonly next: FactNode<V> | undefined;
}

/** What holds on entry to a block (or along an edge) on every path that gets there. */
export interface State {
  /** Value number held by each atom. */
  regs: number[];
  /** Ranges that taken branches proved, by value number (immutable: every edge adds one, and copies share it). */
  ranges: Facts<Range>;
  /**
   * Small sets of constants a value is known to be one of (sorted, at most {@link MAX_SET}):
   * what joining paths that each proved a different constant leaves, e.g. after
   * `proto 6 or proto 17` a later test of either decides along every path.
   */
  sets: Map<number, readonly number[]>;
  /** Branch outcomes already known: {@link testKey} of `op, a, b` -> result. */
  facts: Facts;
  /** The captured length is at least this (every path did a load this far). */
  minLen: number;
  /** Value numbers of loads that every path executed without aborting. */
  done: Set<number>;
  /** Which of `sets` and `done` this state alone holds (see {@link copyState}); others are shared and never written. */
  owned: number;
}

function uniqueAtoms(table: ValueTable): number[] {
  const regs = new Array<number>(N_ATOMS);
  for (let a = 0; a < N_ATOMS; a++) regs[a] = table.unique();
  return regs;
}

/** The state at the filter's entry: nothing known. */
export function entryState(table: ValueTable): State {
  return { regs: uniqueAtoms(table), ranges: NO_RANGES, sets: new Map(), facts: Facts.EMPTY, minLen: 0, done: new Set(), owned: OWN_DONE | OWN_SETS };
}

const NO_RANGES = Facts.empty<Range>();

/** Bits of {@link State.owned}: the collections a state may write in place. */
const OWN_DONE = 2;
const OWN_SETS = 4;

/** The most constants a value's set holds; a larger join is forgotten (always sound). */
export const MAX_SET = 16;

/**
 * Copies share their map and set until one side writes (copy on write): states are copied on
 * every edge, and most copies are only read. A state writes a collection in place only while
 * it owns it; {@link copyState} takes ownership from both sides, and a writer first takes its
 * own copy with {@link ownSets} or {@link ownDone}. ({@link Facts}, facts and ranges, are immutable.)
 */
function ownSets(st: State): Map<number, readonly number[]> {
  if ((st.owned & OWN_SETS) === 0) {
    workMeter.steps += st.sets.size;
    st.sets = new Map(st.sets);
    st.owned |= OWN_SETS;
  }
  return st.sets;
}

/** The constants `v` is known to be one of under `st`, if few: its set, or its one constant. */
function valuesIn(v: number, st: State): readonly number[] | undefined {
  const set = st.sets.get(v);
  if (set !== undefined) return set;
  const r = st.ranges.get(v);
  return r !== undefined && r[0] === r[1] ? [r[0]] : undefined;
}

/** The sorted union of two sorted sets, or undefined when it would exceed {@link MAX_SET}. */
function union(a: readonly number[], b: readonly number[]): readonly number[] | undefined {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (out.length >= MAX_SET) return undefined;
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}

/** Whether `x op c` holds for the unsigned 32-bit values x and c (op: JEQ, JGT, JGE, JSET). */
function holds(op: number, x: number, c: number): boolean {
  switch (op) {
    case BPF_JEQ:
      return x === c;
    case BPF_JGT:
      return x > c;
    case BPF_JGE:
      return x >= c;
    default:
      return (x & c) !== 0;
  }
}

function ownDone(st: State): Set<number> {
  if ((st.owned & OWN_DONE) === 0) {
    workMeter.steps += st.done.size;
    st.done = new Set(st.done);
    st.owned |= OWN_DONE;
  }
  return st.done;
}

/** A copy for simulating statements (`step` never changes facts or ranges). */
export function stepCopy(s: State): State {
  return copyState(s);
}

/** An independent copy of a state (its collections are shared until written). */
export function copyState(s: State): State {
  s.owned = 0;
  return { regs: s.regs.slice(), ranges: s.ranges, sets: s.sets, facts: s.facts, minLen: s.minLen, done: s.done, owned: 0 };
}

/**
 * What holds where paths join: only what holds on each of them; a register that differs gets a fresh number.
 * Collections that two states share are equal, so their intersection is skipped.
 */
export function meet(states: readonly State[], table: ValueTable): State {
  const out = copyState(states[0]);
  for (let i = 1; i < states.length; i++) {
    const s = states[i];
    workMeter.steps++;
    for (let a = 0; a < N_ATOMS; a++) if (out.regs[a] !== s.regs[a]) out.regs[a] = table.unique();
    // Sets first, while both sides' ranges still say which values are single constants.
    if (out.sets !== s.sets || out.ranges !== s.ranges) {
      for (const [v, mine] of out.sets) {
        workMeter.steps++;
        const theirs = valuesIn(v, s);
        const u = theirs === undefined ? undefined : union(mine, theirs);
        if (u === undefined) ownSets(out).delete(v);
        else if (u.length !== mine.length) ownSets(out).set(v, u);
      }
      out.ranges.each((v, r) => {
        if (r[0] !== r[1] || out.sets.has(v) || out.sets.size >= MAX_FACTS) return;
        const theirs = valuesIn(v, s);
        const u = theirs === undefined ? undefined : union([r[0]], theirs);
        if (u !== undefined && u.length > 1) ownSets(out).set(v, u);
      });
    }
    if (out.ranges !== s.ranges) {
      out.ranges.each((v, r) => {
        const o = s.ranges.get(v);
        if (o === undefined) out.ranges = out.ranges.without(v);
        else if (o[0] < r[0] || o[1] > r[1]) out.ranges = out.ranges.with(v, [Math.min(r[0], o[0]), Math.max(r[1], o[1])]);
      });
    }
    out.facts = out.facts.intersect(s.facts);
    out.minLen = Math.min(out.minLen, s.minLen);
    if (out.done !== s.done) {
      workMeter.steps += out.done.size;
      for (const v of out.done) if (!s.done.has(v)) ownDone(out).delete(v);
    }
  }
  return out;
}

/** The tightest range of a value under a state. */
export function rangeIn(v: number, st: State, table: ValueTable): Range {
  const r = table.range(v);
  const f = st.ranges.get(v);
  return f === undefined ? r : [Math.max(r[0], f[0]), Math.min(r[1], f[1])];
}

/** The constant a value is known to equal under a state, if any. */
export function constIn(v: number, st: State, table: ValueTable): number | undefined {
  const c = table.constant(v);
  if (c !== undefined) return c;
  const r = rangeIn(v, st, table);
  return r[0] === r[1] ? r[0] : undefined;
}

/** The result of one statement: the rewritten statement (or null if it can go) and whether it may abort. */
export interface StmtResult {
  stmt: Insn | null;
  mayAbort: boolean;
}

/** A load's value number (`key` undefined: a value no other load equals) and whether it may abort. */
function load(size: number, k: number, st: State, table: ValueTable, key: string | undefined, range: Range): { v: number; mayAbort: boolean } {
  const exact = table.model === 'exact';
  const r = exact ? range : FULL;
  const v = key === undefined ? table.unique(r) : table.expr(key, r);
  // Offsets of 2^31 and up are Linux ancillary data (SKF_*); never assume they are in range.
  const inRange = k < 0x80000000 && k + size <= st.minLen;
  const mayAbort = exact && !inRange && !st.done.has(v);
  // An absolute load is remembered by the length it proves; others by their value number.
  if (k < 0x80000000) st.minLen = Math.max(st.minLen, k + size);
  else if (st.done.size < MAX_FACTS) ownDone(st).add(v);
  return { v, mayAbort };
}

/** The Linux ancillary-data offsets (SKF_AD_OFF + 0 .. SKF_AD_MAX), as unsigned k. */
const ANC_FIRST = 0xfffff000;
const ANC_END = 0xfffff000 + 64;
const ANC_RANDOM = 0xfffff000 + 56;

const SIZE_RANGE: Record<number, Range> = { [BPF_W]: FULL, [BPF_H]: [0, 0xffff], [BPF_B]: [0, 0xff] };

/** A range for an ALU result from its operands' intrinsic ranges (never from facts of one path: numbers are shared across paths). */
function aluRange(op: number, a: Range, b: number | undefined): Range {
  if (op === BPF_AND && b !== undefined) return [0, Math.min(a[1], b)];
  if (op === BPF_RSH && b !== undefined && b < 32) return [a[0] >>> b, a[1] >>> b];
  if (op === BPF_DIV && b !== undefined && b > 0) return [Math.floor(a[0] / b), Math.floor(a[1] / b)];
  if (op === BPF_MOD && b !== undefined && b > 0) return [0, Math.min(a[1], b - 1)];
  return FULL;
}

function keep(s: Insn, mayAbort: boolean): StmtResult {
  return { stmt: s, mayAbort };
}

/** Sets A to value `v` for statement `s` (or its rewrite `stmt`) and returns what `s` becomes. */
function setA(s: Insn, st: State, table: ValueTable, alter: boolean, v: number, mayAbort: boolean, stmt: Insn = s): StmtResult {
  const r = st.regs;
  const same = r[A_ATOM] === v;
  r[A_ATOM] = v;
  if (alter && same && !mayAbort) return { stmt: null, mayAbort };
  if (alter && !mayAbort && stmt === s) {
    const c = constIn(v, st, table);
    if (c !== undefined && !(BPF_CLASS(s.code) === BPF_LD && BPF_MODE(s.code) === BPF_IMM)) return { stmt: { code: BPF_LD | BPF_IMM, k: c, jt: 0, jf: 0 }, mayAbort };
  }
  return { stmt, mayAbort };
}

/** Sets X to value `v` for statement `s` and returns what `s` becomes. */
function setX(s: Insn, st: State, table: ValueTable, alter: boolean, v: number, mayAbort: boolean): StmtResult {
  const r = st.regs;
  const same = r[X_ATOM] === v;
  r[X_ATOM] = v;
  if (alter && same && !mayAbort) return { stmt: null, mayAbort };
  if (alter && !mayAbort && !(BPF_CLASS(s.code) === BPF_LDX && BPF_MODE(s.code) === BPF_IMM)) {
    const c = constIn(v, st, table);
    if (c !== undefined) return { stmt: { code: BPF_LDX | BPF_IMM, k: c, jt: 0, jf: 0 }, mayAbort };
  }
  return keep(s, mayAbort);
}

/**
 * Applies one statement to `st` (in place) and, when `alter`, returns a simpler equivalent:
 * null when it changes nothing and cannot abort, a constant load when its value is known,
 * `#k` forms when X is known, `[k]` when an indexed load's X is known.
 */
export function step(s: Insn, st: State, table: ValueTable, alter: boolean): StmtResult {
  workMeter.steps++;
  const r = st.regs;
  const cls = BPF_CLASS(s.code);
  switch (cls) {
    case BPF_LD: {
      const mode = BPF_MODE(s.code);
      const size = BPF_SIZE(s.code);
      if (mode === BPF_IMM) return setA(s, st, table, alter, table.k(s.k), false);
      if (mode === BPF_LEN) return setA(s, st, table, alter, table.expr('len'), false);
      if (mode === BPF_MEM) return setA(s, st, table, alter, r[s.k & 15], false);
      if (mode === BPF_ABS) {
        // Linux ancillary loads are not packet bytes: `random` differs every time, and
        // `nla`, `nlan` and `xor_x` read A and X. Number them by A and X too.
        const anc = s.k >= ANC_FIRST && s.k < ANC_END;
        const key = !anc ? `abs${size}:${s.k}` : s.k === ANC_RANDOM ? undefined : `anc${size}:${s.k}:${r[A_ATOM]}:${r[X_ATOM]}`;
        const { v, mayAbort } = load(WIDTH[size] ?? 4, s.k, st, table, key, SIZE_RANGE[size] ?? FULL);
        return setA(s, st, table, alter, v, mayAbort);
      }
      if (mode === BPF_IND) {
        const xc = constIn(r[X_ATOM], st, table);
        if (xc !== undefined && (xc + s.k) >>> 0 < 0x80000000) {
          // X is known: the indexed load is an absolute one.
          const k = (xc + s.k) >>> 0;
          const { v, mayAbort } = load(WIDTH[size] ?? 4, k, st, table, `abs${size}:${k}`, SIZE_RANGE[size] ?? FULL);
          return setA(s, st, table, alter, v, mayAbort, alter ? { code: BPF_LD | BPF_ABS | size, k, jt: 0, jf: 0 } : s);
        }
        const { v, mayAbort } = load(WIDTH[size] ?? 4, 0x80000000, st, table, `ind${size}:${r[X_ATOM]}:${s.k}`, SIZE_RANGE[size] ?? FULL);
        return setA(s, st, table, alter, v, mayAbort);
      }
      return setA(s, st, table, alter, table.expr(`unknown${s.code}:${s.k}`), true);
    }
    case BPF_LDX: {
      const mode = BPF_MODE(s.code);
      if (mode === BPF_IMM) return setX(s, st, table, alter, table.k(s.k), false);
      if (mode === BPF_LEN) return setX(s, st, table, alter, table.expr('len'), false);
      if (mode === BPF_MEM) return setX(s, st, table, alter, r[s.k & 15], false);
      if (mode === BPF_MSH && BPF_SIZE(s.code) === BPF_B) {
        const { v, mayAbort } = load(1, s.k, st, table, `msh:${s.k}`, [0, 60]);
        return setX(s, st, table, alter, v, mayAbort);
      }
      return setX(s, st, table, alter, table.expr(`unknown${s.code}:${s.k}`), true);
    }
    case BPF_ST:
    case BPF_STX: {
      const v = r[cls === BPF_ST ? A_ATOM : X_ATOM];
      const same = r[s.k & 15] === v;
      r[s.k & 15] = v;
      return alter && same ? { stmt: null, mayAbort: false } : keep(s, false);
    }
    case BPF_ALU: {
      const op = BPF_OP(s.code);
      const fold = FOLD[op];
      if (fold === undefined) return setA(s, st, table, alter, table.expr(`unknown${s.code}:${s.k}`), true);
      const a = r[A_ATOM];
      if (op === BPF_NEG) {
        const c = constIn(a, st, table);
        return setA(s, st, table, alter, c !== undefined ? table.k(fold(c, 0) as number) : table.expr(`neg:${a}`), false);
      }
      const bv = BPF_SRC(s.code) === BPF_X ? r[X_ATOM] : table.k(s.k);
      const b = constIn(bv, st, table);
      // Folding a constant that only a taken branch proves is path knowledge libpcap lacks (see {@link decideWeak}).
      const ac = table.weak ? table.constant(a) : constIn(a, st, table);
      const mayAbort = (op === BPF_DIV || op === BPF_MOD) && (b === undefined || b === 0);
      // libpcap's optimizer refuses a division by a 0 it folds (tcpdump: "division by zero"); a
      // value only a range proves 0 is past what it sees, so that one is left to abort.
      if (alter && table.constant(bv) === 0 && table.model === 'libpcap' && (op === BPF_DIV || op === BPF_MOD)) throw new ParseError('E_FILTER_SEMANTIC', op === BPF_DIV ? 'division by zero' : 'modulus by zero');
      let stmt = s;
      if (alter && BPF_SRC(s.code) === BPF_X && b !== undefined && !mayAbort) stmt = { code: (s.code & ~BPF_X) | BPF_K, k: b, jt: 0, jf: 0 };
      if (b !== undefined && IDENTITY[op] === b) return setA(s, st, table, alter, a, false, stmt);
      if ((op === BPF_AND || op === BPF_MUL) && b === 0) return setA(s, st, table, alter, table.k(0), false, stmt);
      if (ac !== undefined && b !== undefined) {
        const c = fold(ac, b);
        if (c !== undefined) return setA(s, st, table, alter, table.k(c), false, alter ? { code: BPF_LD | BPF_IMM, k: c, jt: 0, jf: 0 } : s);
      }
      // Commutative operations share a number whichever way round the operands are.
      const commutative = op === BPF_ADD || op === BPF_MUL || op === BPF_AND || op === BPF_OR || op === BPF_XOR;
      const [x, y] = commutative && bv < a ? [bv, a] : [a, bv];
      return setA(s, st, table, alter, table.expr(`alu${op}:${x}:${y}`, table.model === 'exact' ? aluRange(op, table.range(a), b) : FULL), mayAbort, stmt);
    }
    case BPF_MISC: {
      if (BPF_MISCOP(s.code) === BPF_TAX) {
        const same = r[X_ATOM] === r[A_ATOM];
        r[X_ATOM] = r[A_ATOM];
        if (alter && same) return { stmt: null, mayAbort: false };
        const c = alter ? constIn(r[A_ATOM], st, table) : undefined;
        return c !== undefined ? { stmt: { code: BPF_LDX | BPF_IMM, k: c, jt: 0, jf: 0 }, mayAbort: false } : keep(s, false);
      }
      const same = r[A_ATOM] === r[X_ATOM];
      r[A_ATOM] = r[X_ATOM];
      if (alter && same) return { stmt: null, mayAbort: false };
      const c = alter ? constIn(r[X_ATOM], st, table) : undefined;
      return c !== undefined ? { stmt: { code: BPF_LD | BPF_IMM, k: c, jt: 0, jf: 0 }, mayAbort: false } : keep(s, false);
    }
    default:
      // Jumps inside a block never reach here (blocks are normalised first).
      for (let i = 0; i < N_ATOMS; i++) r[i] = table.expr(`clobber${i}:${s.code}:${s.k}`);
      return keep(s, true);
  }
}

/**
 * The value a load statement (class LD) leaves in A when run from `st`, and whether it may
 * abort, without changing `st` and without copying it: `step` on a load writes only A, the
 * known length and the done loads, which are put back.
 */
export function peekLoad(s: Insn, st: State, table: ValueTable): { a: number; mayAbort: boolean } {
  if (BPF_CLASS(s.code) !== BPF_LD) throw new RangeError('peekLoad takes a load statement');
  const a = st.regs[A_ATOM];
  const { minLen, done, owned } = st;
  // Without ownership of `done`, a write to it goes to a copy, so the original stays as it was.
  st.owned &= ~OWN_DONE;
  const { mayAbort } = step(s, st, table, false);
  const v = st.regs[A_ATOM];
  st.regs[A_ATOM] = a;
  st.minLen = minLen;
  st.done = done;
  st.owned = owned;
  return { a: v, mayAbort };
}

/** Value numbers below this fit a {@link testKey}; a test of larger ones is not remembered (forgetting is sound). */
const KEY_VALUES = 0x1000000;

/**
 * The key under which a branch outcome is remembered: a number (no string built per test),
 * unique for value numbers below {@link KEY_VALUES} (a * 2^24 + b, times 16, plus the op's
 * index 0..15: under 2^52), or -1 for none.
 */
export function testKey(op: number, a: number, b: number): number {
  if (a >= KEY_VALUES || b >= KEY_VALUES) return -1;
  return (a * KEY_VALUES + b) * 16 + ((op >> 4) & 15);
}

/**
 * Decides a test only as libpcap's optimizer can (`fold_edge`, `opt_peep`): the same test
 * already taken on every path, two constants, or an equality with a constant when a taken
 * `jeq` proved A equal to another. The optimizer threads with this first (see `optimizeWithStats`): deciding a
 * test from ranges sends each path its own way before chains of tests that share a target
 * are regrouped, and the program ends up larger than libpcap's.
 */
export function decideWeak(op: number, a: number, b: number, st: State, table: ValueTable): boolean | undefined {
  const key = testKey(op, a, b);
  const known = key < 0 ? undefined : st.facts.get(key);
  if (known !== undefined) return known;
  if (a === b) return op === BPF_JEQ || op === BPF_JGE ? true : op === BPF_JGT ? false : undefined;
  const cb = table.constant(b);
  if (cb === undefined) return undefined;
  // Two constants (libpcap's opt_peep), or A proved equal to another constant by a taken `jeq` of this very value.
  const ca = table.constant(a);
  if (ca !== undefined) return holds(op, ca, cb);
  const r = op === BPF_JEQ ? st.ranges.get(a) : undefined;
  return r !== undefined && r[0] === r[1] ? r[0] === cb : undefined;
}

/** Decides a test `A op B` from what the state knows, or undefined. */
export function decide(op: number, a: number, b: number, st: State, table: ValueTable): boolean | undefined {
  if (table.weak) return decideWeak(op, a, b, st, table);
  const key = testKey(op, a, b);
  const known = key < 0 ? undefined : st.facts.get(key);
  if (known !== undefined) return known;
  const set = st.sets.get(a);
  const c = set === undefined ? undefined : constIn(b, st, table);
  if (set !== undefined && c !== undefined) {
    const first = holds(op, set[0], c);
    if (set.every((x) => holds(op, x, c) === first)) return first;
  }
  if (a === b) {
    if (op === BPF_JEQ || op === BPF_JGE) return true;
    if (op === BPF_JGT) return false;
  }
  const [alo, ahi] = rangeIn(a, st, table);
  const [blo, bhi] = rangeIn(b, st, table);
  switch (op) {
    case BPF_JEQ:
      if (ahi < blo || bhi < alo) return false;
      if (alo === ahi && blo === bhi) return true;
      return undefined;
    case BPF_JGT:
      if (alo > bhi) return true;
      if (ahi <= blo) return false;
      return undefined;
    case BPF_JGE:
      if (alo >= bhi) return true;
      if (ahi < blo) return false;
      return undefined;
    case BPF_JSET:
      if (alo === ahi && blo === bhi) return (alo & blo) !== 0;
      if (blo === bhi) {
        if (blo === 0) return false;
        // A value below the lowest tested bit has none of the tested bits.
        if (ahi < (blo & -blo) >>> 0) return false;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Records what taking a branch with `result` proves. */
export function learn(op: number, a: number, b: number, result: boolean, st: State, table: ValueTable): void {
  const key = testKey(op, a, b);
  if (key >= 0 && st.facts.size < MAX_FACTS) st.facts = st.facts.with(key, result);
  const bc = constIn(b, st, table);
  if (bc === undefined) return;
  const set = st.sets.get(a);
  if (set !== undefined) {
    const left = set.filter((x) => holds(op, x, bc) === result);
    if (left.length !== set.length && left.length > 0) {
      if (left.length > 1) ownSets(st).set(a, left);
      else ownSets(st).delete(a);
      // What is left bounds the range too (a single constant makes it known).
      const r = rangeIn(a, st, table);
      const lo = Math.max(r[0], left[0]);
      const hi = Math.min(r[1], left[left.length - 1]);
      if (lo <= hi && (st.ranges.get(a) !== undefined || st.ranges.size < MAX_FACTS)) st.ranges = st.ranges.with(a, [lo, hi]);
    }
    if (op === BPF_JSET) return;
  }
  let [lo, hi] = rangeIn(a, st, table);
  if (op === BPF_JEQ) {
    if (result) lo = hi = bc;
    else {
      if (lo === bc) lo++;
      if (hi === bc) hi--;
    }
  } else if (op === BPF_JGT) {
    if (result) lo = Math.max(lo, bc + 1);
    else hi = Math.min(hi, bc);
  } else if (op === BPF_JGE) {
    if (result) lo = Math.max(lo, bc);
    else hi = Math.min(hi, bc - 1);
  } else return;
  if (lo > hi) return;
  const cur = st.ranges.get(a);
  // Nothing learnt (the false side of `jeq` mostly): writing the value's own range would only copy the map.
  if (cur === undefined) {
    const own = table.range(a);
    if (own[0] === lo && own[1] === hi) return;
  }
  // Writing the same range again changes nothing (and would cost a copy of a shared map).
  if (cur !== undefined ? cur[0] !== lo || cur[1] !== hi : st.ranges.size < MAX_FACTS) st.ranges = st.ranges.with(a, [lo, hi]);
}

/** The value number a branch compares A with. */
export function operand(code: number, k: number, st: State, table: ValueTable): number {
  return BPF_SRC(code) === BPF_X ? st.regs[X_ATOM] : table.k(k);
}

