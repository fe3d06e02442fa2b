/** `KernelLink`: an attachment of a program to a hook, held by an fd (a bpf link, or a perf event); closing it detaches. */

import { BpfkitError } from '../../util/index.js';
import { BpfCmd, linkCreateAttr, linkDetachAttr } from '../attr.js';
import type { LinkCreateAttr } from '../attr.js';
import type { Sys } from '../sys.js';

/** A program attached somewhere. Close it (or let `using` do so) to detach. */
export class KernelLink {
  /** What the program is attached to, for messages (`raw_tp/sys_enter`). */
  readonly target: string;
  private readonly sys: Sys;
  private fds: number[];

  /** `fds[0]` is the link (or the perf event when the attachment is an ioctl); the rest are closed with it. */
  constructor(sys: Sys, target: string, fds: number[]) {
    this.sys = sys;
    this.target = target;
    this.fds = fds;
  }

  get fd(): number {
    return this.fds[0] ?? -1;
  }

  /** BPF_LINK_DETACH: detaches while the fd stays open (bpf links only). */
  detach(): void {
    try {
      this.sys.bpf(BpfCmd.BPF_LINK_DETACH, linkDetachAttr(this.fd));
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext(`detach ${this.target}`) : e;
    }
  }

  close(): void {
    const fds = this.fds;
    this.fds = [];
    for (const fd of fds) this.sys.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** BPF_LINK_CREATE, wrapped with the target's name on failure. */
export function linkCreate(sys: Sys, target: string, attr: LinkCreateAttr): number {
  try {
    return sys.bpf(BpfCmd.BPF_LINK_CREATE, linkCreateAttr(attr));
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(`attach ${target}`) : e;
  }
}
