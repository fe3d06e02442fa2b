// Held-out collection object: a tc classifier marking packets from the IPv4 TOS byte (bpf_skb_load_bytes), setting priority and cb, counting per mark.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u64);
} per_mark SEC(".maps");

SEC("tc")
int tc_mark(struct __sk_buff *skb) {
  struct iphdr ip;
  if (skb->protocol != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) return TC_ACT_SHOT;
  __u32 mark = (ip.tos >> 2) | (skb->mark << 8);
  skb->mark = mark;
  skb->priority = skb->len;
  skb->cb[0] = ip.ttl;
  skb->cb[4] = skb->cb[1] + 1;
  __u64 *c = bpf_map_lookup_elem(&per_mark, &mark), one = 1;
  if (c) *c += skb->len;
  else bpf_map_update_elem(&per_mark, &mark, &one, BPF_ANY);
  return ip.ttl <= 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
