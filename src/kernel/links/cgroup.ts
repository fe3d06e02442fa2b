/** cgroup hooks: skb ingress/egress, socket create/release, connect/bind... on a cgroup v2 directory, through a bpf link or the older PROG_ATTACH. */

import { ProgType } from '../../ebpf/index.js';
import { BpfkitError, UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import { BpfCmd, progAttachAttr } from '../attr.js';
import type { Sys } from '../sys.js';
import { KernelLink, linkCreate } from './link.js';

/** The cgroup hooks by short name: their attach type and the program type that goes there. */
export const CgroupHook = {
  ingress: { attachType: AttachType.BPF_CGROUP_INET_INGRESS, progType: ProgType.BPF_PROG_TYPE_CGROUP_SKB },
  egress: { attachType: AttachType.BPF_CGROUP_INET_EGRESS, progType: ProgType.BPF_PROG_TYPE_CGROUP_SKB },
  sock_create: { attachType: AttachType.BPF_CGROUP_INET_SOCK_CREATE, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK },
  sock_release: { attachType: AttachType.BPF_CGROUP_INET_SOCK_RELEASE, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK },
  post_bind4: { attachType: AttachType.BPF_CGROUP_INET4_POST_BIND, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK },
  connect4: { attachType: AttachType.BPF_CGROUP_INET4_CONNECT, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
  connect6: { attachType: AttachType.BPF_CGROUP_INET6_CONNECT, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
  bind4: { attachType: AttachType.BPF_CGROUP_INET4_BIND, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
  bind6: { attachType: AttachType.BPF_CGROUP_INET6_BIND, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
  sendmsg4: { attachType: AttachType.BPF_CGROUP_UDP4_SENDMSG, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
  sock_ops: { attachType: AttachType.BPF_CGROUP_SOCK_OPS, progType: ProgType.BPF_PROG_TYPE_SOCK_OPS },
  device: { attachType: AttachType.BPF_CGROUP_DEVICE, progType: ProgType.BPF_PROG_TYPE_CGROUP_DEVICE },
  sysctl: { attachType: AttachType.BPF_CGROUP_SYSCTL, progType: ProgType.BPF_PROG_TYPE_CGROUP_SYSCTL },
} as const;
export type CgroupHook = keyof typeof CgroupHook;

/** BPF_F_ALLOW_OVERRIDE / BPF_F_ALLOW_MULTI for PROG_ATTACH. */
export const CgroupAttachFlag = { override: 1, multi: 2 } as const;

/** How to attach: a bpf link (detached when closed, default) or PROG_ATTACH (detached by PROG_DETACH on close). */
export interface CgroupAttachOptions {
  mode?: 'link' | 'attach';
  /** PROG_ATTACH flags (default `multi`, so other programs on the hook stay). */
  flags?: number;
}

/** A PROG_ATTACH attachment: `close()` detaches the program and closes the cgroup fd. */
export class CgroupAttachment {
  readonly target: string;
  private readonly sys: Sys;
  private cgroupFd: number;
  private readonly progFd: number;
  private readonly attachType: number;

  constructor(sys: Sys, target: string, cgroupFd: number, progFd: number, attachType: number) {
    this.sys = sys;
    this.target = target;
    this.cgroupFd = cgroupFd;
    this.progFd = progFd;
    this.attachType = attachType;
  }

  close(): void {
    if (this.cgroupFd < 0) return;
    const fd = this.cgroupFd;
    this.cgroupFd = -1;
    try {
      this.sys.bpf(BpfCmd.BPF_PROG_DETACH, progAttachAttr(fd, this.progFd, this.attachType));
    } finally {
      this.sys.close(fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

async function openCgroup(path: string): Promise<number> {
  const fs = await import('node:fs');
  try {
    if (!fs.statSync(path).isDirectory()) throw new UsageError('E_USAGE', `${path} is not a cgroup directory`);
    // O_RDONLY | O_DIRECTORY: the fd the kernel expects as a cgroup target.
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (e) {
    if (e instanceof BpfkitError) throw e;
    throw new UsageError('E_USAGE', `cannot open cgroup ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Attaches a program to a cgroup v2 hook (`ingress`, `egress`, `sock_create`...). The cgroup
 * is a directory path; processes in it and its descendants run the program. Closing the
 * result detaches it. A skb program returns 1 to let a packet through, 0 to drop it; a sock
 * program returns 1 to allow the socket, 0 to refuse it (EPERM).
 */
export async function attachCgroup(sys: Sys, prog: { fd: number }, cgroup: string, hook: CgroupHook, options: CgroupAttachOptions = {}): Promise<KernelLink | CgroupAttachment> {
  const h = CgroupHook[hook];
  if (!h) throw new UsageError('E_USAGE', `unknown cgroup hook "${hook}" (known: ${Object.keys(CgroupHook).join(', ')})`);
  const label = `cgroup/${hook}:${cgroup}`;
  const cgFd = await openCgroup(cgroup);
  try {
    if (options.mode === 'attach') {
      sys.bpf(BpfCmd.BPF_PROG_ATTACH, progAttachAttr(cgFd, prog.fd, h.attachType, options.flags ?? CgroupAttachFlag.multi));
      return new CgroupAttachment(sys, label, cgFd, prog.fd, h.attachType);
    }
    const fd = linkCreate(sys, label, { progFd: prog.fd, targetFd: cgFd, attachType: h.attachType });
    return new KernelLink(sys, label, [fd, cgFd]);
  } catch (e) {
    sys.close(cgFd);
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}

/** The mount point of the cgroup v2 hierarchy from a `/proc/mounts` text, or undefined when none is mounted. */
export function cgroup2MountPoint(procMounts: string): string | undefined {
  for (const line of procMounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return undefined;
}
