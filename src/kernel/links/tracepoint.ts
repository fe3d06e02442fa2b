/** Tracepoints: find an event's id in tracefs, open it as a perf event and attach a BPF_PROG_TYPE_TRACEPOINT program through a bpf link. */

import { BpfkitError, UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import { PerfType, perfEventAttr } from '../attr.js';
import type { Sys } from '../sys.js';
import { KernelLink, linkCreate } from './link.js';

/** Where tracefs usually is. */
export const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

const PERF_FLAG_FD_CLOEXEC = 8;

/** The id of tracepoint `category/name` from `events/<category>/<name>/id` in tracefs. */
export async function tracepointId(category: string, name: string, tracefsDirs: readonly string[] = TRACEFS_DIRS): Promise<number> {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) {
    throw new UsageError('E_USAGE', `invalid tracepoint name "${category}/${name}"`);
  }
  const fs = await import('node:fs/promises');
  for (const dir of tracefsDirs) {
    try {
      return Number((await fs.readFile(`${dir}/events/${category}/${name}/id`, 'utf8')).trim());
    } catch {
      // try the next location
    }
  }
  throw new UsageError('E_TRACEPOINT', `tracepoint ${category}/${name} not found in ${tracefsDirs.join(' or ')}`, {
    hint: 'mount tracefs (mount -t tracefs tracefs /sys/kernel/tracing), or use raw_tp, which needs no tracefs',
  });
}

/**
 * Attaches a tracepoint program: perf_event_open(PERF_TYPE_TRACEPOINT, pid -1, cpu 0) then
 * LINK_CREATE(BPF_PERF_EVENT). The program runs on every CPU; the perf event only anchors it.
 */
export function attachTracepointById(sys: Sys, prog: { fd: number }, id: number, label = `tracepoint/${id}`): KernelLink {
  let pfd = -1;
  try {
    pfd = sys.perfEventOpen(perfEventAttr({ type: PerfType.PERF_TYPE_TRACEPOINT, config: BigInt(id), samplePeriod: 1n, wakeupEvents: 1 }), -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
    const lfd = linkCreate(sys, label, { progFd: prog.fd, targetFd: pfd, attachType: AttachType.BPF_PERF_EVENT });
    return new KernelLink(sys, label, [lfd, pfd]);
  } catch (e) {
    if (pfd >= 0) sys.close(pfd);
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}

/** Looks the tracepoint up in tracefs and attaches the program to it. */
export async function attachTracepoint(sys: Sys, prog: { fd: number }, category: string, name: string, tracefsDirs?: readonly string[]): Promise<KernelLink> {
  const id = await tracepointId(category, name, tracefsDirs);
  return attachTracepointById(sys, prog, id, `tracepoint/${category}/${name}`);
}
