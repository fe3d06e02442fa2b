// Soundness of the verifier against the VM: every program the verifier accepts runs in the VM's bounds-checked memory
// model without a fault, whatever the packet or context. Programs come from the differential test's generators (kernel-
// style programs and their mutations, about half of them rejected) and the VM-parity recipes; each accepted one runs on
// packets of every length around its checks. `BPFKIT_SOUNDNESS=1000000` for the long run (seeded: BPFKIT_SOUNDNESS_SEED).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify, VerifierError } from '../../src/ebpf/verifier/index.js';
import { load } from '../../src/ebpf/vm/index.js';
import { RuntimeFault, ValidationError } from '../../src/util/index.js';
import { buildProgram, recipeArb, type Family } from '../kernel/helpers/gen.js';
import { vcaseArb } from '../kernel/helpers/verifier-gen.js';

const N = Number(process.env.BPFKIT_SOUNDNESS ?? '2000');
const SEED = Number(process.env.BPFKIT_SOUNDNESS_SEED ?? '20261205');
const FAMILIES: readonly Family[] = ['alu', 'jump', 'stack', 'packet', 'map', 'skb'];

/** Every packet length up to past the offsets the generators check (0..48), and a large one: an off-by-one shows on one length. */
const LENGTHS = [...Array.from({ length: 66 }, (_, n) => n), 1500];

/** The VM's context sizes of the types that take the context as plain memory (the verifier's bounds for them). */
const PLAIN_CTX: Partial<Record<number, number>> = {
  [ProgType.BPF_PROG_TYPE_TRACEPOINT]: 2048,
  [ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT]: 96,
  [ProgType.BPF_PROG_TYPE_KPROBE]: 168,
};

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface Tally { programs: number; accepted: number; runs: number; faults: string[]; unsupported: number; kernelQuirk: number }

/** Verifies `spec`; when accepted, runs it on every packet length (or its context) and records any fault. */
function check(spec: ProgramSpec, family: string, t: Tally): void {
  t.programs++;
  try {
    verify(spec);
  } catch (e) {
    if (e instanceof VerifierError) return;
    throw e;
  }
  t.accepted++;
  let prog;
  try {
    // Verified again by the load, as users load: dead code the verifier never reached is replaced, as the kernel does.
    prog = load(spec, { engine: 'interp', budget: 2_000_000 });
  } catch (e) {
    // A program type or helper the VM does not run (sk_lookup): not a soundness question.
    if (e instanceof ValidationError && (e.code === 'E_VM_PROG_TYPE' || e.code === 'E_VM_HELPER' || e.code === 'E_VM_CALL')) { t.unsupported++; return; }
    throw e;
  }
  const plain = PLAIN_CTX[spec.type];
  const inputs = plain !== undefined ? [{ ctx: bytes(plain, 1) }, { ctx: new Uint8Array(plain) }] : LENGTHS.map((n, i) => ({ data: bytes(n, i + 1) }));
  for (const input of inputs) {
    t.runs++;
    try {
      prog.run(input);
    } catch (e) {
      if (!(e instanceof RuntimeFault)) throw e;
      // The kernel accepts a tracepoint's negative context offsets (it tests them unsigned against sizeof(void *)) and
      // reads what precedes the record; the VM has no memory there. Counted apart: the verifier decides as the kernel.
      if (spec.type === ProgType.BPF_PROG_TYPE_TRACEPOINT && e.code === 'E_VM_OUT_OF_BOUNDS' && / at ctx\+-\d+/.test(e.message)) { t.kernelQuirk++; continue; }
      if (t.faults.length < 5) t.faults.push(`${family} ${spec.name}: ${e.code} ${e.message.split('\n')[0]} (input ${'data' in input ? input.data.length : 'ctx'})`);
      else t.faults.push('');
    }
  }
}

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
    const t: Tally = { programs: 0, accepted: 0, runs: 0, faults: [], unsupported: 0, kernelQuirk: 0 };
    for (const c of fc.sample(vcaseArb, { numRuns: N, seed: SEED })) check(c.spec, c.family, t);
    for (const family of FAMILIES) {
      for (const r of fc.sample(recipeArb(family), { numRuns: Math.max(10, Math.round(N / 20)), seed: SEED })) check(buildProgram(r, `s_${family}`), `parity-${family}`, t);
    }
    console.log(`[verifier soundness] ${t.programs} programs, ${t.accepted} accepted, ${t.runs} runs, ${t.faults.length} faults, ${t.unsupported} not runnable in the VM, ${t.kernelQuirk} runs of tracepoint reads before the context (kernel-accepted)`);
    // Enough of them are accepted and run for the property to mean something.
    expect(t.accepted).toBeGreaterThan(t.programs / 4);
    expect(t.runs).toBeGreaterThan(t.accepted * 2);
    expect(t.faults.filter((f) => f !== '')).toEqual([]);
  }, Math.max(600_000, N * 20));
});
