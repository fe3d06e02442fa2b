/** `bpfkit trace` against bpftrace 0.17 on controlled workloads: the canonical one-liners give the counts, sums and histograms the workload made, and the same as bpftrace. */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildNative } from '../helpers/native.js';
import { skipReason } from '../helpers/reference.js';

const skip = skipReason('trace-bpftrace', { root: true, commands: ['bpftrace', 'gcc'], files: ['/sys/kernel/btf/vmlinux'] });

/** A printed map: scalar values by key (`""` for an unkeyed map) and histograms as bucket label → count. */
interface PrintedMap { values: Map<string, string>; buckets: Map<string, bigint> }

/**
 * Parses what a tracer printed at exit into maps by name. Stats are normalised to
 * `count C, average A, total T` (bpftrace 0.17 prints that; current bpftrace prints a record).
 */
function parseMaps(out: string): Map<string, PrintedMap> {
  const maps = new Map<string, PrintedMap>();
  const get = (name: string): PrintedMap => {
    let m = maps.get(name);
    if (!m) maps.set(name, (m = { values: new Map(), buckets: new Map() }));
    return m;
  };
  let hist: PrintedMap | undefined;
  for (const line of out.split('\n')) {
    const bucket = /^(\[[^\]]*[\])]|\(\.\.\.[^\]]*\]|\[[^,]*, \.\.\.\))\s+(\d+) \|/.exec(line);
    if (hist && bucket) {
      hist.buckets.set(bucket[1].replace(/\s+/g, ''), BigInt(bucket[2]));
      continue;
    }
    hist = undefined;
    const m = /^(@\w*)(\[.*\])?:\s?(.*)$/.exec(line);
    if (!m) continue;
    const map = get(m[1]);
    const value = m[3].trim();
    if (value === '') {
      hist = map;
      continue;
    }
    const rec = /^\{ \.count = (-?\d+), \.average = (-?\d+), \.total = (-?\d+) \}$/.exec(value);
    map.values.set(m[2] ?? '', rec ? `count ${rec[1]}, average ${rec[2]}, total ${rec[3]}` : value);
  }
  return maps;
}

/** What one tracer printed, its exit status, and the workload's pid (it prints `pid=N` first). */
interface Run { status: number; out: string; err: string; maps: Map<string, PrintedMap>; childPid: string }

let runs = 0;
/** A fresh file the workload writes its pid into (its stdout may bypass an in-process CLI's capture). */
function pidFile(): string {
  const f = path.join(dir, `pid-${++runs}`);
  process.env.TRW_PIDFILE = f;
  return f;
}

function finish(status: number, out: string, err: string, pidfile: string): Run {
  const pidText = existsSync(pidfile) ? readFileSync(pidfile, 'utf8') : out;
  return { status, out, err, maps: parseMaps(out), childPid: /^pid=(\d+)$/m.exec(pidText)?.[1] ?? '' };
}

function runBpftrace(program: string, command?: string): Run {
  const args = ['-e', program, ...(command ? ['-c', command] : [])];
  const pidfile = pidFile();
  const r = spawnSync('bpftrace', args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TRW_PIDFILE: pidfile } });
  return finish(r.status ?? -1, r.stdout, r.stderr, pidfile);
}

async function runBpfkit(program: string, command?: string): Promise<Run> {
  const pidfile = pidFile();
  const r = await runCli(['trace', '-e', program, ...(command ? ['-c', command] : [])]);
  return finish(r.status, r.stdout, r.stderr, pidfile);
}

/** Runs a one-liner under both tools (`old`: its bpftrace 0.17 spelling where the language changed). */
async function both(program: string, command?: string, old = program): Promise<{ kit: Run; ref: Run }> {
  const kit = await runBpfkit(program, command);
  const ref = runBpftrace(old, command);
  expect(kit.status, `bpfkit trace failed: ${kit.err}`).toBe(0);
  expect(ref.status, `bpftrace failed: ${ref.err}`).toBe(0);
  return { kit, ref };
}

/** A map's values as a plain object, the child's pid replaced by `PID` so two runs compare. */
function values(run: Run, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of run.maps.get(name)?.values ?? []) out[run.childPid ? k.replace(`[${run.childPid}]`, '[PID]') : k] = v;
  return out;
}

function buckets(run: Run, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of run.maps.get(name)?.buckets ?? []) out[k] = v.toString();
  return out;
}

/** bpftrace's power-of-two bucket label for v (v > 0 here; 1 has its own `[1]` bucket). */
function log2Label(v: number): string {
  if (v === 1) return '[1]';
  const unit = (x: number): string => {
    for (const [s, p] of [['M', 20], ['K', 10]] as const) if (x >= 2 ** p && x % 2 ** p === 0) return `${x / 2 ** p}${s}`;
    return String(x);
  };
  let lo = 1;
  while (lo * 2 <= v) lo *= 2;
  return `[${unit(lo)},${unit(lo * 2)})`;
}

let dir = '';
let exe = '';
/** The workload's comm: a symlink name unique to this run, so both tools count only our process. */
let comm = '';

describe.skipIf(skip)('bpfkit trace vs bpftrace 0.17 on controlled workloads', () => {
  beforeAll(() => {
    const built = buildNative('trace-workload');
    dir = mkdtempSync(path.join(os.tmpdir(), 'traceref-'));
    comm = `trw${process.pid % 100000}`;
    exe = path.join(dir, comm);
    symlinkSync(built, exe);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('read sizes: count, sum, hist, lhist, min, max, avg, stats, per-pid count, with a tracepoint args filter', async () => {
    const sizes = [100, 4096, 3000, 1, 65536, 700];
    const n = 50;
    const prog = `tracepoint:syscalls:sys_enter_read /comm == "${comm}" && args->fd == 77/ {
      @c = count(); @s = sum(args->count); @h = hist(args->count); @l = lhist(args->count, 0, 5000, 1000);
      @mn = min(args->count); @mx = max(args->count); @a = avg(args->count); @st = stats(args->count); @p[pid] = count(); }`;
    const { kit, ref } = await both(prog, `${exe} read ${n} ${sizes.join(' ')}`);
    const made = Array.from({ length: n }, (_, i) => sizes[i % sizes.length]);
    const total = made.reduce((a, b) => a + b, 0);
    const expected = {
      '@c': { '': String(n) }, '@s': { '': String(total) }, '@mn': { '': String(Math.min(...made)) }, '@mx': { '': String(Math.max(...made)) },
      '@a': { '': String(Math.floor(total / n)) }, '@st': { '': `count ${n}, average ${Math.floor(total / n)}, total ${total}` }, '@p': { '[PID]': String(n) },
    };
    for (const [name, want] of Object.entries(expected)) {
      expect(values(kit, name), `bpfkit ${name}`).toEqual(want);
      expect(values(ref, name), `bpftrace ${name}`).toEqual(want);
    }
    // Histograms: the workload's own buckets, with bpftrace's empty buckets between the lowest and highest.
    const hist = buckets(ref, '@h');
    for (const v of made) expect(Number(hist[log2Label(v)] ?? '0')).toBeGreaterThan(0);
    for (const label of new Set(made.map(log2Label))) expect(hist[label]).toBe(String(made.filter((v) => log2Label(v) === label).length));
    expect(buckets(kit, '@h')).toEqual(hist);
    const lhist = buckets(ref, '@l');
    const lin = (v: number): string => (v >= 5000 ? '[5000,...)' : `[${Math.floor(v / 1000) * 1000},${Math.floor(v / 1000) * 1000 + 1000})`);
    for (const label of new Set(made.map(lin))) expect(lhist[label]).toBe(String(made.filter((v) => lin(v) === label).length));
    expect(buckets(kit, '@l')).toEqual(lhist);
  }, 120_000);

  it('count by comm and by probe (wildcard tracepoints), getppid called N times', async () => {
    const n = 2000;
    const byComm = await both('tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }', `${exe} getppid ${n}`);
    for (const r of [byComm.kit, byComm.ref]) expect(values(r, '@')[`[${comm}]`]).toBe(String(n));
    const byProbe = await both(`tracepoint:syscalls:sys_enter_getp* /comm == "${comm}"/ { @[probe] = count(); }`, `${exe} getppid ${n}`);
    // The workload's own getpid() (it prints its pid) is the one other call.
    expect(values(byProbe.ref, '@')).toEqual({ '[tracepoint:syscalls:sys_enter_getpid]': '1', '[tracepoint:syscalls:sys_enter_getppid]': String(n) });
    expect(values(byProbe.kit, '@')).toEqual(values(byProbe.ref, '@'));
  }, 120_000);

  it('count by syscall id (raw_syscalls args->id), per-pid counts', async () => {
    const n = 1500;
    const { kit, ref } = await both(`tracepoint:raw_syscalls:sys_enter /comm == "${comm}"/ { @[args->id] = count(); @p[pid] = count(); }`, `${exe} getpid ${n}`);
    const getpidNr = '[39]'; // x86-64
    if (os.arch() === 'x64') expect(Number(values(ref, '@')[getpidNr])).toBe(n + 1); // + the pid it prints
    expect(values(kit, '@')[getpidNr]).toBe(values(ref, '@')[getpidNr]);
    // Every syscall after exec is the same binary doing the same thing: the whole maps agree.
    expect(values(kit, '@')).toEqual(values(ref, '@'));
    expect(Object.keys(values(kit, '@p'))).toEqual(['[PID]']);
    expect(values(kit, '@p')).toEqual(values(ref, '@p'));
  }, 120_000);

  it('uprobe and uretprobe on a function called N times: counts, sum of arg0, sum of retval', async () => {
    const n = 1234;
    const prog = `uprobe:${exe}:trw_work { @c = count(); @s = sum(arg0); @h = hist(arg0); } uretprobe:${exe}:trw_work { @r = sum(retval); }`;
    const { kit, ref } = await both(prog, `${exe} uprobe ${n}`);
    const want = { '@c': String(n), '@s': String((n * (n - 1)) / 2), '@r': String((3 * n * (n - 1)) / 2) };
    for (const [name, v] of Object.entries(want)) {
      expect(values(ref, name), `bpftrace ${name}`).toEqual({ '': v });
      expect(values(kit, name), `bpfkit ${name}`).toEqual({ '': v });
    }
    expect(buckets(kit, '@h')).toEqual(buckets(ref, '@h'));
  }, 120_000);

  it('interval printing ends after three ticks with the same lines', async () => {
    const prog = 'BEGIN { @i = 0; } interval:ms:100 { @i = @i + 1; printf("tick %d\\n", @i); if (@i == 3) { exit(); } }';
    const { kit, ref } = await both(prog);
    const ticks = (r: Run): string[] => r.out.split('\n').filter((l) => l.startsWith('tick'));
    expect(ticks(ref)).toEqual(['tick 1', 'tick 2', 'tick 3']);
    expect(ticks(kit)).toEqual(ticks(ref));
    expect(values(kit, '@i')).toEqual(values(ref, '@i'));
  }, 60_000);
});
