/** Benchmark: `bpfkit trace` beside bpftrace 0.17 in one run — launch to first event in user space, per-event cost of a keyed count on getppid, and peak RSS. */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Repeats per launch row, and alternating runs per per-event row (medians are reported). */
const LAUNCHES = Number(process.env.TRACE_BENCH_LAUNCHES ?? 5);
const ROUNDS = Number(process.env.TRACE_BENCH_ROUNDS ?? 5);
/** getppid calls per per-event measurement. */
const CALLS = Number(process.env.TRACE_BENCH_CALLS ?? 2_000_000);

/** Runs a command and reports the peak RSS of it (and its children) through getrusage, as a wrapper that lets SIGINT reach it. */
const RSS_WRAPPER = [
  'import resource, signal, subprocess, sys',
  'signal.signal(signal.SIGINT, signal.SIG_IGN)',
  'r = subprocess.call(sys.argv[1:], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))',
  'sys.stderr.write("maxrss_kb=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
  'sys.exit(r)',
].join('\n');

interface Tool { name: string; argv: string[] }
const tools: Tool[] = [
  { name: 'bpfkit', argv: [path.join(root, 'bin/bpfkit'), 'trace'] },
  { name: 'bpftrace', argv: ['bpftrace'] },
];

function buildWorkload(): string {
  const src = path.join(root, 'test/reference/native/trace-workload.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'bpfkit-native');
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, `trace-workload-${hash}`);
  if (!existsSync(exe)) {
    execFileSync('gcc', ['-O2', '-o', `${exe}.tmp`, src]);
    renameSync(`${exe}.tmp`, exe);
  }
  return exe;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const maxRss = (stderr: string): number => Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? NaN) / 1024;

/** Wall time of a run to completion, and its peak RSS in MiB. */
function timeRun(tool: Tool, program: string): { ms: number; rssMb: number; ok: boolean } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('python3', ['-c', RSS_WRAPPER, ...tool.argv, '-e', program], { encoding: 'utf8', timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, rssMb: maxRss(r.stderr), ok: r.status === 0 && r.stdout.includes('x\n') };
}

/** Starts a tracer and resolves when `marker` appears in its output (ms since launch); the caller ends it. */
function startTracer(tool: Tool, program: string, marker: RegExp): { ready: Promise<number>; stop: () => Promise<number> } {
  const t0 = process.hrtime.bigint();
  const child = spawn('python3', ['-c', RSS_WRAPPER, ...tool.argv, '-e', program], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  const ready = new Promise<number>((resolve, reject) => {
    const look = (): void => {
      if (marker.test(out + err)) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    };
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); look(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); look(); });
    child.on('exit', () => reject(new Error(`${tool.name} exited before ${marker}: ${err.trim().split('\n').slice(-2).join(' | ')}`)));
  });
  ready.catch(() => undefined);
  const stop = (): Promise<number> => new Promise((resolve) => {
    child.on('exit', () => resolve(maxRss(err)));
    if (child.exitCode !== null) resolve(maxRss(err));
    else process.kill(-child.pid!, 'SIGINT');
  });
  return { ready, stop };
}

/** ns per getppid call of the workload (it measures its own loop). */
function loopNs(exe: string): number {
  const r = spawnSync(exe, ['getppid', String(CALLS)], { encoding: 'utf8' });
  return Number(/ns\/call=([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
}

function row(label: string, kit: number, ref: number, unit: string, goal: string): void {
  const f = (v: number): string => `${v.toFixed(unit === 'ns/event' ? 1 : unit === 'MiB' ? 1 : 0)} ${unit}`;
  console.log(`${label.padEnd(44)} bpfkit ${f(kit).padStart(13)}   bpftrace ${f(ref).padStart(13)}   ratio ${(kit / ref).toFixed(2)}   goal: ${goal}`);
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v bpftrace']).status !== 0) {
    console.log('bpftrace is not installed: nothing to compare with (apt-get install bpftrace)');
    return;
  }
  if (!existsSync(path.join(root, 'dist/cli/bundle/main.cjs'))) {
    console.log('dist/ is not built: run `npm run build` first (the benchmark runs ./bin/bpfkit as a user would)');
    return;
  }
  const workload = buildWorkload();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'traceref-bench-'));
  const comm = `trwb${process.pid % 100000}`;
  const exe = path.join(dir, comm);
  symlinkSync(workload, exe);
  const rss: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
  try {
    // 1. BEGIN → printf → exit: the whole launch, compile, load and first output.
    const launch: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    for (let i = 0; i < LAUNCHES; i++) {
      for (const t of tools) {
        const r = timeRun(t, 'BEGIN { printf("x\\n"); exit(); }');
        if (!r.ok) throw new Error(`${t.name} failed the BEGIN run`);
        launch[t.name].push(r.ms);
        rss[t.name].push(r.rssMb);
      }
    }
    row('launch: BEGIN printf exit (wall, median)', median(launch.bpfkit), median(launch.bpftrace), 'ms', 'bpfkit <= 1/2 of bpftrace');
    // The floor under bpfkit's launch on this machine: Node starting and exiting with nothing to load.
    const bare: number[] = [];
    for (let i = 0; i < LAUNCHES; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0']);
      bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(`${'  (node -e 0 on this machine, median)'.padEnd(44)} ${median(bare).toFixed(0)} ms`);

    // 2. A tracepoint one-liner until its first printed event, on a process making one getppid per ms.
    const first: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    const trickle = spawn(exe, ['paced', '1000000'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < LAUNCHES; i++) {
        for (const t of tools) {
          const tr = startTracer(t, `tracepoint:syscalls:sys_enter_getppid /comm == "${comm}"/ { printf("hit\\n"); exit(); }`, /^hit$/m);
          first[t.name].push(await tr.ready);
          rss[t.name].push(await tr.stop());
        }
      }
    } finally {
      trickle.kill('SIGKILL');
    }
    row('launch: tracepoint to first printed event', median(first.bpfkit), median(first.bpftrace), 'ms', 'bpfkit <= 1/2 of bpftrace');

    // 3. Per-event cost: the same loop of getppid calls with and without the program attached.
    const perEvent: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const t of tools) {
        const before = loopNs(exe);
        const tr = startTracer(t, 'tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }', /Attach(ed|ing) 1 probe/);
        await tr.ready;
        // bpftrace prints "Attaching" before it attaches: give both a moment so the loop runs attached.
        await new Promise((r) => setTimeout(r, 300));
        const during = loopNs(exe);
        rss[t.name].push(await tr.stop());
        const after = loopNs(exe);
        perEvent[t.name].push(during - (before + after) / 2);
      }
    }
    row(`per event: @[comm] = count() on getppid (${CALLS / 1e6}M)`, median(perEvent.bpfkit), median(perEvent.bpftrace), 'ns/event', 'bpfkit below bpftrace');
    row('peak RSS over all runs', Math.max(...rss.bpfkit), Math.max(...rss.bpftrace), 'MiB', 'bpfkit <= 90 MB');
    console.log(`(medians of ${LAUNCHES} launches and ${ROUNDS} per-event rounds; per-event samples bpfkit ${perEvent.bpfkit.map((v) => v.toFixed(0)).join(' ')}, bpftrace ${perEvent.bpftrace.map((v) => v.toFixed(0)).join(' ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
