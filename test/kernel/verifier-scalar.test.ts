// Precision of the verifier's scalar domain against the kernel's verifier: generated programs build a scalar (loads, ALU ops, branches) and use it as an offset into a map value; the bounds the kernel prints at log level 2 are compared with formatScalar at every instruction, and the verdicts with what our bounds prove.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Kernel, VerifierError } from '../../src/kernel/index.js';
import { kernelSkip } from './helpers/kernel.js';
import { type Case, build, parseRegs, stepArb } from './helpers/verifier-scalar-gen.js';

const why = await kernelSkip('verifier scalar precision (kernel log level 2)');
const scale = Number(process.env.BPFKIT_PARITY_SCALE ?? '1');
const PROGRAMS = Math.max(1, Math.round(3000 * scale));

interface Tally { programs: number; compared: number; pointers: number; equal: number; kernelAccepts: number; verdictAgree: number; weAcceptKernelRejects: number; weRejectKernelAccepts: number }

/** Compares one case with the kernel; returns the mismatching lines for a report. */
function compare(kernel: Kernel, c: Case, t: Tally): string[] {
  let log: string;
  let accepted: boolean;
  try {
    const p = kernel.load(c.spec, { logLevel: 2 });
    log = p.verifierLog ?? '';
    p.close();
    accepted = true;
  } catch (e) {
    if (!(e instanceof VerifierError)) throw e;
    log = e.log;
    accepted = false;
  }
  t.programs++;
  if (accepted) t.kernelAccepts++;
  if (accepted === c.accept) t.verdictAgree++;
  else if (c.accept) t.weAcceptKernelRejects++;
  else t.weRejectKernelAccepts++;
  const bad: string[] = [];
  if (process.env.BPFKIT_VS_VERBOSE) bad.push(log.split('\n').filter((l) => /^(\d+: \(|from )/.test(l)).map((l) => `    | ${l}`).join('\n'));
  if (accepted !== c.accept) bad.push(`verdict: kernel ${accepted ? 'accepts' : 'rejects'}, our bounds ${c.accept ? 'prove' : 'do not prove'} the access`);
  for (const line of log.split('\n')) {
    const insn = /^(\d+): \([0-9a-f]{2}\)[^;]*;(.*)$/.exec(line);
    const from = /^from (\d+) to (\d+): (.*)$/.exec(line);
    let want: Map<number, Set<string>> | undefined;
    let got: Map<number, string>;
    const at = /^(\d+): (?:\([0-9a-f]{2}\)[^;]*;)?(.*)$/.exec(line);
    // "N: R..." without an opcode is the state before insn N: after `r8 += r6` means its own line or N = ptrAt + 1.
    if (at && (Number(at[1]) === c.ptrAt + 1 || (Number(at[1]) === c.ptrAt && /^\d+: \(/.test(line)))) {
      // The map value pointer's variable offset after `r8 += r6` (printed with that insn, or before the next):
      // map_value(map=..,ks=4,vs=256,<bounds>).
      const r8 = parseRegs(at[2]).get(8);
      const m = r8 === undefined ? null : /^map_value\(map=\w+,ks=\d+,vs=\d+,?(.*)\)$/.exec(r8);
      if (m && !/\boff=/.test(m[1]) && c.ptr.size > 0) {
        t.compared++;
        t.pointers++;
        if (c.ptr.has(m[1])) t.equal++;
        else bad.push(`${line.slice(0, 60).trim()}\n    R8 kernel ${m[1]}\n    R8 ours   ${[...c.ptr].join(' | ')}`);
      }
      continue;
    }
    if (insn) {
      want = c.after.get(Number(insn[1]));
      got = parseRegs(insn[2]);
    } else if (from) {
      want = c.edges.get(`${from[1]}:${from[2]}`);
      got = parseRegs(from[3]);
    } else {
      continue;
    }
    if (!want) continue;
    for (const [r, w] of want) {
      const g = got.get(r);
      if (g === undefined) continue;
      t.compared++;
      if (w.has(g)) t.equal++;
      else bad.push(`${line.slice(0, 60).trim()}\n    R${r} kernel ${g}\n    R${r} ours   ${[...w].join(' | ')}`);
    }
  }
  return bad;
}

describe.skipIf(why !== undefined)('scalar bounds agree with the kernel verifier (log level 2)', () => {
  let kernel: Kernel;
  const t: Tally = { programs: 0, compared: 0, pointers: 0, equal: 0, kernelAccepts: 0, verdictAgree: 0, weAcceptKernelRejects: 0, weRejectKernelAccepts: 0 };
  const reports: string[] = [];

  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  it(`${PROGRAMS} generated programs: same bounds at every instruction, same verdict on the access`, () => {
    fc.assert(fc.property(fc.array(stepArb, { minLength: 1, maxLength: 12 }), (steps) => {
      const c = build(steps);
      const bad = compare(kernel, c, t);
      if (bad.length > (process.env.BPFKIT_VS_VERBOSE ? 1 : 0) && reports.length < 12) reports.push(`${c.text.join('\n')}\n  ${bad.join('\n  ')}`);
    }), { numRuns: PROGRAMS, seed: Number(process.env.BPFKIT_SEED ?? 11) });
    const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
    console.log(`[verifier-scalar] ${t.programs} programs (kernel accepts ${t.kernelAccepts}); register states compared ${t.compared} (${t.pointers} map value pointers after r8 += r6), equal ${t.equal} (${pct(t.equal, t.compared)}); verdicts agree ${t.verdictAgree} (${pct(t.verdictAgree, t.programs)}), we accept/kernel rejects ${t.weAcceptKernelRejects}, we reject/kernel accepts ${t.weRejectKernelAccepts}`);
    if (reports.length) console.log(`[verifier-scalar] first differences:\n${reports.join('\n\n')}`);
    expect(t.programs).toBe(PROGRAMS);
    expect(t.compared).toBeGreaterThan(PROGRAMS * 3);
    // Accepting what the kernel rejects is the failure that matters most: none allowed.
    expect(t.weAcceptKernelRejects).toBe(0);
    expect(t.equal / t.compared).toBeGreaterThanOrEqual(0.99);
    expect(t.verdictAgree / t.programs).toBeGreaterThanOrEqual(0.99);
  });
});
