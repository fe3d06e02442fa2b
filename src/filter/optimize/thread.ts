/**
 * The jump-threading pass (libpcap's `opt_j`): an edge into a block whose test is already
 * decided along that edge goes straight to the decided successor, when skipping the block
 * cannot abort differently and leaves every register the target reads unchanged.
 */

import { BPF_OP } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { analyze } from './analysis.js';
import { A_ATOM, N_ATOMS, cloneCfg, isGotoBlock, liveness, successors } from './graph.js';
import { copyState, decide, operand, step, type State, type ValueTable } from './values.js';

/** Where an edge carrying `edge` into `s` can go instead, or undefined. */
function skip(s: Block, edge: State, liveIn: Map<Block, number>, table: ValueTable): Block | undefined {
  const t = s.term;
  if (t.kind === 'return') return undefined;
  const sim = copyState(edge);
  for (const stmt of s.stmts) if (step(stmt, sim, table, false).mayAbort) return undefined;
  let target: Block;
  if (isGotoBlock(s)) target = t.jt;
  else {
    const r = decide(BPF_OP(t.code), sim.regs[A_ATOM], operand(t.code, t.k, sim, table), sim, table);
    if (r === undefined) return undefined;
    target = r ? t.jt : t.jf;
  }
  // Everything the target may read must hold the same value without `s` as with it.
  const live = liveIn.get(target) as number;
  for (let a = 0; a < N_ATOMS; a++) if (live & (1 << a) && sim.regs[a] !== edge.regs[a]) return undefined;
  return target;
}

/** Marks every block reachable from `b`. */
function markFrom(b: Block, dirty: Set<Block>): void {
  const stack = [b];
  while (stack.length > 0) {
    const x = stack.pop() as Block;
    if (dirty.has(x)) continue;
    dirty.add(x);
    stack.push(...successors(x));
  }
}

/** Runs the pass on a copy of `cfg`. */
export function thread(cfg: Cfg): Cfg {
  const g = cloneCfg(cfg);
  const an = analyze(g);
  const { liveIn } = liveness(an.order);
  // States below a moved edge are stale until the next round; leave their edges alone.
  const dirty = new Set<Block>();
  for (const p of an.order) {
    const t = p.term;
    if (t.kind === 'return' || dirty.has(p)) continue;
    const e = an.edges.get(p) as { jt: State; jf: State };
    for (const side of ['jt', 'jf'] as const) {
      if (side === 'jf' && isGotoBlock(p)) break;
      let target = t[side];
      // Each step moves the edge strictly further down a DAG, so this ends.
      for (;;) {
        const next = skip(target, e[side], liveIn, an.table);
        if (next === undefined) break;
        target = next;
      }
      if (target !== t[side]) {
        t[side] = target;
        markFrom(target, dirty);
      }
    }
    if (isGotoBlock(p)) t.jf = t.jt;
  }
  return g;
}
