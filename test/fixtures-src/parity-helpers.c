// Helper parity object: tc, XDP and raw_tp programs calling the helpers the VM added (strtol/strtoul, vlan push/pop, socket lookups, hash, csum, classid, current task, change_proto/change_head) and reading the context it added (skb->sk, packet pointer bits), results in .bss.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

long strtol_res, strtol_ret;
unsigned long strtoul_res;
long strtoul_ret;

/* The packet after its 14-byte Ethernet header: flags (base) at byte 14, length at 15, the text from 16. */
SEC("tc")
int h_strtox(struct __sk_buff *skb) {
  char buf[32] = {};
  __u8 hdr[2];
  if (bpf_skb_load_bytes(skb, 14, hdr, 2)) return 0;
  if (bpf_skb_load_bytes(skb, 16, buf, sizeof(buf))) return 0;
  __u32 len = hdr[1] & 31;
  if (len == 0) len = 1;
  strtol_ret = bpf_strtol(buf, len, hdr[0], &strtol_res);
  strtoul_ret = bpf_strtoul(buf, len, hdr[0], &strtoul_res);
  return TC_ACT_OK;
}

__u32 vlan_after_push[3], vlan_after_pop[3];
long push_ret, pop_ret;

SEC("tc")
int h_vlan(struct __sk_buff *skb) {
  push_ret = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 0x2005);
  vlan_after_push[0] = skb->vlan_present;
  vlan_after_push[1] = skb->vlan_tci;
  vlan_after_push[2] = skb->vlan_proto;
  pop_ret = bpf_skb_vlan_pop(skb);
  vlan_after_pop[0] = skb->vlan_present;
  vlan_after_pop[1] = skb->vlan_tci;
  vlan_after_pop[2] = skb->protocol;
  return TC_ACT_OK;
}

long pop_only_ret;
__u32 pop_only_protocol;

SEC("tc")
int h_vlan_pop(struct __sk_buff *skb) {
  pop_only_ret = bpf_skb_vlan_pop(skb);
  pop_only_protocol = skb->protocol;
  return TC_ACT_OK;
}

long hash_nonzero, hash_stable, csum_ret, classid;

/* The kernel seeds flow hashes randomly at boot: the raw hash lives in its own map, left out of comparisons. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} seeded_hash SEC(".maps");

SEC("tc")
int h_misc(struct __sk_buff *skb) {
  __u32 h = bpf_get_hash_recalc(skb), zero = 0;
  __u32 *last = bpf_map_lookup_elem(&seeded_hash, &zero);
  if (!last) return TC_ACT_SHOT;
  hash_nonzero = h != 0;
  hash_stable = h == *last;
  *last = h;
  csum_ret = bpf_csum_update(skb, 0x1234);
  classid = bpf_get_cgroup_classid(skb);
  return TC_ACT_OK;
}

long found_family, found_type, found_protocol, found_port, found_state, skc_found, udp_found;

/* IPv4 tuple from the packet at 14: saddr, daddr, sport, dport (network order). */
SEC("tc")
int h_sk_lookup(struct __sk_buff *skb) {
  struct bpf_sock_tuple t = {};
  if (bpf_skb_load_bytes(skb, 14, &t.ipv4, sizeof(t.ipv4))) return 0;
  struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
  found_family = found_type = found_protocol = found_port = found_state = -1;
  if (sk) {
    found_family = sk->family;
    found_type = sk->type;
    found_protocol = sk->protocol;
    found_port = sk->src_port;
    found_state = sk->state;
    bpf_sk_release(sk);
  }
  struct bpf_sock *skc = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
  skc_found = skc != 0;
  if (skc) bpf_sk_release(skc);
  struct bpf_sock *u = bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
  udp_found = u != 0;
  if (u) bpf_sk_release(u);
  return sk ? 1 : 2;
}

long task_nonzero;

SEC("raw_tp/sys_enter")
int h_task(void *ctx) {
  task_nonzero = bpf_get_current_task() != 0;
  return 0;
}

/* Packet pointers' low byte, stored into the packet: the kernel's skb data sits 64 bytes into its buffer, XDP's 256. */
SEC("tc")
int h_pkt_ptr(struct __sk_buff *skb) {
  __u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (data + 8 > end) return TC_ACT_SHOT;
  data[0] = (__u8)(unsigned long)data;
  data[1] = (__u8)(unsigned long)(data + 5);
  return TC_ACT_OK;
}

SEC("xdp")
int h_xdp_ptr(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 8 > end) return XDP_DROP;
  data[0] = (__u8)(unsigned long)data;
  data[1] = (__u8)(unsigned long)(data + 5);
  return XDP_PASS;
}

long sk_present, sk_family, sk_src_ip4, sk_dst_ip4, sk_state, sk_src_port, sk_dst_port, sk_dst_ip6_3;

/* skb->sk: the test run's dummy socket, with the family and addresses of the packet's IP header. */
SEC("tc")
int h_skb_sk(struct __sk_buff *skb) {
  struct bpf_sock *sk = skb->sk;
  sk_present = sk != 0;
  if (!sk) return TC_ACT_OK;
  sk_family = sk->family;
  sk_src_ip4 = sk->src_ip4;
  sk_dst_ip4 = sk->dst_ip4;
  sk_state = sk->state;
  sk_src_port = sk->src_port;
  sk_dst_port = sk->dst_port;
  sk_dst_ip6_3 = sk->dst_ip6[3];
  return TC_ACT_OK;
}

long head_ret, head_bad_flags, head_len, head_proto;

/* Pushes an Ethernet header's room in front (zeroed), the way an L3 packet is made L2; flags are refused. */
SEC("tc")
int h_change_head(struct __sk_buff *skb) {
  head_bad_flags = bpf_skb_change_head(skb, 14, 1);
  head_ret = bpf_skb_change_head(skb, 14, 0);
  head_len = skb->len;
  head_proto = skb->protocol;
  __u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (data + 15 > end) return TC_ACT_SHOT;
  data[14] = 0xee;
  return TC_ACT_OK;
}

long proto_to6, proto_back, proto_same, proto_bad_flags, proto_len6, proto_protocol6, proto_len4;

/* IPv4 -> IPv6 (20 zero bytes after the MAC header), marked, then back; same-family and flagged calls fail. */
SEC("tc")
int h_change_proto(struct __sk_buff *skb) {
  proto_bad_flags = bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 1);
  proto_same = bpf_skb_change_proto(skb, skb->protocol, 0);
  proto_to6 = bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0);
  proto_len6 = skb->len;
  proto_protocol6 = skb->protocol;
  __u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (data + 40 > end) return TC_ACT_SHOT;
  data[14] = 0x60;
  data[39] = 0x77;
  if (skb->mark == 1) return TC_ACT_OK;
  proto_back = bpf_skb_change_proto(skb, bpf_htons(ETH_P_IP), 0);
  proto_len4 = skb->len;
  return TC_ACT_OK;
}

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, __u64);
} sk_stg SEC(".maps");

long stg_full, stg_before, stg_created, stg_again, stg_bad_flags;

/* skb->sk is a full socket; its storage is NULL until F_CREATE makes it from the value given, then the same storage. */
SEC("tc")
int h_sk_storage(struct __sk_buff *skb) {
  struct bpf_sock *sk = skb->sk;
  if (!sk) return TC_ACT_SHOT;
  struct bpf_sock *full = bpf_sk_fullsock(sk);
  stg_full = full != 0;
  if (!full) return TC_ACT_OK;
  __u64 init = 41;
  stg_before = bpf_sk_storage_get(&sk_stg, full, 0, 0) != 0;
  stg_bad_flags = bpf_sk_storage_get(&sk_stg, full, &init, 2) != 0;
  __u64 *v = bpf_sk_storage_get(&sk_stg, full, &init, BPF_SK_STORAGE_GET_F_CREATE);
  if (!v) return TC_ACT_SHOT;
  stg_created = *v;
  *v += 1;
  __u64 *w = bpf_sk_storage_get(&sk_stg, full, 0, 0);
  stg_again = w ? *w : 0;
  return TC_ACT_OK;
}

long csum_from, csum_to, csum_both, csum_seeded, csum_none, csum_from_seeded;

/* bpf_csum_diff over the packet's first words: pulling (from only), pushing (to only), diffing, with and without a seed. */
SEC("tc")
int h_csum_diff(struct __sk_buff *skb) {
  __u32 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if ((void *)(data + 6) > (void *)end) return TC_ACT_SHOT;
  csum_from = bpf_csum_diff(data, 8, 0, 0, 0);
  csum_from_seeded = bpf_csum_diff(data, 4, 0, 0, 0x12345);
  csum_to = bpf_csum_diff(0, 0, data + 2, 8, 0);
  csum_seeded = bpf_csum_diff(0, 0, data + 2, 12, 0xfedcba98);
  csum_both = bpf_csum_diff(data, 8, data + 2, 12, 0);
  csum_none = bpf_csum_diff(0, 0, 0, 0, 77);
  return TC_ACT_OK;
}

/* Created by both backends and left empty: the VM attaches nothing to cgroups, and a test run of a tc program gives it no storage. */
struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
  __type(key, struct bpf_cgroup_storage_key);
  __type(value, __u64);
} cg_store SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
