// Held-out collection object: a socket filter keeping TCP packets whole and truncating the rest, with legacy ld_abs loads and an array of counters.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} bytes_by_proto SEC(".maps");

SEC("socket")
int sock_keep_tcp(struct __sk_buff *skb) {
  if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP) return 0;
  __u32 proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
  __u64 *c = bpf_map_lookup_elem(&bytes_by_proto, &proto);
  if (c) __sync_fetch_and_add(c, skb->len);
  return proto == IPPROTO_TCP ? skb->len : 20;
}

char LICENSE[] SEC("license") = "GPL";
