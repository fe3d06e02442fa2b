// Loaders and maps over the fake seam: no root needed. Checks what reaches bpf() and how errors come back.

import { describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import { BpfCmd, FakeSys, Kernel, KernelMap, SyscallError, VerifierError, bindMaps, summarizeVerifierLog, verifierHint } from '../../src/kernel/index.js';
import { exit, ldMap, movImm, movReg } from './helpers/asm.js';

const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

async function fakeKernel(options: ConstructorParameters<typeof FakeSys>[0] = {}) {
  const sys = new FakeSys(options);
  return { sys, kernel: await Kernel.open({ sys }) };
}

describe('KernelMap over the fake seam', () => {
  it('get/set/delete/nextKey/entries on a hash map with the kernel errnos', async () => {
    const { sys, kernel } = await fakeKernel();
    const m = kernel.createMap({ name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(m.get(u32(1))).toBeUndefined();
    m.set(u32(1), u32(10));
    m.set(u32(2), u32(20));
    expect(Array.from(m.get(u32(2))!)).toEqual([20, 0, 0, 0]);
    // Full map: a third key is refused with E2BIG, wrapped with what we were doing.
    expect(() => m.set(u32(3), u32(30))).toThrow(/update map "counts": .*\(E2BIG\)/);
    expect(() => m.set(u32(1), u32(11), 1)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
    const keys: number[] = [];
    for await (const k of m.keys()) keys.push(k[0]);
    expect(keys).toEqual([1, 2]);
    const entries: [number, number][] = [];
    for await (const [k, v] of m.entries()) entries.push([k[0], v[0]]);
    expect(entries).toEqual([[1, 10], [2, 20]]);
    m.delete(u32(1));
    expect(() => m.delete(u32(1))).toThrow(expect.objectContaining({ errnoName: 'ENOENT' }));
    expect(m.nextKey()).toEqual(u32(2));
    expect(m.nextKey(u32(2))).toBeUndefined();
    m.close();
    expect(sys.openFds()).toEqual([]);
    expect(() => m.get(u32(2))).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
  });

  it('checks key and value sizes before any syscall', async () => {
    const { sys, kernel } = await fakeKernel();
    using m = kernel.createMap({ name: 'a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    const before = sys.calls.length;
    expect(() => m.get(new Uint8Array(3))).toThrow(expect.objectContaining({ code: 'E_MAP_KEY_SIZE' }));
    expect(() => m.set(u32(0), new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'E_MAP_VALUE_SIZE' }));
    expect(sys.calls.length).toBe(before);
    expect(() => m.set(u32(4), new Uint8Array(8))).toThrow(expect.objectContaining({ errnoName: 'E2BIG' }));
    expect(() => m.delete(u32(0))).toThrow(expect.objectContaining({ errnoName: 'EINVAL' }));
  });

  it('pins and reopens a map, taking the spec from the kernel', async () => {
    const { sys, kernel } = await fakeKernel();
    using m = kernel.createMap({ name: 'pinned', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
    m.set(u32(5), u32(50));
    m.pin('/sys/fs/bpf/x');
    expect(sys.pins.has('/sys/fs/bpf/x')).toBe(true);
    using again = kernel.openPinnedMap('/sys/fs/bpf/x');
    expect(again.spec).toMatchObject({ name: 'pinned', type: 1, keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(again.get(u32(5))).toEqual(u32(50));
    expect(() => kernel.openPinnedMap('/sys/fs/bpf/none')).toThrow(/open pinned map \/sys\/fs\/bpf\/none: .*\(ENOENT\)/);
  });

  it('per-CPU values are one 8-byte slot per possible CPU', () => {
    const sys = new FakeSys();
    const m = new KernelMap(sys, 99, { name: 'pc', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }, { possibleCpus: 3 });
    expect(m.valueBytes).toBe(24);
  });
});

describe('KernelProgram over the fake seam', () => {
  it('binds lddw map refs to the created map fds and closes owned maps', async () => {
    const { sys, kernel } = await fakeKernel({ run: () => ({ retval: 7 }) });
    const spec = {
      name: 'uses_map', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL',
      maps: [{ name: 'm', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }],
      insns: [ldMap(1, 'm'), movImm(0, 0), exit()],
    };
    const p = kernel.load(spec);
    const mapFd = p.maps.get('m')!.fd;
    const prog = sys.object(p.fd);
    expect(prog?.kind).toBe('prog');
    const insns = prog!.kind === 'prog' ? prog!.insns : new Uint8Array();
    expect(insns[0]).toBe(0x18);
    expect(insns[1] >> 4).toBe(1); // src = BPF_PSEUDO_MAP_FD
    expect(new DataView(insns.buffer).getInt32(4, true)).toBe(mapFd);
    expect(p.testRun({ data: new Uint8Array(20) }).retval).toBe(7);
    expect((await p.testRunAsync({ data: new Uint8Array(20) })).retval).toBe(7);
    p.close();
    expect(sys.openFds()).toEqual([]);
  });

  it('an unknown map ref is a UsageError at the instruction, and created maps are closed', async () => {
    const { sys, kernel } = await fakeKernel();
    const spec = { name: 'x', type: 1 as const, license: 'GPL', maps: [{ name: 'a', type: 2 as const, keySize: 4, valueSize: 4, maxEntries: 1 }], insns: [movImm(0, 0), ldMap(1, 'nope'), exit()] };
    expect(() => kernel.load(spec)).toThrow(expect.objectContaining({ code: 'E_MAP_REF', position: { insn: 1 } }));
    expect(sys.openFds()).toEqual([]);
  });

  it('a rejected program loads again with a log and throws a VerifierError with summary, log and hint', async () => {
    const log = '0: R1=ctx() R10=fp0\n0: (bf) r0 = r3\nR3 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0\n';
    const { sys, kernel } = await fakeKernel({ verify: () => log });
    let err: unknown;
    try {
      kernel.load({ name: 'bad', type: 1, license: 'GPL', insns: [movReg(0, 3), exit()] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.message).toBe('load program "bad": verifier: R3 !read_ok (at insn 0)');
    expect(v.log).toBe(log);
    expect(v.hint).toBe('register read before it was written');
    expect(v.code).toBe('E_VERIFIER');
    // First without a log, then with log_level 1.
    expect(sys.calls.filter((c) => c.cmd === BpfCmd.BPF_PROG_LOAD).map((c) => c.result)).toEqual(['EACCES', 'EACCES']);
  });

  it('grows the log buffer when the kernel says ENOSPC', async () => {
    const long = 'x'.repeat(3000) + '\nthe real reason\n';
    const { sys, kernel } = await fakeKernel({ verify: () => long });
    expect(() => kernel.load({ name: 'big', type: 1, license: 'GPL', insns: [movImm(0, 0), exit()] }, { logSize: 1024 }))
      .toThrow(/verifier: the real reason/);
    expect(sys.calls.filter((c) => c.cmd === BpfCmd.BPF_PROG_LOAD).map((c) => c.result)).toEqual(['EACCES', 'ENOSPC', 'ENOSPC', 'EACCES']);
  });

  it('a refused program type without a log stays a SyscallError', async () => {
    const { kernel } = await fakeKernel({ unsupportedProgTypes: [6] });
    expect(() => kernel.load({ name: 'x', type: 6, license: 'GPL', insns: [movImm(0, 0), exit()] })).toThrow(SyscallError);
  });
});

describe('verifier log summaries', () => {
  it('takes the last meaningful line and the instruction before it', () => {
    expect(summarizeVerifierLog('func#0 @0\n0: (b7) r0 = 0\n1: (95) exit\nlast insn is not an exit or jmp\nprocessed 0 insns\n'))
      .toEqual({ summary: 'last insn is not an exit or jmp', insn: 1 });
    expect(summarizeVerifierLog('')).toEqual({ summary: '' });
    // The kernel prints both states after an infinite loop: the summary is the loop, not the last state.
    expect(summarizeVerifierLog('15: (b7) r0 = 1\n16: (05) goto pc-2\ninfinite loop detected at insn 15\ncur state: R0=1 R10=fp0\nold state: R0=1 R10=fp0\nprocessed 30 insns\n'))
      .toEqual({ summary: 'infinite loop detected at insn 15', insn: 15 });
    expect(verifierHint("R1 invalid mem access 'map_value_or_null'")).toMatch(/NULL/);
    expect(verifierHint('cannot call GPL-restricted function from non-GPL compatible program')).toMatch(/GPL/);
    expect(verifierHint('something new')).toBeUndefined();
  });

  it('bindMaps keeps the map-value offset in the high half', () => {
    const [i] = bindMaps([{ code: 0x18, dst: 1, src: 2, off: 0, imm: 0, imm64: 16n << 32n, ref: 'v' }], new Map([['v', { fd: 9 }]]));
    expect(i.imm).toBe(9);
    expect(i.imm64).toBe((16n << 32n) | 9n);
  });
});
