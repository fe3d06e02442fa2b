/** The JIT against the interpreter: random valid programs × packets × wire lengths × metadata must give the same result. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeFault } from '../../src/util/index.js';
import { compileJit, interpret, jitSource, parseProgram, validate, type AuxData, type Insn } from '../../src/cbpf/index.js';
import { compileFilter } from '../../src/filter/index.js';
import { arbAux, arbPacket, arbProgram } from './arbitrary.js';

/** The result or the fault code, so that faults are compared too. */
function outcome(f: () => number): number | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof RuntimeFault) return `${e.code}@${e.position?.insn}`;
    throw e;
  }
}

describe('compileJit', () => {
  it('agrees with the interpreter on random valid programs and packets', () => {
    fc.assert(
      fc.property(arbProgram(), fc.array(fc.tuple(arbPacket, fc.nat(200), fc.option(arbAux, { nil: undefined })), { minLength: 1, maxLength: 6 }), (prog, runs) => {
        validate(prog, { mode: 'libpcap' });
        const jit = compileJit(prog);
        for (const [pkt, extra, aux] of runs) {
          const wirelen = pkt.length + extra;
          expect(jit(pkt, wirelen, aux)).toBe(interpret(prog, pkt, wirelen, aux));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('agrees when wirelen is omitted (it defaults to the captured length)', () => {
    fc.assert(
      fc.property(arbProgram(12), arbPacket, (prog, pkt) => {
        expect(compileJit(prog)(pkt)).toBe(interpret(prog, pkt));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on arbitrary (also invalid) encodings, including the faults', () => {
    const raw = fc.array(
      fc.record({ code: fc.integer({ min: 0, max: 0xff }), jt: fc.integer({ min: 0, max: 4 }), jf: fc.integer({ min: 0, max: 4 }), k: fc.integer({ min: 0, max: 0xffffffff }) }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(raw, arbPacket, (prog: Insn[], pkt) => {
        expect(outcome(() => compileJit(prog)(pkt))).toEqual(outcome(() => interpret(prog, pkt)));
      }),
      { numRuns: 1500 },
    );
  });

  it('runs backward jumps within a budget of length × (captured bytes + 1) steps, and faults past it', () => {
    // Counts down X from the first packet byte: 5 steps per pass, 8 instructions.
    const prog = parseProgram(['ldb [0]', 'tax', 'l2: txa', 'jeq #0, l7', 'sub #1', 'tax', 'ja l2', 'l7: ret #99'].join('\n'));
    const f = compileJit(prog);
    expect(jitSource(prog)).toContain('switch (pc)');
    // 3 passes on a 4-byte packet: 2 + 3 × 5 + 3 = 20 steps, inside 8 × 5 = 40.
    expect(f(Uint8Array.of(3, 0, 0, 0))).toBe(99);
    expect(interpret(prog, Uint8Array.of(3, 0, 0, 0))).toBe(99);
    // 200 passes on a 1-byte packet: far past 8 × 2 = 16 steps.
    expect(() => interpret(prog, Uint8Array.of(200))).toThrow(/budget of 16 instructions/);
    expect(() => f(Uint8Array.of(200))).toThrow(/budget of 16 instructions/);
    const forever: Insn[] = [{ code: 0x05, jt: 0, jf: 0, k: 0xffffffff }];
    expect(() => interpret(forever, new Uint8Array(0))).toThrow(RuntimeFault);
    expect(() => compileJit(forever)(new Uint8Array(0))).toThrow(/budget of 1 instructions/);
  });

  it('runs libpcap protochain code (a real loop) to the end on an IPv6 packet with extension headers', () => {
    const prog = compileFilter('ip6 protochain 17', { linkType: 'EN10MB' }).insns;
    expect(prog.some((i) => i.code === 0x05 && (i.k >>> 0) >= 0x80000000)).toBe(true);
    // Ethernet + IPv6 (next header 0: hop-by-hop) + hop-by-hop (next 60: destination options) + dstopts (next 17) + UDP.
    const pkt = new Uint8Array(14 + 40 + 8 + 8 + 8);
    pkt.set([0x86, 0xdd], 12);
    pkt[14] = 0x60;
    pkt[14 + 6] = 0;
    pkt[54] = 60;
    pkt[62] = 17;
    expect(interpret(prog, pkt)).toBe(262144);
    expect(compileJit(prog)(pkt)).toBe(262144);
    pkt[62] = 6;
    expect(interpret(prog, pkt)).toBe(0);
    expect(compileJit(prog)(pkt)).toBe(0);
  });

  it('uses straight-line labelled blocks for forward-only programs', () => {
    const src = jitSource(parseProgram('ldh [12]\njeq #0x800, l1, l2\nl1: ret #1\nl2: ret #0'));
    expect(src).not.toContain('switch');
    expect(src).toContain('break L3');
  });

  it('reads ancillary data only when metadata is given', () => {
    const prog = parseProgram('ld vlan_tci\nret a');
    const aux: AuxData = { vlanTci: 0x123 };
    expect(compileJit(prog)(new Uint8Array(64), 64, aux)).toBe(0x123);
    expect(compileJit(prog)(new Uint8Array(64))).toBe(0);
  });
});
