/**
 * Regression tests for libpcap optimizer miscompiles: each input is libpcap's own
 * unoptimized program for the filter of the issue (from `tcpdump -d -O`, 1.10.3), and the
 * optimized program must return the same as it on the packets that exposed the bug and on
 * generated packets.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { interpret, parseProgram, type AuxData, type Insn } from '../../src/cbpf/index.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import { emit } from '../../src/filter/emit.js';
import { optimize, optimizeWithStats } from '../../src/filter/optimize/index.js';

/** Parses a listing written one instruction per line. */
function listing(text: string): Insn[] {
  return parseProgram(text, 'd');
}

function optimized(p: Insn[]): Insn[] {
  return emit(optimize(cfgFromProgram(p)));
}

/** An Ethernet/IPv4/TCP packet with the given TCP source port and IP total-length field. */
function tcpPacket(srcPort: number, ipField4: number, length = 60): Uint8Array {
  const b = new Uint8Array(length);
  b[12] = 0x08;
  b[13] = 0x00;
  b[14] = 0x45;
  b[18] = ipField4 >> 8;
  b[19] = ipField4 & 0xff;
  b[23] = 6;
  b[34] = srcPort >> 8;
  b[35] = srcPort & 0xff;
  return b;
}

/** Same verdict on generated packets (random bytes with the tested fields often set). */
function sameOnRandomPackets(p: Insn[], q: Insn[], aux?: (n: number) => AuxData): void {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.nat(), fc.nat(3), (bytes, n, vlan) => {
      const pkt = bytes.slice();
      if (pkt.length > 13 && n % 2 === 0) {
        const types = [0x0800, 0x8100, 0x88a8, 0x9100, 0x8892];
        pkt[12] = types[n % 5] >> 8;
        pkt[13] = types[n % 5] & 0xff;
        if (pkt.length > 17) {
          pkt[16] = types[(n >> 3) % 5] >> 8;
          pkt[17] = types[(n >> 3) % 5] & 0xff;
        }
      }
      const a = aux?.(vlan);
      return interpret(q, pkt, pkt.length, a) === interpret(p, pkt, pkt.length, a);
    }),
    { numRuns: 2000, seed: 42 },
  );
}

describe('optimizer regressions (libpcap issues)', () => {
  it('#42: tcp[0:2] >= 79 and tcp[0:2] <= 81 keeps both bounds', () => {
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 59
      (002) ldh      [12]
      (003) jeq      #0x800           jt 4 jf 6
      (004) ldb      [23]
      (005) jeq      #0x6             jt 14 jf 6
      (006) ldh      [12]
      (007) jeq      #0x86dd          jt 8 jf 59
      (008) ldb      [20]
      (009) jeq      #0x6             jt 14 jf 10
      (010) ldb      [20]
      (011) jeq      #0x2c            jt 12 jf 59
      (012) ldb      [54]
      (013) jeq      #0x6             jt 14 jf 59
      (014) ldh      [20]
      (015) jset     #0x1fff          jt 59 jf 16
      (016) ld       #0x0
      (017) st       M[0]
      (018) ldxb     4*([14]&0xf)
      (019) ld       M[0]
      (020) add      x
      (021) tax
      (022) ldh      [x + 14]
      (023) st       M[1]
      (024) ld       #0x4f
      (025) st       M[2]
      (026) ldx      M[2]
      (027) ld       M[1]
      (028) jge      x                jt 29 jf 59
      (029) ldh      [12]
      (030) jeq      #0x800           jt 31 jf 59
      (031) ldh      [12]
      (032) jeq      #0x800           jt 33 jf 35
      (033) ldb      [23]
      (034) jeq      #0x6             jt 43 jf 35
      (035) ldh      [12]
      (036) jeq      #0x86dd          jt 37 jf 59
      (037) ldb      [20]
      (038) jeq      #0x6             jt 43 jf 39
      (039) ldb      [20]
      (040) jeq      #0x2c            jt 41 jf 59
      (041) ldb      [54]
      (042) jeq      #0x6             jt 43 jf 59
      (043) ldh      [20]
      (044) jset     #0x1fff          jt 59 jf 45
      (045) ld       #0x0
      (046) st       M[2]
      (047) ldxb     4*([14]&0xf)
      (048) ld       M[2]
      (049) add      x
      (050) tax
      (051) ldh      [x + 14]
      (052) st       M[3]
      (053) ld       #0x51
      (054) st       M[4]
      (055) ldx      M[4]
      (056) ld       M[3]
      (057) jgt      x                jt 59 jf 58
      (058) ret      #1536
      (059) ret      #0`);
    const q = optimized(p);
    expect(q.length).toBeLessThan(p.length);
    for (const port of [78, 79, 80, 81, 82, 0, 0xffff]) {
      const want = port >= 79 && port <= 81 ? 1536 : 0;
      expect(interpret(p, tcpPacket(port, 0)), `port ${port}`).toBe(want);
      expect(interpret(q, tcpPacket(port, 0)), `port ${port}`).toBe(want);
    }
    sameOnRandomPackets(p, q);
  });

  it('#58: ip[4:2] & 0x0fff >= 2140 and ip[4:2] & 0x0fff <= 2147 keeps both bounds', () => {
    const p = listing(`
      (000) ldh      [12]
      (001) jeq      #0x800           jt 2 jf 37
      (002) ld       #0x4
      (003) st       M[0]
      (004) ldx      M[0]
      (005) ldh      [x + 14]
      (006) st       M[1]
      (007) ld       #0xfff
      (008) st       M[2]
      (009) ldx      M[2]
      (010) ld       M[1]
      (011) and      x
      (012) st       M[2]
      (013) ld       #0x85c
      (014) st       M[3]
      (015) ldx      M[3]
      (016) ld       M[2]
      (017) jge      x                jt 18 jf 37
      (018) ldh      [12]
      (019) jeq      #0x800           jt 20 jf 37
      (020) ld       #0x4
      (021) st       M[3]
      (022) ldx      M[3]
      (023) ldh      [x + 14]
      (024) st       M[4]
      (025) ld       #0xfff
      (026) st       M[5]
      (027) ldx      M[5]
      (028) ld       M[4]
      (029) and      x
      (030) st       M[5]
      (031) ld       #0x863
      (032) st       M[6]
      (033) ldx      M[6]
      (034) ld       M[5]
      (035) jgt      x                jt 37 jf 36
      (036) ret      #1536
      (037) ret      #0`);
    const q = optimized(p);
    expect(q.length).toBeLessThan(p.length);
    for (const v of [2139, 2140, 2143, 2147, 2148, 0x1000 | 2145, 0xf000 | 2150]) {
      const want = (v & 0xfff) >= 2140 && (v & 0xfff) <= 2147 ? 1536 : 0;
      expect(interpret(p, tcpPacket(0, v)), `ip[4:2] = ${v}`).toBe(want);
      expect(interpret(q, tcpPacket(0, v)), `ip[4:2] = ${v}`).toBe(want);
    }
    sameOnRandomPackets(p, q);
  });

  it('#434: len >= 2147483648 & 2147483648 or len < 0 | 2147483648 (unsigned constants) is always true', () => {
    const p = listing(`
      (000) ld       #pktlen
      (001) st       M[0]
      (002) ld       #0x80000000
      (003) st       M[1]
      (004) ld       #0x80000000
      (005) st       M[2]
      (006) ldx      M[2]
      (007) ld       M[1]
      (008) and      x
      (009) st       M[2]
      (010) ldx      M[2]
      (011) ld       M[0]
      (012) jge      x                jt 27 jf 13
      (013) ld       #pktlen
      (014) st       M[2]
      (015) ld       #0x0
      (016) st       M[3]
      (017) ld       #0x80000000
      (018) st       M[4]
      (019) ldx      M[4]
      (020) ld       M[3]
      (021) or       x
      (022) st       M[4]
      (023) ldx      M[4]
      (024) ld       M[2]
      (025) jge      x                jt 26 jf 27
      (026) ret      #0
      (027) ret      #1536`);
    const r = optimizeWithStats(cfgFromProgram(p));
    const q = emit(r.cfg);
    for (const len of [0, 66, 1500, 0x7fffffff, 0x80000000, 0xffffffff]) expect(interpret(q, new Uint8Array(0), len), `len ${len}`).toBe(interpret(p, new Uint8Array(0), len));
    // len >= 2^31 or len < 2^31: libpcap's optimized code matched nothing; it matches everything.
    for (const len of [0, 66, 0x80000000]) expect(interpret(p, new Uint8Array(0), len)).toBe(1536);
    expect(q).toEqual([{ code: 0x06, k: 1536, jt: 0, jf: 0 }]);
    expect(r.rejectsAll).toBe(false);
  });

  it('#437: (1 = 0) || (2147483648 / 4294967295 = 0) and (0 & 4294967295 = 0) accepts everything', () => {
    const p = listing(`
      (000) ld       #0x1
      (001) st       M[0]
      (002) ld       #0x0
      (003) st       M[1]
      (004) ldx      M[1]
      (005) ld       M[0]
      (006) sub      x
      (007) jeq      #0x0             jt 22 jf 8
      (008) ld       #0x80000000
      (009) st       M[1]
      (010) ld       #0xffffffff
      (011) st       M[2]
      (012) ldx      M[2]
      (013) ld       M[1]
      (014) div      x
      (015) st       M[2]
      (016) ld       #0x0
      (017) st       M[3]
      (018) ldx      M[3]
      (019) ld       M[2]
      (020) sub      x
      (021) jeq      #0x0             jt 22 jf 37
      (022) ld       #0x0
      (023) st       M[3]
      (024) ld       #0xffffffff
      (025) st       M[4]
      (026) ldx      M[4]
      (027) ld       M[3]
      (028) and      x
      (029) st       M[4]
      (030) ld       #0x0
      (031) st       M[5]
      (032) ldx      M[5]
      (033) ld       M[4]
      (034) sub      x
      (035) jeq      #0x0             jt 36 jf 37
      (036) ret      #1536
      (037) ret      #0`);
    expect(interpret(p, new Uint8Array(10))).toBe(1536);
    // Everything is constant: the whole filter folds to one return.
    expect(optimized(p)).toEqual([{ code: 0x06, k: 1536, jt: 0, jf: 0 }]);
  });

  it('#1699: 1/2 = 1/3 && 1 > 4/5 && 1 > 6/7 (equal constant sub-expressions) accepts everything', () => {
    const p = listing(`
      (000) ld       #0x1
      (001) st       M[0]
      (002) ld       #0x2
      (003) st       M[1]
      (004) ldx      M[1]
      (005) ld       M[0]
      (006) div      x
      (007) st       M[1]
      (008) ld       #0x1
      (009) st       M[2]
      (010) ld       #0x3
      (011) st       M[3]
      (012) ldx      M[3]
      (013) ld       M[2]
      (014) div      x
      (015) st       M[3]
      (016) ldx      M[3]
      (017) ld       M[1]
      (018) sub      x
      (019) jeq      #0x0             jt 20 jf 47
      (020) ld       #0x1
      (021) st       M[3]
      (022) ld       #0x4
      (023) st       M[4]
      (024) ld       #0x5
      (025) st       M[5]
      (026) ldx      M[5]
      (027) ld       M[4]
      (028) div      x
      (029) st       M[5]
      (030) ldx      M[5]
      (031) ld       M[3]
      (032) jgt      x                jt 33 jf 47
      (033) ld       #0x1
      (034) st       M[5]
      (035) ld       #0x6
      (036) st       M[6]
      (037) ld       #0x7
      (038) st       M[7]
      (039) ldx      M[7]
      (040) ld       M[6]
      (041) div      x
      (042) st       M[7]
      (043) ldx      M[7]
      (044) ld       M[5]
      (045) jgt      x                jt 46 jf 47
      (046) ret      #1536
      (047) ret      #0`);
    expect(interpret(p, new Uint8Array(0))).toBe(1536);
    expect(optimized(p)).toEqual([{ code: 0x06, k: 1536, jt: 0, jf: 0 }]);
  });

  it('jset #0xffffffff (#1698): link[0:1] & 0xffffffff != 0 tests "byte != 0", not "always"', () => {
    const p = listing(`
      (000) ld       #0x0
      (001) st       M[0]
      (002) ldx      M[0]
      (003) ldb      [x + 0]
      (004) st       M[1]
      (005) ld       #0xffffffff
      (006) st       M[2]
      (007) ldx      M[2]
      (008) ld       M[1]
      (009) and      x
      (010) st       M[2]
      (011) ld       #0x0
      (012) st       M[3]
      (013) ldx      M[3]
      (014) ld       M[2]
      (015) sub      x
      (016) jeq      #0x0             jt 17 jf 18
      (017) ret      #0
      (018) ret      #65535`);
    const q = optimized(p);
    expect(q.length).toBe(4);
    expect(interpret(q, Uint8Array.of(0))).toBe(0);
    expect(interpret(q, Uint8Array.of(1))).toBe(65535);
    expect(interpret(q, Uint8Array.of(0x80))).toBe(65535);
    expect(interpret(q, new Uint8Array(0))).toBe(0);
    // The same test written directly as a jset.
    const j = listing(`
      (000) ldb      [0]
      (001) jset     #0xffffffff      jt 2 jf 3
      (002) ret      #1
      (003) ret      #0`);
    const jq = optimized(j);
    for (const b of [0, 1, 0xff]) expect(interpret(jq, Uint8Array.of(b))).toBe(b !== 0 ? 1 : 0);
  });

  it('#581: vlan and vlan with Linux extensions keeps the M[1] offset stores the later blocks read', () => {
    const p = listing(`
      (000) ld       #0x0
      (001) st       M[0]
      (002) st       M[1]
      (003) ldb      [vlanp]
      (004) jeq      #0x1             jt 17 jf 5
      (005) ld       M[0]
      (006) add      #4
      (007) st       M[0]
      (008) ld       M[1]
      (009) add      #4
      (010) st       M[1]
      (011) ldh      [12]
      (012) jeq      #0x8100          jt 17 jf 13
      (013) ldh      [12]
      (014) jeq      #0x88a8          jt 17 jf 15
      (015) ldh      [12]
      (016) jeq      #0x9100          jt 17 jf 27
      (017) ldx      M[1]
      (018) ldh      [x + 12]
      (019) jeq      #0x8100          jt 26 jf 20
      (020) ldx      M[1]
      (021) ldh      [x + 12]
      (022) jeq      #0x88a8          jt 26 jf 23
      (023) ldx      M[1]
      (024) ldh      [x + 12]
      (025) jeq      #0x9100          jt 26 jf 27
      (026) ret      #262144
      (027) ret      #0`);
    const q = optimized(p);
    // Double-tagged in the packet: outer tag at [12], inner at [16].
    const pkt = new Uint8Array(40);
    pkt.set([0x81, 0x00], 12);
    pkt.set([0x81, 0x00], 16);
    expect(interpret(p, pkt, 40, { vlanPresent: false })).toBe(262144);
    expect(interpret(q, pkt, 40, { vlanPresent: false })).toBe(262144);
    // Tag in metadata, one tag in the packet at [12].
    const one = new Uint8Array(40);
    one.set([0x81, 0x00], 12);
    expect(interpret(q, one, 40, { vlanPresent: true })).toBe(interpret(p, one, 40, { vlanPresent: true }));
    sameOnRandomPackets(p, q, (v) => ({ vlanPresent: (v & 1) === 1 }));
  });

  it('#1513: ether proto 0x8892 or (vlan and ether proto 0x8892) with vlanp reads the inner type at [16]', () => {
    const p = listing(`
      (000) ld       #0x0
      (001) st       M[0]
      (002) st       M[1]
      (003) ldh      [12]
      (004) jeq      #0x8892          jt 22 jf 5
      (005) ldb      [vlanp]
      (006) jeq      #0x1             jt 19 jf 7
      (007) ld       M[0]
      (008) add      #4
      (009) st       M[0]
      (010) ld       M[1]
      (011) add      #4
      (012) st       M[1]
      (013) ldh      [12]
      (014) jeq      #0x8100          jt 19 jf 15
      (015) ldh      [12]
      (016) jeq      #0x88a8          jt 19 jf 17
      (017) ldh      [12]
      (018) jeq      #0x9100          jt 19 jf 23
      (019) ldx      M[1]
      (020) ldh      [x + 12]
      (021) jeq      #0x8892          jt 22 jf 23
      (022) ret      #262144
      (023) ret      #0`);
    const q = optimized(p);
    const tagged = new Uint8Array(40);
    tagged.set([0x81, 0x00], 12);
    tagged.set([0x88, 0x92], 16);
    expect(interpret(p, tagged, 40, { vlanPresent: false })).toBe(262144);
    expect(interpret(q, tagged, 40, { vlanPresent: false })).toBe(262144);
    // With the tag in metadata the type is at [12]: [16] must not be read as the type.
    const meta = new Uint8Array(40);
    meta.set([0x08, 0x00], 12);
    meta.set([0x88, 0x92], 16);
    expect(interpret(q, meta, 40, { vlanPresent: true })).toBe(interpret(p, meta, 40, { vlanPresent: true }));
    sameOnRandomPackets(p, q, (v) => ({ vlanPresent: (v & 1) === 1 }));
  });

  it('#1670: a block that only stores an offset and then goes one way is not skipped when the target reads the offset', () => {
    // libpcap's jt == jf bypass compared the registers the target uses on exit, not on entry.
    const p = listing(`
      (000) ld       #0x0
      (001) st       M[0]
      (002) ldb      [0]
      (003) jeq      #0x1             jt 4 jf 8
      (004) ld       #0x8
      (005) st       M[0]
      (006) ldb      [1]
      (007) jeq      #0x0             jt 8 jf 8
      (008) ldx      M[0]
      (009) ldb      [x + 2]
      (010) jeq      #0x45            jt 11 jf 12
      (011) ret      #1
      (012) ret      #0`);
    const q = optimized(p);
    const pkt = new Uint8Array(16);
    pkt[0] = 1;
    pkt[10] = 0x45;
    expect(interpret(p, pkt)).toBe(1);
    expect(interpret(q, pkt)).toBe(1);
    pkt[2] = 0x45;
    pkt[10] = 0;
    expect(interpret(q, pkt)).toBe(0);
    sameOnRandomPackets(p, q);
  });
});
