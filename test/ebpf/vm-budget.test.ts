// The instruction budget: both engines fault at the same instruction count and block, including when callbacks spend it mid-block.
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { load } from '../../src/ebpf/vm/index.js';
import { BpfkitError } from '../../src/util/index.js';
import { asm } from './vm-support.js';

function outcome(text: string, engine: 'interp' | 'jit', budget: number): string {
  try {
    const p = load({ name: 'b', type: ProgType.BPF_PROG_TYPE_UNSPEC, insns: asm(text), license: 'GPL' }, { engine, budget });
    return `r0=${p.run().r0}`;
  } catch (e) {
    if (e instanceof BpfkitError) return `${e.code}@${e.position?.insn}`;
    throw e;
  }
}

// 2 instructions before the loop, 4 per iteration (in three blocks), 1 exit: 10 iterations = 43 instructions.
const LOOP = `
  r0 = 0
  r1 = 10
loop:
  r0 += 1
  if r0 == 100 goto skip
  r1 += -1
skip:
  if r1 != 0 goto loop
  exit`;

describe('instruction budget', () => {
  it('a budget of exactly the count runs; one less faults at the block the count runs out in', () => {
    for (const engine of ['interp', 'jit'] as const) {
      expect(outcome(LOOP, engine, 43)).toBe('r0=10');
    }
    for (let budget = 0; budget < 43; budget++) {
      const a = outcome(LOOP, 'interp', budget);
      expect(a).toMatch(/^E_VM_BUDGET@/);
      expect(outcome(LOOP, 'jit', budget)).toBe(a);
    }
  });

  it('callbacks (bpf_loop) spend the budget in the middle of a block, on both engines alike', () => {
    const text = `
      r6 = 0
    again:
      r1 = 5
      r2 = func:cb ll
      r3 = 0
      r4 = 0
      call 181
      r6 += r0
      r0 = r6
      if r6 < 40 goto again
      exit
    cb:
      r0 = 0
      exit`;
    const results: string[] = [];
    for (let budget = 0; budget < 200; budget += 3) {
      const a = outcome(text, 'interp', budget);
      expect(outcome(text, 'jit', budget)).toBe(a);
      results.push(a);
    }
    // Some budgets fault (inside callbacks and in the caller), and the largest ones finish.
    expect(results.some((r) => r.startsWith('E_VM_BUDGET'))).toBe(true);
    expect(results.at(-1)).toBe('r0=40');
  });
});
