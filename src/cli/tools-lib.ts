/** Shared pieces of `bpfkit tools`: the Tool shape, flag values, column padding and libbpf-tools' histogram drawing. */

import { isHistogram } from '../trace/api.js';
import type { MapEntryData, Trace, TraceEvent, TraceOptions } from '../trace/index.js';

/** One flag: short and long names, whether it takes a value. */
export interface Flag {
  short?: string;
  long: string;
  value?: boolean;
  /** Given more than once, the values are kept (joined by NUL), as argparse's action="append". */
  repeat?: boolean;
  help: string;
}

export type Opts = Map<string, string | true>;

/** libbpf-tools' `-c CG`: only tasks in that cgroup v2 directory or below (every tool that has it; see runTool). */
export const CGROUP_FLAG: Flag = { short: 'c', long: 'cgroup', value: true, help: 'Trace process in cgroup path' };

/** What a tool does with its parsed flags. */
export interface Tool {
  summary: string;
  usage: string;
  flags: Flag[];
  /** Replacements of `{{NAME}}` in the tool's .bt file. */
  template(o: Opts, positional: string[]): Record<string, string>;
  /** Printed once the probes are attached (libbpf-tools print their header then). */
  header(o: Opts, positional: string[]): string;
  /** Live events (snoop tools). */
  onEvent?(e: TraceEvent, o: Opts, out: (s: string) => void, state: Map<string, unknown>): void;
  /** Periodic or final summaries (syscount, biolatency); returns the interval in ms and how many (0: until stopped). */
  interval?(o: Opts, positional: string[]): { ms: number; count: number };
  summary_?(t: Trace, o: Opts, out: (s: string) => void, positional: string[]): Promise<void>;
  /** Attach options (uprobes' `-p PID`). */
  options?(o: Opts, positional: string[]): TraceOptions;
  /** Printed after the last summary (funclatency's "Exiting trace of …"). */
  footer?(o: Opts, positional: string[]): string;
  /** Milliseconds to run for, from a positional duration (snoop tools' `[duration]`). */
  stopAfter?(o: Opts, positional: string[]): number | undefined;
  /** The program itself, for tools whose probes come from the command line (trace, argdist, funccount). */
  source?(o: Opts, positional: string[]): string;
  /** Checks done before attaching (e.g. a required positional); throws UsageError. */
  check?(o: Opts, positional: string[]): void;
  /** What to print instead of tracing (syscount -l), or undefined to trace. */
  list?(o: Opts, positional: string[]): string | undefined;
  /** false: no summary when stopped (bcc's argdist prints only at its intervals). */
  exitSummary?: boolean;
  /** `-d` counts in intervals (interval() says how many), rather than stopping the trace on its own. */
  durationByIntervals?: boolean;
}

export class UsageError extends Error {}

export const pad = (s: string | number | bigint, n: number): string => String(s).padEnd(n);
export const lpad = (s: string | number | bigint, n: number): string => String(s).padStart(n);
export const num = (v: string | true | undefined, flag: string): number => {
  if (typeof v !== 'string' || !/^-?[0-9]+$/.test(v)) throw new UsageError(`invalid ${flag}: ${String(v)}`);
  return Number(v);
};
export const hhmmss = (): string => new Date().toTimeString().slice(0, 8);
export const and = (...parts: (string | undefined)[]): string => parts.filter((p): p is string => !!p).join(' && ') || '1';

/** Signal names as the kernel numbers them on x86-64. */
export { SIGNALS } from '../trace/signals.js';

/** The kernel's TCP states by number (include/net/tcp_states.h). */
export const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];

const startNs = process.hrtime.bigint();
export const elapsed = (): string => (Number(process.hrtime.bigint() - startNs) / 1e9).toFixed(3);

/** A block device's name from its dev_t (the kernel's 12:20 encoding), through /sys/dev/block. */
export function diskName(dev: number): string {
  const major = dev >>> 20;
  const minor = dev & 0xfffff;
  try {
    return require_fs().readlinkSync(`/sys/dev/block/${major}:${minor}`).split('/').pop() ?? `${major}:${minor}`;
  } catch {
    return `${major}:${minor}`;
  }
}

/** A disk's dev_t (the kernel's 12:20 encoding) from its name, through /sys/class/block/NAME/dev. */
export function diskDev(name: string): number {
  let text: string;
  try {
    text = require_fs().readFileSync(`/sys/class/block/${name.replace(/^\/dev\//, '')}/dev`, 'utf8');
  } catch {
    throw new UsageError(`invaild partition name: not exist`);
  }
  const [major, minor] = text.trim().split(':').map(Number);
  return major * 2 ** 20 + minor;
}

/** Where shared libraries live on x86-64 Linux distributions (Debian's multiarch first). */
const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/**
 * A uprobe target as libbpf-tools' resolve_binary_path finds it: `:FUNC` is the binary of `-p PID`; with `-p`, `LIB:FUNC`
 * is the mapped /…/libLIB[.-]… of that process; otherwise a path or a program on PATH.
 */
export function uprobeTarget(spec: string, pid: number | undefined): { path: string; func: string } {
  const i = spec.indexOf(':');
  if (i < 0) throw new UsageError(`'${spec}' is a kernel function: kprobes are not available on this kernel (use LIBRARY:FUNCTION, :FUNCTION or PROGRAM:FUNCTION)`);
  const bin = spec.slice(0, i);
  const func = spec.slice(i + 1);
  if (!/^[A-Za-z_.*?$@][\w.*?$@]*$/.test(func)) throw new UsageError(`invalid function name: ${func}`);
  const fs = require_fs();
  if (bin === '') {
    if (pid === undefined) throw new UsageError('Uprobes need a pid or a binary');
    try {
      return { path: fs.readlinkSync(`/proc/${pid}/exe`), func };
    } catch {
      throw new UsageError(`no process ${pid}`);
    }
  }
  if (pid !== undefined && !bin.includes('/')) {
    let maps = '';
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      throw new UsageError(`no process ${pid}`);
    }
    for (const l of maps.split('\n')) {
      const p = l.slice(l.indexOf('/'));
      const base = p.slice(p.lastIndexOf('/lib') + 4);
      if (l.includes('/') && p.lastIndexOf('/lib') >= 0 && base.startsWith(bin) && /^[-.]/.test(base.slice(bin.length))) return { path: p, func };
    }
    throw new UsageError(`Cannot find library ${bin}`);
  }
  if (bin.includes('/')) {
    if (!fs.existsSync(bin)) throw new UsageError(`Can't find ${bin} (Need a PID if this is a library)`);
    return { path: bin, func };
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && fs.existsSync(`${dir}/${bin}`)) return { path: `${dir}/${bin}`, func };
  // A library by its short name (`c` is libc.so.6) in the loader's usual directories, as bcc's find_library finds it.
  for (const dir of LIB_DIRS) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    // libNAME.so itself is often a linker script: only an ELF file will do.
    const hit = names.filter((n) => n.startsWith(`lib${bin}.so`)).sort((a, b) => a.length - b.length).find((n) => isElf(`${dir}/${n}`));
    if (hit) return { path: `${dir}/${hit}`, func };
  }
  throw new UsageError(`Can't find ${bin} (Need a PID if this is a library)`);
}

/** A probe path for the trace language (paths with spaces or quotes are refused rather than quoted). */
export function probePath(p: string): string {
  if (!/^[\w./+-]+$/.test(p)) throw new UsageError(`unsupported path for a uprobe: ${p}`);
  return p;
}

/** Whether a file starts with the ELF magic. */
function isElf(path: string): boolean {
  const fs = require_fs();
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
    const b = new Uint8Array(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `-p PID` as a number, when given. */
export const optPid = (o: Opts): number | undefined => (o.has('pid') ? num(o.get('pid'), 'pid') : undefined);

let fsMod: typeof import('node:fs') | undefined;
/** The tools load node:fs lazily (start-up time); the runner hands it over before a tool runs. */
export function setFs(fs: typeof import('node:fs')): void {
  fsMod = fs;
}
export function require_fs(): typeof import('node:fs') {
  if (!fsMod) throw new Error('fs not loaded');
  return fsMod;
}

let syscallTable: Map<number, string> | undefined;
/** x86-64 syscall names by number, from the kernel's UAPI header when installed. */
export function syscallNames(): Map<number, string> {
  if (syscallTable) return syscallTable;
  syscallTable = new Map();
  try {
    const text = require_fs().readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
    for (const m of text.matchAll(/^#define __NR_(\w+)\s+(\d+)/gm)) syscallTable.set(Number(m[2]), m[1]);
  } catch {
    // numbers only
  }
  return syscallTable;
}

/** libbpf-tools' print_log2_hist: `low -> high : count |****|`, slots from 0 to the last used one, 40 stars. */
export function log2Hist(e: MapEntryData, unit: string): string {
  const v = e.value;
  if (!isHistogram(v)) return '';
  // bpftrace's bucket [2^k, 2^(k+1)) is libbpf's slot k; values 0 and 1 share slot 0.
  const slots: bigint[] = [];
  for (const b of v.buckets) {
    const low = b.low ?? 0n;
    const slot = low <= 1n ? 0 : low.toString(2).length - 1;
    while (slots.length <= slot) slots.push(0n);
    slots[slot] += b.count;
  }
  if (!slots.some((c) => c > 0n)) return '';
  const idxMax = slots.length - 1;
  const max = slots.reduce((a, b) => (b > a ? b : a), 0n);
  const wide = idxMax > 32;
  const stars = wide ? 20 : 40;
  const width = wide ? 20 : 10;
  let s = `${' '.repeat(wide ? 15 : 5)}${unit.padEnd(wide ? 29 : 19)} : count    distribution\n`;
  for (let i = 0; i <= idxMax; i++) {
    let low = (1n << BigInt(i + 1)) >> 1n;
    const high = (1n << BigInt(i + 1)) - 1n;
    if (low === high) low -= 1n;
    const n = Number((slots[i] * BigInt(stars)) / max);
    s += `${lpad(low, width)} -> ${pad(high, width)} : ${pad(slots[i], 8)} |${'*'.repeat(n)}${' '.repeat(stars - n)}|\n`;
  }
  return s;
}
