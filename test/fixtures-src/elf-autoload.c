// A program of a SEC("?...") section (libbpf: autoload off) beside an ordinary one, for the ELF loader tests.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc") int always(struct __sk_buff *skb) { return 1; }
SEC("?tc") int on_request(struct __sk_buff *skb) { return 2; }
SEC("?xdp") int xdp_on_request(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
