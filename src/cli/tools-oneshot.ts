/**
 * bcc's one-shot probe tools for `bpfkit tools`: `trace` (a line per hit, printf-style) and `argdist` (counts or a
 * histogram of a probe's argument), their specifiers rewritten into the trace language.
 */

import { isHistogram } from '../trace/api.js';
import type { MapEntryData, Plain } from '../trace/index.js';
import { UsageError, num, optPid, pad, probePath, uprobeTarget } from './tools-lib.js';
import type { Opts, Tool } from './tools-lib.js';

/** A probe point from a bcc specifier's `TYPE:LIB:FUNC`, as a trace-language probe, and the name bcc shows for it. */
interface Point {
  kind: 'p' | 'r' | 't' | 'u';
  probe: string;
  /** The entry probe a return probe pairs with (argdist's $entry/$latency). */
  entry?: string;
  display: string;
}

/** bcc's `p:LIB:FUNC`, `r:LIB:FUNC`, `t:CAT:EVENT`, `u:LIB:PROBE`, `LIB:FUNC` and `FUNC` (the last two are p:, no LIB is the kernel). */
function probePoint(parts: string[], pid: number | undefined, raw: string): Point {
  if (parts.length === 1) parts = ['p', '', parts[0]];
  else if (parts.length === 2) parts = ['p', parts[0], parts[1]];
  const kind = parts[0] === '' ? 'p' : parts[0];
  if (kind !== 'p' && kind !== 'r' && kind !== 't' && kind !== 'u') throw new UsageError(`error in probe '${raw}': probe type must be '', 'p', 't', 'r', or 'u', but got '${kind}'`);
  const name = parts[parts.length - 1];
  const lib = parts.slice(1, -1).join(':');
  if (!/^[A-Za-z_][\w.$@]*$/.test(name)) throw new UsageError(`error in probe '${raw}': invalid function name '${name}'`);
  if (kind === 't') {
    if (!/^\w+$/.test(lib)) throw new UsageError(`error in probe '${raw}': invalid tracepoint category '${lib}'`);
    return { kind, probe: `tracepoint:${lib}:${name}`, display: name };
  }
  // No library: a kernel function. Kept as a kprobe so that attaching it says why it cannot (kprobes not configured).
  if (lib === '') return { kind, probe: `${kind === 'r' ? 'kretprobe' : 'kprobe'}:${name}`, entry: `kprobe:${name}`, display: name };
  const path = probePath(uprobeTarget(`${lib}:${name}`, pid).path);
  if (kind === 'u') return { kind, probe: `usdt:${path}:${name}`, display: name };
  return { kind, probe: `${kind === 'r' ? 'uretprobe' : 'uprobe'}:${path}:${name}`, entry: `uprobe:${path}:${name}`, display: name };
}

/** bcc's C expressions in the trace language: arg1..arg6 are arg0..arg5, `$pid` is the thread id (the kernel's pid), `args->f` a tracepoint field. */
function rewrite(expr: string, params: Map<string, string> = new Map()): string {
  const aliases: Record<string, string> = { $uid: 'uid', $gid: 'gid', $pid: 'tid', $tgid: 'pid', $cpu: 'cpu', $task: 'curtask', $PID: 'pid', $retval: 'retval' };
  if (/[;{}]|\/\//.test(expr)) throw new UsageError(`unsupported expression: ${expr}`);
  return expr
    .replace(/\barg([1-6])(@user)?\b/g, (_, n: string) => `arg${Number(n) - 1}`)
    .replace(/\$(uid|gid|pid|tgid|cpu|task|PID|retval)\b/g, (m) => aliases[m])
    .replace(/(^|[^\w$@.>])([A-Za-z_]\w*)\b/g, (m, pre: string, id: string) => (params.has(id) ? `${pre}${params.get(id)!}` : m));
}

/** A value as the C type bcc declares for it (int, unsigned, long long, short, char), for the same digits. */
const C_INT: Record<string, (v: bigint) => bigint> = {
  d: (v) => BigInt.asIntN(32, v), u: (v) => BigInt.asUintN(32, v), x: (v) => BigInt.asUintN(32, v),
  ld: (v) => BigInt.asIntN(64, v), lld: (v) => BigInt.asIntN(64, v), lu: (v) => BigInt.asUintN(64, v), llu: (v) => BigInt.asUintN(64, v),
  lx: (v) => BigInt.asUintN(64, v), llx: (v) => BigInt.asUintN(64, v), hd: (v) => BigInt.asIntN(16, v), hu: (v) => BigInt.asUintN(16, v), c: (v) => BigInt.asIntN(8, v),
};

/** One `trace` probe: where, when (the predicate), and the message (bcc's format and its values). */
interface TraceProbe {
  point: Point;
  filter?: string;
  format: string;
  types: string[];
  values: string[];
}

/** Parses bcc trace's `SPEC [(PREDICATE)] ["FORMAT"[, ARG...]]`. */
function parseTraceProbe(raw: string, pid: number | undefined): TraceProbe {
  const m = /^([^ \t(]+)(\([^(]*\))?(.*)$/s.exec(raw);
  if (!m) throw new UsageError(`error in probe '${raw}': no probe`);
  if (m[2] !== undefined) throw new UsageError(`error in probe '${raw}': function signatures need kernel headers (use arg1..arg6)`);
  const spec = m[1];
  if (spec.includes('+')) throw new UsageError(`error in probe '${raw}': offsets are not supported`);
  let rest = m[3].trim();
  let filter: string | undefined;
  if (rest.startsWith('(')) {
    // The predicate runs to its matching parenthesis.
    let depth = 0;
    let i = 0;
    for (; i < rest.length; i++) {
      if (rest[i] === '(') depth++;
      else if (rest[i] === ')' && --depth === 0) break;
    }
    if (depth !== 0) throw new UsageError(`error in probe '${raw}': unbalanced parentheses in the filter`);
    filter = rewrite(rest.slice(1, i));
    rest = rest.slice(i + 1).trim();
  }
  if (rest === '') return { point: probePoint(spec.split(':'), pid, raw), filter, format: '', types: [], values: [] };
  const a = /^(".*?"),?(.*)$/s.exec(rest);
  if (!a) throw new UsageError(`error in probe '${raw}': expected format string in "s`);
  const types = [...a[1].matchAll(/[^%]%(s|u|d|lu|llu|ld|lld|hu|hd|x|lx|llx|c|K|U)/g)].map((t) => t[1]);
  if (types.some((t) => t === 'K' || t === 'U')) throw new UsageError(`error in probe '${raw}': %K and %U are not supported`);
  const values = a[2].split(/(?<!"),/).map((v) => v.trim()).filter((v) => v !== '').map((v) => rewrite(v));
  if (values.length !== types.length) throw new UsageError(`error in probe '${raw}': ${types.length} format specifiers but ${values.length} arguments`);
  return { point: probePoint(spec.split(':'), pid, raw), filter, format: a[1].slice(1, -1), types, values };
}

/** bcc's message: the format with its C-typed values (Python's %d, %x, %s, %c). */
function message(format: string, types: string[], vals: Plain[]): string {
  let i = 0;
  return format.replace(/%(%|s|u|d|lu|llu|ld|lld|hu|hd|x|lx|llx|c)/g, (m, t: string) => {
    if (t === '%') return '%';
    const v = vals[i];
    const type = types[i++];
    if (type === 's' || typeof v !== 'bigint') return String(v);
    const n = C_INT[type](v);
    return type === 'c' ? String.fromCharCode(Number(BigInt.asUintN(8, n))) : /x/.test(type) ? n.toString(16) : n.toString();
  });
}

const parsedTrace = new WeakMap<Opts, TraceProbe[]>();
/** When the trace started: bpf_ktime_get_ns() and Node's hrtime share CLOCK_MONOTONIC; -u adds the wall clock then. */
let started = { mono: 0n, real: 0 };

/** The trace-language program for `trace`: one printf per probe carrying its index, the task, the time and its values. */
function traceSource(o: Opts, pos: string[]): string {
  const probes = parsedTrace.get(o)!;
  const z = o.has('string-size') ? num(o.get('string-size'), 'string-size') : 80;
  const who = [
    o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined,
    o.has('tid') ? `tid == ${num(o.get('tid'), 'tid')}` : undefined,
    o.has('uid') ? `uid == ${num(o.get('uid'), 'uid')}` : undefined,
    // bcc's trace leaves out its own events unless -S.
    o.has('include-self') ? undefined : `pid != ${process.pid}`,
  ].filter((x) => x !== undefined);
  void pos;
  return probes.map((p, i) => {
    const pred = [...who, ...(p.filter !== undefined ? [`(${p.filter})`] : [])].join(' && ') || '1';
    const vals = p.values.map((v, j) => (p.types[j] === 's' ? `str(${v}, ${z})` : `(int64)(${v})`));
    const fmt = ['%d', '%d', '%d', '%s', '%d', '%llu', ...p.types.map((t) => (t === 's' ? '%s' : '%lld'))].join(' ');
    return `${p.point.probe} /${pred}/ { printf("${fmt}\\n", ${[String(i), 'pid', 'tid', 'comm', 'cpu', 'nsecs', ...vals].join(', ')}); }`;
  }).join('\n');
}

const trace: Tool = {
  summary: "print a line per hit of user functions or tracepoints, printf-style (bcc's trace)",
  usage: "trace [-p PID] [-L TID] [--uid UID] [-Z STRING_SIZE] [-S] [-M MAX_EVENTS] [-t] [-u] [-T] [-C] [-n NAME] [-f MSG_FILTER] probe [probe ...]",
  flags: [
    { short: 'p', long: 'pid', value: true, help: 'id of the process to trace (optional)' },
    { short: 'L', long: 'tid', value: true, help: 'id of the thread to trace (optional)' },
    { long: 'uid', value: true, help: 'id of the user to trace (optional)' },
    { short: 'Z', long: 'string-size', value: true, help: 'maximum size to read from strings' },
    { short: 'S', long: 'include-self', help: "do not filter trace's own pid from the trace" },
    { short: 'M', long: 'max-events', value: true, help: 'number of events to print before quitting' },
    { short: 't', long: 'timestamp', help: 'print timestamp column (offset from trace start)' },
    { short: 'u', long: 'unix-timestamp', help: 'print UNIX timestamp instead of offset from trace start, requires -t' },
    { short: 'T', long: 'time', help: 'print time column' },
    { short: 'C', long: 'print_cpu', help: 'print CPU id' },
    { short: 'n', long: 'name', value: true, help: 'only print process names containing this name' },
    { short: 'f', long: 'msg-filter', value: true, help: 'only print the msg of event containing this string' },
  ],
  check(o, pos) {
    if (pos.length === 0) throw new UsageError('the following arguments are required: probe');
    if (o.has('pid') && o.has('tid')) throw new UsageError('only one of -p and -L may be specified');
    for (const f of ['pid', 'tid', 'uid', 'string-size', 'max-events']) if (o.has(f)) num(o.get(f), f);
    parsedTrace.set(o, pos.map((p) => parseTraceProbe(p, optPid(o))));
    started = { mono: process.hrtime.bigint(), real: Date.now() / 1000 };
  },
  source: traceSource,
  template: () => ({}),
  options: (o) => (o.has('pid') ? { pid: num(o.get('pid'), 'pid') } : {}),
  header(o) {
    const time = o.has('timestamp') || o.has('time') ? pad('TIME', o.has('unix-timestamp') ? 17 : 8) + ' ' : '';
    const trivial = parsedTrace.get(o)!.every((p) => p.format === '');
    return `${time}${o.has('print_cpu') ? pad('CPU', 3) + ' ' : ''}${pad('PID', 7)} ${pad('TID', 7)} ${pad('COMM', 15)} ${pad('FUNC', 16)} ${trivial ? '' : '-'}\n`;
  },
  onEvent(e, o, out, state) {
    if (e.type !== 'printf') return;
    const [idx, pid, tid, comm, cpu, ns, ...vals] = e.args;
    const p = parsedTrace.get(o)![Number(idx)];
    const name = o.get('name');
    if (typeof name === 'string' && !String(comm).includes(name)) return;
    const msg = message(p.format, p.types, vals);
    const filter = o.get('msg-filter');
    if (typeof filter === 'string' && !msg.includes(filter)) return;
    let line = '';
    if (o.has('timestamp') || o.has('time')) {
      // -T is the wall clock; -t seconds since the trace started (-u: since the epoch), as bcc prints them.
      const off = Number(BigInt(ns as bigint) - started.mono) / 1e9;
      const wide = o.has('unix-timestamp');
      const text = !o.has('timestamp') ? new Date().toTimeString().slice(0, 8) : (wide ? off + started.real : off).toFixed(6);
      line += `${pad(text.slice(0, wide ? 17 : 8), wide ? 17 : 8)} `;
    }
    if (o.has('print_cpu')) line += `${pad(String(cpu), 3)} `;
    // -M: events that were already on their way once the last one printed are dropped.
    const max = o.has('max-events') ? num(o.get('max-events'), 'max-events') : Infinity;
    const n = ((state.get('events') as number | undefined) ?? 0) + 1;
    if (n > max) return;
    state.set('events', n);
    out(`${line}${pad(String(pid), 7)} ${pad(String(tid), 7)} ${pad(String(comm), 15)} ${pad(p.point.display, 16)} ${msg}\n`);
    if (n >= max) (state.get('stop') as (() => void) | undefined)?.();
  },
};

/** One argdist specifier: what to key by (its expressions and their C types), where, when, and its label. */
interface ArgdistProbe {
  raw: string;
  type: 'freq' | 'hist';
  point: Point;
  label?: string;
  exprs: string[];
  /** As the user wrote them, for the EVENT column. */
  shown: string[];
  ctypes: string[];
  filter?: string;
  defaultExpr: boolean;
  /** Entry-time values a return probe needs ($entry(NAME) → the param's argument; $latency → the entry time). */
  entry: Map<string, string>;
}

/** Parses `{p,r,t,u}:{[library],category}:function(signature)[:type[,type...]:expr[,expr...][:filter]][#label]`. */
function parseArgdist(raw: string, type: 'freq' | 'hist', pid: number | undefined): ArgdistProbe {
  const [body, label, extra] = raw.split('#');
  if (extra !== undefined) throw new UsageError(`invalid specifier '${raw}': more than one #`);
  const parts = body.trim().split(':');
  if (parts.length < 3 || parts.length > 6 || parts.length === 4) throw new UsageError(`invalid specifier '${raw}': expected TYPE:LIBRARY:FUNCTION(SIGNATURE)[:TYPES:EXPRS[:FILTER]]`);
  const fm = /^([^(]+)\((.*)\)$/.exec(parts[2].trim());
  if (!fm) throw new UsageError(`invalid specifier '${raw}': the function needs its (signature), e.g. malloc(size_t size) or fork()`);
  const point = probePoint([parts[0], parts[1], fm[1].trim()], pid, raw);
  // Signature parameters are the function's arguments in order.
  const params = new Map<string, string>();
  fm[2].split(',').map((p) => p.trim()).filter((p) => p).forEach((p, i) => {
    const name = /(\w+)\s*$/.exec(p)?.[1];
    if (!name) throw new UsageError(`invalid specifier '${raw}': bad parameter '${p}'`);
    params.set(name, `arg${i}`);
  });
  const defaultExpr = parts.length < 5;
  let ctypes: string[];
  let shown: string[];
  if (defaultExpr) {
    if (point.kind !== 'r' && type === 'hist') throw new UsageError(`invalid specifier '${raw}': histograms must have expr`);
    ctypes = [point.kind === 'r' ? 'int' : 'u64'];
    shown = [point.kind === 'r' ? '$retval' : '1'];
  } else {
    ctypes = parts[3].split(',').map((t) => t.trim());
    shown = parts[4].split(',').map((x) => x.trim());
    if (ctypes.length !== shown.length) throw new UsageError(`invalid specifier '${raw}': mismatched # of exprs and types`);
    if (type === 'hist' && shown.length > 1) throw new UsageError(`invalid specifier '${raw}': histograms can only have 1 expr`);
  }
  const entry = new Map<string, string>();
  const withEntry = (x: string): string => x.replace(/\$entry\((\w+)\)/g, (_, n: string) => {
    if (!params.has(n)) throw new UsageError(`$entry(${n}): no such param`);
    if (point.kind !== 'r') throw new UsageError(`invalid specifier '${raw}': $entry is for return probes`);
    entry.set(n, params.get(n)!);
    return `__entry_${n}__`;
  }).replace(/\$latency\b/g, () => {
    if (point.kind !== 'r') throw new UsageError(`invalid specifier '${raw}': $latency is for return probes`);
    entry.set('$latency', 'nsecs');
    return '__latency__';
  });
  // The entry values are per-thread maps of this probe ({{I}}: its index, filled in with the program).
  const saved = (x: string): string => x.replace(/\b__entry_(\w+?)__/g, '@e{{I}}_$1[tid]').replace(/\b__latency__/g, '(nsecs - @e{{I}}_ts[tid])');
  const exprs = shown.map((x) => saved(rewrite(withEntry(x), params)));
  const filter = parts[5] !== undefined ? saved(rewrite(withEntry(parts[5]), params)) : undefined;
  return { raw, type, point, ...(label !== undefined ? { label } : {}), exprs, shown, ctypes, filter, defaultExpr, entry };
}

/** A key value as its C type prints (str() of a ctypes integer, or the string). */
function cValue(ctype: string, v: Plain): string {
  if (typeof v !== 'bigint') return String(v);
  const t = ctype.replace(/\s+/g, ' ').trim();
  const bits = /^(u?int8_t|u8|s8|char|unsigned char)$/.test(t) ? 8 : /^(u?int16_t|u16|s16|short|unsigned short)$/.test(t) ? 16 : /^(u?int32_t|u32|s32|int|unsigned|unsigned int)$/.test(t) ? 32 : 64;
  const unsigned = /^(u\d+|uint\d+_t|unsigned.*|size_t|unsigned long.*)$/.test(t) || t.endsWith('*');
  return (unsigned ? BigInt.asUintN(bits, v) : BigInt.asIntN(bits, v)).toString();
}

const isString = (ctype: string): boolean => ctype.replace(/\s+/g, '') === 'char*';

const parsedArgdist = new WeakMap<Opts, ArgdistProbe[]>();

function argdistSource(o: Opts): string {
  const z = o.has('string-size') ? num(o.get('string-size'), 'string-size') : 80;
  const who = [o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined, o.has('tid') ? `tid == ${num(o.get('tid'), 'tid')}` : undefined].filter((x) => x !== undefined);
  const lines: string[] = [];
  parsedArgdist.get(o)!.forEach((p, i) => {
    const sub = (s: string): string => s.replace(/\{\{I\}\}/g, String(i));
    const keys = p.exprs.map((x, j) => (isString(p.ctypes[j]) ? `str(${sub(x)}, ${z})` : `(int64)(${sub(x)})`));
    const update = p.type === 'hist' ? `@h${i} = hist(${keys[0]});` : `@c${i}[${keys.join(', ')}] = count();`;
    const filter = p.filter !== undefined ? `(${sub(p.filter)})` : undefined;
    if (p.entry.size > 0) {
      // The entry probe keeps what the return probe's $entry()/$latency read, per thread.
      const saves = [...p.entry].map(([n, v]) => `@e${i}_${n === '$latency' ? 'ts' : n}[tid] = ${v};`).join(' ');
      lines.push(`${p.point.entry!} /${who.join(' && ') || '1'}/ { ${saves} }`);
      const frees = [...p.entry.keys()].map((n) => `delete(@e${i}_${n === '$latency' ? 'ts' : n}[tid]);`).join(' ');
      const first = [...p.entry.keys()][0];
      lines.push(`${p.point.probe} /has_key(@e${i}_${first === '$latency' ? 'ts' : first}, tid)/ { ${filter ? `if ${filter} { ${update} }` : update} ${frees} }`);
    } else {
      lines.push(`${p.point.probe} /${[...who, ...(filter ? [filter] : [])].join(' && ') || '1'}/ { ${update} }`);
    }
  });
  return `config = { print_maps_on_exit = 0 }\n${lines.join('\n')}\n`;
}

/**
 * bcc's print_log2_hist: slot 0 holds the zeros and is never drawn, slot k >= 1 is [2^(k-1), 2^k); the stars scale
 * to the largest slot (zeros included), `count     distribution` as bcc's header spells it.
 */
function bccLog2Hist(e: MapEntryData, label: string): string {
  if (!isHistogram(e.value)) return '';
  const slots: bigint[] = [];
  for (const b of e.value.buckets) {
    const low = b.low ?? 0n;
    const slot = low <= 0n ? 0 : low.toString(2).length;
    while (slots.length <= slot) slots.push(0n);
    slots[slot] += b.count;
  }
  let idxMax = -1;
  slots.forEach((c, i) => { if (c > 0n) idxMax = i; });
  if (idxMax <= 0) return '';
  const max = slots.reduce((x, y) => (y > x ? y : x), 0n);
  const wide = idxMax > 32;
  const stars = wide ? 20 : 40;
  const w = wide ? 20 : 10;
  let s = `${' '.repeat(wide ? 15 : 5)}${label.padEnd(wide ? 29 : 19)} : count     distribution\n`;
  for (let i = 1; i <= idxMax; i++) {
    let low = (1n << BigInt(i)) >> 1n;
    const high = (1n << BigInt(i)) - 1n;
    if (low === high) low -= 1n;
    const n = Number((slots[i] * BigInt(stars)) / max);
    s += `${String(low).padStart(w)} -> ${String(high).padEnd(w)} : ${String(slots[i]).padEnd(8)} |${'*'.repeat(n).padEnd(stars)}|\n`;
  }
  return s;
}

const argdist: Tool = {
  summary: "counts or a histogram of a user function's or tracepoint's arguments (bcc's argdist)",
  usage: 'argdist [-p PID] [-t TID] [-z STRING_SIZE] [-i INTERVAL] [-d DURATION] [-n COUNT] [-c] [-T TOP] [-H specifier] [-C specifier]',
  flags: [
    { short: 'p', long: 'pid', value: true, help: 'id of the process to trace (optional)' },
    { short: 't', long: 'tid', value: true, help: 'id of the thread to trace (optional)' },
    { short: 'z', long: 'string-size', value: true, help: 'maximum string size to read from char* arguments' },
    { short: 'i', long: 'interval', value: true, help: 'output interval, in seconds (default 1 second)' },
    { short: 'd', long: 'duration', value: true, help: 'total duration of trace, in seconds' },
    { short: 'n', long: 'number', value: true, help: 'number of outputs' },
    { short: 'c', long: 'cumulative', help: 'do not clear histograms and freq counts at each interval' },
    { short: 'T', long: 'top', value: true, help: 'number of top results to show (not applicable to histograms)' },
    { short: 'H', long: 'histogram', value: true, repeat: true, help: 'probe specifier to capture histogram of' },
    { short: 'C', long: 'count', value: true, repeat: true, help: 'probe specifier to capture count of' },
  ],
  check(o) {
    for (const f of ['pid', 'tid', 'string-size', 'interval', 'duration', 'number', 'top']) if (o.has(f)) num(o.get(f), f);
    const list = (k: string): string[] => (typeof o.get(k) === 'string' ? (o.get(k) as string).split('\0') : []);
    const probes = [...list('count').map((s) => parseArgdist(s, 'freq', optPid(o))), ...list('histogram').map((s) => parseArgdist(s, 'hist', optPid(o)))];
    if (probes.length === 0) throw new UsageError('at least one specifier is required');
    parsedArgdist.set(o, probes);
  },
  source: (o) => argdistSource(o),
  template: () => ({}),
  options: (o) => (o.has('pid') ? { pid: num(o.get('pid'), 'pid') } : {}),
  header: () => '',
  interval: (o) => {
    const every = o.has('interval') ? num(o.get('interval'), 'interval') : 1;
    // bcc prints after each interval and stops once -n outputs or -d seconds are reached.
    const byDuration = o.has('duration') ? Math.max(1, Math.ceil(num(o.get('duration'), 'duration') / every)) : 0;
    const byNumber = o.has('number') ? num(o.get('number'), 'number') : 0;
    return { ms: every * 1000, count: byDuration && byNumber ? Math.min(byDuration, byNumber) : byDuration || byNumber };
  },
  exitSummary: false,
  durationByIntervals: true,
  async summary_(t, o, out) {
    const d = new Date();
    const two = (n: number): string => String(n).padStart(2, '0');
    out(`[${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}]\n`);
    const top = o.has('top') ? num(o.get('top'), 'top') : undefined;
    const probes = parsedArgdist.get(o)!;
    for (const [i, p] of probes.entries()) {
      const name = p.type === 'hist' ? `@h${i}` : `@c${i}`;
      const entries = await t.maps.get(name).entries();
      if (p.type === 'freq') {
        out(`${p.label ?? p.raw}\n\t${pad('COUNT', 10)} EVENT\n`);
        let rows = entries.map((e) => ({ key: e.key, n: BigInt(e.value as bigint) })).sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
        if (top !== undefined) rows = rows.slice(-top);
        for (const r of rows) {
          const key = p.defaultExpr ? (p.point.kind === 'r' ? `retval = ${cValue('int', r.key[0])}` : 'total calls') : p.shown.map((s, j) => `${s.replace(/\$entry\((\w+)\)/g, '$1')} = ${cValue(p.ctypes[j], r.key[j])}`).join(', ');
          out(`\t${pad(String(r.n), 10)} ${key}\n`);
        }
      } else {
        const label = p.label ?? (p.defaultExpr ? 'retval' : p.shown[0]);
        for (const e of entries) out(bccLog2Hist(e, label));
      }
      if (!o.has('cumulative')) await t.maps.get(name).clear();
    }
  },
};

export const ONESHOT_TOOLS: Record<string, Tool> = { trace, argdist };
