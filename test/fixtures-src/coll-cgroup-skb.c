// Held-out collection object: a cgroup_skb/ingress program refusing telnet, counting allowed and refused packets (data starts at the IP header).
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u64 allowed, refused;

SEC("cgroup_skb/ingress")
int cg_no_telnet(struct __sk_buff *skb) {
  struct iphdr ip;
  struct tcphdr tcp;
  if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip))) goto allow;
  if (ip.version != 4 || ip.protocol != IPPROTO_TCP) goto allow;
  if (bpf_skb_load_bytes(skb, ip.ihl * 4, &tcp, sizeof(tcp))) goto allow;
  if (tcp.dest == bpf_htons(23)) {
    refused++;
    return 0;
  }
allow:
  allowed++;
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
