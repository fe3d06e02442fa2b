// Tnums: every transfer function is sound (the concrete result of concrete members is a member of the abstract result), checked by fast-check, plus the kernel's known outputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Tnum,
  formatTnum,
  formatTnumBits,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumConst,
  tnumConstSubreg,
  tnumContains,
  tnumIn,
  tnumIntersect,
  tnumIntersectRange32,
  tnumIsAligned,
  tnumIsConst,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumOverlap,
  tnumRange,
  tnumRshift,
  tnumSub,
  tnumStep,
  tnumStep32,
  tnumSubreg,
  tnumClearSubreg,
  tnumUnion,
  tnumUnknown,
  tnumXor,
} from '../../src/ebpf/verifier/tnum.js';

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const RUNS = 3000;
const bigU = (bits: number): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

/** A mask biased to the shapes verifiers meet: low bits unknown, a few scattered bits, or anything. */
const maskArb = fc.oneof(
  fc.constant(0n),
  fc.integer({ min: 0, max: 64 }).map((n) => (1n << BigInt(n)) - 1n),
  fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 63 })).map(([n, s]) => u64(((1n << BigInt(n)) - 1n) << BigInt(s))),
  bigU(64),
  fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 4 }).map((bits) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n)),
);
const wordArb = fc.oneof(bigU(64), bigU(8), bigU(32), fc.bigInt({ min: -300n, max: 300n }).map(u64));

/** A tnum with one of its members (the member's unknown bits drawn at random). */
const memberArb: fc.Arbitrary<{ t: Tnum; x: bigint }> = fc.tuple(wordArb, maskArb, bigU(64)).map(([v, m, r]) => {
  const t = { value: v & ~m & M64, mask: m };
  return { t, x: t.value | (r & m) };
});

function expectIn(t: Tnum, x: bigint, what: string): void {
  if (!tnumContains(t, x)) expect.fail(`${what}: 0x${x.toString(16)} not in ${formatTnum(t)}`);
}

const BINARY: [string, (a: Tnum, b: Tnum) => Tnum, (x: bigint, y: bigint) => bigint][] = [
  ['add', tnumAdd, (x, y) => u64(x + y)],
  ['sub', tnumSub, (x, y) => u64(x - y)],
  ['mul', tnumMul, (x, y) => u64(x * y)],
  ['and', tnumAnd, (x, y) => x & y],
  ['or', tnumOr, (x, y) => x | y],
  ['xor', tnumXor, (x, y) => x ^ y],
];

describe('tnum transfer functions are sound', () => {
  for (const [name, f, concrete] of BINARY) {
    it(`${name}: every pair of members maps into the result`, () => {
      let checked = 0;
      fc.assert(fc.property(memberArb, memberArb, (a, b) => {
        const r = f(a.t, b.t);
        expect(r.value & r.mask).toBe(0n);
        expectIn(r, concrete(a.x, b.x), `${name} ${formatTnum(a.t)} ${formatTnum(b.t)}`);
        checked++;
      }), { numRuns: RUNS });
      expect(checked).toBe(RUNS);
    });
  }

  it('neg, shifts by every amount, casts and subregister views', () => {
    fc.assert(fc.property(memberArb, fc.integer({ min: 0, max: 63 }), ({ t, x }, k) => {
      const K = BigInt(k);
      expectIn(tnumNeg(t), u64(-x), 'neg');
      expectIn(tnumLshift(t, k), u64(x << K), 'lsh');
      expectIn(tnumRshift(t, k), x >> K, 'rsh');
      expectIn(tnumArshift(t, k, 64), u64(BigInt.asIntN(64, x) >> K), 'arsh64');
      if (k < 32) expectIn(tnumArshift(tnumSubreg(t), k, 32), BigInt.asUintN(32, BigInt.asIntN(32, x) >> K), 'arsh32');
      for (const bytes of [1, 2, 4, 8]) expectIn(tnumCast(t, bytes), BigInt.asUintN(bytes * 8, x), `cast ${bytes}`);
      expectIn(tnumSubreg(t), x & 0xffffffffn, 'subreg');
      expectIn(tnumClearSubreg(t), x & ~0xffffffffn & M64, 'clear subreg');
      expectIn(tnumConstSubreg(t, 0x1234n), (x & ~0xffffffffn & M64) | 0x1234n, 'const subreg');
    }), { numRuns: RUNS });
  });

  it('range covers its interval; intersect and union keep common members; in is inclusion', () => {
    fc.assert(fc.property(wordArb, wordArb, bigU(64), memberArb, memberArb, (p, q, r, a, b) => {
      const lo = p < q ? p : q, hi = p < q ? q : p;
      const t = tnumRange(lo, hi);
      expectIn(t, lo, 'range lo');
      expectIn(t, hi, 'range hi');
      expectIn(t, lo + (r % (hi - lo + 1n)), 'range inside');
      expectIn(tnumUnion(a.t, b.t), a.x, 'union a');
      expectIn(tnumUnion(a.t, b.t), b.x, 'union b');
      // A member of both is a member of the intersection.
      const both = { value: a.x & ~b.t.mask & M64, mask: b.t.mask };
      if (tnumContains(b.t, a.x)) expectIn(tnumIntersect(a.t, b.t), a.x, 'intersect');
      expect(tnumIn(a.t, { value: a.x, mask: 0n })).toBe(true);
      expect(tnumIn(tnumUnion(a.t, b.t), a.t)).toBe(true);
      if (tnumIn(a.t, both)) expectIn(a.t, both.value | (r & both.mask), 'in');
    }), { numRuns: RUNS });
  });
});

describe('tnum_step finds the next member', () => {
  it('the result is a member above z with no member strictly between (small masks checked exhaustively)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 0xfffn }), fc.bigInt({ min: 0n, max: 0xfffn }), fc.bigInt({ min: 0n, max: 0x1000n }), (v0, m, z) => {
      const t = { value: v0 & ~m, mask: m };
      const members: bigint[] = [];
      for (let s = m; ; s = (s - 1n) & m) { members.push(t.value | s); if (s === 0n) break; }
      const above = members.filter((x) => x > z).sort((a, b) => (a < b ? -1 : 1));
      const tmax = t.value | t.mask;
      const want = z >= tmax ? tmax : z < t.value ? t.value : above[0];
      expect(tnumStep(t, z)).toBe(want);
    }), { numRuns: RUNS });
  });

  it('works across the full 64 bits', () => {
    fc.assert(fc.property(memberArb, wordArb, ({ t }, z) => {
      const r = tnumStep(t, z);
      expect(tnumContains(t, r)).toBe(true);
      if (z < (t.value | t.mask) && z >= t.value) expect(r > z).toBe(true);
    }), { numRuns: RUNS });
  });
});

describe('the 32-bit number forms agree with the bigint functions', () => {
  const u32Arb = fc.oneof(bigU(32), bigU(8), bigU(16), fc.bigInt({ min: -300n, max: 300n }).map((x) => BigInt.asUintN(32, x)));
  it('tnumStep32 is tnumStep on tnums and points below 2^32', () => {
    fc.assert(fc.property(u32Arb, maskArb.map((m) => m & 0xffffffffn), u32Arb, (v0, m, z) => {
      const t = { value: v0 & ~m, mask: m };
      expect(BigInt(tnumStep32(Number(t.value), Number(m), Number(z)))).toBe(tnumStep(t, z));
    }), { numRuns: RUNS * 3 });
  });

  it('tnumAdd, tnumSub, tnumIntersect, tnumRange and tnumOverlap are the kernel\'s formulas computed in bigints, small operands included', () => {
    const smallArb = fc.tuple(fc.oneof(bigU(8), bigU(16), bigU(30), bigU(31)), fc.oneof(fc.constant(0n), bigU(4), bigU(16), bigU(30), bigU(31)))
      .map(([v, m]) => ({ t: { value: v & ~m, mask: m }, x: v & ~m }));
    const anyArb = fc.oneof(smallArb, memberArb);
    fc.assert(fc.property(anyArb, anyArb, ({ t: a }, { t: b }) => {
      const sm = a.mask + b.mask, sv = a.value + b.value;
      const chi = u64(sm + sv) ^ u64(sv);
      const mu = chi | a.mask | b.mask;
      expect(tnumAdd(a, b)).toEqual({ value: u64(sv) & ~mu & M64, mask: mu });
      const known = ~a.mask & ~b.mask & M64;
      expect(tnumOverlap(a, b)).toBe((a.value & known) === (b.value & known));
      const dv = a.value - b.value;
      const chiSub = u64(dv + a.mask) ^ u64(dv - b.mask);
      const muSub = chiSub | a.mask | b.mask;
      expect(tnumSub(a, b)).toEqual({ value: u64(dv) & ~muSub & M64, mask: muSub });
      const vi = a.value | b.value, mi = a.mask & b.mask;
      expect(tnumIntersect(a, b)).toEqual({ value: vi & ~mi, mask: mi });
      // tnum_range over the two values, in either order.
      const [lo, hi] = [a.value, b.value];
      const x = lo ^ hi, bits = x === 0n ? 0 : x.toString(2).length;
      const delta = (1n << BigInt(bits)) - 1n;
      expect(tnumRange(lo, hi)).toEqual(bits > 63 ? { value: 0n, mask: M64 } : { value: lo & ~delta, mask: delta });
    }), { numRuns: RUNS * 3 });
  });

  it('tnumIntersectRange32 is the intersection with tnumRange (whole tnum, or the low half only), any ends', () => {
    // Ends a little outside u32 as well: inconsistent bounds of dead branches reach it.
    const endArb = fc.oneof(u32Arb.map(Number), fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0xfffffffd, max: 0x100000002 }));
    fc.assert(fc.property(memberArb, endArb, endArb, fc.boolean(), ({ t }, a, b, clearHigh) => {
      const range = tnumRange(BigInt(a), BigInt(b));
      const want = clearHigh ? tnumIntersect(t, range) : tnumOr(tnumClearSubreg(t), tnumIntersect(tnumSubreg(t), range));
      const got = tnumIntersectRange32(t, a, b, clearHigh);
      expect(got).toEqual(want);
      // Unchanged means the same object (the verifier compares tnums by identity to stop its rounds).
      const inU32 = a >= 0 && b >= 0 && a <= 0xffffffff && b <= 0xffffffff;
      if (inU32 && want.value === t.value && want.mask === t.mask) expect(got).toBe(t);
    }), { numRuns: RUNS * 3 });
  });
});

describe('tnums as the kernel computes them', () => {
  it('range, arithmetic and alignment give the kernel\'s values', () => {
    expect(tnumRange(0n, 255n)).toEqual({ value: 0n, mask: 0xffn });
    expect(tnumRange(16n, 20n)).toEqual({ value: 16n, mask: 7n });
    expect(tnumRange(0n, M64)).toEqual(tnumUnknown);
    expect(tnumRange(5n, 5n)).toEqual(tnumConst(5n));
    expect(tnumAdd({ value: 0n, mask: 0xffn }, tnumConst(1n))).toEqual({ value: 0n, mask: 0x1ffn });
    expect(tnumSub(tnumConst(0n), tnumConst(1n))).toEqual(tnumConst(M64));
    // The kernel's comment example: 0b11 * 0bx1 = 0bx0x1.
    expect(tnumMul({ value: 1n, mask: 2n }, tnumConst(3n))).toEqual({ value: 1n, mask: 0b1010n });
    expect(tnumAnd({ value: 0n, mask: M64 }, tnumConst(0xf0n))).toEqual({ value: 0n, mask: 0xf0n });
    expect(tnumIsAligned({ value: 8n, mask: 0xf0n }, 8)).toBe(true);
    expect(tnumIsAligned({ value: 8n, mask: 0xf4n }, 8)).toBe(false);
    expect(tnumIsConst(tnumConst(7n))).toBe(true);
    expect(tnumIntersect({ value: 0n, mask: 0xffn }, tnumConst(3n))).toEqual(tnumConst(3n));
  });

  it('prints as tnum_strn and tnum_sbin', () => {
    expect(formatTnum({ value: 0n, mask: 0xffn })).toBe('(0x0; 0xff)');
    expect(formatTnum(tnumUnknown)).toBe('(0x0; 0xffffffffffffffff)');
    expect(formatTnumBits({ value: 2n, mask: 1n })).toBe(`${'0'.repeat(62)}1x`);
  });
});
