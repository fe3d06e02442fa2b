// The held-out clang objects through loadCollection into the kernel and both VM engines: same maps (names, types, sizes, flags), same test runs, same map contents.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmBackend, type VmMap } from '../../src/ebpf/index.js';
import { loadCollection, openCollection } from '../../src/elf/index.js';
import { Kernel, vmlinuxBtfBytes, type KernelMap } from '../../src/kernel/index.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { HELDOUT, frame, runCase, type CaseOutcome } from '../elf/heldout-cases.js';
import { TWINS } from '../elf/heldout-twins.js';
import { repoRoot, skipReason } from '../helpers/reference.js';
import { kernelSkip, mountPrivate } from './helpers/kernel.js';

const why = (await kernelSkip('held-out objects in the kernel')) ?? clangSkip('held-out objects in the kernel')
  ?? skipReason('held-out objects in the kernel', { files: ['/sys/kernel/btf/vmlinux'] });
/** Where the kernel's outcomes are recorded for the VM-only unit suite (written with BPFKIT_UPDATE=1). */
const RECORD = path.join(repoRoot, 'test/fixtures/collection-heldout.json');

const kernelInfo = (m: KernelMap) => {
  const i = m.info();
  return { name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.mapFlags };
};
const vmInfo = (m: VmMap) => ({ name: m.spec.name, type: m.spec.type, keySize: m.spec.keySize, valueSize: m.spec.valueSize, maxEntries: m.spec.maxEntries, flags: m.spec.flags ?? 0 });

describe.skipIf(why !== undefined)('held-out clang objects: loadCollection in the kernel and the VM', () => {
  const b = fixtureBuilder();
  let kernel: Kernel;
  const recorded: Record<string, CaseOutcome> = {};
  let compared = 0;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });
  afterAll(() => {
    b.cleanup();
    console.log(`[held-out] ${Object.keys(recorded).length} loads, ${compared} runs compared on kernel, vm interp and vm jit`);
    if (process.env.BPFKIT_UPDATE && Object.keys(recorded).length === HELDOUT.length) {
      writeFileSync(`${RECORD}.tmp`, `${JSON.stringify(recorded, null, 1)}\n`);
      renameSync(`${RECORD}.tmp`, RECORD);
    }
  });

  HELDOUT.forEach((c, i) => {
    const key = `${i}:${c.object}`;
    it(`${key}: the VM's runs and maps are the kernel's`, async () => {
      const bytes = b.build(c.object, c.flags).bytes;
      const k = await runCase(c, bytes, kernel, kernelInfo);
      for (const engine of ['interp', 'jit'] as const) {
        const v = await runCase(c, bytes, vmBackend({ engine, coreTarget: vmlinuxBtfBytes() }), vmInfo);
        expect(v, `${c.object} in the vm (${engine})`).toEqual(k);
      }
      compared += k.runs.length;
      recorded[key] = k;
      // Every case has at least one run the kernel executed or refused as the table means it to.
      expect(k.runs.length).toBe(c.runs.length);
    });
  });

  // The hand-assembled twins of three objects load from specs into the kernel and give what the clang objects gave there.
  for (const [key, twin] of Object.entries(TWINS)) {
    it(`twin of ${key} in the kernel`, async () => {
      const c = HELDOUT[Number(key.split(':')[0])];
      const k = await runCase(c, b.build(c.object, c.flags).bytes, kernel, kernelInfo);
      expect(await runCase(c, twin, kernel, kernelInfo)).toEqual(k);
      compared += k.runs.length;
    });
  }

  it('global data maps carry libbpf\'s names and flags, and .rodata is frozen', () => {
    using coll = loadCollection(b.build('coll-xdp-fw').bytes, kernel, { name: 'coll-xdp-fw' });
    const names = Object.fromEntries([...coll.maps].map(([n, m]) => [n, [m.info().name, m.info().mapFlags]]));
    expect(names).toEqual({
      '.rodata': ['coll_xdp.rodata', 0x480], '.data': ['coll_xdp.data', 0x400], '.bss': ['coll_xdp.bss', 0x400], by_proto: ['by_proto', 0],
    });
    expect(() => coll.map('.rodata').set(new Uint8Array(4), new Uint8Array(8))).toThrowError(expect.objectContaining({ errno: 1 }) as Error);
    // Created with the object's BTF, as libbpf does: by_proto's key and value typed, .rodata's value its DATASEC.
    const spec = coll.spec.maps;
    expect(coll.map('by_proto').info()).toMatchObject({ btfKeyTypeId: spec.get('by_proto')!.btfKeyTypeId, btfValueTypeId: spec.get('by_proto')!.btfValueTypeId });
    expect(coll.map('by_proto').info().btfId).toBeGreaterThan(0);
    expect(coll.map('.rodata').info()).toMatchObject({ btfKeyTypeId: 0, btfValueTypeId: spec.get('.rodata')!.btfValueTypeId });
    expect(spec.get('.rodata')!.btfValueTypeId).toBeGreaterThan(0);
    using vcoll = loadCollection(b.build('coll-xdp-fw').bytes, undefined, { name: 'coll-xdp-fw' });
    expect(() => vcoll.map('.rodata').set(new Uint8Array(4), new Uint8Array(8))).toThrowError(expect.objectContaining({ errno: 1 }) as Error);
    coll.map('.data').set(new Uint8Array(4), new Uint8Array(4)); // .data stays writable
  });

  it('openCollection: a .rodata variable set before load is what the kernel\'s program sees', () => {
    const obj = openCollection(b.build('coll-xdp-fw').bytes, { name: 'coll-xdp-fw' });
    obj.rodata.blocked_port = 80;
    using coll = obj.load(kernel);
    expect([...coll.map('.rodata').get(new Uint8Array(4))!]).toEqual([80, 0, 0, 0, 34, 0, 0, 0]);
    expect(coll.program('xdp_fw').testRun({ data: frame(17, 80) }).retval).toBe(1); // XDP_DROP
    expect(coll.program('xdp_fw').testRun({ data: frame(17, 53) }).retval).toBe(2);
  });

  it('CO-RE: a field inside an anonymous union exists, as libbpf resolves it', async () => {
    using coll = loadCollection(b.build('coll-core-skb').bytes, kernel);
    expect(coll.program('core_mask').testRun({ data: new Uint8Array(64) }).retval).toBe(2);
    const mask = new DataView(coll.map('.bss').get(new Uint8Array(4))!.buffer).getUint32(0, true);
    // tstamp, skb_mstamp_ns and len exist; the invented fields and struct do not; tstamp is 8 bytes; XDP_REDIRECT exists.
    expect(mask.toString(16)).toBe((0b100111 | (8 << 8) | (1 << 16)).toString(16));
  });

  it('LIBBPF_PIN_BY_NAME: the first load pins, the second reuses the pinned map (kernel and vm)', () => {
    const fs = mountPrivate('bpf');
    try {
      const bytes = b.build('elf-xdp').bytes;
      const k4 = new Uint8Array([100, 0, 0, 0]);
      for (const backend of [kernel, vmBackend({ pins: new Map() })]) {
        const first = loadCollection(bytes, backend as Kernel, { pinPath: fs.dir });
        first.map('by_len').set(k4, Uint8Array.from([7, 0, 0, 0]));
        first.close();
        using second = loadCollection(bytes, backend as Kernel, { pinPath: fs.dir });
        expect([...second.map('by_len').get(k4)!]).toEqual([7, 0, 0, 0]);
      }
      expect(existsSync(path.join(fs.dir, 'by_len'))).toBe(true);
    } finally {
      fs.cleanup();
    }
  });
});

describe.skipIf(why !== undefined)('a rejected object through loadCollection', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  it('the verifier error names the C line from the object\'s line info', async () => {
    const kernel = await Kernel.open();
    let err: unknown;
    try {
      loadCollection(b.build('coll-reject').bytes, kernel);
    } catch (e) {
      err = e;
    }
    const e = err as { code: string; message: string; source?: { file: string; line: number; text: string } };
    expect(e.code).toBe('E_VERIFIER');
    expect(e.source).toMatchObject({ line: 8, text: 'return p[20] == 7 ? XDP_DROP : XDP_PASS;' });
    expect(e.source!.file).toMatch(/coll-reject\.c$/);
    expect(e.message).toMatch(/^load collection: load program "no_bounds_check": verifier: R1 offset is outside of the packet in `return p\[20\] == 7 \? XDP_DROP : XDP_PASS;` \(at .*coll-reject\.c, line 8, insn 1\)$/);
  });
});
