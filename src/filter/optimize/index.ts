/**
 * The filter optimizer: pure passes over the CFG (reorder, simplify, dead stores, jump
 * threading, structure) repeated to a fixed point in two phases (first deciding tests only as
 * libpcap does, then with everything known), with a measure that proves the loops end.
 */

import { BPF_CLASS, BPF_JMP, BPF_K, BPF_RVAL } from '../../cbpf/index.js';
import { ParseError } from '../../util/index.js';
import type { Cfg } from '../cfg.js';
import { cfgFromProgram } from '../cfg-from-program.js';
import { emit } from '../emit.js';
import { deadStores, deadStoresInPlace } from './dead-stores.js';
import { cloneCfg, lexLess, measure, postOrder, sameGraph, workMeter } from './graph.js';
import { simplify, simplifyInPlace } from './simplify.js';
import { hasChain, reorder, reorderInPlace } from './reorder.js';
import { structure, structureInPlace } from './structure.js';
import { thread, threadInPlace } from './thread.js';
import type { AbortModel } from './values.js';

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

/** A pass, as the copying function (its name is the stage traced) and the same pass working in place. */
interface Pass {
  name: string;
  copying: (cfg: Cfg, model: AbortModel) => Cfg;
  inPlace: (g: Cfg, model: AbortModel) => Cfg;
}

/** The passes of one round, in order. Reordering pays off in the simplify right after it. */
const PASSES: readonly Pass[] = [
  { name: 'reorder', copying: reorder, inPlace: reorderInPlace },
  { name: 'simplify', copying: simplify, inPlace: simplifyInPlace },
  { name: 'deadStores', copying: deadStores, inPlace: deadStoresInPlace },
  { name: 'thread', copying: thread, inPlace: threadInPlace },
  { name: 'structure', copying: (cfg) => structure(cfg), inPlace: (g) => structureInPlace(g) },
];
/** The round retried without reordering when a reordering round did not lower the measure. */
const PASSES_NO_REORDER: readonly Pass[] = PASSES.slice(1);

/**
 * The first phase's passes: simplify and threading decide only the tests libpcap's optimizer
 * decides (the same test again, a constant against another), so that chains of tests sharing
 * a target stay chains until reordering has regrouped them, and a filter is found to reject
 * everything where libpcap finds it; the second phase then decides with all it knows. (Threading with ranges first sends each test of `port 443 or 25` its own way
 * into a following `portrange`, and the tests of one field can no longer be grouped.)
 */
const WEAK: Record<string, Pass> = {
  simplify: { name: 'simplify', copying: (cfg, model) => simplify(cfg, model, true), inPlace: (g, model) => simplifyInPlace(g, model, true) },
  thread: { name: 'thread', copying: (cfg, model) => thread(cfg, model, true), inPlace: (g, model) => threadInPlace(g, model, true) },
};
const PHASE1: readonly Pass[] = PASSES.map((p) => WEAK[p.name] ?? p);
const PHASE1_NO_REORDER: readonly Pass[] = PHASE1.slice(1);

/**
 * One round on a copy of `g` (kept: a round may be retried or refused). Without a trace the
 * passes work in place on that one copy; a trace sees every stage, so each pass then copies.
 */
function runRound(g: Cfg, passes: readonly Pass[], round: number, options: OptimizeOptions): Cfg {
  const { trace, model = 'libpcap' } = options;
  if (trace === undefined) {
    let next = cloneCfg(g);
    for (const pass of passes) next = pass.inPlace(next, model);
    return next;
  }
  let next = g;
  for (const pass of passes) {
    next = pass.copying(next, model);
    trace(`round ${round + 1}: ${pass.name}`, next);
  }
  return next;
}

/** Options of {@link optimizeWithStats}. */
export interface OptimizeOptions {
  /** Called with the graph after every pass (to dump each stage, e.g. as DOT). */
  trace?: (stage: string, cfg: Cfg) => void;
  /**
   * What a load beyond the captured bytes means (see {@link AbortModel}). Default `libpcap`:
   * tcpdump runs libpcap's optimized program, so to select the packets tcpdump selects, short
   * packets included, the optimizer makes the assumption libpcap's makes.
   */
  model?: AbortModel;
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

/** Where a phase left the graph. */
interface PhaseState {
  g: Cfg;
  m: number[];
  rounds: number;
  stalled: boolean;
}

/**
 * Runs rounds of `passes` until nothing changes (or, with `whileChains`, until no chain is
 * left to regroup: what the first phase is for; the second phase then finishes the work).
 */
function runPhase(s: PhaseState, passes: readonly Pass[], noReorder: readonly Pass[], options: OptimizeOptions, whileChains: boolean): PhaseState {
  let { g, m, rounds } = s;
  for (let phaseRounds = 0; phaseRounds < MAX_ROUNDS; phaseRounds++) {
    let next = runRound(g, passes, rounds, options);
    let nm = measure(next);
    // A graph whose measure changed is not the same graph (the common case: no walk to compare).
    let same = lexLess(nm, m) ? false : sameGraph(next, g);
    if (!same && !lexLess(nm, m)) {
      next = runRound(g, noReorder, rounds, options);
      nm = measure(next);
      same = lexLess(nm, m) ? false : sameGraph(next, g);
    }
    if (same) break;
    // The termination argument, checked: a change that does not lower the measure is refused.
    if (!lexLess(nm, m)) return { g, m, rounds, stalled: true };
    g = next;
    m = nm;
    rounds++;
    if (whileChains && !hasChain(g)) break;
  }
  return { g, m, rounds, stalled: false };
}

/** Optimizes a filter graph, reporting rounds and whether it rejects everything. The input is not changed. */
export function optimizeWithStats(cfg: Cfg, options: OptimizeOptions = {}): OptimizeResult {
  const { trace } = options;
  const work0 = workMeter.steps;
  const g0 = normalize(cfg);
  trace?.('normalized', g0);
  const first = runPhase({ g: g0, m: measure(g0), rounds: 0, stalled: false }, PHASE1, PHASE1_NO_REORDER, options, true);
  const last = first.stalled ? first : runPhase(first, PASSES, PASSES_NO_REORDER, options, false);
  // libpcap refuses a filter its optimizer reduces to `ret #0`. The first phase decides as it
  // does, so its fixed point's verdict is the one reported (found only when the second phase
  // proves the filter empty); a filter only the second phase proves empty compiles to
  // `ret #0`, as tcpdump compiles it.
  let rejectsAll = false;
  if (rejectsAllPackets(last.g)) rejectsAll = rejectsAllPackets(runPhase(first, PHASE1, PHASE1_NO_REORDER, { ...options, trace: undefined }, false).g);
  return { cfg: last.g, rejectsAll, rounds: last.rounds, stalled: last.stalled, work: workMeter.steps - work0 };
}

/**
 * Optimizes a filter graph as libpcap's optimizer does: by default under libpcap's model of
 * short packets, as tcpdump filters (`model: 'exact'` never changes what the filter returns
 * for any packet). The input graph is not changed.
 */
export function optimize(cfg: Cfg, options: Pick<OptimizeOptions, 'model'> = {}): Cfg {
  return optimizeWithStats(cfg, options).cfg;
}

/**
 * Optimizes and, like `pcap_compile`, refuses a filter that rejects every packet. This is the
 * one place that turns {@link rejectsAllPackets} into an error, so every caller reports it alike.
 *
 * @throws ParseError `E_FILTER_REJECTS_ALL` ("expression rejects all packets"), the code `compileFilter` reports.
 */
export function optimizeFilter(cfg: Cfg, options: Pick<OptimizeOptions, 'model'> = {}): Cfg {
  const r = optimizeWithStats(cfg, options);
  if (r.rejectsAll) throw new ParseError('E_FILTER_REJECTS_ALL', 'expression rejects all packets', { hint: 'the filter can never match; check for contradictory conditions' });
  return r.cfg;
}

export { reorder, simplify, deadStores, thread, structure };
export type { AbortModel };
