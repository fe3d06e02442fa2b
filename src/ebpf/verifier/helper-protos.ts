/** The helper prototype table: one row per kernel helper id with its argument and return types, program-type availability and GPL-only flag, read by the verifier and the VM. */

import { HELPER_FUNCS } from '../opcodes.js';
import { ProgType } from '../spec.js';

/** enum bpf_arg_type, the subset the helpers here use. */
export type ArgType =
  | 'anything' | 'map_ptr' | 'map_key' | 'map_value' | 'map_value_or_null' | 'uninit_map_value'
  | 'mem' | 'mem_or_null' | 'uninit_mem' | 'const_size' | 'const_size_or_zero' | 'const_alloc_size_or_zero'
  | 'ctx' | 'func' | 'stack_or_null' | 'ringbuf_mem' | 'sock_common' | 'btf_id_sock_common' | 'const_str'
  /** ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT of 8 bytes: strtol's result. */
  | 'uninit_long'
  /** ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED of 4 bytes: check_mtu's *mtu_len, read and written. */
  | 'u32_inout';

/** enum bpf_return_type, the subset the helpers here use. */
export type RetType = 'integer' | 'void' | 'map_value_or_null' | 'socket_or_null' | 'sock_common_or_null' | 'ringbuf_mem_or_null';

/** One helper: what the verifier checks at a call and what the VM names. */
export interface HelperProto {
  readonly id: number;
  /** Name without the `bpf_` prefix, as in enum bpf_func_id. */
  readonly name: string;
  /** Argument types of r1.. (absent: bpfkit has no prototype for it; the verifier refuses the call). */
  readonly args?: readonly ArgType[];
  readonly ret?: RetType;
  /** Availability per program type, in the column order of {@link AVAIL_TYPES}: 'o' allowed, 'g' allowed for GPL programs, '-' not allowed. */
  readonly avail: string;
  /** Returns an object the program must release (socket lookups, ringbuf reserve). */
  readonly acquire?: boolean;
  /** Argument index (0-based) that releases an acquired object. */
  readonly release?: number;
  /** Invalidates packet pointers (resizes or rewrites the packet). */
  readonly changesPkt?: boolean;
  /** Calls a subprogram: the index of its PTR_TO_FUNC argument and the callback's argument kinds. */
  readonly callback?: { arg: number; kind: 'loop' | 'for_each' };
}

/**
 * Program types whose helper availability was measured on Linux 6.18 by loading a call of every helper id
 * (`call N; r0 = 0; exit`) as root, GPL and non-GPL: the column order of `avail`.
 */
export const AVAIL_TYPES: readonly number[] = [
  ProgType.BPF_PROG_TYPE_SOCKET_FILTER, ProgType.BPF_PROG_TYPE_KPROBE, ProgType.BPF_PROG_TYPE_SCHED_CLS,
  ProgType.BPF_PROG_TYPE_SCHED_ACT, ProgType.BPF_PROG_TYPE_TRACEPOINT, ProgType.BPF_PROG_TYPE_XDP,
  ProgType.BPF_PROG_TYPE_PERF_EVENT, ProgType.BPF_PROG_TYPE_CGROUP_SKB, ProgType.BPF_PROG_TYPE_CGROUP_SOCK,
  ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ProgType.BPF_PROG_TYPE_SK_LOOKUP,
];

// Availability by helper id (index 0 = id 1), columns as AVAIL_TYPES.
const AVAIL: readonly string[] = [
'oooooooooooo', 'oooooooooooo', 'oooooooooooo', '-g--g-g--g--', 'oooooooooooo', 'gggggggggggg', 'oooooooooooo', 'oooooooooooo',
'--oo--------', '--oo--------', '--oo--------', 'oooooooooooo', '--oo--------', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo',
'oooooooooooo', '--oo--------', '--oo--------', '--oo--------', '--oo--------', 'gggggggggggg', '--oo-o------', '--oo--------',
'gggggggggggg', 'o-oo---o----', '-g--g-o--g--', '--oo-o------', '--oo--------', '--oo--------', '--oo--------', '--oo--------',
'--oo--------', '--oo--------', 'gggggggggggg', '------------', 'oooooooooooo', '--oo--------', '--oo--------', '--oo--------',
'--oo--------', 'oooooooooooo', '--oo--------', '-----o------', '-g--g-g--g--', 'o-oo---oo-o-', 'o-oo---o----', '--oo--------',
'----------o-', '--oo--------', '-----o------', '------------', '------------', '-----o------', 'gggggggggggg', '------g-----',
'----------o-', '------------', '------------', '------------', '------------', '------------', '------------', '----------o-',
'-----o------', '--oo--------', '-g--g-g--g--', 'o-oo---o----', '--gg-g------', '------------', '------------', '------------',
'------------', '------------', '------------', '------------', '------------', '------------', '--oo---o----', 'oooooooooooo',
'-------oo-o-', '------------', '--oo---o----', '--oo-o-o--o-', '--oo-o-o--o-', '--oo-o-o--oo', 'oooooooooooo', 'oooooooooooo',
'oooooooooooo', '------------', '------------', '------------', 'oooooooooooo', 'oooooooooooo', '--oo---o----', '--oo---o----',
'--oo---o----', '--oo---o----', '--oo-o-o--o-', '--gg-g------', '------------', '------------', '------------', '------------',
'oooooooooooo', 'oooooooooooo', '--oo---oo-o-', '--oo---o--o-', 'oooooooooooo', '--gg-g------', '------------', 'gggggggggggg',
'gggggggggggg', 'gggggggggggg', 'gggggggggggg', '------------', 'oooooooooooo', 'oooooooooooo', '------g-----', 'oooooooooooo',
'------------', 'o-oo---oo-o-', 'oooooooooooo', '--oo-------o', 'oooooooooooo', '------------', '------------', '-------o----',
'-------o----', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo', '--oo--------', 'o-oo-o-o--oo',
'o-oo-o-o--oo', 'o-oo-o-o--oo', 'o-oo-o-o--oo', 'o-oo-o-o--oo', 'oooooooooooo', '------------', '------------', '------------',
'------------', '------------', '------------', 'oooooooooooo', 'oooooooooooo', '------------', '--oo--------', '--oo--------',
'oooooooooooo', 'oooooooooooo', '--oo--------', 'oooooooooooo', 'oooooooooooo', 'gggggggggggg', '------------', 'o-oo-o-oo-oo',
'------------', '------------', '--gg-g------', 'oooooooooooo', 'gggggggggggg', '------------', '------------', '------------',
'gggggggggggg', 'gggggggggggg', 'gggggggggggg', 'gggggggggggg', '-g----------', '-o--o-o--o--', 'gggggggggggg', 'gggggggggggg',
'gggggggggggg', 'o-oo-o-o--oo', '------------', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo', '------------', '------------',
'------------', '--------o-o-', '--------o-o-', '-----o------', '-----o------', '-----o------', 'gggggggggggg', '--oo--------',
'------------', 'oooooooooooo', 'oooooooooooo', 'o-oo-o-o--oo', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo', 'oooooooooooo',
'oooooooooooo', 'oooooooooooo', 'oooooooooooo', '--gg-g------', '--gg-g------', '--gg-g------', '--gg-g------', 'oooooooooooo',
'oooooooooooo', 'oooooooooooo', 'oooooooooooo', 
];

/** Helpers an unprivileged program may call (bpf_base_func_proto before its CAP_BPF section, plus the skb readers). */
export const UNPRIV_HELPERS: ReadonlySet<number> = new Set([1, 2, 3, 7, 8, 12, 5, 125, 42, 130, 131, 132, 133, 134, 26, 68, 46, 47, 25]);

const A = (...a: ArgType[]): readonly ArgType[] => a;

/** Argument and return types by helper name; ids come from HELPER_FUNCS (enum bpf_func_id). */
const PROTOS: Readonly<Record<string, Omit<HelperProto, 'id' | 'name' | 'avail'>>> = {
  map_lookup_elem: { args: A('map_ptr', 'map_key'), ret: 'map_value_or_null' },
  map_update_elem: { args: A('map_ptr', 'map_key', 'map_value', 'anything'), ret: 'integer' },
  map_delete_elem: { args: A('map_ptr', 'map_key'), ret: 'integer' },
  probe_read: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  ktime_get_ns: { args: A(), ret: 'integer' },
  trace_printk: { args: A('mem', 'const_size'), ret: 'integer' },
  get_prandom_u32: { args: A(), ret: 'integer' },
  get_smp_processor_id: { args: A(), ret: 'integer' },
  skb_store_bytes: { args: A('ctx', 'anything', 'mem', 'const_size', 'anything'), ret: 'integer', changesPkt: true },
  l3_csum_replace: { args: A('ctx', 'anything', 'anything', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  l4_csum_replace: { args: A('ctx', 'anything', 'anything', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  tail_call: { args: A('ctx', 'map_ptr', 'anything'), ret: 'void' },
  get_current_pid_tgid: { args: A(), ret: 'integer' },
  get_current_uid_gid: { args: A(), ret: 'integer' },
  get_current_comm: { args: A('uninit_mem', 'const_size'), ret: 'integer' },
  get_cgroup_classid: { args: A('ctx'), ret: 'integer' },
  redirect: { args: A('anything', 'anything'), ret: 'integer' },
  perf_event_output: { args: A('ctx', 'map_ptr', 'anything', 'mem', 'const_size_or_zero'), ret: 'integer' },
  skb_load_bytes: { args: A('ctx', 'anything', 'uninit_mem', 'const_size'), ret: 'integer' },
  get_stackid: { args: A('ctx', 'map_ptr', 'anything'), ret: 'integer' },
  csum_diff: { args: A('mem_or_null', 'const_size_or_zero', 'mem_or_null', 'const_size_or_zero', 'anything'), ret: 'integer' },
  get_hash_recalc: { args: A('ctx'), ret: 'integer' },
  get_current_task: { args: A(), ret: 'integer' },
  current_task_under_cgroup: { args: A('map_ptr', 'anything'), ret: 'integer' },
  skb_pull_data: { args: A('ctx', 'anything'), ret: 'integer', changesPkt: true },
  skb_change_tail: { args: A('ctx', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  get_numa_node_id: { args: A(), ret: 'integer' },
  xdp_adjust_head: { args: A('ctx', 'anything'), ret: 'integer', changesPkt: true },
  probe_read_str: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  get_socket_cookie: { args: A('ctx'), ret: 'integer' },
  get_socket_uid: { args: A('ctx'), ret: 'integer' },
  redirect_map: { args: A('map_ptr', 'anything', 'anything'), ret: 'integer' },
  xdp_adjust_meta: { args: A('ctx', 'anything'), ret: 'integer', changesPkt: true },
  xdp_adjust_tail: { args: A('ctx', 'anything'), ret: 'integer', changesPkt: true },
  skb_load_bytes_relative: { args: A('ctx', 'anything', 'uninit_mem', 'const_size', 'anything'), ret: 'integer' },
  get_current_cgroup_id: { args: A(), ret: 'integer' },
  sk_lookup_tcp: { args: A('ctx', 'mem', 'const_size', 'anything', 'anything'), ret: 'socket_or_null', acquire: true },
  sk_lookup_udp: { args: A('ctx', 'mem', 'const_size', 'anything', 'anything'), ret: 'socket_or_null', acquire: true },
  sk_release: { args: A('btf_id_sock_common'), ret: 'integer', release: 0 },
  map_push_elem: { args: A('map_ptr', 'map_value', 'anything'), ret: 'integer' },
  map_pop_elem: { args: A('map_ptr', 'uninit_map_value'), ret: 'integer' },
  map_peek_elem: { args: A('map_ptr', 'uninit_map_value'), ret: 'integer' },
  skc_lookup_tcp: { args: A('ctx', 'mem', 'const_size', 'anything', 'anything'), ret: 'sock_common_or_null', acquire: true },
  probe_read_user: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  probe_read_kernel: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  probe_read_user_str: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  probe_read_kernel_str: { args: A('uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  jiffies64: { args: A(), ret: 'integer' },
  ktime_get_boot_ns: { args: A(), ret: 'integer' },
  ringbuf_output: { args: A('map_ptr', 'mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  ringbuf_reserve: { args: A('map_ptr', 'const_alloc_size_or_zero', 'anything'), ret: 'ringbuf_mem_or_null', acquire: true },
  ringbuf_submit: { args: A('ringbuf_mem', 'anything'), ret: 'void', release: 0 },
  ringbuf_discard: { args: A('ringbuf_mem', 'anything'), ret: 'void', release: 0 },
  ringbuf_query: { args: A('map_ptr', 'anything'), ret: 'integer' },
  ktime_get_coarse_ns: { args: A(), ret: 'integer' },
  for_each_map_elem: { args: A('map_ptr', 'func', 'stack_or_null', 'anything'), ret: 'integer', callback: { arg: 1, kind: 'for_each' } },
  snprintf: { args: A('mem_or_null', 'const_size_or_zero', 'const_str', 'mem_or_null', 'const_size_or_zero'), ret: 'integer' },
  loop: { args: A('anything', 'func', 'stack_or_null', 'anything'), ret: 'integer', callback: { arg: 1, kind: 'loop' } },
  ktime_get_tai_ns: { args: A(), ret: 'integer' },
  skb_vlan_push: { args: A('ctx', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  skb_vlan_pop: { args: A('ctx'), ret: 'integer', changesPkt: true },
  csum_update: { args: A('ctx', 'anything'), ret: 'integer' },
  strtol: { args: A('mem', 'const_size', 'anything', 'uninit_long'), ret: 'integer' },
  strtoul: { args: A('mem', 'const_size', 'anything', 'uninit_long'), ret: 'integer' },
  probe_write_user: { args: A('anything', 'mem', 'const_size'), ret: 'integer' },
  get_stack: { args: A('ctx', 'uninit_mem', 'const_size_or_zero', 'anything'), ret: 'integer' },
  send_signal: { args: A('anything'), ret: 'integer' },
  send_signal_thread: { args: A('anything'), ret: 'integer' },
  get_ns_current_pid_tgid: { args: A('anything', 'anything', 'uninit_mem', 'const_size'), ret: 'integer' },
  get_current_ancestor_cgroup_id: { args: A('anything'), ret: 'integer' },
  // The kernel returns a trusted BTF pointer; as a scalar it can still be read through probe_read (a precision gap, not a soundness one).
  get_current_task_btf: { args: A(), ret: 'integer' },
  get_func_ip: { args: A('ctx'), ret: 'integer' },
  get_attach_cookie: { args: A('ctx'), ret: 'integer' },
  strncmp: { args: A('mem', 'const_size', 'const_str'), ret: 'integer' },
  // Packet and socket helpers the VM runs for the kernel selftests (socket filter, tc, XDP), as the kernel declares them.
  clone_redirect: { args: A('ctx', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  skb_set_tunnel_key: { args: A('ctx', 'mem', 'const_size', 'anything'), ret: 'integer' },
  skb_change_type: { args: A('ctx', 'anything'), ret: 'integer' },
  fib_lookup: { args: A('ctx', 'mem', 'const_size', 'anything'), ret: 'integer' },
  sk_fullsock: { args: A('sock_common'), ret: 'socket_or_null' },
  tcp_check_syncookie: { args: A('btf_id_sock_common', 'mem', 'const_size', 'mem', 'const_size'), ret: 'integer' },
  tcp_gen_syncookie: { args: A('btf_id_sock_common', 'mem', 'const_size', 'mem', 'const_size'), ret: 'integer' },
  sk_assign: { args: A('ctx', 'btf_id_sock_common', 'anything'), ret: 'integer' },
  // RET_PTR_TO_BTF_ID_OR_NULL in the kernel; a scalar here (the program cannot read through it: stricter).
  skc_to_tcp_sock: { args: A('btf_id_sock_common'), ret: 'integer' },
  skc_to_tcp_request_sock: { args: A('btf_id_sock_common'), ret: 'integer' },
  redirect_neigh: { args: A('anything', 'mem_or_null', 'const_size_or_zero', 'anything'), ret: 'integer' },
  redirect_peer: { args: A('anything', 'anything'), ret: 'integer' },
  // *mtu_len is a u32 the helper reads and writes.
  check_mtu: { args: A('ctx', 'anything', 'u32_inout', 'anything', 'anything'), ret: 'integer' },
  xdp_get_buff_len: { args: A('ctx'), ret: 'integer' },
  xdp_load_bytes: { args: A('ctx', 'anything', 'uninit_mem', 'const_size'), ret: 'integer' },
  xdp_store_bytes: { args: A('ctx', 'anything', 'mem', 'const_size'), ret: 'integer' },
  skb_set_tstamp: { args: A('ctx', 'anything', 'anything'), ret: 'integer' },
  sk_storage_get: { args: A('map_ptr', 'btf_id_sock_common', 'map_value_or_null', 'anything'), ret: 'map_value_or_null' },
  skb_change_proto: { args: A('ctx', 'anything', 'anything'), ret: 'integer', changesPkt: true },
  skb_change_head: { args: A('ctx', 'anything', 'anything'), ret: 'integer', changesPkt: true },
};

/**
 * Rows where the measuring kernel hid a helper for a reason of its own configuration: under lockdown=integrity
 * bpf_probe_write_user is refused everywhere; the kernel's tracing protos offer it to GPL tracing programs.
 */
const AVAIL_OVERRIDES: Readonly<Record<number, string>> = { 36: '-g--g-g--g--' };

/** Every helper id of enum bpf_func_id, with the prototype bpfkit knows for it. */
export const HELPER_PROTOS: readonly HelperProto[] = HELPER_FUNCS.slice(1).map((name, i) => ({ id: i + 1, name, avail: AVAIL_OVERRIDES[i + 1] ?? AVAIL[i], ...PROTOS[name] }));

/** Prototypes by helper id. */
export const HELPER_PROTOS_BY_ID: ReadonlyMap<number, HelperProto> = new Map(HELPER_PROTOS.map((p) => [p.id, p]));

/** The helper id of a name (without `bpf_`); throws for a name enum bpf_func_id lacks, so a typo in a table fails at load. */
export function helperIdOf(name: string): number {
  const i = HELPER_FUNCS.indexOf(name);
  if (i <= 0) throw new Error(`no helper named ${name}`);
  return i;
}

/** How a program type may call a helper: 'o' yes, 'g' only when GPL, '-' no. Types not measured get the helpers every measured type has. */
export function helperAvailability(proto: HelperProto, progType: number): 'o' | 'g' | '-' {
  const col = AVAIL_TYPES.indexOf(progType);
  if (col >= 0) return proto.avail[col] as 'o' | 'g' | '-';
  if (/^[o]+$/.test(proto.avail)) return 'o';
  if (/^[g]+$/.test(proto.avail)) return 'g';
  return '-';
}
