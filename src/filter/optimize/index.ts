/**
 * The filter optimizer: pure passes over the CFG (simplify, dead stores, jump threading,
 * structure) repeated to a fixed point, with a measure that proves the loop ends.
 */

import { BPF_CLASS, BPF_JMP, BPF_K, BPF_RVAL } from '../../cbpf/index.js';
import { ParseError } from '../../util/index.js';
import type { Cfg } from '../cfg.js';
import { cfgFromProgram } from '../cfg-from-program.js';
import { emit } from '../emit.js';
import { deadStores } from './dead-stores.js';
import { cloneCfg, lexLess, measure, postOrder, serialize, workMeter } from './graph.js';
import { simplify } from './simplify.js';
import { reorder } from './reorder.js';
import { structure } from './structure.js';
import { thread } from './thread.js';

/** What {@link optimizeWithStats} reports besides the graph. */
export interface OptimizeResult {
  cfg: Cfg;
  /** True when the optimized filter rejects every packet (libpcap: "expression rejects all packets"). */
  rejectsAll: boolean;
  /** Rounds of all passes run until nothing changed. */
  rounds: number;
  /** The optimizer's elementary steps (see {@link workMeter}): linear in the graph's size. */
  work: number;
  /** True if a round changed the graph without lowering the measure (never expected; the round is discarded). */
  stalled: boolean;
}

/**
 * A round that changes the graph lowers its measure (instructions, blocks, edge reach,
 * statement weight) in lexicographic order; the measure is a tuple of naturals, so rounds
 * are finite. The cap is a guard that the argument holds, never reached.
 */
const MAX_ROUNDS = 10_000;

/** The passes of one round, in order. Reordering pays off in the simplify right after it. */
const PASSES: readonly ((cfg: Cfg) => Cfg)[] = [reorder, simplify, deadStores, thread, structure];
/** The round retried without reordering when a reordering round did not lower the measure. */
const PASSES_NO_REORDER: readonly ((cfg: Cfg) => Cfg)[] = [simplify, deadStores, thread, structure];

function runRound(g: Cfg, passes: readonly ((cfg: Cfg) => Cfg)[], round: number, trace: OptimizeOptions['trace']): Cfg {
  let next = g;
  for (const pass of passes) {
    next = pass(next);
    trace?.(`round ${round + 1}: ${pass.name}`, next);
  }
  return next;
}

/** Options of {@link optimizeWithStats}. */
export interface OptimizeOptions {
  /** Called with the graph after every pass (to dump each stage, e.g. as DOT). */
  trace?: (stage: string, cfg: Cfg) => void;
}

/** Blocks with jumps among their statements (libpcap's block-local jumps) are split into real blocks first. */
function normalize(cfg: Cfg): Cfg {
  for (const b of postOrder(cfg)) if (b.stmts.some((s) => BPF_CLASS(s.code) === BPF_JMP)) return cfgFromProgram(emit(cfg));
  return cloneCfg(cfg);
}

/** True when a graph returns 0 for every packet without looking at it. */
export function rejectsAllPackets(cfg: Cfg): boolean {
  const t = cfg.entry.term;
  return t.kind === 'return' && BPF_RVAL(t.code) === BPF_K && t.k === 0;
}

/** Optimizes a filter graph, reporting rounds and whether it rejects everything. The input is not changed. */
export function optimizeWithStats(cfg: Cfg, options: OptimizeOptions = {}): OptimizeResult {
  const { trace } = options;
  const work0 = workMeter.steps;
  let g = normalize(cfg);
  trace?.('normalized', g);
  let m = measure(g);
  let text = serialize(g);
  let rounds = 0;
  let stalled = false;
  for (; rounds < MAX_ROUNDS; rounds++) {
    let next = runRound(g, PASSES, rounds, trace);
    let nextText = serialize(next);
    let nm = measure(next);
    if (nextText !== text && !lexLess(nm, m)) {
      next = runRound(g, PASSES_NO_REORDER, rounds, trace);
      nextText = serialize(next);
      nm = measure(next);
    }
    if (nextText === text) break;
    // The termination argument, checked: a change that does not lower the measure is refused.
    if (!lexLess(nm, m)) {
      stalled = true;
      break;
    }
    g = next;
    m = nm;
    text = nextText;
  }
  return { cfg: g, rejectsAll: rejectsAllPackets(g), rounds, stalled, work: workMeter.steps - work0 };
}

/**
 * Optimizes a filter graph as libpcap's optimizer does, without ever changing what the
 * filter returns for any packet. The input graph is not changed.
 */
export function optimize(cfg: Cfg): Cfg {
  return optimizeWithStats(cfg).cfg;
}

/**
 * Optimizes and, like `pcap_compile`, refuses a filter that rejects every packet. This is the
 * one place that turns {@link rejectsAllPackets} into an error, so every caller reports it alike.
 *
 * @throws ParseError `E_FILTER_REJECTS_ALL` ("expression rejects all packets"), the code `compileFilter` reports.
 */
export function optimizeFilter(cfg: Cfg): Cfg {
  const r = optimizeWithStats(cfg);
  if (r.rejectsAll) throw new ParseError('E_FILTER_REJECTS_ALL', 'expression rejects all packets', { hint: 'the filter can never match; check for contradictory conditions' });
  return r.cfg;
}

export { reorder, simplify, deadStores, thread, structure };
