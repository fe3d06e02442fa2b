// Pruning: a value spilled to the stack that nothing reads back into a branch, an address or a checked return does not multiply the states; one that is read back still counts.
import { describe, expect, it } from 'vitest';
import { ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { verify, VerifierError } from '../../src/ebpf/verifier/index.js';
import { asm } from './vm-support.js';

/** Parses up to three bytes of the packet per round and adds a per-outcome number into a sum kept at fp-24, for `rounds` rounds. */
function sumLoop(rounds: number, tail = 'r0 = *(u64 *)(r10 - 24)'): ProgramSpec {
  const text = `
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    *(u64 *)(r10 - 16) = r2
    r1 = ${rounds}
    *(u64 *)(r10 - 8) = r1
    r0 = 0
    *(u64 *)(r10 - 24) = r0
  again:
    r2 = *(u64 *)(r10 - 16)
    r0 = 1
    r4 = r2
    r4 += 4
    if r4 > r3 goto out
    r5 = *(u8 *)(r2 + 0)
    if r5 != 1 goto out
    r0 = 10
    r5 = *(u8 *)(r2 + 1)
    if r5 != 2 goto out
    r0 = 100
    r5 = *(u8 *)(r2 + 2)
    if r5 != 3 goto out
    r0 = 1000
  out:
    r1 = *(u64 *)(r10 - 24)
    r1 += r0
    *(u64 *)(r10 - 24) = r1
    r1 = *(u64 *)(r10 - 8)
    r1 += -1
    *(u64 *)(r10 - 8) = r1
    if r1 != 0 goto again
    ${tail}
    exit`;
  return { name: 'sum_loop', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(text), license: 'GPL' };
}

describe('pruning with values spilled to the stack', () => {
  it('a sum nothing checks does not keep the states of different rounds apart', () => {
    // The kernel (Linux 6.18) processes 904 instructions for 8 rounds; without pruning across sums, the
    // combinations of outcomes run into the 1,000,000 budget. Both ends are far from this bound.
    const r = verify(sumLoop(8), { maxInsns: 100_000 });
    expect(r.processed).toBeLessThan(3000);
  });

  it('a spilled value read back as a packet offset still tells states apart: a bad path is found', () => {
    // The sum (up to 8000) becomes an offset into the packet after the loop; it is never bounds-checked: rejected on some path.
    const spec = sumLoop(8, `
      r0 = *(u64 *)(r10 - 24)
      r2 = *(u64 *)(r10 - 16)
      r2 += r0
      r0 = *(u8 *)(r2 + 0)`);
    expect(() => verify(spec)).toThrow(VerifierError);
  });

  it('a spilled value read back into a branch keeps states apart: the path that needs it is checked', () => {
    // The fall-through reaches `join` first with 1 at fp-32 (enough jumps and instructions after the last stored
    // state that one is stored there) and is explored to the end; then the path with 9 there
    // arrives. The value lives only in the stack at `join` and comes back into a branch: had the slot been taken as
    // irrelevant, the second path would be pruned and its read at offset 9 (4 bytes checked) never refused.
    const text = `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += 4
      if r4 > r3 goto done
      r5 = *(u8 *)(r2 + 0)
      if r5 == 1 goto nine
      r0 = 1
      *(u64 *)(r10 - 32) = r0
      r6 = 0
      if r6 != 0 goto done
      r6 = 0
      if r6 != 0 goto done
      r7 = 0
      r7 = 0
      r7 = 0
      r7 = 0
      goto join
    nine:
      r0 = 9
      *(u64 *)(r10 - 32) = r0
    join:
      r0 = 0
      r1 = *(u64 *)(r10 - 32)
      if r1 != 9 goto done
      r0 = *(u8 *)(r2 + 9)
    done:
      r0 = 0
      exit`;
    expect(() => verify({ name: 'readback', type: ProgType.BPF_PROG_TYPE_XDP, insns: asm(text), license: 'GPL' })).toThrow(/invalid access to packet/);
  });
});

describe('a long bounded loop', () => {
  /**
   * Counts to `n` as `bpfkit trace` compiles `for ($i : 0..n)`: the counter and the bound live in stack slots, so at
   * the loop head every round looks alike (no live register) and only the stack tells them apart.
   */
  const countTo = (n: number): ProgramSpec => ({
    name: 'count_to', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: asm(`
      r8 = r10
      r0 = ${n} ll
      *(u64 *)(r10 - 40) = r0
      r0 = 0 ll
      *(u64 *)(r8 - 16) = r0
    again:
      r0 = *(u64 *)(r8 - 16)
      r1 = *(u64 *)(r10 - 40)
      if r0 s>= r1 goto out
      r0 = *(u64 *)(r8 - 16)
      r0 += 1
      *(u64 *)(r8 - 16) = r0
      goto again
    out:
      r0 = 2
      exit`),
  });

  it('within the budget: accepted', () => {
    const r = verify(countTo(10_000));
    expect(r.processed).toBeGreaterThan(60_000);
  });

  it('past the budget: refused with the kernel\'s words, having compared each round with few others', () => {
    // Rounds still being explored that keep missing leave the list, as in the kernel. Without that, each round at
    // the loop head was compared with every round before it: this took minutes instead of a second (the test's
    // timeout catches it).
    expect(() => verify(countTo(1_000_000))).toThrow(/BPF program is too large\. Processed 1000001 insn/);
  }, 30_000);
});
