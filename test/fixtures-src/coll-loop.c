// Held-out collection object (-mcpu=v3): an XDP checksum of the frame with a bpf_loop callback, a global function and a bounded loop.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sum_ctx {
  struct xdp_md *xdp;
  __u32 sum;
};

static long add_word(__u32 i, void *arg) {
  struct sum_ctx *s = arg;
  void *data = (void *)(long)s->xdp->data, *end = (void *)(long)s->xdp->data_end;
  if (i >= 512) return 1;
  unsigned char *p = data + i * 2;
  if ((void *)(p + 2) > end) return 1;
  s->sum += (p[0] << 8) | p[1];
  return 0;
}

__noinline int fold(__u32 sum) {
  for (int i = 0; i < 4 && (sum >> 16); i++) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

__u32 last_sum;

SEC("xdp")
int xdp_csum(struct xdp_md *ctx) {
  struct sum_ctx s = { .xdp = ctx, .sum = 0 };
  bpf_loop(256, add_word, &s, 0);
  last_sum = fold(s.sum);
  return last_sum & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
