/** Differential test of the engines against libpcap's own bpf_filter on random valid programs and random packets (edge cases the corpus lacks). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJit, insn, interpret, type Insn } from '../../src/cbpf/index.js';
import { libpcapMissing, libpcapRunMany } from '../helpers/libpcap.js';
import { arbPacket, arbProgram } from '../cbpf/arbitrary.js';

const why = libpcapMissing();
if (why) console.warn(`[skip] cbpf vs bpf_filter: ${why}`);

/** libpcap leaves scratch memory uninitialised; zero it first so that both sides start alike. */
const ZERO_MEMORY: Insn[] = [insn(0x00, 0), ...Array.from({ length: 16 }, (_, i) => insn(0x02, i))];

describe.skipIf(why !== undefined)('interpreter and JIT = libpcap bpf_filter', () => {
  it('on 4000 random valid programs × random packets and wire lengths', () => {
    const cases = fc.sample(fc.tuple(arbProgram(30), arbPacket, fc.nat(100)), { numRuns: 4000, seed: 7 });
    const items = cases.map(([prog, packet, extra]) => ({ insns: [...ZERO_MEMORY, ...prog], packet, wirelen: packet.length + extra }));
    const ref = libpcapRunMany(items);
    const bad: string[] = [];
    items.forEach((it, i) => {
      const a = interpret(it.insns, it.packet, it.wirelen);
      const b = compileJit(it.insns)(it.packet, it.wirelen);
      if (a !== ref[i] || b !== ref[i]) bad.push(`libpcap ${ref[i]} interp ${a} jit ${b}: ${JSON.stringify(it.insns.slice(17))}`);
    });
    // Enough runs must end in a return value other than 0 for the comparison to mean something.
    expect(ref.filter((v) => v !== 0).length).toBeGreaterThan(800);
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
