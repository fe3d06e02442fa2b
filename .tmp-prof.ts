import { emit } from './src/filter/emit.js';
import { optimizeWithStats } from './src/filter/optimize/index.js';
import { compileFilter } from './src/filter/compile.js';
const n = Number(process.argv[2] ?? 300);
const reps = Number(process.argv[3] ?? 3);
const hosts = Array.from({ length: n }, (_, i) => `host 10.${(i >> 8) & 255}.${i & 255}.1`).join(' or ');
const { cfg, insns } = compileFilter(hosts, { optimize: false });
let best = Infinity;
let out = 0; let rounds = 0;
for (let i = 0; i < reps; i++) {
  const c0 = process.cpuUsage();
  const r = optimizeWithStats(cfg);
  out = emit(r.cfg).length; rounds = r.rounds;
  const c = process.cpuUsage(c0); best = Math.min(best, (c.user + c.system) / 1000);
}
console.log(`n=${n} unopt ${insns.length} -> ${out} insns, ${rounds} rounds, best ${best.toFixed(0)} ms`);
