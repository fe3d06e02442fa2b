// Kernel parity on hand-picked edge cases (division by zero, INT_MIN / -1, oversized shifts, byte swaps, sign extension, cmpxchg): VM and kernel must agree.

import { beforeAll, describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { Kernel } from '../../src/kernel/index.js';
import { POOL, buildProgram } from './helpers/gen.js';
import type { Op, Recipe } from './helpers/gen.js';
import { kernelSkip } from './helpers/kernel.js';
import { engines, listing, onKernel, onVm } from './helpers/parity.js';

const why = await kernelSkip('kernel parity edge cases');

const MIN64 = -(1n << 63n);
const MIN32 = 0xffffffff80000000n; // INT32_MIN sign-extended
const alu = (code: number, dst: number, src: number, imm = 0, off = 0): Op => ({ k: 'alu', code, dst, src, off, imm });

/** r1..r9 start as: r1 = INT64_MIN, r2 = -1, r3 = 0, r4 = INT32_MIN (sign-extended), r5 = 100, r6 = 0x0123456789abcdef, r7 = 65, r8 = -7, r9 = 3. */
const INIT = [0n, MIN64, -1n, 0n, MIN32, 100n, 0x0123456789abcdefn, 65n, -7n, 3n];

const cases: [string, Op[]][] = [
  ['sdiv INT64_MIN / -1 (64-bit) and INT32_MIN / -1 (32-bit)', [alu(0x3f, 1, 2, 0, 1), alu(0x3c, 4, 2, 0, 1)]],
  ['smod INT_MIN % -1', [alu(0x9f, 1, 2, 0, 1), alu(0x9c, 4, 2, 0, 1)]],
  ['div and mod by a zero register, 64 and 32 bits', [alu(0x3f, 5, 3), alu(0x9f, 6, 3), alu(0x3c, 7, 3), alu(0x9c, 8, 3)]],
  ['signed div/mod by zero register', [alu(0x3f, 5, 3, 0, 1), alu(0x9f, 8, 3, 0, 1), alu(0x9c, 6, 3, 0, 1)]],
  ['shifts by register amounts at and past the width', [alu(0x6f, 6, 7), alu(0x7f, 1, 7), alu(0xcf, 8, 7), alu(0x6c, 6, 5), alu(0xcc, 4, 7)]],
  ['arsh 32 of a negative', [alu(0xc4, 4, 0, 31), alu(0xc4, 8, 0, 1)]],
  ['byte swaps: bswap16/32/64, le16/32, be16/32/64', [alu(0xd7, 6, 0, 16), alu(0xd7, 7, 0, 32), alu(0xd7, 9, 0, 64), alu(0xd4, 1, 0, 16), alu(0xd4, 2, 0, 32), alu(0xdc, 5, 0, 16), alu(0xdc, 8, 0, 32), alu(0xdc, 4, 0, 64)]],
  ['movsx 8/16/32 (64-bit) and 8/16 (32-bit)', [alu(0xbf, 1, 6, 0, 8), alu(0xbf, 2, 6, 0, 16), alu(0xbf, 3, 6, 0, 32), alu(0xbc, 5, 8, 0, 8), alu(0xbc, 7, 4, 0, 16)]],
  ['mul overflow and neg INT_MIN', [alu(0x2f, 6, 6), alu(0x27, 1, 0, -1), alu(0x87, 1, 0), alu(0x84, 4, 0)]],
  ['32-bit ops zero the upper half', [alu(0x04, 2, 0, 0), alu(0xbc, 8, 8), alu(0xa4, 6, 0, -1)]],
  ['sign-extending loads from the stack', [{ k: 'stx', size: 0x18, off: -8, src: 6 }, { k: 'ldx', size: 0x10, off: -8, dst: 1, sx: true }, { k: 'ldx', size: 0x08, off: -6, dst: 2, sx: true }, { k: 'ldx', size: 0x00, off: -4, dst: 3, sx: true }]],
  ['cmpxchg that matches and one that does not', [{ k: 'stx', size: 0x18, off: -16, src: 9 }, alu(0xb7, 0, 0, 3), { k: 'atomic', dw: true, off: -16, src: 7, aop: 0xf1 }, { k: 'ldx', size: 0x18, off: -16, dst: 1, sx: false }, { k: 'atomic', dw: true, off: -16, src: 8, aop: 0xf1 }, { k: 'ldx', size: 0x18, off: -16, dst: 2, sx: false }]],
  ['32-bit atomic fetch ops zero-extend the fetched value', [{ k: 'stx', size: 0x18, off: -24, src: 2 }, { k: 'atomic', dw: false, off: -24, src: 5, aop: 0x01 }, { k: 'atomic', dw: false, off: -24, src: 6, aop: 0xe1 }, { k: 'ldx', size: 0x18, off: -24, dst: 7, sx: false }]],
];

describe.skipIf(why !== undefined)('kernel parity: edge cases', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  for (const [label, ops] of cases) {
    it(label, async () => {
      const recipe: Recipe = { family: 'stack', init: POOL.stack.map((r) => INIT[r]), ops, ret: 1, packet: new Uint8Array(64), dataMap: 'array' };
      const spec = buildProgram(recipe, 'edge');
      const want = await onKernel(kernel, spec, recipe.packet);
      // The out map holds the ten registers; all zero would mean the epilogue did not run.
      expect(want.maps.out[0]).not.toMatch(/^00000000=0+$/);
      for (const engine of engines) expect({ engine, ...(await onVm(spec, recipe.packet, engine)) }, listing(spec)).toEqual({ engine, ...want });
    });
  }
});

/** Differences between the VM and the kernel that the parity suite found, now fixed in the VM: kept as regressions. */
describe.skipIf(why !== undefined)('kernel parity: socket filter test runs (formerly known VM differences)', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  const run = async (spec: import('../../src/ebpf/index.js').ProgramSpec, data: Uint8Array) => {
    const want = await onKernel(kernel, spec, data);
    for (const engine of engines) expect({ engine, ...(await onVm(spec, data, engine)) }).toEqual({ engine, ...want });
  };

  it('data out: the kernel zeroes the 14-byte Ethernet header of a socket filter test run', async () => {
    await run({ name: 'sf', type: 1, license: 'GPL', insns: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0xffff }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] }, Uint8Array.from({ length: 64 }, (_, i) => i + 1));
  });

  it('skb->protocol of an 802.3 frame (length field < 0x600) is htons(ETH_P_802_2) as eth_type_trans sets it', async () => {
    await run({ name: 'proto', type: 1, license: 'GPL', insns: [{ code: 0x61, dst: 0, src: 1, off: 16, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] }, new Uint8Array(64));
  });

  it('skb->protocol is htons(ETH_P_802_3) for an 802.3 frame whose payload starts 0xFFFF, the type itself for Ethernet II', async () => {
    const spec: import('../../src/ebpf/index.js').ProgramSpec = { name: 'proto', type: 1, license: 'GPL', insns: [{ code: 0x61, dst: 0, src: 1, off: 16, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] };
    const raw = new Uint8Array(64);
    raw[12] = 0x00;
    raw[13] = 0x32;
    raw[14] = raw[15] = 0xff;
    await run(spec, raw);
    const arp = new Uint8Array(64);
    arp[12] = 0x08;
    arp[13] = 0x06;
    await run(spec, arp);
    // And the values themselves, so that both sides agreeing on a wrong answer would still fail.
    expect((await onKernel(kernel, spec, raw)).retval).toBe(0x0100);
    expect((await onKernel(kernel, spec, new Uint8Array(64))).retval).toBe(0x0400);
    expect((await onKernel(kernel, spec, arp)).retval).toBe(0x0608);
    // tc test runs go through eth_type_trans too (and keep the L2 header in data out).
    const tc: typeof spec = { ...spec, name: 'proto_tc', type: ProgType.BPF_PROG_TYPE_SCHED_CLS };
    await run(tc, raw);
    await run(tc, new Uint8Array(64));
  });
});

describe.skipIf(why !== undefined)('32-bit cmpxchg and r0, VM vs kernel', () => {
  // Once seen on 6.18 x86-64 (r0 kept INT64_MAX) and not reproduced since: any difference fails, as for every other case.
  it('32-bit cmpxchg zero-extends r0 in the VM and in the kernel (RFC 9669, and the verifier\'s explicit zext since Linux 5.13)', async () => {
    const kernel = await Kernel.open();
    // r0 = INT64_MAX; the word at r10-44 is 0xffffffff = w0, so the exchange succeeds and r0 = old value, zero-extended.
    const recipe: Recipe = {
      family: 'stack', init: [0x7fffffffffffffffn, 0n, 0n, 0n, 0n, 0n, -1n, 0n, 0n, 0n], ret: 0, packet: new Uint8Array(64), dataMap: 'array',
      ops: [
        { k: 'st', size: 0x18, off: -48, imm: -1 },
        alu(0xcc, 2, 0), // w2 s>>= w0
        { k: 'jmp', code: 0x1e, dst: 4, src: 2, imm: 0, skip: 1 }, // always taken: the next jump is dead code
        { k: 'jmp', code: 0xc6, dst: 0, src: 0, imm: 0, skip: 1 },
        { k: 'atomic', dw: false, off: -44, src: 0, aop: 0xf1 },
      ],
    };
    const spec = buildProgram(recipe, 'cmpxchg32');
    expect(spec.insns.some((i, n, all) => i.code === 0xbc && i.dst === 0 && i.src === 0 && all[n - 1]?.code === 0xc3)).toBe(false);
    const r0 = (o: { maps: Record<string, string[]> }) => o.maps.out[0].slice(9, 25);
    for (const engine of engines) expect(r0(await onVm(spec, recipe.packet, engine)), engine).toBe('ffffffff00000000');
    // Run a few times: the deviation seen once was not deterministic.
    for (let i = 0; i < 5; i++) expect(r0(await onKernel(kernel, spec, recipe.packet)), `kernel run ${i}`).toBe('ffffffff00000000');
  });
});
