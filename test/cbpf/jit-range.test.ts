// compileJitRange: the JIT over a packet inside a larger buffer equals the interpreter on the packet alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJitRange, interpret } from '../../src/cbpf/index.js';
import { RuntimeFault } from '../../src/util/index.js';
import { arbPacket, arbProgram } from './arbitrary.js';

function outcome(f: () => number): number | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof RuntimeFault) return e.code;
    throw e;
  }
}

describe('compileJitRange', () => {
  it('agrees with interpret on random programs, packets and surrounding bytes', () => {
    fc.assert(
      fc.property(arbProgram(), arbPacket, fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.nat(200), (prog, pkt, before, after, extra) => {
        const buf = new Uint8Array(before.length + pkt.length + after.length);
        buf.set(before);
        buf.set(pkt, before.length);
        buf.set(after, before.length + pkt.length);
        const wirelen = pkt.length + extra;
        const want = outcome(() => interpret(prog, pkt, wirelen));
        const got = outcome(() => compileJitRange(prog)(buf, before.length, pkt.length, wirelen));
        expect(got).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  it('never reads the bytes after the packet', () => {
    // ldb [3] on a 3-byte packet whose buffer continues: out of bounds, so 0, as libpcap.
    const f = compileJitRange([{ code: 0x30, jt: 0, jf: 0, k: 3 }, { code: 0x16, jt: 0, jf: 0, k: 0 }]);
    expect(f(Uint8Array.of(1, 2, 3, 9, 9), 0, 3, 3)).toBe(0);
    expect(f(Uint8Array.of(1, 2, 3, 9, 7), 1, 4, 4)).toBe(7);
  });
});
