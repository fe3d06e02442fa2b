// Differential property test: random programs give the same r0, memory and faults on the interpreter and the WebAssembly JIT.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProgType, type Insn } from '../../src/ebpf/index.js';
import { load, type VmRunResult } from '../../src/ebpf/vm/index.js';
import { BpfkitError } from '../../src/util/index.js';

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const SIZES = [0x00, 0x08, 0x10, 0x18];
const SIZE_BYTES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

const reg = fc.integer({ min: 0, max: 9 });
const interesting = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 1, -1, 31, 32, 63, 64, -(2 ** 31), 2 ** 31 - 1, 0xffff, 8, 16),
);

/** One random instruction shape; jumps get their offsets once the program length is known. */
type Gen = (i: number, n: number) => Insn;

const alu: fc.Arbitrary<Gen> = fc.record({ op: fc.constantFrom(...ALU_OPS), is64: fc.boolean(), x: fc.boolean(), d: reg, s: reg, imm: interesting, signed: fc.boolean() })
  .map((a) => () => {
    let off = 0;
    if ((a.op === 0x30 || a.op === 0x90) && a.signed) off = 1;
    if (a.op === 0xb0 && a.signed && a.x) off = a.is64 ? [8, 16, 32][Math.abs(a.imm) % 3] : [8, 16][Math.abs(a.imm) % 2];
    // Unused fields stay zero, or the load-time check rejects the instruction.
    const x = a.x && a.op !== 0x80;
    return { code: a.op | (x ? 0x08 : 0) | (a.is64 ? 0x07 : 0x04), dst: a.d, src: x ? a.s : 0, off, imm: x || a.op === 0x80 ? 0 : a.imm };
  });
const swap: fc.Arbitrary<Gen> = fc.record({ code: fc.constantFrom(0xd4, 0xdc, 0xd7), d: reg, w: fc.constantFrom(16, 32, 64) })
  .map((a) => () => ({ code: a.code, dst: a.d, src: 0, off: 0, imm: a.w }));
const lddw: fc.Arbitrary<Gen> = fc.record({ d: reg, v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) })
  .map((a) => () => ({ code: 0x18, dst: a.d, src: 0, off: 0, imm: Number(BigInt.asIntN(32, a.v)), imm64: a.v }));
const jmp: fc.Arbitrary<Gen> = fc.record({ op: fc.constantFrom(...JMP_OPS), is64: fc.boolean(), x: fc.boolean(), d: reg, s: reg, imm: interesting, t: fc.nat(), back: fc.integer({ min: 0, max: 9 }) })
  .map((a) => (i, n) => {
    // Mostly forward; sometimes backward (loops end by budget in both engines at the same block).
    const target = a.back === 0 ? a.t % (i + 1) : i + 1 + (a.t % (n - i));
    return { code: a.op | (a.x ? 0x08 : 0) | (a.is64 ? 0x05 : 0x06), dst: a.d, src: a.x ? a.s : 0, off: target - i - 1, imm: a.x ? 0 : a.imm };
  });
// Stack accesses through r10 (mostly in bounds), and through r1 (the mem region, which random ALU may have clobbered).
const mem: fc.Arbitrary<Gen> = fc.record({ kind: fc.constantFrom('ldx', 'ldxs', 'st', 'stx', 'atomic'), size: fc.constantFrom(...SIZES), base: fc.constantFrom(10, 10, 10, 1), off: fc.integer({ min: -520, max: 24 }), d: reg, s: reg, imm: interesting, aop: fc.constantFrom(0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1) })
  .map((a) => () => {
    const off = a.base === 10 ? Math.min(a.off, -SIZE_BYTES[a.size]) : a.off & 31;
    switch (a.kind) {
      case 'ldx': return { code: 0x61 | a.size, dst: a.d, src: a.base, off, imm: 0 };
      case 'ldxs': return { code: 0x81 | (a.size === 0x18 ? 0x00 : a.size), dst: a.d, src: a.base, off, imm: 0 };
      case 'st': return { code: 0x62 | a.size, dst: a.base, src: 0, off, imm: a.imm };
      case 'stx': return { code: 0x63 | a.size, dst: a.base, src: a.s, off, imm: 0 };
      default: return { code: a.size === 0x18 ? 0xdb : 0xc3, dst: a.base, src: a.s, off: a.base === 10 ? -8 : off & ~7, imm: a.aop };
    }
  });

const program = fc.array(fc.oneof({ arbitrary: alu, weight: 6 }, { arbitrary: jmp, weight: 2 }, { arbitrary: mem, weight: 3 }, { arbitrary: swap, weight: 1 }, { arbitrary: lddw, weight: 1 }), { minLength: 1, maxLength: 40 })
  .map((gens) => {
    const body: Insn[] = [];
    gens.forEach((g, i) => body.push(g(i, gens.length)));
    // Jumps count slots: recompute with lddw widths by mapping instruction indices to slots.
    const slotOf: number[] = [];
    let s = 0;
    for (const insn of body) { slotOf.push(s); s += insn.code === 0x18 ? 2 : 1; }
    slotOf.push(s);
    body.forEach((insn, i) => {
      const cls = insn.code & 7;
      if ((cls === 5 || cls === 6) && insn.code !== 0x18) {
        const targetIdx = i + 1 + insn.off;
        insn.off = slotOf[targetIdx] - slotOf[i] - 1;
      }
    });
    return [...body, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
  });

// XDP programs: r1 is the converted xdp_md, r2/r3 the packet bounds; loads and stores through all three.
const xdpMem: fc.Arbitrary<Gen> = fc.record({ st: fc.boolean(), size: fc.constantFrom(...SIZES), base: fc.constantFrom(1, 2, 2, 3, 10), off: fc.integer({ min: -8, max: 72 }), d: fc.integer({ min: 4, max: 9 }), s: fc.integer({ min: 0, max: 9 }) })
  .map((a) => () => {
    const off = a.base === 10 ? -8 - (a.off & 7) * 8 : a.off;
    return a.st
      ? { code: 0x63 | a.size, dst: a.base, src: a.s, off, imm: 0 }
      : { code: 0x61 | a.size, dst: a.d, src: a.base, off, imm: 0 };
  });
const xdpAlu: fc.Arbitrary<Gen> = alu.map((g) => (i, n) => {
  const insn = g(i, n);
  // Keep r1..r3 (ctx and packet bounds) mostly intact so accesses reach memory.
  if (insn.dst >= 1 && insn.dst <= 3) insn.dst += 3;
  return insn;
});
const xdpProgram = fc.array(fc.oneof({ arbitrary: xdpAlu, weight: 3 }, { arbitrary: xdpMem, weight: 4 }, { arbitrary: jmp, weight: 1 }), { minLength: 1, maxLength: 25 })
  .map((gens) => {
    const prolog: Insn[] = [
      { code: 0x61, dst: 2, src: 1, off: 0, imm: 0 },
      { code: 0x61, dst: 3, src: 1, off: 4, imm: 0 },
    ];
    const body = gens.map((g, i) => g(i, gens.length));
    return [...prolog, ...body, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
  });

type Outcome = { r0: string; mem: string } | { fault: string; insn?: number };

function outcome(insns: Insn[], engine: 'interp' | 'jit', memIn: Uint8Array, type: ProgType = ProgType.BPF_PROG_TYPE_UNSPEC): Outcome {
  try {
    const p = load({ name: 'diff', type, insns, license: 'MIT' }, { engine, budget: 5000, verify: false }); // random programs: engines agree on faults too
    const r: VmRunResult = type === ProgType.BPF_PROG_TYPE_XDP ? p.run({ data: memIn }) : p.run({ mem: memIn });
    return { r0: r.r0.toString(16), mem: [...(r.memOut ?? r.dataOut)].join(',') };
  } catch (e) {
    if (e instanceof BpfkitError) return { fault: e.code, insn: e.position?.insn };
    throw e;
  }
}

describe('interpreter and WebAssembly JIT agree', () => {
  it('on random programs (ALU, jumps, stack, mem, atomics, byte swaps)', () => {
    const memIn = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
    let faults = 0, values = 0;
    const codes: Record<string, number> = {};
    fc.assert(
      fc.property(program, (insns) => {
        const a = outcome(insns, 'interp', memIn);
        const b = outcome(insns, 'jit', memIn);
            if ('fault' in a) {
          faults++;
          codes[a.fault] = (codes[a.fault] ?? 0) + 1;
        } else values++;
        expect(b).toEqual(a);
      }),
      { numRuns: 400, seed: 0x5eed },
    );
    // The generator must exercise both outcomes, or the property says little.
    expect(values).toBeGreaterThan(100);
    expect(faults).toBeGreaterThan(10);
    // Faults come from the run, not from random programs the load-time check rejects.
    expect(Object.keys(codes).every((c) => c.startsWith('E_VM_'))).toBe(true);
    expect(codes.E_VM_OUT_OF_BOUNDS).toBeGreaterThan(0);
    expect(codes.E_VM_BUDGET).toBeGreaterThan(0);
  });

  it('on random XDP programs (converted context, packet pointers, stack)', () => {
    let values = 0, ctxFaults = 0;
    fc.assert(
      fc.property(xdpProgram, fc.uint8Array({ minLength: 0, maxLength: 64 }), (insns, packet) => {
        const a = outcome(insns, 'interp', packet, ProgType.BPF_PROG_TYPE_XDP);
        const b = outcome(insns, 'jit', packet, ProgType.BPF_PROG_TYPE_XDP);
        if ('fault' in a) { if (a.fault === 'E_VM_CTX_ACCESS') ctxFaults++; } else values++;
        expect(b).toEqual(a);
      }),
      { numRuns: 300, seed: 0xbeef },
    );
    expect(values).toBeGreaterThan(30);
    expect(ctxFaults).toBeGreaterThan(10);
  });
});
