// XDP and socket programs with BTF maps, a legacy map, global data and BPF-to-BPF calls, for the ELF loader tests.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 4);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 128);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} by_len SEC(".maps");

struct inner_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 2);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, struct inner_map);
} outer SEC(".maps");

// A legacy map definition (struct bpf_map_def layout).
struct legacy_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct legacy_def legacy SEC("maps") = { BPF_MAP_TYPE_ARRAY, 4, 8, 7, 0 };

volatile __u32 drop_len = 60;          /* .data */
const volatile __u32 bonus = 5;        /* .rodata */
__u32 seen;                            /* .bss */
static volatile __u32 static_count = 3; /* .data, via the section symbol */

static __attribute__((noinline)) __u32 add_bonus(__u32 x) {
  return x + bonus;
}

__attribute__((noinline)) int frame_len(struct xdp_md *ctx) {
  return (int)(ctx->data_end - ctx->data);
}

static __attribute__((noinline)) void count(__u32 idx) {
  __u64 *v = bpf_map_lookup_elem(&counters, &idx);
  if (v) __sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_len(struct xdp_md *ctx) {
  __u32 len = (__u32)frame_len(ctx);
  seen = len;
  static_count++;
  count(len >= drop_len ? 1 : 0);
  __u32 plus = add_bonus(len);
  bpf_map_update_elem(&by_len, &len, &plus, BPF_ANY);
  return len >= drop_len ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
  return XDP_PASS;
}

SEC("socket")
int sock_len(struct __sk_buff *skb) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&legacy, &k);
  if (v) *v += skb->len;
  return add_bonus(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
