/** The optimizer's passes: what each removes or keeps, purity, termination, and meaning kept on random programs. */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { insn, interpret, parseProgram, type Insn } from '../../src/cbpf/index.js';
import type { Block, Cfg } from '../../src/filter/cfg.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import { emit } from '../../src/filter/emit.js';
import { compileFilter } from '../../src/filter/index.js';
import { deadStores, optimize, optimizeFilter, optimizeWithStats, reorder, simplify, structure, thread, type AbortModel } from '../../src/filter/optimize/index.js';
import { measure, serialize } from '../../src/filter/optimize/graph.js';
import { BpfkitError } from '../../src/util/index.js';

function listing(text: string): Insn[] {
  return parseProgram(text, 'd');
}

/** Optimized under the exact model (every verdict kept, short packets included) unless told otherwise. */
const opt = (p: Insn[], model: AbortModel = 'exact'): Insn[] => emit(optimize(cfgFromProgram(p), { model }));

/** The program with every return made `ret #1`: it returns 0 exactly where the original aborts. */
function abortProbe(p: readonly Insn[]): Insn[] {
  return p.map((i) => ((i.code & 0x07) === 0x06 ? insn(0x06, 1) : i));
}

describe('optimizer passes', () => {
  it('threads a repeated test: the second "ethertype is IPv4" check disappears', () => {
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 7
      (002) ldb      [23]
      (003) jeq      #0x6             jt 4 jf 7
      (004) ldh      [12]
      (005) jeq      #0x800           jt 6 jf 7
      (006) ret      #96
      (007) ret      #0`);
    const q = opt(p);
    expect(q).toHaveLength(6);
    expect(q.filter((i) => i.code === 0x28)).toHaveLength(1);
  });

  it('keeps a dead load that may abort, and drops one already known in range', () => {
    // ld [100] is dead, but on a short packet it makes the filter return 0.
    const p = listing(`
      (000) ld       [100]
      (001) ld       #0x1
      (002) ret`);
    const q = opt(p);
    expect(interpret(q, new Uint8Array(10))).toBe(0);
    expect(interpret(q, new Uint8Array(104))).toBe(1);
    expect(q).toEqual([insn(0x20, 100), insn(0x06, 1)]);
    // After ld [100] succeeded, ldb [50] cannot fail: it goes.
    const r = listing(`
      (000) ld       [100]
      (001) ldb      [50]
      (002) ld       [100]
      (003) ret`);
    expect(opt(r)).toEqual([insn(0x20, 100), insn(0x16)]);
  });

  it("under libpcap's model (tcpdump's) a dead load goes, as libpcap's optimizer drops it", () => {
    const p = listing(`
      (000) ld       [100]
      (001) ld       #0x1
      (002) ret`);
    expect(opt(p, 'libpcap')).toEqual([insn(0x06, 1)]);
  });

  it('drops every statement before a return of 0 and folds constants', () => {
    const p = listing(`
      (000) ld       #0x3
      (001) add      #4
      (002) tax
      (003) ld       #0x7
      (004) jeq      x                jt 5 jf 7
      (005) ld       [200]
      (006) ret      #0
      (007) ret      #1`);
    expect(opt(p)).toEqual([insn(0x06, 0)]);
    expect(() => optimizeFilter(cfgFromProgram(p))).toThrow(expect.objectContaining({ code: 'E_FILTER_REJECTS_ALL', message: 'expression rejects all packets' }));
  });

  it('does not change its input graph, and each pass returns a new graph', () => {
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 5
      (002) ldh      [12]
      (003) jeq      #0x800           jt 4 jf 5
      (004) ret      #1
      (005) ret      #0`);
    const cfg = cfgFromProgram(p);
    const before = serialize(cfg);
    for (const pass of [reorder, simplify, deadStores, thread, structure, optimize]) {
      const out = pass(cfg);
      expect(out.entry).not.toBe(cfg.entry);
      expect(serialize(cfg)).toBe(before);
    }
  });

  it('splits gencode blocks that jump inside their statements before optimizing', () => {
    // One block: ld [0]; jeq #1 +1; ld #2 (skipped when equal); then test A.
    const rej: Block = { id: 3, stmts: [], term: { kind: 'return', code: 0x06, k: 0 } };
    const acc: Block = { id: 2, stmts: [], term: { kind: 'return', code: 0x06, k: 9 } };
    const b: Block = { id: 1, stmts: [insn(0x20, 0), insn(0x15, 1, 1, 0), insn(0x00, 2), insn(0x00, 3)], term: { kind: 'branch', code: 0x15, k: 3, jt: acc, jf: rej } };
    const cfg: Cfg = { entry: b };
    const p = emit(cfg);
    const q = emit(optimize(cfg));
    for (const v of [0, 1, 2, 3]) {
      const pkt = Uint8Array.of(0, 0, 0, v);
      expect(interpret(q, pkt)).toBe(interpret(p, pkt));
    }
  });

  it('regroups an OR chain of tests on two fields only where every load is known in range', () => {
    // host a or host b or host c, IPv4 part: src/dst alternate; [30] may abort until loaded once.
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 15
      (002) ld       [26]
      (003) jeq      #0xa000001       jt 14 jf 4
      (004) ld       [30]
      (005) jeq      #0xa000001       jt 14 jf 6
      (006) ld       [26]
      (007) jeq      #0xa000002       jt 14 jf 8
      (008) ld       [30]
      (009) jeq      #0xa000002       jt 14 jf 10
      (010) ld       [26]
      (011) jeq      #0xa000003       jt 14 jf 12
      (012) ld       [30]
      (013) jeq      #0xa000003       jt 14 jf 15
      (014) ret      #1
      (015) ret      #0`);
    const q = opt(p);
    // ldh, jeq, ld [26], jeq a, ld [30], jeq a, jeq b, jeq c, ld [26], jeq b, jeq c, 2 returns.
    expect(q).toHaveLength(13);
    const pkt = (len: number, src: number, dst: number): Uint8Array => {
      const b = new Uint8Array(34);
      b[12] = 8;
      new DataView(b.buffer).setUint32(26, src);
      new DataView(b.buffer).setUint32(30, dst);
      return b.slice(0, len);
    };
    // Source is host b but the packet stops before the destination: the original rejects.
    for (const len of [29, 30, 32, 33, 34]) for (const [src, dst] of [[0xa000002, 0], [0xa000001, 0], [0, 0xa000003], [0xa000003, 5], [7, 7]]) {
      expect(interpret(q, pkt(len, src, dst)), `len ${len} src ${src} dst ${dst}`).toBe(interpret(p, pkt(len, src, dst)));
    }
    expect(interpret(q, pkt(32, 0xa000002, 0))).toBe(0);
    expect(interpret(q, pkt(30, 0xa000001, 0))).toBe(1);
    // libpcap's model regroups the whole chain, as its or_pullup does: each field is loaded
    // once, and a short packet whose source matches is accepted before [30] is loaded.
    const l = opt(p, 'libpcap');
    expect(l).toHaveLength(12);
    expect(l.filter((i) => i.code === 0x20)).toHaveLength(2);
    for (const [src, dst] of [[0xa000002, 0], [0xa000001, 0], [0, 0xa000003], [0xa000003, 5], [7, 7]]) expect(interpret(l, pkt(34, src, dst))).toBe(interpret(p, pkt(34, src, dst)));
    expect(interpret(l, pkt(32, 0xa000002, 0))).toBe(1);
  });

  it('every round lowers the termination measure', () => {
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 9
      (002) ld       #0x4
      (003) st       M[0]
      (004) ldx      M[0]
      (005) ldh      [x + 14]
      (006) and      #0xfff
      (007) jeq      #0x0             jt 8 jf 9
      (008) ret      #1
      (009) ret      #0`);
    let g = cfgFromProgram(p);
    let m = measure(g);
    for (let i = 0; i < 20; i++) {
      const next = structure(thread(deadStores(simplify(g))));
      if (serialize(next) === serialize(g)) break;
      const nm = measure(next);
      expect(nm.join(',') < m.join(',') || nm.some((x, j) => x !== m[j])).toBe(true);
      g = next;
      m = nm;
    }
    expect(optimizeWithStats(cfgFromProgram(p)).stalled).toBe(false);
  });

  it('reports every stage to a trace callback', () => {
    const stages: string[] = [];
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 5
      (002) ldh      [12]
      (003) jeq      #0x800           jt 4 jf 5
      (004) ret      #1
      (005) ret      #0`);
    const r = optimizeWithStats(cfgFromProgram(p), { trace: (stage, g) => stages.push(`${stage}:${emit(g).length}`) });
    expect(stages[0]).toBe('normalized:6');
    expect(stages).toContain('round 1: simplify:4');
    expect(stages.at(-1)).toMatch(/^round \d+: structure:4$/);
    expect(emit(r.cfg)).toHaveLength(4);
  });
});

/** Random forward-jumping classic BPF programs over a small packet, with all the statement kinds. */
function programArb(): fc.Arbitrary<Insn[]> {
  const stmtArb = fc.oneof(
    fc.tuple(fc.constantFrom(0x20, 0x28, 0x30), fc.oneof(fc.nat(3), fc.nat(24))).map(([c, k]) => insn(c, k)),
    fc.tuple(fc.constantFrom(0x40, 0x48, 0x50), fc.oneof(fc.nat(2), fc.nat(12))).map(([c, k]) => insn(c, k)),
    fc.tuple(fc.constantFrom(0x00, 0x01), fc.constantFrom(0, 1, 2, 4, 6, 0x800, 0xffffffff, 0x80000000)).map(([c, k]) => insn(c, k)),
    fc.constantFrom(insn(0x80), insn(0x81), insn(0xb1, 0), insn(0xb1, 14), insn(0x07), insn(0x87), insn(0x84)),
    fc.tuple(fc.constantFrom(0x02, 0x03, 0x60, 0x61), fc.nat(3)).map(([c, k]) => insn(c, k)),
    fc.tuple(fc.constantFrom(0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x94, 0xa4), fc.constantFrom(1, 2, 3, 4, 8, 0xff, 0xfff, 31)).map(([c, k]) => insn(c, k)),
    fc.constantFrom(0x0c, 0x1c, 0x2c, 0x3c, 0x4c, 0x5c, 0x6c, 0x7c, 0x9c, 0xac).map((c) => insn(c)),
  );
  const jmpArb = fc.tuple(fc.constantFrom(0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d), fc.constantFrom(0, 1, 2, 3, 4, 6, 0x800, 0xff, 0xffffffff), fc.nat(), fc.nat());
  const item = fc.oneof({ arbitrary: stmtArb, weight: 3 }, { arbitrary: jmpArb, weight: 2 }, { arbitrary: fc.tuple(fc.constant('ja'), fc.nat()), weight: 1 }, { arbitrary: fc.tuple(fc.constant('ret'), fc.constantFrom(0, 1, 7, -1)), weight: 1 });
  return fc.array(item, { minLength: 1, maxLength: 40 }).map((items) => {
    const n = items.length + 1;
    const prog: Insn[] = items.map((it, i) => {
      const room = n - 1 - i - 1; // jumps may land anywhere up to the final return
      if (Array.isArray(it) && it[0] === 'ja') return insn(0x05, (it[1] as number) % (room + 1));
      if (Array.isArray(it) && it[0] === 'ret') return (it[1] as number) < 0 ? insn(0x16) : insn(0x06, it[1] as number);
      if (Array.isArray(it)) return insn(it[0] as number, it[1] as number, (it[2] as number) % Math.min(room + 1, 256), (it[3] as number) % Math.min(room + 1, 256));
      return it as Insn;
    });
    prog.push(insn(0x16));
    return prog;
  });
}

/** Packets of random bytes, or of the few byte values the programs compare with (so tests go both ways). */
const packetArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.array(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 8, 0x45, 0xff, 0x80), { maxLength: 40 }).map((a) => Uint8Array.from(a)),
);

/** Filter-shaped programs: chains of "load a field, test it" over few fields and constants, so tests repeat and overlap. */
function filterShapedArb(): fc.Arbitrary<Insn[]> {
  const pair = fc.tuple(fc.constantFrom(0x30, 0x28, 0x50, 0x00), fc.nat(2), fc.constantFrom(0x15, 0x25, 0x35, 0x45), fc.nat(5), fc.nat(), fc.nat(), fc.boolean());
  return fc.array(pair, { minLength: 1, maxLength: 14 }).map((pairs) => {
    const n = pairs.length * 2 + 2;
    const prog: Insn[] = [];
    pairs.forEach(([ld, k, op, c, jt, jf, and]) => {
      const at = prog.length + 1;
      const room = n - 1 - at - 1;
      prog.push(and ? insn(0x54, c) : insn(ld, k));
      prog.push(insn(op, c, jt % (room + 1), jf % (room + 1)));
    });
    prog.push(insn(0x06, 1), insn(0x06, 0));
    return prog;
  });
}

describe('optimizer keeps meaning (property, random programs)', () => {
  it('filter-shaped programs: optimized returns what the original returns', () => {
    fc.assert(
      fc.property(filterShapedArb(), fc.array(fc.array(fc.nat(6), { maxLength: 4 }).map((a) => Uint8Array.from(a)), { minLength: 1, maxLength: 12 }), (p, pkts) => {
        const q = opt(p);
        return pkts.every((pkt) => interpret(q, pkt) === interpret(p, pkt));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });

  it("libpcap's model: wherever neither program aborts, optimized returns what the original returns", () => {
    // Loads are values that are always there, so only packets both programs read in range
    // are compared (a packet the original aborts on may be accepted, and the other way round).
    fc.assert(
      fc.property(fc.oneof(filterShapedArb(), programArb()), fc.array(packetArb, { minLength: 1, maxLength: 12 }), (p, pkts) => {
        let r;
        try {
          r = optimizeWithStats(cfgFromProgram(p), { model: 'libpcap' });
        } catch (e) {
          // As libpcap's, this model refuses a division it finds to be by 0.
          return e instanceof BpfkitError && /by zero/.test(e.message);
        }
        if (r.stalled) return false;
        const q = emit(r.cfg);
        const pp = abortProbe(p);
        const qp = abortProbe(q);
        return pkts.every((pkt) => interpret(pp, pkt) === 0 || interpret(qp, pkt) === 0 || interpret(q, pkt) === interpret(p, pkt));
      }),
      { numRuns: 3000, seed: 13 },
    );
  });

  it('optimized program returns what the original returns on random packets', () => {
    fc.assert(
      fc.property(programArb(), fc.array(packetArb, { minLength: 1, maxLength: 12 }), fc.nat(50), (p, pkts, extra) => {
        const cfg = cfgFromProgram(p);
        const r = optimizeWithStats(cfg, { model: 'exact' });
        if (r.stalled) return false;
        const q = emit(r.cfg);
        for (const pkt of pkts) if (interpret(q, pkt, pkt.length + (extra % 3 === 0 ? extra : 0)) !== interpret(p, pkt, pkt.length + (extra % 3 === 0 ? extra : 0))) return false;
        if (r.rejectsAll) for (const pkt of pkts) if (interpret(p, pkt) !== 0) return false;
        return true;
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});

describe('threading with sets of constants and loads no accepting path survives', () => {
  it('"port 1 or port 2" tests the protocol once per address family, and keeps every verdict', () => {
    const src = compileFilter('port 1 or port 2', { optimize: false }).insns;
    const q = opt(src);
    // ldb [20] (IPv6 next header) and ldb [23] (IPv4 protocol): once each.
    expect(q.filter((i) => i.code === 0x30 && (i.k === 20 || i.k === 23)).map((i) => i.k)).toEqual([20, 23]);
    fc.assert(
      fc.property(fc.constantFrom(0x0800, 0x86dd), fc.constantFrom(6, 17, 132, 1), fc.nat(3), fc.nat(3), fc.integer({ min: 0, max: 80 }), (type, proto, sp, dp, len) => {
        const p = new Uint8Array(80);
        p[12] = type >> 8;
        p[13] = type & 0xff;
        p[14] = 0x45;
        p[20] = proto;
        p[23] = proto;
        p[35] = sp;
        p[37] = dp;
        p[55] = sp;
        p[57] = dp;
        const pkt = p.slice(0, len);
        return interpret(q, pkt, 80) === interpret(src, pkt, 80);
      }),
      { numRuns: 2000, seed: 3 },
    );
  });

  it('skips a test whose outcomes meet again, when its load can only abort packets that every accepting path rejects', () => {
    const p = listing(`
      (000) ldb      [10]
      (001) jeq      #0x1             jt 2 jf 5
      (002) ldb      [11]
      (003) jeq      #0x2             jt 5 jf 4
      (004) ldx      #0x3
      (005) ld       [100]
      (006) jeq      #0x7             jt 7 jf 8
      (007) ret      #1
      (008) ret      #0`);
    const q = opt(p);
    // Both sides of "[11] == 2" reach ld [100] with nothing it reads changed, and a packet too
    // short for ldb [11] is too short for every accepting path: the test and its load go.
    expect(q.some((i) => i.code === 0x30 && i.k === 11)).toBe(false);
    for (const len of [0, 10, 11, 12, 50, 103, 104, 120]) {
      for (const fill of [0, 1, 2, 7]) {
        const pkt = new Uint8Array(len).fill(fill);
        expect(interpret(q, pkt), `length ${len}, bytes ${fill}`).toBe(interpret(p, pkt));
      }
    }
  });

  it('keeps a load whose abort an accepting path could survive', () => {
    const p = listing(`
      (000) ldb      [10]
      (001) jeq      #0x1             jt 2 jf 4
      (002) ldb      [60]
      (003) jeq      #0x2             jt 4 jf 4
      (004) ld       [20]
      (005) jeq      #0x7             jt 6 jf 7
      (006) ret      #1
      (007) ret      #0`);
    const q = opt(p);
    // A 30-byte packet with [10] = 1 and [20] = 7: the original aborts on ldb [60]; so must the optimized program.
    const pkt = new Uint8Array(30);
    pkt[10] = 1;
    pkt.set([0, 0, 0, 7], 20);
    expect(interpret(p, pkt)).toBe(0);
    expect(interpret(q, pkt)).toBe(0);
    pkt[10] = 0;
    expect(interpret(q, pkt)).toBe(1);
  });
});
