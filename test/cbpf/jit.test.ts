/** The JIT against the interpreter: random valid programs × packets × wire lengths × metadata must give the same result. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeFault } from '../../src/util/index.js';
import { compileJit, interpret, jitSource, parseProgram, validate, type AuxData, type Insn } from '../../src/cbpf/index.js';
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

  it('runs backward jumps (libpcap protochain loops) and stops a runaway loop with a fault', () => {
    // Counts down X from the first packet byte: a loop that libpcap runs too.
    const prog = parseProgram(['ldb [0]', 'tax', 'l2: txa', 'jeq #0, l7', 'sub #1', 'tax', 'ja l2', 'l7: ret #99'].join('\n'));
    const f = compileJit(prog);
    expect(jitSource(prog)).toContain('switch (pc)');
    expect(f(Uint8Array.of(3))).toBe(99);
    expect(interpret(prog, Uint8Array.of(3))).toBe(99);
    const forever: Insn[] = [{ code: 0x05, jt: 0, jf: 0, k: 0xffffffff }];
    expect(() => interpret(forever, new Uint8Array(0))).toThrow(RuntimeFault);
    expect(() => compileJit(forever)(new Uint8Array(0))).toThrow(/ran more than/);
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
