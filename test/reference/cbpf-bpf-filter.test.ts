/** Differential tests against libpcap's own bpf_filter and bpf_dump on random programs, packets and encodings (edge cases the corpus lacks). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJit, formatProgram, insn, interpret, type Insn } from '../../src/cbpf/index.js';
import { libpcapDumpMany, libpcapMissing, libpcapRunMany } from '../helpers/libpcap.js';
import { arbPacket, arbProgram } from '../cbpf/arbitrary.js';
import { expectFloor, skipReason } from '../helpers/reference.js';

const why = skipReason('cbpf vs bpf_filter', { missing: libpcapMissing() });

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
    expectFloor('cbpf-bpf-filter: runs bpf_filter accepts', ref.filter((v) => v !== 0).length, 1300);
    expect(bad.slice(0, 5)).toEqual([]);
  });
});

describe.skipIf(why !== undefined)('formatProgram = libpcap bpf_dump on random encodings', () => {
  it('-d, -dd and -ddd of 3000 random programs (ancillary names, unimp, signed operands)', () => {
    const raw = fc.array(
      fc.record({
        code: fc.oneof(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xffff })),
        jt: fc.integer({ min: 0, max: 255 }),
        jf: fc.integer({ min: 0, max: 255 }),
        k: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xfffff000, max: 0xfffff040 }), fc.integer({ min: 0, max: 20 })),
      }),
      { minLength: 1, maxLength: 6 },
    );
    const progs = [...fc.sample(raw, { numRuns: 2000, seed: 11 }), ...fc.sample(arbProgram(20), { numRuns: 1000, seed: 12 })];
    const items = progs.flatMap((insns) => ([1, 2, 3] as const).map((option) => ({ insns, option })));
    const dumps = libpcapDumpMany(items);
    const fmt = { 1: 'd', 2: 'dd', 3: 'ddd' } as const;
    const bad = items.flatMap((it, i) => (formatProgram(it.insns, fmt[it.option]) === dumps[i] ? [] : [`${JSON.stringify(it.insns)}:\n${dumps[i]}`]));
    expect(bad.slice(0, 3)).toEqual([]);
  });
});
