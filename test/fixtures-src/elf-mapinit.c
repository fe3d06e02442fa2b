// Map-in-map and program-array slots initialised in .maps (`.values = { [i] = &x }`), as libbpf fills them at load time.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_def {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 1);
};
struct inner_def inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_def);
} outer SEC(".maps") = { .values = { [1] = &inner_a, [3] = &inner_b } };

SEC("xdp")
int tail_target(struct xdp_md *ctx) { return XDP_DROP; }

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, int(void *));
} jumps SEC(".maps") = { .values = { [1] = (void *)&tail_target } };

SEC("xdp")
int jumper(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jumps, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
