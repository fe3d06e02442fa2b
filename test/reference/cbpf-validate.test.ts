/** Differential test of the validators: our libpcap/kernel/seccomp verdicts against libpcap's bpf_validate, SO_ATTACH_FILTER and seccomp(2) on random programs. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPCODES, SKF_AD_OFF, validationError, type Insn, type ValidateMode } from '../../src/cbpf/index.js';
import { kernelCheckMany, libpcapMissing, libpcapValidateMany } from '../helpers/libpcap.js';
import { expectFloor, isRoot, skipReason } from '../helpers/reference.js';
import { arbProgram } from '../cbpf/arbitrary.js';

const why = skipReason('cbpf validators vs libpcap/kernel', { missing: libpcapMissing() });
const kernelWhy = why ?? skipReason('cbpf validators vs the kernel', { root: true });

/** Small programs of arbitrary instructions: known and unknown opcodes, edge-case k, short jumps, any ending. */
const arbRaw: fc.Arbitrary<Insn[]> = fc.array(
  fc.record({
    code: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...OPCODES.map((o) => o.code)) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
      { weight: 1, arbitrary: fc.integer({ min: 0x100, max: 0xffff }) },
    ),
    jt: fc.integer({ min: 0, max: 5 }),
    jf: fc.integer({ min: 0, max: 5 }),
    k: fc.oneof(
      fc.integer({ min: 0, max: 70 }),
      fc.integer({ min: 0, max: 16 }).map((i) => (SKF_AD_OFF + 4 * i) >>> 0),
      fc.constantFrom(0xffffffff, 0xfffffffe, 0x80000000, 31, 32, 33),
      fc.integer({ min: 0, max: 0xffffffff }),
    ),
  }),
  { minLength: 0, maxLength: 7 },
);

/** A mix: random raw programs, and valid programs with one instruction mutated. */
const arbMixed: fc.Arbitrary<Insn[]> = fc.oneof(
  arbRaw,
  fc.tuple(arbProgram(10), arbRaw, fc.nat()).map(([prog, raw, at]) => {
    if (raw.length === 0) return prog;
    const copy = [...prog];
    copy[at % copy.length] = raw[0];
    return copy;
  }),
);

function samples(n: number, seed: number): Insn[][] {
  return fc.sample(arbMixed, { numRuns: n, seed });
}

function verdicts(progs: Insn[][], mode: ValidateMode, loops = false): boolean[] {
  return progs.map((p) => validationError(p, { mode, loops }) === undefined);
}

/** True when a `ja` offset wraps around 32 bits (any encoding whose class is jmp and operation ja, as bpf_validate decodes it). */
function wraps(p: Insn[]): boolean {
  return p.some((x, i) => (x.code & 0x07) === 0x05 && (x.code & 0xf0) === 0 && i + 1 + (x.k >>> 0) > 0xffffffff);
}

function disagreements(progs: Insn[][], ours: boolean[], theirs: boolean[]): string[] {
  return progs.flatMap((p, i) => (ours[i] === theirs[i] ? [] : [`ours ${ours[i]} ref ${theirs[i]}: ${JSON.stringify(p)}`]));
}

describe.skipIf(why !== undefined)('validate mode libpcap = bpf_validate', () => {
  it('agrees on 20000 random and mutated programs', () => {
    const progs = samples(20000, 1);
    const ref = libpcapValidateMany(progs);
    // The sample must hold both verdicts in quantity, or the comparison says little.
    expectFloor('cbpf-validate: bpf_validate accepts', ref.filter(Boolean).length, 5700);
    expectFloor('cbpf-validate: bpf_validate rejects', ref.filter((v) => !v).length, 13200);
    // With loops allowed (what protochain needs) our verdicts are bpf_validate's exactly.
    expect(disagreements(progs, verdicts(progs, 'libpcap', true), ref).slice(0, 10)).toEqual([]);
    // By default the one deliberate difference: a wrapping `ja` that bpf_validate's u_int overflow accepts.
    const ours = verdicts(progs, 'libpcap');
    const differ = progs.map((_, i) => i).filter((i) => ours[i] !== ref[i]);
    expect(differ.filter((i) => !(wraps(progs[i]) && ref[i] && !ours[i]))).toEqual([]);
    console.log(`[cbpf-validate] libpcap: ${progs.length} programs, ${ref.filter(Boolean).length} accepted, ${differ.length} wrapping jumps bpf_validate accepts and we reject`);
    expect(differ.length).toBeGreaterThan(0);
  });
});

describe.skipIf(kernelWhy !== undefined)('validate modes kernel and seccomp = Linux', () => {
  it('kernel mode agrees with SO_ATTACH_FILTER on 6000 programs', () => {
    const progs = samples(6000, 2);
    const ref = kernelCheckMany('socket', progs).map((e) => e === 0);
    expectFloor('cbpf-validate: SO_ATTACH_FILTER accepts', ref.filter(Boolean).length, 1100);
    expect(disagreements(progs, verdicts(progs, 'kernel'), ref).slice(0, 10)).toEqual([]);
  });
  it('seccomp mode agrees with seccomp(SET_MODE_FILTER) on 1500 programs', () => {
    // Seccomp-shaped programs too: word loads inside struct seccomp_data.
    const shaped = fc.sample(
      fc.array(fc.record({ code: fc.constantFrom(0x20, 0x20, 0x28, 0x80, 0x81, 0x15, 0x94, 0x04, 0x06, 0x16, 0x60, 0x02), jt: fc.constant(0), jf: fc.integer({ min: 0, max: 1 }), k: fc.integer({ min: 0, max: 70 }) }), { minLength: 1, maxLength: 5 }),
      { numRuns: 700, seed: 4 },
    );
    const progs = [...samples(800, 3), ...shaped];
    const ref = kernelCheckMany('seccomp', progs).map((e) => e === 0);
    expectFloor('cbpf-validate: seccomp accepts', ref.filter(Boolean).length, 110);
    expect(disagreements(progs, verdicts(progs, 'seccomp'), ref).slice(0, 10)).toEqual([]);
  });
  it('a wrapping ja (`5 0 0 4294967293`, a backward jump) is rejected by SO_ATTACH_FILTER and seccomp, as by us in every mode', () => {
    const wrap: Insn[] = [
      { code: 0x00, jt: 0, jf: 0, k: 0 }, { code: 0x07, jt: 0, jf: 0, k: 0 }, { code: 0x04, jt: 0, jf: 0, k: 1 },
      { code: 0x05, jt: 0, jf: 0, k: 4294967293 }, { code: 0x06, jt: 0, jf: 0, k: 0 },
    ];
    expect(kernelCheckMany('socket', [wrap])[0]).not.toBe(0);
    expect(kernelCheckMany('seccomp', [wrap])[0]).not.toBe(0);
    for (const mode of ['libpcap', 'kernel', 'seccomp'] as const) expect(validationError(wrap, { mode })?.code).toBe('E_CBPF_BACKWARD_JUMP');
  });
  it('the length limit: 4096 instructions load, 4097 do not', () => {
    const long = (n: number): Insn[] => Array.from({ length: n }, () => ({ code: 0x06, jt: 0, jf: 0, k: 0 }));
    const ref = kernelCheckMany('socket', [long(4096), long(4097)]);
    expect(ref[0]).toBe(0);
    expect(ref[1]).not.toBe(0);
    expect(verdicts([long(4096), long(4097)], 'kernel')).toEqual([true, false]);
    expect(isRoot()).toBe(true);
  });
});
