// Held-out collection object (-target bpfeb): a big-endian XDP program counting frames by their first byte; loaders must byte-swap its instructions.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u32);
} first_nibble SEC(".maps");

SEC("xdp")
int xdp_be(struct xdp_md *ctx) {
  unsigned char *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (p + 4 > end) return XDP_DROP;
  __u32 k = p[0] >> 4;
  __u32 *c = bpf_map_lookup_elem(&first_nibble, &k);
  if (c) *c += p[1] + (p[2] << 8);
  return (p[3] & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
