// One small program per section kind, for the section-table tests: each must load into the kernel as the type its section names.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_openat") int tp_openat(void *ctx) { return 0; }
SEC("tp/sched/sched_switch") int tp_switch(void *ctx) { return 0; }
SEC("raw_tracepoint/sys_enter") int raw_enter(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int raw_exit(void *ctx) { return 0; }
SEC("kprobe/do_unlinkat") int kp_unlink(void *ctx) { return 0; }
SEC("kretprobe/do_unlinkat") int krp_unlink(void *ctx) { return 0; }
SEC("uprobe//bin/true:main") int up_main(void *ctx) { return 0; }
SEC("usdt/./app:prov:probe") int usdt_probe(void *ctx) { return 0; }
SEC("perf_event") int on_sample(void *ctx) { return 0; }
SEC("tc") int tc_pass(struct __sk_buff *skb) { return 0; }
SEC("classifier") int cls_pass(struct __sk_buff *skb) { return 0; }
SEC("tc/ingress") int tcx_in(struct __sk_buff *skb) { return 0; }
SEC("cgroup_skb/ingress") int cg_in(struct __sk_buff *skb) { return 1; }
SEC("cgroup_skb/egress") int cg_out(struct __sk_buff *skb) { return 1; }
SEC("cgroup/sock_create") int cg_sock(struct bpf_sock *sk) { return 1; }
SEC("socket") int sock_all(struct __sk_buff *skb) { return -1; }
SEC("xdp") int xdp_drop(struct xdp_md *ctx) { return XDP_DROP; }
SEC("tp_btf/sched_switch") int btf_switch(void *ctx) { return 0; }
SEC("fentry/do_unlinkat") int fe_unlink(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
