// Verifier differential test: the same programs go through bpfkit's verifier and the kernel's (bpf PROG_LOAD as root);
// verdicts must agree on ≥ 97% and we may accept at most 1% of what the kernel rejects.
// Unprivileged rules are not compared here: this kernel has unprivileged BPF disabled (kernel.unprivileged_bpf_disabled),
// so they are covered by test/ebpf/verifier-*.test.ts.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disassembleLlvm, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify, VerifierError as OurVerifierError } from '../../src/ebpf/verifier/index.js';
import { kernelBtf, loadCollectionSpec } from '../../src/elf/index.js';
import { Kernel, loadBtf } from '../../src/kernel/index.js';
import { BpfkitError } from '../../src/util/index.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { buildProgram, recipeArb, type Family } from './helpers/gen.js';
import { kernelSkip } from './helpers/kernel.js';
import { vcaseArb } from './helpers/verifier-gen.js';

const why = await kernelSkip('verifier differential (bpfkit vs kernel verifier)');
/** Generated programs per run (BPFKIT_VERIFIER_DIFF overrides); the seed makes a run repeatable. */
const N = Number(process.env.BPFKIT_VERIFIER_DIFF ?? '2000');
const SEED = Number(process.env.BPFKIT_VERIFIER_SEED ?? '20261205');

interface Verdict {
  ok: boolean;
  msg: string;
}

interface Tally {
  n: number;
  agree: number;
  kernelRejects: number;
  kernelAccepts: number;
  /** We accept, the kernel rejects: the worst failure. */
  falseAccepts: number;
  /** We reject, the kernel accepts: a precision gap. */
  falseRejects: number;
}

const newTally = (): Tally => ({ n: 0, agree: 0, kernelRejects: 0, kernelAccepts: 0, falseAccepts: 0, falseRejects: 0 });

describe.skipIf(why !== undefined)('verifier verdicts: bpfkit vs the kernel', () => {
  let kernel: Kernel;
  const all = newTally();
  const byFamily = new Map<string, Tally>();
  const mismatches: string[] = [];
  const b = clangSkip('verifier diff: clang objects') === undefined ? fixtureBuilder() : undefined;

  beforeAll(async () => {
    kernel = await Kernel.open();
  });
  afterAll(() => b?.cleanup());

  const onKernel = (spec: ProgramSpec, btfFd?: number): Verdict => {
    try {
      kernel.load(spec, { btfFd }).close();
      return { ok: true, msg: '' };
    } catch (e) {
      if (e instanceof BpfkitError) return { ok: false, msg: e.message.split('\n')[0] };
      throw e;
    }
  };
  const onUs = (spec: ProgramSpec): Verdict => {
    try {
      verify(spec);
      return { ok: true, msg: '' };
    } catch (e) {
      if (e instanceof OurVerifierError) return { ok: false, msg: `${e.code} ${e.insn}: ${e.kernelMessage}` };
      throw e;
    }
  };

  const compare = (family: string, spec: ProgramSpec, btfFd?: number): void => {
    const k = onKernel(spec, btfFd);
    const u = onUs(spec);
    const t = byFamily.get(family) ?? newTally();
    byFamily.set(family, t);
    for (const x of [t, all]) {
      x.n++;
      if (k.ok) x.kernelAccepts++; else x.kernelRejects++;
      if (k.ok === u.ok) x.agree++;
      else if (u.ok) x.falseAccepts++;
      else x.falseRejects++;
    }
    if (k.ok !== u.ok && mismatches.length < 40) {
      let listing: string;
      try { listing = disassembleLlvm(spec.insns); } catch { listing = '(no listing)'; }
      mismatches.push(`[${family}] type=${spec.type} license=${spec.license} kernel=${k.ok ? 'accept' : `reject (${k.msg})`} bpfkit=${u.ok ? 'accept' : `reject (${u.msg})`}\n${listing}`);
    }
  };

  it(`${N} generated kernel-style programs (fast-check, seed ${SEED}) across 7 program types`, () => {
    for (const c of fc.sample(vcaseArb, { numRuns: N, seed: SEED })) compare(c.family, c.spec);
    // Almost all of the time is the kernel's loads (ours take under a second for all): slow on a loaded machine.
  }, 900_000);

  it('the VM-parity generator programs (all of which the kernel accepts)', () => {
    for (const family of ['alu', 'jump', 'stack', 'packet', 'map', 'skb'] as Family[]) {
      for (const r of fc.sample(recipeArb(family), { numRuns: Math.max(10, Math.round(N / 30)), seed: SEED })) compare(`parity-${family}`, buildProgram(r, `vd_${family}`));
    }
  });

  it.skipIf(b === undefined)('the clang-19 objects the ELF tests build', () => {
    for (const name of ['elf-xdp', 'elf-callbacks', 'elf-mapinit', 'elf-sections']) {
      const bytes = b!.build(name).bytes;
      const coll = loadCollectionSpec(bytes);
      // The kernel gets the object's BTF, as libbpf gives it: func_info (callbacks, global functions) refers to it.
      const btfFd = coll.btf?.littleEndian ? loadBtf(kernel.sys, kernelBtf(bytes)) : undefined;
      try {
        for (const spec of coll.programs.values()) {
          // Tracing sections attach by BTF (fentry, tp_btf...): those need an attach target, not only a verdict.
          if ([26, 27, 28, 29].includes(spec.type)) continue;
          compare(`clang-${name}`, spec, btfFd);
        }
      } finally {
        if (btfFd !== undefined) kernel.sys.close(btfFd);
      }
    }
  });

  it('agrees with the kernel on ≥ 97% and accepts ≤ 1% of its rejects', () => {
    const pct = (a: number, n: number): string => `${((100 * a) / Math.max(1, n)).toFixed(2)}%`;
    const lines = [...byFamily.entries()].map(([f, t]) => `  ${f.padEnd(22)} ${String(t.n).padStart(5)} programs  agree ${pct(t.agree, t.n).padStart(7)}  kernel rejects ${String(t.kernelRejects).padStart(4)}  false accepts ${t.falseAccepts}  false rejects ${t.falseRejects}`);
    console.log(`[verifier-diff] ${all.n} programs: agreement ${pct(all.agree, all.n)} (${all.agree}/${all.n}); kernel accepted ${all.kernelAccepts}, rejected ${all.kernelRejects}; `
      + `we accepted ${all.falseAccepts} kernel rejects (${pct(all.falseAccepts, all.kernelRejects)}), rejected ${all.falseRejects} kernel accepts\n${lines.join('\n')}`);
    if (mismatches.length) console.log(`[verifier-diff] first mismatches:\n${mismatches.slice(0, 15).join('\n---\n')}`);
    expect(all.n).toBeGreaterThan(N);
    expect(all.agree / all.n).toBeGreaterThanOrEqual(0.97);
    expect(all.falseAccepts / Math.max(1, all.kernelRejects)).toBeLessThanOrEqual(0.01);
  });
});
