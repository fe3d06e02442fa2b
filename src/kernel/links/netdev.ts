/** XDP and tcx: attach a program to a network device through a bpf link (closing the link detaches it). */

import { UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import type { Sys } from '../sys.js';
import { KernelLink, linkCreate } from './link.js';

/** XDP_FLAGS_*: where the program runs. */
export const XdpMode = { auto: 0, skb: 1 << 1, native: 1 << 2, offload: 1 << 3 } as const;
export type XdpMode = keyof typeof XdpMode;

function ifindexOf(sys: Sys, dev: string | number): number {
  if (typeof dev === 'number') {
    if (!Number.isInteger(dev) || dev <= 0) throw new UsageError('E_USAGE', `interface index must be a positive integer, got ${dev}`);
    return dev;
  }
  return sys.ifNameToIndex(dev);
}

/** Attaches an XDP program to a device (by name or index); `mode` picks generic (skb), native or offload. */
export function attachXdp(sys: Sys, prog: { fd: number }, dev: string | number, mode: XdpMode = 'auto'): KernelLink {
  const label = `xdp/${dev}`;
  const fd = linkCreate(sys, label, { progFd: prog.fd, targetFd: ifindexOf(sys, dev), attachType: AttachType.BPF_XDP, flags: XdpMode[mode] });
  return new KernelLink(sys, label, [fd]);
}

/** Attaches a SCHED_CLS program to a device's tcx ingress or egress hook (return 0 passes, 2 drops). */
export function attachTcx(sys: Sys, prog: { fd: number }, dev: string | number, direction: 'ingress' | 'egress'): KernelLink {
  const label = `tcx/${direction}/${dev}`;
  const attachType = direction === 'ingress' ? AttachType.BPF_TCX_INGRESS : AttachType.BPF_TCX_EGRESS;
  const fd = linkCreate(sys, label, { progFd: prog.fd, targetFd: ifindexOf(sys, dev), attachType });
  return new KernelLink(sys, label, [fd]);
}
