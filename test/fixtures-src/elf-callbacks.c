// A bpf_loop callback (a function pointer: lddw of a function), a static subprogram inside a program section, and a custom .data.* section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 step SEC(".data.steps") = 3;

static long add_step(__u32 index, void *ctx) {
  __u64 *sum = ctx;
  *sum += step;
  return 0;
}

static __attribute__((noinline)) int twice(int x) { return 2 * x; }

SEC("xdp")
int loop_sum(struct xdp_md *ctx) {
  __u64 sum = 0;
  bpf_loop(ctx->data_end - ctx->data, add_step, &sum, 0);
  return twice((int)sum);
}

char LICENSE[] SEC("license") = "GPL";
