/** Where a trace program's callback subprograms start, and the func_info that names them for the verifiers (the kernel's and bpfkit's). */

import type { Insn, ProgramSpec } from '../ebpf/index.js';

const LDDW = 0x18;
const BPF_PSEUDO_FUNC = 4;

/** Slots where callback subprograms start (targets of `lddw rX, func`). */
export function callbackStarts(insns: readonly Insn[]): number[] {
  const out = new Set<number>();
  let slot = 0;
  for (const insn of insns) {
    if (insn.code === LDDW && insn.src === BPF_PSEUDO_FUNC) out.add(slot + 1 + insn.imm);
    slot += insn.code === LDDW ? 2 : 1;
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The spec with func_info for the main function and each callback, numbered as the BTF the kernel loader builds
 * (type ids 3.. after `long` and the two prototypes): programs without callbacks are returned as they are.
 */
export function withCallbackFuncInfo(spec: ProgramSpec): ProgramSpec {
  const starts = callbackStarts(spec.insns);
  if (starts.length === 0 || spec.funcInfo?.length) return spec;
  return { ...spec, funcInfo: [0, ...starts].map((insn, i) => ({ insn, typeId: 4 + i })) };
}
