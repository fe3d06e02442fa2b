// The JIT drops the run-time checks of packet loads the verifier proved, and keeps every check of a program loaded unverified.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify } from '../../src/ebpf/verifier/index.js';
import { PROGRAM_TYPES_BY_ID, load, type VmProgram } from '../../src/ebpf/vm/index.js';
import { rangesFromFacts } from '../../src/ebpf/vm/jit-wasm.js';
import { analyzeRanges } from '../../src/ebpf/vm/range.js';
import { BpfkitError } from '../../src/util/index.js';
import { XDP_OFF_BY_ONE, XDP_PARSE, asm } from './vm-support.js';


const spec = (text: string): ProgramSpec => ({ name: 'parse', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(text), license: 'GPL' });
const slots = (a: ArrayLike<number>): number[] => Array.from(a, (v, i) => (v ? i : -1)).filter((i) => i >= 0);

function outcome(p: VmProgram, data: Uint8Array): string {
  try {
    const r = p.run({ data });
    return `r0=${r.r0}`;
  } catch (e) {
    if (e instanceof BpfkitError) return `${e.code}@${e.position?.insn}`;
    throw e;
  }
}

describe("the JIT and the verifier's facts", () => {
  it('the verifier proves each packet load of a bounds-checked parse, and where the packet start comes from', () => {
    const facts = verify(spec(XDP_PARSE)).facts;
    // The five packet loads; the two context loads (slots 0, 1) are not packet loads.
    expect(slots(facts.pktLoad)).toEqual([6, 12, 18, 22, 27]);
    // Slot 0 loads ctx->data: the packet's start, in r2.
    expect(facts.pktRoot[0]).toBe(2);
    expect(facts.pktRoot[1]).toBe(-1);
    expect(facts.rootsExact).toBe(true);
    // What the JIT's own analysis found for this program is a subset of the verifier's facts.
    const p = load(spec(XDP_PARSE), { engine: 'interp' });
    const own = analyzeRanges(p.code, { fields: PROGRAM_TYPES_BY_ID.get(ProgType.BPF_PROG_TYPE_XDP)!.fields, memEntry: false });
    for (const pc of slots(own.proven)) expect(facts.pktLoad[pc]).toBe(1);
  });

  it('a verified program compiles without the proven checks; an unverified one keeps them; runs agree with the interpreter', () => {
    const verified = load(spec(XDP_PARSE), { engine: 'jit' });
    const unverified = load(spec(XDP_PARSE), { engine: 'jit', verify: false });
    const interp = load(spec(XDP_PARSE), { engine: 'interp' });
    expect(verified.facts).toBeDefined();
    expect(unverified.facts).toBeUndefined();
    expect(rangesFromFacts(verified.code, verified.facts).any).toBe(true);
    expect(rangesFromFacts(unverified.code, unverified.facts).any).toBe(false);
    // Each dropped check is a region lookup and a compare-and-fault less in the module.
    expect(verified.jitModule().bytes.length).toBeLessThan(unverified.jitModule().bytes.length - 5 * 20);
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.boolean(), fc.integer({ min: 0, max: 15 }), (bytes, vlan, ihl) => {
      const data = new Uint8Array(bytes);
      if (data.length > 13) { data[12] = vlan ? 0 : 8; data[13] = vlan ? 0x81 : 0; }
      if (data.length > 14) data[14] = (data[14] & 0xf0) | ihl;
      const want = outcome(interp, data);
      expect(outcome(verified, data)).toBe(want);
      expect(outcome(unverified, data)).toBe(want);
    }), { numRuns: 300, seed: 11 });
  });

  it('an unverified load past the checked range still faults in the JIT, at the same instruction as the interpreter', () => {
    const text = XDP_OFF_BY_ONE;
    expect(() => verify(spec(text))).toThrow(/invalid access to packet/);
    const progs = (['interp', 'jit'] as const).map((engine) => load(spec(text), { engine, verify: false }));
    expect(rangesFromFacts(progs[1].code, progs[1].facts).any).toBe(false);
    const results = progs.map((p) => outcome(p, new Uint8Array(13)));
    expect(results[0]).toBe('E_VM_OUT_OF_BOUNDS@6');
    expect(results[1]).toBe(results[0]);
    expect(progs.map((p) => outcome(p, new Uint8Array(14).fill(7)))).toEqual(['r0=7', 'r0=7']);
  });

  it('proves nothing when a load makes a packet pointer on one path only (the base might be missing)', () => {
    // Slot 7 reloads either the packet start (spilled at fp-8) or a number (spilled at fp-16): not a packet-start load on every path.
    const text = `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      *(u64 *)(r10 - 8) = r2
      r5 = 0
      *(u64 *)(r10 - 16) = r5
      r6 = r10
      r6 += -8
      r7 = *(u32 *)(r1 + 12)
      if r7 == 0 goto keep
      r6 += -8
    keep:
      r8 = *(u64 *)(r6 + 0)
      r0 = 0
      r4 = r2
      r4 += 1
      if r4 > r3 goto out
      r0 = *(u8 *)(r2 + 0)
    out:
      exit`;
    const facts = verify(spec(text)).facts;
    expect(facts.rootsExact).toBe(false);
    const p = load(spec(text), { engine: 'jit' });
    expect(rangesFromFacts(p.code, p.facts).any).toBe(false);
    expect(outcome(p, new Uint8Array([5]))).toBe('r0=5');
    expect(outcome(p, new Uint8Array(0))).toBe('r0=0');
  });
});
