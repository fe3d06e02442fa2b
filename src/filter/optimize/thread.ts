/**
 * The jump-threading pass (libpcap's `opt_j`): an edge into blocks whose tests are decided
 * along that edge, or whose two sides meet again, goes straight to where they lead, when
 * skipping them leaves every register the new target reads unchanged and cannot change a
 * verdict by skipping an abort.
 */

import { BPF_ABS, BPF_B, BPF_CLASS, BPF_H, BPF_JA, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MODE, BPF_MSH, BPF_OP, BPF_RVAL, BPF_SIZE, BPF_W, type Insn } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { analyze } from './analysis.js';
import { A_ATOM, N_ATOMS, cloneCfg, isGotoBlock, termUse, useDef, workMeter } from './graph.js';
import { copyState, decide, learn, operand, step, type AbortModel, type State, type ValueTable } from './values.js';

/**
 * How many blocks one edge's walk may visit (over all the paths it follows). Edges below are
 * threaded first, so a walk usually ends after a few blocks; the bound keeps the pass linear.
 */
const MAX_WALK = 10;
/** How many blocks one edge's walk may visit over all the paths it follows. */
const MAX_TOTAL = 64;

/** What the bottom-up sweep knows of every block already final (all blocks below the one threaded). */
interface Below {
  liveIn: Map<Block, number>;
  /** The longest path from the block to a return, in blocks: a block reaches only blocks of lower height. */
  height: Map<Block, number>;
  /** The captured length every accepting path from the block's entry needs (Infinity: none accepts). */
  need: Map<Block, number>;
  table: ValueTable;
  /** Blocks the current edge's walk may still visit along one path. */
  budget: number;
  /** Blocks the current edge's walk may still visit over all its paths. */
  total: number;
}

/** True when every atom live at `target` holds the same value in `sim` as on the edge. */
function sameLive(live: number, sim: State, edge: State): boolean {
  for (let a = 0; a < N_ATOMS; a++) if (live & (1 << a) && sim.regs[a] !== edge.regs[a]) return false;
  return true;
}

/** The captured length below which a statement that may abort does abort (Infinity when not a fixed offset). */
function abortEnd(s: Insn): number {
  if (BPF_CLASS(s.code) === BPF_LD && BPF_MODE(s.code) === BPF_ABS && s.k < 0x80000000) return s.k + (WIDTH[BPF_SIZE(s.code)] ?? 4);
  if (s.code === (BPF_LDX | BPF_MSH | BPF_B) && s.k < 0x80000000) return s.k + 1;
  return Infinity;
}
const WIDTH: Record<number, number> = { [BPF_W]: 4, [BPF_H]: 2, [BPF_B]: 1 };

/**
 * Appends to `out` the blocks an edge reaching `b` with state `sim` could go to instead, in walk order. A block
 * is a valid target when the atoms it reads are unchanged by the walk and every statement the
 * walk skips either cannot abort or aborts only on packets too short for any accepting path
 * from the target (`ends` is the largest such length so far). The walk follows decided tests;
 * at an undecided one it follows both sides and keeps the targets both reach.
 */
function targets(b: Block, sim: State, ends: number, edge: State, below: Below, out: Block[]): void {
  if (ends <= (below.need.get(b) as number) && sameLive(below.liveIn.get(b) as number, sim, edge)) out.push(b);
  const t = b.term;
  if (t.kind === 'return' || --below.budget < 0 || --below.total < 0) return;
  workMeter.steps++;
  const st = copyState(sim);
  let end = ends;
  for (const s of b.stmts) {
    if (step(s, st, below.table, false).mayAbort) end = Math.max(end, abortEnd(s));
    if (end === Infinity) return;
  }
  if (isGotoBlock(b) || t.jt === t.jf) return targets(t.jt, st, end, edge, below, out);
  const op = BPF_OP(t.code);
  const a = st.regs[A_ATOM];
  const o = operand(t.code, t.k, st, below.table);
  const r = decide(op, a, o, st, below.table);
  if (r !== undefined) {
    learn(op, a, o, r, st, below.table);
    return targets(r ? t.jt : t.jf, st, end, edge, below, out);
  }
  const sf = copyState(st);
  learn(op, a, o, true, st, below.table);
  learn(op, a, o, false, sf, below.table);
  // The targets both sides reach, in the true side's order. Each side may go MAX_WALK blocks
  // deep, and the true side has half of what the walk has left, so that walking on past where
  // the sides meet does not starve the false side (the whole walk visits at most MAX_TOTAL).
  const start = out.length;
  const depth = below.budget;
  const total = below.total;
  below.total = total >> 1;
  targets(t.jt, st, end, edge, below, out);
  if (out.length === start) return;
  const onFalse: Block[] = [];
  const leftTrue = below.budget;
  below.budget = depth;
  below.total += total - (total >> 1);
  targets(t.jf, sf, end, edge, below, onFalse);
  below.budget = Math.min(leftTrue, below.budget);
  let kept = start;
  for (let i = start; i < out.length; i++) if (onFalse.includes(out[i])) out[kept++] = out[i];
  out.length = kept;
}

/** The furthest valid target of an edge carrying `edge` into `first` (`first` itself when none is further). */
function furthest(first: Block, edge: State, below: Below): Block {
  if (first.term.kind === 'return') return first;
  below.budget = MAX_WALK;
  below.total = MAX_TOTAL;
  const out: Block[] = [];
  targets(first, edge, 0, edge, below, out);
  return out.length > 0 ? out[out.length - 1] : first;
}

/** True when a packet with state `edge`, sent into `from`, comes to `to` holding every value `to` reads. */
function reaches(from: Block, edge: State, to: Block, below: Below): boolean {
  if (from.term.kind === 'return') return false;
  below.budget = MAX_WALK;
  below.total = MAX_TOTAL;
  const out: Block[] = [];
  targets(from, edge, 0, edge, below, out);
  return out.includes(to);
}

/** The atoms live on entry to `b`, and the length its accepting paths need, from its successors' (already final). */
function summarize(b: Block, below: Below): void {
  const t = b.term;
  let live = termUse(b);
  let need: number;
  if (t.kind === 'return') {
    need = BPF_RVAL(t.code) === BPF_K && t.k === 0 ? Infinity : 0;
    below.height.set(b, 1);
  } else {
    below.height.set(b, 1 + Math.max(below.height.get(t.jt) as number, below.height.get(t.jf) as number));
    live |= (below.liveIn.get(t.jt) as number) | (below.liveIn.get(t.jf) as number);
    need = Math.min(below.need.get(t.jt) as number, below.need.get(t.jf) as number);
  }
  for (let j = b.stmts.length - 1; j >= 0; j--) {
    const s = b.stmts[j];
    const { use, def } = useDef(s);
    if (def >= 0) live &= ~(1 << def);
    live |= use;
    const e = abortEnd(s);
    if (e !== Infinity) need = Math.max(need, e);
  }
  below.liveIn.set(b, live);
  below.need.set(b, need);
}

/**
 * Runs the pass on a copy of `cfg`. The states come from one analysis of the graph as it was;
 * blocks are threaded bottom up, so an edge's walk follows edges below it that are already
 * threaded. That is sound: threading changes no edge above the block being threaded (its
 * state still holds), and a packet that takes a threaded edge would have taken the walked
 * path, reaching the target with the same values in every atom the target reads. Liveness
 * is computed in the same sweep, from the successors as they end up.
 */
export function thread(cfg: Cfg, model: AbortModel = 'libpcap', weak = false): Cfg {
  return threadInPlace(cloneCfg(cfg), model, weak);
}

/** {@link thread} on `g` itself (the optimizer's rounds copy the graph once, not once per pass). */
export function threadInPlace(g: Cfg, model: AbortModel = 'libpcap', weak = false): Cfg {
  const an = analyze(g, false, false, model);
  an.table.weak = weak;
  const below: Below = { liveIn: new Map(), height: new Map(), need: new Map(), table: an.table, budget: 0, total: 0 };
  for (let i = an.order.length - 1; i >= 0; i--) {
    const p = an.order[i];
    const t = p.term;
    if (t.kind === 'branch') {
      const e = an.edges.get(p) as { jt: State; jf: State };
      // A test is redundant when the packets that pass it, sent the other way, reach the same
      // block anyway (`tcp`, `udp` before a test only `sctp` passes): the block becomes a goto
      // (its statements stay: what they load may be read below), threaded in the next round,
      // since the state of either edge knows the outcome of the test it no longer makes. Not in
      // the first phase: there threading drops the later of two equal tests, as libpcap does,
      // where this would drop the earlier one and lose the order chains are shared in.
      let to: Block | undefined;
      if (!weak && !isGotoBlock(p) && t.jt !== t.jf) {
        const ht = below.height.get(t.jt) as number;
        const hf = below.height.get(t.jf) as number;
        if (ht < hf && reaches(t.jf, e.jt, t.jt, below)) to = t.jf;
        else if (hf < ht && reaches(t.jt, e.jf, t.jf, below)) to = t.jt;
      }
      if (to !== undefined) {
        t.code = BPF_JMP | BPF_JA;
        t.k = 0;
        t.jt = t.jf = to;
      } else {
        t.jt = furthest(t.jt, e.jt, below);
        t.jf = isGotoBlock(p) ? t.jt : furthest(t.jf, e.jf, below);
      }
    }
    summarize(p, below);
  }
  return g;
}
