/** Auto-attach: a loaded program attached where its ELF section name says (libbpf's `bpf_program__attach`), one table row per section kind. */

import type { ProgramSpec } from '../ebpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { AttachType } from './attach-type.js';
import { attachCgroup, type CgroupAttachment } from './links/cgroup.js';
import { attachKprobe } from './links/kprobe.js';
import { KernelLink, linkCreate } from './links/link.js';
import { attachTcx, attachXdp } from './links/netdev.js';
import { attachRawTracepoint } from './links/raw-tracepoint.js';
import { attachTracepoint } from './links/tracepoint.js';
import { attachUprobe } from './links/uprobe.js';
import { attachUsdt } from './links/usdt.js';
import { attachBpfFilter, detachFilter } from './socket-filter.js';
import type { Sys } from './sys.js';

/** Where the section name leaves the target open: the interface, the cgroup, the socket. */
export interface AutoAttachOptions {
  /** Interface (name or index) for `xdp`, `tc/…`, `tcx/…`. */
  interface?: string | number;
  /** cgroup v2 directory for `cgroup_skb/…` (default: the root of the cgroup2 mount, /sys/fs/cgroup). */
  cgroup?: string;
  /** Socket fd for `socket` (SO_ATTACH_BPF). */
  socket?: number;
  /** Only this process, for `uprobe/…` and `usdt/…`. */
  pid?: number;
}

/** What an attachment gives back: something to close to detach. */
export interface Attachment {
  readonly target: string;
  close(): void;
  [Symbol.dispose](): void;
}

type Attacher = (sys: Sys, prog: { fd: number }, target: string, spec: ProgramSpec, o: AutoAttachOptions) => Promise<Attachment> | Attachment;

function need<T>(v: T | undefined, what: string, section: string): T {
  if (v === undefined) throw new UsageError('E_ATTACH_TARGET', `section "${section}" needs ${what} to attach`);
  return v;
}

// `binary:function` (uprobe) and `binary:provider:name` (usdt); the binary may be an absolute path.
function splitTarget(target: string, parts: number, section: string): string[] {
  const bits = target.split(':');
  if (bits.length !== parts || bits.some((b) => b === '')) throw new UsageError('E_ATTACH_TARGET', `section "${section}": expected ${parts === 2 ? 'BINARY:FUNCTION' : 'BINARY:PROVIDER:NAME'} after the prefix`);
  return bits;
}

function socketAttachment(sys: Sys, prog: { fd: number }, fd: number): Attachment {
  attachBpfFilter(sys, fd, prog.fd);
  const target = `socket fd ${fd}`;
  return { target, close: () => detachFilter(sys, fd), [Symbol.dispose]: () => detachFilter(sys, fd) };
}

/** Section prefix → how to attach; the first matching prefix wins (more specific first). */
const ATTACHERS: readonly { prefix: string; attach: Attacher }[] = [
  { prefix: 'xdp', attach: (sys, p, _t, s, o) => attachXdp(sys, p, need(o.interface, 'an interface (--interface)', s.sectionName!)) },
  { prefix: 'tcx/ingress', attach: (sys, p, _t, s, o) => attachTcx(sys, p, need(o.interface, 'an interface (--interface)', s.sectionName!), 'ingress') },
  { prefix: 'tcx/egress', attach: (sys, p, _t, s, o) => attachTcx(sys, p, need(o.interface, 'an interface (--interface)', s.sectionName!), 'egress') },
  { prefix: 'tc/ingress', attach: (sys, p, _t, s, o) => attachTcx(sys, p, need(o.interface, 'an interface (--interface)', s.sectionName!), 'ingress') },
  { prefix: 'tc/egress', attach: (sys, p, _t, s, o) => attachTcx(sys, p, need(o.interface, 'an interface (--interface)', s.sectionName!), 'egress') },
  {
    prefix: 'tracepoint', attach: (sys, p, t, s) => {
      const [cat, name] = splitTarget(t.replace('/', ':'), 2, s.sectionName!);
      return attachTracepoint(sys, p, cat, name);
    },
  },
  {
    prefix: 'tp', attach: (sys, p, t, s) => {
      const [cat, name] = splitTarget(t.replace('/', ':'), 2, s.sectionName!);
      return attachTracepoint(sys, p, cat, name);
    },
  },
  { prefix: 'raw_tp', attach: (sys, p, t) => attachRawTracepoint(sys, p, t) },
  { prefix: 'raw_tracepoint', attach: (sys, p, t) => attachRawTracepoint(sys, p, t) },
  {
    prefix: 'tp_btf', attach: (sys, p, t) => {
      const label = `tp_btf/${t}`;
      try {
        return new KernelLink(sys, label, [linkCreate(sys, label, { progFd: p.fd, targetFd: 0, attachType: AttachType.BPF_TRACE_RAW_TP })]);
      } catch (e) {
        throw e instanceof BpfkitError ? e.withContext(`attach ${label}`) : e;
      }
    },
  },
  { prefix: 'kprobe', attach: (sys, p, t) => attachKprobe(sys, p, t) },
  { prefix: 'kretprobe', attach: (sys, p, t) => attachKprobe(sys, p, t, { retprobe: true }) },
  {
    prefix: 'uprobe', attach: (sys, p, t, s, o) => {
      const [bin, fn] = splitTarget(t, 2, s.sectionName!);
      return attachUprobe(sys, p, bin, fn, { pid: o.pid });
    },
  },
  {
    prefix: 'uretprobe', attach: (sys, p, t, s, o) => {
      const [bin, fn] = splitTarget(t, 2, s.sectionName!);
      return attachUprobe(sys, p, bin, fn, { pid: o.pid, retprobe: true });
    },
  },
  {
    prefix: 'usdt', attach: (sys, p, t, s, o) => {
      const [bin, provider, name] = splitTarget(t, 3, s.sectionName!);
      return attachUsdt(sys, p, bin, provider, name, { pid: o.pid });
    },
  },
  { prefix: 'cgroup_skb/ingress', attach: async (sys, p, _t, _s, o) => (await attachCgroup(sys, p, o.cgroup ?? '/sys/fs/cgroup', 'ingress')) as KernelLink | CgroupAttachment },
  { prefix: 'cgroup_skb/egress', attach: async (sys, p, _t, _s, o) => (await attachCgroup(sys, p, o.cgroup ?? '/sys/fs/cgroup', 'egress')) as KernelLink | CgroupAttachment },
  { prefix: 'socket', attach: (sys, p, _t, s, o) => socketAttachment(sys, p, need(o.socket, 'a socket fd', s.sectionName!)) },
];

/** The attacher for a section name (`xdp`, `tc/ingress`, `tracepoint/syscalls/sys_enter_openat`...), or undefined. */
export function attacherFor(section: string): { prefix: string; target: string } | undefined {
  for (const a of ATTACHERS) {
    if (section === a.prefix) return { prefix: a.prefix, target: '' };
    if (section.startsWith(`${a.prefix}/`)) return { prefix: a.prefix, target: section.slice(a.prefix.length + 1) };
  }
  return undefined;
}

/**
 * Attaches a loaded program where its section name says, as libbpf's auto-attach does.
 * Throws a UsageError (`E_ATTACH_SECTION`) for a section with no attach point of its own,
 * (`E_ATTACH_TARGET`) when the section leaves out what only the caller knows (an interface).
 *
 * @example
 * using link = await autoAttach(kernel.sys, coll.program('xdp_fw'), { interface: 'eth0' });
 */
export async function autoAttach(sys: Sys, program: { fd: number; spec: ProgramSpec }, options: AutoAttachOptions = {}): Promise<Attachment> {
  const section = program.spec.sectionName ?? '';
  const hit = attacherFor(section);
  const row = hit && ATTACHERS.find((a) => a.prefix === hit.prefix);
  if (!hit || !row) throw new UsageError('E_ATTACH_SECTION', `program "${program.spec.name}": section "${section}" has no auto-attach point`);
  return row.attach(sys, program, hit.target, program.spec, options);
}
