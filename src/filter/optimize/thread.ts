/**
 * The jump-threading pass (libpcap's `opt_j`): an edge into blocks whose tests are already
 * decided along that edge goes straight to where they lead, when skipping them cannot abort
 * differently and leaves every register the new target reads unchanged.
 */

import { BPF_OP } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { analyze } from './analysis.js';
import { A_ATOM, N_ATOMS, cloneCfg, isGotoBlock, termUse, useDef, workMeter } from './graph.js';
import { copyState, decide, learn, operand, step, type State, type ValueTable } from './values.js';

/**
 * How many blocks one edge may be walked through. Edges below are threaded first, so a walk
 * usually ends after a few blocks; the bound keeps the pass linear whatever the graph.
 */
const MAX_WALK = 32;

/** True when every atom live at `target` holds the same value in `sim` as on the edge. */
function sameLive(live: number, sim: State, edge: State): boolean {
  for (let a = 0; a < N_ATOMS; a++) if (live & (1 << a) && sim.regs[a] !== edge.regs[a]) return false;
  return true;
}

/**
 * The furthest block an edge carrying `edge` into `first` can go to instead: the walk follows
 * decided tests (learning from each), and every block it passes must run no statement that
 * may abort. A block is a valid target when the atoms it reads are unchanged by the walk.
 */
function furthest(first: Block, edge: State, liveIn: Map<Block, number>, table: ValueTable): Block {
  let best = first;
  let b = first;
  let sim: State | undefined;
  for (let n = 0; n < MAX_WALK; n++) {
    workMeter.steps++;
    const t = b.term;
    if (t.kind === 'return') break;
    sim ??= copyState(edge);
    for (const s of b.stmts) if (step(s, sim, table, false).mayAbort) return best;
    let next: Block;
    if (isGotoBlock(b)) next = t.jt;
    else {
      const op = BPF_OP(t.code);
      const a = sim.regs[A_ATOM];
      const o = operand(t.code, t.k, sim, table);
      const r = decide(op, a, o, sim, table);
      if (r === undefined) break;
      learn(op, a, o, r, sim, table);
      next = r ? t.jt : t.jf;
    }
    if (sameLive(liveIn.get(next) as number, sim, edge)) best = next;
    b = next;
  }
  return best;
}

/** The atoms live on entry to `b`, from its successors' (already final) entries. */
function blockLiveIn(b: Block, liveIn: Map<Block, number>): number {
  const t = b.term;
  let live = termUse(b);
  if (t.kind === 'branch') live |= (liveIn.get(t.jt) as number) | (liveIn.get(t.jf) as number);
  for (let j = b.stmts.length - 1; j >= 0; j--) {
    const { use, def } = useDef(b.stmts[j]);
    if (def >= 0) live &= ~(1 << def);
    live |= use;
  }
  return live;
}

/**
 * Runs the pass on a copy of `cfg`. The states come from one analysis of the graph as it was;
 * blocks are threaded bottom up, so an edge's walk follows edges below it that are already
 * threaded. That is sound: threading changes no edge above the block being threaded (its
 * state still holds), and a packet that takes a threaded edge would have taken the walked
 * path, reaching the target with the same values in every atom the target reads. Liveness
 * is computed in the same sweep, from the successors as they end up.
 */
export function thread(cfg: Cfg): Cfg {
  const g = cloneCfg(cfg);
  const an = analyze(g);
  const liveIn = new Map<Block, number>();
  for (let i = an.order.length - 1; i >= 0; i--) {
    const p = an.order[i];
    const t = p.term;
    if (t.kind === 'branch') {
      const e = an.edges.get(p) as { jt: State; jf: State };
      t.jt = furthest(t.jt, e.jt, liveIn, an.table);
      t.jf = isGotoBlock(p) ? t.jt : furthest(t.jf, e.jf, liveIn, an.table);
    }
    liveIn.set(p, blockLiveIn(p, liveIn));
  }
  return g;
}
