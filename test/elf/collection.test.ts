// loadCollection in the VM on hand-made specs: libbpf's internal map names, constants, pins, .values fills, and the errors a user meets.
import { describe, expect, it } from 'vitest';
import { MapType, ProgType, assembleLlvm, vmBackend, type MapSpec, type ProgramSpec, type VmMap } from '../../src/ebpf/index.js';
import { internalMapName, loadCollection, objectNameOf, type CollectionSpec } from '../../src/elf/index.js';

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const counts: MapSpec = { name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, pinning: 1 };
const ret1: ProgramSpec = { name: 'ret1', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: assembleLlvm('r0 = 1\nexit') };
const spec = (maps: MapSpec[], progs: ProgramSpec[] = [ret1]): CollectionSpec =>
  ({ programs: new Map(progs.map((p) => [p.name, p])), maps: new Map(maps.map((m) => [m.name, m])), license: 'GPL', version: 0 });

describe('internal map names as libbpf gives them', () => {
  it.each([
    ['xdp_prog', '.rodata', 'xdp_prog.rodata'], ['xdp_prog', '.bss', 'xdp_prog.bss'], ['coll-xdp-fw', '.data', 'coll_xdp.data'],
    ['a', '.rodata', 'a.rodata'], ['verylongobjectname', '.rodata', 'verylong.rodata'], ['x', '.data.counters', '.data.counters'],
    ['x', '.rodata.str1.1', '.rodata.str1.1'], ['x', '.data.a_very_long_section', '.data.a_very_lo'],
  ])('%s + %s → %s', (obj, sec, want) => expect(internalMapName(obj, sec)).toBe(want));

  it('object names: the file name up to its first dot', () => {
    expect(objectNameOf('/x/y/xdp_prog.bpf.o')).toBe('xdp_prog');
    expect(objectNameOf('plain')).toBe('plain');
  });
});

describe('loadCollection in the VM', () => {
  it('pins by name into the backend\'s pins and reuses a compatible pin; refuses a different one', () => {
    const pins = new Map<string, VmMap>();
    const be = vmBackend({ pins });
    const first = loadCollection(spec([counts]), be, { pinPath: '/pins' });
    first.map('counts').set(u32(1), u32(5));
    first.close();
    expect([...pins.keys()]).toEqual(['/pins/counts']);
    using second = loadCollection(spec([counts]), be, { pinPath: '/pins' });
    expect([...second.map('counts').get(u32(1))!]).toEqual([...u32(5)]);
    expect(() => loadCollection(spec([{ ...counts, maxEntries: 8 }]), be, { pinPath: '/pins' })).toThrowError(expect.objectContaining({ code: 'E_COLL_PIN' }) as Error);
  });

  it('constants rewrite .rodata before load; an unknown name or a wrong size is a usage error', () => {
    // Without BTF there is no variable to find by name.
    const ro: MapSpec = { name: '.rodata', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0x480, initialValue: u32(1) };
    expect(() => loadCollection(spec([ro]), undefined, { constants: { nope: 1 } })).toThrowError(expect.objectContaining({ code: 'E_COLL_CONST' }) as Error);
  });

  it('.values: a slot naming a program the object lacks is refused, and everything made is closed', () => {
    const jumps: MapSpec = { name: 'jumps', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, initialRefs: [{ index: 0, ref: 'ghost' }] };
    const pins = new Map<string, VmMap>();
    let err: unknown;
    try {
      loadCollection(spec([jumps]), vmBackend({ pins }));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_COLL_REF', message: 'load collection: map "jumps" slot 0 names "ghost", which the object does not have' });
  });

  it('a program array filled from .values makes the tail call', () => {
    const jumps: MapSpec = { name: 'jumps', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, initialRefs: [{ index: 1, ref: 'ret1' }] };
    const caller: ProgramSpec = {
      name: 'caller', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', maps: [jumps],
      insns: assembleLlvm('r2 = map[jumps]\nr3 = 1\ncall 12\nr0 = 2\nexit'),
    };
    using c = loadCollection(spec([jumps], [ret1, caller]));
    expect(c.program('caller').testRun({ data: new Uint8Array(14) }).retval).toBe(1);
    expect(c.programs.get('caller')!.maps.get('jumps')).toBe(c.map('jumps')); // one map object, keyed alike
  });

  it('a map the VM cannot create fails the load with the map named', () => {
    const traces: MapSpec = { name: 'store', type: MapType.BPF_MAP_TYPE_STACK_TRACE, keySize: 4, valueSize: 8, maxEntries: 4 };
    expect(() => loadCollection(spec([traces]))).toThrowError(/^load collection: map "store": create map "store": the vm has no BPF_MAP_TYPE_STACK_TRACE/);
  });

  it('SEC("?...") programs load only when named, as libbpf\'s autoload; `programs` picks which; a prog array slot of one not loaded stays empty', () => {
    const opt: ProgramSpec = { ...ret1, name: 'opt', autoload: false };
    const jumps: MapSpec = { name: 'jumps', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, initialRefs: [{ index: 0, ref: 'opt' }, { index: 1, ref: 'ret1' }] };
    using all = loadCollection(spec([jumps], [ret1, opt]));
    expect([...all.programs.keys()]).toEqual(['ret1']);
    expect(all.map('jumps').get(u32(0))).toBeUndefined();
    expect(all.map('jumps').get(u32(1))).toBeDefined();
    using picked = loadCollection(spec([jumps], [ret1, opt]), undefined, { programs: ['opt'] });
    expect([...picked.programs.keys()]).toEqual(['opt']);
    expect(picked.map('jumps').get(u32(1))).toBeUndefined();
    expect(() => loadCollection(spec([jumps], [ret1, opt]), undefined, { programs: ['nope'] })).toThrowError(/no program "nope" in the object \(it has ret1, opt\)/);
  });
});
