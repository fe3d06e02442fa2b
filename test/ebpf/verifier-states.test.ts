// The verifier's per-instruction entry states (insnStates): each must agree with the level-2 log the same run writes.
import { describe, expect, it } from 'vitest';
import { assembleLlvm, ProgType } from '../../src/ebpf/index.js';
import { MAX_INSN_STATES, verify } from '../../src/ebpf/verifier/index.js';

const PROG = `r6 = r1
r0 = *(u32 *)(r6 + 0)
*(u64 *)(r10 - 8) = r0
if r0 > 100 goto +2
r0 += 1
exit
r0 = 0
exit
`;

describe('verify({ insnStates })', () => {
  const spec = { name: 's', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: assembleLlvm(PROG), license: 'GPL' };
  const r = verify(spec, { logLevel: 2, insnStates: true });
  const states = r.insnStates!;

  it('starts with the context in r1 and the frame pointer in r10', () => {
    expect(states[0]).toEqual(['R1=ctx() R10=fp0']);
  });

  it('the entry state of an instruction is the state the log prints after its predecessor on the path, or on the branch to it', () => {
    const after = new Map<number, string>();
    const branches: [number, string][] = [];
    for (const line of r.log.split('\n')) {
      const m = /^(\d+): \([0-9a-f]{2}\) [^\t]*\t; (.*)$/.exec(line);
      if (m) after.set(Number(m[1]), m[2]);
      const b = /^from \d+ to (\d+): (.*)$/.exec(line);
      if (b) branches.push([Number(b[1]), b[2]]);
    }
    // Straight-line successors (not after the conditional jump at 3, nor after exits).
    for (const k of [0, 1, 2]) expect(states[k + 1]).toContain(after.get(k));
    expect(branches.length).toBeGreaterThan(0);
    for (const [to, st] of branches) expect(states[to]).toContain(st);
    // Both sides of `if r0 > 100` were explored, with their own bounds on r0.
    expect(states[4].join(' ')).toMatch(/R0=scalar\([^)]*umax[=a-z0-9]*=100[,)]/);
    expect(states[6].join(' ')).toMatch(/R0=scalar\([^)]*umin[=a-z0-9]*=101[,)]/);
  });

  it('is absent unless asked for, and capped per instruction', () => {
    expect(verify(spec).insnStates).toBeUndefined();
    const loop = assembleLlvm('r1 = 0\nr1 += 1\nif r1 < 40 goto -2\nr0 = 0\nexit\n');
    const l = verify({ ...spec, insns: loop }, { insnStates: true }).insnStates!;
    expect(l[1].length).toBe(MAX_INSN_STATES);
  });
});
