/** eBPF opcode tables (RFC 9669 and <linux/bpf.h>): classes, sizes, modes, ALU/JMP/atomic ops, pseudo sources, helper ids. */

// Instruction classes (low 3 bits of the opcode).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

// Load/store sizes (bits 3-4).
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

// Load/store modes (bits 5-7).
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

// Operand source (bit 3) for ALU and JMP; for END it selects the byte order (TO_LE / TO_BE).
export const BPF_K = 0x00;
export const BPF_X = 0x08;
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

// ALU operations (bits 4-7).
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

// Jump operations (bits 4-7).
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
export const BPF_JCOND = 0xe0;

// Atomic operations (in imm of BPF_STX|BPF_ATOMIC).
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

// Pseudo sources of `lddw` (src field).
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
// Pseudo sources of `call` (src field).
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;
// The only BPF_JCOND source: may_goto.
export const BPF_MAY_GOTO = 0;

/** The read-only frame pointer register number. */
export const FP_REG = 10;
/** Registers a program may name: r0..r10. */
export const MAX_REG = 11;

/** The opcode of the two-slot 64-bit immediate load `lddw`. */
export const LDDW = BPF_LD | BPF_IMM | BPF_DW;

/** Class of an opcode. */
export const opClass = (code: number): number => code & 0x07;
/** Size bits of a load/store opcode. */
export const opSize = (code: number): number => code & 0x18;
/** Mode bits of a load/store opcode. */
export const opMode = (code: number): number => code & 0xe0;
/** Operation bits of an ALU/JMP opcode. */
export const opOp = (code: number): number => code & 0xf0;
/** Source bit of an ALU/JMP opcode. */
export const opSrc = (code: number): number => code & 0x08;
/** True for the ALU and ALU64 classes. */
export const isAluClass = (cls: number): boolean => cls === BPF_ALU || cls === BPF_ALU64;
/** True for the JMP and JMP32 classes. */
export const isJmpClass = (cls: number): boolean => cls === BPF_JMP || cls === BPF_JMP32;

/** Bytes moved by each size. */
export const SIZE_BYTES: Readonly<Record<number, 1 | 2 | 4 | 8>> = { [BPF_W]: 4, [BPF_H]: 2, [BPF_B]: 1, [BPF_DW]: 8 };
/** Size suffixes of the conformance mnemonics (`ldxw`, `stxdw`) and the C types llvm prints. */
export const SIZE_NAMES: Readonly<Record<number, { suffix: string; u: string; s: string }>> = {
  [BPF_B]: { suffix: 'b', u: 'u8', s: 's8' },
  [BPF_H]: { suffix: 'h', u: 'u16', s: 's16' },
  [BPF_W]: { suffix: 'w', u: 'u32', s: 's32' },
  [BPF_DW]: { suffix: 'dw', u: 'u64', s: 's64' },
};

/** One ALU operation: its conformance mnemonic and the C operator llvm prints (`r1 += r2`). */
export interface AluOp {
  op: number;
  name: string;
  /** The compound-assignment operator, or undefined for NEG/END which print differently. */
  sym?: string;
}
/** ALU operations by op bits. */
export const ALU_OPS: readonly AluOp[] = [
  { op: BPF_ADD, name: 'add', sym: '+=' },
  { op: BPF_SUB, name: 'sub', sym: '-=' },
  { op: BPF_MUL, name: 'mul', sym: '*=' },
  { op: BPF_DIV, name: 'div', sym: '/=' },
  { op: BPF_OR, name: 'or', sym: '|=' },
  { op: BPF_AND, name: 'and', sym: '&=' },
  { op: BPF_LSH, name: 'lsh', sym: '<<=' },
  { op: BPF_RSH, name: 'rsh', sym: '>>=' },
  { op: BPF_NEG, name: 'neg' },
  { op: BPF_MOD, name: 'mod', sym: '%=' },
  { op: BPF_XOR, name: 'xor', sym: '^=' },
  { op: BPF_MOV, name: 'mov', sym: '=' },
  { op: BPF_ARSH, name: 'arsh', sym: 's>>=' },
  { op: BPF_END, name: 'end' },
];
/** ALU operations by op bits. */
export const ALU_BY_OP: ReadonlyMap<number, AluOp> = new Map(ALU_OPS.map((o) => [o.op, o]));

/** One conditional jump: its conformance mnemonic and the comparison llvm prints (`if r1 s< r2`). */
export interface JmpOp {
  op: number;
  name: string;
  sym: string;
}
/** Conditional jumps by op bits (JA, CALL, EXIT, JCOND are separate forms). */
export const JMP_COND_OPS: readonly JmpOp[] = [
  { op: BPF_JEQ, name: 'jeq', sym: '==' },
  { op: BPF_JGT, name: 'jgt', sym: '>' },
  { op: BPF_JGE, name: 'jge', sym: '>=' },
  { op: BPF_JSET, name: 'jset', sym: '&' },
  { op: BPF_JNE, name: 'jne', sym: '!=' },
  { op: BPF_JSGT, name: 'jsgt', sym: 's>' },
  { op: BPF_JSGE, name: 'jsge', sym: 's>=' },
  { op: BPF_JLT, name: 'jlt', sym: '<' },
  { op: BPF_JLE, name: 'jle', sym: '<=' },
  { op: BPF_JSLT, name: 'jslt', sym: 's<' },
  { op: BPF_JSLE, name: 'jsle', sym: 's<=' },
];
/** Conditional jumps by op bits. */
export const JMP_COND_BY_OP: ReadonlyMap<number, JmpOp> = new Map(JMP_COND_OPS.map((o) => [o.op, o]));

/** One atomic operation (imm of BPF_STX|BPF_ATOMIC). */
export interface AtomicOp {
  imm: number;
  /** Conformance mnemonic after `lock` (`add`, `fetch add`, `xchg`, `cmpxchg`), or the llvm-only name. */
  name: string;
  fetch: boolean;
}
/** Atomic operations by imm. Load-acquire/store-release are recognized as data (no conformance syntax). */
export const ATOMIC_OPS: readonly AtomicOp[] = [
  { imm: BPF_ADD, name: 'add', fetch: false },
  { imm: BPF_OR, name: 'or', fetch: false },
  { imm: BPF_AND, name: 'and', fetch: false },
  { imm: BPF_XOR, name: 'xor', fetch: false },
  { imm: BPF_ADD | BPF_FETCH, name: 'fetch add', fetch: true },
  { imm: BPF_OR | BPF_FETCH, name: 'fetch or', fetch: true },
  { imm: BPF_AND | BPF_FETCH, name: 'fetch and', fetch: true },
  { imm: BPF_XOR | BPF_FETCH, name: 'fetch xor', fetch: true },
  { imm: BPF_XCHG, name: 'xchg', fetch: true },
  { imm: BPF_CMPXCHG, name: 'cmpxchg', fetch: true },
  { imm: BPF_LOAD_ACQ, name: 'load_acquire', fetch: false },
  { imm: BPF_STORE_REL, name: 'store_release', fetch: false },
];
/** Atomic operations by imm. */
export const ATOMIC_BY_IMM: ReadonlyMap<number, AtomicOp> = new Map(ATOMIC_OPS.map((o) => [o.imm, o]));

/** Names of the `lddw` pseudo sources, as the kernel headers spell them. */
export const LDDW_PSEUDO_NAMES: Readonly<Record<number, string>> = {
  [BPF_PSEUDO_MAP_FD]: 'BPF_PSEUDO_MAP_FD',
  [BPF_PSEUDO_MAP_VALUE]: 'BPF_PSEUDO_MAP_VALUE',
  [BPF_PSEUDO_BTF_ID]: 'BPF_PSEUDO_BTF_ID',
  [BPF_PSEUDO_FUNC]: 'BPF_PSEUDO_FUNC',
  [BPF_PSEUDO_MAP_IDX]: 'BPF_PSEUDO_MAP_IDX',
  [BPF_PSEUDO_MAP_IDX_VALUE]: 'BPF_PSEUDO_MAP_IDX_VALUE',
};

/**
 * Helper function names by id, exactly as `__BPF_FUNC_MAPPER` in <linux/bpf.h> lists them
 * (without the `bpf_` prefix): index = BPF_FUNC_* id. Helpers are frozen upstream; the last is 211.
 */
export const HELPER_FUNCS: readonly string[] = [
  'unspec', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'probe_read', 'ktime_get_ns',
  'trace_printk', 'get_prandom_u32', 'get_smp_processor_id', 'skb_store_bytes', 'l3_csum_replace',
  'l4_csum_replace', 'tail_call', 'clone_redirect', 'get_current_pid_tgid', 'get_current_uid_gid',
  'get_current_comm', 'get_cgroup_classid', 'skb_vlan_push', 'skb_vlan_pop', 'skb_get_tunnel_key',
  'skb_set_tunnel_key', 'perf_event_read', 'redirect', 'get_route_realm', 'perf_event_output',
  'skb_load_bytes', 'get_stackid', 'csum_diff', 'skb_get_tunnel_opt', 'skb_set_tunnel_opt',
  'skb_change_proto', 'skb_change_type', 'skb_under_cgroup', 'get_hash_recalc', 'get_current_task',
  'probe_write_user', 'current_task_under_cgroup', 'skb_change_tail', 'skb_pull_data', 'csum_update',
  'set_hash_invalid', 'get_numa_node_id', 'skb_change_head', 'xdp_adjust_head', 'probe_read_str',
  'get_socket_cookie', 'get_socket_uid', 'set_hash', 'setsockopt', 'skb_adjust_room', 'redirect_map',
  'sk_redirect_map', 'sock_map_update', 'xdp_adjust_meta', 'perf_event_read_value', 'perf_prog_read_value',
  'getsockopt', 'override_return', 'sock_ops_cb_flags_set', 'msg_redirect_map', 'msg_apply_bytes',
  'msg_cork_bytes', 'msg_pull_data', 'bind', 'xdp_adjust_tail', 'skb_get_xfrm_state', 'get_stack',
  'skb_load_bytes_relative', 'fib_lookup', 'sock_hash_update', 'msg_redirect_hash', 'sk_redirect_hash',
  'lwt_push_encap', 'lwt_seg6_store_bytes', 'lwt_seg6_adjust_srh', 'lwt_seg6_action', 'rc_repeat',
  'rc_keydown', 'skb_cgroup_id', 'get_current_cgroup_id', 'get_local_storage', 'sk_select_reuseport',
  'skb_ancestor_cgroup_id', 'sk_lookup_tcp', 'sk_lookup_udp', 'sk_release', 'map_push_elem', 'map_pop_elem',
  'map_peek_elem', 'msg_push_data', 'msg_pop_data', 'rc_pointer_rel', 'spin_lock', 'spin_unlock',
  'sk_fullsock', 'tcp_sock', 'skb_ecn_set_ce', 'get_listener_sock', 'skc_lookup_tcp', 'tcp_check_syncookie',
  'sysctl_get_name', 'sysctl_get_current_value', 'sysctl_get_new_value', 'sysctl_set_new_value', 'strtol',
  'strtoul', 'sk_storage_get', 'sk_storage_delete', 'send_signal', 'tcp_gen_syncookie', 'skb_output',
  'probe_read_user', 'probe_read_kernel', 'probe_read_user_str', 'probe_read_kernel_str', 'tcp_send_ack',
  'send_signal_thread', 'jiffies64', 'read_branch_records', 'get_ns_current_pid_tgid', 'xdp_output',
  'get_netns_cookie', 'get_current_ancestor_cgroup_id', 'sk_assign', 'ktime_get_boot_ns', 'seq_printf',
  'seq_write', 'sk_cgroup_id', 'sk_ancestor_cgroup_id', 'ringbuf_output', 'ringbuf_reserve',
  'ringbuf_submit', 'ringbuf_discard', 'ringbuf_query', 'csum_level', 'skc_to_tcp6_sock', 'skc_to_tcp_sock',
  'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock', 'skc_to_udp6_sock', 'get_task_stack',
  'load_hdr_opt', 'store_hdr_opt', 'reserve_hdr_opt', 'inode_storage_get', 'inode_storage_delete', 'd_path',
  'copy_from_user', 'snprintf_btf', 'seq_printf_btf', 'skb_cgroup_classid', 'redirect_neigh', 'per_cpu_ptr',
  'this_cpu_ptr', 'redirect_peer', 'task_storage_get', 'task_storage_delete', 'get_current_task_btf',
  'bprm_opts_set', 'ktime_get_coarse_ns', 'ima_inode_hash', 'sock_from_file', 'check_mtu',
  'for_each_map_elem', 'snprintf', 'sys_bpf', 'btf_find_by_name_kind', 'sys_close', 'timer_init',
  'timer_set_callback', 'timer_start', 'timer_cancel', 'get_func_ip', 'get_attach_cookie', 'task_pt_regs',
  'get_branch_snapshot', 'trace_vprintk', 'skc_to_unix_sock', 'kallsyms_lookup_name', 'find_vma', 'loop',
  'strncmp', 'get_func_arg', 'get_func_ret', 'get_func_arg_cnt', 'get_retval', 'set_retval',
  'xdp_get_buff_len', 'xdp_load_bytes', 'xdp_store_bytes', 'copy_from_user_task', 'skb_set_tstamp',
  'ima_file_hash', 'kptr_xchg', 'map_lookup_percpu_elem', 'skc_to_mptcp_sock', 'dynptr_from_mem',
  'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr', 'dynptr_read', 'dynptr_write',
  'dynptr_data', 'tcp_raw_gen_syncookie_ipv4', 'tcp_raw_gen_syncookie_ipv6', 'tcp_raw_check_syncookie_ipv4',
  'tcp_raw_check_syncookie_ipv6', 'ktime_get_tai_ns', 'user_ringbuf_drain', 'cgrp_storage_get',
  'cgrp_storage_delete',
];

/** The C name of a helper (`bpf_map_lookup_elem`), or undefined for an unknown id. */
export function helperName(id: number): string | undefined {
  return id > 0 && id < HELPER_FUNCS.length ? `bpf_${HELPER_FUNCS[id]}` : undefined;
}

const HELPER_IDS = new Map<string, number>(HELPER_FUNCS.map((n, i) => [`bpf_${n}`, i]));
/** The id of a helper given its C name with or without `bpf_` (`map_lookup_elem` = 1), or undefined. */
export function helperId(name: string): number | undefined {
  const id = HELPER_IDS.get(name.startsWith('bpf_') ? name : `bpf_${name}`);
  return id === undefined || id === 0 ? undefined : id;
}
