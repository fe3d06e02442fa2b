/** `bpfkit tools` built on user-space probes of one process: memleak (libbpf-tools' memleak -p), and bcc's trace and argdist one-shot probes. */

import type { Plain } from '../trace/index.js';
import { UsageError, num, optPid, probePath, require_fs, uprobeTarget } from './tools-lib.js';
import type { Tool } from './tools-lib.js';
import { ONESHOT_TOOLS } from './tools-oneshot.js';

/** The allocator object of `-O OBJ` (libc.so.6 by default) as mapped by process `pid`: a path, or a mapped file by name. */
function allocatorObject(obj: string, pid: number): string {
  if (obj.includes('/')) {
    if (!require_fs().existsSync(obj)) throw new UsageError(`${obj} not found`);
    return probePath(obj);
  }
  let maps: string;
  try {
    maps = require_fs().readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    throw new UsageError(`no process ${pid}`);
  }
  for (const l of maps.split('\n')) {
    const p = l.slice(l.indexOf('/'));
    if (l.includes('/') && p.slice(p.lastIndexOf('/') + 1) === obj) return probePath(p);
  }
  // libbpf-tools' -O also takes a library's short name (`c`, `jemalloc`): the mapped libNAME.
  return probePath(uprobeTarget(`${obj.replace(/^lib/, '').replace(/\.so.*$/, '')}:malloc`, pid).path);
}

/** A process's file mappings (start, end, path) from /proc/PID/maps, for frames that have no symbol. */
function fileMappings(pid: number): [bigint, bigint, string][] {
  try {
    return require_fs().readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes('/')).map((l) => {
      const [lo, hi] = l.slice(0, l.indexOf(' ')).split('-');
      return [BigInt(`0x${lo}`), BigInt(`0x${hi}`), l.slice(l.indexOf('/'))];
    });
  } catch {
    return [];
  }
}

/**
 * One user stack frame as libbpf-tools' memleak prints it (`\tN [<ADDR>] SYM+0xOFF [DSO]`, ` [DSO]` alone without a symbol,
 * `<null sym>` outside any file), from a `ustack(perf)` line (`ADDR SYM+OFF (MODULE)`).
 */
function frameLine(i: number, line: string, maps: [bigint, bigint, string][]): string {
  const m = /^([0-9a-f]+) (.*) \((.*)\)$/.exec(line.trim());
  if (!m) return `\t${i} <${line.trim()}>\n`;
  const addr = `[<${m[1].padStart(16, '0')}>]`;
  const sym = /^(.*)\+(\d+)$/.exec(m[2]);
  if (sym && m[3] !== '[unknown]') return `\t${i} ${addr} ${sym[1]}+0x${Number(sym[2]).toString(16)} [${m[3]}]\n`;
  const a = BigInt(`0x${m[1]}`);
  const dso = maps.find(([lo, hi]) => a >= lo && a < hi)?.[2];
  return dso !== undefined ? `\t${i} ${addr} [${dso}]\n` : `\t${i} ${addr} <null sym>\n`;
}

/** The positional `[INTERVAL] [INTERVALS]` of memleak: 5 s, until stopped. */
function memleakInterval(pos: string[]): { ms: number; count: number } {
  const pos1 = (i: number, what: string, dflt: number): number => {
    if (pos[i] === undefined) return dflt;
    const n = num(pos[i], what);
    if (n <= 0) throw new UsageError(`invalid ${what}: ${pos[i]}`);
    return n;
  };
  if (pos.length > 2) throw new UsageError(`Unrecognized positional argument: ${pos[2]}`);
  return { ms: pos1(0, 'INTERVAL', 5) * 1000, count: pos1(1, 'INTERVALS', 0) };
}

const memleak: Tool = {
  summary: 'trace outstanding memory allocations of a process (uprobes on its allocator)',
  usage: 'memleak -p PID [-t] [-a] [-o AGE_MS] [-C] [-F] [-s SAMPLE_RATE] [-T TOP_STACKS] [-z MIN_SIZE] [-Z MAX_SIZE] [-O OBJECT] [-S SYMBOLS_PREFIX] [--perf-max-stack-depth N] [INTERVAL] [INTERVALS]',
  flags: [
    { short: 'p', long: 'pid', value: true, help: 'process ID to trace (kernel allocations need kprobes-free kmem tracing: not here)' },
    { short: 't', long: 'trace', help: 'print trace messages for each alloc/free call' },
    { short: 'a', long: 'show-allocs', help: 'show allocation addresses and sizes as well as call stacks' },
    { short: 'o', long: 'older', value: true, help: 'prune allocations younger than this age in milliseconds' },
    { short: 'C', long: 'combined-only', help: 'show combined allocation statistics only' },
    { short: 'F', long: 'wa-missing-free', help: 'workaround to alleviate misjudgments when free is missing' },
    { short: 's', long: 'sample-rate', value: true, help: 'sample every N-th allocation to decrease the overhead' },
    { short: 'T', long: 'top', value: true, help: 'display only this many top allocating stacks (by size)' },
    { short: 'z', long: 'min-size', value: true, help: 'capture only allocations larger than or equal to this size' },
    { short: 'Z', long: 'max-size', value: true, help: 'capture only allocations smaller than or equal to this size' },
    { short: 'O', long: 'obj', value: true, help: 'attach to allocator functions in the specified object' },
    { short: 'S', long: 'symbols-prefix', value: true, help: 'memory allocator symbols prefix' },
    { long: 'perf-max-stack-depth', value: true, help: 'the limit for user stack traces (default 127)' },
  ],
  check(o, pos) {
    if (!o.has('pid')) throw new UsageError('kernel allocations (no -p) need the kmem tracepoints: not supported yet, give -p PID');
    const positive = (flag: string): void => {
      if (o.has(flag) && num(o.get(flag), flag) <= 0) throw new UsageError(`invalid ${flag}: ${String(o.get(flag))}`);
    };
    for (const f of ['pid', 'older', 'sample-rate', 'top', 'min-size', 'max-size', 'perf-max-stack-depth']) positive(f);
    if (o.has('min-size') && o.has('max-size') && num(o.get('min-size'), 'min-size') > num(o.get('max-size'), 'max-size')) throw new UsageError("min size (-z) can't be greater than max_size (-Z)");
    if (o.has('perf-max-stack-depth') && num(o.get('perf-max-stack-depth'), 'perf-max-stack-depth') > 127) throw new UsageError('invalid perf-max-stack-depth: at most 127');
    const prefix = o.get('symbols-prefix');
    if (typeof prefix === 'string' && !/^\w*$/.test(prefix)) throw new UsageError(`invalid symbols prefix: ${prefix}`);
    memleakInterval(pos);
  },
  template: (o) => {
    const pid = optPid(o)!;
    const keep = [
      o.has('min-size') ? `$s >= ${num(o.get('min-size'), 'min-size')}` : undefined,
      o.has('max-size') ? `$s <= ${num(o.get('max-size'), 'max-size')}` : undefined,
      // libbpf-tools samples on the clock, not on a counter.
      o.has('sample-rate') && num(o.get('sample-rate'), 'sample-rate') > 1 ? `nsecs % ${num(o.get('sample-rate'), 'sample-rate')} == 0` : undefined,
    ].filter((x) => x !== undefined);
    const obj = typeof o.get('obj') === 'string' ? (o.get('obj') as string) : 'libc.so.6';
    return {
      LIB: allocatorObject(obj, pid),
      FILTER: `pid == ${pid}`,
      KEEP: keep.join(' && ') || '1',
      TRACE: o.has('trace') ? '1' : '0',
      P: typeof o.get('symbols-prefix') === 'string' ? (o.get('symbols-prefix') as string) : '',
      DEPTH: o.has('perf-max-stack-depth') ? String(num(o.get('perf-max-stack-depth'), 'perf-max-stack-depth')) : '127',
    };
  },
  options: (o) => ({ pid: optPid(o)! }),
  header: (o) => `${o.has('obj') ? '' : 'using default object: libc.so.6\n'}using page size: 4096\nAttaching to pid ${optPid(o)!}, Ctrl+C to quit.\n`,
  onEvent(e, _o, out) {
    if (e.type === 'printf') out(`${e.text}`);
  },
  interval: (_o, pos) => memleakInterval(pos),
  async summary_(t, o, out) {
    const sizes = await t.maps.get('@addr').entries();
    const stacks = new Map((await t.maps.get('@stk').entries()).map((e) => [String(e.key[0]), String(e.value)]));
    const times = new Map((await t.maps.get('@ts').entries()).map((e) => [String(e.key[0]), BigInt(e.value as bigint)]));
    // bpf_ktime_get_ns() and Node's hrtime are both CLOCK_MONOTONIC; libbpf-tools' default minimum age is 500 ns.
    const now = process.hrtime.bigint();
    const minAge = o.has('older') ? BigInt(num(o.get('older'), 'older')) * 1000000n : 500n;
    const combined = o.has('combined-only');
    const byStack = new Map<string, { size: bigint; count: number; allocs: [bigint, bigint][] }>();
    for (const e of sizes) {
      const addr = BigInt(e.key[0] as bigint);
      const key = String(addr);
      const stack = stacks.get(key);
      if (stack === undefined) continue;
      if (!combined && now - minAge < (times.get(key) ?? 0n)) continue;
      const size = BigInt(e.value as Plain as bigint);
      const g = byStack.get(stack) ?? { size: 0n, count: 0, allocs: [] };
      g.size += size;
      g.count++;
      g.allocs.push([addr, size]);
      byStack.set(stack, g);
    }
    const top = o.has('top') ? num(o.get('top'), 'top') : 10;
    const shown = [...byStack].sort((a, b) => (b[1].size > a[1].size ? 1 : b[1].size < a[1].size ? -1 : 0)).slice(0, top);
    const d = new Date();
    out(`[${d.getHours()}:${d.getMinutes()}:${d.getSeconds()}] Top ${shown.length} stacks with outstanding allocations:\n`);
    const maps = fileMappings(optPid(o)!);
    for (const [stack, g] of shown) {
      out(`${g.size} bytes in ${g.count} allocations from stack\n`);
      if (o.has('show-allocs') && !combined) for (const [addr, size] of g.allocs) out(`\taddr = 0x${addr.toString(16)} size = ${size}\n`);
      stack.split('\n').filter((l) => l.trim()).forEach((l, i) => out(frameLine(i, l, maps)));
    }
  },
};

export const PROBE_TOOLS: Record<string, Tool> = { memleak, ...ONESHOT_TOOLS };
