/** The control-flow graph between gencode and emit: basic blocks of straight-line cbpf ending in a branch or a return. */

import type { Insn } from '../cbpf/index.js';

/** A conditional branch: `code` is BPF_JMP|op|src (op is JEQ/JGT/JGE/JSET), taken to `jt` when true. */
export interface Branch {
  kind: 'branch';
  code: number;
  k: number;
  jt: Block;
  jf: Block;
}

/** A return: `code` is BPF_RET|BPF_K (value `k`) or BPF_RET|BPF_A. */
export interface Return {
  kind: 'return';
  code: number;
  k: number;
}

/**
 * A basic block: statements that never jump (loads, stores, ALU, tax/txa), then one
 * terminator. Blocks are mutable while gencode and the optimizer build and rewrite the
 * graph; each optimizer pass returns a new graph or mutates a private copy.
 */
export interface Block {
  /** Unique within a graph; stable, used for DOT output and deterministic ordering. */
  id: number;
  stmts: Insn[];
  term: Branch | Return;
}

/** A whole filter: the entry block; every other block is reachable from it. */
export interface Cfg {
  entry: Block;
}
