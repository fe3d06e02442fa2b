// Held-out collection object: CO-RE existence checks on sk_buff, whose tstamp sits in an anonymous union (libbpf resolves it to 1), returned as a bit mask.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct sk_buff {
  union {
    __s64 tstamp;
    __u64 skb_mstamp_ns;
  };
  unsigned int len;
  unsigned int no_such_field_xyz;
} __attribute__((preserve_access_index));

struct sk_buff___old {
  unsigned int nonexistent_old_field;
} __attribute__((preserve_access_index));

struct no_such_struct_xyz {
  int x;
};

__u32 mask;

SEC("xdp")
int core_mask(struct xdp_md *ctx) {
  struct sk_buff *skb = 0;
  __u32 m = 0;
  m |= bpf_core_field_exists(skb->tstamp) << 0;
  m |= bpf_core_field_exists(skb->skb_mstamp_ns) << 1;
  m |= bpf_core_field_exists(skb->len) << 2;
  m |= bpf_core_field_exists(skb->no_such_field_xyz) << 3;
  m |= bpf_core_field_exists(((struct sk_buff___old *)0)->nonexistent_old_field) << 4;
  m |= bpf_core_type_exists(struct sk_buff) << 5;
  m |= bpf_core_type_exists(struct no_such_struct_xyz) << 6;
  m |= bpf_core_field_size(skb->tstamp) << 8;
  m |= bpf_core_enum_value_exists(enum xdp_action, XDP_REDIRECT) << 16;
  mask = m;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
