// The scalar domain: ALU transfer functions, movsx, branch decisions and branch refinement are sound against a reference evaluator of the eBPF ISA (fast-check), plus the kernel's own outputs for known cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AluOp,
  type JmpOp,
  type Scalar,
  formatScalar,
  scalarAlu,
  scalarBranchTaken,
  scalarBswap,
  scalarForkSignMask,
  scalarLinkedAdd,
  scalarPtrAdd,
  scalarPtrSub,
  scalarConst,
  scalarConst32,
  scalarContains,
  scalarFromBounds,
  scalarFromParts,
  scalarLoad,
  scalarLoadSx,
  scalarMovsx,
  scalarRefine,
  scalarSync,
  scalarSyncRounds,
  scalarTruncate,
  scalarUnknown,
  scalarWithin,
  scalarZext32,
} from '../../src/ebpf/verifier/scalar.js';
import { scalarAluInsn, scalarCondInsn } from '../../src/ebpf/verifier/scalar-insn.js';
import { type Insn, vm } from '../../src/ebpf/index.js';

const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
const bigU = (bits: number): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const RUNS = 2000;

/** The eBPF ISA's ALU (RFC 9669), written independently of the VM: `is64` false works on the low halves and zero-extends. */
function alu(op: AluOp, a: bigint, b: bigint, is64: boolean): bigint {
  if (!is64) {
    const x = u32(a), y = u32(b);
    switch (op) {
      case 'add': return u32(x + y);
      case 'sub': return u32(x - y);
      case 'mul': return u32(x * y);
      case 'div': return y === 0n ? 0n : x / y;
      case 'sdiv': return y === 0n ? 0n : u32(s32(x) / s32(y));
      case 'mod': return y === 0n ? x : x % y;
      case 'smod': return y === 0n ? x : u32(s32(x) % s32(y));
      case 'or': return x | y;
      case 'and': return x & y;
      case 'xor': return x ^ y;
      case 'lsh': return u32(x << (y & 31n));
      case 'rsh': return x >> (y & 31n);
      case 'arsh': return u32(s32(x) >> (y & 31n));
      case 'neg': return u32(-x);
      default: return y; // mov
    }
  }
  switch (op) {
    case 'add': return u64(a + b);
    case 'sub': return u64(a - b);
    case 'mul': return u64(a * b);
    case 'div': return b === 0n ? 0n : a / b;
    case 'sdiv': return b === 0n ? 0n : u64(s64(a) / s64(b));
    case 'mod': return b === 0n ? a : a % b;
    case 'smod': return b === 0n ? a : u64(s64(a) % s64(b));
    case 'or': return a | b;
    case 'and': return a & b;
    case 'xor': return a ^ b;
    case 'lsh': return u64(a << (b & 63n));
    case 'rsh': return a >> (b & 63n);
    case 'arsh': return u64(s64(a) >> (b & 63n));
    case 'neg': return u64(-a);
    default: return b;
  }
}

function cond(op: JmpOp, a: bigint, b: bigint, is32: boolean): boolean {
  const x = is32 ? u32(a) : a, y = is32 ? u32(b) : b;
  const sx = is32 ? s32(a) : s64(a), sy = is32 ? s32(b) : s64(b);
  switch (op) {
    case 'jeq': return x === y;
    case 'jne': return x !== y;
    case 'jgt': return x > y;
    case 'jge': return x >= y;
    case 'jlt': return x < y;
    case 'jle': return x <= y;
    case 'jsgt': return sx > sy;
    case 'jsge': return sx >= sy;
    case 'jslt': return sx < sy;
    case 'jsle': return sx <= sy;
    default: return (x & y) !== 0n;
  }
}

const ALU_OPS: AluOp[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'neg', 'mov'];
const JMP_OPS: JmpOp[] = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset'];

/** A concrete word biased to edges: small, byte, word, near the sign bits, anything. */
const wordArb = fc.oneof(
  bigU(64), bigU(8), bigU(16), bigU(32), fc.integer({ min: 0, max: 70 }).map(BigInt),
  fc.bigInt({ min: -300n, max: 300n }).map(u64),
  fc.bigInt({ min: -300n, max: 300n }).map((d) => u64((1n << 63n) + d)),
  fc.bigInt({ min: -300n, max: 300n }).map((d) => u64((1n << 31n) + d)),
  fc.bigInt({ min: -300n, max: 300n }).map((d) => u64((1n << 32n) + d)),
);
const deltaArb = fc.oneof(fc.constant(0n), bigU(4), bigU(8), bigU(16), bigU(33), bigU(64));

interface Member { s: Scalar; x: bigint }

/** A base scalar holding `x`: constant, unsigned, signed or 32-bit ranges around it, known bits, loads. */
const baseArb: fc.Arbitrary<Member> = fc.tuple(wordArb, fc.integer({ min: 0, max: 9 }), deltaArb, deltaArb, bigU(64)).map(([x, kind, d1, d2, m]) => {
  switch (kind) {
    case 0: return { s: scalarConst(x), x };
    case 1: {
      const lo = x - d1 < 0n ? 0n : x - d1, hi = x + d2 > (1n << 64n) - 1n ? (1n << 64n) - 1n : x + d2;
      return { s: scalarFromBounds(lo, hi), x };
    }
    case 2: {
      const v = s64(x);
      const lo = v - d1 < -(1n << 63n) ? -(1n << 63n) : v - d1, hi = v + d2 >= 1n << 63n ? (1n << 63n) - 1n : v + d2;
      return { s: scalarFromParts({ smin: lo, smax: hi }), x };
    }
    case 3: return { s: scalarFromParts({ var: { value: x & ~m, mask: m } }), x };
    case 4: {
      const v = u32(x);
      const lo = v - d1 < 0n ? 0n : v - d1, hi = v + d2 > 0xffffffffn ? 0xffffffffn : v + d2;
      return { s: scalarFromParts({ u32min: Number(lo), u32max: Number(hi) }), x };
    }
    case 5: {
      const v = s32(x);
      const lo = v - d1 < -(1n << 31n) ? -(1n << 31n) : v - d1, hi = v + d2 >= 1n << 31n ? (1n << 31n) - 1n : v + d2;
      return { s: scalarFromParts({ s32min: Number(lo), s32max: Number(hi) }), x };
    }
    case 6: return { s: scalarLoad(1), x: x & 0xffn };
    case 7: return { s: scalarLoadSx(2), x: u64(BigInt.asIntN(16, x)) };
    case 8: return { s: scalarConst32(x), x: u32(x) };
    default: return { s: scalarUnknown(), x };
  }
});

/** A member built by a short chain of ALU ops and branch refinements from base members (so it has the shapes the verifier makes). */
const memberArb: fc.Arbitrary<Member> = fc.tuple(
  baseArb,
  fc.array(fc.tuple(fc.constantFrom(...ALU_OPS, ...JMP_OPS), baseArb, fc.boolean()), { maxLength: 3 }),
).map(([base, steps]) => {
  let cur = base;
  for (const [op, other, wide] of steps) {
    if ((JMP_OPS as string[]).includes(op)) {
      const j = op as JmpOp;
      const taken = cond(j, cur.x, other.x, !wide);
      const r = scalarRefine(j, cur.s, other.s, !wide, taken);
      if (r === undefined) throw new Error(`refine said impossible for ${op}`);
      cur = { s: r.dst, x: cur.x };
    } else {
      cur = { s: scalarAlu(op as AluOp, cur.s, other.s, wide), x: alu(op as AluOp, cur.x, other.x, wide) };
    }
  }
  return cur;
});

function expectMember(m: Member, what: () => string): void {
  if (!scalarContains(m.s, m.x)) expect.fail(`${what()}: 0x${m.x.toString(16)} not in ${formatScalar(m.s)} (${JSON.stringify(m.s, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))})`);
}

describe('every generated member is inside its scalar', () => {
  it('bases and op chains (the generator itself is a soundness check of chains)', () => {
    let n = 0;
    fc.assert(fc.property(memberArb, (m) => {
      expectMember(m, () => 'member');
      expectMember({ s: scalarSync(m.s), x: m.x }, () => 'sync');
      n++;
    }), { numRuns: RUNS });
    expect(n).toBe(RUNS);
  });
});

describe('ALU transfer functions are sound', () => {
  for (const op of ALU_OPS) {
    for (const is64 of [true, false]) {
      it(`${op}${is64 ? '64' : '32'}`, () => {
        let n = 0;
        fc.assert(fc.property(memberArb, memberArb, (a, b) => {
          const r = scalarAlu(op, a.s, b.s, is64);
          expectMember({ s: r, x: alu(op, a.x, b.x, is64) }, () => `${op}${is64 ? 64 : 32} ${formatScalar(a.s)} (${a.x}), ${formatScalar(b.s)} (${b.x})`);
          n++;
        }), { numRuns: RUNS });
        expect(n).toBe(RUNS);
      });
    }
  }

  it('shifts by known in-range amounts (the only shifts tracked precisely)', () => {
    fc.assert(fc.property(memberArb, fc.integer({ min: 0, max: 63 }), fc.constantFrom<AluOp>('lsh', 'rsh', 'arsh'), fc.boolean(), (a, k, op, is64) => {
      const amt = BigInt(is64 ? k : k & 31);
      const r = scalarAlu(op, a.s, scalarConst(amt), is64);
      expectMember({ s: r, x: alu(op, a.x, amt, is64) }, () => `${op}${is64 ? 64 : 32} ${formatScalar(a.s)} by ${amt}`);
    }), { numRuns: RUNS * 3 });
  });

  it('movsx, zero extension and truncation', () => {
    fc.assert(fc.property(memberArb, fc.constantFrom<8 | 16 | 32>(8, 16, 32), fc.boolean(), (a, bits, is64) => {
      const sx = BigInt.asIntN(bits, a.x);
      if (is64) expectMember({ s: scalarMovsx(a.s, bits, true), x: u64(sx) }, () => `movsx64 s${bits} ${formatScalar(a.s)}`);
      else if (bits !== 32) expectMember({ s: scalarMovsx(a.s, bits, false), x: u32(sx) }, () => `movsx32 s${bits} ${formatScalar(a.s)}`);
      expectMember({ s: scalarZext32(a.s), x: u32(a.x) }, () => `zext ${formatScalar(a.s)}`);
      for (const bytes of [1, 2, 4] as const) expectMember({ s: scalarTruncate(a.s, bytes), x: BigInt.asUintN(bytes * 8, a.x) }, () => `truncate ${bytes} ${formatScalar(a.s)}`);
    }), { numRuns: RUNS * 2 });
  });
});

describe('byte swaps and the sign-mask fork are sound', () => {
  const swap = (x: bigint, bits: number): bigint => {
    let out = 0n;
    for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  it('le/be/bswap of every width (little-endian host)', () => {
    fc.assert(fc.property(memberArb, fc.constantFrom<16 | 32 | 64>(16, 32, 64), fc.constantFrom<boolean | 'always'>(false, true, 'always'), (a, bits, kind) => {
      const want = kind === false ? BigInt.asUintN(bits, a.x) : swap(a.x, bits);
      expectMember({ s: scalarBswap(a.s, bits, kind), x: want }, () => `${kind === false ? 'le' : kind === true ? 'be' : 'bswap'}${bits} ${formatScalar(a.s)}`);
    }), { numRuns: RUNS * 2 });
  });

  it('a [-1, 0] register split before and/or: every value is in one half', () => {
    let forks = 0;
    const signMask = fc.tuple(memberArb, fc.boolean()).map(([m, is64]) => ({
      s: scalarAlu('arsh', m.s, scalarConst(is64 ? 63n : 31n), is64),
      x: alu('arsh', m.x, is64 ? 63n : 31n, is64),
    }));
    fc.assert(fc.property(signMask, (m) => {
      const f = scalarForkSignMask(m.s);
      if (f === undefined) return;
      forks++;
      if (!scalarContains(f.current, m.x) && !scalarContains(f.pushed, m.x)) expect.fail(`0x${m.x.toString(16)} in neither half of ${formatScalar(m.s)}`);
    }), { numRuns: RUNS });
    expect(forks).toBeGreaterThan(RUNS / 4);
  });
});

describe('pointer offsets and linked registers are sound', () => {
  it('ptr + off and ptr - off hold every concrete sum and difference', () => {
    fc.assert(fc.property(memberArb, memberArb, (p, o) => {
      expectMember({ s: scalarPtrAdd(p.s, o.s), x: u64(p.x + o.x) }, () => `ptr ${formatScalar(p.s)} + ${formatScalar(o.s)}`);
      expectMember({ s: scalarPtrSub(p.s, o.s), x: u64(p.x - o.x) }, () => `ptr ${formatScalar(p.s)} - ${formatScalar(o.s)}`);
    }), { numRuns: RUNS });
  });

  it('a linked register is the known one plus its delta', () => {
    fc.assert(fc.property(memberArb, fc.bigInt({ min: -(1n << 31n), max: (1n << 31n) - 1n }), (k, d) => {
      expectMember({ s: scalarLinkedAdd(k.s, d), x: u64(k.x + d) }, () => `${formatScalar(k.s)} + ${d}`);
    }), { numRuns: RUNS });
  });
});

describe('branches are sound', () => {
  for (const op of JMP_OPS) {
    it(`${op}: a known outcome is the concrete one; the edge taken keeps both operands`, () => {
      let n = 0, decided = 0;
      fc.assert(fc.property(memberArb, memberArb, fc.boolean(), (a, b, is32) => {
        const taken = cond(op, a.x, b.x, is32);
        const pred = scalarBranchTaken(op, a.s, b.s, is32);
        const ctx = (): string => `${op}${is32 ? '32' : ''} ${formatScalar(a.s)} (0x${a.x.toString(16)}), ${formatScalar(b.s)} (0x${b.x.toString(16)})`;
        if (pred !== undefined) {
          decided++;
          if (pred !== taken) expect.fail(`${ctx()}: predicted ${pred}, concrete ${taken}`);
        }
        const r = scalarRefine(op, a.s, b.s, is32, taken);
        if (r === undefined) expect.fail(`${ctx()}: edge ${taken} called impossible`);
        expectMember({ s: r.dst, x: a.x }, () => `${ctx()} edge ${taken} dst`);
        expectMember({ s: r.src, x: b.x }, () => `${ctx()} edge ${taken} src`);
        // The other edge, when the kernel calls it impossible, really is.
        if (scalarRefine(op, a.s, b.s, is32, !taken) === undefined) expect(pred).toBe(taken);
        n++;
      }), { numRuns: RUNS });
      expect(n).toBe(RUNS);
      // The generator reaches decided branches, not only undecided ones.
      expect(decided).toBeGreaterThan(0);
    });
  }

  it('same-register comparisons: a known outcome is the concrete one; the edge taken keeps the value', () => {
    fc.assert(fc.property(memberArb, fc.constantFrom(...JMP_OPS), fc.boolean(), (a, op, is32) => {
      const taken = cond(op, a.x, a.x, is32);
      const pred = scalarBranchTaken(op, a.s, a.s, is32);
      if (pred !== undefined) expect(pred).toBe(taken);
      const r = scalarRefine(op, a.s, a.s, is32, taken, true);
      if (r === undefined) expect.fail(`${op} ${formatScalar(a.s)} against itself: edge ${taken} called impossible`);
      expectMember({ s: r.dst, x: a.x }, () => `${op}${is32 ? '32' : ''} ${formatScalar(a.s)} against itself, edge ${taken}`);
      expect(r.src).toBe(r.dst);
    }), { numRuns: RUNS });
  });
});

describe('reg_bounds_sync shortcuts', () => {
  // sync skips its rounds for constants and for (0; M) ranges already bounded by [0, M]: each must be what the rounds give.
  const fields = (x: Scalar): bigint[] => [x.var.value, x.var.mask, x.umin, x.umax, x.smin, x.smax, BigInt(x.u32min), BigInt(x.u32max), BigInt(x.s32min), BigInt(x.s32max)];
  const range = (m: bigint): Scalar => scalarFromParts({
    var: { value: 0n, mask: m }, umin: 0n, umax: m, smin: 0n, smax: m,
    u32min: 0, u32max: m < 0x80000000n ? Number(m) : 0xffffffff, s32min: m < 0x80000000n ? 0 : -0x80000000, s32max: m < 0x80000000n ? Number(m) : 0x7fffffff,
  });
  it('(0; 2^k - 1) for every k below 64 and any mask below 2^31 are fixed points of the full rounds', () => {
    const masks = [...Array.from({ length: 63 }, (_, k) => (1n << BigInt(k + 1)) - 1n), 0xff00n, 0xff0000n, 0x7f000000n, 0x5a5a5n];
    for (const m of masks) {
      const s = range(m);
      expect(fields(scalarSyncRounds(s)), `(0; 0x${m.toString(16)})`).toEqual(fields(s));
      expect(fields(scalarSync(s))).toEqual(fields(s));
    }
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 0x7fffffffn }), (m) => {
      const s = range(m);
      expect(fields(scalarSyncRounds(s))).toEqual(fields(scalarSync(s)));
    }), { numRuns: RUNS });
  });
  it('any scalar syncs as the full rounds do (constants included)', () => {
    fc.assert(fc.property(memberArb, (a) => {
      expect(fields(scalarSync(a.s))).toEqual(fields(scalarSyncRounds(a.s)));
    }), { numRuns: RUNS });
  });
  // Registers as the transfer functions leave them before their sync: any tnum, bounds unrelated to it or to
  // each other, and often the shapes the shortcuts take (constants, (0; M) ranges, four equal ranges below 2^31).
  const small = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0x7fffff00, max: 0x7fffffff }));
  const tnumArb = fc.tuple(wordArb, fc.oneof(bigU(64), bigU(8), bigU(16), bigU(31), bigU(32), fc.constant(0n), fc.integer({ min: 0, max: 63 }).map((k) => (1n << BigInt(k)) - 1n)))
    .map(([v, m]) => ({ value: v & ~m, mask: m }));
  const rawArb: fc.Arbitrary<Scalar> = fc.oneof(
    // The four ranges one [a, b] below 2^31 (a > b too, as after a dead branch).
    fc.tuple(tnumArb, small, small, fc.boolean()).map(([t, a, b, ordered]): Scalar => {
      const [lo, hi] = ordered && a > b ? [b, a] : [a, b];
      return { var: t, umin: BigInt(lo), umax: BigInt(hi), smin: BigInt(lo), smax: BigInt(hi), u32min: lo, u32max: hi, s32min: lo, s32max: hi };
    }),
    // A constant tnum with bounds that hold it or not.
    fc.tuple(wordArb, deltaArb, deltaArb).map(([x, d1, d2]): Scalar => {
      const c = scalarConst(x);
      return { ...c, umin: c.umin - d1 < 0n ? 0n : c.umin - d1, umax: c.umax + d2 > (1n << 64n) - 1n ? c.umax : c.umax + d2 };
    }),
    // (0; M) with bounds [0, M] in 64 bits and anything in 32.
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.boolean()).map(([k, full]): Scalar => {
      const m = (1n << BigInt(k)) - 1n;
      const lo = Number(m & 0xffffffffn);
      return { var: { value: 0n, mask: m }, umin: 0n, umax: m, smin: 0n, smax: m, u32min: 0, u32max: full ? 0xffffffff : lo, s32min: full ? -0x80000000 : 0, s32max: full ? 0x7fffffff : lo | 0 };
    }),
    // Nothing known, or nearly: one bound moved, or a single value left in an unknown tnum.
    fc.tuple(fc.integer({ min: 0, max: 8 }), wordArb, deltaArb).map(([which, x, d]): Scalar => {
      const u = scalarUnknown();
      switch (which) {
        case 0: return u;
        case 1: return { ...u, umin: x };
        case 2: return { ...u, umax: x };
        case 3: return { ...u, umin: x, umax: x + d > (1n << 64n) - 1n ? x : x + d };
        case 4: return { ...u, umin: x, umax: x };
        case 5: return { ...u, smin: s64(x) };
        case 6: return { ...u, u32min: Number(x & 0xffffffffn) };
        case 7: return { ...u, umin: (1n << 64n) - 1n, umax: x };
        default: return { ...u, s32max: Number(s32(x)) };
      }
    }),
    // Anything (each pair ordered or not).
    fc.tuple(tnumArb, wordArb, wordArb, wordArb, wordArb, bigU(32), bigU(32), bigU(32), bigU(32)).map(([t, a, b, c, d, e, f, g, h]): Scalar => ({
      var: t, umin: a, umax: b, smin: s64(c), smax: s64(d), u32min: Number(e), u32max: Number(f), s32min: Number(s32(g)), s32max: Number(s32(h)),
    })),
  );
  it('raw registers (the shapes of each shortcut, and any other) sync as the full rounds do', () => {
    fc.assert(fc.property(rawArb, (r) => {
      expect(fields(scalarSync(r))).toEqual(fields(scalarSyncRounds(r)));
    }), { numRuns: RUNS * 5 });
  });
});

describe('pruning: within means inclusion', () => {
  it('a member of the current scalar is a member of an old scalar that covers it', () => {
    let within = 0;
    fc.assert(fc.property(memberArb, memberArb, (a, b) => {
      if (scalarWithin(a.s, b.s)) {
        within++;
        expectMember({ s: a.s, x: b.x }, () => `within ${formatScalar(a.s)} ⊇ ${formatScalar(b.s)}`);
      }
      expect(scalarWithin(scalarUnknown(), b.s)).toBe(true);
      expect(scalarWithin(b.s, b.s)).toBe(true);
    }), { numRuns: RUNS });
    expect(within).toBeGreaterThan(0);
  });
});

describe('the kernel\'s outputs for known cases (Linux 6.18 verifier log)', () => {
  const byte = scalarLoad(1);
  it('prints as print_reg_state', () => {
    expect(formatScalar(byte)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))');
    expect(formatScalar(scalarUnknown())).toBe('scalar()');
    expect(formatScalar(scalarConst(5n))).toBe('5');
    expect(formatScalar(scalarConst(5n), { precise: true })).toBe('P5');
    expect(formatScalar(scalarConst(-1n))).toBe('-1');
    expect(formatScalar(scalarConst(0x10000n))).toBe('0x10000');
    expect(formatScalar(scalarLoad(4))).toBe('scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))');
    expect(formatScalar(scalarLoadSx(1))).toBe('scalar(smin=smin32=-128,smax=smax32=127)');
  });

  it('bounds after typical ops', () => {
    const masked = scalarAlu('and', scalarUnknown(), scalarConst(0xf0n), true);
    expect(formatScalar(masked)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=240,var_off=(0x0; 0xf0))');
    const plus = scalarAlu('add', byte, scalarConst(16n), true);
    expect(formatScalar(plus)).toBe('scalar(smin=umin=smin32=umin32=16,smax=umax=smax32=umax32=271,var_off=(0x0; 0x1ff))');
    const shifted = scalarAlu('lsh', byte, scalarConst(3n), true);
    expect(formatScalar(shifted)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=2040,var_off=(0x0; 0x7f8))');
    const r = scalarRefine('jgt', scalarUnknown(), scalarConst(10n), false, false)!;
    expect(formatScalar(r.dst)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))');
    expect(scalarBranchTaken('jgt', byte, scalarConst(255n), false)).toBe(false);
    // Known bits disagree (tnum_overlap, Linux 6.18): never equal although 3 is inside the ranges.
    expect(scalarBranchTaken('jeq', masked, scalarConst(3n), false)).toBe(false);
    expect(scalarBranchTaken('jeq', masked, scalarConst(16n), false)).toBeUndefined();
  });
});

/** Runs one instruction in bpfkit's interpreter with r6 = a, r7 = b and returns r6 (or 1/0 for a jump taken/not). */
function runInsn(insn: Insn, a: bigint, b: bigint): bigint {
  const isJmp = (insn.code & 0x07) === 0x05 || (insn.code & 0x07) === 0x06;
  const insns: Insn[] = [
    { code: 0x18, dst: 6, src: 0, off: 0, imm: Number(BigInt.asIntN(32, a)), imm64: a },
    { code: 0x18, dst: 7, src: 0, off: 0, imm: Number(BigInt.asIntN(32, b)), imm64: b },
    isJmp ? { ...insn, off: 2 } : insn,
    ...(isJmp ? [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 }] : [{ code: 0xbf, dst: 0, src: 6, off: 0, imm: 0 }]),
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const p = vm.load({ name: 'scalar_insn', type: 1, license: 'GPL', insns }, { verify: false, engine: 'interp' });
  return p.run({ data: new Uint8Array(64) }).r0;
}

/** Valid ALU/ALU64 and JMP/JMP32 encodings on r6 (dst) and r7 (src), K or X. */
const insnArb: fc.Arbitrary<Insn> = fc.oneof(
  fc.tuple(fc.constantFrom(0x04, 0x07), fc.constantFrom(0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0), fc.boolean(), fc.constantFrom(0, 0, 1), fc.integer({ min: -0x80000000, max: 0x7fffffff }))
    .map(([cls, op, x, signed, imm]): Insn => {
      const shift = op === 0x60 || op === 0x70 || op === 0xc0;
      const useX = x && op !== 0x80;
      let k = op === 0x80 ? 0 : shift ? ((imm % 64) + 64) % (cls === 0x07 ? 64 : 32) : imm;
      if ((op === 0x30 || op === 0x90) && k === 0) k = 7;
      return { code: cls | op | (useX ? 0x08 : 0), dst: 6, src: useX ? 7 : 0, off: (op === 0x30 || op === 0x90) && signed ? 1 : 0, imm: useX ? 0 : k };
    }),
  fc.tuple(fc.constantFrom(0x04, 0x07), fc.constantFrom(8, 16, 32)).map(([cls, bits]): Insn => ({ code: cls | 0xb8, dst: 6, src: 7, off: cls === 0x04 && bits === 32 ? 16 : bits, imm: 0 })),
  fc.tuple(fc.constantFrom(0xd4, 0xdc, 0xd7), fc.constantFrom(16, 32, 64)).map(([code, bits]): Insn => ({ code, dst: 6, src: 0, off: 0, imm: bits })),
  fc.tuple(fc.constantFrom(0x05, 0x06), fc.constantFrom(0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0), fc.boolean(), fc.integer({ min: -0x80000000, max: 0x7fffffff }))
    .map(([cls, op, x, imm]): Insn => ({ code: cls | op | (x ? 0x08 : 0), dst: 6, src: x ? 7 : 0, off: 0, imm: x ? 0 : imm })),
);

describe('per-instruction steps (scalar-insn.ts) are sound against bpfkit\'s interpreter', () => {
  it('the harness runs the instruction it is given', () => {
    expect(runInsn({ code: 0x07, dst: 6, src: 0, off: 0, imm: 5 }, 3n, 0n)).toBe(8n);
    expect(runInsn({ code: 0x3c, dst: 6, src: 7, off: 1, imm: 0 }, u64(-9n), 2n)).toBe(u32(-4n));
    expect(runInsn({ code: 0x2d, dst: 6, src: 7, off: 0, imm: 0 }, 5n, 4n)).toBe(1n);
    expect(runInsn({ code: 0x2d, dst: 6, src: 7, off: 0, imm: 0 }, 4n, 5n)).toBe(0n);
  });

  it('the interpreter\'s result of each instruction lies in the step\'s result (the redo state included)', () => {
    let n = 0;
    fc.assert(fc.property(insnArb, memberArb, memberArb, (insn, a, b) => {
      const got = runInsn(insn, a.x, b.x);
      const what = (): string => `insn 0x${insn.code.toString(16)} off=${insn.off} imm=${insn.imm} on ${formatScalar(a.s)} (0x${a.x.toString(16)}), ${formatScalar(b.s)} (0x${b.x.toString(16)})`;
      const cls = insn.code & 0x07;
      if (cls === 0x05 || cls === 0x06) {
        const step = scalarCondInsn(insn, a.s, b.s);
        const taken = got === 1n;
        if (step.taken !== undefined && step.taken !== taken) expect.fail(`${what()}: predicted ${step.taken}, ran ${taken}`);
        const edge = taken ? step.jump : step.fall;
        if (!edge) expect.fail(`${what()}: edge ${taken} called impossible`);
        expectMember({ s: edge.dst, x: a.x }, what);
        if (insn.code & 0x08) expectMember({ s: edge.src, x: b.x }, what);
      } else {
        const step = scalarAluInsn(insn, a.s, b.s);
        if (!scalarContains(step.dst, got) && !(step.redo && scalarContains(scalarAluInsn(insn, step.redo, b.s).dst, got))) {
          expect.fail(`${what()}: ran 0x${got.toString(16)}, step gives ${formatScalar(step.dst)}${step.redo ? ` or redo ${formatScalar(step.redo)}` : ''}`);
        }
      }
      n++;
    }), { numRuns: 1500 });
    expect(n).toBe(1500);
  });
});
