/** Graph helpers the optimizer passes share: copying, ordering, predecessors, liveness, and the termination measure. */

import { BPF_A, BPF_ALU, BPF_CLASS, BPF_IMM, BPF_JA, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MISC, BPF_MISCOP, BPF_MODE, BPF_OP, BPF_RVAL, BPF_SRC, BPF_ST, BPF_STX, BPF_TAX, BPF_X, BPF_IND, type Insn } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';

/** Atoms the data-flow passes track: M[0..15], then A and X (as libpcap numbers them). */
export const A_ATOM = 16;
export const X_ATOM = 17;
export const N_ATOMS = 18;

/**
 * A count of the optimizer's elementary steps (a block visited, a state entry compared, a
 * statement simulated): the measure of its work that tests hold to a linear bound, since
 * time is not something a test can assert. {@link optimizeWithStats} resets and reports it.
 */
export const workMeter = { steps: 0 };

/** True for a goto block (`ja`): its only successor is `jt`. */
export function isGotoBlock(b: Block): boolean {
  return b.term.kind === 'branch' && b.term.code === (BPF_JMP | BPF_JA);
}

/** The distinct successors of a block. */
export function successors(b: Block): Block[] {
  const t = b.term;
  if (t.kind === 'return') return [];
  return t.jt === t.jf ? [t.jt] : [t.jt, t.jf];
}

/** A deep copy of a graph (statements and blocks are fresh objects; ids are kept). */
export function cloneCfg(cfg: Cfg): Cfg {
  const copies = new Map<Block, Block>();
  for (const b of postOrder(cfg)) {
    const t = b.term;
    const copy: Block = {
      id: b.id,
      stmts: b.stmts.map((s) => ({ code: s.code, k: s.k, jt: s.jt, jf: s.jf })),
      term: t.kind === 'return' ? { kind: 'return', code: t.code, k: t.k } : { kind: 'branch', code: t.code, k: t.k, jt: copies.get(t.jt) as Block, jf: copies.get(t.jf) as Block },
    };
    copies.set(b, copy);
  }
  return { entry: copies.get(cfg.entry) as Block };
}

/** Reachable blocks, every block after all of its successors (iterative DFS; the graph is a DAG). */
export function postOrder(cfg: Cfg): Block[] {
  // Every pass walks the graph this way, several times a round: no array per visit.
  const out: Block[] = [];
  const seen = new Set<Block>([cfg.entry]);
  const stack: Block[] = [cfg.entry];
  const next: number[] = [0];
  while (stack.length > 0) {
    const top = stack.length - 1;
    const b = stack[top];
    const t = b.term;
    let s: Block | undefined;
    if (t.kind === 'branch') {
      if (next[top] === 0) {
        next[top] = 1;
        s = t.jt;
      } else if (next[top] === 1) {
        next[top] = 2;
        if (t.jf !== t.jt) s = t.jf;
      }
    }
    if (s !== undefined) {
      if (!seen.has(s)) {
        seen.add(s);
        stack.push(s);
        next.push(0);
      }
    } else if (t.kind === 'return' || next[top] === 2) {
      stack.pop();
      next.pop();
      out.push(b);
      workMeter.steps++;
    }
  }
  return out;
}

/** Reachable blocks with every block before its successors. */
export function topoOrder(cfg: Cfg): Block[] {
  return postOrder(cfg).reverse();
}

/** Predecessor lists (one entry per edge, so a branch with jt === jf counts once). */
export function predecessors(order: readonly Block[]): Map<Block, Block[]> {
  const preds = new Map<Block, Block[]>();
  for (const b of order) preds.set(b, []);
  for (const b of order) for (const s of successors(b)) (preds.get(s) as Block[]).push(b);
  return preds;
}

/** The atoms a statement reads and the atom it writes (-1 for none), as bit masks. */
export function useDef(s: Insn): { use: number; def: number } {
  const A = 1 << A_ATOM;
  const X = 1 << X_ATOM;
  switch (BPF_CLASS(s.code)) {
    case BPF_LD: {
      const mode = BPF_MODE(s.code);
      if (mode === BPF_MEM) return { use: 1 << (s.k & 15), def: A_ATOM };
      if (mode === BPF_IND) return { use: X, def: A_ATOM };
      return { use: 0, def: A_ATOM };
    }
    case BPF_LDX:
      return { use: BPF_MODE(s.code) === BPF_MEM ? 1 << (s.k & 15) : 0, def: X_ATOM };
    case BPF_ST:
      return { use: A, def: s.k & 15 };
    case BPF_STX:
      return { use: X, def: s.k & 15 };
    case BPF_ALU:
      return { use: A | (BPF_SRC(s.code) === BPF_X && BPF_OP(s.code) !== 0x80 ? X : 0), def: A_ATOM };
    case BPF_MISC:
      return BPF_MISCOP(s.code) === BPF_TAX ? { use: A, def: X_ATOM } : { use: X, def: A_ATOM };
    default:
      // A jump inside a block (only before normalisation): assume it reads everything.
      return { use: A | X, def: -1 };
  }
}

/** The atoms a block's terminator reads. */
export function termUse(b: Block): number {
  const t = b.term;
  if (t.kind === 'return') return BPF_RVAL(t.code) === BPF_A ? 1 << A_ATOM : 0;
  if (t.code === (BPF_JMP | BPF_JA)) return 0;
  return (1 << A_ATOM) | (BPF_SRC(t.code) === BPF_X ? 1 << X_ATOM : 0);
}

/** Atoms live on entry to (`liveIn`) and exit from (`liveOut`) each block. */
export function liveness(order: readonly Block[]): { liveIn: Map<Block, number>; liveOut: Map<Block, number> } {
  const liveIn = new Map<Block, number>();
  const liveOut = new Map<Block, number>();
  // Successors first: one backward sweep is exact on a DAG.
  for (let i = order.length - 1; i >= 0; i--) {
    const b = order[i];
    let out = 0;
    for (const s of successors(b)) out |= liveIn.get(s) as number;
    liveOut.set(b, out);
    let live = out | termUse(b);
    for (let j = b.stmts.length - 1; j >= 0; j--) {
      const { use, def } = useDef(b.stmts[j]);
      if (def >= 0) live &= ~(1 << def);
      live |= use;
    }
    liveIn.set(b, live);
  }
  return { liveIn, liveOut };
}

/** How "heavy" a statement is; every rewrite the passes make lowers it (see {@link measure}). */
export function stmtWeight(s: Insn): number {
  const cls = BPF_CLASS(s.code);
  if ((cls === BPF_LD || cls === BPF_LDX) && BPF_MODE(s.code) === BPF_IMM) return 0;
  if (cls === BPF_MISC) return 1;
  if (cls === BPF_LD && BPF_MODE(s.code) === BPF_IND) return 3;
  if (cls === BPF_ALU && BPF_SRC(s.code) === BPF_X) return 3;
  return 2;
}

/**
 * The termination measure: (instructions, blocks, sum over edges of the height of the
 * edge's target, statement weights), where a return has height 1 and a branch one more
 * than its highest successor. Every change any pass makes lowers this tuple in
 * lexicographic order (moving an edge further down lowers its target's height and raises
 * no other), so the optimizer loop terminates.
 */
export function measure(cfg: Cfg): number[] {
  const order = postOrder(cfg);
  const height = new Map<Block, number>();
  let insns = 0;
  let edges = 0;
  let weight = 0;
  for (const b of order) {
    insns += b.stmts.length + 1;
    const t = b.term;
    if (t.kind === 'return') {
      height.set(b, 1);
      if (BPF_RVAL(t.code) === BPF_A) weight++;
    } else {
      const ht = height.get(t.jt) as number;
      const hf = height.get(t.jf) as number;
      height.set(b, 1 + Math.max(ht, hf));
      edges += ht;
      if (t.code !== (BPF_JMP | BPF_JA)) edges += hf;
      if (BPF_SRC(t.code) === BPF_X || (BPF_OP(t.code) === BPF_JSET && BPF_SRC(t.code) === BPF_K && t.k === 0xffffffff)) weight++;
    }
    for (const s of b.stmts) weight += stmtWeight(s);
  }
  return [insns, order.length, edges, weight];
}

/** A canonical text of a graph (block ids ignored), to detect a fixed point. */
export function serialize(cfg: Cfg): string {
  const order = topoOrder(cfg);
  const index = new Map<Block, number>();
  order.forEach((b, i) => index.set(b, i));
  return order
    .map((b) => {
      const t = b.term;
      const stmts = b.stmts.map((s) => `${s.code}:${s.k}:${s.jt}:${s.jf}`).join(',');
      const term = t.kind === 'return' ? `r${t.code}:${t.k}` : `b${t.code}:${t.k}:${index.get(t.jt)}:${index.get(t.jf)}`;
      return `${stmts}|${term}`;
    })
    .join(';');
}

/**
 * True when two graphs are the same up to block identity: what comparing their
 * {@link serialize} texts says, without building the texts.
 */
export function sameGraph(a: Cfg, b: Cfg): boolean {
  const oa = postOrder(a);
  const ob = postOrder(b);
  if (oa.length !== ob.length) return false;
  const ia = new Map<Block, number>();
  const ib = new Map<Block, number>();
  for (let i = 0; i < oa.length; i++) {
    ia.set(oa[i], i);
    ib.set(ob[i], i);
  }
  for (let i = 0; i < oa.length; i++) {
    const x = oa[i];
    const y = ob[i];
    const sx = x.stmts;
    const sy = y.stmts;
    if (sx.length !== sy.length) return false;
    for (let j = 0; j < sx.length; j++) if (sx[j].code !== sy[j].code || sx[j].k !== sy[j].k || sx[j].jt !== sy[j].jt || sx[j].jf !== sy[j].jf) return false;
    const tx = x.term;
    const ty = y.term;
    if (tx.kind !== ty.kind || tx.code !== ty.code || tx.k !== ty.k) return false;
    if (tx.kind === 'branch' && ty.kind === 'branch' && (ia.get(tx.jt) !== ib.get(ty.jt) || ia.get(tx.jf) !== ib.get(ty.jf))) return false;
  }
  return true;
}

/** Lexicographic comparison of two measures. */
export function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
