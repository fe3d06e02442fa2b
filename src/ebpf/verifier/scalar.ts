/** The verifier's scalar domain: a tnum plus signed and unsigned bounds at 64 and 32 bits, with the transfer functions, branch refinement and log format of Linux 6.18 (as the 6.18 stable kernel the project tests against behaves, backports included). */

import {
  type Tnum,
  hi32,
  hi32u,
  lo32,
  formatTnum,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumBswap,
  tnumCast,
  tnumConst,
  tnumConstSubreg,
  tnumIn,
  tnumIntersect,
  tnumIntersectRange32,
  tnumIsConst,
  tnumIsUnknown,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumOverlap,
  tnumRange,
  tnumRshift,
  tnumStep,
  tnumStep32,
  tnumSub,
  tnumSubreg,
  tnumSubregIsConst,
  tnumUnknown,
  tnumWithSubreg,
  tnumXor,
} from './tnum.js';

/**
 * What the verifier knows about a scalar register. `umin..umax` and `u32min..u32max` are
 * unsigned (0..2^64-1, 0..2^32-1); `smin..smax` and `s32min..s32max` are signed. Every value
 * the register may hold lies in all four ranges and in `var`. The 64-bit bounds are bigints,
 * the 32-bit ones numbers (integers).
 */
export interface Scalar {
  readonly var: Tnum;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly s32min: number;
  readonly s32max: number;
  readonly u32min: number;
  readonly u32max: number;
}

/** The ALU operations, by their ISA names; `neg` ignores `src`, `mov` copies it. */
export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'xor' | 'lsh' | 'rsh' | 'arsh' | 'neg' | 'mov';

/** The conditional jumps, by their ISA names. */
export type JmpOp = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle' | 'jset';

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;
const U32_MAX = 0xffffffff;
/** The low-half mask as a bigint, for the 64-bit tnums. */
const LO32 = 0xffffffffn;
const S32_MIN_N = -(1n << 31n);
const S32_MAX_N = (1n << 31n) - 1n;
const SIGN64 = 1n << 63n;

// Both conversions return their argument, without a new bigint, when it is already in range (the common case).
const u64 = (x: bigint): bigint => (x >= 0n && x <= U64_MAX ? x : BigInt.asUintN(64, x));
const s64 = (x: bigint): bigint => (x >= S64_MIN && x <= S64_MAX ? x : BigInt.asIntN(64, x));
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** A register under construction: the transfer functions below mirror the kernel's in-place updates. */
type Reg = { -readonly [K in keyof Scalar]: Scalar[K] };

// One literal shape for every register object keeps property access monomorphic on this hot path.
const copy = (s: Scalar): Reg => ({
  var: s.var, smin: s.smin, smax: s.smax, umin: s.umin, umax: s.umax, s32min: s.s32min, s32max: s.s32max, u32min: s.u32min, u32max: s.u32max,
});

function markKnown(r: Reg, imm: bigint): void {
  const v = u64(imm);
  r.var = tnumConst(v);
  r.smin = r.smax = s64(v);
  r.umin = r.umax = v;
  const lo = lo32(v);
  r.s32min = r.s32max = lo | 0;
  r.u32min = r.u32max = lo;
}

/** The low half known to be `imm` (any integer, taken mod 2^32). */
function mark32Known(r: Reg, imm: number): void {
  const lo = imm >>> 0;
  r.var = tnumConstSubreg(r.var, BigInt(lo));
  r.s32min = r.s32max = lo | 0;
  r.u32min = r.u32max = lo;
}

function mark64Unbounded(r: Reg): void {
  r.smin = S64_MIN; r.smax = S64_MAX; r.umin = 0n; r.umax = U64_MAX;
}

function mark32Unbounded(r: Reg): void {
  r.s32min = S32_MIN; r.s32max = S32_MAX; r.u32min = 0; r.u32max = U32_MAX;
}

// ---- reg_bounds_sync and its parts ----

function update32Bounds(r: Reg): void {
  const v = lo32(r.var.value), m = lo32(r.var.mask);
  // JavaScript's bitwise operators give signed 32-bit results: the s32 views at once.
  const smin = v | (m & 0x80000000), smax = v | (m & 0x7fffffff), umax = (v | m) >>> 0;
  if (smin > r.s32min) r.s32min = smin;
  if (smax < r.s32max) r.s32max = smax;
  if (v > r.u32min) r.u32min = v;
  if (umax < r.u32max) r.u32max = umax;
}

function update64Bounds(r: Reg): void {
  const t = r.var, v = t.value, m = t.mask;
  if (m === U64_MAX && r.umin >= 0n && r.umin <= U64_MAX && r.umax <= U64_MAX && r.smin >= S64_MIN && r.smax <= S64_MAX) {
    // An unknown tnum bounds nothing (the bounds are in their types' ranges), and every value is a member: the
    // single-value test below reduces to "the member after umin (umin + 1, or umin itself at the top) is above umax".
    if (r.umin < U64_MAX ? r.umin >= r.umax : r.umax < U64_MAX) markKnown(r, r.umin);
    return;
  }
  const tmax = m === 0n ? v : v | m;
  if (v < SIGN64 && m < SIGN64) {
    // Bit 63 known zero: the signed bounds of the tnum are its unsigned ones (no new bigints).
    if (v > r.smin) r.smin = v;
    if (tmax < r.smax) r.smax = tmax;
  } else {
    r.smin = max(r.smin, s64(v | (m & SIGN64)));
    r.smax = min(r.smax, s64(v | (m & S64_MAX)));
  }
  if (v > r.umin) r.umin = v;
  if (tmax < r.umax) r.umax = tmax;
  // The range spans the whole tnum, which has two values or more: no single shared value (the common case).
  if (m !== 0n && r.umin === v && r.umax === tmax) return;
  // When the u64 range and the tnum share a single value, the register is that value.
  if (tmax <= LO32 && r.umin <= LO32) {
    // Everything below 2^32: the same test in numbers.
    // Number, not lo32: umax may be below zero here (deduceMixed copies a negative s32max after a dead branch).
    const tv = Number(v), tm = Number(m), umin = Number(r.umin), umax = Number(r.umax);
    const next = tnumStep32(tv, tm, umin);
    const uminIn = ((umin & ~tm) >>> 0) === tv;
    if (uminIn && next > umax) markKnown(r, r.umin);
    else if (!uminIn && next === (tv | tm) >>> 0) markKnown(r, tmax);
    else if (!uminIn && next <= umax && tnumStep32(tv, tm, next) > umax) markKnown(r, BigInt(next));
    return;
  }
  const next = tnumStep(t, r.umin);
  const uminIn = (r.umin & ~m) === v;
  if (uminIn && next > r.umax) markKnown(r, r.umin);
  else if (!uminIn && next === tmax) markKnown(r, tmax);
  else if (!uminIn && next <= r.umax && tnumStep(t, next) > r.umax) markKnown(r, next);
}

function updateBounds(r: Reg): void {
  update32Bounds(r);
  update64Bounds(r);
}

/** 32-bit bounds from the 64-bit ones (when the high halves pin down a range) and signed from unsigned. */
function deduce32(r: Reg): void {
  // Each half is computed once, in numbers: this runs up to three times per sync, on every instruction.
  const uminHi = hi32u(r.umin), umaxHi = hi32u(r.umax);
  const uminLo = lo32(r.umin), umaxLo = lo32(r.umax);
  const uminS = uminLo | 0, umaxS = umaxLo | 0;
  const sminHi = hi32(r.smin), smaxHi = hi32(r.smax);
  const sminLo = lo32(r.smin), smaxLo = lo32(r.smax);
  const sminS = sminLo | 0, smaxS = smaxLo | 0;
  if (uminHi === umaxHi) {
    if (uminLo > r.u32min) r.u32min = uminLo;
    if (umaxLo < r.u32max) r.u32max = umaxLo;
    if (uminS <= umaxS) {
      if (uminS > r.s32min) r.s32min = uminS;
      if (umaxS < r.s32max) r.s32max = umaxS;
    }
  }
  if (sminHi === smaxHi) {
    if (sminLo <= smaxLo) {
      if (sminLo > r.u32min) r.u32min = sminLo;
      if (smaxLo < r.u32max) r.u32max = smaxLo;
    }
    if (sminS <= smaxS) {
      if (sminS > r.s32min) r.s32min = sminS;
      if (smaxS < r.s32max) r.s32max = smaxS;
    }
  }
  // High halves two consecutive numbers while the low halves go from negative to positive.
  if (((uminHi + 1) >>> 0) === (umaxHi >>> 0) && uminS < 0 && umaxS >= 0) {
    if (uminS > r.s32min) r.s32min = uminS;
    if (umaxS < r.s32max) r.s32max = umaxS;
  }
  if (((sminHi + 1) >>> 0) === (smaxHi >>> 0) && sminS < 0 && smaxS >= 0) {
    if (sminS > r.s32min) r.s32min = sminS;
    if (smaxS < r.s32max) r.s32max = smaxS;
  }
  const u32minS = r.u32min | 0, u32maxS = r.u32max | 0;
  if (u32minS <= u32maxS) {
    if (u32minS > r.s32min) r.s32min = u32minS;
    if (u32maxS < r.s32max) r.s32max = u32maxS;
  }
  const s32minU = r.s32min >>> 0, s32maxU = r.s32max >>> 0;
  if (s32minU <= s32maxU) {
    if (s32minU > r.u32min) r.u32min = s32minU;
    if (s32maxU < r.u32max) r.u32max = s32maxU;
  } else if (r.u32max < s32minU) {
    // The signed range wraps around the top of u32; the unsigned range meets only its low part.
    r.s32min = r.u32min | 0;
    if (s32maxU < r.u32max) r.u32max = s32maxU;
  } else if (s32maxU < r.u32min) {
    r.s32max = r.u32max | 0;
    if (s32minU > r.u32min) r.u32min = s32minU;
  }
}

/** Whether u64 values a <= b as s64 values, without converting them. */
const leS64 = (a: bigint, b: bigint): boolean => ((a >= SIGN64) === (b >= SIGN64) ? a <= b : a >= SIGN64);

/** Whether s64 values a <= b as u64 values, without converting them. */
const leU64 = (a: bigint, b: bigint): boolean => ((a < 0n) === (b < 0n) ? a <= b : b < 0n);

/** Signed 64-bit bounds from unsigned and back, including ranges that cross the sign boundary. */
function deduce64(r: Reg): void {
  if (leS64(r.umin, r.umax)) {
    const smin = s64(r.umin), smax = s64(r.umax);
    if (smin > r.smin) r.smin = smin;
    if (smax < r.smax) r.smax = smax;
  }
  if (leU64(r.smin, r.smax)) {
    const umin = u64(r.smin), umax = u64(r.smax);
    if (umin > r.umin) r.umin = umin;
    if (umax < r.umax) r.umax = umax;
  } else if (r.umax < u64(r.smin)) {
    // The signed range wraps around the top of u64; the unsigned range meets only its low part.
    r.smin = s64(r.umin);
    r.umax = min(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    r.smax = s64(r.umax);
    r.umin = max(r.umin, u64(r.smin));
  }
}

/** 64-bit bounds tightened by the 32-bit ones. */
function deduceMixed(r: Reg): void {
  // Replacing a bound's low half by the 32-bit bound moves it by their difference (its high half, so its sign, stays).
  const uminLo = lo32(r.umin), umaxLo = lo32(r.umax), sminLo = lo32(r.smin), smaxLo = lo32(r.smax);
  if (r.u32min > uminLo) r.umin += BigInt(r.u32min - uminLo);
  if (r.u32max < umaxLo) r.umax -= BigInt(umaxLo - r.u32max);
  if (r.u32min > sminLo) r.smin += BigInt(r.u32min - sminLo);
  if (r.u32max < smaxLo) r.smax -= BigInt(smaxLo - r.u32max);
  // After a sign-extending load: a non-negative low half within s32 means the high half is zero.
  if (r.s32min >= 0 && r.smin >= S32_MIN_N && r.smax <= S32_MAX_N) {
    // Bounds equal to the s32 ones already (the usual case by the second round) are kept, not rebuilt.
    if (Number(r.smin) !== r.s32min) r.smin = BigInt(r.s32min);
    if (Number(r.smax) !== r.s32max) r.smax = BigInt(r.s32max);
    if (r.umin !== r.smin) r.umin = r.smin;
    if (r.umax !== r.smax) r.umax = r.smax;
    r.var = tnumIntersectRange32(r.var, r.s32min, r.s32max, true);
  }
}

function deduceBounds(r: Reg): void {
  deduce32(r);
  deduce64(r);
  deduceMixed(r);
}

/** var_off tightened by the unsigned ranges. */
function boundOffset(r: Reg): void {
  // Full ranges give unknown tnums, whose intersection changes nothing: skip them (this runs on every instruction).
  let v64 = r.var;
  if (r.umax <= LO32 && r.umin <= r.umax) v64 = tnumIntersectRange32(v64, lo32(r.umin), lo32(r.umax), true);
  else if (r.umin !== 0n || r.umax !== U64_MAX) v64 = tnumIntersect(v64, tnumRange(r.umin, r.umax));
  if (r.u32min !== 0 || r.u32max !== U32_MAX) v64 = tnumIntersectRange32(v64, r.u32min, r.u32max, false);
  r.var = v64;
}

function sync(r: Reg): void {
  // A known tnum whose value every range holds syncs to that constant: the common case, without the rounds.
  const t = r.var;
  if (t.mask === 0n) {
    const v = t.value;
    if (r.umin <= v && v <= r.umax) {
      const sv = s64(v);
      if (r.smin <= sv && sv <= r.smax) {
        const lo = lo32(v);
        const slo = lo | 0;
        if (r.u32min <= lo && lo <= r.u32max && r.s32min <= slo && slo <= r.s32max) {
          r.smin = r.smax = sv;
          r.umin = r.umax = v;
          r.s32min = r.s32max = slo;
          r.u32min = r.u32max = lo;
          return;
        }
      }
    }
  }
  if (isSyncedRange(r) || isUnknown(r)) return;
  updateBounds(r);
  if (isSmallRange(r)) {
    // The rounds leave such bounds as they are and intersect var_off with their range (deduceMixed; boundOffset
    // then changes nothing more): that alone, then the final update, which repeats the first unless var_off changed.
    const v = r.var;
    r.var = tnumIntersectRange32(v, r.s32min, r.s32max, true);
    if (r.var !== v) updateBounds(r);
    return;
  }
  deduceRounds(r);
}

/**
 * A tnum (0; M) whose bounds already are all of [0, M]: with M below 2^31 (any mask: loads, masks and shifts of
 * bytes make these), or M = 2^k - 1 for k in 32..63 (the s32 range then unbounded). These are fixed points of
 * the rounds below (the unit tests check it against {@link scalarSyncRounds}), and half the syncs of a parser.
 */
function isSyncedRange(r: Reg): boolean {
  const m = r.var.mask;
  if (r.var.value !== 0n || r.umin !== 0n || r.smin !== 0n || r.u32min !== 0 || r.umax !== m || r.smax !== m) return false;
  if (m < 0x80000000n) {
    const n = lo32(m);
    return r.u32max === n && r.s32min === 0 && r.s32max === n;
  }
  return m <= S64_MAX && (m & (m + 1n)) === 0n && r.u32max === U32_MAX && r.s32min === S32_MIN && r.s32max === S32_MAX;
}

/**
 * The four ranges one and the same [a, b] below 2^31 (a > b included): what most registers of a packet
 * parser are. Each deduction of the rounds then finds its bounds already as tight as it would make them.
 */
function isSmallRange(r: Reg): boolean {
  const a = r.u32min, b = r.u32max;
  return r.s32min === a && r.s32max === b && b >= 0 && b <= S32_MAX && a >= 0 && a <= S32_MAX && r.umin === r.smin &&
    r.umax === r.smax && r.umax <= S32_MAX_N && r.umin <= S32_MAX_N && lo32(r.umax) === b && lo32(r.umin) === a;
}

/** Nothing known: every bound full and the tnum unknown, a fixed point of the rounds (e.g. `unknown + k`). */
function isUnknown(r: Reg): boolean {
  return r.var.mask === U64_MAX && r.umin === 0n && r.umax === U64_MAX && r.smin === S64_MIN && r.smax === S64_MAX &&
    r.u32min === 0 && r.u32max === U32_MAX && r.s32min === S32_MIN && r.s32max === S32_MAX;
}

/** reg_bounds_sync without the shortcuts of the constant and range cases (tests compare the two). */
export function scalarSyncRounds(s: Scalar): Scalar {
  const r = copy(s);
  syncRounds(r);
  return r;
}

function syncRounds(r: Reg): void {
  updateBounds(r);
  deduceRounds(r);
}

function deduceRounds(r: Reg): void {
  // Three rounds as the kernel; a round that changes nothing ends them early (deduction is a function of the bounds).
  for (let i = 0; i < 3; i++) {
    const { smin, smax, umin, umax, s32min, s32max, u32min, u32max, var: v } = r;
    deduceBounds(r);
    if (r.smin === smin && r.smax === smax && r.umin === umin && r.umax === umax && r.s32min === s32min &&
      r.s32max === s32max && r.u32min === u32min && r.u32max === u32max && r.var === v) break;
  }
  boundOffset(r);
  updateBounds(r);
}

/** The kernel's reg_bounds_sanity_check outside its self-tests: an inconsistent register loses its bounds (keeps var_off). */
function sanity(r: Reg): void {
  let bad = r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max;
  if (!bad && tnumIsConst(r.var)) {
    const v = r.var.value;
    bad = r.umin !== v || r.umax !== v || r.smin !== s64(v) || r.smax !== s64(v);
  }
  if (!bad && tnumSubregIsConst(r.var)) {
    const v = lo32(r.var.value);
    bad = r.u32min !== v || r.u32max !== v || r.s32min !== (v | 0) || r.s32max !== (v | 0);
  }
  if (bad) {
    mark64Unbounded(r);
    mark32Unbounded(r);
  }
}

/** zext_32_to_64: the 64-bit view after a 32-bit write. */
function zext(r: Reg): void {
  r.var = tnumSubreg(r.var);
  r.umin = BigInt(r.u32min);
  r.umax = BigInt(r.u32max);
  r.smax = r.s32min >= 0 && r.s32max >= 0 ? BigInt(r.s32max) : LO32;
  r.smin = r.s32min >= 0 ? BigInt(r.s32min) : 0n;
}

// ---- constructors and queries ----

/** A scalar about which nothing is known. */
export function scalarUnknown(): Scalar {
  return UNKNOWN;
}

const UNKNOWN: Scalar = Object.freeze({
  var: tnumUnknown, smin: S64_MIN, smax: S64_MAX, umin: 0n, umax: U64_MAX, s32min: S32_MIN, s32max: S32_MAX, u32min: 0, u32max: U32_MAX,
});

const UNKNOWN_ZEXT: Scalar = (() => {
  const r = copy(UNKNOWN);
  zext(r);
  sync(r);
  return r;
})();

/** A 64-bit constant (taken mod 2^64). */
export function scalarConst(v: bigint): Scalar {
  // Small constants (immediates, counters, offsets) are made once: scalars are immutable.
  if (v >= CONST_MIN && v <= CONST_MAX) {
    const i = Number(v) - CONST_LO;
    return CONSTS[i] ??= makeConst(v);
  }
  return makeConst(v);
}

function makeConst(v: bigint): Scalar {
  const r = copy(UNKNOWN);
  markKnown(r, v);
  return r;
}

const CONST_LO = -1024, CONST_HI = 8191;
const CONST_MIN = BigInt(CONST_LO), CONST_MAX = BigInt(CONST_HI);
const CONSTS: (Scalar | undefined)[] = new Array<Scalar | undefined>(CONST_HI - CONST_LO + 1).fill(undefined);

/** A 32-bit constant, zero-extended (what `w1 = imm` writes). */
export function scalarConst32(v: bigint): Scalar {
  return scalarConst(BigInt.asUintN(32, v));
}

/** A value known only to lie in [umin, umax] (unsigned 64-bit): e.g. a 1-byte load is 0..255. */
export function scalarFromBounds(umin: bigint, umax: bigint): Scalar {
  const r = copy(UNKNOWN);
  r.umin = u64(umin);
  r.umax = u64(umax);
  sync(r);
  return r;
}

/**
 * A scalar from any subset of its facts (the rest unknown), synced. The facts must admit at
 * least one value: tests and the state-building code use it to describe a register directly.
 */
export function scalarFromParts(parts: Partial<Scalar>): Scalar {
  const r: Reg = { ...UNKNOWN, ...parts };
  sync(r);
  return r;
}

/** A zero-extending load of `bytes` (1, 2, 4 or 8) bytes of unknown memory. */
export function scalarLoad(bytes: 1 | 2 | 4 | 8): Scalar {
  return LOADS[bytes];
}

/** A sign-extending load (ldsx) of `bytes` (1, 2 or 4) bytes of unknown memory. */
export function scalarLoadSx(bytes: 1 | 2 | 4): Scalar {
  return LOADS_SX[bytes];
}

// Scalars are immutable, so the load results are computed once.
const LOADS: Record<1 | 2 | 4 | 8, Scalar> = {
  1: Object.freeze(withReg((r) => coerce(r, 1))),
  2: Object.freeze(withReg((r) => coerce(r, 2))),
  4: Object.freeze(withReg((r) => coerce(r, 4))),
  8: UNKNOWN,
};
const LOADS_SX: Record<1 | 2 | 4, Scalar> = {
  1: Object.freeze(withReg((r) => coerceSx(r, 1))),
  2: Object.freeze(withReg((r) => coerceSx(r, 2))),
  4: Object.freeze(withReg((r) => coerceSx(r, 4))),
};

function withReg(f: (r: Reg) => void): Scalar {
  const r = copy(UNKNOWN);
  f(r);
  return r;
}

/** Whether the scalar is a single 64-bit value. */
export function scalarIsConst(s: Scalar): boolean {
  return tnumIsConst(s.var);
}

/** The 64-bit value (unsigned) when the scalar is constant. */
export function scalarConstValue(s: Scalar): bigint | undefined {
  return tnumIsConst(s.var) ? s.var.value : undefined;
}

/** Whether the low 32 bits are a single value (the kernel's is_reg_const for jmp32). */
export function scalarIsConst32(s: Scalar): boolean {
  return tnumSubregIsConst(s.var);
}

/** reg_bounds_sync: each bound and the tnum tightened by all the others. */
export function scalarSync(s: Scalar): Scalar {
  const r = copy(s);
  sync(r);
  return r;
}

/** zext_32_to_64 then reg_bounds_sync: the register after a 32-bit write of `s`'s low half. */
export function scalarZext32(s: Scalar): Scalar {
  // `w = unknown` (helpers' 32-bit results, unknown 32-bit ALU results) is frequent: made once.
  if (s === UNKNOWN) return UNKNOWN_ZEXT;
  const r = copy(s);
  zext(r);
  sync(r);
  return r;
}

/** coerce_reg_to_size: truncation to the low `bytes` bytes (a narrow load or spill fill). */
export function scalarTruncate(s: Scalar, bytes: 1 | 2 | 4 | 8): Scalar {
  if (bytes === 8) return s;
  const r = copy(s);
  coerce(r, bytes);
  return r;
}

function coerce(r: Reg, bytes: number): void {
  r.var = tnumCast(r.var, bytes);
  const mask = (1n << BigInt(bytes * 8)) - 1n;
  if ((r.umin & ~mask) === (r.umax & ~mask)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (bytes < 4) mark32Unbounded(r);
  sync(r);
}

/**
 * coerce_reg_to_size_sx: sign extension of the low `bytes` bytes to 64 bits. Linux 6.18, as
 * its verifier log shows: a constant stays constant; when the s32 bounds already fit the
 * narrow type the low 32 bits are unchanged, so the s32 and u32 bounds are kept and become
 * the s64 bounds; otherwise a range whose high bits do not vary and whose narrow values keep
 * one sign maps to its sign-extended range; anything else is the narrow type's full range.
 */
function coerceSx(r: Reg, bytes: 1 | 2 | 4): void {
  const bits = BigInt(bytes * 8);
  const half = 1n << (bits - 1n);
  const halfN = 2 ** (bytes * 8 - 1);
  if (tnumIsConst(r.var)) {
    markKnown(r, BigInt.asIntN(Number(bits), r.var.value));
    return;
  }
  if (r.s32min >= -halfN && r.s32max < halfN) {
    const { s32min, s32max, u32min, u32max } = r;
    Object.assign(r, UNKNOWN);
    r.smin = BigInt(s32min);
    r.s32min = s32min;
    r.smax = BigInt(s32max);
    r.s32max = s32max;
    r.u32min = u32min;
    r.u32max = u32max;
    sync(r);
    return;
  }
  const topMax = (u64(r.smax) >> bits) << bits;
  const topMin = (u64(r.smin) >> bits) << bits;
  if (topMax === topMin) {
    const a = BigInt.asIntN(Number(bits), r.smax);
    const b = BigInt.asIntN(Number(bits), r.smin);
    const hi = max(a, b), lo = min(a, b);
    if ((hi >= 0n) === (lo >= 0n)) {
      r.smin = lo;
      r.s32min = Number(lo);
      r.smax = hi;
      r.s32max = Number(hi);
      r.umin = u64(lo);
      r.u32min = Number(lo) >>> 0;
      r.umax = u64(hi);
      r.u32max = Number(hi) >>> 0;
      r.var = tnumRange(u64(lo), u64(hi));
      return;
    }
  }
  r.smin = -half;
  r.s32min = -halfN;
  r.smax = half - 1n;
  r.s32max = halfN - 1;
  r.umin = 0n;
  r.u32min = 0;
  r.umax = U64_MAX;
  r.u32max = U32_MAX;
  r.var = tnumUnknown;
}

/** coerce_subreg_to_size_sx: sign extension of the low 1 or 2 bytes to 32 bits. */
function coerceSubregSx(r: Reg, bytes: 1 | 2): void {
  const bits = bytes * 8;
  if (tnumIsConst(r.var)) {
    // The kernel tests the whole 64-bit tnum here, then keeps the sign-extended 64-bit constant.
    const v = BigInt.asIntN(bits, r.var.value);
    r.var = tnumConst(v);
    r.s32min = r.s32max = Number(v);
    r.u32min = r.u32max = Number(v) >>> 0;
    return;
  }
  if ((r.s32max >>> 0) >>> bits === (r.s32min >>> 0) >>> bits) {
    // Sign extension of the low `bits` bits, in 32-bit arithmetic.
    const a = (r.s32max << (32 - bits)) >> (32 - bits);
    const b = (r.s32min << (32 - bits)) >> (32 - bits);
    const hi = Math.max(a, b), lo = Math.min(a, b);
    if ((hi >= 0) === (lo >= 0)) {
      r.s32min = lo;
      r.s32max = hi;
      r.u32min = lo >>> 0;
      r.u32max = hi >>> 0;
      r.var = tnumSubreg(tnumRange(u64(BigInt(lo)), u64(BigInt(hi))));
      return;
    }
  }
  const half = 2 ** (bits - 1);
  r.s32min = -half;
  r.s32max = half - 1;
  r.u32min = 0;
  r.u32max = U32_MAX;
  r.var = tnumSubreg(tnumUnknown);
}

/**
 * `movsx`: dst = (s8/s16/s32) src, sign-extended to 64 bits (`is64`) or to 32 bits then
 * zero-extended. As the kernel, a 64-bit movsx result is not re-synced.
 */
export function scalarMovsx(src: Scalar, fromBits: 8 | 16 | 32, is64: boolean): Scalar {
  const r = copy(src);
  if (is64) {
    coerceSx(r, (fromBits / 8) as 1 | 2 | 4);
    return r;
  }
  if (fromBits === 32) {
    zext(r);
  } else {
    coerceSubregSx(r, (fromBits / 8) as 1 | 2);
    zext(r);
  }
  sync(r);
  return r;
}

/**
 * Byte swaps and byte-order conversions (`le16/32/64`, `be16/32/64`, `bswap16/32/64`), as
 * Linux 6.18 on a little-endian host: `le` is a truncation to `bits` (coerce_reg_to_size;
 * `le64` changes nothing), a swap (`be`, `bswap`) swaps the tnum's bytes and derives every
 * bound from it. `toBigEndianOnLe`: false for le, true for be, 'always' for ALU64 bswap.
 */
export function scalarBswap(src: Scalar, bits: 16 | 32 | 64, toBigEndianOnLe: boolean | 'always'): Scalar {
  if (toBigEndianOnLe === false) return bits === 64 ? src : scalarTruncate(src, (bits / 8) as 2 | 4);
  const r = copy(UNKNOWN);
  r.var = tnumBswap(src.var, bits);
  sync(r);
  return r;
}

// ---- ALU transfer functions (adjust_scalar_min_max_vals) ----

/** is_safe_to_compute_dst_reg_range: shifts need a known in-range amount; div and mod are not tracked in 6.18. */
function safeToCompute(op: AluOp, src: Scalar, is64: boolean): boolean {
  switch (op) {
    case 'add': case 'sub': case 'neg': case 'and': case 'or': case 'xor': case 'mul':
      return true;
    case 'lsh': case 'rsh': case 'arsh': {
      const known = is64
        ? tnumIsConst(src.var) && src.smin === src.smax && src.umin === src.umax
        : tnumSubregIsConst(src.var) && src.s32min === src.s32max && src.u32min === src.u32max;
      return known && src.umax < (is64 ? 64n : 32n);
    }
    default:
      return false;
  }
}

function add32(d: Reg, s: Scalar): void {
  const smin = d.s32min + s.s32min, smax = d.s32max + s.s32max;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = smin; d.s32max = smax;
  }
  const umin = d.u32min + s.u32min, umax = d.u32max + s.u32max;
  // Either every sum wraps or none does: the wrapped bounds hold. Only some: nothing is known.
  if (umin <= U32_MAX && umax > U32_MAX) {
    d.u32min = 0; d.u32max = U32_MAX;
  } else {
    d.u32min = umin >>> 0; d.u32max = umax >>> 0;
  }
}

function add64(d: Reg, s: Scalar): void {
  const smin = d.smin + s.smin, smax = d.smax + s.smax;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = smin; d.smax = smax;
  }
  const umin = d.umin + s.umin, umax = d.umax + s.umax;
  if (umin <= U64_MAX && umax > U64_MAX) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin = u64(umin); d.umax = u64(umax);
  }
}

function sub32(d: Reg, s: Scalar): void {
  const smin = d.s32min - s.s32max, smax = d.s32max - s.s32min;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    d.s32min = smin; d.s32max = smax;
  }
  const umin = d.u32min - s.u32max, umax = d.u32max - s.u32min;
  if (umin < 0 && umax >= 0) {
    d.u32min = 0; d.u32max = U32_MAX;
  } else {
    d.u32min = umin >>> 0; d.u32max = umax >>> 0;
  }
}

function sub64(d: Reg, s: Scalar): void {
  const smin = d.smin - s.smax, smax = d.smax - s.smin;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = smin; d.smax = smax;
  }
  const umin = d.umin - s.umax, umax = d.umax - s.umin;
  if (umin < 0n && umax >= 0n) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin = u64(umin); d.umax = u64(umax);
  }
}

function mul32(d: Reg, s: Scalar): void {
  // Products above 2^53 are rounded, but rounding keeps them on the same side of the (exact) 32-bit limits.
  const umax = d.u32max * s.u32max, umin = d.u32min * s.u32min;
  if (umax > U32_MAX || umin > U32_MAX) {
    d.u32min = 0; d.u32max = U32_MAX;
  } else {
    d.u32min = umin; d.u32max = umax;
  }
  const p0 = d.s32min * s.s32min, p1 = d.s32min * s.s32max, p2 = d.s32max * s.s32min, p3 = d.s32max * s.s32max;
  const lo = Math.min(p0, p1, p2, p3), hi = Math.max(p0, p1, p2, p3);
  if (lo < S32_MIN || hi > S32_MAX) {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  } else {
    // -0 (0 times a negative bound) is 0 for every later comparison, but not for Object.is: normalise it.
    d.s32min = lo | 0; d.s32max = hi | 0;
  }
}

function mul64(d: Reg, s: Scalar): void {
  const umax = d.umax * s.umax, umin = d.umin * s.umin;
  if (umax > U64_MAX || umin > U64_MAX) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin = umin; d.umax = umax;
  }
  const p = [d.smin * s.smin, d.smin * s.smax, d.smax * s.smin, d.smax * s.smax];
  if (p.some((x) => x < S64_MIN || x > S64_MAX)) {
    d.smin = S64_MIN; d.smax = S64_MAX;
  } else {
    d.smin = p.reduce(min); d.smax = p.reduce(max);
  }
}

/** Signed 32-bit bounds equal to the unsigned ones when those do not cross the sign bit. */
function signedFromUnsigned32(d: Reg): void {
  if ((d.u32min | 0) <= (d.u32max | 0)) {
    d.s32min = d.u32min | 0; d.s32max = d.u32max | 0;
  } else {
    d.s32min = S32_MIN; d.s32max = S32_MAX;
  }
}

function signedFromUnsigned64(d: Reg): void {
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin); d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN; d.smax = S64_MAX;
  }
}

type Bitwise = 'and' | 'or' | 'xor';

function bitwise32(op: Bitwise, d: Reg, s: Scalar): void {
  const v = lo32(d.var.value), m = lo32(d.var.mask);
  if (tnumSubregIsConst(s.var) && m === 0) {
    mark32Known(d, v);
    return;
  }
  if (op === 'and') {
    d.u32min = v;
    d.u32max = Math.min(d.u32max, s.u32max);
  } else if (op === 'or') {
    d.u32min = Math.max(d.u32min, s.u32min);
    d.u32max = (v | m) >>> 0;
  } else {
    d.u32min = v;
    d.u32max = (v | m) >>> 0;
  }
  signedFromUnsigned32(d);
}

function bitwise64(op: Bitwise, d: Reg, s: Scalar): void {
  const t = d.var;
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) {
    markKnown(d, t.value);
    return;
  }
  if (op === 'and') {
    d.umin = t.value;
    d.umax = min(d.umax, s.umax);
  } else if (op === 'or') {
    d.umin = max(d.umin, s.umin);
    d.umax = t.value | t.mask;
  } else {
    d.umin = t.value;
    d.umax = t.value | t.mask;
  }
  signedFromUnsigned64(d);
  updateBounds(d);
}

function lsh32Bounds(d: Reg, umin: number, umax: number): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  // A value that may lose its top bit tells nothing.
  if (umax > 31 || d.u32max > 2 ** (31 - umax)) {
    d.u32min = 0; d.u32max = U32_MAX;
  } else {
    // Products, not `<<`: the result may be 2^31, which `<<` would make negative.
    d.u32min *= 2 ** umin;
    d.u32max *= 2 ** umax;
  }
}

function lsh64Bounds(d: Reg, umin: bigint, umax: bigint): void {
  // `<< 32` (the compiler's sign-extension idiom `<<32 s>>32`): the s64 result is the s32 value times 2^32.
  d.smax = umin === 32n && umax === 32n ? BigInt(d.s32max) << 32n : S64_MAX;
  d.smin = umin === 32n && umax === 32n ? BigInt(d.s32min) << 32n : S64_MIN;
  if (d.umax > 1n << (63n - umax)) {
    d.umin = 0n; d.umax = U64_MAX;
  } else {
    d.umin <<= umin;
    d.umax <<= umax;
  }
}

function shift32(op: 'lsh' | 'rsh' | 'arsh', d: Reg, s: Scalar): void {
  const umin = s.u32min, umax = s.u32max;
  const sub = tnumSubreg(d.var);
  if (op === 'lsh') {
    lsh32Bounds(d, umin, umax);
    d.var = tnumSubreg(tnumLshift(sub, umin));
  } else if (op === 'rsh') {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
    d.var = tnumRshift(sub, umin);
    d.u32min = d.u32min >>> umax;
    d.u32max = d.u32max >>> umin;
  } else {
    d.s32min = (d.s32min | 0) >> umin;
    d.s32max = (d.s32max | 0) >> umin;
    d.var = tnumArshift(sub, umin, 32);
    d.u32min = 0;
    d.u32max = U32_MAX;
  }
  mark64Unbounded(d);
  update32Bounds(d);
}

function shift64(op: 'lsh' | 'rsh' | 'arsh', d: Reg, s: Scalar): void {
  const umin = s.umin, umax = s.umax;
  if (op === 'lsh') {
    lsh64Bounds(d, umin, umax);
    lsh32Bounds(d, Number(umin), Number(umax));
    d.var = tnumLshift(d.var, umin);
  } else if (op === 'rsh') {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
    d.var = tnumRshift(d.var, umin);
    d.umin >>= umax;
    d.umax >>= umin;
    mark32Unbounded(d);
  } else {
    d.smin >>= umin;
    d.smax >>= umin;
    d.var = tnumArshift(d.var, umin, 64);
    d.umin = 0n;
    d.umax = U64_MAX;
    mark32Unbounded(d);
  }
  updateBounds(d);
}

/**
 * `dst op= src` on scalars, as Linux 6.18's adjust_scalar_min_max_vals: a 32-bit op (`is64`
 * false) works on the low halves and zero-extends. Like the kernel, div/sdiv/mod/smod and
 * shifts by an amount that is not a known in-range constant give a completely unknown
 * register (64-bit unknown even for a 32-bit op). `neg` ignores `src`; `mov` copies it. The
 * kernel's split of a 0-or-minus-1 register before `and`/`or` with a constant is the caller's
 * (it makes a second state): see {@link scalarForkSignMask}, or use scalarAluInsn, which does it.
 */
export function scalarAlu(op: AluOp, dst: Scalar, src: Scalar, is64: boolean): Scalar {
  if (op === 'mov') return is64 ? src : scalarZext32(src);
  // Constant op constant: the kernel's transfer functions give the exact constant, so compute it directly.
  if (isExactConst(dst) && isExactConst(src)) {
    const v = constFold(op, dst.var.value, src.var.value, is64);
    if (v !== undefined) return scalarConst(v);
  }
  // `src` is only read: no copy of it.
  const s = src;
  if (!safeToCompute(op, s, is64)) return UNKNOWN;
  const d = copy(dst);
  switch (op) {
    case 'add':
      add32(d, s);
      add64(d, s);
      d.var = tnumAdd(d.var, s.var);
      break;
    case 'sub':
      sub32(d, s);
      sub64(d, s);
      d.var = tnumSub(d.var, s.var);
      break;
    case 'neg': {
      const old = copy(d);
      markKnown(d, 0n);
      sub32(d, old);
      sub64(d, old);
      d.var = tnumNeg(old.var);
      break;
    }
    case 'mul':
      d.var = tnumMul(d.var, s.var);
      mul32(d, s);
      mul64(d, s);
      break;
    case 'and': case 'or': case 'xor':
      d.var = op === 'and' ? tnumAnd(d.var, s.var) : op === 'or' ? tnumOr(d.var, s.var) : tnumXor(d.var, s.var);
      bitwise32(op, d, s);
      bitwise64(op, d, s);
      break;
    case 'lsh': case 'rsh': case 'arsh':
      if (is64) shift64(op, d, s);
      else shift32(op, d, s);
      break;
    default:
      return UNKNOWN;
  }
  if (!is64) zext(d);
  sync(d);
  sanity(d);
  return d;
}

/**
 * The variable part of `ptr + off` when `off` is not a constant folded into the pointer's
 * fixed offset (adjust_ptr_min_max_vals, BPF_ADD): signed and unsigned sums that may
 * overflow give unbounded ranges (no wrap-around as for scalars), the 32-bit bounds are
 * re-derived, then reg_bounds_sync. `ptr` is the pointer's own variable part (0 for a
 * fresh pointer).
 */
export function scalarPtrAdd(ptr: Scalar, off: Scalar): Scalar {
  const r = copy(UNKNOWN);
  const smin = ptr.smin + off.smin, smax = ptr.smax + off.smax;
  if (smin >= S64_MIN && smin <= S64_MAX && smax >= S64_MIN && smax <= S64_MAX) { r.smin = smin; r.smax = smax; }
  const umin = ptr.umin + off.umin, umax = ptr.umax + off.umax;
  if (umin <= U64_MAX && umax <= U64_MAX) { r.umin = umin; r.umax = umax; }
  r.var = tnumAdd(ptr.var, off.var);
  sync(r);
  return r;
}

/** The variable part of `ptr - off` (adjust_ptr_min_max_vals, BPF_SUB), as {@link scalarPtrAdd}. */
export function scalarPtrSub(ptr: Scalar, off: Scalar): Scalar {
  const r = copy(UNKNOWN);
  const smin = ptr.smin - off.smax, smax = ptr.smax - off.smin;
  if (smin >= S64_MIN && smin <= S64_MAX && smax >= S64_MIN && smax <= S64_MAX) { r.smin = smin; r.smax = smax; }
  if (ptr.umin >= off.umax) { r.umin = ptr.umin - off.umax; r.umax = ptr.umax - off.umin; }
  r.var = tnumSub(ptr.var, off.var);
  sync(r);
  return r;
}

/**
 * sync_linked_regs for a register linked with a constant delta (`r2 = r1; r2 += 5`, the
 * kernel's BPF_ADD_CONST): after a branch narrows `known`, the linked register is `known +
 * delta` by the 64-bit scalar add (bounds synced, as this kernel's log shows).
 */
export function scalarLinkedAdd(known: Scalar, delta: bigint): Scalar {
  return scalarAlu('add', known, scalarConst(delta), true);
}

/**
 * maybe_fork_scalars (Linux 6.18 stable): before `dst &= K` or `dst |= K` (any `src` whose
 * tnum is constant), a `dst` that is 0 or -1 (s64 in [-1, 0], else s32 in [-1, 0], the
 * result of `s>>= 63` / `s>>= 31`) is split in two. The verifier continues with `current`
 * (dst = -1) and pushes a state that re-runs the same instruction with `pushed` (dst = 0).
 * Undefined when no split happens.
 */
export function scalarForkSignMask(dst: Scalar): { current: Scalar; pushed: Scalar } | undefined {
  const is64 = dst.smin === -1n && dst.smax === 0n;
  if (!is64 && !(dst.s32min === -1 && dst.s32max === 0)) return undefined;
  const current = copy(dst), pushed = copy(dst);
  if (is64) {
    markKnown(current, -1n);
    markKnown(pushed, 0n);
  } else {
    mark32Known(current, -1);
    mark32Known(pushed, 0);
  }
  return { current, pushed };
}

/** A constant whose eight bounds all agree with its tnum (what markKnown makes). */
function isExactConst(s: Scalar): boolean {
  return s.var.mask === 0n && s.umin === s.umax && s.smin === s.smax && s.u32min === s.u32max && s.s32min === s.s32max;
}

/** The ops whose abstract result on two constants is that constant (div and mod are not tracked; shifts need an in-range amount). */
function constFold(op: AluOp, a: bigint, b: bigint, is64: boolean): bigint | undefined {
  if (!is64) {
    const x = a & LO32, y = b & LO32;
    switch (op) {
      case 'add': return (x + y) & LO32;
      case 'sub': return (x - y) & LO32;
      case 'mul': return (x * y) & LO32;
      case 'and': return x & y;
      case 'or': return x | y;
      case 'xor': return x ^ y;
      case 'neg': return -x & LO32;
      // The shift amount must be known below 32 in all 64 bits (is_safe_to_compute_dst_reg_range).
      case 'lsh': return b < 32n ? (x << b) & LO32 : undefined;
      case 'rsh': return b < 32n ? x >> b : undefined;
      case 'arsh': return b < 32n ? BigInt.asUintN(32, BigInt.asIntN(32, x) >> b) : undefined;
      default: return undefined;
    }
  }
  // u64 rather than `& U64_MAX`: a result already in range is not copied into another bigint.
  switch (op) {
    case 'add': return u64(a + b);
    case 'sub': return u64(a - b);
    case 'mul': return u64(a * b);
    case 'and': return a & b;
    case 'or': return a | b;
    case 'xor': return a ^ b;
    case 'neg': return u64(-a);
    case 'lsh': return b < 64n ? (a << b) & U64_MAX : undefined;
    case 'rsh': return b < 64n ? a >> b : undefined;
    case 'arsh': return b < 64n ? BigInt.asUintN(64, s64(a) >> b) : undefined;
    default: return undefined;
  }
}

// ---- branches (is_scalar_branch_taken, regs_refine_cond_op) ----

function isConst(s: Scalar, is32: boolean): boolean {
  return is32 ? tnumSubregIsConst(s.var) : tnumIsConst(s.var);
}

/**
 * Whether the jump `if dst op src` is always taken (true), never (false) or either
 * (undefined), from the bounds alone, as the kernel's is_scalar_branch_taken. This kernel
 * has no special case for a register compared with itself: `if r1 > r1` is decided from
 * the bounds like any other pair (so only a constant decides it). `_sameReg` is accepted for
 * symmetry with {@link scalarRefine} and changes nothing.
 */
export function scalarBranchTaken(op: JmpOp, dst: Scalar, src: Scalar, is32: boolean, _sameReg = false): boolean | undefined {
  return is32 ? branchTaken32(op, dst, src) : branchTaken64(op, dst, src);
}

function branchTaken64(op: JmpOp, a: Scalar, b: Scalar): boolean | undefined {
  switch (op) {
    case 'jeq': case 'jne': {
      const eq = op === 'jeq';
      if (tnumIsConst(a.var) && tnumIsConst(b.var)) return (a.var.value === b.var.value) === eq;
      // Known bits that disagree: never equal (Linux 6.18).
      if (!tnumOverlap(a.var, b.var)) return !eq;
      if (a.umin > b.umax || a.umax < b.umin) return !eq;
      if (a.smin > b.smax || a.smax < b.smin) return !eq;
      if (a.u32min > b.u32max || a.u32max < b.u32min) return !eq;
      if (a.s32min > b.s32max || a.s32max < b.s32min) return !eq;
      return undefined;
    }
    case 'jset': {
      let t1 = a.var, c = b;
      if (!tnumIsConst(b.var)) { t1 = b.var; c = a; }
      if (!tnumIsConst(c.var)) return undefined;
      const v = c.var.value;
      if (t1.value & v) return true;
      if (((t1.mask | t1.value) & v) === 0n) return false;
      return undefined;
    }
    case 'jgt': return a.umin > b.umax ? true : a.umax <= b.umin ? false : undefined;
    case 'jsgt': return a.smin > b.smax ? true : a.smax <= b.smin ? false : undefined;
    case 'jlt': return a.umax < b.umin ? true : a.umin >= b.umax ? false : undefined;
    case 'jslt': return a.smax < b.smin ? true : a.smin >= b.smax ? false : undefined;
    case 'jge': return a.umin >= b.umax ? true : a.umax < b.umin ? false : undefined;
    case 'jsge': return a.smin >= b.smax ? true : a.smax < b.smin ? false : undefined;
    case 'jle': return a.umax <= b.umin ? true : a.umin > b.umax ? false : undefined;
    default: return a.smax <= b.smin ? true : a.smin > b.smax ? false : undefined; // jsle
  }
}

/** The 32-bit half of {@link scalarBranchTaken}: the low halves' tnums and the 32-bit bounds, in numbers. */
function branchTaken32(op: JmpOp, a: Scalar, b: Scalar): boolean | undefined {
  switch (op) {
    case 'jeq': case 'jne': {
      const eq = op === 'jeq';
      const av = lo32(a.var.value), am = lo32(a.var.mask), bv = lo32(b.var.value), bm = lo32(b.var.mask);
      if (am === 0 && bm === 0) return (av === bv) === eq;
      // Known bits that disagree: never equal (Linux 6.18).
      const known = ~am & ~bm;
      if ((av & known) !== (bv & known)) return !eq;
      if (a.u32min > b.u32max || a.u32max < b.u32min) return !eq;
      if (a.s32min > b.s32max || a.s32max < b.s32min) return !eq;
      return undefined;
    }
    case 'jset': {
      let t = a.var, c = b;
      if (!tnumSubregIsConst(b.var)) { t = b.var; c = a; }
      if (!tnumSubregIsConst(c.var)) return undefined;
      const v = lo32(c.var.value), tv = lo32(t.value), tm = lo32(t.mask);
      if ((tv & v) !== 0) return true;
      if (((tm | tv) & v) === 0) return false;
      return undefined;
    }
    case 'jgt': return a.u32min > b.u32max ? true : a.u32max <= b.u32min ? false : undefined;
    case 'jsgt': return a.s32min > b.s32max ? true : a.s32max <= b.s32min ? false : undefined;
    case 'jlt': return a.u32max < b.u32min ? true : a.u32min >= b.u32max ? false : undefined;
    case 'jslt': return a.s32max < b.s32min ? true : a.s32min >= b.s32max ? false : undefined;
    case 'jge': return a.u32min >= b.u32max ? true : a.u32max < b.u32min ? false : undefined;
    case 'jsge': return a.s32min >= b.s32max ? true : a.s32max < b.s32min ? false : undefined;
    case 'jle': return a.u32max <= b.u32min ? true : a.u32min > b.u32max ? false : undefined;
    default: return a.s32max <= b.s32min ? true : a.s32min > b.s32max ? false : undefined; // jsle
  }
}

/** The condition that holds on the fall-through edge of `op`; 'jnset' is "no bit of src set in dst". */
type CondOp = JmpOp | 'jnset';

const REVERSE: Record<JmpOp, CondOp> = {
  jeq: 'jne', jne: 'jeq', jgt: 'jle', jle: 'jgt', jge: 'jlt', jlt: 'jge', jsgt: 'jsle', jsle: 'jsgt', jsge: 'jslt', jslt: 'jsge', jset: 'jnset',
};

const FLIP: Partial<Record<CondOp, CondOp>> = { jge: 'jle', jgt: 'jlt', jsge: 'jsle', jsgt: 'jslt' };

/** regs_refine_cond_op: narrows r1 and r2 in place so that `r1 op r2` holds. */
function refineCond(r1: Reg, r2: Reg, op: CondOp, is32: boolean): void {
  const flipped = FLIP[op];
  if (flipped !== undefined) {
    [r1, r2] = [r2, r1];
    op = flipped;
  }
  switch (op) {
    case 'jeq':
      if (is32) {
        r1.u32min = Math.max(r1.u32min, r2.u32min);
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r1.s32min = Math.max(r1.s32min, r2.s32min);
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min; r2.u32max = r1.u32max; r2.s32min = r1.s32min; r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.var), tnumSubreg(r2.var));
        r1.var = tnumWithSubreg(r1.var, t);
        r2.var = tnumWithSubreg(r2.var, t);
      } else {
        r1.umin = max(r1.umin, r2.umin);
        r1.umax = min(r1.umax, r2.umax);
        r1.smin = max(r1.smin, r2.smin);
        r1.smax = min(r1.smax, r2.smax);
        r2.umin = r1.umin; r2.umax = r1.umax; r2.smin = r1.smin; r2.smax = r1.smax;
        r1.var = tnumIntersect(r1.var, r2.var);
        r2.var = r1.var;
      }
      break;
    case 'jne': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      // A constant at the edge of the range moves that edge by one.
      if (is32) {
        const val = lo32(r2.var.value);
        if (r1.u32min === val) r1.u32min++;
        if (r1.u32max === val) r1.u32max--;
        if (r1.s32min === (val | 0)) r1.s32min++;
        if (r1.s32max === (val | 0)) r1.s32max--;
      } else {
        const val = r2.var.value;
        if (r1.umin === val) r1.umin++;
        if (r1.umax === val) r1.umax--;
        if (r1.smin === s64(val)) r1.smin++;
        if (r1.smax === s64(val)) r1.smax--;
      }
      break;
    }
    case 'jset': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const val = is32 ? r2.var.value & LO32 : r2.var.value;
      // Only a single tested bit says which bit is set.
      if (val === 0n || (val & (val - 1n)) !== 0n) break;
      r1.var = is32 ? tnumWithSubreg(r1.var, tnumOr(tnumSubreg(r1.var), tnumConst(val))) : tnumOr(r1.var, tnumConst(val));
      break;
    }
    case 'jnset': {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const val = is32 ? r2.var.value & LO32 : r2.var.value;
      // The kernel forgets the ranges first, so that a dead edge cannot break invariants.
      mark64Unbounded(r1);
      mark32Unbounded(r1);
      r1.var = is32
        ? tnumWithSubreg(r1.var, tnumAnd(tnumSubreg(r1.var), tnumConst(~val & U64_MAX)))
        : tnumAnd(r1.var, tnumConst(~val & U64_MAX));
      break;
    }
    case 'jle':
      if (is32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r2.u32min = Math.max(r1.u32min, r2.u32min);
      } else {
        r1.umax = min(r1.umax, r2.umax);
        r2.umin = max(r1.umin, r2.umin);
      }
      break;
    case 'jlt':
      if (is32) {
        r1.u32max = Math.min(r1.u32max, (r2.u32max - 1) >>> 0);
        r2.u32min = Math.max((r1.u32min + 1) >>> 0, r2.u32min);
      } else {
        r1.umax = min(r1.umax, u64(r2.umax - 1n));
        r2.umin = max(u64(r1.umin + 1n), r2.umin);
      }
      break;
    case 'jsle':
      if (is32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.s32min = Math.max(r1.s32min, r2.s32min);
      } else {
        r1.smax = min(r1.smax, r2.smax);
        r2.smin = max(r1.smin, r2.smin);
      }
      break;
    case 'jslt':
      if (is32) {
        r1.s32max = Math.min(r1.s32max, (r2.s32max - 1) | 0);
        r2.s32min = Math.max((r1.s32min + 1) | 0, r2.s32min);
      } else {
        r1.smax = min(r1.smax, s64(r2.smax - 1n));
        r2.smin = max(s64(r1.smin + 1n), r2.smin);
      }
      break;
    default:
      break;
  }
}

/**
 * The operands on one edge of `if dst op src` (`taken`: the jump edge, else the
 * fall-through), as the kernel's check_cond_jmp_op: undefined when the kernel knows the edge
 * is never followed (scalarBranchTaken decides the other way); unchanged operands when it
 * knows the edge is always followed; otherwise reg_set_min_max's refinement. `sameReg`: both
 * operands are one register (`if r1 > r1`); the kernel then narrows that one register by
 * both sides of the condition, and `dst` and `src` of the result are the same.
 */
export function scalarRefine(op: JmpOp, dst: Scalar, src: Scalar, is32: boolean, taken: boolean, sameReg = false): { dst: Scalar; src: Scalar } | undefined {
  const pred = scalarBranchTaken(op, dst, sameReg ? dst : src, is32);
  if (pred !== undefined) return pred === taken ? { dst, src: sameReg ? dst : src } : undefined;
  const d = copy(dst);
  const s = sameReg ? d : copy(src);
  refineCond(d, s, taken ? op : REVERSE[op], is32);
  sync(d);
  sync(s);
  sanity(d);
  sanity(s);
  return { dst: d, src: s };
}

// ---- pruning and printing ----

/** range_within && tnum_in: every value `cur` allows, `old` allows too (so a state with `cur` may be pruned by one with `old`). */
export function scalarWithin(old: Scalar, cur: Scalar): boolean {
  if (old === cur) return true;
  return old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
    old.u32min <= cur.u32min && old.u32max >= cur.u32max && old.s32min <= cur.s32min && old.s32max >= cur.s32max &&
    tnumIn(old.var, cur.var);
}

/** Same tnum and same eight bounds. */
export function scalarEqual(a: Scalar, b: Scalar): boolean {
  return a.var.value === b.var.value && a.var.mask === b.var.mask && a.umin === b.umin && a.umax === b.umax &&
    a.smin === b.smin && a.smax === b.smax && a.u32min === b.u32min && a.u32max === b.u32max && a.s32min === b.s32min && a.s32max === b.s32max;
}

/** Whether the concrete 64-bit value `v` is one of the values `s` allows (for tests and explanations). */
export function scalarContains(s: Scalar, v: bigint): boolean {
  const x = u64(v), lo = lo32(x);
  return (x & ~s.var.mask) === s.var.value && x >= s.umin && x <= s.umax && s64(x) >= s.smin && s64(x) <= s.smax &&
    lo >= s.u32min && lo <= s.u32max && (lo | 0) >= s.s32min && (lo | 0) <= s.s32max;
}

/** The kernel's verbose_snum: decimal within s16, else hex of the 64-bit pattern. */
function snum(v: bigint): string {
  return v >= -32768n && v <= 32767n ? v.toString() : `0x${u64(v).toString(16)}`;
}

/** The kernel's verbose_unum: decimal up to u16, else hex. */
function unum(v: bigint): string {
  return v <= 0xffffn ? v.toString() : `0x${v.toString(16)}`;
}

/** Options for {@link formatScalar}: the register's precise mark and id, which live outside the scalar domain. */
export interface FormatScalarOptions {
  readonly precise?: boolean;
  readonly id?: number;
}

/**
 * A scalar as the kernel's verifier log prints it (print_reg_state, print_scalar_ranges):
 * a constant as its value (`5`, `-1`, `0x10000`), otherwise `scalar(...)` with the bounds
 * that say something, equal bounds merged (`smax=umax=255`), and the tnum when known.
 */
export function formatScalar(s: Scalar, opts: FormatScalarOptions = {}): string {
  const p = opts.precise ? 'P' : '';
  if (tnumIsConst(s.var)) return p + snum(s64(s.var.value));
  const smin32 = u64(BigInt(s.s32min >= -32768 && s.s32min <= 32767 ? s.s32min : s.s32min >>> 0));
  const smax32 = u64(BigInt(s.s32max >= -32768 && s.s32max <= 32767 ? s.s32max : s.s32max >>> 0));
  const items = [
    { name: 'smin', val: u64(s.smin), omit: s.smin === S64_MIN },
    { name: 'smax', val: u64(s.smax), omit: s.smax === S64_MAX },
    { name: 'umin', val: s.umin, omit: s.umin === 0n },
    { name: 'umax', val: s.umax, omit: s.umax === U64_MAX },
    { name: 'smin32', val: smin32, omit: s.s32min === S32_MIN },
    { name: 'smax32', val: smax32, omit: s.s32max === S32_MAX },
    { name: 'umin32', val: BigInt(s.u32min), omit: s.u32min === 0 },
    { name: 'umax32', val: BigInt(s.u32max), omit: s.u32max === U32_MAX },
  ];
  const parts: string[] = [];
  if (opts.id) parts.push(`id=${opts.id}`);
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i];
    if (m1.omit) continue;
    const signed = m1.name[0] === 's';
    const neg1 = signed && s64(m1.val) < 0n;
    let text = `${m1.name}=`;
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j];
      if (m2.omit || m2.val !== m1.val) continue;
      const neg2 = m2.name[0] === 's' && s64(m2.val) < 0n;
      if (neg2 !== neg1) continue;
      m2.omit = true;
      text += `${m2.name}=`;
    }
    parts.push(text + (signed ? snum(s64(m1.val)) : unum(m1.val)));
  }
  if (!tnumIsUnknown(s.var)) parts.push(`var_off=${formatTnum(s.var)}`);
  return `${p}scalar(${parts.join(',')})`;
}
