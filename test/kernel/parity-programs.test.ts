// Kernel parity: fast-check programs run by the kernel (BPF_PROG_TEST_RUN) and by the VM (interpreter and JIT) must give identical r0, packet out and maps.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMap, jitAvailable, vm } from '../../src/ebpf/index.js';
import type { BpfMap, BpfProgram, ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, VerifierError } from '../../src/kernel/index.js';
import { toHex } from '../../src/util/index.js';
import { buildProgram, recipeArb } from './helpers/gen.js';
import type { Family, Recipe } from './helpers/gen.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('kernel parity (VM vs kernel)');

/** Programs per family; the total is over 10,000 per run. BPFKIT_PARITY_SCALE multiplies it (e.g. 0.1 for a quick look). */
const scale = Number(process.env.BPFKIT_PARITY_SCALE ?? '1');
const RUNS: Record<Family, number> = { alu: 2500, jump: 2500, stack: 2000, packet: 2000, map: 1500 };

interface Outcome {
  retval: number;
  dataOut: string;
  maps: Record<string, string[]>;
}

async function contents(m: BpfMap): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of m.entries()) out.push(`${toHex(k)}=${toHex(v)}`);
  return out.sort();
}

async function observe(p: BpfProgram, maps: ReadonlyMap<string, BpfMap>, packet: Uint8Array): Promise<Outcome> {
  const r = await p.testRun({ data: packet });
  const m: Record<string, string[]> = {};
  for (const [name, map] of maps) m[name] = await contents(map);
  return { retval: r.retval, dataOut: toHex(r.dataOut), maps: m };
}

async function onVm(spec: ProgramSpec, packet: Uint8Array, engine: 'interp' | 'jit'): Promise<Outcome> {
  const maps = new Map((spec.maps ?? []).map((ms) => [ms.name, createMap(ms)]));
  using p = vm.load(spec, { engine, maps });
  return observe(p, maps, packet);
}

/** A listing for failure messages: one instruction per line as raw fields. */
function listing(spec: ProgramSpec): string {
  return spec.insns.map((i, n) => `${n}: code=0x${i.code.toString(16)} dst=r${i.dst} src=r${i.src} off=${i.off} imm=${i.imm}${i.imm64 !== undefined ? ` imm64=${i.imm64}` : ''}${i.ref ? ` ref=${i.ref}` : ''}`).join('\n');
}

describe.skipIf(why !== undefined)('kernel parity: generated programs, VM vs kernel', () => {
  let kernel: Kernel;
  const engines: ('interp' | 'jit')[] = jitAvailable() ? ['interp', 'jit'] : ['interp'];
  const tally = { programs: 0, insns: 0 };

  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  for (const family of Object.keys(RUNS) as Family[]) {
    it(`${family}: identical r0, packet and maps`, async () => {
      await fc.assert(
        fc.asyncProperty(recipeArb(family), async (recipe: Recipe) => {
          const spec = buildProgram(recipe, `parity_${family}`);
          let kp;
          try {
            kp = kernel.load(spec);
          } catch (e) {
            // The generator only makes programs the verifier should accept: a rejection is a generator bug worth seeing.
            if (e instanceof VerifierError) throw new Error(`${e.message}\n${e.log.split('\n').slice(-8).join('\n')}\n${listing(spec)}`);
            throw e;
          }
          let want: Outcome;
          try {
            want = await observe(kp, kp.maps, recipe.packet);
          } finally {
            kp.close();
          }
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
    expect(tally.programs).toBe(total);
  });
});
