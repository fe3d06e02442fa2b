/**
 * The reorder pass (what libpcap's `or_pullup`/`and_pullup` aim at, made exact): in a chain
 * of "load a field, test it" elements that all leave to one common block on success (an OR)
 * or on failure (an AND), the elements are regrouped so that tests of the same field are
 * adjacent and the reloads become redundant. Only chains where no element can abort (every
 * load is already known in range) are reordered, so no packet's verdict changes; libpcap's
 * pullups also reorder loads that may abort, which changes verdicts on truncated packets.
 */

import { BPF_ALU, BPF_CLASS, BPF_DIV, BPF_IMM, BPF_K, BPF_LD, BPF_MOD, BPF_MODE, BPF_OP, BPF_SRC, type Insn } from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { analyze } from './analysis.js';
import { A_ATOM, cloneCfg, isGotoBlock, liveness, postOrder, predecessors, successors, workMeter } from './graph.js';
import { copyState, peekLoad, step, type AbortModel, type State, type ValueTable } from './values.js';

/** One element of a chain: a block that may load A, then blocks without statements that test the same A. */
interface Run {
  blocks: Block[];
  /** Value number of A that the run tests. */
  value: number;
}

/**
 * True for the statements a run may start with: a load of packet data or M[] (which does not
 * read A; an indexed load reads X, which no run writes), then ALU operations on A with a
 * constant that cannot fail (`ld [26]; and #0xffff0000`, a net's masked address).
 */
function pureStmts(stmts: readonly Insn[]): boolean {
  const s = stmts[0];
  if (BPF_CLASS(s.code) !== BPF_LD || BPF_MODE(s.code) === BPF_IMM) return false;
  for (let j = 1; j < stmts.length; j++) {
    const x = stmts[j];
    if (BPF_CLASS(x.code) !== BPF_ALU || BPF_SRC(x.code) !== BPF_K) return false;
    const op = BPF_OP(x.code);
    if ((op === BPF_DIV || op === BPF_MOD) && x.k === 0) return false;
  }
  return true;
}

/** The value a run's first block leaves in A, if its statements are pure ({@link pureStmts}) and cannot abort from `entry`. */
function runValue(b: Block, entry: State, table: ValueTable): number | undefined {
  if (b.stmts.length === 0) return entry.regs[A_ATOM];
  if (!pureStmts(b.stmts)) return undefined;
  // Called for every block of every chain, so the entry state is not copied for a lone load.
  if (b.stmts.length === 1) {
    const r = peekLoad(b.stmts[0], entry, table);
    return r.mayAbort ? undefined : r.a;
  }
  const st = copyState(entry);
  for (const s of b.stmts) if (step(s, st, table, false).mayAbort) return undefined;
  return st.regs[A_ATOM];
}

/** A run's statements as written, as one number for a lone load (most runs), else as text (a key of {@link hasChain}'s maps). */
function stmtsKey(stmts: readonly Insn[]): number | string {
  if (stmts.length === 1) return stmts[0].code * 0x100000000 + stmts[0].k;
  return stmts.map((s) => `${s.code}:${s.k}`).join(',');
}

/**
 * The load every predecessor of a block leaves in A as its last statement (NONE when they
 * differ or one ends otherwise): a chain entered so can test that field first and drop a load.
 */
const NONE = -1;
function entryLoads(order: readonly Block[]): Map<Block, number | string> {
  const out = new Map<Block, number | string>();
  for (const p of order) {
    const key = p.stmts.length > 0 && pureStmts(p.stmts) ? stmtsKey(p.stmts) : NONE;
    for (const s of successors(p)) {
      const cur = out.get(s);
      out.set(s, cur === undefined || cur === key ? key : NONE);
    }
  }
  return out;
}

/**
 * True when some chain could be regrouped: along the tests that share a target on one side, a
 * load statement comes back after a different one, or a later element loads what A already
 * holds where the chain starts (the analysis and the regrouping are the costly part, and most
 * graphs, and every graph already regrouped, have no such chain). Loads are compared as
 * written; one the analysis would find equal to a differently written load is left where it is.
 */
export function hasChain(g: Cfg): boolean {
  const seen = new Map<number | string, number>();
  const order = postOrder(g);
  const entered = entryLoads(order);
  for (const b of order) {
    const t = b.term;
    if (t.kind !== 'branch' || isGotoBlock(b) || b.stmts.length === 0) continue;
    for (const sense of ['jt', 'jf'] as const) {
      const other = sense === 'jt' ? 'jf' : 'jt';
      const n = t[other].term;
      if (n.kind !== 'branch' || isGotoBlock(t[other]) || n[sense] !== t[sense]) continue;
      // A chain starts here: walk it, numbering its runs; a load seen in an earlier run (not the last) is a candidate.
      seen.clear();
      const inA = entered.get(b) ?? NONE;
      let run = 0;
      let last = -1;
      for (let x: Block = b, steps = 0; steps < 64; steps++) {
        workMeter.steps++;
        const xt = x.term;
        if (xt.kind !== 'branch' || isGotoBlock(x) || xt[sense] !== t[sense]) break;
        if (x.stmts.length > 0) {
          if (x.stmts.length > 1 && !pureStmts(x.stmts)) break;
          const key = stmtsKey(x.stmts);
          if (run > 0 && key === inA) return true;
          const at = seen.get(key);
          if (at !== undefined && at !== last) return true;
          if (at === undefined) seen.set(key, run);
          last = seen.get(key) as number;
          run++;
        }
        x = xt[other];
      }
    }
  }
  return false;
}

/**
 * Runs the pass on a copy of `cfg`. Reordering a chain leaves the analysis of other blocks
 * valid where it is used here: every load in the chain was already in range on entry, so
 * the lengths and loads known after it do not depend on the order.
 */
export function reorder(cfg: Cfg, model: AbortModel = 'libpcap'): Cfg {
  return reorderInPlace(cloneCfg(cfg), model);
}

/** {@link reorder} on `g` itself (the optimizer's rounds copy the graph once, not once per pass). */
export function reorderInPlace(g: Cfg, model: AbortModel = 'libpcap'): Cfg {
  // The analysis is the costly part; most graphs have no chain at all.
  if (!hasChain(g)) return g;
  const an = analyze(g, true, false, model);
  const preds = predecessors(an.order);
  const { liveIn } = liveness(an.order);
  const used = new Set<Block>();
  const single = (b: Block, from: Block): boolean => {
    const p = preds.get(b) as Block[];
    return p.length === 1 && p[0] === from && b !== g.entry;
  };
  for (const head of an.order) {
    if (used.has(head) || head.term.kind !== 'branch' || isGotoBlock(head)) continue;
    const entry = an.entry.get(head) as State;
    for (const sense of ['jt', 'jf'] as const) {
      const other = sense === 'jt' ? 'jf' : 'jt';
      const common = head.term[sense];
      // The checks that need no walk come first (a chain is walked from each of its blocks):
      // a head without a load tests the A the chain starts with, so it must stay first; and
      // the chain writes A, so A must not be read where it succeeds.
      if (head.stmts.length === 0 || (liveIn.get(common) as number) & (1 << A_ATOM)) continue;
      // Collect runs along the chain.
      const runs: Run[] = [];
      let b: Block = head;
      let exit: Block | undefined;
      for (;;) {
        workMeter.steps++;
        const t: Block['term'] = b.term;
        if (t.kind !== 'branch' || isGotoBlock(b) || t[sense] !== common || used.has(b)) break;
        if (b !== head && !single(b, runs[runs.length - 1].blocks.at(-1) as Block)) break;
        if (b.stmts.length === 0 && runs.length > 0) {
          // A statement-less test belongs to the run before it.
          runs[runs.length - 1].blocks.push(b);
        } else {
          const value = runValue(b, entry, an.table);
          if (value === undefined) break;
          runs.push({ blocks: [b], value });
        }
        exit = t[other];
        b = t[other];
      }
      if (runs.length < 2 || exit === undefined) continue;
      // The chain ends where its last run's test fails; trim runs so the exit is right.
      const last = runs[runs.length - 1].blocks.at(-1) as Block;
      const tail = (last.term as { jt: Block; jf: Block })[other];
      const first = new Map<number, number>();
      first.set(entry.regs[A_ATOM], -1);
      runs.forEach((r, i) => {
        if (!first.has(r.value)) first.set(r.value, i);
      });
      const sorted = runs.map((r, i) => ({ r, i })).sort((x, y) => (first.get(x.r.value) as number) - (first.get(y.r.value) as number) || x.i - y.i);
      if (sorted.every((x, i) => x.i === i)) continue;
      // Where the chain leaves, A holds what its last run loaded: a block there that reads A
      // needs the same run last after the regrouping (gencode's "port or portrange" chains).
      if ((liveIn.get(tail) as number) & (1 << A_ATOM) && (sorted.at(-1) as { r: Run }).r.value !== runs[runs.length - 1].value) continue;
      // Relink: the head's predecessors enter the new first run; each run falls to the next.
      const newOrder = sorted.map((x) => x.r);
      const newHead = newOrder[0].blocks[0];
      for (let i = 0; i < newOrder.length; i++) {
        const end = newOrder[i].blocks.at(-1) as Block;
        const next = i + 1 < newOrder.length ? newOrder[i + 1].blocks[0] : tail;
        (end.term as { jt: Block; jf: Block })[other] = next;
      }
      for (const p of preds.get(head) as Block[]) {
        const t = p.term as { jt: Block; jf: Block };
        if (t.jt === head) t.jt = newHead;
        if (t.jf === head) t.jf = newHead;
      }
      if (g.entry === head) g.entry = newHead;
      for (const r of runs) for (const x of r.blocks) used.add(x);
      // Edges moved. Blocks of this chain are used up and never looked at again, so of the
      // predecessor lists later chains read only the exit's changes: its old last run's
      // end is now the new one's (updated in place, so the pass stays linear).
      // (A return is never part of a chain, so its list is left alone.)
      if (tail.term.kind === 'branch') {
        const tailPreds = preds.get(tail) as Block[];
        const at = tailPreds.indexOf(last);
        if (at >= 0) tailPreds[at] = newOrder[newOrder.length - 1].blocks.at(-1) as Block;
      }
      break;
    }
  }
  return g;
}
