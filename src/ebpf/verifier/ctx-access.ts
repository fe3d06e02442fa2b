/** Which context bytes a program type may read or write, and what a read gives (the kernel's per-type `is_valid_access`). */

import { ProgType } from '../spec.js';

/** What a context read yields: a number, or a pointer into the packet or to a socket. */
export type CtxResult = 'scalar' | 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock_common_or_null' | 'socket_or_null';

/** The outcome of one access: refused, or allowed with the type the loaded register gets. */
export type CtxVerdict = { ok: false } | { ok: true; result: CtxResult };

/** Rules of one context struct. */
export interface CtxRules {
  readonly size: number;
  access(off: number, size: number, write: boolean, attachType: number | undefined, priv: boolean): CtxVerdict;
}

const NO: CtxVerdict = { ok: false };
const SCALAR: CtxVerdict = { ok: true, result: 'scalar' };
const yes = (result: CtxResult): CtxVerdict => ({ ok: true, result });

// struct __sk_buff offsets.
const SKB = {
  mark: 8, queue_mapping: 12, priority: 32, tc_index: 44, cb0: 48, cbEnd: 68, tc_classid: 72, data: 76, data_end: 80,
  family: 88, local_port: 136, data_meta: 140, flow_keys: 144, tstamp: 152, wire_len: 160, sk: 168, tstamp_type: 180, hwtstamp: 184, size: 192,
} as const;

/** Which 4-byte field an offset falls in (fields here are all 4-byte aligned). */
const field4 = (off: number): number => off & ~3;
const in8 = (off: number, at: number): boolean => off >= at && off < at + 8;

/** bpf_skb_is_valid_access: the checks every __sk_buff type shares. */
function skbCommon(off: number, size: number, write: boolean): CtxVerdict {
  if (off < 0 || off >= SKB.size || off % size !== 0) return NO;
  if (off >= SKB.cb0 && off < SKB.cbEnd) return off + size <= SKB.cbEnd ? SCALAR : NO;
  const f = field4(off);
  if (f === SKB.data || f === SKB.data_meta || f === SKB.data_end) {
    if (size !== 4 || write) return NO;
    return yes(f === SKB.data ? 'pkt' : f === SKB.data_end ? 'pkt_end' : 'pkt_meta');
  }
  if (in8(off, SKB.tstamp)) return size === 8 ? SCALAR : NO;
  if (in8(off, SKB.flow_keys)) return NO;
  if (in8(off, SKB.sk)) return !write && size === 8 && off === SKB.sk ? yes('sock_common_or_null') : NO;
  if (in8(off, SKB.hwtstamp)) return !write && size === 8 ? SCALAR : NO;
  if (off >= SKB.tstamp_type && off < SKB.hwtstamp) return NO;
  // remote_ip4 .. local_ip6: whole 4-byte words only.
  if (off >= 92 && off < 132 && size !== 4) return NO;
  if (write) return size === 4 ? SCALAR : NO;
  return size <= 4 ? SCALAR : NO;
}

function skbField(off: number, name: keyof typeof SKB): boolean {
  const at = SKB[name];
  return off >= at && off < at + (name === 'tstamp' || name === 'hwtstamp' ? 8 : 4);
}

const SOCKET_FILTER: CtxRules = {
  size: SKB.size,
  access(off, size, write) {
    if (skbField(off, 'tc_classid') || skbField(off, 'data') || skbField(off, 'data_meta') || skbField(off, 'data_end')) return NO;
    if ((off >= SKB.family && off < SKB.local_port + 4) || skbField(off, 'tstamp') || skbField(off, 'wire_len') || skbField(off, 'hwtstamp')) return NO;
    if (write && !(off >= SKB.cb0 && off < SKB.cbEnd)) return NO;
    return skbCommon(off, size, write);
  },
};

const TC_WRITABLE: readonly (keyof typeof SKB)[] = ['mark', 'tc_index', 'priority', 'tc_classid', 'tstamp', 'queue_mapping'];

const SCHED_CLS: CtxRules = {
  size: SKB.size,
  access(off, size, write) {
    if (write && !(off >= SKB.cb0 && off < SKB.cbEnd) && !TC_WRITABLE.some((n) => skbField(off, n))) return NO;
    if (off >= SKB.family && off < SKB.local_port + 4) return NO;
    return skbCommon(off, size, write);
  },
};

const CGROUP_SKB: CtxRules = {
  size: SKB.size,
  access(off, size, write, _at, priv) {
    if (skbField(off, 'tc_classid') || skbField(off, 'data_meta') || skbField(off, 'wire_len')) return NO;
    if ((skbField(off, 'data') || skbField(off, 'data_end')) && !priv) return NO;
    if (write) {
      const ok = skbField(off, 'mark') || skbField(off, 'priority') || (off >= SKB.cb0 && off < SKB.cbEnd) || (skbField(off, 'tstamp') && priv);
      if (!ok) return NO;
    }
    return skbCommon(off, size, write);
  },
};

const BPF_XDP_DEVMAP = 33;
const XDP: CtxRules = {
  size: 24,
  access(off, size, write, attachType) {
    if (off === 20 && attachType !== BPF_XDP_DEVMAP) return NO;
    if (write || off < 0 || off >= 24 || off % size !== 0 || size !== 4) return NO;
    return off === 0 ? yes('pkt') : off === 4 ? yes('pkt_end') : off === 8 ? yes('pkt_meta') : SCALAR;
  },
};

/** struct pt_regs on x86-64: 21 unsigned longs. */
const KPROBE: CtxRules = {
  size: 168,
  access(off, size, write) {
    return !write && off >= 0 && off < 168 && off % size === 0 && off + size <= 168 ? SCALAR : NO;
  },
};

/**
 * PERF_MAX_TRACE_SIZE; the first 8 bytes (the common fields' header) are not readable. The kernel compares the
 * offset with sizeof(void *) unsigned, so negative offsets pass that test (and are accepted): kept as the kernel has it.
 */
const TRACEPOINT: CtxRules = {
  size: 2048,
  access(off, size, write) {
    return !write && !(off >= 0 && off < 8) && off < 2048 && off % size === 0 ? SCALAR : NO;
  },
};

/** struct bpf_perf_event_data: pt_regs, sample_period, addr. */
const PERF_EVENT: CtxRules = {
  size: 184,
  access(off, size, write) {
    if (write || off < 0 || off >= 184 || off % size !== 0) return NO;
    if (off >= 168) return SCALAR;
    return size === 8 ? SCALAR : NO;
  },
};

/** u64 args[MAX_BPF_FUNC_ARGS]. */
const RAW_TRACEPOINT: CtxRules = {
  size: 96,
  access(off, size, write) {
    return !write && off >= 0 && off < 96 && off % size === 0 ? SCALAR : NO;
  },
};

/** struct bpf_sk_lookup. */
const SK_LOOKUP: CtxRules = {
  size: 72,
  access(off, size, write) {
    if (off < 0 || off >= 72 || off % size !== 0 || write) return NO;
    if (off < 8) return off === 0 && size === 8 ? yes('socket_or_null') : NO;
    if (off >= 36 && off < 40) {
      if (off === 36 && size === 4) return SCALAR;
      return size <= 2 ? SCALAR : NO;
    }
    return size <= 4 ? SCALAR : NO;
  },
};

/** struct bpf_sock_addr: user_family .. msg_src_ip6, then the sk pointer. */
const CGROUP_SOCK_ADDR: CtxRules = {
  size: 72,
  access(off, size, write) {
    if (off < 0 || off >= 72 || off % size !== 0) return NO;
    if (off >= 64) return !write && off === 64 && size === 8 ? yes('sock_common_or_null') : NO;
    if (off >= 60) return NO;
    if (write) return (off >= 4 && off < 28) && size === 4 ? SCALAR : NO;
    return size <= 4 ? SCALAR : NO;
  },
};

/** struct bpf_sock (cgroup_sock programs). */
const CGROUP_SOCK: CtxRules = {
  size: 80,
  access(off, size, write) {
    if (off < 0 || off >= 80 || off % size !== 0) return NO;
    if (write) return (off === 0 || off === 8 || off === 16 || off === 20) && size === 4 ? SCALAR : NO;
    return size <= 4 ? SCALAR : NO;
  },
};

/** Context rules by BPF_PROG_TYPE_*. */
export const CTX_RULES: ReadonlyMap<number, CtxRules> = new Map<number, CtxRules>([
  [ProgType.BPF_PROG_TYPE_SOCKET_FILTER, SOCKET_FILTER],
  [ProgType.BPF_PROG_TYPE_SCHED_CLS, SCHED_CLS],
  [ProgType.BPF_PROG_TYPE_SCHED_ACT, SCHED_CLS],
  [ProgType.BPF_PROG_TYPE_CGROUP_SKB, CGROUP_SKB],
  [ProgType.BPF_PROG_TYPE_XDP, XDP],
  [ProgType.BPF_PROG_TYPE_KPROBE, KPROBE],
  [ProgType.BPF_PROG_TYPE_TRACEPOINT, TRACEPOINT],
  [ProgType.BPF_PROG_TYPE_PERF_EVENT, PERF_EVENT],
  [ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, RAW_TRACEPOINT],
  [ProgType.BPF_PROG_TYPE_SK_LOOKUP, SK_LOOKUP],
  [ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, CGROUP_SOCK_ADDR],
  [ProgType.BPF_PROG_TYPE_CGROUP_SOCK, CGROUP_SOCK],
]);

/** Packet access a program type has: none, read only (cgroup_skb), or read-write (tc, XDP). */
export const PKT_ACCESS: ReadonlyMap<number, 'r' | 'rw'> = new Map<number, 'r' | 'rw'>([
  [ProgType.BPF_PROG_TYPE_SCHED_CLS, 'rw'], [ProgType.BPF_PROG_TYPE_SCHED_ACT, 'rw'], [ProgType.BPF_PROG_TYPE_XDP, 'rw'],
  [ProgType.BPF_PROG_TYPE_CGROUP_SKB, 'r'], [ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r'],
]);

/** Program types with legacy `ld_abs`/`ld_ind` (may_access_skb). */
export const LD_ABS_TYPES: ReadonlySet<number> = new Set<number>([ProgType.BPF_PROG_TYPE_SOCKET_FILTER, ProgType.BPF_PROG_TYPE_SCHED_CLS, ProgType.BPF_PROG_TYPE_SCHED_ACT]);

/** The return value range a program type must exit with, when it has one (check_return_code). */
export function returnRange(type: number, attachType: number | undefined): readonly [bigint, bigint] | undefined {
  switch (type) {
    case ProgType.BPF_PROG_TYPE_CGROUP_SKB: return attachType === 1 ? [0n, 3n] : [0n, 1n];
    case ProgType.BPF_PROG_TYPE_SK_LOOKUP:
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK:
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR: return [0n, 1n];
    default: return undefined;
  }
}
