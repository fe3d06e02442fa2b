/** The forward data-flow walk the passes share: the state on entry to every block and along every edge. */

import { BPF_OP } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { A_ATOM, isGotoBlock, topoOrder } from './graph.js';
import { copyState, decide, entryState, learn, meet, operand, step, ValueTable, type AbortModel, type State } from './values.js';

/** The result of a forward walk over an unchanged graph. */
export interface Analysis {
  table: ValueTable;
  order: Block[];
  /** State on entry to each block. */
  entry: Map<Block, State>;
  /** State along the true and false edges of each branch (the same object twice for a goto). */
  edges: Map<Block, { jt: State; jf: State }>;
  /** For each block, whether each statement may abort the filter (a load out of range, division by 0). */
  mayAbort: Map<Block, boolean[]>;
}

/** The states on a branch's two edges, given the state after its statements. */
export function branchEdges(b: Block, st: State, table: ValueTable): { jt: State; jf: State; decided: boolean | undefined } {
  const t = b.term;
  if (t.kind !== 'branch' || isGotoBlock(b)) return { jt: st, jf: st, decided: undefined };
  const a = st.regs[A_ATOM];
  const o = operand(t.code, t.k, st, table);
  const op = BPF_OP(t.code);
  const decided = decide(op, a, o, st, table);
  const jt = copyState(st);
  const jf = copyState(st);
  learn(op, a, o, true, jt, table);
  learn(op, a, o, false, jf, table);
  return { jt, jf, decided };
}

/**
 * Walks the graph in topological order without changing it. `keepEntry: false` leaves
 * `entry` empty (a copy of every block's state that only some passes read), and
 * `keepMayAbort: false` leaves `mayAbort` empty (only dead-store removal reads it).
 */
export function analyze(cfg: Cfg, keepEntry = true, keepMayAbort = true, model: AbortModel = 'libpcap'): Analysis {
  const table = new ValueTable(model);
  const order = topoOrder(cfg);
  const incoming = new Map<Block, State[]>();
  const entry = new Map<Block, State>();
  const edges = new Map<Block, { jt: State; jf: State }>();
  const mayAbort = new Map<Block, boolean[]>();
  for (const b of order) {
    const ins = incoming.get(b) ?? [];
    const st = b === cfg.entry ? entryState(table) : meet(ins, table);
    if (keepEntry) entry.set(b, copyState(st));
    const stmts = b.stmts;
    if (keepMayAbort) {
      const aborts = new Array<boolean>(stmts.length);
      for (let j = 0; j < stmts.length; j++) aborts[j] = step(stmts[j], st, table, false).mayAbort;
      mayAbort.set(b, aborts);
    } else for (let j = 0; j < stmts.length; j++) step(stmts[j], st, table, false);
    const t = b.term;
    if (t.kind === 'return') continue;
    const e = branchEdges(b, st, table);
    edges.set(b, e);
    push(incoming, t.jt, e.jt);
    if (t.jf !== t.jt) push(incoming, t.jf, e.jf);
    else if (!isGotoBlock(b)) push(incoming, t.jf, e.jf);
  }
  return { table, order, entry, edges, mayAbort };
}

export function push(m: Map<Block, State[]>, b: Block, s: State): void {
  const l = m.get(b);
  if (l) l.push(s);
  else m.set(b, [s]);
}
