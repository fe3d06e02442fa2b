// Helper parity object: tc and raw_tp programs calling the helpers the VM added (strtol/strtoul, vlan push/pop, socket lookups, hash, csum, classid, current task), results in .bss.
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

char LICENSE[] SEC("license") = "GPL";
