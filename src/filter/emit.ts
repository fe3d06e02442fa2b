/** Lays a filter CFG out as a classic BPF program, exactly as libpcap's `icode_to_fcode` does, with long jumps where needed. */

import { BPF_JA, BPF_JMP, insn, type Insn } from '../cbpf/index.js';
import { UsageError } from '../util/index.js';
import type { Block, Cfg } from './cfg.js';

/** The opcode of an unconditional jump; a CFG branch with this code is a goto to `jt`. */
const JA = BPF_JMP | BPF_JA;

/** True when a block ends in an unconditional goto (`ja`) rather than a test. */
export function isGoto(b: Block): boolean {
  return b.term.kind === 'branch' && b.term.code === JA;
}

/**
 * Blocks in libpcap's conversion order: a depth-first walk that finishes the false
 * successor, then the true successor, then the block itself. libpcap fills the program
 * from its end in that order, so the layout is this list reversed. Iterative, so a long
 * chain of blocks cannot overflow the stack.
 */
export function conversionOrder(cfg: Cfg): Block[] {
  const done: Block[] = [];
  const seen = new Set<Block>();
  const stack: { b: Block; step: number }[] = [{ b: cfg.entry, step: 0 }];
  seen.add(cfg.entry);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const t = top.b.term;
    if (t.kind === 'return' || top.step === 2) {
      stack.pop();
      done.push(top.b);
      continue;
    }
    const next = top.step === 0 ? t.jf : t.jt;
    top.step++;
    if (!seen.has(next)) {
      seen.add(next);
      stack.push({ b: next, step: 0 });
    }
  }
  return done;
}

/**
 * Emits a CFG as classic BPF. Blocks are laid out as libpcap lays them out (so an
 * unoptimized graph from gencode lists exactly as `tcpdump -d -O` does); a conditional
 * jump whose offset exceeds 255 goes through an inserted `ja`. A goto block (code `ja`)
 * costs no instruction when its target is laid out right after it.
 *
 * @throws UsageError `E_FILTER_CFG_CYCLE` when a jump goes backwards (the graph is not a DAG).
 */
export function emit(cfg: Cfg): Insn[] {
  const layout = conversionOrder(cfg).reverse();
  const index = new Map<Block, number>();
  layout.forEach((b, i) => index.set(b, i));
  // A goto to the very next block needs no instruction.
  const gotoSize = layout.map((b, i) => (isGoto(b) && b.term.kind === 'branch' && index.get(b.term.jt) === i + 1 ? 0 : 1));
  const longJt = new Uint8Array(layout.length);
  const longJf = new Uint8Array(layout.length);
  const offset = new Array<number>(layout.length + 1);

  // Terminates: each round either adds a long-jump mark (at most 2 per block) or stops.
  // Marks only grow offsets, so libpcap's one-at-a-time marking reaches this same set.
  for (;;) {
    let at = 0;
    for (let i = 0; i < layout.length; i++) {
      offset[i] = at;
      const b = layout[i];
      at += b.stmts.length + (isGoto(b) ? gotoSize[i] : 1) + longJt[i] + longJf[i];
    }
    offset[layout.length] = at;
    let changed = false;
    for (let i = 0; i < layout.length; i++) {
      const b = layout[i];
      if (b.term.kind !== 'branch' || isGoto(b)) continue;
      const here = offset[i] + b.stmts.length;
      const jt = index.get(b.term.jt) as number;
      const jf = index.get(b.term.jf) as number;
      if (jt <= i || jf <= i) throw new UsageError('E_FILTER_CFG_CYCLE', 'control-flow graph has a backward edge', { position: { insn: here } });
      if (offset[jt] - here - 1 >= 256 && !longJt[i]) {
        longJt[i] = 1;
        changed = true;
      }
      if (offset[jf] - here - 1 >= 256 && !longJf[i]) {
        longJf[i] = 1;
        changed = true;
      }
    }
    if (!changed) break;
  }

  const out: Insn[] = [];
  for (let i = 0; i < layout.length; i++) {
    const b = layout[i];
    for (const s of b.stmts) out.push(insn(s.code, s.k, s.jt, s.jf));
    const t = b.term;
    if (t.kind === 'return') {
      out.push(insn(t.code, t.k));
      continue;
    }
    const here = offset[i] + b.stmts.length;
    const jt = index.get(t.jt) as number;
    if (isGoto(b)) {
      if (jt <= i) throw new UsageError('E_FILTER_CFG_CYCLE', 'control-flow graph has a backward edge', { position: { insn: here } });
      if (gotoSize[i] === 1) out.push(insn(JA, offset[jt] - here - 1));
      continue;
    }
    const jf = index.get(t.jf) as number;
    const offT = offset[jt] - here - 1;
    const offF = offset[jf] - here - 1;
    // As libpcap: the true side's `ja` comes first, the false side's after it.
    let extra = 0;
    let jtField = offT;
    let jfField = offF;
    const jas: Insn[] = [];
    if (longJt[i]) {
      jtField = extra;
      extra++;
      jas.push(insn(JA, offT - extra));
    }
    if (longJf[i]) {
      jfField = extra;
      extra++;
      jas.push(insn(JA, offF - extra));
    }
    out.push(insn(t.code, t.k, jtField, jfField));
    out.push(...jas);
  }
  return out;
}
