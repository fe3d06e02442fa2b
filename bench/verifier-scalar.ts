// Benchmark: the verifier's scalar domain on generated programs (the kernel precision test's), against the kernel verifier's own time for the same programs (its log's "verification time" over "processed N insns"). Never fails on time.
// Run (as root for the kernel side): npx tsx bench/verifier-scalar.ts [--programs N] [--seed S]. Without bpf() it prints our side only.
import fc from 'fast-check';
import { Kernel, VerifierError } from '../src/kernel/index.js';
import { build, stepArb } from '../test/kernel/helpers/verifier-scalar-gen.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const programs = arg('programs', 1000);
const seed = arg('seed', 11);
const samples = fc.sample(fc.array(stepArb, { minLength: 1, maxLength: 12 }), { numRuns: programs, seed });

// Our side: the scalar steps along every path of each program, repeated until the time is measurable.
for (const s of samples.slice(0, 50)) build(s, false); // warm-up
let steps = 0;
const repeat = 5;
// CPU time, not wall time: on a shared machine the wall clock mostly measures other processes.
const c0 = process.cpuUsage();
for (let r = 0; r < repeat; r++) for (const s of samples) steps += build(s, false).steps;
const c1 = process.cpuUsage(c0);
const oursNs = (c1.user + c1.system) * 1000;
const oursPerStep = oursNs / steps;
console.log(`bpfkit scalar domain: ${programs} programs x${repeat}, ${steps} scalar steps (emitting the program included, formatting not), ${oursPerStep.toFixed(0)} ns CPU per step`);

// The kernel's side: its reported verification time per processed instruction.
let kernel: Kernel | undefined;
try {
  kernel = await Kernel.open();
} catch (e) {
  console.log(`kernel side skipped: ${(e as Error).message}`);
}
if (kernel) {
  let usec = 0, insns = 0, loaded = 0;
  for (const s of samples) {
    const c = build(s);
    let log: string;
    try {
      const p = kernel.load(c.spec, { logLevel: 4 });
      log = p.verifierLog ?? '';
      p.close();
    } catch (e) {
      if (!(e instanceof VerifierError)) throw e;
      log = e.log;
    }
    const t = /verification time (\d+) usec/.exec(log);
    const n = /processed (\d+) insns/.exec(log);
    if (!t || !n) continue;
    usec += Number(t[1]);
    insns += Number(n[1]);
    loaded++;
  }
  const kernelPerInsn = (usec * 1000) / Math.max(1, insns);
  console.log(`kernel verifier: ${loaded} programs, ${insns} processed insns, ${usec} usec in all, ${kernelPerInsn.toFixed(0)} ns per processed insn`);
  console.log(`ratio (bpfkit scalar step / kernel insn): ${(oursPerStep / kernelPerInsn).toFixed(2)}`);
}
