/* libpcap reference helper: answers line-based requests on stdin (compile, filter, dump, validate, run, time) with libpcap's own results. */

/*
 * Protocol: one request per line, fields separated by TAB; one response per request.
 * Programs are "N code jt jf k code jt jf k ..." (decimal, space separated).
 *
 *   compile  LINKTYPE SNAPLEN OPT NETMASK EXPR   -> ok PROG | err MESSAGE
 *   compilef FILE OPT NETMASK EXPR               -> same, compiled against the opened savefile
 *   filter   FILE PROG                           -> ok VALUES ERROR (pcap_offline_filter per packet)
 *   filterx  FILE OPT NETMASK EXPR               -> same, program compiled against the savefile
 *   packets  FILE                                -> ok LINKTYPE SNAPLEN, then "p CAPLEN WIRELEN HEX" lines, then "end ERROR"
 *   dump     OPTION PROG                         -> bpf_dump(OPTION) output lines, then "end"
 *   validate PROG                                -> ok 0|1 (bpf_validate)
 *   run      WIRELEN HEX PROG                    -> ok VALUE (bpf_filter on one buffer)
 *   time     FILE REPS PROG                      -> ok NS_PER_PACKET CHECKSUM (bpf_filter over all packets x REPS)
 *   dlt      NAME                                -> ok VALUE (pcap_datalink_name_to_val; -1 when unknown)
 *   kcheck   socket|seccomp PROG                 -> ok ERRNO (0 = the kernel accepted it; SO_ATTACH_FILTER, or seccomp in a child)
 *   kseccomp NR A0 A1 A2 A3 A4 A5 PROG           -> ok INSTALL_ERRNO RESULT (a child installs the filter, calls syscall NR with
 *                                                the six arguments; RESULT is the errno it got, -1 when the call succeeded,
 *                                                -2 when the filter killed it)
 *   ctime    LINKTYPE SNAPLEN OPT NETMASK REPS EXPR -> ok NS_PER_COMPILE INSNS (pcap_compile REPS times, timed) | err MESSAGE
 *   setclear                                     -> ok (empties the in-memory packet set)
 *   setadd   FILE                                -> ok COUNT ERROR (appends the packets libpcap reads from FILE)
 *   setfilter PROG                               -> ok VALUES (pcap_offline_filter over the packet set)
 *
 * NETMASK is a dotted quad or "-" (PCAP_NETMASK_UNKNOWN). VALUES is space separated.
 */

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXFIELDS 8

static char *fields[MAXFIELDS];
static int nfields;

static void split(char *line) {
  nfields = 0;
  char *p = line;
  while (nfields < MAXFIELDS) {
    fields[nfields++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = 0;
    p = t + 1;
  }
}

/* Replaces tabs and newlines in a message so the response stays one line. */
static void print_msg(const char *m) {
  for (; *m; m++) putchar(*m == '\n' || *m == '\t' ? ' ' : *m);
}

static int parse_prog(const char *s, struct bpf_program *prog) {
  char *end;
  long n = strtol(s, &end, 10);
  if (n < 0 || n > 100000) return -1;
  prog->bf_len = (u_int)n;
  prog->bf_insns = calloc(n ? n : 1, sizeof(struct bpf_insn));
  for (long i = 0; i < n; i++) {
    prog->bf_insns[i].code = (u_short)strtoul(end, &end, 10);
    prog->bf_insns[i].jt = (u_char)strtoul(end, &end, 10);
    prog->bf_insns[i].jf = (u_char)strtoul(end, &end, 10);
    prog->bf_insns[i].k = (bpf_u_int32)strtoul(end, &end, 10);
  }
  return 0;
}

static void print_prog(const struct bpf_program *prog) {
  printf("ok\t%u", prog->bf_len);
  for (u_int i = 0; i < prog->bf_len; i++) {
    const struct bpf_insn *in = &prog->bf_insns[i];
    printf(" %u %u %u %u", in->code, in->jt, in->jf, in->k);
  }
  putchar('\n');
}

static int parse_netmask(const char *s, bpf_u_int32 *mask) {
  if (strcmp(s, "-") == 0) {
    *mask = PCAP_NETMASK_UNKNOWN;
    return 0;
  }
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) return -1;
  *mask = a.s_addr;
  return 0;
}

static void compile_on(pcap_t *p, const char *opt, const char *netmask, const char *expr) {
  bpf_u_int32 mask;
  struct bpf_program prog;
  if (parse_netmask(netmask, &mask) != 0) {
    printf("err\tbad netmask\n");
    return;
  }
  if (pcap_compile(p, &prog, expr, atoi(opt), mask) != 0) {
    printf("err\t");
    print_msg(pcap_geterr(p));
    putchar('\n');
    return;
  }
  print_prog(&prog);
  pcap_freecode(&prog);
}

static void do_compile(void) {
  if (nfields < 6) { printf("err\tbad request\n"); return; }
  char *end;
  long lt = strtol(fields[1], &end, 10);
  if (*end != 0 || end == fields[1]) lt = pcap_datalink_name_to_val(fields[1]);
  if (lt < 0) { printf("err\tunknown DLT name %s\n", fields[1]); return; }
  pcap_t *p = pcap_open_dead((int)lt, atoi(fields[2]));
  if (!p) { printf("err\tpcap_open_dead failed\n"); return; }
  compile_on(p, fields[3], fields[4], fields[5]);
  pcap_close(p);
}

static pcap_t *open_file(const char *file) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(file, errbuf);
  if (!p) {
    printf("err\t");
    print_msg(errbuf);
    putchar('\n');
  }
  return p;
}

static void do_compilef(void) {
  if (nfields < 5) { printf("err\tbad request\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (!p) return;
  compile_on(p, fields[2], fields[3], fields[4]);
  pcap_close(p);
}

static void filter_all(pcap_t *p, const struct bpf_program *prog) {
  struct pcap_pkthdr *h;
  const u_char *data;
  int rc, first = 1;
  printf("ok\t");
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    printf(first ? "%d" : " %d", pcap_offline_filter(prog, h, data));
    first = 0;
  }
  putchar('\t');
  if (rc == PCAP_ERROR) print_msg(pcap_geterr(p));
  putchar('\n');
}

static void do_filter(void) {
  if (nfields < 3) { printf("err\tbad request\n"); return; }
  struct bpf_program prog;
  if (parse_prog(fields[2], &prog) != 0) { printf("err\tbad program\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (p) {
    filter_all(p, &prog);
    pcap_close(p);
  }
  free(prog.bf_insns);
}

static void do_filterx(void) {
  if (nfields < 5) { printf("err\tbad request\n"); return; }
  bpf_u_int32 mask;
  struct bpf_program prog;
  if (parse_netmask(fields[3], &mask) != 0) { printf("err\tbad netmask\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (!p) return;
  if (pcap_compile(p, &prog, fields[4], atoi(fields[2]), mask) != 0) {
    printf("err\t");
    print_msg(pcap_geterr(p));
    putchar('\n');
  } else {
    filter_all(p, &prog);
    pcap_freecode(&prog);
  }
  pcap_close(p);
}

static void do_packets(void) {
  if (nfields < 2) { printf("err\tbad request\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (!p) return;
  printf("ok\t%d\t%d\n", pcap_datalink(p), pcap_snapshot(p));
  struct pcap_pkthdr *h;
  const u_char *data;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    printf("p\t%u\t%u\t", h->caplen, h->len);
    for (u_int i = 0; i < h->caplen; i++) printf("%02x", data[i]);
    putchar('\n');
  }
  printf("end\t");
  if (rc == PCAP_ERROR) print_msg(pcap_geterr(p));
  putchar('\n');
  pcap_close(p);
}

static void do_dump(void) {
  if (nfields < 3) { printf("err\tbad request\n"); return; }
  struct bpf_program prog;
  if (parse_prog(fields[2], &prog) != 0) { printf("err\tbad program\n"); return; }
  bpf_dump(&prog, atoi(fields[1]));
  printf("end\n");
  free(prog.bf_insns);
}

static void do_validate(void) {
  struct bpf_program prog;
  if (nfields < 2 || parse_prog(fields[1], &prog) != 0) { printf("err\tbad program\n"); return; }
  printf("ok\t%d\n", bpf_validate(prog.bf_insns, (int)prog.bf_len));
  free(prog.bf_insns);
}

static int hexval(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void do_run(void) {
  if (nfields < 4) { printf("err\tbad request\n"); return; }
  struct bpf_program prog;
  if (parse_prog(fields[3], &prog) != 0) { printf("err\tbad program\n"); return; }
  size_t n = strlen(fields[2]) / 2;
  u_char *buf = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) buf[i] = (u_char)(hexval(fields[2][2 * i]) << 4 | hexval(fields[2][2 * i + 1]));
  printf("ok\t%u\n", bpf_filter(prog.bf_insns, buf, (u_int)strtoul(fields[1], NULL, 10), (u_int)n));
  free(buf);
  free(prog.bf_insns);
}

struct pkt {
  u_char *data;
  u_int caplen, len;
};

static void do_time(void) {
  if (nfields < 4) { printf("err\tbad request\n"); return; }
  struct bpf_program prog;
  if (parse_prog(fields[3], &prog) != 0) { printf("err\tbad program\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (!p) { free(prog.bf_insns); return; }
  size_t cap = 1024, n = 0;
  struct pkt *pkts = malloc(cap * sizeof *pkts);
  struct pcap_pkthdr *h;
  const u_char *data;
  while (pcap_next_ex(p, &h, &data) == 1) {
    if (n == cap) pkts = realloc(pkts, (cap *= 2) * sizeof *pkts);
    pkts[n].data = malloc(h->caplen ? h->caplen : 1);
    memcpy(pkts[n].data, data, h->caplen);
    pkts[n].caplen = h->caplen;
    pkts[n].len = h->len;
    n++;
  }
  pcap_close(p);
  long reps = atol(fields[2]);
  unsigned long sum = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long r = 0; r < reps; r++)
    for (size_t i = 0; i < n; i++) sum += bpf_filter(prog.bf_insns, pkts[i].data, pkts[i].len, pkts[i].caplen);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("ok\t%.3f\t%lu\n", n && reps ? ns / ((double)n * reps) : 0.0, sum);
  for (size_t i = 0; i < n; i++) free(pkts[i].data);
  free(pkts);
  free(prog.bf_insns);
}

static struct pkt *set;
static size_t set_n, set_cap;

/* Times pcap_compile of one expression on a dead handle, REPS times (for benchmarks). */
static void do_ctime(void) {
  if (nfields < 7) { printf("err\tbad request\n"); return; }
  char *end;
  long lt = strtol(fields[1], &end, 10);
  if (*end != 0 || end == fields[1]) lt = pcap_datalink_name_to_val(fields[1]);
  if (lt < 0) { printf("err\tunknown DLT name %s\n", fields[1]); return; }
  bpf_u_int32 mask;
  if (parse_netmask(fields[4], &mask) != 0) { printf("err\tbad netmask\n"); return; }
  pcap_t *p = pcap_open_dead((int)lt, atoi(fields[2]));
  if (!p) { printf("err\tpcap_open_dead failed\n"); return; }
  long reps = atol(fields[5]);
  if (reps < 1) reps = 1;
  u_int len = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long r = 0; r < reps; r++) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, fields[6], atoi(fields[3]), mask) != 0) {
      printf("err\t");
      print_msg(pcap_geterr(p));
      putchar('\n');
      pcap_close(p);
      return;
    }
    len = prog.bf_len;
    pcap_freecode(&prog);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("ok\t%.1f\t%u\n", ns / reps, len);
  pcap_close(p);
}

static void do_setclear(void) {
  for (size_t i = 0; i < set_n; i++) free(set[i].data);
  set_n = 0;
  printf("ok\n");
}

static void do_setadd(void) {
  if (nfields < 2) { printf("err\tbad request\n"); return; }
  pcap_t *p = open_file(fields[1]);
  if (!p) return;
  struct pcap_pkthdr *h;
  const u_char *data;
  int rc;
  size_t before = set_n;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    if (set_n == set_cap) set = realloc(set, (set_cap = set_cap ? set_cap * 2 : 1024) * sizeof *set);
    set[set_n].data = malloc(h->caplen ? h->caplen : 1);
    memcpy(set[set_n].data, data, h->caplen);
    set[set_n].caplen = h->caplen;
    set[set_n].len = h->len;
    set_n++;
  }
  printf("ok\t%zu\t", set_n - before);
  if (rc == PCAP_ERROR) print_msg(pcap_geterr(p));
  putchar('\n');
  pcap_close(p);
}

static void do_setfilter(void) {
  struct bpf_program prog;
  if (nfields < 2 || parse_prog(fields[1], &prog) != 0) { printf("err\tbad program\n"); return; }
  printf("ok\t");
  for (size_t i = 0; i < set_n; i++) {
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.caplen = set[i].caplen;
    h.len = set[i].len;
    printf(i ? " %d" : "%d", pcap_offline_filter(&prog, &h, set[i].data));
  }
  putchar('\n');
  free(prog.bf_insns);
}

static void do_dlt(void) {
  if (nfields < 2) { printf("err\tbad request\n"); return; }
  printf("ok\t%d\n", pcap_datalink_name_to_val(fields[1]));
}

/* struct sock_fprog, without <linux/filter.h> (whose macros clash with pcap/bpf.h); struct bpf_insn has sock_filter's layout. */
struct kfprog {
  unsigned short len;
  struct bpf_insn *filter;
};

static void do_kcheck(void) {
  struct bpf_program prog;
  if (nfields < 3 || parse_prog(fields[2], &prog) != 0) { printf("err\tbad program\n"); return; }
  struct kfprog fp = { (unsigned short)prog.bf_len, prog.bf_insns };
  int err = -1;
  if (strcmp(fields[1], "socket") == 0) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    err = setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) == 0 ? 0 : errno;
    close(s);
  } else {
    /* The filter may forbid every later syscall, so the child reports through shared memory. */
    int *shared = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = -1;
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      long rc = syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &fp);
      *shared = rc == 0 ? 0 : errno;
      _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    err = *shared;
    munmap(shared, sizeof(int));
  }
  printf("ok\t%d\n", err);
  free(prog.bf_insns);
}

static void do_kseccomp(void) {
  struct bpf_program prog;
  if (nfields < 4 || parse_prog(fields[3], &prog) != 0) { printf("err\tbad program\n"); return; }
  long nr = strtol(fields[1], NULL, 10);
  unsigned long long a[6] = {0};
  char *p = fields[2];
  for (int i = 0; i < 6; i++) a[i] = strtoull(p, &p, 10);
  struct kfprog fp = { (unsigned short)prog.bf_len, prog.bf_insns };
  /* shared[0]: 1 when done; [1]: install errno; [2]: call result. The filter may block exit, so the parent kills the child. */
  volatile int *shared = mmap(NULL, 3 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  shared[0] = 0;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (syscall(SYS_seccomp, 1, 0, &fp) != 0) {
      shared[1] = errno;
    } else {
      shared[1] = 0;
      long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
      shared[2] = r == -1 ? errno : -1;
    }
    __sync_synchronize();
    shared[0] = 1;
    for (;;) syscall(SYS_exit_group, 0);
  }
  int status, dead = 0;
  /* A filter that returns SECCOMP_RET_KILL (0, also after a division by zero) kills the child before it reports. */
  for (int spins = 0; !shared[0] && spins < 200000; spins++) {
    if (waitpid(pid, &status, WNOHANG) == pid) { dead = 1; break; }
    usleep(10);
  }
  if (!dead) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  if (shared[0]) printf("ok\t%d\t%d\n", shared[1], shared[2]);
  else if (dead && WIFSIGNALED(status)) printf("ok\t0\t-2\n");
  else printf("err\tchild did not report\n");
  munmap((void *)shared, 3 * sizeof(int));
  free(prog.bf_insns);
}

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[--len] = 0;
    split(line);
    const char *cmd = fields[0];
    if (strcmp(cmd, "compile") == 0) do_compile();
    else if (strcmp(cmd, "compilef") == 0) do_compilef();
    else if (strcmp(cmd, "filter") == 0) do_filter();
    else if (strcmp(cmd, "filterx") == 0) do_filterx();
    else if (strcmp(cmd, "packets") == 0) do_packets();
    else if (strcmp(cmd, "dump") == 0) do_dump();
    else if (strcmp(cmd, "validate") == 0) do_validate();
    else if (strcmp(cmd, "run") == 0) do_run();
    else if (strcmp(cmd, "time") == 0) do_time();
    else if (strcmp(cmd, "ctime") == 0) do_ctime();
    else if (strcmp(cmd, "dlt") == 0) do_dlt();
    else if (strcmp(cmd, "kcheck") == 0) do_kcheck();
    else if (strcmp(cmd, "kseccomp") == 0) do_kseccomp();
    else if (strcmp(cmd, "setclear") == 0) do_setclear();
    else if (strcmp(cmd, "setadd") == 0) do_setadd();
    else if (strcmp(cmd, "setfilter") == 0) do_setfilter();
    else printf("err\tunknown request %s\n", cmd);
    fflush(stdout);
  }
  free(line);
  return 0;
}
