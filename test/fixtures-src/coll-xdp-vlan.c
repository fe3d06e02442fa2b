// Held-out collection object (-mcpu=v3): XDP that pops an 802.1Q tag with bpf_xdp_adjust_head and counts tags per VLAN id.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} per_vid SEC(".maps");

SEC("xdp")
int xdp_vlan_pop(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_8021Q)) return XDP_PASS;
  struct vlan_hdr *v = (void *)(eth + 1);
  if ((void *)(v + 1) > end) return XDP_DROP;
  __u32 vid = bpf_ntohs(v->tci) & 0xfff;
  __be16 inner = v->proto;
  __u32 slot = vid & 63;
  __u32 *n = bpf_map_lookup_elem(&per_vid, &slot);
  if (n) *n += 1;
  unsigned char macs[12];
  __builtin_memcpy(macs, eth, 12);
  if (bpf_xdp_adjust_head(ctx, 4)) return XDP_ABORTED;
  data = (void *)(long)ctx->data;
  end = (void *)(long)ctx->data_end;
  eth = data;
  if ((void *)(eth + 1) > end) return XDP_DROP;
  __builtin_memcpy(eth, macs, 12);
  eth->h_proto = inner;
  return vid > 100 ? XDP_TX : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
