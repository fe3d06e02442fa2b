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
  const canon = new Map<number, Block[]>();
  const rep = new Map<Block, Block>();
  const num = new Map<Block, number>();
  for (const b of postOrder(g)) {
    const t = b.term;
    if (t.kind === 'branch') {
      t.jt = rep.get(t.jt) as Block;
      t.jf = rep.get(t.jf) as Block;
    }
    const h = blockHash(b, num);
    const bucket = canon.get(h);
    let seen: Block | undefined;
    if (bucket !== undefined) for (const c of bucket) if (sameBlock(c, b)) seen = c;
    if (seen) rep.set(b, seen);
    else {
      if (bucket === undefined) canon.set(h, [b]);
      else bucket.push(b);
      rep.set(b, b);
      num.set(b, num.size);
    }
  }
  g.entry = rep.get(g.entry) as Block;
  return g;
}

/** A hash of a block's statements and terminator, its successors by their canonical numbers (a bucket key, not an identity). */
function blockHash(b: Block, num: ReadonlyMap<Block, number>): number {
  let h = b.stmts.length;
  for (const s of b.stmts) h = (Math.imul(h, 31) + Math.imul(s.code, 17) + s.k + Math.imul(s.jt, 7) + s.jf) | 0;
  const t = b.term;
  h = (Math.imul(h, 31) + Math.imul(t.code, 13) + t.k) | 0;
  if (t.kind === 'branch') h = (Math.imul(h, 31) + Math.imul(num.get(t.jt) ?? -1, 101) + (num.get(t.jf) ?? -1)) | 0;
  else h = (h ^ 0x5bd1e995) | 0;
  return h;
}

/** True when two blocks, whose successors are already canonical, have the same statements and terminator. */
function sameBlock(a: Block, b: Block): boolean {
  const sa = a.stmts;
  const sb = b.stmts;
  if (sa.length !== sb.length) return false;
  for (let i = 0; i < sa.length; i++) if (sa[i].code !== sb[i].code || sa[i].k !== sb[i].k || sa[i].jt !== sb[i].jt || sa[i].jf !== sb[i].jf) return false;
  const ta = a.term;
  const tb = b.term;
  if (ta.kind !== tb.kind || ta.code !== tb.code || ta.k !== tb.k) return false;
  return ta.kind === 'return' || (tb.kind === 'branch' && ta.jt === tb.jt && ta.jf === tb.jf);
}
