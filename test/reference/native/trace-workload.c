/* A controlled workload for the bpftrace reference test and the trace benchmark: a known number of known syscalls and uprobe hits. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The fd the reads use, far from what the loader and libc open, so a tracer can filter on it. */
#define READ_FD 77

/* The uprobe target: noinline and with a side effect so every call stays a real call. */
volatile unsigned long trw_sink;
__attribute__((noinline)) unsigned long trw_work(unsigned long i) {
  trw_sink += i;
  __asm__ volatile("" ::: "memory");
  return i * 3;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Usage: trace-workload MODE N [ARGS]
 *   getppid N       N getppid(2) calls, then prints the ns per call on stderr
 *   getpid N        N getpid(2) calls
 *   read N S1 S2..  N reads from /dev/zero on fd 77, sizes cycling through S1 S2 ...
 *   uprobe N        N calls of trw_work(i), i = 0..N-1
 *   paced N         N getppid(2) calls, one per millisecond (a steady trickle of events)
 *   paced-open N    N opens (openat(2)) of /dev/null, one per millisecond
 *   sleep MS        sleeps MS milliseconds
 * Prints "pid=PID" on stdout first (and into the file $TRW_PIDFILE when set), so a tracer's
 * per-pid output can be checked; that getpid(2) is the one syscall the workload adds.
 */
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s MODE N [ARGS]\n", argv[0]); return 2; }
  const char *mode = argv[1];
  long n = strtol(argv[2], NULL, 10);
  int pid = (int)getpid();
  printf("pid=%d\n", pid);
  fflush(stdout);
  const char *pidfile = getenv("TRW_PIDFILE");
  FILE *pf = pidfile ? fopen(pidfile, "w") : NULL;
  if (pf) { fprintf(pf, "pid=%d\n", pid); fclose(pf); }
  if (strcmp(mode, "getppid") == 0 || strcmp(mode, "getpid") == 0) {
    long nr = mode[4] == 'p' ? SYS_getppid : SYS_getpid;
    double t0 = now();
    for (long i = 0; i < n; i++) syscall(nr);
    double t1 = now();
    fprintf(stderr, "ns/call=%.1f\n", (t1 - t0) * 1e9 / (n > 0 ? n : 1));
  } else if (strcmp(mode, "read") == 0) {
    int nsizes = argc - 3;
    if (nsizes < 1) { fprintf(stderr, "read needs sizes\n"); return 2; }
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0 || dup2(fd, READ_FD) < 0) { perror("/dev/zero"); return 1; }
    static char buf[1 << 20];
    for (long i = 0; i < n; i++) {
      long size = strtol(argv[3 + i % nsizes], NULL, 10);
      if (size > (long)sizeof buf) size = sizeof buf;
      if (syscall(SYS_read, READ_FD, buf, size) != size) { perror("read"); return 1; }
    }
  } else if (strcmp(mode, "uprobe") == 0) {
    for (long i = 0; i < n; i++) trw_work((unsigned long)i);
  } else if (strcmp(mode, "paced") == 0) {
    for (long i = 0; i < n; i++) { syscall(SYS_getppid); usleep(1000); }
  } else if (strcmp(mode, "paced-open") == 0) {
    for (long i = 0; i < n; i++) {
      int fd = open("/dev/null", O_RDONLY);
      if (fd >= 0) close(fd);
      usleep(1000);
    }
  } else if (strcmp(mode, "sleep") == 0) {
    usleep(n * 1000);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
