// Held-out collection object: an XDP dispatcher tail-calling a handler per IP protocol from a program array filled by `.values`.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u32 tcp_seen, udp_seen, other_seen;

SEC("xdp")
int handle_tcp(struct xdp_md *ctx) {
  tcp_seen++;
  return XDP_PASS;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx) {
  udp_seen++;
  return XDP_DROP;
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __array(values, int(void *));
} by_proto SEC(".maps") = { .values = { [IPPROTO_TCP] = (void *)&handle_tcp, [IPPROTO_UDP] = (void *)&handle_udp } };

SEC("xdp")
int dispatch(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  bpf_tail_call(ctx, &by_proto, ip->protocol);
  other_seen++;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
