/** Builds a filter CFG from a classic BPF program (the inverse of emit), so any program can be optimized or drawn. */

import { BPF_CLASS, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_OP, BPF_RET, insn, type Insn } from '../cbpf/index.js';
import { ValidationError } from '../util/index.js';
import type { Block, Branch, Cfg } from './cfg.js';

/** The conditional jump operations a CFG branch may test. */
const CONDITIONAL_OPS = new Set([BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET]);

/** Where each jump of instruction `i` lands, or undefined for a statement. */
function targets(p: readonly Insn[], i: number): number[] | undefined {
  const s = p[i];
  if (BPF_CLASS(s.code) === BPF_RET) return [];
  if (BPF_CLASS(s.code) !== BPF_JMP) return undefined;
  const op = BPF_OP(s.code);
  if (op === BPF_JA) return [i + 1 + s.k];
  if (!CONDITIONAL_OPS.has(op)) throw new ValidationError('E_CBPF_BAD_JUMP', `unknown jump opcode 0x${s.code.toString(16)}`, { position: { insn: i } });
  return [i + 1 + s.jt, i + 1 + s.jf];
}

/**
 * Splits a program into basic blocks: a block starts at instruction 0, at every jump
 * target and after every jump or return, and ends at a jump or return. A block that runs
 * into the next block's first instruction ends in a goto (`ja`) to it; a `ja` in the
 * program becomes such a goto. Block ids are the index of their first instruction.
 * Code no path reaches is dropped.
 *
 * @throws ValidationError `E_CBPF_EMPTY`, `E_CBPF_BACKWARD_JUMP`, `E_CBPF_BAD_JUMP` (unknown jump or target out of
 *   the program, with the instruction index) or `E_CBPF_NO_RETURN` (control runs off the end).
 */
export function cfgFromProgram(program: readonly Insn[]): Cfg {
  const n = program.length;
  if (n === 0) throw new ValidationError('E_CBPF_EMPTY', 'program has no instructions');
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  for (let i = 0; i < n; i++) {
    const ts = targets(program, i);
    if (ts === undefined) continue;
    for (const t of ts) {
      // A `ja` with k >= 2^31 is a backward jump (libpcap's protochain loops); a CFG is acyclic.
      if (t - i - 1 >= 0x80000000) throw new ValidationError('E_CBPF_BACKWARD_JUMP', 'backward jump: the program has a loop', { position: { insn: i } });
      if (t >= n) throw new ValidationError('E_CBPF_BAD_JUMP', `jump target ${t} is past the end of the program`, { position: { insn: i } });
      leader[t] = 1;
    }
    leader[i + 1] = 1;
  }
  if (targets(program, n - 1) === undefined) throw new ValidationError('E_CBPF_NO_RETURN', 'program does not end in a return or jump', { position: { insn: n - 1 } });

  // Every jump goes forward, so building from the last leader back finds successors built.
  const blocks = new Map<number, Block>();
  for (let start = n - 1; start >= 0; start--) {
    if (!leader[start]) continue;
    const stmts: Insn[] = [];
    let i = start;
    let block: Block | undefined;
    for (;;) {
      const s = program[i];
      const ts = targets(program, i);
      if (ts === undefined) {
        stmts.push(insn(s.code, s.k, s.jt, s.jf));
        i++;
        if (leader[i]) {
          block = { id: start, stmts, term: gotoTerm(blocks.get(i) as Block) };
          break;
        }
        continue;
      }
      if (ts.length === 0) block = { id: start, stmts, term: { kind: 'return', code: s.code, k: s.k } };
      else if (ts.length === 1) block = { id: start, stmts, term: gotoTerm(blocks.get(ts[0]) as Block) };
      else block = { id: start, stmts, term: { kind: 'branch', code: s.code, k: s.k, jt: blocks.get(ts[0]) as Block, jf: blocks.get(ts[1]) as Block } };
      break;
    }
    blocks.set(start, block);
  }
  return { entry: blocks.get(0) as Block };
}

/** A goto: a branch with code `ja` whose two successors are the same block. */
export function gotoTerm(target: Block): Branch {
  return { kind: 'branch', code: BPF_JMP | BPF_JA, k: 0, jt: target, jf: target };
}
