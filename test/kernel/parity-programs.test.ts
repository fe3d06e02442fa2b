// Kernel parity: fast-check programs run by the kernel (BPF_PROG_TEST_RUN) and by the VM (interpreter and JIT) must give identical r0, packet out and maps.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernel/index.js';
import { POOL, buildProgram, recipeArb } from './helpers/gen.js';
import type { Family, Recipe } from './helpers/gen.js';
import { kernelSkip } from './helpers/kernel.js';
import { engines, listing, onKernel, onVm } from './helpers/parity.js';

const why = await kernelSkip('kernel parity (VM vs kernel)');

/** Programs per family; 10,000 per run in all. BPFKIT_PARITY_SCALE multiplies it (e.g. 0.1 for a quick look). */
const scale = Number(process.env.BPFKIT_PARITY_SCALE ?? '1');
const RUNS: Record<Family, number> = { alu: 2000, jump: 2000, stack: 1800, packet: 1800, map: 1200, skb: 1200 };

describe('the generator covers the instruction set', () => {
  it('every ALU op in both widths, K and X forms, signed div/mod, movsx, byte swaps; every jump op in JMP and JMP32', () => {
    const seen = new Set<string>();
    for (const r of fc.sample(recipeArb('jump'), { numRuns: 3000, seed: 1 })) {
      for (const op of r.ops) if (op.k === 'alu' || op.k === 'jmp') seen.add(`${op.k}:0x${op.code.toString(16)}:${op.k === 'alu' ? op.off : 0}`);
    }
    const want: string[] = [];
    for (const cls of [0x04, 0x07]) {
      for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]) for (const x of [0, 8]) want.push(`alu:0x${(cls | op | x).toString(16)}:0`);
      want.push(`alu:0x${(cls | 0x80).toString(16)}:0`, `alu:0x${(cls | 0x3c).toString(16)}:1`, `alu:0x${(cls | 0x94).toString(16)}:1`, `alu:0x${(cls | 0x38).toString(16)}:1`, `alu:0x${(cls | 0x98).toString(16)}:1`);
      want.push(`alu:0x${(cls | 0xb8).toString(16)}:8`, `alu:0x${(cls | 0xb8).toString(16)}:16`);
    }
    want.push('alu:0xbf:32', 'alu:0xd4:0', 'alu:0xdc:0', 'alu:0xd7:0');
    for (const cls of [0x05, 0x06]) for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) for (const x of [0, 8]) want.push(`jmp:0x${(cls | op | x).toString(16)}:0`);
    expect(want.filter((w) => !seen.has(w))).toEqual([]);
    expect(POOL.packet).not.toContain(6);
  });
});

describe.skipIf(why !== undefined)('kernel parity: generated programs, VM vs kernel', () => {
  let kernel: Kernel;
  const tally = { programs: 0, insns: 0 };

  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  for (const family of Object.keys(RUNS) as Family[]) {
    it(`${family}: identical r0, packet and maps`, async () => {
      await fc.assert(
        fc.asyncProperty(recipeArb(family), async (recipe: Recipe) => {
          const spec = buildProgram(recipe, `parity_${family}`);
          // The generator only makes programs the verifier should accept: a rejection fails with the log and a listing.
          const want = await onKernel(kernel, spec, recipe.packet);
          for (const engine of engines) {
            const got = await onVm(spec, recipe.packet, engine);
            // The listing is built only for a mismatch: it is the slow part of a passing check.
            if (JSON.stringify(got) !== JSON.stringify(want)) expect({ engine, ...got }, listing(spec)).toEqual({ engine, ...want });
          }
          tally.programs++;
          tally.insns += spec.insns.length;
        }),
        { numRuns: Math.max(1, Math.round(RUNS[family] * scale)) },
      );
    });
  }

  it('ran the programs it promised', () => {
    const total = Object.values(RUNS).reduce((a, b) => a + Math.max(1, Math.round(b * scale)), 0);
    console.log(`[parity] ${tally.programs} programs (${tally.insns} instructions) agreed on kernel and VM (${engines.join(' + ')})`);
    // Shrinking after a failure runs more programs; a pass runs exactly the promised number.
    expect(tally.programs).toBeGreaterThanOrEqual(total);
  });
});
