// Held-out collection object: a tc program choosing a per-class counter map from an array of maps and a hash of maps, both filled by `.values`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct counters {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};
struct counters class_a SEC(".maps"), class_b SEC(".maps"), class_c SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct counters);
} by_class SEC(".maps") = { .values = { [0] = &class_a, [1] = &class_b } };

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct counters);
} by_len SEC(".maps") = { .values = { [2] = &class_c } };

SEC("tc")
int tc_classify(struct __sk_buff *skb) {
  __u32 cls = skb->len > 100;
  void *inner = bpf_map_lookup_elem(&by_class, &cls);
  if (!inner) return TC_ACT_SHOT;
  __u32 slot = skb->len & 3;
  __u64 *c = bpf_map_lookup_elem(inner, &slot);
  if (c) *c += skb->len;
  __u32 two = 2;
  void *big = bpf_map_lookup_elem(&by_len, &two);
  if (big && skb->len > 200) {
    __u64 *d = bpf_map_lookup_elem(big, &slot);
    if (d) *d += 1;
  }
  return cls ? TC_ACT_OK : TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
