/**
 * The dead-store pass: a statement whose result no path reads goes, unless it may abort
 * the filter (a load that may be out of range, a division by a possibly-zero X): removing
 * that would accept packets the original rejects.
 */

import { BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_CLASS, BPF_DIV, BPF_IMM, BPF_IND, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MODE, BPF_MSH, BPF_MUL, BPF_NEG, BPF_OP, BPF_OR, BPF_RSH, BPF_SRC, BPF_ST, BPF_STX, BPF_SUB, BPF_X, BPF_XOR, type Insn } from '../../cbpf/index.js';
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
  const order = topoOrder(g);
  if (!hasDeadStatement(order)) return g;
  // Under libpcap's model no load aborts, so what may abort is seen in the statement alone.
  const an = model === 'exact' ? analyze(g, false, true, model) : undefined;
  const { liveOut } = liveness(order);
  for (const b of order) {
    const mayAbort = an ? (an.mayAbort.get(b) as boolean[]) : b.stmts.map(abortsAlone);
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

/** Whether a statement may abort whatever the packet's length: a division or modulus by X or by 0, or an opcode the analysis does not know. */
function abortsAlone(s: Insn): boolean {
  switch (BPF_CLASS(s.code)) {
    case BPF_LD:
    case BPF_LDX:
      return ![BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH].includes(BPF_MODE(s.code));
    case BPF_ALU: {
      const op = BPF_OP(s.code);
      if (op === BPF_DIV || op === BPF_MOD) return BPF_SRC(s.code) === BPF_X || s.k === 0;
      return ![BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_NEG, BPF_XOR].includes(op);
    }
    case BPF_ST:
    case BPF_STX:
    case BPF_MISC:
      return false;
    default:
      return true;
  }
}
