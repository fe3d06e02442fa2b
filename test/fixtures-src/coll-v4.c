// Held-out collection object (-mcpu=v4): signed division and modulo, sign-extending loads and moves, bswap, on packet bytes from a socket filter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __s64);
} results SEC(".maps");

static void put(__u32 k, __s64 v) { bpf_map_update_elem(&results, &k, &v, BPF_ANY); }

SEC("tc")
int tc_v4(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  if (data + 16 > end) return 0;
  signed char a = *(signed char *)data;
  short b = *(short *)(data + 2);
  int c = *(int *)(data + 4);
  int d = *(int *)(data + 8);
  if (d == 0) d = 7;
  put(0, (long)a * b);
  put(1, c / d);
  put(2, c % d);
  put(3, (long)__builtin_bswap32((unsigned)c) + (__s64)(signed char)(c >> 3));
  return (c / d) & 0xff;
}

char LICENSE[] SEC("license") = "GPL";
