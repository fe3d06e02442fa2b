// Held-out collection object: a tp_btf/sched_switch program (BTF-typed arguments) counting switches by preemption and previous task state.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} switches SEC(".maps");

SEC("tp_btf/sched_switch")
int on_switch(unsigned long long *ctx) {
  __u32 preempt = (__u8)ctx[0];
  __u32 prev_state = (__u32)ctx[3];
  __u32 k = preempt ? 0 : prev_state == 0 ? 1 : 2;
  __u64 *c = bpf_map_lookup_elem(&switches, &k);
  if (c) __sync_fetch_and_add(c, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
