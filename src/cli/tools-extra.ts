/** The rest of libbpf-tools' everyday set for `bpfkit tools` (statsnoop, biosnoop, tcplife, cpudist, ...): flags, columns and output as there. */

import { CGROUP_FLAG, TCP_STATES, UsageError, and, diskDev, diskName, hhmmss, log2Hist, lpad, num, optPid, pad, probePath, require_fs, uprobeTarget } from './tools-lib.js';
import type { Opts, Tool } from './tools-lib.js';
import type { Plain } from '../trace/index.js';

const pidFilter = (o: Opts): string | undefined => (o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined);

/** Seconds since the first event, as libbpf-tools' snoops print `-t` (`%-14.9f`). */
function sinceFirst(state: Map<string, unknown>, ns: bigint): string {
  const first = (state.get('t0') as bigint | undefined) ?? ns;
  state.set('t0', first);
  return (Number(ns - first) / 1e9).toFixed(9);
}

/** `-L`/`-D` port lists as a filter on the tracepoint's sport/dport. */
function portList(o: Opts, flag: string, field: string): string | undefined {
  const v = o.get(flag);
  if (typeof v !== 'string') return undefined;
  return `(${v.split(',').map((p) => `args.${field} == ${num(p, flag)}`).join(' || ')})`;
}

/** Soft IRQ vectors by number (include/linux/interrupt.h), as libbpf-tools names them. */
const SOFTIRQ_NAMES = ['hi', 'timer', 'net_tx', 'net_rx', 'block', 'irq_poll', 'tasklet', 'sched', 'hrtimer', 'rcu'];

/** The libc this process maps (libc-X.so or libc.so.X), as libbpf-tools' gethostlatency finds its own. */
function ownLibc(): string {
  for (const l of require_fs().readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const p = l.slice(l.indexOf('/'));
    if (l.includes('/') && /^libc(-[\d.]+\.so|\.so\.[\d.]+)$/.test(p.slice(p.lastIndexOf('/') + 1))) return p;
  }
  throw new UsageError('failed to find libc.so, please specify it with -l');
}

/** runqslower's threshold: the positional min_us, 10000 by default. */
function minUs(pos: string[]): number {
  if (pos[0] === undefined) return 10000;
  if (!/^[0-9]+$/.test(pos[0]) || Number(pos[0]) <= 0) throw new UsageError(`Invalid delay (in us): ${pos[0]}`);
  return Number(pos[0]);
}

/** An optional positional `[duration]` in seconds. */
const durationArg = (pos: string[]): number | undefined => (pos[0] !== undefined ? num(pos[0], 'duration') * 1000 : undefined);

export const EXTRA_TOOLS: Record<string, Tool> = {
  statsnoop: {
    summary: 'trace stat syscalls',
    usage: 'statsnoop [-t] [-x] [-p PID]',
    flags: [
      { short: 'p', long: 'pid', value: true, help: 'Process ID to trace' },
      { short: 't', long: 'timestamp', help: 'Include timestamp on output' },
      { short: 'x', long: 'failed', help: 'Only show failed stats' },
    ],
    template: (o) => ({ FILTER: and(pidFilter(o)) }),
    header: (o) => `${o.has('timestamp') ? pad('TIME(s)', 14) + ' ' : ''}${pad('PID', 7)} ${pad('COMM', 20)} ${pad('RET', 4)} ${pad('ERR', 4)} PATH\n`,
    onEvent(e, o, out, state) {
      if (e.type !== 'printf') return;
      const [ts, pid, ret, comm, path] = e.args;
      const r = Number(ret);
      if (o.has('failed') && r >= 0) return;
      out(`${o.has('timestamp') ? pad(sinceFirst(state, ts as bigint), 14) + ' ' : ''}${pad(String(pid), 7)} ${pad(String(comm), 20)} ${pad(r >= 0 ? r : -1, 4)} ${pad(r >= 0 ? 0 : -r, 4)} ${String(path)}\n`);
    },
  },
  biosnoop: {
    summary: 'trace block I/O',
    usage: 'biosnoop [-d DISK] [-Q] [duration]',
    flags: [
      CGROUP_FLAG,
      { short: 'd', long: 'disk', value: true, help: 'Trace this disk only' },
      { short: 'Q', long: 'queued', help: 'Include OS queued time in I/O time' },
    ],
    template: (o) => ({
      FILTER: and(typeof o.get('disk') === 'string' ? `args.dev == ${diskDev(o.get('disk') as string)}` : undefined),
      QUEUED: o.has('queued') ? '' : '// ',
    }),
    stopAfter: (_o, pos) => durationArg(pos),
    header: (o) => `${pad('TIME(s)', 11)} ${pad('COMM', 14)} ${pad('PID', 7)} ${pad('DISK', 7)} ${pad('T', 4)} ${pad('SECTOR', 10)} ${pad('BYTES', 7)} ${o.has('queued') ? lpad('QUE(ms)', 7) + ' ' : ''}${lpad('LAT(ms)', 7)}\n`,
    onEvent(e, o, out, state) {
      if (e.type !== 'printf') return;
      const [ts, pid, dev, rwbs, sector, len, q, lat, comm] = e.args;
      const first = (state.get('t0') as bigint | undefined) ?? (ts as bigint);
      state.set('t0', first);
      const queued = o.has('queued') ? `${lpad(Number(q) === -1 ? '-1.000' : (Number(q) / 1e6).toFixed(3), 7)} ` : '';
      out(`${pad((Number((ts as bigint) - first) / 1e9).toFixed(6), 11)} ${pad(String(comm).slice(0, 14), 14)} ${pad(String(pid), 7)} ${pad(diskName(Number(dev)), 7)} ${pad(String(rwbs), 4)} ${pad(String(sector), 10)} ${pad(String(len), 7)} ${queued}${lpad((Number(lat) / 1e6).toFixed(3), 7)}\n`);
    },
  },
  bitesize: {
    summary: 'summarize block device I/O size as a histogram',
    usage: 'bitesize [-T] [-c COMM] [-d DISK] [interval] [count]',
    flags: [
      { short: 'c', long: 'comm', value: true, help: 'Trace this comm only' },
      { short: 'd', long: 'disk', value: true, help: 'Trace this disk only' },
      { short: 'T', long: 'timestamp', help: 'Include timestamp on output' },
    ],
    template: (o) => {
      const comm = o.get('comm');
      // libbpf-tools compares the first characters only (a prefix of at most 16).
      const c = typeof comm === 'string' ? comm.slice(0, 16) : undefined;
      if (c !== undefined && !/^[\x20-\x7e]*$/.test(c)) throw new UsageError(`invalid comm: ${c}`);
      return {
        FILTER: and(typeof o.get('disk') === 'string' ? `args.dev == ${diskDev(o.get('disk') as string)}` : undefined,
          c ? `strncmp(comm, "${c.replace(/["\\]/g, '\\$&')}", ${c.length}) == 0` : undefined),
      };
    },
    header: () => 'Tracing block device I/O... Hit Ctrl-C to end.\n',
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      for (const e of await t.maps.get('@sizes').entries()) {
        out(`\nProcess Name = ${String(e.key[0])}\n`);
        out(log2Hist(e, 'Kbytes'));
      }
      await t.maps.get('@sizes').clear();
    },
  },
  tcplife: {
    summary: 'trace the lifespan of TCP sessions and summarize',
    usage: 'tcplife [-p PID] [-4] [-6] [-L LPORTS] [-D DPORTS] [-T] [-w]',
    flags: [
      { short: '4', long: 'ipv4', help: 'Trace IPv4 only' },
      { short: '6', long: 'ipv6', help: 'Trace IPv6 only' },
      { short: 'D', long: 'remoteport', value: true, help: 'Comma-separated list of remote ports to trace.' },
      { short: 'L', long: 'localport', value: true, help: 'Comma-separated list of local ports to trace.' },
      { short: 'p', long: 'pid', value: true, help: 'Process ID to trace' },
      { short: 'T', long: 'time', help: 'Include timestamp on output' },
      { short: 'w', long: 'wide', help: 'Wide column output (fits IPv6 addresses)' },
    ],
    template: (o) => ({
      FILTER: and(o.has('ipv4') ? 'args.family == 2' : undefined, o.has('ipv6') ? 'args.family == 10' : undefined, portList(o, 'remoteport', 'dport'), portList(o, 'localport', 'sport')),
      PID: and(pidFilter(o)),
    }),
    header: (o) => {
      const w = o.has('wide') ? 39 : 15;
      return `${o.has('time') ? pad('TIME(s)', 8) + ' ' : ''}${pad('PID', 7)} ${pad('COMM', 16)} ${pad('LADDR', w)} ${pad('LPORT', 5)} ${pad('RADDR', w)} ${pad('RPORT', 5)} ${pad('TX_KB', 6)} ${pad('RX_KB', 6)} MS\n`;
    },
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [pid, family, sport, dport, tx, rx, spanUs, comm, s4, d4, s6, d6] = e.args;
      // With -p the close may come from another task; libbpf-tools then drops it (its owner is the one that connected).
      if (o.has('pid') && Number(pid) !== num(o.get('pid'), 'pid')) return;
      const w = o.has('wide') ? 39 : 15;
      const v6 = Number(family) === 10;
      out(`${o.has('time') ? lpad(hhmmss(), 8) + ' ' : ''}${pad(String(pid), 7)} ${pad(String(comm), 16)} ${pad(String(v6 ? s6 : s4), w)} ${pad(String(sport), 5)} ${pad(String(v6 ? d6 : d4), w)} ${pad(String(dport), 5)} ${pad((Number(tx) / 1024).toFixed(2), 6)} ${pad((Number(rx) / 1024).toFixed(2), 6)} ${(Number(spanUs) / 1000).toFixed(2)}\n`);
    },
  },
  tcpretrans: {
    summary: 'trace TCP retransmits',
    usage: 'tcpretrans [-s] [-c] [-4 | -6]',
    flags: [
      { short: 's', long: 'sequence', help: 'display TCP sequence numbers' },
      { short: 'l', long: 'lossprobe', help: 'include tail loss probe attempts (needs a kprobe: not on this kernel)' },
      { short: 'c', long: 'count', help: 'count occurred retransmits per flow' },
      { short: '4', long: 'ipv4', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', help: 'trace IPv6 family only' },
    ],
    check(o) {
      if (o.has('lossprobe')) throw new UsageError('-l needs a kprobe on tcp_send_loss_probe, which this kernel cannot attach (no kprobes)');
      if (o.has('ipv4') && o.has('ipv6')) throw new UsageError('argument -6/--ipv6: not allowed with argument -4/--ipv4');
    },
    template: (o) => ({
      FILTER: and(o.has('ipv4') ? 'args.family == 2' : undefined, o.has('ipv6') ? 'args.family == 10' : undefined),
      EVENTS: o.has('count') ? '// ' : '',
      COUNT: o.has('count') ? '' : '// ',
    }),
    header: (o) => (o.has('count') ? 'Tracing retransmits ... Hit Ctrl-C to end\n'
      : `Tracing retransmits ... Hit Ctrl-C to end\n${pad('TIME', 8)} ${pad('PID', 7)} ${pad('IP', 2)} ${pad('LADDR:LPORT', 20)} T> ${pad('RADDR:RPORT', 20)}${o.has('sequence') ? ` ${pad('STATE', 12)} ${pad('SEQ', 10)}` : ` ${pad('STATE', 4)}`}\n`),
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [pid, family, sport, dport, state, seq, s4, d4, s6, d6] = e.args;
      const v6 = Number(family) === 10;
      const st = TCP_STATES[Number(state)] ?? String(state);
      out(`${pad(hhmmss(), 8)} ${pad(String(pid), 7)} ${pad(v6 ? 6 : 4, 2)} ${pad(`${String(v6 ? s6 : s4)}:${String(sport)}`, 20)} R> ${pad(`${String(v6 ? d6 : d4)}:${String(dport)}`, 20)}${o.has('sequence') ? ` ${pad(st, 12)} ${String(seq)}` : ` ${st}`}\n`);
    },
    async summary_(t, o, out) {
      if (!o.has('count')) return;
      out(`\n${pad('LADDR:LPORT', 25)} ${pad('RADDR:RPORT', 25)} ${pad('RETRANSMITS', 10)}\n`);
      // bcc prints the IPv4 flows, then the IPv6 ones, each by increasing count.
      const rows = (await t.maps.get('@count').entries()).map((e) => ({ k: e.key.map(String), n: e.value as bigint }))
        .sort((a, b) => Number(a.k[0].includes(':')) - Number(b.k[0].includes(':')) || Number(a.n - b.n));
      for (const r of rows) out(`${pad(`[${r.k[0]}]#${r.k[1]}`, 20)} <-> ${pad(`[${r.k[2]}]#${r.k[3]}`, 20)} ${lpad(r.n, 10)}\n`);
    },
  },
  cpudist: {
    summary: 'summarize on-CPU time per task as a histogram',
    usage: 'cpudist [-O] [-T] [-m] [-P] [-L] [-p PID] [interval] [count]',
    flags: [
      CGROUP_FLAG,
      { short: 'L', long: 'tids', help: 'Print a histogram per thread ID' },
      { short: 'm', long: 'milliseconds', help: 'Millisecond histogram' },
      { short: 'O', long: 'offcpu', help: 'Measure off-CPU time' },
      { short: 'p', long: 'pid', value: true, help: 'Trace this PID only' },
      { short: 'P', long: 'pids', help: 'Print a histogram per process ID' },
      { short: 'T', long: 'timestamp', help: 'Include timestamp on output' },
    ],
    template: (o) => {
      const pid = o.has('pid') ? num(o.get('pid'), 'pid') : undefined;
      const key = (t: string): string => (o.has('pids') ? `${t}->tgid` : o.has('tids') ? `${t}->pid` : '-1');
      return {
        ONCPU: o.has('offcpu') ? '// ' : '',
        OFFCPU: o.has('offcpu') ? '' : '// ',
        FILTER_PREV: pid !== undefined ? `$prev->tgid == ${pid}` : '1',
        FILTER_NEXT: pid !== undefined ? `$next->tgid == ${pid}` : '1',
        KEY_PREV: key('$prev'),
        KEY_NEXT: key('$next'),
        UNIT: o.has('milliseconds') ? '1000000' : '1000',
      };
    },
    header: (o) => `Tracing ${o.has('offcpu') ? 'off' : 'on'}-CPU time... Hit Ctrl-C to end.\n`,
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      const comms = new Map((await t.maps.get('@comm').entries()).map((e) => [String(e.key[0]), String(e.value)]));
      for (const e of await t.maps.get('@lat').entries()) {
        if (o.has('pids')) out(`\npid = ${String(e.key[0])} ${comms.get(String(e.key[0])) ?? ''}\n`);
        else if (o.has('tids')) out(`\ntid = ${String(e.key[0])} ${comms.get(String(e.key[0])) ?? ''}\n`);
        out(log2Hist(e, o.has('milliseconds') ? 'msecs' : 'usecs'));
      }
      await t.maps.get('@lat').clear();
      await t.maps.get('@comm').clear();
    },
  },
  offcputime: {
    summary: 'summarize off-CPU time by stack trace',
    usage: 'offcputime [-p PID | -u | -k] [-m MIN-BLOCK-TIME] [-M MAX-BLOCK-TIME] [--state] [--perf-max-stack-depth] [--stack-storage-size] [duration]',
    flags: [
      { short: 'k', long: 'kernel-threads-only', help: 'Kernel threads only (no user threads)' },
      { short: 'm', long: 'min-block-time', value: true, help: 'the amount of time in microseconds over which we store traces (default 1)' },
      { short: 'M', long: 'max-block-time', value: true, help: 'the amount of time in microseconds under which we store traces (default U64_MAX)' },
      { long: 'perf-max-stack-depth', value: true, help: 'the limit for both kernel and user stack traces (default 127)' },
      { short: 'p', long: 'pid', value: true, help: 'Trace this PID only' },
      { long: 'stack-storage-size', value: true, help: 'the number of unique stack traces that can be stored and displayed (default 1024)' },
      { long: 'state', value: true, help: 'filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE) see include/linux/sched.h' },
      { short: 't', long: 'tid', value: true, help: 'Trace this TID only' },
      { short: 'u', long: 'user-threads-only', help: 'User threads only (no kernel threads)' },
      { short: 'v', long: 'verbose', help: 'Verbose debug output' },
    ],
    check(o) {
      if (o.has('user-threads-only') && o.has('kernel-threads-only')) throw new UsageError('user_threads_only and kernel_threads_only cannot be used together.');
      if (o.has('perf-max-stack-depth')) num(o.get('perf-max-stack-depth'), 'perf-max-stack-depth');
      if (o.has('stack-storage-size')) num(o.get('stack-storage-size'), 'stack-storage-size');
    },
    template: (o) => ({
      // PF_KTHREAD is 0x00200000 (include/linux/sched.h).
      FILTER: and(o.has('pid') ? `$prev->tgid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('tid') ? `$prev->pid == ${num(o.get('tid'), 'tid')}` : undefined,
        o.has('user-threads-only') ? '($prev->flags & 0x200000) == 0' : undefined, o.has('kernel-threads-only') ? '($prev->flags & 0x200000) != 0' : undefined,
        o.has('state') ? `$prev->__state == ${num(o.get('state'), 'state')}` : undefined),
      MIN: String(o.has('min-block-time') ? num(o.get('min-block-time'), 'min-block-time') : 1),
      MAX: o.has('max-block-time') ? String(num(o.get('max-block-time'), 'max-block-time')) : '0xffffffffffffffff',
    }),
    stopAfter: (_o, pos) => durationArg(pos),
    header: () => '',
    async summary_(t, o, out) {
      for (const e of await t.maps.get('@off').entries()) {
        const [k, u, pid, comm] = e.key;
        const frames = (text: Plain, user: boolean): string[] => String(text).split('\n').map((l) => l.trim()).filter((l) => l)
          .map((l) => (l.startsWith('0x') ? (user ? '[unknown]' : 'unknown') : l.replace(/\+\d+$/, '')));
        let s = '';
        for (const f of [...frames(k, false), ...frames(u, true)]) s += `    ${f}\n`;
        out(`${s}    ${pad('-', 16)} ${String(comm)} (${String(pid)})\n        ${String(e.value)}\n\n`);
      }
    },
  },
  hardirqs: {
    summary: 'summarize hard irq event time as histograms',
    usage: 'hardirqs [-T] [-N] [-d] [-C] [interval] [count]',
    flags: [
      CGROUP_FLAG,
      { short: 'C', long: 'count', help: 'Show event counts instead of timing' },
      { short: 'd', long: 'distributed', help: 'Show distributions as histograms' },
      { short: 'N', long: 'nanoseconds', help: 'Output in nanoseconds' },
      { short: 'T', long: 'timestamp', help: 'Include timestamp on output' },
    ],
    template: (o) => ({
      COUNT: o.has('count') ? '' : '// ',
      TIME: o.has('count') ? '// ' : '',
      SUM: o.has('distributed') ? '// ' : '',
      DIST: o.has('distributed') ? '' : '// ',
      UNIT: o.has('nanoseconds') ? '1' : '1000',
    }),
    header: (o) => `Tracing hard irq ${o.has('count') ? 'events' : 'event time'}... Hit Ctrl-C to end.\n`,
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      const units = o.has('nanoseconds') ? 'nsecs' : 'usecs';
      const map = o.has('count') ? '@count' : o.has('distributed') ? '@dist' : '@total';
      if (o.has('count')) out(`${pad('HARDIRQ', 26)} ${lpad('TOTAL_count', 11)}\n`);
      else if (!o.has('distributed')) out(`${pad('HARDIRQ', 26)} ${lpad('TOTAL_', 6)}${lpad(units, 5)}\n`);
      for (const e of await t.maps.get(map).entries()) {
        if (o.has('distributed')) out(`hardirq = ${String(e.key[0])}\n${log2Hist(e, units)}`);
        else out(`${pad(String(e.key[0]), 26)} ${lpad(String(e.value), 11)}\n`);
      }
      await t.maps.get(map).clear();
    },
  },
  softirqs: {
    summary: 'summarize soft irq event time as histograms',
    usage: 'softirqs [-T] [-N] [-d] [interval] [count]',
    flags: [
      { short: 'd', long: 'distributed', help: 'Show distributions as histograms' },
      { short: 'N', long: 'nanoseconds', help: 'Output in nanoseconds' },
      { short: 'T', long: 'timestamp', help: 'Include timestamp on output' },
    ],
    template: (o) => ({
      SUM: o.has('distributed') ? '// ' : '',
      DIST: o.has('distributed') ? '' : '// ',
      UNIT: o.has('nanoseconds') ? '1' : '1000',
    }),
    header: () => 'Tracing soft irq event time... Hit Ctrl-C to end.\n',
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      const units = o.has('nanoseconds') ? 'nsecs' : 'usecs';
      const map = o.has('distributed') ? '@dist' : '@total';
      // In vector order, as libbpf-tools walks its array.
      const entries = (await t.maps.get(map).entries()).sort((a, b) => Number(BigInt(a.key[0] as bigint) - BigInt(b.key[0] as bigint)));
      if (!o.has('distributed')) out(`${pad('SOFTIRQ', 16)} ${lpad('TOTAL_', 6)}${lpad(units, 5)}\n`);
      for (const e of entries) {
        const name = SOFTIRQ_NAMES[Number(e.key[0])];
        if (o.has('distributed')) out(`softirq = ${name}\n${log2Hist(e, units)}\n`);
        else if (BigInt(e.value as bigint) > 0n) out(`${pad(name, 16)} ${lpad(String(e.value), 11)}\n`);
      }
      await t.maps.get(map).clear();
    },
  },
  funclatency: {
    summary: 'time functions and print latency as a histogram',
    usage: 'funclatency [-m|-u] [-p PID] [-d DURATION] [-i INTERVAL] [-T] FUNCTION',
    flags: [
      CGROUP_FLAG,
      { short: 'm', long: 'milliseconds', help: 'Output in milliseconds' },
      { short: 'u', long: 'microseconds', help: 'Output in microseconds' },
      { short: 'p', long: 'pid', value: true, help: 'Process ID to trace' },
      { short: 'd', long: 'duration', value: true, help: 'Duration to trace' },
      { short: 'i', long: 'interval', value: true, help: 'Summary interval in seconds' },
      { short: 'T', long: 'timestamp', help: 'Print timestamp' },
    ],
    check(o, pos) {
      if (pos.length !== 1) throw new UsageError('Need a function to trace');
      if (o.has('milliseconds') && o.has('microseconds')) throw new UsageError('only set one of -m or -u');
    },
    template: (o, pos) => {
      const t = uprobeTarget(pos[0], optPid(o));
      return { TARGET: `${probePath(t.path)}:${t.func}`, FILTER: and(pidFilter(o)), UNIT: o.has('milliseconds') ? '1000000' : o.has('microseconds') ? '1000' : '1' };
    },
    options: (o) => (o.has('pid') ? { pid: num(o.get('pid'), 'pid') } : {}),
    header: (_o, pos) => `Tracing ${pos[0]}.  Hit Ctrl-C to exit\n`,
    interval: (o) => ({ ms: o.has('interval') ? num(o.get('interval'), 'interval') * 1000 : 0, count: 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      const unit = o.has('milliseconds') ? 'msec' : o.has('microseconds') ? 'usec' : 'nsec';
      for (const e of await t.maps.get('@lat').entries()) out(log2Hist(e, unit));
      await t.maps.get('@lat').clear();
    },
    footer: (_o, pos) => `Exiting trace of ${pos[0]}\n`,
  },
  funccount: {
    summary: 'count function calls (user functions LIB:FUNC, tracepoints t:CAT:NAME)',
    usage: 'funccount [-p PID] [-i INTERVAL] [-d DURATION] [-T] pattern',
    flags: [
      { short: 'p', long: 'pid', value: true, help: 'trace this PID only' },
      { short: 'i', long: 'interval', value: true, help: 'summary interval, seconds' },
      { short: 'd', long: 'duration', value: true, help: 'total duration of trace, seconds' },
      { short: 'T', long: 'timestamp', help: 'include timestamp on output' },
    ],
    check(_o, pos) {
      if (pos.length !== 1) throw new UsageError('the following arguments are required: pattern');
    },
    template: (o, pos) => {
      const pat = pos[0];
      if (pat.startsWith('t:')) {
        const [cat, name] = pat.slice(2).split(':');
        if (!cat || !name || !/^[\w*]+$/.test(cat) || !/^[\w*]+$/.test(name)) throw new UsageError(`invalid tracepoint: ${pat}`);
        return { PROBES: `tracepoint:${cat}:${name}`, FILTER: and(pidFilter(o)) };
      }
      if (pat.startsWith('u:')) throw new UsageError('USDT probes: use bpfkit trace with usdt:… probes');
      const spec = pat.startsWith('p:') ? pat.slice(2) : pat;
      const t = uprobeTarget(spec, optPid(o));
      return { PROBES: `uprobe:${probePath(t.path)}:${t.func}`, FILTER: and(pidFilter(o)) };
    },
    options: (o) => (o.has('pid') ? { pid: num(o.get('pid'), 'pid') } : {}),
    header: (_o, pos) => `Tracing functions for "${pos[0] ?? ''}"... Hit Ctrl-C to end.\n`,
    interval: (o) => ({ ms: o.has('interval') ? num(o.get('interval'), 'interval') * 1000 : 0, count: 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      out(`${pad('FUNC', 36)} ${lpad('COUNT', 8)}\n`);
      // bcc prints by increasing count, the function (or tracepoint) name alone.
      const rows = (await t.maps.get('@count').entries()).map((e) => ({ name: String(e.key[0]).split(':').pop() ?? '', n: e.value as bigint })).sort((a, b) => Number(a.n - b.n));
      for (const r of rows) out(`${pad(r.name, 36)} ${lpad(r.n, 8)}\n`);
      await t.maps.get('@count').clear();
    },
    footer: () => 'Detaching...\n',
  },
  bashreadline: {
    summary: 'print entered bash commands from all running shells',
    usage: 'bashreadline [-s <path/to/libreadline.so>]',
    flags: [{ short: 's', long: 'shared', value: true, help: 'the location of libreadline.so library' }],
    template: (o) => {
      const lib = o.get('shared');
      // readline is in bash itself unless bash links libreadline (then -s names it), as libbpf-tools looks for it.
      const target = typeof lib === 'string' ? lib : uprobeTarget('bash:readline', undefined).path;
      if (!require_fs().existsSync(target)) throw new UsageError(`${target} not found`);
      return { TARGET: probePath(target) };
    },
    header: () => `${pad('TIME', 9)} ${pad('PID', 7)} COMMAND\n`,
    onEvent(e, _o, out) {
      if (e.type !== 'printf') return;
      const [pid, line] = e.args;
      // libbpf-tools formats the time with "%H:%m:%S" (the month, not the minutes): kept, for scripts that parse it.
      const d = new Date();
      const two = (n: number): string => String(n).padStart(2, '0');
      out(`${pad(`${two(d.getHours())}:${two(d.getMonth() + 1)}:${two(d.getSeconds())}`, 9)} ${pad(String(pid), 7)} ${String(line)}\n`);
    },
  },
  gethostlatency: {
    summary: 'show latency for getaddrinfo/gethostbyname[2] calls',
    usage: 'gethostlatency [-p PID] [-l LIBC]',
    flags: [
      { short: 'l', long: 'libc', value: true, help: 'Specify which libc.so to use' },
      { short: 'p', long: 'pid', value: true, help: 'Process ID to trace' },
    ],
    template: (o) => {
      const given = o.get('libc');
      if (typeof given === 'string' && !require_fs().existsSync(given)) throw new UsageError(`Invalid libc: ${given}`);
      return { LIBC: probePath(typeof given === 'string' ? given : ownLibc()), FILTER: and(pidFilter(o)) };
    },
    header: () => `${pad('TIME', 8)} ${pad('PID', 7)} ${pad('COMM', 16)} ${pad('LATms', 10)} HOST\n`,
    onEvent(e, _o, out) {
      if (e.type !== 'printf') return;
      const [pid, ns, comm, host] = e.args;
      out(`${pad(hhmmss(), 8)} ${pad(String(pid), 7)} ${pad(String(comm), 16)} ${pad((Number(ns) / 1e6).toFixed(3), 10)} ${String(host)}\n`);
    },
  },
  runqslower: {
    summary: 'trace high run queue latency',
    usage: 'runqslower [-p PID] [-t TID] [-P] [min_us]',
    flags: [
      { short: 'p', long: 'pid', value: true, help: 'Process PID to trace' },
      { short: 'P', long: 'previous', help: 'also show previous task name and TID' },
      { short: 't', long: 'tid', value: true, help: 'Thread TID to trace' },
    ],
    template: (o, pos) => {
      const f = (t: string): string => and(o.has('pid') ? `${t}->tgid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('tid') ? `${t}->pid == ${num(o.get('tid'), 'tid')}` : undefined);
      return { FILTER_P: f('$p'), FILTER_PREV: f('$prev'), MIN: String(minUs(pos)) };
    },
    header: (o, pos) => `Tracing run queue latency higher than ${minUs(pos)} us\n${o.has('previous') ? `${pad('TIME', 8)} ${pad('COMM', 16)} ${pad('TID', 6)} ${lpad('LAT(us)', 14)} ${pad('PREV COMM', 16)} ${pad('PREV TID', 6)}` : `${pad('TIME', 8)} ${pad('COMM', 16)} ${pad('TID', 6)} ${lpad('LAT(us)', 14)}`}\n`,
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [tid, us, prevTid, comm, prevComm] = e.args;
      out(`${pad(hhmmss(), 8)} ${pad(String(comm), 16)} ${pad(String(tid), 6)} ${lpad(String(us), 14)}${o.has('previous') ? ` ${pad(String(prevComm), 16)} ${pad(String(prevTid), 6)}` : ''}\n`);
    },
  },
  profile: {
    summary: 'profile CPU usage by sampling stack traces at a timed interval',
    usage: 'profile [-f] [-F FREQUENCY] [-p PID] [-L TID] [-U | -K] [-I] [-d] [-C CPU] [duration]',
    flags: [
      { short: 'p', long: 'pid', value: true, help: 'profile processes with one or more comma-separated PIDs only' },
      { short: 'L', long: 'tid', value: true, help: 'profile threads with one or more comma-separated TIDs only' },
      { short: 'U', long: 'user-stacks-only', help: 'show stacks from user space only (no kernel space stacks)' },
      { short: 'K', long: 'kernel-stacks-only', help: 'show stacks from kernel space only (no user space stacks)' },
      { short: 'F', long: 'frequency', value: true, help: 'sample frequency, Hertz' },
      { short: 'd', long: 'delimited', help: 'insert delimiter between kernel/user stacks' },
      { short: 'I', long: 'include-idle', help: 'include CPU idle stacks' },
      { short: 'f', long: 'folded', help: 'output folded format, one line per stack (for flame graphs)' },
      { long: 'stack-storage-size', value: true, help: 'the number of unique stack traces that can be stored and displayed (default 1024)' },
      { short: 'C', long: 'cpu', value: true, help: 'cpu number to run profile on' },
      { long: 'perf-max-stack-depth', value: true, help: 'the limit for both kernel and user stack traces (default 127)' },
    ],
    check(o) {
      if (o.has('user-stacks-only') && o.has('kernel-stacks-only')) throw new UsageError('user_stacks_only and kernel_stacks_only cannot be used together.');
      if (o.has('frequency') && num(o.get('frequency'), 'frequency') <= 0) throw new UsageError(`Invalid freq (in hz): ${String(o.get('frequency'))}`);
    },
    template: (o) => {
      const list = (flag: string, what: string): string | undefined => {
        const v = o.get(flag);
        return typeof v === 'string' ? `(${v.split(',').map((x) => `${what} == ${num(x, flag)}`).join(' || ')})` : undefined;
      };
      return {
        FREQ: String(o.has('frequency') ? num(o.get('frequency'), 'frequency') : 50),
        FILTER: and(o.has('include-idle') ? undefined : 'tid != 0', list('pid', 'pid'), list('tid', 'tid'), o.has('cpu') ? `cpu == ${num(o.get('cpu'), 'cpu')}` : undefined),
        KSTACK: o.has('user-stacks-only') ? '""' : 'kstack',
        USTACK: o.has('kernel-stacks-only') ? '""' : 'ustack',
      };
    },
    stopAfter: (_o, pos) => durationArg(pos),
    header: (o, pos) => {
      const who = typeof o.get('pid') === 'string' ? ` PID [${(o.get('pid') as string).split(',').join(', ')}]` : typeof o.get('tid') === 'string' ? ` TID [${(o.get('tid') as string).split(',').join(', ')}]` : ' all threads';
      const by = o.has('user-stacks-only') ? ' by user' : o.has('kernel-stacks-only') ? ' by kernel' : ' by user + kernel';
      const on = o.has('cpu') ? ` on CPU#${num(o.get('cpu'), 'cpu')}` : '';
      return o.has('folded') ? '' : `Sampling at ${o.has('frequency') ? num(o.get('frequency'), 'frequency') : 50} Hertz of${who}${by}${on}${pos[0] !== undefined ? ` for ${num(pos[0], 'duration')} secs.` : '... Hit Ctrl-C to end.'}\n`;
    },
    async summary_(t, o, out) {
      const frames = (text: Plain): string[] => String(text).split('\n').map((l) => l.trim()).filter((l) => l).map((l) => (l.startsWith('0x') ? '[unknown]' : l.replace(/\+\d+$/, '')));
      for (const e of await t.maps.get('@samples').entries()) {
        const [k, u, pid, comm] = e.key;
        const kf = o.has('user-stacks-only') ? undefined : frames(k);
        const uf = o.has('kernel-stacks-only') ? undefined : frames(u);
        if (o.has('folded')) {
          // comm;user frames outermost first;kernel frames outermost first count, as libbpf-tools folds them.
          const parts = [String(comm), ...(uf ?? []).reverse()];
          if (kf) parts.push(...(o.has('delimited') && uf ? ['-'] : []), ...kf.reverse());
          out(`${parts.join(';')} ${String(e.value)}\n`);
        } else {
          let s = '';
          for (const f of kf ?? []) s += `    ${f}\n`;
          if (uf) {
            if (kf && o.has('delimited')) s += '    --\n';
            for (const f of uf) s += `    ${f}\n`;
          }
          out(`${s}    ${pad('-', 16)} ${String(comm)} (${String(pid)})\n        ${String(e.value)}\n\n`);
        }
      }
    },
  },
};

export { UsageError, hhmmss, log2Hist, lpad };
