// The VM stepper (traceRun, Stepper): every recorded step is checked against ordinary interpreter and JIT runs of patched programs, on the bpf_conformance vectors and on packet programs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleLlvm, decodeProgram, ProgType, type Insn, type ProgramSpec } from '../../src/ebpf/index.js';
import { Stepper, UNWIND_HELPER, load, traceRun, type VmProgram } from '../../src/ebpf/vm/index.js';
import { RuntimeFault, fromHex } from '../../src/util/index.js';
import { corpusDir, skipReason } from '../helpers/reference.js';

interface Vector { words: string[]; mem: string; result: string }

const skip = skipReason('bpf_conformance vectors', { corpus: 'bpf-conformance/expected-bytecode.json' });
const vectors: [string, Vector][] = skip
  ? []
  : Object.entries(JSON.parse(readFileSync(path.join(corpusDir, 'bpf-conformance/expected-bytecode.json'), 'utf8')) as Record<string, Vector>);

function decodeWords(words: readonly string[]): Insn[] {
  const out = new Uint8Array(words.length * 8);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, BigInt(w), true));
  return decodeProgram(out);
}

function loadConf(name: string, insns: Insn[], engine: 'interp' | 'jit' = 'interp'): VmProgram {
  return load({ name, type: ProgType.BPF_PROG_TYPE_UNSPEC, insns, license: 'MIT' }, { engine, helpers: [UNWIND_HELPER], budget: 100_000 });
}

/** Slot index of each instruction (lddw takes two). */
function slotsOf(insns: readonly Insn[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const i of insns) { out.push(s); s += i.code === 0x18 ? 2 : 1; }
  return out;
}

const MIX = 1000003n;

/** What {@link probe}'s epilogue computes from r0..r9 and the stack word at r10 - 8. */
function mix(regs: readonly bigint[], top: bigint): bigint {
  let h = regs[0];
  for (const v of [...regs.slice(1, 10), top]) h = BigInt.asUintN(64, h * MIX) ^ v;
  return h;
}

/**
 * `insns` with the instruction at slot `pc` replaced by a jump to an appended epilogue that
 * folds r0..r9 and the stack word at r10 - 8 into r0 (see {@link mix}) and exits: run
 * normally, it stops where the step was taken and reports that machine state, so each
 * recorded step is checked by an ordinary run.
 */
function probe(insns: readonly Insn[], pc: number): Insn[] {
  const slots = slotsOf(insns);
  const at = slots.indexOf(pc);
  const end = slots[slots.length - 1] + (insns[insns.length - 1].code === 0x18 ? 2 : 1);
  const out = insns.slice();
  const jump: Insn = { code: 0x05, dst: 0, src: 0, off: end - pc - 1, imm: 0 };
  // An lddw is two slots: the jump and a `goto +0` keep every later slot where it was.
  out.splice(at, 1, ...(insns[at].code === 0x18 ? [jump, { code: 0x05, dst: 0, src: 0, off: 0, imm: 0 }] : [jump]));
  const mul: Insn = { code: 0x27, dst: 0, src: 0, off: 0, imm: Number(MIX) };
  for (let x = 1; x <= 9; x++) out.push(mul, { code: 0xaf, dst: 0, src: x, off: 0, imm: 0 });
  out.push({ code: 0x79, dst: 1, src: 10, off: -8, imm: 0 }, mul, { code: 0xaf, dst: 0, src: 1, off: 0, imm: 0 });
  out.push({ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  return out;
}

describe.skipIf(skip !== undefined)('traceRun on the bpf_conformance vectors', () => {
  it('ends as the interpreter and the JIT end: same r0, or the same fault at the last step\'s pc', () => {
    const bad: string[] = [];
    for (const [name, v] of vectors) {
      const insns = decodeWords(v.words);
      const mem = v.mem.trim() ? fromHex(v.mem) : new Uint8Array(0);
      let prog: VmProgram;
      try { prog = loadConf(name, insns); } catch { continue; } // rejected at load: nothing to step
      const t = traceRun(prog, { mem });
      expect(t.truncated, name).toBe(false);
      for (const engine of ['interp', 'jit'] as const) {
        let want: bigint | RuntimeFault;
        try { want = loadConf(name, insns, engine).run({ mem }).r0; } catch (e) { want = e as RuntimeFault; }
        if (want instanceof RuntimeFault) {
          if (!t.fault || t.fault.code !== want.code || t.fault.position?.insn !== want.position?.insn) bad.push(`${name} ${engine}: fault ${want.code}@${want.position?.insn} vs ${t.fault?.code}@${t.fault?.position?.insn}`);
          else if (t.steps.at(-1)?.pc !== want.position?.insn) bad.push(`${name}: last step at ${t.steps.at(-1)?.pc}, fault at ${want.position?.insn}`);
        } else if (t.result?.r0 !== want) bad.push(`${name} ${engine}: r0 ${t.result?.r0} vs ${want}`);
      }
      // The last instruction executed is the exit that ended the run (unless a helper stopped it).
      if (t.result && insns.every((i) => i.code !== 0x85)) expect(t.steps.at(-1)?.pc !== undefined && insns[slotsOf(insns).indexOf(t.steps.at(-1)!.pc)].code, name).toBe(0x95);
    }
    expect(bad).toEqual([]);
  });

  it('every register and the top stack word, at each instruction\'s first execution in the main frame, equal an ordinary run stopped there', () => {
    let checked = 0;
    const bad: string[] = [];
    for (const [name, v] of vectors) {
      const insns = decodeWords(v.words);
      const mem = v.mem.trim() ? fromHex(v.mem) : new Uint8Array(0);
      let prog: VmProgram;
      try { prog = loadConf(name, insns); } catch { continue; }
      const t = traceRun(prog, { mem });
      prog.close();
      const seen = new Set<number>();
      for (const s of t.steps) {
        if (seen.has(s.pc) || s.depth !== 0) continue;
        seen.add(s.pc);
        const p = loadConf(name, probe(insns, s.pc));
        const got = p.run({ mem }).r0;
        p.close();
        const want = mix(s.regs, new DataView(s.stack.buffer, s.stack.byteOffset).getBigUint64(504, true));
        if (got !== want) bad.push(`${name} pc ${s.pc}: step 0x${want.toString(16)}, run 0x${got.toString(16)}`);
        checked++;
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('traceRun on a tc classifier', () => {
  const text = `r6 = r1
r0 = *(u16 *)skb[12]
if r0 != 0x800 goto +3
r0 = *(u8 *)skb[23]
*(u64 *)(r10 - 8) = r0
r0 = 0xffff
exit
`;
  const spec: ProgramSpec = { name: 'f', type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: assembleLlvm(text), license: 'GPL' };
  const frame = new Uint8Array(60);
  frame.set([0x08, 0x00], 12);
  frame[23] = 17;

  it('records the pcs taken, the packet loads, the stack store, and the run\'s result', () => {
    const t = traceRun(load(spec), { data: frame });
    expect(t.steps.map((s) => s.pc)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(t.steps[2].regs[0]).toBe(0x800n);
    expect(t.steps[4].regs[0]).toBe(17n);
    expect(t.steps[5].stack[504]).toBe(17);
    expect(t.steps[4].stack[504]).toBe(0);
    expect(t.steps[1].regs[6]).toBe(t.steps[0].regs[1]);
    expect(t.result?.r0).toBe(load(spec, { engine: 'jit' }).run({ data: frame }).r0);
    // The IPv4 test fails on an ARP frame: the jump skips to r0 = 0xffff.
    frame.set([0x08, 0x06], 12);
    expect(traceRun(load(spec), { data: frame }).steps.map((s) => s.pc)).toEqual([0, 1, 2, 6]);
  });

  it('a fault ends the record at the faulting instruction, with the fault the ordinary run throws', () => {
    const bad: ProgramSpec = { name: 'oob', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: assembleLlvm('r2 = 7\nr1 += r2\nr0 = *(u64 *)(r1 + 4)\nexit\n'), license: 'MIT' };
    const prog = load(bad, { engine: 'interp' });
    const mem = new Uint8Array(8);
    let want: RuntimeFault | undefined;
    try { prog.run({ mem }); } catch (e) { want = e as RuntimeFault; }
    const t = traceRun(prog, { mem });
    expect(want).toBeInstanceOf(RuntimeFault);
    expect(t.fault?.code).toBe(want?.code);
    expect(t.fault?.position?.insn).toBe(2);
    expect(t.steps.at(-1)?.pc).toBe(2);
    expect(t.result).toBeUndefined();
  });

  it('a Stepper moves forward and back over the record; maxSteps cuts a loop short', () => {
    const st = new Stepper(load(spec), { data: frame });
    expect(st.current?.pc).toBe(0);
    expect(st.step(2)?.pc).toBe(2);
    expect(st.back()?.pc).toBe(1);
    st.step(100);
    expect(st.done).toBe(true);
    expect(st.current).toBeUndefined();
    expect(st.reset()?.pc).toBe(0);
    const loop: ProgramSpec = { name: 'loop', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: assembleLlvm('r0 = 0\nr0 += 1\ngoto -2\n'), license: 'MIT' };
    const t = traceRun(load(loop, { verify: false }), {}, { maxSteps: 50 });
    expect(t.truncated).toBe(true);
    expect(t.steps.length).toBe(50);
    expect(t.steps[49].regs[0]).toBe(24n);
    // The program's budget still holds, counted per instruction: the fault names the instruction where it ran out.
    const b = traceRun(load(loop, { verify: false, budget: 41 }));
    let want: RuntimeFault | undefined;
    try { load(loop, { verify: false, budget: 41, engine: 'interp' }).run(); } catch (e) { want = e as RuntimeFault; }
    expect(b.fault?.code).toBe(want?.code);
    expect(b.steps.length).toBe(41);
    expect(b.fault?.position?.insn).toBe(1);
  });
});
