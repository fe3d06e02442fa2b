// Programs in the kernel: load a ProgramSpec, bind maps, test runs (sync and async), verifier errors with hints, pinning.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, SyscallError, VerifierError } from '../../src/kernel/index.js';
import { DW, W, call, exit, jmp, ldMap, ldx, movImm, movReg, st, stx } from './helpers/asm.js';
import { kernelSkip, mountPrivateBpffs } from './helpers/kernel.js';

const why = await kernelSkip('kernel programs');
const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

/** Counts runs in slot 0 of an array map: lookup, null check, atomic add, return 1. */
const counter: ProgramSpec = {
  name: 'counter', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL',
  maps: [{ name: 'counts', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }],
  insns: [
    st(W, 10, -4, 0), // key = 0
    ldMap(1, 'counts'),
    movReg(2, 10),
    { code: 0x07, dst: 2, src: 0, off: 0, imm: -4 }, // r2 += -4
    call(1), // bpf_map_lookup_elem
    jmp(0x15, 0, 0, 3), // if r0 == 0 goto out
    movImm(1, 1),
    { code: 0xdb, dst: 0, src: 1, off: 0, imm: 0 }, // lock *(u64 *)(r0 + 0) += r1
    movImm(0, 1),
    exit(),
  ],
};

describe.skipIf(why !== undefined)('kernel programs', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  it('XDP test run returns r0 and the packet', () => {
    using p = kernel.load({ name: 'xdp_ret', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: [movImm(0, 1), exit()] });
    const data = Uint8Array.from({ length: 60 }, (_, i) => i);
    const r = p.testRun({ data });
    expect(r.retval).toBe(1);
    expect(r.dataOut).toEqual(data);
    expect(p.info().type).toBe(ProgType.BPF_PROG_TYPE_XDP);
  });

  it('a program reading the packet: XDP returns the first byte when it lies within data_end', () => {
    // r2 = data, r3 = data_end; if r2 + 1 > r3 return 0; return *(u8 *)r2
    using p = kernel.load({
      name: 'xdp_byte', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: [
        ldx(W, 2, 1, 0), ldx(W, 3, 1, 4), movReg(4, 2), { code: 0x07, dst: 4, src: 0, off: 0, imm: 1 },
        movImm(0, 0), jmp(0x2d, 4, 3, 1), ldx(0x10, 0, 2, 0), exit(),
      ],
    });
    for (const first of [0, 7, 200]) {
      const data = new Uint8Array(64);
      data[0] = first;
      expect(p.testRun({ data }).retval).toBe(first);
    }
  });

  it('binds the map by name; each run increments the counter the map shows', async () => {
    using p = kernel.load(counter);
    for (let i = 0; i < 5; i++) expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(1);
    const r = await p.testRunAsync({ data: new Uint8Array(64), repeat: 1000 });
    expect(r.retval).toBe(1);
    expect(new DataView(p.maps.get('counts')!.get(u32(0))!.buffer).getBigUint64(0, true)).toBe(1005n);
  });

  it('closing the program closes the maps it created', () => {
    const p = kernel.load(counter);
    const m = p.maps.get('counts')!;
    p.close();
    expect(() => m.fd).toThrow(expect.objectContaining({ code: 'E_CLOSED' }));
    p.close(); // twice is harmless
  });

  it('uses a map the caller passes instead of creating one', () => {
    using m = kernel.createMap(counter.maps![0]);
    using p = kernel.load(counter, { maps: new Map([['counts', m]]) });
    p.testRun({ data: new Uint8Array(64), repeat: 3 });
    expect(new DataView(m.get(u32(0))!.buffer).getBigUint64(0, true)).toBe(3n);
  });

  const rejected: [string, ProgramSpec, RegExp, RegExp | undefined][] = [
    ['uninitialized register', { name: 'r3', type: 1, license: 'GPL', insns: [movReg(0, 3), exit()] }, /R3 !read_ok/, /read before it was written/],
    ['no exit', { name: 'noexit', type: 1, license: 'GPL', insns: [movImm(0, 0)] }, /last insn is not an exit or jmp/, /must end with exit/],
    ['GPL helper from MIT', { name: 'gpl', type: 1, license: 'MIT', insns: [movReg(1, 10), { code: 0x07, dst: 1, src: 0, off: 0, imm: -8 }, stx(DW, 10, 1, -8), movImm(2, 8), call(6), movImm(0, 0), exit()] }, /GPL/, /GPL-compatible license/],
    // A hash map: recent kernels know that an array lookup with a constant in-range key is never NULL.
    ['null map value', { ...counter, name: 'nullchk', maps: [{ ...counter.maps![0], type: MapType.BPF_MAP_TYPE_HASH }], insns: counter.insns.filter((_, i) => i !== 5) }, /invalid mem access 'map_value_or_null'/, /NULL/],
  ];
  for (const [label, spec, msg, hint] of rejected) {
    it(`verifier error: ${label}`, () => {
      let err: unknown;
      try {
        kernel.load(spec).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(VerifierError);
      const v = err as VerifierError;
      expect(v.message).toMatch(new RegExp(`^load program "${spec.name}": verifier: `));
      expect(v.message).toMatch(msg);
      expect(v.message.split('\n').length).toBe(1);
      expect(v.log).toMatch(msg);
      if (hint) expect(v.hint).toMatch(hint);
    });
  }

  it('keeps the verifier log of an accepted program when asked', () => {
    using p = kernel.load({ name: 'logged', type: 1, license: 'GPL', insns: [movImm(0, 0), exit()] }, { logLevel: 2 });
    expect(p.verifierLog).toMatch(/processed 2 insns/);
  });

  /** Counts to `n` in a stack slot: with n past the budget, the kernel runs out of its 1M processed instructions. */
  const countTo = (n: number): ProgramSpec => ({
    name: 'count_to', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: [
      movImm(1, 0), stx(DW, 10, 1, -8),
      ldx(DW, 1, 10, -8), jmp(0x65, 1, 0, 3, n), // again: r1 = fp[-8]; if r1 s> n goto out
      { code: 0x07, dst: 1, src: 0, off: 0, imm: 1 }, stx(DW, 10, 1, -8), jmp(0x05, 0, 0, -5), // r1 += 1; store; goto again
      movImm(0, 2), exit(),
    ],
  });

  it('a program past the kernel\'s budget: the kernel\'s E2BIG, told in its words, with bpfkit\'s explanation', () => {
    let err: unknown;
    try {
      kernel.load(countTo(1_000_000)).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.errno).toBe(7); // E2BIG
    expect(v.message).toMatch(/BPF program is too large\. Processed 1000001 insn/);
    expect(v.explanation?.verdict).toBe('rejected');
  });

  it('a verifier log larger than the buffer: the kernel keeps its tail, which explains the rejection', () => {
    // 64 KiB hold a small part of the log of a run through 1M instructions; kernels since 6.4 keep its end.
    let err: unknown;
    try {
      kernel.load(countTo(1_000_000), { logLevel: 1, logSize: 1 << 16 }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.log).toMatch(/^\[\.\.\. the first \d+ bytes of the verifier log are cut \.\.\.\]/);
    expect(v.message).toMatch(/BPF program is too large\. Processed 1000001 insn/);
  });

  it('a test run with a too-short packet is a SyscallError with context', () => {
    using p = kernel.load({ name: 'short', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: [movImm(0, 2), exit()] });
    expect(() => p.testRun({ data: new Uint8Array(2) })).toThrow(SyscallError);
    expect(() => p.testRun({ data: new Uint8Array(2) })).toThrow(/^test run program "short": bpf: einval/);
  });

  describe('pinning', () => {
    let fs: { dir: string; cleanup(): void };
    beforeAll(() => { fs = mountPrivateBpffs(); });
    afterAll(() => fs?.cleanup());

    it('pins a program and runs it through the reopened fd', () => {
      using p = kernel.load({ name: 'pinned', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: [movImm(0, 3), exit()] });
      p.pin(`${fs.dir}/prog`);
      using again = kernel.openPinnedProgram(`${fs.dir}/prog`);
      expect(again.spec.type).toBe(ProgType.BPF_PROG_TYPE_XDP);
      expect(again.info().id).toBe(p.info().id);
      expect(again.testRun({ data: new Uint8Array(64) }).retval).toBe(3);
    });
  });
});
