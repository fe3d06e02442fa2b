// The JIT's packet range analysis: which loads it proves in bounds, and that proven or not, both engines give the same results and faults.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProgType, type Insn } from '../../src/ebpf/index.js';
import { PROGRAM_TYPES_BY_ID, STACK_REGION, load, pointer, type VmProgram } from '../../src/ebpf/vm/index.js';
import { analyzeRanges } from '../../src/ebpf/vm/range.js';
import { BpfkitError } from '../../src/util/index.js';
import { XDP_OFF_BY_ONE, XDP_PARSE, asm } from './vm-support.js';

/** The slots whose loads the analysis proves, for the program's type. */
function provenSlots(p: VmProgram): number[] {
  const fields = PROGRAM_TYPES_BY_ID.get(p.spec.type)!.fields;
  const r = analyzeRanges(p.code, { fields, memEntry: fields === undefined });
  return [...r.proven.keys()].filter((pc) => r.proven[pc]);
}

function outcome(p: VmProgram, run: () => { r0: bigint }): string {
  try {
    return `r0=${run().r0}`;
  } catch (e) {
    if (e instanceof BpfkitError) return `${e.code}@${e.position?.insn}: ${e.message}`;
    throw e;
  }
}


describe('range analysis', () => {
  it('proves each load of a bounds-checked parse (fixed and variable offsets)', () => {
    const p = load({ name: 'parse', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(XDP_PARSE), license: 'GPL' }, { engine: 'interp' });
    // Slots of the five packet loads (the two ctx loads at 0 and 1 go through the context).
    expect(provenSlots(p)).toEqual([6, 12, 18, 22, 27]);
  });

  it('does not prove a load one byte past the check, and both engines fault there', () => {
    const text = XDP_OFF_BY_ONE;
    const progs = (['interp', 'jit'] as const).map((engine) => load({ name: 'obo', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(text), license: 'GPL' }, { engine, verify: false })); // the verifier rejects it: the VM's own check is under test
    expect(provenSlots(progs[0])).toEqual([]);
    const results = progs.map((p) => outcome(p, () => p.run({ data: new Uint8Array(13) })));
    expect(results[0]).toMatch(/^E_VM_OUT_OF_BOUNDS@6/);
    expect(results[1]).toBe(results[0]);
    expect(progs.map((p) => p.run({ data: new Uint8Array(14).fill(7) }).r0)).toEqual([7n, 7n]);
  });

  it('forgets packet bounds after a helper call (xdp_adjust_head moves the packet)', () => {
    const text = `
      r6 = r1
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r7 = r2
      r4 = r2
      r4 += 20
      if r4 > r3 goto out
      r1 = r6
      r2 = 4
      call 44
      r0 = *(u8 *)(r7 + 0)
    out:
      exit`;
    const progs = (['interp', 'jit'] as const).map((engine) => load({ name: 'adj', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(text), license: 'GPL' }, { engine, verify: false })); // rejected by the verifier on purpose
    expect(provenSlots(progs[0])).toEqual([]);
    const results = progs.map((p) => outcome(p, () => p.run({ data: new Uint8Array(40) })));
    expect(results[0]).toMatch(/^E_VM_/);
    expect(results[1]).toBe(results[0]);
  });

  it('follows a packet pointer spilled to the stack around a loop', () => {
    const text = `
      r3 = r1
      r3 += r2
      r2 = r1
      *(u64 *)(r10 - 16) = r2
      r6 = 50
      r0 = 0
    again:
      r2 = *(u64 *)(r10 - 16)
      r4 = r2
      r4 += 4
      if r4 > r3 goto out
      r5 = *(u32 *)(r2 + 0)
      r0 += r5
      r6 += -1
      if r6 != 0 goto again
    out:
      exit`;
    const p = load({ name: 'loop', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(text), license: 'GPL' }, { engine: 'jit' });
    expect(provenSlots(p)).toEqual([10]);
    expect(p.run({ mem: new Uint8Array([1, 0, 0, 0]) }).r0).toBe(50n);
    expect(p.run({ mem: new Uint8Array([1, 0, 0]) }).r0).toBe(0n);
  });

  it('keeps faults when run arguments break the (memory, length) assumption', () => {
    const text = `
      r3 = r1
      r3 += r2
      r4 = r1
      r4 += 600
      if r4 > r3 goto out
      r0 = *(u8 *)(r1 + 599)
    out:
      exit`;
    const progs = (['interp', 'jit'] as const).map((engine) => load({ name: 'args', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(text), license: 'GPL' }, { engine }));
    expect(provenSlots(progs[1])).toEqual([5]);
    // r1 is the 512-byte stack frame, r2 claims 100000 bytes: the load must still fault.
    const args = [pointer(STACK_REGION, 0), 100000n];
    const results = progs.map((p) => outcome(p, () => p.run({ args })));
    expect(results[0]).toMatch(/^E_VM_OUT_OF_BOUNDS@5/);
    expect(results[1]).toBe(results[0]);
    // And the fast path still runs for the (memory, length) model afterwards.
    const mem = new Uint8Array(600); mem[599] = 9;
    expect(progs.map((p) => p.run({ mem }).r0)).toEqual([9n, 9n]);
  });
});

describe('entries the compiled code does not know', () => {
  it('a forged callback pointer into the middle of a block runs as on the interpreter', () => {
    // 0x46554e00 << 32 is the VM's function-pointer tag; slot 6 (r0 = 7) is no subprogram entry.
    const insns = asm(`
      r1 = 2
      r2 = 0x46554e0000000006 ll
      r3 = 0
      r4 = 0
      call 181
      r0 += 7
      exit`);
    const results = (['interp', 'jit'] as const).map((engine) => {
      const p = load({ name: 'forged', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns, license: 'GPL' }, { engine, budget: 1000 });
      return outcome(p, () => p.run());
    });
    expect(results[0]).toMatch(/^(r0=|E_VM_)/);
    expect(results[1]).toBe(results[0]);
  });
});

// Random bounds checks in every comparison form, with loads near the proven edge.
const FORMS = [0x2d, 0x3d, 0xad, 0xbd]; // jgt, jge, jlt, jle (64-bit, register)
const SIZES: [number, number][] = [[0x71, 1], [0x69, 2], [0x61, 4], [0x79, 8]];
const check = fc.record({
  form: fc.constantFrom(...FORMS), swap: fc.boolean(), bound: fc.integer({ min: 0, max: 24 }),
  loads: fc.array(fc.record({ size: fc.constantFrom(...SIZES), off: fc.integer({ min: -2, max: 26 }), dst: fc.integer({ min: 5, max: 9 }) }), { minLength: 1, maxLength: 4 }),
  viaVar: fc.boolean(), varAdd: fc.integer({ min: 0, max: 3 }),
});

/** r2 = start, r3 = end (set by the prolog); a check of r4 = r2 (+ r1) + bound against r3, then loads through r2. */
interface Check { form: number; swap: boolean; bound: number; loads: { size: [number, number]; off: number; dst: number }[]; viaVar: boolean; varAdd: number }

function checkProgram(c: Check): Insn[] {
  const body: Insn[] = [];
  if (c.viaVar) {
    body.push({ code: 0xb7, dst: 1, src: 0, off: 0, imm: c.varAdd }); // r1 = varAdd
    body.push({ code: 0x0f, dst: 2, src: 1, off: 0, imm: 0 }); // r2 += r1 (a variable offset)
  }
  body.push({ code: 0xbf, dst: 4, src: 2, off: 0, imm: 0 }, { code: 0x07, dst: 4, src: 0, off: 0, imm: c.bound });
  const loads = c.loads.map((l) => ({ code: l.size[0], dst: l.dst, src: 2, off: l.off, imm: 0 }));
  // The jump skips the loads on the "out of bounds" edge of its form.
  const skipOnTrue = (c.form === 0x2d || c.form === 0x3d) !== c.swap;
  const [a, b] = c.swap ? [3, 4] : [4, 3];
  if (skipOnTrue) body.push({ code: c.form, dst: a, src: b, off: loads.length, imm: 0 }, ...loads);
  else body.push({ code: c.form, dst: a, src: b, off: 1, imm: 0 }, { code: 0x05, dst: 0, src: 0, off: loads.length, imm: 0 }, ...loads);
  body.push({ code: 0xbf, dst: 0, src: loads[0].dst, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  return body;
}

describe('range analysis against the interpreter', () => {
  it('random bounds checks: same r0 and faults, XDP and (memory, length) model', () => {
    let proven = 0, faults = 0, values = 0;
    fc.assert(
      fc.property(check, fc.boolean(), fc.integer({ min: 0, max: 40 }), (c, xdp, len) => {
        const prolog: Insn[] = xdp
          ? [{ code: 0x61, dst: 2, src: 1, off: 0, imm: 0 }, { code: 0x61, dst: 3, src: 1, off: 4, imm: 0 }]
          : [{ code: 0xbf, dst: 3, src: 1, off: 0, imm: 0 }, { code: 0x0f, dst: 3, src: 2, off: 0, imm: 0 }, { code: 0xbf, dst: 2, src: 1, off: 0, imm: 0 }];
        const insns = [...prolog, ...checkProgram(c)];
        const type = xdp ? ProgType.BPF_PROG_TYPE_XDP : ProgType.BPF_PROG_TYPE_UNSPEC;
        const bytes = new Uint8Array(len).map((_, i) => i * 7 + 1);
        const [pi, pj] = (['interp', 'jit'] as const).map((engine) => load({ name: 'chk', type, insns, license: 'GPL' }, { engine, verify: false })); // random checks, many out of bounds on purpose
        proven += provenSlots(pj).length;
        const run = (p: VmProgram) => outcome(p, () => (xdp ? p.run({ data: bytes }) : p.run({ mem: bytes })));
        const a = run(pi);
        if (a.startsWith('E_')) faults++; else values++;
        expect(run(pj)).toBe(a);
      }),
      { numRuns: 400, seed: 0x7a11 },
    );
    expect(proven).toBeGreaterThan(100);
    expect(faults).toBeGreaterThan(20);
    expect(values).toBeGreaterThan(100);
  });
});
