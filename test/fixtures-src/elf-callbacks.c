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

/* A static subprogram placed in the program's own section: not a program, but linked into the one that calls it. */
static __attribute__((noinline)) SEC("xdp") int plus_one(int x) { return x + 1; }

SEC("xdp")
int one_more(struct xdp_md *ctx) { return plus_one((int)(ctx->data_end - ctx->data)); }

SEC("xdp")
int loop_sum(struct xdp_md *ctx) {
  __u64 sum = 0;
  bpf_loop(ctx->data_end - ctx->data, add_step, &sum, 0);
  return twice((int)sum);
}

char LICENSE[] SEC("license") = "GPL";
