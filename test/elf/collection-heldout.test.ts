// The held-out clang objects through loadCollection in both VM engines, against the kernel's outcomes recorded by test/kernel/collection-heldout.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vmBackend, type VmMap } from '../../src/ebpf/index.js';
import { openCollection } from '../../src/elf/index.js';
import { repoRoot } from '../helpers/reference.js';
import { clangSkip, fixtureBuilder } from './clang.js';
import { HELDOUT, runCase, type CaseOutcome } from './heldout-cases.js';
import { TWINS } from './heldout-twins.js';

const why = clangSkip('held-out objects in the vm');
const recorded = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/collection-heldout.json'), 'utf8')) as Record<string, CaseOutcome>;
// CO-RE objects resolve against the kernel the recording was made on; without a vmlinux here they resolve against their own BTF.
const VMLINUX = '/sys/kernel/btf/vmlinux';
const vmlinux = existsSync(VMLINUX) ? new Uint8Array(readFileSync(VMLINUX)) : undefined;
const vmInfo = (m: VmMap) => ({ name: m.spec.name, type: m.spec.type, keySize: m.spec.keySize, valueSize: m.spec.valueSize, maxEntries: m.spec.maxEntries, flags: m.spec.flags ?? 0 });

describe.skipIf(why !== undefined)('held-out clang objects in the VM reproduce the kernel\'s recorded runs and maps', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  it('the recording covers every case of the table', () => {
    expect(Object.keys(recorded)).toEqual(HELDOUT.map((c, i) => `${i}:${c.object}`));
  });

  HELDOUT.forEach((c, i) => {
    const key = `${i}:${c.object}`;
    const core = c.object.includes('core');
    it.skipIf(core && !vmlinux)(`${key} (interp and jit)`, async () => {
      const bytes = b.build(c.object, c.flags).bytes;
      for (const engine of ['interp', 'jit'] as const) {
        const v = await runCase(c, bytes, vmBackend({ engine, coreTarget: vmlinux }), vmInfo);
        expect(v, engine).toEqual(recorded[key]);
      }
    });
  });

  // Hand-assembled twins of three objects: loaded from hand-made specs, they give the clang objects' kernel results.
  for (const [key, twin] of Object.entries(TWINS)) {
    it(`twin of ${key} (interp and jit)`, async () => {
      const c = HELDOUT[Number(key.split(':')[0])];
      for (const engine of ['interp', 'jit'] as const) {
        expect(await runCase(c, twin, vmBackend({ engine }), vmInfo), engine).toEqual(recorded[key]);
      }
    });
  }

  it('openCollection: .rodata variables read from the object, changed before load, as the constants case recorded', async () => {
    const bytes = b.build('coll-xdp-fw').bytes;
    const obj = openCollection<{ blocked_port: number; min_len: number }>(bytes, { name: 'coll-xdp-fw' });
    expect(obj.rodata).toEqual({ blocked_port: 53, min_len: 34 });
    obj.rodata.blocked_port = 80;
    using coll = obj.load();
    const want = recorded['1:coll-xdp-fw'].runs;
    const runs = HELDOUT[1].runs.map((r) => coll.program(r.program).testRun(r.input).retval);
    expect(runs).toEqual(want.map((r) => r.retval));
    (obj.rodata as Record<string, number>).no_such = 1;
    expect(() => obj.load()).toThrowError(expect.objectContaining({ code: 'E_COLL_CONST' }) as Error);
  });
});
