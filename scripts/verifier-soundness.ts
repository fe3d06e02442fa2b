// The verifier's long soundness run (issue 11: ≥ 1 M generated programs): every program the verifier accepts runs in the
// VM on every packet length without a fault. Progress every 10,000 programs; exit 1 on any fault.
// Run: npx tsx scripts/verifier-soundness.ts [--programs N] [--parity M] [--seed S]
// (N kernel-style programs and their mutations, then M per VM-parity family: N/20 by default)
import { checkProgram, newTally, soundnessPrograms } from '../test/helpers/soundness.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const N = Number(arg('programs', '100000'));
const SEED = Number(arg('seed', '1'));
const PARITY = Number(arg('parity', String(Math.max(10, Math.round(N / 20)))));
const t = newTally();
const t0 = Date.now();
const line = (): string => `${t.programs} programs, ${t.accepted} accepted, ${t.runs} runs, ${t.faultCount} faults, ${t.unsupported} not runnable in the VM, ${t.kernelQuirk} tracepoint reads before the context (kernel-accepted), ${((Date.now() - t0) / 1000).toFixed(0)} s`;
for (const { family, spec } of soundnessPrograms(N, SEED, PARITY)) {
  checkProgram(spec, family, t);
  if (t.programs % 10000 === 0) console.log(`[seed ${SEED}] ${line()}`);
}
console.log(`[seed ${SEED}] done: ${line()}`);
for (const f of t.faults) console.log(`  fault: ${f}`);
process.exitCode = t.faultCount ? 1 : 0;
