import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parseProgram } from './src/cbpf/index.js';
import { cfgFromProgram } from './src/filter/cfg-from-program.js';
import { emit } from './src/filter/emit.js';
import { optimizeWithStats } from './src/filter/optimize/index.js';
import { compileFilter } from './src/filter/compile.js';
import { corpusDir } from './test/helpers/reference.js';
const cases = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as { kind: string; special?: string; unoptimized: string[]; optimized: string[] | null }[];
const out: string[] = [];
const t0 = performance.now();
for (const c of cases) {
  if (c.kind !== 'accept' || c.special) continue;
  const p = parseProgram(c.unoptimized.join('\n'), 'd');
  if (p.some((i) => i.code === 0x05 && i.k >= 0x80000000)) continue;
  const r = optimizeWithStats(cfgFromProgram(p));
  out.push(JSON.stringify([emit(r.cfg), r.rounds, r.rejectsAll, r.stalled]));
}
const t1 = performance.now();
for (const n of [20, 60, 120]) {
  for (const kind of ['host', 'net', 'port']) {
    const e = Array.from({ length: n }, (_, i) => kind === 'host' ? `host 10.${(i >> 8) & 255}.${i & 255}.1` : kind === 'net' ? `net 10.${i & 255}.0.0/16` : `port ${1000 + i}`).join(' or ');
    const { cfg } = compileFilter(e, { optimize: false });
    const r = optimizeWithStats(cfg);
    out.push(JSON.stringify([emit(r.cfg), r.rounds, r.rejectsAll, r.stalled]));
  }
}
const t2 = performance.now();
const h = createHash('sha256').update(out.join('\n')).digest('hex');
console.log(`${out.length} programs, corpus ${(t1 - t0).toFixed(0)} ms, big ${(t2 - t1).toFixed(0)} ms, hash ${h}`);
if (process.argv[2]) writeFileSync(process.argv[2], out.join('\n'));
