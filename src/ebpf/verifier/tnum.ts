/** Tristate numbers: the verifier's bit-level knowledge of a 64-bit value, with the kernel's transfer functions (kernel/bpf/tnum.c). */

/**
 * A tnum: bits set in `mask` are unknown; the other bits equal those of `value`.
 * Invariant: `value & mask === 0`. Both are unsigned 64-bit bigints.
 */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

const U64 = 0xffffffffffffffffn;
const U32 = 0xffffffffn;
const SIGN = 1n << 63n;

const mk = (value: bigint, mask: bigint): Tnum => ({ value, mask });

/** The 1-based index of the highest set bit of a value below 2^64 (0 for 0), as the kernel's fls64. */
function fls64(x: bigint): number {
  if (x === 0n) return 0;
  // Below 2^32 no shift (a new bigint) is needed: the common case of bounds and masks.
  if (x <= U32) return 32 - Math.clz32(Number(x));
  return 64 - Math.clz32(Number(x >> 32n));
}

/** 2^k - 1 and its complement for k in 0..63: tnumRange's masks without bigint arithmetic per call. */
const LOW = Array.from({ length: 64 }, (_, k) => (1n << BigInt(k)) - 1n);
const HIGH = LOW.map((m) => U64 ^ m);

// The halves of a 64-bit word through a typed array: no bigint arithmetic (every `&` or `>>` makes a new bigint).
const WORD = new BigInt64Array(1);
const WORD_U32 = new Uint32Array(WORD.buffer);
const WORD_I32 = new Int32Array(WORD.buffer);
WORD[0] = 1n;
const LO = WORD_U32[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** The low 32 bits of a bigint taken mod 2^64 (two's complement for negatives), unsigned. */
export function lo32(x: bigint): number {
  WORD[0] = x;
  return WORD_U32[LO];
}

/** floor(x / 2^32) for a signed 64-bit x (the high 32 bits, signed). */
export function hi32(x: bigint): number {
  WORD[0] = x;
  return WORD_I32[HI];
}

/** floor(x / 2^32) for an unsigned 64-bit x (the high 32 bits, unsigned). */
export function hi32u(x: bigint): number {
  WORD[0] = x;
  return WORD_U32[HI];
}

/** Nothing known about any bit. */
export const tnumUnknown: Tnum = mk(0n, U64);

/** A fully known value (taken mod 2^64). */
export function tnumConst(v: bigint): Tnum {
  return mk(BigInt.asUintN(64, v), 0n);
}

/** The smallest tnum covering every value in [min, max] (unsigned): the common high bits are known. */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const lo = BigInt.asUintN(64, min), hi = BigInt.asUintN(64, max);
  // Bit 63 differs (a range across the sign boundary, or [0, 2^64 - 1]): unknown, without the xor.
  if ((lo >= SIGN) !== (hi >= SIGN)) return tnumUnknown;
  const bits = fls64(lo ^ hi);
  // The kernel gives up (unknown) when even bit 63 differs: 1 << 64 would not fit.
  if (bits > 63) return tnumUnknown;
  return mk(lo & HIGH[bits], LOW[bits]);
}

/** Left shift by a known amount (bits shifted past bit 63 are dropped). */
export function tnumLshift(a: Tnum, shift: number | bigint): Tnum {
  const s = BigInt(shift);
  return mk(BigInt.asUintN(64, a.value << s), BigInt.asUintN(64, a.mask << s));
}

/** Logical right shift by a known amount. */
export function tnumRshift(a: Tnum, shift: number | bigint): Tnum {
  const s = BigInt(shift);
  return mk(a.value >> s, a.mask >> s);
}

/**
 * Arithmetic right shift by the smallest possible shift amount, on a 32- or 64-bit value:
 * the sign bit (known or not) is replicated, as the kernel's tnum_arshift.
 */
export function tnumArshift(a: Tnum, minShift: number | bigint, bitness: 32 | 64 = 64): Tnum {
  const s = BigInt(minShift);
  if (bitness === 32) {
    return mk(BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s), BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s));
  }
  return mk(BigInt.asUintN(64, BigInt.asIntN(64, a.value) >> s), BigInt.asUintN(64, BigInt.asIntN(64, a.mask) >> s));
}

/** Below 2^30 the sums of tnumAdd fit the 32 bits of JavaScript's bitwise operators. */
const ADD_SMALL = 0x3fffffffn;

/** Sum: carries out of unknown bits make every bit they can reach unknown. */
export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  // An unknown operand makes every bit unknown (its mask is in mu): the common `unknown + k`.
  if (a.mask === U64 || b.mask === U64) return tnumUnknown;
  if (a.value <= ADD_SMALL && a.mask <= ADD_SMALL && b.value <= ADD_SMALL && b.mask <= ADD_SMALL) {
    // Small operands (offsets, lengths, counters): the same steps in numbers, two new bigints instead of seven.
    const am = lo32(a.mask), bm = lo32(b.mask);
    const sv = lo32(a.value) + lo32(b.value);
    const chi = (am + bm + sv) ^ sv;
    const mu = (chi | am | bm) >>> 0;
    return mk(BigInt((sv & ~mu) >>> 0), BigInt(mu));
  }
  const sm = a.mask + b.mask;
  const sv = a.value + b.value;
  const sigma = BigInt.asUintN(64, sm + sv);
  const chi = sigma ^ BigInt.asUintN(64, sv);
  const mu = chi | a.mask | b.mask;
  return mk(BigInt.asUintN(64, sv) & ~mu & U64, mu);
}

/** Difference, the dual of {@link tnumAdd} with borrows. */
export function tnumSub(a: Tnum, b: Tnum): Tnum {
  if (a.mask === U64 || b.mask === U64) return tnumUnknown;
  const dv = a.value - b.value;
  const alpha = BigInt.asUintN(64, dv + a.mask);
  const beta = BigInt.asUintN(64, dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return mk(BigInt.asUintN(64, dv) & ~mu & U64, mu);
}

/** Two's complement negation (0 - a). */
export function tnumNeg(a: Tnum): Tnum {
  return tnumSub(mk(0n, 0n), a);
}

/** Bitwise and: a bit is known 0 if either side has it known 0. */
export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return mk(v, alpha & beta & ~v);
}

/** Bitwise or: a bit is known 1 if either side has it known 1. */
export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return mk(v, mu & ~v);
}

/** Bitwise xor: known where both sides are known. */
export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return mk(v & ~mu, mu);
}

/** Smallest tnum holding every value of `a` and of `b` (bits where they disagree become unknown). */
export function tnumUnion(a: Tnum, b: Tnum): Tnum {
  const v = a.value & b.value;
  const mu = (a.value ^ b.value) | a.mask | b.mask;
  return mk(v & ~mu, mu);
}

/**
 * Product by long multiplication over the bits of `a`: a known 1 adds `b`, an unknown bit
 * takes the union of adding and not adding it (the kernel's algorithm since 6.17).
 */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let acc = mk(0n, 0n);
  let av = a.value, am = a.mask;
  let bb = b;
  while (av !== 0n || am !== 0n) {
    if (av & 1n) acc = tnumAdd(acc, bb);
    else if (am & 1n) acc = tnumUnion(acc, tnumAdd(acc, bb));
    // Fixed points end the loop early (up to 64 rounds of bigint work otherwise): an unknown accumulator stays
    // unknown whatever is added, and once `b` is shifted out every addition adds zero.
    if (acc.mask === U64) return tnumUnknown;
    av >>= 1n;
    am >>= 1n;
    bb = tnumLshift(bb, 1);
    if (bb.value === 0n && bb.mask === 0n) break;
  }
  return acc;
}

/**
 * Both facts at once (the value is in `a` and in `b`). Where they disagree (a known 1 against
 * a known 0, i.e. no value is in both) the known 1 wins, as in the kernel.
 */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  // Nothing known on one side: the other (bound_offset meets unknown ranges on most instructions).
  if (b.mask === U64) return a;
  if (a.mask === U64) return b;
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return mk(v & ~mu, mu);
}


/**
 * `clearHigh`: tnumIntersect(t, tnumRange(min, max)); otherwise the same on t's low 32 bits only, its high
 * half kept (the 32-bit range of a register). Computed in numbers when both ends lie in [0, 2^32), returning
 * `t` itself when nothing changes: the verifier does this on every instruction.
 */
export function tnumIntersectRange32(t: Tnum, min: number, max: number, clearHigh: boolean): Tnum {
  if ((min >>> 0) !== min || (max >>> 0) !== max) {
    // Ends outside u32 (a dead branch's inconsistent bounds): the bigint functions.
    const range = tnumRange(BigInt(min), BigInt(max));
    return clearHigh ? tnumIntersect(t, range) : tnumOr(tnumClearSubreg(t), tnumIntersect(tnumSubreg(t), range));
  }
  const v = lo32(t.value), m = lo32(t.mask);
  const x = (min ^ max) >>> 0;
  // tnum_range: the bits from the highest differing one down are unknown.
  const rm = x === 0 ? 0 : x >= 0x80000000 ? 0xffffffff : 2 ** (32 - Math.clz32(x)) - 1;
  const nm = (m & rm) >>> 0;
  const nv = ((v | (min & ~rm)) & ~nm) >>> 0;
  const highMask = clearHigh && t.mask > U32;
  if (nv === v && nm === m && !highMask) return t;
  // The high half of the value stays; only the low half and (for clearHigh) the high mask change.
  const value = nv === v ? t.value : t.value - BigInt(v) + BigInt(nv);
  const mask = clearHigh ? BigInt(nm) : nm === m ? t.mask : t.mask - BigInt(m) + BigInt(nm);
  return mk(value, mask);
}

/** {@link tnumStep} for a tnum below 2^32 given as numbers (`v`, `m`) and `z` below 2^32. */
export function tnumStep32(v: number, m: number, z: number): number {
  const tmax = (v | m) >>> 0;
  if (z >= tmax) return tmax;
  if (z < v) return v;
  const d = z - v;
  const high = (d & ~m) >>> 0;
  const carry = high === 0 ? 0 : 2 ** (32 - Math.clz32(high)) - 1;
  // filled + 1 may be 2^32: `&` takes it mod 2^32, as the 64-bit version wraps the bits above the mask away.
  const filled = (d | carry | ~m) >>> 0;
  return (v | ((filled + 1) & m)) >>> 0;
}

/** Truncation to the low `bytes` bytes (zero-extended). */
export function tnumCast(a: Tnum, bytes: number): Tnum {
  const m = bytes >= 8 ? U64 : (1n << BigInt(bytes * 8)) - 1n;
  return mk(a.value & m, a.mask & m);
}

/** Whether every value of `inner` is also a value of `outer`. */
export function tnumIn(outer: Tnum, inner: Tnum): boolean {
  // Pruning asks this for every register of every stored state: no negative bigints (~mask), shared tnums at once.
  if (outer === inner) return true;
  const om = outer.mask;
  if ((inner.mask | om) !== om) return false;
  return (inner.value | om) === (outer.value | om);
}

/** Whether `a` is a single value. */
export function tnumIsConst(a: Tnum): boolean {
  return a.mask === 0n;
}

/** Whether nothing at all is known. */
export function tnumIsUnknown(a: Tnum): boolean {
  return a.mask === U64;
}

/** Whether every value of `a` is a multiple of `size` (a power of two; 0 means no constraint). */
export function tnumIsAligned(a: Tnum, size: number | bigint): boolean {
  const s = BigInt(size);
  if (s === 0n) return true;
  return ((a.value | a.mask) & (s - 1n)) === 0n;
}

/** The low 32 bits (the w-register view), zero-extended. */
export function tnumSubreg(a: Tnum): Tnum {
  return mk(a.value & U32, a.mask & U32);
}

/** The high 32 bits kept, the low 32 bits known zero. */
export function tnumClearSubreg(a: Tnum): Tnum {
  return mk(a.value & ~U32 & U64, a.mask & ~U32 & U64);
}

/** `reg`'s high 32 bits with `subreg`'s low 32 bits. */
export function tnumWithSubreg(reg: Tnum, subreg: Tnum): Tnum {
  return tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
}

/** `a`'s high 32 bits with the low 32 bits known to be `v`. */
export function tnumConstSubreg(a: Tnum, v: bigint): Tnum {
  return tnumWithSubreg(a, tnumConst(BigInt.asUintN(32, v)));
}

/** Whether the low 32 bits are a single value. */
export function tnumSubregIsConst(a: Tnum): boolean {
  return (a.mask & U32) === 0n;
}

function swapBytes(x: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Byte swap of the low `bits` bits (16, 32 or 64), the rest cleared: what bswap/be do to each known bit. */
export function tnumBswap(a: Tnum, bits: 16 | 32 | 64): Tnum {
  return mk(swapBytes(a.value, bits / 8), swapBytes(a.mask, bits / 8));
}

/** Whether the bits known in both agree (so that some value may be in both): the kernel's tnum_overlap. */
export function tnumOverlap(a: Tnum, b: Tnum): boolean {
  // Half by half in numbers: no new bigints for a test made on every equality jump.
  const ma = lo32(a.mask) | lo32(b.mask), x = lo32(a.value) ^ lo32(b.value);
  if ((x & ~ma) !== 0) return false;
  const mh = hi32(a.mask) | hi32(b.mask), xh = hi32(a.value) ^ hi32(b.value);
  return (xh & ~mh) === 0;
}

/**
 * The smallest member of `t` greater than `z` (the kernel's tnum_step): `t`'s largest member
 * when `z` is at or above it, its smallest when `z` is below it.
 */
export function tnumStep(t: Tnum, z: bigint): bigint {
  const tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  // Members are value + s for submasks s of mask: increment d = z - value "within the mask".
  const d = z - t.value;
  const high = d & ~t.mask & U64;
  const carry = (1n << BigInt(fls64(high))) - 1n;
  const filled = (d | carry | ~t.mask) & U64;
  const inc = BigInt.asUintN(64, filled + 1n) & t.mask;
  return t.value | inc;
}

/** Whether `v` is one of the values of `a`. */
export function tnumContains(a: Tnum, v: bigint): boolean {
  return (BigInt.asUintN(64, v) & ~a.mask) === a.value;
}

/** The kernel's tnum_strn: "(0x0; 0xff)" (the kernel prints 0 as 0x0). */
export function formatTnum(a: Tnum): string {
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}

/** The kernel's tnum_sbin: 64 characters of 0, 1 and x, most significant first. */
export function formatTnumBits(a: Tnum): string {
  let out = '';
  for (let i = 63n; i >= 0n; i--) out += (a.mask >> i) & 1n ? 'x' : (a.value >> i) & 1n ? '1' : '0';
  return out;
}
