// Held-out collection object: an XDP firewall dropping UDP to a configured port, counting packets per IP protocol; .rodata config, .data and .bss globals.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 blocked_port = 53;
const volatile __u32 min_len = 34;
__u64 seen;        /* .bss */
__u32 dropped = 7; /* .data */

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u8);
  __type(value, __u64);
} by_proto SEC(".maps");

SEC("xdp")
int xdp_fw(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  seen++;
  if ((void *)(eth + 1) > end) return XDP_ABORTED;
  if (end - data < min_len) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_DROP;
  __u8 proto = ip->protocol;
  __u64 one = 1, *c = bpf_map_lookup_elem(&by_proto, &proto);
  if (c) __sync_fetch_and_add(c, 1);
  else bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST);
  if (proto != IPPROTO_UDP || ip->ihl != 5) return XDP_PASS;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > end) return XDP_DROP;
  if (udp->dest == bpf_htons(blocked_port)) {
    dropped++;
    return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
