// A program the verifier refuses (a packet read without a bounds check): its error must name the C source line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int no_bounds_check(struct xdp_md *ctx) {
  unsigned char *p = (void *)(long)ctx->data;
  return p[20] == 7 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
