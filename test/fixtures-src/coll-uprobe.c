// Held-out collection object: a uprobe on bash's readline (binary and function in the section name) recording its first argument and caller pid.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} prompts SEC(".maps");

SEC("uprobe//bin/bash:readline")
int BPF_KPROBE(on_readline, const char *prompt) {
  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  __u64 p = (__u64)prompt;
  bpf_map_update_elem(&prompts, &pid, &p, BPF_ANY);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
