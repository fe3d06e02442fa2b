// Held-out collection object: a raw_tp/sys_enter program counting system calls by number (ctx: the tracepoint's u64 arguments).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 512);
  __type(key, __u64);
  __type(value, __u64);
} syscalls SEC(".maps");

__u64 total;

SEC("raw_tp/sys_enter")
int count_syscalls(struct bpf_raw_tracepoint_args *ctx) {
  __u64 id = ctx->args[1];
  __u64 one = 1, *c = bpf_map_lookup_elem(&syscalls, &id);
  if (c) __sync_fetch_and_add(c, 1);
  else bpf_map_update_elem(&syscalls, &id, &one, BPF_NOEXIST);
  total++;
  return id == 59 ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
