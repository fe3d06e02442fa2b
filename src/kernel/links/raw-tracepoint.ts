/** raw_tp: attach a BPF_PROG_TYPE_RAW_TRACEPOINT program to a kernel tracepoint by name (no tracefs needed). */

import { BpfkitError } from '../../util/index.js';
import { BpfCmd, rawTracepointOpenAttr } from '../attr.js';
import { cString } from '../map.js';
import type { Sys } from '../sys.js';
import { KernelLink } from './link.js';

/** Attaches a raw tracepoint program to tracepoint `name` (e.g. `sys_enter`); the context is the tracepoint's u64 arguments. */
export function attachRawTracepoint(sys: Sys, prog: { fd: number }, name: string): KernelLink {
  const nameBytes = cString(name);
  try {
    const fd = sys.bpf(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, rawTracepointOpenAttr(sys.addressOf(nameBytes), prog.fd));
    return new KernelLink(sys, `raw_tp/${name}`, [fd]);
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(`attach raw_tp/${name}`) : e;
  }
}
