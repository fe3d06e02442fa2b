/** `bpfkit tools NAME [flags]`: libbpf-tools' everyday tools as trace-language files (tools/NAME.bt), with their flags, columns and output. */

import type { Command, Io } from './command.js';
import type { Plain, Trace } from '../trace/index.js';
import { EXTRA_TOOLS } from './tools-extra.js';
import { PROBE_TOOLS } from './tools-probes.js';
import { strsignal } from '../trace/format/signal.js';
import { CGROUP_FLAG, SIGNALS, TCP_STATES, UsageError, and, diskDev, diskName, elapsed, hhmmss, log2Hist, lpad, num, pad, setFs, syscallNames } from './tools-lib.js';
import type { Flag, Opts, Tool } from './tools-lib.js';

const TOOLS: Record<string, Tool> = {
  execsnoop: {
    summary: 'trace exec() syscalls',
    usage: 'execsnoop [-T] [-t] [-x] [-u UID] [-q] [-n NAME] [-l LINE] [-U] [--max-args MAX_ARGS]',
    flags: [
      CGROUP_FLAG,
      { short: 'T', long: 'time', help: 'include time column on output (HH:MM:SS)' },
      { short: 't', long: 'timestamp', help: 'include timestamp on output' },
      { short: 'x', long: 'fails', help: 'include failed exec()s' },
      { short: 'u', long: 'uid', value: true, help: 'trace this UID only' },
      { short: 'q', long: 'quote', help: 'add quotemarks (") around arguments' },
      { short: 'n', long: 'name', value: true, help: 'only print commands matching this name, any arg' },
      { short: 'l', long: 'line', value: true, help: 'only print commands where arg contains this line' },
      { short: 'U', long: 'print-uid', help: 'print UID column' },
      { long: 'max-args', value: true, help: 'maximum number of arguments parsed and displayed, defaults to 20' },
    ],
    check(o) {
      // libbpf-tools' bound (its event holds at most 60 arguments).
      const max = o.has('max-args') ? num(o.get('max-args'), 'max-args') : 20;
      if (max < 1 || max > 60) throw new UsageError(`Invalid MAX_ARGS ${String(o.get('max-args'))}, should be in [1, 60] range`);
    },
    template: (o) => ({ FILTER: and(o.has('uid') ? `uid == ${num(o.get('uid'), 'uid')}` : undefined) }),
    header: (o) => `${o.has('time') ? pad('TIME', 8) + ' ' : ''}${o.has('timestamp') ? pad('TIME(s)', 8) + ' ' : ''}${o.has('print-uid') ? pad('UID', 6) + ' ' : ''}${pad('PCOMM', 16)} ${pad('PID', 6)} ${pad('PPID', 6)} ${lpad('RET', 3)} ARGS\n`,
    onEvent(e, o, out, state) {
      // "E tid" then the argv (a join event) at entry; "X tid pid ppid uid ret comm" at return.
      if (e.type === 'printf' && e.text.startsWith('E ')) {
        state.set('last', e.args[0]);
        return;
      }
      if (e.type === 'text' && e.parts) {
        state.set(`argv:${String(state.get('last'))}`, e.parts);
        return;
      }
      if (e.type !== 'printf' || !e.text.startsWith('X ')) return;
      const [tid, pid, ppid, uid, ret, comm] = e.args;
      let argv = (state.get(`argv:${String(tid)}`) as string[] | undefined) ?? [];
      state.delete(`argv:${String(tid)}`);
      if (Number(ret) !== 0 && !o.has('fails')) return;
      const max = o.has('max-args') ? num(o.get('max-args'), 'max-args') : 20;
      const truncated = argv.length > max;
      argv = argv.slice(0, max);
      const name = o.get('name');
      if (typeof name === 'string' && !String(comm).includes(name)) return;
      const line = o.get('line');
      if (typeof line === 'string' && !argv.some((a) => a.includes(line))) return;
      const args = argv.map((a) => (o.has('quote') ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ') + (truncated ? ' ...' : '');
      out(`${o.has('time') ? pad(hhmmss(), 8) + ' ' : ''}${o.has('timestamp') ? pad(elapsed(), 8) + ' ' : ''}${o.has('print-uid') ? pad(String(uid), 6) + ' ' : ''}${pad(String(comm), 16)} ${pad(String(pid), 6)} ${pad(String(ppid), 6)} ${lpad(String(ret), 3)} ${args} \n`);
    },
  },
  opensnoop: {
    summary: 'trace open family syscalls',
    usage: 'opensnoop [-d DURATION] [-e] [-n NAME] [-p PID] [-t TID] [-T] [-u UID] [-U] [-x]',
    flags: [
      { short: 'd', long: 'duration', value: true, help: 'duration to trace' },
      { short: 'e', long: 'extended-fields', help: 'print extended fields' },
      { short: 'n', long: 'name', value: true, help: 'trace process names containing this' },
      { short: 'p', long: 'pid', value: true, help: 'process ID to trace' },
      { short: 't', long: 'tid', value: true, help: 'thread ID to trace' },
      { short: 'T', long: 'timestamp', help: 'print timestamp' },
      { short: 'u', long: 'uid', value: true, help: 'user ID to trace' },
      { short: 'U', long: 'print-uid', help: 'print UID' },
      { short: 'x', long: 'failed', help: 'failed opens only' },
    ],
    template: (o) => ({
      FILTER: and(o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('tid') ? `tid == ${num(o.get('tid'), 'tid')}` : undefined, o.has('uid') ? `uid == ${num(o.get('uid'), 'uid')}` : undefined),
    }),
    header: (o) => `${o.has('timestamp') ? pad('TIME', 8) + ' ' : ''}${o.has('print-uid') ? pad('UID', 7) + ' ' : ''}${pad('PID', 6)} ${pad('COMM', 16)} ${lpad('FD', 3)} ${lpad('ERR', 3)} ${o.has('extended-fields') ? pad('FLAGS', 8) + ' ' : ''}PATH\n`,
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [pid, uid, ret, flags, comm, path] = e.args;
      const r = Number(ret);
      if (o.has('failed') && r >= 0) return;
      const name = o.get('name');
      if (typeof name === 'string' && !String(comm).includes(name)) return;
      const fd = r >= 0 ? r : -1;
      const err = r >= 0 ? 0 : -r;
      out(`${o.has('timestamp') ? pad(hhmmss(), 8) + ' ' : ''}${o.has('print-uid') ? pad(String(uid), 7) + ' ' : ''}${pad(String(pid), 6)} ${pad(String(comm), 16)} ${lpad(fd, 3)} ${lpad(err, 3)} ${o.has('extended-fields') ? Number(flags).toString(8).padStart(8, '0') + ' ' : ''}${String(path)}\n`);
    },
  },
  exitsnoop: {
    summary: 'trace process termination',
    usage: 'exitsnoop [-p PID] [-t] [-T] [-x]',
    flags: [
      CGROUP_FLAG,
      { short: 'p', long: 'pid', value: true, help: 'process ID to trace' },
      { short: 't', long: 'timestamp', help: 'include timestamp on output' },
      { short: 'T', long: 'threaded', help: 'trace by thread' },
      { short: 'x', long: 'failed', help: 'trace error exits only' },
    ],
    template: (o) => ({
      FILTER: and(o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('threaded') ? undefined : 'pid == tid', o.has('failed') ? 'curtask->exit_code != 0' : undefined),
    }),
    header: (o) => `${o.has('timestamp') ? pad('TIME(s)', 8) + ' ' : ''}${pad('PCOMM', 16)} ${pad('PID', 7)} ${pad('PPID', 7)} ${pad('TID', 7)} ${pad('AGE(s)', 7)} EXIT_CODE\n`,
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [pid, ppid, tid, ageNs, code, comm] = e.args;
      const c = Number(code);
      const sig = c & 0x7f;
      const status = sig ? `signal ${sig} (${strsignal(sig)})${c & 0x80 ? ', core dumped' : ''}` : c >> 8 ? `code ${c >> 8}` : '0';
      out(`${o.has('timestamp') ? pad(hhmmss(), 8) + ' ' : ''}${pad(String(comm), 16)} ${pad(String(pid), 7)} ${pad(String(ppid), 7)} ${pad(String(tid), 7)} ${pad((Number(ageNs) / 1e9).toFixed(2), 7)} ${status}\n`);
    },
  },
  killsnoop: {
    summary: 'trace signals issued by the kill() family',
    usage: 'killsnoop [-k] [-n] [-p PID] [-s SIGNAL] [-x]',
    flags: [
      { short: 'k', long: 'kill', help: 'trace signals issued by kill syscall only' },
      { short: 'n', long: 'name', help: 'output signal name instead of signal number' },
      { short: 'p', long: 'pid', value: true, help: 'process ID to trace' },
      { short: 's', long: 'signal', value: true, help: 'signal to trace' },
      { short: 'x', long: 'failed', help: 'trace failed signals only' },
    ],
    template: (o) => ({
      FILTER: and(o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('signal') ? `args.sig == ${num(o.get('signal'), 'signal')}` : undefined),
      THREADS: o.has('kill') ? '// ' : '',
      THREADS_EXIT: o.has('kill') ? '' : ', tracepoint:syscalls:sys_exit_tkill, tracepoint:syscalls:sys_exit_tgkill',
    }),
    header: () => `${pad('TIME', 8)} ${pad('PID', 7)} ${pad('COMM', 16)} ${pad('SIG', 9)} ${pad('TPID', 7)} ${pad('RESULT', 6)}\n`,
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [pid, sig, tpid, ret, comm] = e.args;
      if (o.has('failed') && Number(ret) >= 0) return;
      const s = o.has('name') ? (SIGNALS[Number(sig)] ?? String(sig)) : String(sig);
      out(`${pad(hhmmss(), 8)} ${pad(String(pid), 7)} ${pad(String(comm), 16)} ${pad(s, 9)} ${pad(String(tpid), 7)} ${pad(String(ret), 6)}\n`);
    },
  },
  syscount: {
    summary: 'summarize syscall counts and latencies',
    usage: 'syscount [-d DURATION] [-e ERRNO] [-i INTERVAL] [-l] [-L] [-m] [-p PID] [-P] [-T TOP] [-x]',
    flags: [
      CGROUP_FLAG,
      { short: 'd', long: 'duration', value: true, help: 'total tracing duration (seconds)' },
      { short: 'e', long: 'errno', value: true, help: 'trace only syscalls that return this error (numeric)' },
      { short: 'i', long: 'interval', value: true, help: 'print summary at this interval (seconds), 0 for infinite wait' },
      { short: 'L', long: 'latency', help: 'collect syscall latency' },
      { short: 'm', long: 'milliseconds', help: 'display latency in milliseconds (default: microseconds)' },
      { short: 'p', long: 'pid', value: true, help: 'process PID to trace' },
      { short: 'P', long: 'process', help: 'count by process and not by syscall' },
      { short: 'T', long: 'top', value: true, help: 'print only the top syscalls (default 10)' },
      { short: 'x', long: 'failures', help: 'trace only failed syscalls' },
      { short: 'l', long: 'list', help: 'print list of recognized syscalls and exit' },
    ],
    list: (o) => (o.has('list') ? [...syscallNames()].sort((a, b) => a[0] - b[0]).map(([n, name]) => `${lpad(n, 3)}: ${name}\n`).join('') : undefined),
    template: (o) => ({
      FILTER: and(o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined),
      RESULT: o.has('errno') ? `args.ret == -${num(o.get('errno'), 'errno')}` : o.has('failures') ? 'args.ret < 0' : '1',
      KEY: o.has('process') ? 'pid' : 'args.id',
    }),
    header: (o) => `Tracing syscalls, printing top ${o.has('top') ? num(o.get('top'), 'top') : 10}... Ctrl+C to quit.\n`,
    interval: (o) => ({ ms: o.has('interval') ? num(o.get('interval'), 'interval') * 1000 : 0, count: 0 }),
    async summary_(t, o, out) {
      const counts = await t.maps.get('@count').entries();
      const ns = new Map((await t.maps.get('@ns').entries()).map((e) => [String(e.key[0]), e.value as bigint]));
      const comms = new Map((await t.maps.get('@comm').entries()).map((e) => [String(e.key[0]), String(e.value)]));
      const top = o.has('top') ? num(o.get('top'), 'top') : 10;
      const lat = o.has('latency');
      const rows = counts.map((e) => ({ key: String(e.key[0]), count: e.value as bigint, ns: ns.get(String(e.key[0])) ?? 0n }))
        .sort((a, b) => (lat ? Number(b.ns - a.ns) : Number(b.count - a.count))).slice(0, top);
      out(`[${hhmmss()}]\n`);
      const unit = o.has('milliseconds') ? 'ms' : 'us';
      const div = o.has('milliseconds') ? 1e6 : 1e3;
      if (o.has('process')) out(`${pad('PID', 6)} ${pad('COMM', 16)} ${lpad('COUNT', 7)}${lat ? ` ${lpad(`TIME (${unit})`, 16)}` : ''}\n`);
      else out(`${pad('SYSCALL', 22)} ${lpad('COUNT', 8)}${lat ? ` ${lpad(`TIME (${unit})`, 16)}` : ''}\n`);
      const names = syscallNames();
      for (const r of rows) {
        const time = lat ? ` ${lpad((Number(r.ns) / div).toFixed(3), 16)}` : '';
        if (o.has('process')) out(`${pad(r.key, 6)} ${pad(comms.get(r.key) ?? '', 16)} ${lpad(r.count, 7)}${time}\n`);
        else out(`${pad(names.get(Number(r.key)) ?? `[unknown: ${r.key}]`, 22)} ${lpad(r.count, 8)}${time}\n`);
      }
      out('\n');
      for (const m of ['@count', '@ns', '@comm']) await t.maps.get(m).clear();
    },
  },
  biolatency: {
    summary: 'summarize block device I/O latency as a histogram',
    usage: 'biolatency [-D] [-m] [-Q] [-T] [-d DISK] [interval] [count]',
    flags: [
      CGROUP_FLAG,
      { short: 'D', long: 'disk', help: 'print a histogram per disk device' },
      { short: 'd', long: 'disk-name', value: true, help: 'trace this disk only' },
      { short: 'm', long: 'milliseconds', help: 'millisecond histogram' },
      { short: 'Q', long: 'queued', help: 'include OS queued time in I/O time' },
      { short: 'T', long: 'timestamp', help: 'include timestamp on output' },
    ],
    template: (o) => ({
      FILTER: o.has('disk-name') ? `args.dev == ${diskDev(String(o.get('disk-name')))}` : '1',
      START: o.has('queued') ? 'block_rq_insert' : 'block_rq_issue',
      KEY: o.has('disk') ? 'args.dev' : '0',
      UNIT: o.has('milliseconds') ? '1000000' : '1000',
    }),
    header: () => 'Tracing block device I/O... Hit Ctrl-C to end.\n',
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      for (const e of await t.maps.get('@lat').entries()) {
        // libbpf-tools' print_log2_hists: a blank line (after `disk = NAME<tab>` with -D) before each histogram.
        if (o.has('disk')) out(`\ndisk = ${diskName(Number(e.key[0]))}\t`);
        out('\n');
        out(log2Hist(e, o.has('milliseconds') ? 'msecs' : 'usecs'));
      }
      await t.maps.get('@lat').clear();
    },
  },
  runqlat: {
    summary: 'summarize run queue (scheduler) latency as a histogram',
    usage: 'runqlat [-m] [-p PID] [-P] [-L] [-T] [interval] [count]',
    flags: [
      CGROUP_FLAG,
      { short: 'm', long: 'milliseconds', help: 'millisecond histogram' },
      { short: 'p', long: 'pid', value: true, help: 'trace this PID only' },
      { short: 'P', long: 'pids', help: 'print a histogram per process ID' },
      { short: 'L', long: 'tids', help: 'print a histogram per thread ID' },
      { short: 'T', long: 'timestamp', help: 'include timestamp on output' },
    ],
    template: (o) => {
      // The tracepoints give thread ids; -p filters by a tid equal to the process id, as libbpf-tools' runqlat does.
      const pid = o.has('pid') ? num(o.get('pid'), 'pid') : undefined;
      return {
        FILTER_WAKE: pid !== undefined ? `args.pid == ${pid}` : '1',
        FILTER_PREV: pid !== undefined ? `args.prev_pid == ${pid}` : '1',
        KEY: o.has('pids') || o.has('tids') ? 'args.next_pid' : '0',
        UNIT: o.has('milliseconds') ? '1000000' : '1000',
      };
    },
    header: () => 'Tracing run queue latency... Hit Ctrl-C to end.\n',
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      for (const e of await t.maps.get('@lat').entries()) {
        if (o.has('pids')) out(`\npid = ${String(e.key[0])}\n`);
        else if (o.has('tids')) out(`\ntid = ${String(e.key[0])}\n`);
        out(log2Hist(e, o.has('milliseconds') ? 'msecs' : 'usecs'));
      }
      await t.maps.get('@lat').clear();
    },
  },
  tcpstates: {
    summary: 'trace TCP socket state changes and the time in each state',
    usage: 'tcpstates [-4] [-6] [-D DPORTS] [-L LPORTS] [-T] [-w]',
    flags: [
      { short: '4', long: 'ipv4', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', help: 'trace IPv6 family only' },
      { short: 'D', long: 'remoteport', value: true, help: 'comma-separated list of remote ports to trace' },
      { short: 'L', long: 'localport', value: true, help: 'comma-separated list of local ports to trace' },
      { short: 'T', long: 'timestamp', help: 'include timestamp on output' },
      { short: 'w', long: 'wide', help: 'wide column output (fits IPv6 addresses)' },
    ],
    template: (o) => {
      const ports = (flag: string, field: string): string | undefined => {
        const v = o.get(flag);
        if (typeof v !== 'string') return undefined;
        return `(${v.split(',').map((p) => `args.${field} == ${num(p, flag)}`).join(' || ')})`;
      };
      return { FILTER: and(o.has('ipv4') ? 'args.family == 2' : undefined, o.has('ipv6') ? 'args.family == 10' : undefined, ports('remoteport', 'dport'), ports('localport', 'sport')) };
    },
    header: (o) => {
      const a = o.has('wide') ? 39 : 15;
      return `${o.has('timestamp') ? pad('TIME(s)', 8) + ' ' : ''}${pad('SKADDR', 16)} ${pad('PID', 7)} ${pad('COMM', 10)} ${pad('LADDR', a)} ${pad('LPORT', 5)} ${pad('RADDR', a)} ${pad('RPORT', 5)} ${pad('OLDSTATE', 11)} -> ${pad('NEWSTATE', 11)} MS\n`;
    },
    onEvent(e, o, out) {
      if (e.type !== 'printf') return;
      const [sk, pid, family, oldstate, newstate, sport, dport, deltaNs, comm, s4, d4, s6, d6] = e.args;
      const a = o.has('wide') ? 39 : 15;
      const v6 = Number(family) === 10;
      out(`${o.has('timestamp') ? pad(hhmmss(), 8) + ' ' : ''}${pad(BigInt(sk as bigint).toString(16), 16)} ${pad(String(pid), 7)} ${pad(String(comm).slice(0, 10), 10)} ${pad(String(v6 ? s6 : s4), a)} ${pad(String(sport), 5)} ${pad(String(v6 ? d6 : d4), a)} ${pad(String(dport), 5)} ${pad(TCP_STATES[Number(oldstate)] ?? 'UNKNOWN', 11)} -> ${pad(TCP_STATES[Number(newstate)] ?? 'UNKNOWN', 11)} ${(Number(BigInt(deltaNs as bigint) / 1000n) / 1000).toFixed(3)}\n`);
    },
  },
  ...EXTRA_TOOLS,
  ...PROBE_TOOLS,
};

/** Every libbpf-tools tool takes -v; ours prints the trace-language program it runs on stderr. */
const VERBOSE: Flag = { short: 'v', long: 'verbose', help: 'verbose debug output (the trace-language program, on stderr)' };

/** A tool's flags and the -v every tool has. */
const flagsOf = (tool: Tool): Flag[] => (tool.flags.some((f) => f.short === 'v' || f.long === 'verbose') ? tool.flags : [...tool.flags, VERBOSE]);

function parseFlags(tool: Tool, argv: string[]): { opts: Opts; positional: string[] } {
  const flags = flagsOf(tool);
  const opts: Opts = new Map();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      const f = flags.find((x) => x.long === name);
      if (!f) throw new UsageError(`unrecognized option '${a}'`);
      if (f.value) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`option '--${name}' requires an argument`);
        opts.set(f.long, f.repeat && typeof opts.get(f.long) === 'string' ? `${opts.get(f.long) as string}\0${v}` : v);
      } else opts.set(f.long, true);
    } else if (a.startsWith('-') && a.length > 1 && !/^-[0-9]/.test(a)) {
      for (let j = 1; j < a.length; j++) {
        const f = flags.find((x) => x.short === a[j]);
        if (!f) throw new UsageError(`invalid option -- '${a[j]}'`);
        if (f.value) {
          const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
          if (v === undefined) throw new UsageError(`option requires an argument -- '${a[j]}'`);
          opts.set(f.long, f.repeat && typeof opts.get(f.long) === 'string' ? `${opts.get(f.long) as string}\0${v}` : v);
          break;
        }
        opts.set(f.long, true);
      }
    } else positional.push(a);
  }
  return { opts, positional };
}

function toolHelp(name: string, tool: Tool): string {
  return `usage: bpfkit tools ${tool.usage}\n\n${tool.summary} (libbpf-tools' ${name}: same flags, columns and output)\n\n${flagsOf(tool)
    .map((f) => `  ${f.short ? `-${f.short}, ` : '    '}--${f.long}${f.value ? '=VALUE' : ''}`.padEnd(30) + f.help)
    .join('\n')}`;
}

/** Where the tools' .bt files are: the package's tools/ (from dist/src/cli or src/cli). */
async function toolSource(name: string): Promise<string> {
  const fs = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../tools', '../../../tools']) {
    const p = `${here}${up}/${name}.bt`;
    if (fs.existsSync(p)) return fs.readFileSync(p, 'utf8');
  }
  throw new UsageError(`tools/${name}.bt not found`);
}

/** Runs one tool until Ctrl-C/SIGTERM, its duration, or its interval count. */
async function runTool(name: string, tool: Tool, argv: string[], io: Io): Promise<number> {
  setFs(await import('node:fs'));
  const { opts, positional } = parseFlags(tool, argv);
  tool.check?.(opts, positional);
  const text = (tool.source ? tool.source(opts, positional) : await toolSource(name)).replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = tool.template(opts, positional)[k];
    if (v === undefined) throw new UsageError(`tools/${name}.bt: no value for {{${k}}}`);
    return v;
  });
  const listed = tool.list?.(opts, positional);
  if (listed !== undefined) {
    io.stdout(listed);
    return 0;
  }
  if (opts.has('verbose')) io.stderr(text.endsWith('\n') ? text : `${text}\n`);
  const trace = await import('../trace/api.js');
  const cgroup = opts.get('cgroup');
  const t = await trace.attach(text, { ...tool.options?.(opts, positional), ...(typeof cgroup === 'string' ? { cgroup } : {}) });
  try {
    io.stdout(tool.header(opts, positional));
    const state = new Map<string, unknown>();
    const ac = new AbortController();
    // A tool stops itself after so many events (trace -M).
    state.set('stop', () => ac.abort());
    const pump = (async () => {
      for await (const e of t.events()) tool.onEvent?.(e, opts, io.stdout, state);
    })();
    const iv = tool.interval?.(opts, positional);
    const stops: Parameters<Trace['until']> = ['SIGINT', 'SIGTERM', ac.signal];
    if (opts.has('duration') && !tool.durationByIntervals) stops.push(num(opts.get('duration'), 'duration') * 1000);
    const after = tool.stopAfter?.(opts, positional);
    if (after !== undefined) stops.push(after);
    let timer: ReturnType<typeof setInterval> | undefined;
    let printing: Promise<void> = Promise.resolve();
    if (iv && iv.ms > 0 && tool.summary_) {
      let n = 0;
      timer = setInterval(() => {
        printing = printing.then(() => tool.summary_!(t, opts, io.stdout, positional)).then(() => {
          if (iv.count && ++n >= iv.count) ac.abort();
        });
      }, iv.ms);
    }
    const why = await t.until(...stops);
    if (timer) clearInterval(timer);
    await printing;
    await pump;
    if (tool.summary_ && tool.exitSummary !== false && !(why === 'abort' && iv && iv.ms > 0)) await tool.summary_(t, opts, io.stdout, positional);
    if (tool.footer) io.stdout(tool.footer(opts, positional));
    return 0;
  } finally {
    await t.close();
  }
}

/** `bpfkit tools NAME [flags]`. */
export const toolsCommand: Command = {
  name: ['tools'],
  summary: "libbpf-tools' everyday tools (execsnoop, opensnoop, ...) as trace-language programs",
  help: `usage: bpfkit tools NAME [flags]   (NAME --help for its flags)\n\n${Object.entries(TOOLS).map(([n, t]) => `  ${n.padEnd(12)} ${t.summary}`).join('\n')}`,
  ownHelp: true,
  async run(argv, io) {
    const [name, ...rest] = argv;
    if (name === '--help' || name === '-h') {
      io.stdout(`${this.help}\n`);
      return 0;
    }
    const tool = name === undefined ? undefined : TOOLS[name];
    if (!tool) {
      io.stderr(`${name === undefined ? '' : `bpfkit tools: unknown tool '${name}'\n`}${this.help}\n`);
      return name === undefined ? 0 : 1;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(`${toolHelp(name, tool)}\n`);
      return 0;
    }
    try {
      return await runTool(name, tool, rest, io);
    } catch (e) {
      if (e instanceof UsageError) {
        io.stderr(`${name}: ${e.message}\nTry 'bpfkit tools ${name} --help'.\n`);
        return 1;
      }
      if (e instanceof Error && 'code' in e) {
        io.stderr(`${name}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};

export type { Plain };
