/** Attaching a loaded program to a concrete probe, over src/kernel's links, with cause-specific errors. */

import type { Kernel, KernelLink } from '../../kernel/index.js';
import type { ConcreteProbe } from './catalog.js';
import { ProbeError } from './errors.js';

/** Options for {@link attachProbe}. */
export interface AttachOptions {
  /** `-p PID`: uprobes and usdt only in this process; profile follows it. */
  pid?: number;
  /** bpf cookie for the probe (kprobe/uprobe/perf-event links). */
  cookie?: bigint;
}

/**
 * Attaches `program` (already loaded with the program type {@link programTypeFor} names) to
 * `probe`. `begin`/`end` are not kernel probes (the runtime runs them). Errors are ProbeErrors
 * naming the cause (see {@link ProbeError}).
 */
export async function attachProbe(kernel: Kernel, program: { fd: number }, probe: ConcreteProbe, options: AttachOptions = {}): Promise<KernelLink> {
  void kernel; void program; void options;
  throw new ProbeError('E_PROBE_UNSUPPORTED', `cannot attach ${probe.name} yet`);
}

/** The BPF program type a probe's program is loaded as (`BPF_PROG_TYPE_TRACEPOINT`…), as a number. */
export function programTypeFor(probe: ConcreteProbe): number {
  void probe;
  return 0;
}
