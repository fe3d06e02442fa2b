/** Stepping through a VM run instruction by instruction: registers and stack before each instruction, recorded from one interpreter run. */

import { BpfkitError, RuntimeFault } from '../../util/index.js';
import { FaultKind, Layout, STACK_SIZE, makeFault, type VmMemory } from './memory.js';
import type { VmProgram, VmRunOptions, VmRunResult } from './program.js';

/** The machine just before one instruction executes. */
export interface VmStep {
  /** Position in the run (0 = the first instruction executed). */
  readonly index: number;
  /** The 8-byte slot about to execute (jump offsets and verifier positions count these). */
  readonly pc: number;
  /** Call depth: 0 in the main program, one more per BPF-to-BPF call or helper callback. */
  readonly depth: number;
  /** r0..r10, 64 bits each. */
  readonly regs: readonly bigint[];
  /** The current frame's 512 stack bytes (r10 points just past the last); shared with the previous step when unchanged. */
  readonly stack: Uint8Array;
}

/** Options of {@link traceRun}. */
export interface VmTraceOptions {
  /** Steps to record before the run is cut short (default 100,000); a cut run has {@link VmTrace.truncated} set. */
  maxSteps?: number;
}

/** A recorded run: every step, and how it ended. */
export interface VmTrace {
  readonly steps: readonly VmStep[];
  /** The run's result when it reached its final `exit`. */
  readonly result?: VmRunResult;
  /** The fault that ended the run; its `position.insn` is the faulting slot, the pc of the last step. */
  readonly fault?: BpfkitError;
  /** True when {@link VmTraceOptions.maxSteps} stopped the run (maps may then hold partial writes). */
  readonly truncated: boolean;
}

/** Thrown from the step hook to stop a run at maxSteps; never escapes {@link traceRun}. */
class StepLimit extends Error {}

/**
 * Runs `prog` once on `input` with the interpreter's step hook (the same interpreter that
 * runs it normally, so every step has the ordinary semantics: helpers, faults, budget) and
 * records the machine before each instruction. A run is deterministic, so stepping through
 * the record is stepping through the run, backwards too.
 *
 * @example
 * const t = traceRun(vm.load(spec), { data: frame });
 * for (const s of t.steps) console.log(s.pc, s.regs[0]);
 */
export function traceRun(prog: VmProgram, input: VmRunOptions = {}, options: VmTraceOptions = {}): VmTrace {
  const max = options.maxSteps ?? 100_000;
  const steps: VmStep[] = [];
  let mem: VmMemory | undefined;
  let last: Uint8Array | undefined;
  const hook = (pc: number, depth: number, regs: BigUint64Array): void => {
    if (steps.length >= max) throw new StepLimit();
    // The program's budget counted per instruction (the interpreter counts whole blocks, so a
    // run that exhausts it faults here at the exact instruction, there at its block's start).
    if (steps.length >= prog.budget) throw makeFault(FaultKind.BUDGET, pc);
    const at = Layout.STACKS + depth * STACK_SIZE;
    const now = mem!.u8.subarray(at, at + STACK_SIZE);
    const stack = last !== undefined && sameBytes(last, now) ? last : now.slice();
    last = stack;
    steps.push({ index: steps.length, pc, depth, regs: Array.from(regs), stack });
  };
  try {
    const result = prog.runStepped(input, hook, (m) => { mem = m; });
    return { steps, result, truncated: false };
  } catch (e) {
    if (e instanceof StepLimit) return { steps, truncated: true };
    if (e instanceof RuntimeFault) return { steps, fault: e, truncated: false };
    throw e;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A debugger's view of a {@link traceRun}: a cursor over the steps with `step`, `back` and
 * `reset`. Position `steps.length` is "after the run" (the result or the fault).
 */
export class Stepper {
  readonly trace: VmTrace;
  private at = 0;

  constructor(prog: VmProgram, input: VmRunOptions = {}, options: VmTraceOptions = {}) {
    this.trace = traceRun(prog, input, options);
  }

  /** Index of the next instruction to execute (`trace.steps.length` once the run is over). */
  get position(): number {
    return this.at;
  }

  /** The machine before the next instruction, or undefined once the run is over. */
  get current(): VmStep | undefined {
    return this.trace.steps[this.at];
  }

  /** True once every recorded step has executed. */
  get done(): boolean {
    return this.at >= this.trace.steps.length;
  }

  /** Executes `n` instructions (fewer at the end); returns the machine before the next one. */
  step(n = 1): VmStep | undefined {
    this.at = Math.min(this.trace.steps.length, this.at + Math.max(0, n));
    return this.current;
  }

  /** Goes back `n` instructions. */
  back(n = 1): VmStep | undefined {
    this.at = Math.max(0, this.at - Math.max(0, n));
    return this.current;
  }

  /** Back to before the first instruction. */
  reset(): VmStep | undefined {
    this.at = 0;
    return this.current;
  }
}
