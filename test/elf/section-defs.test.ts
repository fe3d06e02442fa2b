// Section names to program type, expected attach type and attach target, as libbpf's section_defs[] maps them.
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { AttachType, SECTION_DEFS, matchSection } from '../../src/elf/index.js';

const P = ProgType, A = AttachType;

describe('matchSection', () => {
  const cases: [string, number, number | undefined, string][] = [
    ['xdp', P.BPF_PROG_TYPE_XDP, A.BPF_XDP, ''],
    ['xdp.frags', P.BPF_PROG_TYPE_XDP, A.BPF_XDP, ''],
    ['xdp/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP, ''],
    ['socket', P.BPF_PROG_TYPE_SOCKET_FILTER, undefined, ''],
    ['tc', P.BPF_PROG_TYPE_SCHED_CLS, undefined, ''],
    ['classifier', P.BPF_PROG_TYPE_SCHED_CLS, undefined, ''],
    ['tc/ingress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_INGRESS, ''],
    ['tcx/egress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_EGRESS, ''],
    ['tracepoint/syscalls/sys_enter_openat', P.BPF_PROG_TYPE_TRACEPOINT, undefined, 'syscalls/sys_enter_openat'],
    ['tp/sched/sched_switch', P.BPF_PROG_TYPE_TRACEPOINT, undefined, 'sched/sched_switch'],
    ['raw_tracepoint/sys_enter', P.BPF_PROG_TYPE_RAW_TRACEPOINT, undefined, 'sys_enter'],
    ['raw_tp.w/bpf_test_finish', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, undefined, 'bpf_test_finish'],
    ['tp_btf/sched_switch', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_RAW_TP, 'sched_switch'],
    ['kprobe/do_sys_openat2', P.BPF_PROG_TYPE_KPROBE, undefined, 'do_sys_openat2'],
    ['kretprobe/do_sys_openat2', P.BPF_PROG_TYPE_KPROBE, undefined, 'do_sys_openat2'],
    ['kprobe.multi/vfs_*', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_MULTI, 'vfs_*'],
    ['uprobe//bin/bash:readline', P.BPF_PROG_TYPE_KPROBE, undefined, '/bin/bash:readline'],
    ['uprobe.s//bin/bash:readline', P.BPF_PROG_TYPE_KPROBE, undefined, '/bin/bash:readline'],
    ['usdt/./app:prov:probe', P.BPF_PROG_TYPE_KPROBE, undefined, './app:prov:probe'],
    ['cgroup_skb/ingress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, ''],
    ['cgroup_skb/egress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS, ''],
    ['cgroup/sock_create', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, ''],
    ['cgroup/connect4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT, ''],
    ['cgroup/getsockopt', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, A.BPF_CGROUP_GETSOCKOPT, ''],
    ['fentry/do_unlinkat', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY, 'do_unlinkat'],
    ['fexit/do_unlinkat', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT, 'do_unlinkat'],
    ['fmod_ret/security_x', P.BPF_PROG_TYPE_TRACING, A.BPF_MODIFY_RETURN, 'security_x'],
    ['lsm/file_open', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC, 'file_open'],
    ['iter/task', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_ITER, 'task'],
    ['perf_event', P.BPF_PROG_TYPE_PERF_EVENT, undefined, ''],
    ['sk_msg', P.BPF_PROG_TYPE_SK_MSG, A.BPF_SK_MSG_VERDICT, ''],
    ['sk_skb/stream_verdict', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT, ''],
    ['sockops', P.BPF_PROG_TYPE_SOCK_OPS, A.BPF_CGROUP_SOCK_OPS, ''],
    ['flow_dissector', P.BPF_PROG_TYPE_FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR, ''],
    ['sk_lookup', P.BPF_PROG_TYPE_SK_LOOKUP, A.BPF_SK_LOOKUP, ''],
    ['syscall', P.BPF_PROG_TYPE_SYSCALL, undefined, ''],
  ];
  for (const [name, type, attach, target] of cases) {
    it(name, () => {
      const m = matchSection(name);
      expect(m?.def.type).toBe(type);
      expect(m?.def.expectedAttachType).toBe(attach);
      expect(m?.target).toBe(target);
    });
  }

  it('marks return probes and sleepable variants', () => {
    expect(matchSection('kretprobe/x')?.def.ret).toBe(true);
    expect(matchSection('kprobe/x')?.def.ret).toBeUndefined();
    expect(matchSection('fentry.s/x')?.def.sleepable).toBe(true);
  });

  it('does not match unknown names or exact names with a suffix', () => {
    expect(matchSection('.text')).toBeUndefined();
    expect(matchSection('license')).toBeUndefined();
    expect(matchSection('xdpfoo')).toBeUndefined();
    expect(matchSection('perf_event/x')).toBeUndefined();
  });

  it('lists each name once', () => {
    const names = SECTION_DEFS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
