/** kprobe/kretprobe: a BPF_PROG_TYPE_KPROBE program on a kernel function through the kprobe perf PMU (kernels without it get a typed UnsupportedError). */

import { BpfkitError, UnsupportedError, UsageError } from '../../util/index.js';
import { cString } from '../map.js';
import type { Sys } from '../sys.js';
import type { KernelLink } from './link.js';
import { attachToPerfEvents, openPerfEvent, pmuFormatShift, pmuType } from './perf-event.js';

/** Where a kprobe goes. */
export interface KprobeOptions {
  /** A kretprobe: run when the function returns. */
  retprobe?: boolean;
  /** Bytes past the function's start. */
  offset?: number;
  /** A value the program reads back with bpf_get_attach_cookie. */
  cookie?: bigint;
}

/**
 * Attaches a kprobe (or kretprobe) to kernel function `fn` through the kprobe PMU
 * (perf_event_open + LINK_CREATE). A kernel built without kprobes has no such PMU: that is an
 * UnsupportedError (`E_UNSUPPORTED`) naming it, with tracepoints/raw_tp as the hint.
 */
export async function attachKprobe(sys: Sys, prog: { fd: number }, fn: string, options: KprobeOptions = {}): Promise<KernelLink> {
  const label = `${options.retprobe ? 'kretprobe' : 'kprobe'}/${fn}${options.offset ? `+${options.offset}` : ''}`;
  try {
    if (!/^[\w.]+$/.test(fn)) throw new UsageError('E_USAGE', `invalid kernel function name "${fn}"`);
    const type = await pmuType('kprobe');
    let config = 0n;
    if (options.retprobe) {
      const bit = await pmuFormatShift('kprobe', 'retprobe');
      if (bit === undefined) throw new UnsupportedError('E_UNSUPPORTED', 'this kernel\'s kprobe pmu has no retprobe bit');
      config |= 1n << bit;
    }
    const name = cString(fn);
    const pfd = openPerfEvent(sys, { type, config, config1: sys.addressOf(name), config2: BigInt(options.offset ?? 0), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0, label);
    return attachToPerfEvents(sys, prog, [pfd], label, options.cookie);
  } catch (e) {
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}
