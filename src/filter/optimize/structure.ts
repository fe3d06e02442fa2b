/**
 * The structure pass: tests with one successor become gotos, empty gotos are bypassed, a
 * goto to a bare return becomes that return, a goto into a block with no other
 * predecessor absorbs it, and identical blocks are shared (libpcap's `intern_blocks`).
 */

import { BPF_JA, BPF_JMP } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { cloneCfg, isGotoBlock, postOrder, predecessors, topoOrder } from './graph.js';

/** Follows empty gotos. Ends: each step goes strictly down the DAG. */
function resolve(b: Block): Block {
  while (isGotoBlock(b) && b.stmts.length === 0 && b.term.kind === 'branch') b = b.term.jt;
  return b;
}

/** Runs the pass on a copy of `cfg`. */
export function structure(cfg: Cfg): Cfg {
  return structureInPlace(cloneCfg(cfg));
}

/** {@link structure} on `g` itself (the optimizer's rounds copy the graph once, not once per pass). */
export function structureInPlace(g: Cfg): Cfg {
  for (const b of topoOrder(g)) {
    const t = b.term;
    if (t.kind === 'branch' && t.jt === t.jf) t.code = BPF_JMP | BPF_JA;
  }
  g.entry = resolve(g.entry);
  for (const b of topoOrder(g)) {
    const t = b.term;
    if (t.kind !== 'branch') continue;
    t.jt = resolve(t.jt);
    t.jf = resolve(t.jf);
    if (t.jt === t.jf) t.code = BPF_JMP | BPF_JA;
    if (isGotoBlock(b) && t.jt.term.kind === 'return' && t.jt.stmts.length === 0) b.term = { ...t.jt.term };
  }
  // Absorb single-predecessor goto targets, top down.
  const order = topoOrder(g);
  const preds = predecessors(order);
  const gone = new Set<Block>();
  for (const b of order) {
    if (gone.has(b)) continue;
    for (;;) {
      const t = b.term;
      if (t.kind !== 'branch' || !isGotoBlock(b)) break;
      const next = t.jt;
      if (next === g.entry || (preds.get(next) as Block[]).length !== 1) break;
      b.stmts.push(...next.stmts);
      b.term = next.term;
      gone.add(next);
      // next's successors now have b as predecessor in next's place.
      for (const s of next.term.kind === 'branch' ? [next.term.jt, next.term.jf] : []) {
        const l = preds.get(s) as Block[];
        const i = l.indexOf(next);
        if (i >= 0) l[i] = b;
      }
    }
  }
  // Share identical blocks, bottom up so that successors are already canonical.
  const canon = new Map<string, Block>();
  const rep = new Map<Block, Block>();
  const num = new Map<Block, number>();
  for (const b of postOrder(g)) {
    const t = b.term;
    if (t.kind === 'branch') {
      t.jt = rep.get(t.jt) as Block;
      t.jf = rep.get(t.jf) as Block;
    }
    const key = `${b.stmts.map((s) => `${s.code},${s.k},${s.jt},${s.jf}`).join(';')}|${t.kind === 'return' ? `r${t.code},${t.k}` : `b${t.code},${t.k},${num.get(t.jt)},${num.get(t.jf)}`}`;
    const seen = canon.get(key);
    if (seen) rep.set(b, seen);
    else {
      canon.set(key, b);
      rep.set(b, b);
      num.set(b, num.size);
    }
  }
  g.entry = rep.get(g.entry) as Block;
  return g;
}
