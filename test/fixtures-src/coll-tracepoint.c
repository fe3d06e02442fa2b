// Held-out collection object: a tracepoint/syscalls/sys_enter_openat program counting open flags (the tracepoint's format as its struct).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct openat_args {
  unsigned long long common;
  int nr;
  long dfd;
  long filename;
  long flags;
  long mode;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} by_flags SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct openat_args *ctx) {
  __u32 flags = ctx->flags & 0xfff, one = 1;
  __u32 *c = bpf_map_lookup_elem(&by_flags, &flags);
  if (c) *c += 1;
  else bpf_map_update_elem(&by_flags, &flags, &one, BPF_ANY);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
