/**
 * The verifier's soundness check against the VM, shared by the test (a small run) and scripts/verifier-soundness.ts
 * (the long run): a program the verifier accepts is loaded with vm.load and run on every packet length around the
 * generators' checks (or its context); any fault is a soundness bug.
 */

import fc from 'fast-check';
import { ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify, VerifierError } from '../../src/ebpf/verifier/index.js';
import { createMap, type VmMap } from '../../src/ebpf/maps/index.js';
import { load, type VmProgram } from '../../src/ebpf/vm/index.js';
import { BpfkitError, RuntimeFault } from '../../src/util/index.js';
import { buildProgram, recipeArb, type Family } from '../kernel/helpers/gen.js';
import { vcaseArb } from '../kernel/helpers/verifier-gen.js';

const FAMILIES: readonly Family[] = ['alu', 'jump', 'stack', 'packet', 'map', 'skb'];

/** Every packet length up to past the offsets the generators check (0..48), and a large one: an off-by-one shows on one length. */
const LENGTHS = [...Array.from({ length: 66 }, (_, n) => n), 1500];

/** The VM's context sizes of the types that take the context as plain memory (the verifier's bounds for them). */
const PLAIN_CTX: Partial<Record<number, number>> = {
  [ProgType.BPF_PROG_TYPE_TRACEPOINT]: 2048,
  [ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT]: 96,
  [ProgType.BPF_PROG_TYPE_KPROBE]: 168,
};

export interface SoundnessTally {
  programs: number;
  accepted: number;
  runs: number;
  /** The first faults, described; `faultCount` counts them all. */
  faults: string[];
  faultCount: number;
  /** Accepted programs the VM does not run (a program type or helper it lacks). */
  unsupported: number;
  /** Runs of tracepoint programs reading before their context, which the kernel accepts (see checkProgram). */
  kernelQuirk: number;
}

export const newTally = (): SoundnessTally => ({ programs: 0, accepted: 0, runs: 0, faults: [], faultCount: 0, unsupported: 0, kernelQuirk: 0 });

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Verifies `spec`; when accepted, runs it on every packet length (or its context) and records any fault. */
export function checkProgram(spec: ProgramSpec, family: string, t: SoundnessTally): void {
  t.programs++;
  try {
    verify(spec);
  } catch (e) {
    if (e instanceof VerifierError) return;
    throw e;
  }
  t.accepted++;
  // The program's maps are made here, so that they are closed with it: the VM's handle table keeps what is not closed.
  const maps = new Map<string, VmMap>();
  let prog: VmProgram;
  try {
    for (const ms of spec.maps ?? []) maps.set(ms.name, createMap(ms));
    // Verified again by the load, as users load: dead code the verifier never reached is replaced, as the kernel does.
    prog = load(spec, { engine: 'interp', budget: 2_000_000, maps });
  } catch (e) {
    for (const m of maps.values()) m.close();
    // A program type, map type or helper the VM does not run (sk_lookup): not a soundness question.
    if (e instanceof BpfkitError && (e.code === 'E_VM_PROG_TYPE' || e.code === 'E_VM_HELPER' || e.code === 'E_VM_CALL' || e.code === 'E_VM_MAP_TYPE')) { t.unsupported++; return; }
    throw e;
  }
  try {
    runAll(prog, spec, family, t);
  } finally {
    prog.close();
    for (const m of maps.values()) m.close();
  }
}

function runAll(prog: VmProgram, spec: ProgramSpec, family: string, t: SoundnessTally): void {
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
      t.faultCount++;
      if (t.faults.length < 5) t.faults.push(`${family} ${spec.name}: ${e.code} ${e.message.split('\n')[0]} (input ${'data' in input ? input.data.length : 'ctx'})`);
    }
  }
}

/**
 * `n` generated kernel-style programs and their mutations, then n/20 per VM-parity family, in batches of `batch`
 * (each its own seed from `seed`): a long run never holds more than one batch.
 */
export function* soundnessPrograms(n: number, seed: number, parity = Math.max(10, Math.round(n / 20)), batch = 5000): Generator<{ family: string; spec: ProgramSpec }> {
  for (let done = 0, k = 0; done < n; done += batch, k++) {
    for (const c of fc.sample(vcaseArb, { numRuns: Math.min(batch, n - done), seed: seed + k })) yield c;
  }
  for (const family of FAMILIES) {
    for (let done = 0, k = 0; done < parity; done += batch, k++) {
      for (const r of fc.sample(recipeArb(family), { numRuns: Math.min(batch, parity - done), seed: seed + k })) yield { family: `parity-${family}`, spec: buildProgram(r, `s_${family}`) };
    }
  }
}
