import { jitSource, parseProgram, kernelLoad } from '../src/cbpf/index.js';
import { execFileSync } from 'node:child_process';
const prog = parseProgram(execFileSync('tcpdump', ['-ddd', 'tcp port 80'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
const cur = jitSource(prog);
const v2 = cur.replace(/if \(len < o \+ 2\) \{[^}]*\} else \{ (o = o \| 0; A = [^}]*;) \}/g, 'if (len < o + 2) return 0; $1');
const v3 = cur.replace(/if \(len < (\d+)\) \{[^}]*\} else (A = [^\n]*;)/g, 'if (len < $1) return 0; $2').replace(/if \(len < o \+ 2\) \{[^}]*\} else \{ (o = o \| 0; A = [^}]*;) \}/g, 'if (len < o + 2) return 0; $1');
const rt = { load: kernelLoad, fault: () => new Error('x') };
const r = () => Math.random();
const made: Uint8Array[] = [];
for (let i = 0; i < 2000; i++) { const p = new Uint8Array(60 + Math.floor(r() * 1400)); p[12] = r() < 0.2 ? 0x86 : 8; p[13] = p[12] === 8 ? 0 : 0xdd; p[14] = 0x45; p[20] = 6; p[23] = r() < 0.6 ? 6 : 17; p[36] = 0; p[37] = r() < 0.3 ? 80 : 443; made.push(p); }
for (const [name, src] of Object.entries({ cur, v2, v3, cur2: cur })) {
  const fn = new Function('rt', `'use strict'; // ${name}\nreturn function f(p, wl, aux) {\n${src}\n};`)(rt);
  const loop = new Function('run', 'packets', 'reps', `// ${name}\nlet sum = 0; for (let r = 0; r < reps; r++) for (let i = 0; i < packets.length; i++) { const p = packets[i]; sum += run(p, p.length); } return sum;`);
  let best = 1e9;
  for (let round = 0; round < 15; round++) { const t0 = process.hrtime.bigint(); loop(fn, made, 100); best = Math.min(best, Number(process.hrtime.bigint() - t0) / (100 * made.length)); }
  console.log(name, best.toFixed(2), src === cur ? '' : 'changed');
}
