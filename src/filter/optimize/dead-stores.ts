/**
 * The dead-store pass: a statement whose result no path reads goes, unless it may abort
 * the filter (a load that may be out of range, a division by a possibly-zero X): removing
 * that would accept packets the original rejects.
 */

import type { Cfg } from '../cfg.js';
import { analyze } from './analysis.js';
import type { AbortModel } from './values.js';
import { cloneCfg, liveness, termUse, topoOrder, useDef } from './graph.js';
import type { Block } from '../cfg.js';

/** Runs the pass on a copy of `cfg`. */
export function deadStores(cfg: Cfg, model: AbortModel = 'libpcap'): Cfg {
  return deadStoresInPlace(cloneCfg(cfg), model);
}

/** {@link deadStores} on `g` itself (the optimizer's rounds copy the graph once, not once per pass). */
export function deadStoresInPlace(g: Cfg, model: AbortModel = 'libpcap'): Cfg {
  // Liveness alone finds the candidates; the (costlier) analysis of what may abort runs only if there are any.
  if (!hasDeadStatement(topoOrder(g))) return g;
  const an = analyze(g, false, true, model);
  const { liveOut } = liveness(an.order);
  for (const b of an.order) {
    const mayAbort = an.mayAbort.get(b) as boolean[];
    let live = (liveOut.get(b) as number) | termUse(b);
    const keep: boolean[] = new Array<boolean>(b.stmts.length).fill(true);
    for (let j = b.stmts.length - 1; j >= 0; j--) {
      const { use, def } = useDef(b.stmts[j]);
      if (def >= 0 && (live & (1 << def)) === 0 && !mayAbort[j]) {
        keep[j] = false;
        continue;
      }
      if (def >= 0) live &= ~(1 << def);
      live |= use;
    }
    b.stmts = b.stmts.filter((_, j) => keep[j]);
  }
  return g;
}

/** True when some statement's result is read on no path (whether it may go is for the analysis to say). */
function hasDeadStatement(order: readonly Block[]): boolean {
  const { liveOut } = liveness(order);
  for (const b of order) {
    let live = (liveOut.get(b) as number) | termUse(b);
    for (let j = b.stmts.length - 1; j >= 0; j--) {
      const { use, def } = useDef(b.stmts[j]);
      if (def >= 0 && (live & (1 << def)) === 0) return true;
      if (def >= 0) live &= ~(1 << def);
      live |= use;
    }
  }
  return false;
}
