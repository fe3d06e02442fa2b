/** Removes instructions no path reaches (the kernel rejects unreachable code) and re-targets jumps. */

import type { Insn } from '../ebpf/index.js';

const LDDW = 0x18;
const BPF_JMP = 0x05;
const BPF_JMP32 = 0x06;
const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_FUNC = 4;

interface Edge {
  /** Where the jump's offset lives and which slot it targets. */
  field: 'off' | 'imm';
  target: number;
}

/** Successor slots of the instruction at `slot` and the jump edge it carries, if any. */
function successors(insn: Insn, slot: number): { next: number[]; edge?: Edge } {
  const width = insn.code === LDDW ? 2 : 1;
  if (insn.code === LDDW) {
    if (insn.src === BPF_PSEUDO_FUNC) return { next: [slot + 2, slot + 1 + insn.imm], edge: { field: 'imm', target: slot + 1 + insn.imm } };
    return { next: [slot + 2] };
  }
  const cls = insn.code & 7;
  if (cls !== BPF_JMP && cls !== BPF_JMP32) return { next: [slot + width] };
  const op = insn.code & 0xf0;
  if (op === 0x90) return { next: [] };
  if (op === 0x80) {
    if (insn.src === BPF_PSEUDO_CALL) return { next: [slot + 1, slot + 1 + insn.imm], edge: { field: 'imm', target: slot + 1 + insn.imm } };
    return { next: [slot + 1] };
  }
  if (op === 0x00) {
    const t = cls === BPF_JMP32 ? slot + 1 + insn.imm : slot + 1 + insn.off;
    return { next: [t], edge: { field: cls === BPF_JMP32 ? 'imm' : 'off', target: t } };
  }
  const t = slot + 1 + insn.off;
  return { next: [slot + 1, t], edge: { field: 'off', target: t } };
}

/** The program without unreachable instructions; jump offsets are recomputed. */
export function pruneUnreachable(insns: readonly Insn[]): Insn[] {
  const slotOf: number[] = [];
  const bySlot = new Map<number, number>();
  let s = 0;
  insns.forEach((insn, i) => {
    slotOf.push(s);
    bySlot.set(s, i);
    s += insn.code === LDDW ? 2 : 1;
  });
  const reached = new Array<boolean>(insns.length).fill(false);
  const stack = [0];
  while (stack.length) {
    const i = stack.pop()!;
    if (i === undefined || reached[i]) continue;
    reached[i] = true;
    for (const n of successors(insns[i], slotOf[i]).next) {
      const j = bySlot.get(n);
      if (j !== undefined && !reached[j]) stack.push(j);
    }
  }
  if (reached.every(Boolean)) return insns.map((x) => ({ ...x }));
  const newSlot = new Map<number, number>();
  let ns = 0;
  insns.forEach((insn, i) => {
    if (!reached[i]) return;
    newSlot.set(slotOf[i], ns);
    ns += insn.code === LDDW ? 2 : 1;
  });
  const out: Insn[] = [];
  insns.forEach((insn, i) => {
    if (!reached[i]) return;
    const copy = { ...insn };
    const { edge } = successors(insn, slotOf[i]);
    if (edge) {
      const me = newSlot.get(slotOf[i])!;
      const to = newSlot.get(edge.target);
      if (to !== undefined) {
        const delta = to - (me + 1);
        copy[edge.field] = delta;
        if (copy.code === LDDW) copy.imm64 = BigInt(delta >>> 0);
      }
    }
    out.push(copy);
  });
  return out;
}
