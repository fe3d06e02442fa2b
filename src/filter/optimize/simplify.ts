/**
 * The simplify pass: value numbering and constant propagation over each block in
 * topological order (redundant loads go, known values become constants), libpcap's
 * `opt_peep` peepholes, and branches whose outcome is known become gotos.
 */

import {
  BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_CLASS, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_MEM,
  BPF_MISC, BPF_MODE, BPF_MSH, BPF_RET, BPF_RVAL, BPF_A, BPF_SRC, BPF_ST, BPF_SUB, BPF_TAX, BPF_X, type Insn,
} from '../../cbpf/index.js';
import type { Block, Cfg } from '../cfg.js';
import { gotoTerm } from '../cfg-from-program.js';
import { branchEdges, push } from './analysis.js';
import { A_ATOM, X_ATOM, cloneCfg, isGotoBlock, liveness, termUse, topoOrder, useDef } from './graph.js';
import { constIn, entryState, meet, step, ValueTable, type AbortModel, type State } from './values.js';

const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
const JSET_K = BPF_JMP | BPF_JSET | BPF_K;

/** True when X is not read after statement `i` before being overwritten (`liveOut` is the block's). */
function xDeadAfter(b: Block, i: number, liveOut: number): boolean {
  for (let j = i + 1; j < b.stmts.length; j++) {
    const { use, def } = useDef(b.stmts[j]);
    if (use & (1 << X_ATOM)) return false;
    if (def === X_ATOM) return true;
  }
  return ((liveOut | termUse(b)) & (1 << X_ATOM)) === 0;
}

/** libpcap's `opt_peep` rewrites that need no values, each of which shortens or lightens the block. */
function peephole(b: Block, liveOut: number): void {
  const s = b.stmts;
  for (let i = 0; i + 1 < s.length; i++) {
    // st M[k]; ldx M[k]  ->  st M[k]; tax
    if (s[i].code === BPF_ST && s[i + 1].code === (BPF_LDX | BPF_MEM) && s[i].k === s[i + 1].k) s[i + 1] = { code: BPF_MISC | BPF_TAX, k: 0, jt: 0, jf: 0 };
  }
  for (let i = 0; i < s.length; i++) {
    // ld #k; [ldxb 4*([m]&0xf);] add x; tax; ld [x + j]  ->  [ldxb ...;] ld [x + k + j], when X is dead after.
    if (s[i].code !== (BPF_LD | BPF_IMM)) continue;
    let j = i + 1;
    const msh = j < s.length && s[j].code === (BPF_LDX | BPF_MSH | BPF_B);
    if (msh) j++;
    if (!(j + 2 < s.length && s[j].code === (BPF_ALU | BPF_ADD | BPF_X) && s[j + 1].code === (BPF_MISC | BPF_TAX))) continue;
    const ild = s[j + 2];
    if (BPF_CLASS(ild.code) !== BPF_LD || BPF_MODE(ild.code) !== BPF_IND || !xDeadAfter(b, j + 2, liveOut)) continue;
    const merged: Insn = { code: ild.code, k: (ild.k + s[i].k) >>> 0, jt: 0, jf: 0 };
    s.splice(i, j + 3 - i, ...(msh ? [s[i + 1]] : []), merged);
  }
  const t = b.term;
  if (t.kind !== 'branch' || isGotoBlock(b)) return;
  const last = s[s.length - 1];
  const aDead = (liveOut & (1 << A_ATOM)) === 0;
  if (last !== undefined && aDead) {
    if (t.code === JEQ_K && last.code === (BPF_ALU | BPF_SUB | BPF_K)) {
      // sub #x; jeq #y  ->  jeq #(x+y)
      s.pop();
      t.k = (t.k + last.k) >>> 0;
    } else if (t.code === JEQ_K && t.k === 0 && last.code === (BPF_ALU | BPF_SUB | BPF_X)) {
      // sub x; jeq #0  ->  jeq x
      s.pop();
      t.code = BPF_JMP | BPF_JEQ | BPF_X;
    } else if (t.code === JEQ_K && t.k === 0 && last.code === (BPF_ALU | BPF_AND | BPF_K)) {
      // and #k; jeq #0  ->  jset #k with the targets swapped
      s.pop();
      t.code = JSET_K;
      t.k = last.k;
      [t.jt, t.jf] = [t.jf, t.jt];
    } else if (t.code === JSET_K && last.code === (BPF_ALU | BPF_AND | BPF_K)) {
      // and #k; jset #m  ->  jset #(k & m)
      s.pop();
      t.k = (t.k & last.k) >>> 0;
    }
  }
  // jset #0xffffffff means "A != 0" (libpcap once treated it as "always": its #1698).
  if (t.code === JSET_K && t.k === 0xffffffff) {
    t.code = JEQ_K;
    t.k = 0;
    [t.jt, t.jf] = [t.jf, t.jt];
  }
}

/** Runs the pass on a copy of `cfg`. */
export function simplify(cfg: Cfg, model: AbortModel = 'libpcap', weak = false): Cfg {
  return simplifyInPlace(cloneCfg(cfg), model, weak);
}

/** {@link simplify} on `g` itself (the optimizer's rounds copy the graph once, not once per pass). */
export function simplifyInPlace(g: Cfg, model: AbortModel = 'libpcap', weak = false): Cfg {
  const table = new ValueTable(model);
  table.weak = weak;
  const order = topoOrder(g);
  const { liveOut } = liveness(order);
  const incoming = new Map<Block, State[]>();
  for (const b of order) {
    const ins = incoming.get(b);
    if (b !== g.entry && ins === undefined) continue; // no longer reachable
    const st = b === g.entry ? entryState(table) : meet(ins as State[], table);
    peephole(b, liveOut.get(b) as number);
    const out: Insn[] = [];
    const a0 = st.regs[A_ATOM];
    // Statements that only compute A, none of which can abort, go when A ends as it began
    // (libpcap's opt_blk does the same): a regrouped `ld [26]; and #0xffff0000` after the same two.
    let onlyA = true;
    for (const s of b.stmts) {
      const r = step(s, st, table, true);
      if (r.stmt) out.push(r.stmt);
      const cls = BPF_CLASS(s.code);
      if (r.mayAbort || (cls !== BPF_LD && cls !== BPF_ALU)) onlyA = false;
    }
    b.stmts = onlyA && st.regs[A_ATOM] === a0 ? [] : out;
    const t = b.term;
    if (t.kind === 'return') {
      // A return of 0 rejects whether or not a statement aborts: none of them matters.
      if (BPF_RVAL(t.code) === BPF_K && t.k === 0) b.stmts = [];
      else if (BPF_RVAL(t.code) === BPF_A) {
        const c = constIn(st.regs[A_ATOM], st, table);
        if (c !== undefined) b.term = { kind: 'return', code: BPF_RET | BPF_K, k: c };
      }
      continue;
    }
    if (!isGotoBlock(b) && BPF_SRC(t.code) === BPF_X) {
      const c = constIn(st.regs[X_ATOM], st, table);
      if (c !== undefined) {
        t.code = (t.code & ~BPF_X) | BPF_K;
        t.k = c;
      }
    }
    const e = branchEdges(b, st, table);
    if (e.decided !== undefined) {
      const target = e.decided ? t.jt : t.jf;
      b.term = gotoTerm(target);
      push(incoming, target, e.decided ? e.jt : e.jf);
      continue;
    }
    push(incoming, t.jt, e.jt);
    if (t.jf !== t.jt || !isGotoBlock(b)) push(incoming, t.jf, e.jf);
  }
  return g;
}
