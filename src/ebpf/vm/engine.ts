/** What an engine (interpreter or JIT) needs from the run around it, and what it offers: the seam between execution and helpers. */

import type { VmMemory } from './memory.js';

/**
 * Services a run gives its engine. Everything that is not plain ALU, jumps and memory
 * goes through here, so both engines share one implementation of helpers, context
 * conversion and legacy packet loads. A hook may set the STOP word in memory; the
 * engine then returns at once with the hook's result as r0.
 */
export interface RunHooks {
  readonly mem: VmMemory;
  /** True when region CTX_REGION is a converted context (skb, XDP) whose accesses go through ctxLoad/ctxStore. */
  readonly ctxConverted: boolean;
  /** Helper `id` called from slot `pc`. */
  helper(id: number, pc: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint;
  /** A load of `size` bytes from the converted context at `ptr`. */
  ctxLoad(ptr: bigint, size: number, pc: number): bigint;
  /** A store of `size` bytes into the converted context. */
  ctxStore(ptr: bigint, size: number, value: bigint, pc: number): void;
  /** Legacy `ld_abs`/`ld_ind`: `size` bytes at packet offset `offset`, big-endian; out of bounds stops with r0 = 0. */
  ldAbs(pc: number, offset: bigint, size: number): bigint;
  /** The per-run pointer an `lddw` map-value form at `pc` yields. */
  mapValue(pc: number): bigint;
}

/** An engine bound to one prepared program and one memory. */
export interface Engine {
  /** Which engine this is. */
  readonly kind: 'interp' | 'jit';
  /**
   * Runs from slot `entry` in frame `depth` with r1..r5 = `args`; returns r0. Faults
   * throw a RuntimeFault. Re-entrant: helpers run callbacks through it at a deeper frame.
   * `memModel` vouches that r2 is 0 or r1 starts a region at least r2 bytes long (the JIT's
   * range analysis assumes it at entry; without the promise the JIT checks it).
   */
  exec(entry: number, args: readonly bigint[], depth: number, memModel?: boolean): bigint;
}
