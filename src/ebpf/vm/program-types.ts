/** Program types the VM runs and their contexts, laid out byte for byte like the kernel's (`__sk_buff`, `xdp_md`, `pt_regs`). */

import { ProgType } from '../spec.js';

/** How a context field reads: plain bytes, or a packet pointer made from the run's packet. */
export type CtxFieldKind = 'plain' | 'data' | 'data_end' | 'data_meta' | 'sk';

/** One field of a converted context. */
export interface CtxField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly kind: CtxFieldKind;
  /** True when the program may store to it. */
  readonly writable: boolean;
}

/** What the VM knows about a program type. */
export interface ProgramTypeInfo {
  readonly type: ProgType;
  readonly name: string;
  /** Bytes of the context struct. */
  readonly ctxSize: number;
  /** Fields of a converted context; absent when the context is plain memory (tracing types). */
  readonly fields?: readonly CtxField[];
  /** How packets come in: an skb (data at the Ethernet header for tc), XDP (with headroom), or none. */
  readonly packet?: 'skb' | 'xdp';
  /** True when `skb->data` starts at the network header in a test run (socket filters), as the kernel's test run does. */
  readonly l3Data?: boolean;
  /** Legacy `ld_abs`/`ld_ind` allowed. */
  readonly ldAbs: boolean;
  /** Packet bytes writable (tc, XDP). */
  readonly packetWritable: boolean;
}

function f(name: string, offset: number, size: number, writable = false, kind: CtxFieldKind = 'plain'): CtxField {
  return { name, offset, size, kind, writable };
}

/** `struct __sk_buff` (192 bytes); `writable` lists the fields a program may store to. */
function skbFields(writable: ReadonlySet<string>, direct: boolean): CtxField[] {
  const out: CtxField[] = [
    f('len', 0, 4), f('pkt_type', 4, 4), f('mark', 8, 4), f('queue_mapping', 12, 4), f('protocol', 16, 4),
    f('vlan_present', 20, 4), f('vlan_tci', 24, 4), f('vlan_proto', 28, 4), f('priority', 32, 4),
    f('ingress_ifindex', 36, 4), f('ifindex', 40, 4), f('tc_index', 44, 4),
    // cb[0..4] is one range: any access inside it (bpf_ctx_range_till), a u64 across two words included.
    f('cb[]', 48, 20),
    f('hash', 68, 4), f('tc_classid', 72, 4), f('napi_id', 84, 4), f('family', 88, 4), f('remote_ip4', 92, 4),
    f('local_ip4', 96, 4), f('remote_ip6', 100, 16), f('local_ip6', 116, 16), f('remote_port', 132, 4),
    f('local_port', 136, 4), f('tstamp', 152, 8), f('wire_len', 160, 4), f('gso_segs', 164, 4), f('gso_size', 176, 4),
    f('tstamp_type', 180, 1), f('hwtstamp', 184, 8), f('sk', 168, 8, false, 'sk'),
  ].map((x) => ({ ...x, writable: writable.has(x.name.replace(/\[\d\]$/, '[]')) }));
  if (direct) out.push(f('data', 76, 4, false, 'data'), f('data_end', 80, 4, false, 'data_end'), f('data_meta', 140, 4, false, 'data_meta'));
  return out;
}

/** `struct xdp_md` (24 bytes). */
const XDP_FIELDS: readonly CtxField[] = [
  f('data', 0, 4, false, 'data'), f('data_end', 4, 4, false, 'data_end'), f('data_meta', 8, 4, false, 'data_meta'),
  f('ingress_ifindex', 12, 4), f('rx_queue_index', 16, 4), f('egress_ifindex', 20, 4),
];

/** Byte offsets of `struct pt_regs` on x86-64 (21 unsigned longs), for kprobe contexts. */
export const PT_REGS = {
  r15: 0, r14: 8, r13: 16, r12: 24, bp: 32, bx: 40, r11: 48, r10: 56, r9: 64, r8: 72, ax: 80, cx: 88,
  dx: 96, si: 104, di: 112, orig_ax: 120, ip: 128, cs: 136, flags: 144, sp: 152, ss: 160,
} as const;
/** sizeof(struct pt_regs) on x86-64. */
export const PT_REGS_SIZE = 168;
/** Offsets of `struct __sk_buff` fields the VM fills in a test run. */
export const SKB = { len: 0, pkt_type: 4, mark: 8, protocol: 16, vlan_present: 20, ingress_ifindex: 36, ifindex: 40, data: 76, data_end: 80, data_meta: 140, wire_len: 160, gso_segs: 164, size: 192 } as const;
/** Offsets of `struct xdp_md`. */
export const XDP_MD = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20, size: 24 } as const;

const SOCKET_WRITABLE = new Set(['cb[]']);
const TC_WRITABLE = new Set(['cb[]', 'mark', 'priority', 'tc_index', 'tc_classid', 'queue_mapping', 'tstamp']);
/** cg_skb_is_valid_access: what a cgroup_skb program may store to. */
const CGROUP_SKB_WRITABLE = new Set(['cb[]', 'mark', 'priority', 'tstamp']);

/** The program types the VM runs, by BPF_PROG_TYPE_*. */
export const PROGRAM_TYPES: readonly ProgramTypeInfo[] = [
  { type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, name: 'socket_filter', ctxSize: SKB.size, fields: skbFields(SOCKET_WRITABLE, false), packet: 'skb', l3Data: true, ldAbs: true, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_SCHED_CLS, name: 'sched_cls', ctxSize: SKB.size, fields: skbFields(TC_WRITABLE, true), packet: 'skb', ldAbs: true, packetWritable: true },
  { type: ProgType.BPF_PROG_TYPE_SCHED_ACT, name: 'sched_act', ctxSize: SKB.size, fields: skbFields(TC_WRITABLE, true), packet: 'skb', ldAbs: true, packetWritable: true },
  { type: ProgType.BPF_PROG_TYPE_XDP, name: 'xdp', ctxSize: XDP_MD.size, fields: XDP_FIELDS, packet: 'xdp', ldAbs: false, packetWritable: true },
  // Test runs give cgroup_skb the socket filter's packet: data at the network header, no ld_abs.
  { type: ProgType.BPF_PROG_TYPE_CGROUP_SKB, name: 'cgroup_skb', ctxSize: SKB.size, fields: skbFields(CGROUP_SKB_WRITABLE, true), packet: 'skb', l3Data: true, ldAbs: false, packetWritable: false },
  // tp_btf/fentry/fexit: the context is the traced function's arguments, one u64 each.
  { type: ProgType.BPF_PROG_TYPE_TRACING, name: 'tracing', ctxSize: 0, ldAbs: false, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_KPROBE, name: 'kprobe', ctxSize: PT_REGS_SIZE, ldAbs: false, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_TRACEPOINT, name: 'tracepoint', ctxSize: 0, ldAbs: false, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, name: 'raw_tracepoint', ctxSize: 0, ldAbs: false, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_PERF_EVENT, name: 'perf_event', ctxSize: PT_REGS_SIZE + 16, ldAbs: false, packetWritable: false },
  { type: ProgType.BPF_PROG_TYPE_UNSPEC, name: 'unspec', ctxSize: 0, ldAbs: false, packetWritable: false },
];

/** Program type info by type number. */
export const PROGRAM_TYPES_BY_ID: ReadonlyMap<number, ProgramTypeInfo> = new Map(PROGRAM_TYPES.map((t) => [t.type, t]));

/** Program type info by name (`xdp`, `socket_filter`, `sched_cls`, `kprobe`, ...); `tc` and `socket` are accepted too. */
export function programTypeByName(name: string): ProgramTypeInfo | undefined {
  const n = name.toLowerCase().replace(/-/g, '_');
  const alias: Record<string, string> = { tc: 'sched_cls', socket: 'socket_filter', raw_tp: 'raw_tracepoint', tp: 'tracepoint' };
  return PROGRAM_TYPES.find((t) => t.name === (alias[n] ?? n));
}
