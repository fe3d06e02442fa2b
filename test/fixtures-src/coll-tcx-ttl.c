// Held-out collection object: a tcx/ingress program decrementing the IPv4 TTL with bpf_skb_store_bytes and bpf_l3_csum_replace, as a router would.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* enum tcx_action_base (6.6 uapi), spelled out for older headers. */
#define TCX_NEXT_ (-1)
#define TCX_PASS_ 0
#define TCX_DROP_ 2

__u32 rewritten;

SEC("tcx/ingress")
int tcx_ttl(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return TCX_PASS_;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return TCX_DROP_;
  if (ip->ttl <= 1) return TCX_DROP_;
  __u16 old = *(__u16 *)&ip->ttl;
  __u8 ttl = ip->ttl - 1;
  bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, ttl), &ttl, 1, 0);
  data = (void *)(long)skb->data;
  end = (void *)(long)skb->data_end;
  ip = data + ETH_HLEN;
  if ((void *)(ip + 1) > end) return TCX_DROP_;
  __u16 new = *(__u16 *)&ip->ttl;
  bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new, 2);
  rewritten++;
  return TCX_NEXT_;
}

char LICENSE[] SEC("license") = "GPL";
