/** The section-name table (after libbpf's `section_defs[]`): an ELF section name to program type, expected attach type and attach target. */

import { ProgType } from '../ebpf/index.js';

/** `enum bpf_attach_type` values the table uses (kernel names). */
export const AttachType = {
  BPF_CGROUP_INET_INGRESS: 0, BPF_CGROUP_INET_EGRESS: 1, BPF_CGROUP_INET_SOCK_CREATE: 2, BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4, BPF_SK_SKB_STREAM_VERDICT: 5, BPF_CGROUP_DEVICE: 6, BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8, BPF_CGROUP_INET6_BIND: 9, BPF_CGROUP_INET4_CONNECT: 10, BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12, BPF_CGROUP_INET6_POST_BIND: 13, BPF_CGROUP_UDP4_SENDMSG: 14, BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16, BPF_FLOW_DISSECTOR: 17, BPF_CGROUP_SYSCTL: 18, BPF_CGROUP_UDP4_RECVMSG: 19, BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21, BPF_CGROUP_SETSOCKOPT: 22, BPF_TRACE_RAW_TP: 23, BPF_TRACE_FENTRY: 24, BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26, BPF_LSM_MAC: 27, BPF_TRACE_ITER: 28, BPF_CGROUP_INET4_GETPEERNAME: 29, BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31, BPF_CGROUP_INET6_GETSOCKNAME: 32, BPF_XDP_DEVMAP: 33, BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35, BPF_SK_LOOKUP: 36, BPF_XDP: 37, BPF_SK_SKB_VERDICT: 38, BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40, BPF_PERF_EVENT: 41, BPF_TRACE_KPROBE_MULTI: 42, BPF_LSM_CGROUP: 43,
  BPF_STRUCT_OPS: 44, BPF_NETFILTER: 45, BPF_TCX_INGRESS: 46, BPF_TCX_EGRESS: 47, BPF_TRACE_UPROBE_MULTI: 48,
  BPF_CGROUP_UNIX_CONNECT: 49, BPF_CGROUP_UNIX_SENDMSG: 50, BPF_CGROUP_UNIX_RECVMSG: 51, BPF_CGROUP_UNIX_GETPEERNAME: 52,
  BPF_CGROUP_UNIX_GETSOCKNAME: 53, BPF_NETKIT_PRIMARY: 54, BPF_NETKIT_PEER: 55, BPF_TRACE_KPROBE_SESSION: 56,
} as const;

/**
 * One section definition. `match`: `exact` means the whole name; `prefix` means the name or
 * `name/<target>` (libbpf's `+` suffix), the part after the slash being the attach target.
 */
export interface SectionDef {
  name: string;
  match: 'exact' | 'prefix';
  type: ProgType;
  expectedAttachType?: number;
  /** Sleepable (`.s` variants). */
  sleepable?: boolean;
  /** What the target names, for attach code: a kernel function, `category/event`, a BTF type, a binary path... */
  target?: 'kfunc' | 'tracepoint' | 'btf' | 'uprobe' | 'usdt' | 'struct_ops';
  /** A return probe (kretprobe, uretprobe). */
  ret?: boolean;
}

const P = ProgType, A = AttachType;
const d = (name: string, match: 'exact' | 'prefix', type: ProgType, rest: Partial<SectionDef> = {}): SectionDef => ({ name, match, type, ...rest });

/** The table, in libbpf's order: the first match wins, so more specific names come first. */
export const SECTION_DEFS: readonly SectionDef[] = [
  d('socket', 'prefix', P.BPF_PROG_TYPE_SOCKET_FILTER),
  d('sk_reuseport/migrate', 'exact', P.BPF_PROG_TYPE_SK_REUSEPORT, { expectedAttachType: A.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE }),
  d('sk_reuseport', 'exact', P.BPF_PROG_TYPE_SK_REUSEPORT, { expectedAttachType: A.BPF_SK_REUSEPORT_SELECT }),
  d('kprobe', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'kfunc' }),
  d('uprobe', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'uprobe' }),
  d('uprobe.s', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'uprobe', sleepable: true }),
  d('kretprobe', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'kfunc', ret: true }),
  d('uretprobe', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'uprobe', ret: true }),
  d('uretprobe.s', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'uprobe', ret: true, sleepable: true }),
  d('kprobe.multi', 'prefix', P.BPF_PROG_TYPE_KPROBE, { expectedAttachType: A.BPF_TRACE_KPROBE_MULTI, target: 'kfunc' }),
  d('kretprobe.multi', 'prefix', P.BPF_PROG_TYPE_KPROBE, { expectedAttachType: A.BPF_TRACE_KPROBE_MULTI, target: 'kfunc', ret: true }),
  d('kprobe.session', 'prefix', P.BPF_PROG_TYPE_KPROBE, { expectedAttachType: A.BPF_TRACE_KPROBE_SESSION, target: 'kfunc' }),
  d('uprobe.multi', 'prefix', P.BPF_PROG_TYPE_KPROBE, { expectedAttachType: A.BPF_TRACE_UPROBE_MULTI, target: 'uprobe' }),
  d('uretprobe.multi', 'prefix', P.BPF_PROG_TYPE_KPROBE, { expectedAttachType: A.BPF_TRACE_UPROBE_MULTI, target: 'uprobe', ret: true }),
  d('ksyscall', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'kfunc' }),
  d('kretsyscall', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'kfunc', ret: true }),
  d('usdt', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'usdt' }),
  d('usdt.s', 'prefix', P.BPF_PROG_TYPE_KPROBE, { target: 'usdt', sleepable: true }),
  d('tc/ingress', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_TCX_INGRESS }),
  d('tc/egress', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_TCX_EGRESS }),
  d('tcx/ingress', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_TCX_INGRESS }),
  d('tcx/egress', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_TCX_EGRESS }),
  d('tc', 'prefix', P.BPF_PROG_TYPE_SCHED_CLS),
  d('classifier', 'prefix', P.BPF_PROG_TYPE_SCHED_CLS),
  d('action', 'prefix', P.BPF_PROG_TYPE_SCHED_ACT),
  d('netkit/primary', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_NETKIT_PRIMARY }),
  d('netkit/peer', 'exact', P.BPF_PROG_TYPE_SCHED_CLS, { expectedAttachType: A.BPF_NETKIT_PEER }),
  d('tracepoint', 'prefix', P.BPF_PROG_TYPE_TRACEPOINT, { target: 'tracepoint' }),
  d('tp', 'prefix', P.BPF_PROG_TYPE_TRACEPOINT, { target: 'tracepoint' }),
  d('raw_tracepoint', 'prefix', P.BPF_PROG_TYPE_RAW_TRACEPOINT, { target: 'tracepoint' }),
  d('raw_tp', 'prefix', P.BPF_PROG_TYPE_RAW_TRACEPOINT, { target: 'tracepoint' }),
  d('raw_tracepoint.w', 'prefix', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, { target: 'tracepoint' }),
  d('raw_tp.w', 'prefix', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, { target: 'tracepoint' }),
  d('tp_btf', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_RAW_TP, target: 'btf' }),
  d('fentry', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_FENTRY, target: 'btf' }),
  d('fmod_ret', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_MODIFY_RETURN, target: 'btf' }),
  d('fexit', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_FEXIT, target: 'btf' }),
  d('fentry.s', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_FENTRY, target: 'btf', sleepable: true }),
  d('fmod_ret.s', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_MODIFY_RETURN, target: 'btf', sleepable: true }),
  d('fexit.s', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_FEXIT, target: 'btf', sleepable: true }),
  d('freplace', 'prefix', P.BPF_PROG_TYPE_EXT, { target: 'btf' }),
  d('lsm', 'prefix', P.BPF_PROG_TYPE_LSM, { expectedAttachType: A.BPF_LSM_MAC, target: 'btf' }),
  d('lsm.s', 'prefix', P.BPF_PROG_TYPE_LSM, { expectedAttachType: A.BPF_LSM_MAC, target: 'btf', sleepable: true }),
  d('lsm_cgroup', 'prefix', P.BPF_PROG_TYPE_LSM, { expectedAttachType: A.BPF_LSM_CGROUP, target: 'btf' }),
  d('iter', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_ITER, target: 'btf' }),
  d('iter.s', 'prefix', P.BPF_PROG_TYPE_TRACING, { expectedAttachType: A.BPF_TRACE_ITER, target: 'btf', sleepable: true }),
  d('syscall', 'exact', P.BPF_PROG_TYPE_SYSCALL, { sleepable: true }),
  d('xdp.frags/devmap', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP_DEVMAP }),
  d('xdp/devmap', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP_DEVMAP }),
  d('xdp.frags/cpumap', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP_CPUMAP }),
  d('xdp/cpumap', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP_CPUMAP }),
  d('xdp.frags', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP }),
  d('xdp', 'exact', P.BPF_PROG_TYPE_XDP, { expectedAttachType: A.BPF_XDP }),
  d('perf_event', 'exact', P.BPF_PROG_TYPE_PERF_EVENT),
  d('lwt_in', 'exact', P.BPF_PROG_TYPE_LWT_IN),
  d('lwt_out', 'exact', P.BPF_PROG_TYPE_LWT_OUT),
  d('lwt_xmit', 'exact', P.BPF_PROG_TYPE_LWT_XMIT),
  d('lwt_seg6local', 'exact', P.BPF_PROG_TYPE_LWT_SEG6LOCAL),
  d('sockops', 'exact', P.BPF_PROG_TYPE_SOCK_OPS, { expectedAttachType: A.BPF_CGROUP_SOCK_OPS }),
  d('sk_skb/stream_parser', 'exact', P.BPF_PROG_TYPE_SK_SKB, { expectedAttachType: A.BPF_SK_SKB_STREAM_PARSER }),
  d('sk_skb/stream_verdict', 'exact', P.BPF_PROG_TYPE_SK_SKB, { expectedAttachType: A.BPF_SK_SKB_STREAM_VERDICT }),
  d('sk_skb/verdict', 'exact', P.BPF_PROG_TYPE_SK_SKB, { expectedAttachType: A.BPF_SK_SKB_VERDICT }),
  d('sk_skb', 'prefix', P.BPF_PROG_TYPE_SK_SKB),
  d('sk_msg', 'exact', P.BPF_PROG_TYPE_SK_MSG, { expectedAttachType: A.BPF_SK_MSG_VERDICT }),
  d('lirc_mode2', 'exact', P.BPF_PROG_TYPE_LIRC_MODE2, { expectedAttachType: A.BPF_LIRC_MODE2 }),
  d('flow_dissector', 'exact', P.BPF_PROG_TYPE_FLOW_DISSECTOR, { expectedAttachType: A.BPF_FLOW_DISSECTOR }),
  d('cgroup_skb/ingress', 'exact', P.BPF_PROG_TYPE_CGROUP_SKB, { expectedAttachType: A.BPF_CGROUP_INET_INGRESS }),
  d('cgroup_skb/egress', 'exact', P.BPF_PROG_TYPE_CGROUP_SKB, { expectedAttachType: A.BPF_CGROUP_INET_EGRESS }),
  d('cgroup/skb', 'exact', P.BPF_PROG_TYPE_CGROUP_SKB),
  d('cgroup/sock_create', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK, { expectedAttachType: A.BPF_CGROUP_INET_SOCK_CREATE }),
  d('cgroup/sock_release', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK, { expectedAttachType: A.BPF_CGROUP_INET_SOCK_RELEASE }),
  d('cgroup/sock', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK, { expectedAttachType: A.BPF_CGROUP_INET_SOCK_CREATE }),
  d('cgroup/post_bind4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK, { expectedAttachType: A.BPF_CGROUP_INET4_POST_BIND }),
  d('cgroup/post_bind6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK, { expectedAttachType: A.BPF_CGROUP_INET6_POST_BIND }),
  d('cgroup/dev', 'exact', P.BPF_PROG_TYPE_CGROUP_DEVICE, { expectedAttachType: A.BPF_CGROUP_DEVICE }),
  d('cgroup/bind4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET4_BIND }),
  d('cgroup/bind6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET6_BIND }),
  d('cgroup/connect4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET4_CONNECT }),
  d('cgroup/connect6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET6_CONNECT }),
  d('cgroup/connect_unix', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UNIX_CONNECT }),
  d('cgroup/sendmsg4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UDP4_SENDMSG }),
  d('cgroup/sendmsg6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UDP6_SENDMSG }),
  d('cgroup/sendmsg_unix', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UNIX_SENDMSG }),
  d('cgroup/recvmsg4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UDP4_RECVMSG }),
  d('cgroup/recvmsg6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UDP6_RECVMSG }),
  d('cgroup/recvmsg_unix', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UNIX_RECVMSG }),
  d('cgroup/getpeername4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET4_GETPEERNAME }),
  d('cgroup/getpeername6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET6_GETPEERNAME }),
  d('cgroup/getpeername_unix', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UNIX_GETPEERNAME }),
  d('cgroup/getsockname4', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET4_GETSOCKNAME }),
  d('cgroup/getsockname6', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_INET6_GETSOCKNAME }),
  d('cgroup/getsockname_unix', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, { expectedAttachType: A.BPF_CGROUP_UNIX_GETSOCKNAME }),
  d('cgroup/sysctl', 'exact', P.BPF_PROG_TYPE_CGROUP_SYSCTL, { expectedAttachType: A.BPF_CGROUP_SYSCTL }),
  d('cgroup/getsockopt', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, { expectedAttachType: A.BPF_CGROUP_GETSOCKOPT }),
  d('cgroup/setsockopt', 'exact', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, { expectedAttachType: A.BPF_CGROUP_SETSOCKOPT }),
  d('struct_ops', 'prefix', P.BPF_PROG_TYPE_STRUCT_OPS, { target: 'struct_ops' }),
  d('struct_ops.s', 'prefix', P.BPF_PROG_TYPE_STRUCT_OPS, { target: 'struct_ops', sleepable: true }),
  d('sk_lookup', 'exact', P.BPF_PROG_TYPE_SK_LOOKUP, { expectedAttachType: A.BPF_SK_LOOKUP }),
  d('netfilter', 'exact', P.BPF_PROG_TYPE_NETFILTER, { expectedAttachType: A.BPF_NETFILTER }),
];

/** What a section name means: its definition and the attach target after the prefix (empty when none). */
export interface SectionMatch { def: SectionDef; target: string }

/** Finds a section's definition (the first table entry that matches), or undefined for an unknown name. */
export function matchSection(name: string): SectionMatch | undefined {
  for (const def of SECTION_DEFS) {
    if (def.match === 'exact' ? name === def.name : name === def.name || name.startsWith(`${def.name}/`)) {
      return { def, target: name.length > def.name.length ? name.slice(def.name.length + 1) : '' };
    }
  }
  return undefined;
}
