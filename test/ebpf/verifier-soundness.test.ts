// Soundness of the verifier against the VM: every program the verifier accepts runs in the VM's bounds-checked memory
// model without a fault, whatever the packet or context (the check: test/helpers/soundness.ts). Programs come from the
// differential test's generators (kernel-style programs and their mutations, about half of them rejected) and the
// VM-parity recipes. The long run: scripts/verifier-soundness.ts.

import { describe, expect, it } from 'vitest';
import { ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify } from '../../src/ebpf/verifier/index.js';
import { load } from '../../src/ebpf/vm/index.js';
import { checkProgram, newTally, soundnessPrograms } from '../helpers/soundness.js';

const N = Number(process.env.BPFKIT_SOUNDNESS ?? '2000');
const SEED = Number(process.env.BPFKIT_SOUNDNESS_SEED ?? '20261205');

describe('verifier soundness: what it accepts runs without a fault in the VM', () => {
  it('dead code the engines cannot take (reserved fields, unknown opcodes) loads once verified, as the kernel loads it', () => {
    // r0 = 0; if r0 != 25 goto +1 (always taken: r0 is 0); a mov with a nonzero src field; r0 = 0; exit.
    const insns = [
      { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x55, dst: 0, src: 0, off: 1, imm: 25 },
      { code: 0xb7, dst: 2, src: 1, off: 0, imm: 59 }, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
    ];
    const spec: ProgramSpec = { name: 'dead_field', type: ProgType.BPF_PROG_TYPE_XDP, insns, license: 'GPL' };
    expect(verify(spec).reached[2]).toBe(false);
    expect(load(spec, { engine: 'interp' }).run({ data: new Uint8Array(14) }).r0).toBe(0n);
    expect(() => load(spec, { engine: 'interp', verify: false })).toThrow(/unused field src is not zero/);
    // Reached, the same instruction is refused by the verifier, as by the kernel.
    const live: ProgramSpec = { ...spec, insns: [insns[0], { ...insns[1], imm: 0 }, ...insns.slice(2)] };
    expect(() => verify(live)).toThrow(/uses reserved fields/);
  });

  it(`${N} generated kernel-style programs and their mutations (seed ${SEED})`, () => {
    const t = newTally();
    for (const { family, spec } of soundnessPrograms(N, SEED)) checkProgram(spec, family, t);
    console.log(`[verifier soundness] ${t.programs} programs, ${t.accepted} accepted, ${t.runs} runs, ${t.faultCount} faults, ${t.unsupported} not runnable in the VM, ${t.kernelQuirk} runs of tracepoint reads before the context (kernel-accepted)`);
    // Enough of them are accepted and run for the property to mean something.
    expect(t.accepted).toBeGreaterThan(t.programs / 4);
    expect(t.runs).toBeGreaterThan(t.accepted * 2);
    expect(t.faults).toEqual([]);
  }, Math.max(600_000, N * 20));
});
