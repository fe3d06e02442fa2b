// CO-RE relocations against kernel types (task_struct, sk_buff), for the ELF loader tests: each program returns one relocated value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Local, partial views of kernel structs: CO-RE finds the members by name in the target BTF. */
struct task_struct {
  int pid;
  int tgid;
  char comm[16];
} __attribute__((preserve_access_index));

struct task_struct___missing {
  int no_such_field_in_the_kernel;
} __attribute__((preserve_access_index));

struct list_head {
  struct list_head *next, *prev;
} __attribute__((preserve_access_index));

struct sk_buff {
  unsigned int len;
  unsigned short protocol;
} __attribute__((preserve_access_index));

struct no_such_type_in_the_kernel {
  int x;
};

/* A local struct read through the packet: the load's offset is the relocated instruction. */
struct pkt_pair {
  unsigned int a;
  unsigned int b;
} __attribute__((preserve_access_index));

SEC("xdp")
int tgid_offset(struct xdp_md *ctx) { return bpf_core_field_offset(struct task_struct, tgid); }

SEC("xdp")
int comm_offset(struct xdp_md *ctx) { return bpf_core_field_offset(struct task_struct, comm); }

SEC("xdp")
int comm_size(struct xdp_md *ctx) { return bpf_core_field_size(struct task_struct, comm); }

SEC("xdp")
int skb_len_offset(struct xdp_md *ctx) { return bpf_core_field_offset(struct sk_buff, len); }

SEC("xdp")
int skb_protocol_size(struct xdp_md *ctx) { return bpf_core_field_size(struct sk_buff, protocol); }

SEC("xdp")
int field_exists(struct xdp_md *ctx) {
  return bpf_core_field_exists(struct task_struct, pid) + 2 * bpf_core_field_exists(struct task_struct___missing, no_such_field_in_the_kernel);
}

SEC("xdp")
int type_size(struct xdp_md *ctx) { return bpf_core_type_size(struct list_head); }

SEC("xdp")
int enum_value(struct xdp_md *ctx) { return bpf_core_enum_value(enum xdp_action, XDP_REDIRECT) + 10 * bpf_core_enum_value_exists(enum xdp_action, XDP_TX); }

SEC("xdp")
int type_exists(struct xdp_md *ctx) {
  return bpf_core_type_exists(struct list_head) + 2 * bpf_core_type_exists(struct no_such_type_in_the_kernel);
}

SEC("xdp")
int read_b(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct pkt_pair *p = data;
  if ((void *)(p + 1) > end) return 0;
  return p->b;
}

char LICENSE[] SEC("license") = "GPL";
