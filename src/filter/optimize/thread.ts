/**
 * The jump-threading pass (libpcap's `opt_j`): an edge into a block whose test is already
 * decided along that edge goes straight to the decided successor, when skipping the block
 * cannot abort differently and leaves every register the target reads unchanged.
 */

import { BPF_OP } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { branchEdges, push } from './analysis.js';
import { A_ATOM, N_ATOMS, cloneCfg, isGotoBlock, liveness, topoOrder, workMeter } from './graph.js';
import { stepCopy, decide, entryState, meet, operand, step, ValueTable, type State } from './values.js';

/** Where an edge carrying `edge` into `s` can go instead, or undefined. */
function skip(s: Block, edge: State, liveIn: Map<Block, number>, table: ValueTable): Block | undefined {
  const t = s.term;
  if (t.kind === 'return') return undefined;
  const sim = stepCopy(edge);
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

/**
 * Runs the pass on a copy of `cfg`. States are computed on the fly in topological order,
 * so each block's entry state already reflects the edges moved above it; a moved edge
 * only ever points further down, so the order stays topological.
 */
export function thread(cfg: Cfg): Cfg {
  const g = cloneCfg(cfg);
  const table = new ValueTable();
  const order = topoOrder(g);
  const { liveIn } = liveness(order);
  const incoming = new Map<Block, State[]>();
  for (const p of order) {
    const ins = incoming.get(p);
    if (p !== g.entry && ins === undefined) continue; // every edge into it moved away
    const st = p === g.entry ? entryState(table) : meet(ins as State[], table);
    for (const s of p.stmts) step(s, st, table, false);
    const t = p.term;
    if (t.kind === 'return') continue;
    const e = branchEdges(p, st, table);
    const sides = isGotoBlock(p) ? (['jt'] as const) : (['jt', 'jf'] as const);
    for (const side of sides) {
      let target = t[side];
      // Each step moves the edge strictly further down a DAG, so this ends.
      for (;;) {
        workMeter.steps++;
        const next = skip(target, e[side], liveIn, table);
        if (next === undefined) break;
        target = next;
      }
      t[side] = target;
      push(incoming, target, e[side]);
    }
    if (isGotoBlock(p)) t.jf = t.jt;
  }
  return g;
}
