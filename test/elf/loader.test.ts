// The ELF loader on clang-19 objects built from test/fixtures-src: maps, programs, linked calls, global data, line info, CO-RE, run in the VM.
import { afterAll, describe, expect, it } from 'vitest';
import { ArrayOfMapsMap, createMap, MapType, ProgArrayMap, ProgType, vm, type VmMapLike } from '../../src/ebpf/index.js';
import { loadCollection, loadCollectionSpec, sourceLine, AttachType, type CollectionSpec } from '../../src/elf/index.js';
import { BpfkitError } from '../../src/util/index.js';
import { clangSkip, fixtureBuilder } from './clang.js';

const skip = clangSkip('elf loader on clang objects');

/** VM maps for a collection, global data written with its initial value (as a loader must). */
function vmMaps(coll: CollectionSpec): Map<string, VmMapLike> {
  return new Map([...coll.maps.values()].map((s) => {
    const m = createMap(s);
    if (s.initialValue) m.updateElem(new Uint8Array(4), s.initialValue, 0);
    return [s.name, m] as const;
  }));
}

const u32 = (b: Uint8Array | undefined): number | undefined => (b ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true) : undefined);
const key = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

describe.skipIf(skip)('loadCollectionSpec: elf-xdp.c', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());
  const coll = (): CollectionSpec => loadCollectionSpec(b.build('elf-xdp').bytes);

  it('reads license and the BTF, legacy and global-data maps', () => {
    const c = coll();
    expect(c.license).toBe('GPL');
    expect(c.maps.get('counters')).toMatchObject({ name: 'counters', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    // The key and value type ids libbpf passes with the BTF fd: __u32 and a 64-bit integer here.
    const btf = c.btf!;
    expect(btf.sizeOf(c.maps.get('counters')!.btfKeyTypeId!)).toBe(4);
    expect(btf.sizeOf(c.maps.get('counters')!.btfValueTypeId!)).toBe(8);
    expect(c.maps.get('by_len')).toMatchObject({ name: 'by_len', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 128, flags: 1, pinning: 1 });
    expect(c.maps.get('outer')).toMatchObject({
      type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 3,
      innerMap: { type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 },
    });
    expect(c.maps.get('legacy')).toEqual({ name: 'legacy', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 7, flags: 0 });
    // drop_len = 60 then static_count = 3 in .data; bonus = 5 in .rodata; .bss has no bytes in the file.
    expect([...c.maps.get('.data')!.initialValue!]).toEqual([60, 0, 0, 0, 3, 0, 0, 0]);
    expect([...c.maps.get('.rodata')!.initialValue!]).toEqual([5, 0, 0, 0]);
    expect(c.maps.get('.rodata')!.flags).toBe(0x480);
    expect(c.maps.get('.bss')).toEqual({ name: '.bss', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x400, btfValueTypeId: btf.byName('.bss')[0].id }); // BPF_F_MMAPABLE and the DATASEC as value type, as libbpf
  });

  it('makes one program per global function, typed from the section table', () => {
    const c = coll();
    expect([...c.programs.keys()].sort()).toEqual(['sock_len', 'xdp_len', 'xdp_pass']);
    expect(c.programs.get('xdp_len')).toMatchObject({ type: ProgType.BPF_PROG_TYPE_XDP, expectedAttachType: AttachType.BPF_XDP, sectionName: 'xdp', license: 'GPL' });
    expect(c.programs.get('sock_len')!.type).toBe(ProgType.BPF_PROG_TYPE_SOCKET_FILTER);
    expect(c.programs.get('sock_len')!.expectedAttachType).toBeUndefined();
    expect(c.programs.get('xdp_pass')!.insns).toHaveLength(2);
    expect(c.programs.get('xdp_pass')!.maps).toBeUndefined();
  });

  it('appends subprograms and points every call at a function start named by func info', () => {
    const p = coll().programs.get('xdp_len')!;
    const starts = new Set(p.funcInfo!.map((f) => f.insn));
    expect(starts.size).toBe(4); // xdp_len, frame_len, count, add_bonus
    let slot = 0;
    for (const ins of p.insns) {
      if (ins.code === 0x85 && ins.src === 1) expect(starts.has(slot + 1 + ins.imm)).toBe(true);
      slot += ins.code === 0x18 ? 2 : 1;
    }
    expect(p.maps!.map((m) => m.name).sort()).toEqual(['.bss', '.data', '.rodata', 'by_len', 'counters']);
  });

  it('binds map and global-data references by name, with value offsets', () => {
    const p = coll().programs.get('xdp_len')!;
    const lddw = p.insns.filter((i) => i.code === 0x18);
    expect(lddw.every((i) => i.ref !== undefined)).toBe(true);
    // static_count is .data + 4 (a section-symbol reference), drop_len .data + 0.
    const data = lddw.filter((i) => i.ref === '.data').map((i) => Number(i.imm64! >> 32n)).sort();
    expect(data).toEqual([0, 4]);
    expect(lddw.filter((i) => i.ref === 'counters')[0].src).toBe(1);
    expect(lddw.filter((i) => i.ref === '.bss')[0].src).toBe(2);
  });

  it('keeps source lines from BTF.ext line info', () => {
    const p = coll().programs.get('xdp_len')!;
    expect(sourceLine(p, 0)?.line).toContain('frame_len(ctx)');
    expect(sourceLine(p, 0)?.fileName).toMatch(/elf-xdp\.c$/);
    const last = p.lineInfo![p.lineInfo!.length - 1];
    expect(last.insn).toBeLessThan(p.insns.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0));
  });

  for (const engine of ['interp', 'jit'] as const) {
    it(`runs the XDP program in the VM (${engine}): verdicts, maps, global data`, () => {
      const c = coll();
      const maps = vmMaps(c);
      const prog = vm.load(c.programs.get('xdp_len')!, { maps, engine });
      expect(prog.testRun({ data: new Uint8Array(40) }).retval).toBe(2); // XDP_PASS below drop_len
      expect(prog.testRun({ data: new Uint8Array(100) }).retval).toBe(1); // XDP_DROP
      expect(u32(maps.get('.bss')!.lookupElem(key(0)))).toBe(100);
      expect(u32(maps.get('.data')!.lookupElem(key(0))?.subarray(4))).toBe(5); // static_count 3 + 2 runs
      expect(u32(maps.get('counters')!.lookupElem(key(0)))).toBe(1);
      expect(u32(maps.get('counters')!.lookupElem(key(1)))).toBe(1);
      expect(u32(maps.get('by_len')!.lookupElem(key(40)))).toBe(45); // len + bonus
    });
  }

  it('runs the socket filter in the VM with the legacy map and a call into .text', () => {
    const c = coll();
    const maps = vmMaps(c);
    const prog = vm.load(c.programs.get('sock_len')!, { maps });
    const r = prog.testRun({ data: new Uint8Array(64) }).retval;
    const legacy = u32(maps.get('legacy')!.lookupElem(key(0)))!;
    expect(r).toBe(legacy + 5); // returns skb->len + bonus and adds skb->len to legacy[0]
    expect(legacy).toBeGreaterThan(0);
  });
});

describe.skipIf(skip)('loadCollectionSpec: elf-core.c against its own BTF', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  it('resolves field offsets, sizes, existence and type sizes as C lays out the local types', () => {
    const c = loadCollectionSpec(b.build('elf-core').bytes);
    const run = (name: string, data = new Uint8Array(16)): number => vm.load(c.programs.get(name)!).testRun({ data }).retval;
    expect(run('tgid_offset')).toBe(4);
    expect(run('comm_offset')).toBe(8);
    expect(run('comm_size')).toBe(16);
    expect(run('skb_len_offset')).toBe(0);
    expect(run('skb_protocol_size')).toBe(2);
    expect(run('field_exists')).toBe(3); // both exist in the object's own BTF
    expect(run('type_size')).toBe(16);
    expect(run('enum_value')).toBe(4 + 10); // XDP_REDIRECT, and XDP_TX exists
    expect(run('type_exists')).toBe(3); // both types exist in the object's own BTF
    expect(run('read_b', new Uint8Array([1, 0, 0, 0, 7, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]))).toBe(7);
  });
});

describe.skipIf(skip)('loadCollectionSpec: elf-callbacks.c and elf-sections.c', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  for (const engine of ['interp', 'jit'] as const) {
    it(`links a bpf_loop callback (function pointer) and reads a custom .data.* section (${engine})`, () => {
      const c = loadCollectionSpec(b.build('elf-callbacks').bytes);
      expect([...c.maps.keys()]).toEqual(['.data.steps']);
      const spec = c.programs.get('loop_sum')!;
      const fp = spec.insns.find((i) => i.code === 0x18 && i.src === 4);
      expect(fp).toBeDefined();
      const prog = vm.load(spec, { maps: vmMaps(c), engine });
      expect(prog.testRun({ data: new Uint8Array(20) }).retval).toBe(2 * 3 * 20); // twice(len * step)
      expect(prog.testRun({ data: new Uint8Array(33) }).retval).toBe(2 * 3 * 33);
    });
  }

  it('links a static subprogram of the program section called without a relocation, and makes no program of it', () => {
    const c = loadCollectionSpec(b.build('elf-callbacks').bytes);
    expect([...c.programs.keys()].sort()).toEqual(['loop_sum', 'one_more']);
    const spec = c.programs.get('one_more')!;
    expect(spec.insns).toHaveLength(5 + 3); // one_more, then plus_one appended
    expect(vm.load(spec).testRun({ data: new Uint8Array(41) }).retval).toBe(42);
  });

  it('a SEC("?...") program is typed by its section without the `?` and marked not to autoload; loadCollection skips it unless named', () => {
    const bytes = b.build('elf-autoload').bytes;
    const c = loadCollectionSpec(bytes);
    const got = Object.fromEntries([...c.programs.values()].map((p) => [p.name, [p.type, p.sectionName, p.autoload ?? true]]));
    expect(got).toEqual({ always: [3, 'tc', true], on_request: [3, 'tc', false], xdp_on_request: [6, 'xdp', false] });
    using coll = loadCollection(bytes);
    expect([...coll.programs.keys()]).toEqual(['always']);
    using picked = loadCollection(bytes, undefined, { programs: ['on_request'] });
    expect(picked.program('on_request').testRun({ data: new Uint8Array(64) }).retval).toBe(2);
  });

  it('types every program by its section, with the attach target after the prefix', () => {
    const c = loadCollectionSpec(b.build('elf-sections').bytes);
    const got = Object.fromEntries([...c.programs.values()].map((p) => [p.name, [p.type, p.expectedAttachType ?? null, p.attachTo]]));
    // Program and attach type numbers as in <linux/bpf.h>.
    expect(got).toEqual({
      tp_openat: [5, null, 'syscalls/sys_enter_openat'], tp_switch: [5, null, 'sched/sched_switch'],
      raw_enter: [17, null, 'sys_enter'], raw_exit: [17, null, 'sys_exit'],
      kp_unlink: [2, null, 'do_unlinkat'], krp_unlink: [2, null, 'do_unlinkat'],
      up_main: [2, null, '/bin/true:main'], usdt_probe: [2, null, './app:prov:probe'],
      on_sample: [7, null, ''], tc_pass: [3, null, ''], cls_pass: [3, null, ''], tcx_in: [3, 46, ''],
      cg_in: [8, 0, ''], cg_out: [8, 1, ''], cg_sock: [9, 2, ''], sock_all: [1, null, ''], xdp_drop: [6, 37, ''],
      btf_switch: [26, 23, 'sched_switch'], fe_unlink: [26, 24, 'do_unlinkat'],
    });
  });
});

describe.skipIf(skip)('loadCollectionSpec: elf-mapinit.c (.values initialisers)', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  it('records the initialised slots of a map of maps and a program array', () => {
    const c = loadCollectionSpec(b.build('elf-mapinit').bytes);
    expect(c.maps.get('outer')!.initialRefs).toEqual([{ index: 1, ref: 'inner_a' }, { index: 3, ref: 'inner_b' }]);
    expect(c.maps.get('jumps')!.initialRefs).toEqual([{ index: 1, ref: 'tail_target' }]);
    expect(c.maps.get('jumps')).toMatchObject({ type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(c.maps.get('inner_a')!.initialRefs).toBeUndefined();
  });

  it('a tail call through the filled program array runs the target in the VM', () => {
    const c = loadCollectionSpec(b.build('elf-mapinit').bytes);
    const maps = vmMaps(c);
    const jumps = maps.get('jumps') as ProgArrayMap;
    const outer = maps.get('outer') as ArrayOfMapsMap;
    const jumper = vm.load(c.programs.get('jumper')!, { maps });
    expect(jumper.testRun({ data: new Uint8Array(20) }).retval).toBe(2); // empty slot: the tail call falls through
    for (const r of c.maps.get('jumps')!.initialRefs!) jumps.setProgram(r.index, vm.load(c.programs.get(r.ref)!, { maps }));
    for (const r of c.maps.get('outer')!.initialRefs!) outer.setInner(r.index, maps.get(r.ref) as Parameters<ArrayOfMapsMap['setInner']>[1]);
    expect(jumper.testRun({ data: new Uint8Array(20) }).retval).toBe(1); // XDP_DROP from tail_target
    expect(outer.lookupInner(key(3))).toBe(maps.get('inner_b'));
  });
});

describe('loadCollectionSpec: bad input', () => {
  it('rejects non-ELF, truncated and non-BPF files with typed errors', () => {
    expect(() => loadCollectionSpec(new Uint8Array(10))).toThrowError(expect.objectContaining({ code: 'E_ELF_TRUNCATED' }) as Error);
    const notBpf = new Uint8Array(64);
    notBpf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    notBpf[0x12] = 62; // EM_X86_64
    expect(() => loadCollectionSpec(notBpf)).toThrowError(expect.objectContaining({ code: 'E_ELF_MACHINE' }) as Error);
  });

  it.skipIf(skip)('never crashes on corrupted objects: every failure is a BpfkitError', () => {
    const b = fixtureBuilder();
    try {
      const good = b.build('elf-xdp').bytes;
      let seed = 12345;
      const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
      for (let t = 0; t < 300; t++) {
        const bad = good.slice();
        for (let k = 0; k < 1 + rnd(8); k++) bad[rnd(bad.length)] = rnd(256);
        const cut = rnd(4) === 0 ? bad.subarray(0, rnd(bad.length)) : bad;
        try {
          loadCollectionSpec(cut);
        } catch (e) {
          if (!(e instanceof BpfkitError)) throw new Error(`trial ${t}: ${String(e)}`);
        }
      }
    } finally {
      b.cleanup();
    }
  });
});
