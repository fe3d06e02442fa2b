/** Gencode's working blocks: libpcap's sense-bit block lists (backpatch, merge, and/or/not) and their conversion to a Cfg. */

import { BPF_CLASS, BPF_RET, type Insn } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';

/** What a block is known to compute: constant true/false blocks fold away in and/or. */
export type Meaning = 'uncertain' | 'true' | 'false';

/**
 * One block under construction. Until backpatched, the unset side of each block in a
 * chain (chosen by its own `sense`) threads the list of exits that mean "true".
 */
export interface GBlock {
  id: number;
  stmts: Insn[];
  code: number;
  k: number;
  jt: GBlock | null;
  jf: GBlock | null;
  sense: boolean;
  /** The first block of the expression this block ends. */
  head: GBlock;
  meaning: Meaning;
}

/** Points every pending exit of `list` at `target`. */
export function backpatch(list: GBlock | null, target: GBlock): void {
  while (list) {
    let next: GBlock | null;
    if (!list.sense) {
      next = list.jt;
      list.jt = target;
    } else {
      next = list.jf;
      list.jf = target;
    }
    list = next;
  }
}

/** Appends exit list `b1` to the end of exit list `b0`. */
function merge(b0: GBlock, b1: GBlock): void {
  let p = b0;
  for (;;) {
    const next = !p.sense ? p.jt : p.jf;
    if (!next) break;
    p = next;
  }
  if (!p.sense) p.jt = b1;
  else p.jf = b1;
}

/** `b0 and b1`, as libpcap's gen_and (constant blocks fold). */
export function genAnd(b0: GBlock, b1: GBlock): GBlock {
  if (b0.meaning === 'false') return b0;
  if (b1.meaning === 'false') return b1;
  if (b0.meaning === 'true') return b1;
  if (b1.meaning === 'true') return b0;
  backpatch(b0, b1.head);
  b0.sense = !b0.sense;
  b1.sense = !b1.sense;
  merge(b1, b0);
  b1.sense = !b1.sense;
  b1.head = b0.head;
  return b1;
}

/** `b0 or b1`, as libpcap's gen_or. */
export function genOr(b0: GBlock, b1: GBlock): GBlock {
  if (b0.meaning === 'false') return b1;
  if (b1.meaning === 'false') return b0;
  if (b0.meaning === 'true') return b0;
  if (b1.meaning === 'true') return b1;
  b0.sense = !b0.sense;
  backpatch(b0, b1.head);
  b0.sense = !b0.sense;
  merge(b1, b0);
  b1.head = b0.head;
  return b1;
}

/** `not b`: flipping the sense swaps which side the exit list uses. */
export function genNot(b: GBlock): GBlock {
  b.sense = !b.sense;
  if (b.meaning === 'true') b.meaning = 'false';
  else if (b.meaning === 'false') b.meaning = 'true';
  return b;
}

/** Converts the finished block graph (every exit patched) into the shared Cfg shape; iterative, so long chains cannot overflow the stack. */
export function toCfg(root: GBlock): Cfg {
  const done = new Map<GBlock, Block>();
  const order: GBlock[] = [];
  const stack: GBlock[] = [root];
  while (stack.length > 0) {
    const g = stack.pop() as GBlock;
    if (done.has(g)) continue;
    done.set(g, { id: g.id, stmts: g.stmts, term: { kind: 'return', code: g.code, k: g.k } });
    order.push(g);
    if (BPF_CLASS(g.code) !== BPF_RET) {
      if (!g.jt || !g.jf) throw new Error(`internal error: block ${g.id} has an unpatched exit`);
      stack.push(g.jf, g.jt);
    }
  }
  for (const g of order) {
    if (BPF_CLASS(g.code) === BPF_RET) continue;
    const b = done.get(g) as Block;
    b.term = { kind: 'branch', code: g.code, k: g.k >>> 0, jt: done.get(g.jt as GBlock) as Block, jf: done.get(g.jf as GBlock) as Block };
  }
  return { entry: done.get(root) as Block };
}
