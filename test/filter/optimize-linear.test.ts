/** The optimizer's work (its step meter, not time) grows linearly with the length of long or-chains. */

import { describe, expect, it } from 'vitest';
import { emit } from '../../src/filter/emit.js';
import { generate, parseFilter } from '../../src/filter/compile.js';
import { optimizeWithStats } from '../../src/filter/optimize/index.js';

/** Chains people write by the thousand: ports, hosts, nets. */
const SHAPES: Record<string, (i: number) => string> = {
  port: (i) => `port ${i}`,
  host: (i) => `host 10.${(i >> 8) & 255}.${i & 255}.1`,
  'tcp dst port': (i) => `tcp dst port ${i}`,
  net: (i) => `net 10.${(i >> 8) & 255}.${i & 255}.0/24`,
};

function work(shape: (i: number) => string, n: number): { work: number; insns: number; out: number; rounds: number } {
  const cfg = generate(parseFilter(Array.from({ length: n }, (_, i) => shape(i)).join(' or ')), { linkType: 1 });
  const r = optimizeWithStats(cfg);
  expect(r.stalled).toBe(false);
  return { work: r.work, insns: emit(cfg).length, out: emit(r.cfg).length, rounds: r.rounds };
}

describe('optimizer work on long chains', () => {
  for (const [name, shape] of Object.entries(SHAPES)) {
    it(`"${name} 0 or ... or ${name} N": work per instruction stays flat as N grows 8-fold`, () => {
      const small = work(shape, 50);
      const large = work(shape, 400);
      const perSmall = small.work / small.insns;
      const perLarge = large.work / large.insns;
      console.log(`[optimize-linear] ${name}: 50 terms ${small.insns} insns -> ${small.out}, ${small.work} steps (${perSmall.toFixed(1)}/insn, ${small.rounds} rounds); 400 terms ${large.insns} -> ${large.out}, ${large.work} steps (${perLarge.toFixed(1)}/insn, ${large.rounds} rounds)`);
      expect(large.insns).toBeGreaterThan(7 * small.insns);
      // Linear work: the steps per input instruction do not grow with the chain (10% slack).
      expect(perLarge).toBeLessThanOrEqual(perSmall * 1.1);
      // (The optimized program grows a little faster than the chain: jumps over 255 need an extra `ja`, as in libpcap.)
      expect(large.out).toBeLessThan(large.insns);
    });
  }
});
