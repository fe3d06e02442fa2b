/** Benchmark: `bpfkit trace` beside bpftrace 0.17 in one run — launch to first event in user space, per-event cost of a keyed count on getppid, and peak RSS. */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Repeats per launch row, and alternating runs per per-event row (medians are reported). */
const LAUNCHES = Number(process.env.TRACE_BENCH_LAUNCHES ?? 7);
const ROUNDS = Number(process.env.TRACE_BENCH_ROUNDS ?? 5);
/** getppid calls per per-event measurement. */
const CALLS = Number(process.env.TRACE_BENCH_CALLS ?? 2_000_000);
/**
 * Pause after a tracer exits before the next launch. Detaching a tracepoint leaves work to the
 * kernel after the process is gone (the tracepoint's unregistration waits out an RCU grace
 * period, and a registration soon after one waits for it): back to back, every other launch of
 * either tool pays tens of ms for its predecessor. The pause lets that finish, so each launch
 * is measured as a user who runs one tracer would see it.
 */
const PAUSE_MS = Number(process.env.TRACE_BENCH_PAUSE_MS ?? 500);

/** GNU time, for peak RSS in runs that are not timed (a wrapper would add its own start-up to a launch). */
const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
/** Runs argv under GNU time, which prints the peak RSS of the command on stderr as `maxrss_kb=N` (it ignores SIGINT itself and waits). */
const rssArgv = (argv: string[]): string[] => (hasGnuTime ? [GNU_TIME, '-f', 'maxrss_kb=%M', ...argv] : argv);

interface Tool { name: string; argv: string[] }
const tools: Tool[] = [
  // TRACE_BENCH_BPFKIT: another build's bin/bpfkit, to compare builds with the same harness.
  { name: 'bpfkit', argv: [process.env.TRACE_BENCH_BPFKIT ?? path.join(root, 'bin/bpfkit'), 'trace'] },
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
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sinceMs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * One launch, the tool spawned directly with its standard output on a FIFO, as in a shell's
 * `tool | grep …` (Node's own stdio pipes are socket pairs, which no shell hands a tool): ms from
 * spawn to the first output line matching `marker` (the user's wall time to the first event),
 * and from then to the process's exit (its detach and teardown). The program ends itself with exit().
 */
function launch(tool: Tool, program: string, marker: RegExp, fifo: string): Promise<{ firstMs: number; exitMs: number }> {
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wfd = openSync(fifo, constants.O_WRONLY);
  const reader = new net.Socket({ fd: rfd, readable: true, writable: false });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(tool.argv[0], [...tool.argv.slice(1), '-e', program], { stdio: ['ignore', wfd, 'pipe'], detached: true });
    closeSync(wfd);
    let out = '';
    let err = '';
    let firstMs: number | undefined;
    let endMs = 0;
    reader.on('data', (d: Buffer) => {
      out += d.toString();
      if (firstMs === undefined && marker.test(out)) firstMs = sinceMs(t0);
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
    let open = 2;
    const done = (): void => {
      if (--open > 0) return;
      clearTimeout(timer);
      if (firstMs === undefined) reject(new Error(`${tool.name} printed no ${marker}: ${(out + err).trim().split('\n').slice(-3).join(' | ')}`));
      else resolve({ firstMs, exitMs: endMs - firstMs });
    };
    child.on('exit', () => {
      endMs = sinceMs(t0);
      done();
    });
    reader.on('close', done);
  });
}

/** Peak RSS (MiB) of one run of the program to its exit, under GNU time (a separate, untimed run). */
function peakRss(tool: Tool, program: string): number {
  if (!hasGnuTime) return NaN;
  const r = spawnSync(rssArgv(tool.argv)[0], [...rssArgv(tool.argv).slice(1), '-e', program], { encoding: 'utf8', timeout: 60_000 });
  return maxRss(r.stderr);
}

/** Starts a tracer under GNU time and resolves when `marker` appears in its output; stop() ends it and gives its peak RSS. */
function startTracer(tool: Tool, program: string, marker: RegExp): { ready: Promise<number>; stop: () => Promise<number> } {
  const t0 = process.hrtime.bigint();
  const argv = rssArgv(tool.argv);
  const child = spawn(argv[0], [...argv.slice(1), '-e', program], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  const ready = new Promise<number>((resolve, reject) => {
    const look = (): void => {
      if (marker.test(out + err)) resolve(sinceMs(t0));
    };
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); look(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); look(); });
    child.on('exit', () => reject(new Error(`${tool.name} exited before ${marker}: ${err.trim().split('\n').slice(-2).join(' | ')}`)));
  });
  ready.catch(() => undefined);
  const stop = (): Promise<number> => new Promise((resolve) => {
    child.on('close', () => resolve(maxRss(err)));
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
  console.log(`${label.padEnd(50)} bpfkit ${f(kit).padStart(13)}   bpftrace ${f(ref).padStart(13)}   ratio ${(kit / ref).toFixed(2)}   goal: ${goal}`);
}

/** A launch row: a program run LAUNCHES times per tool (the tools alternating, a pause after each run), medians reported. */
interface LaunchCase { label: string; program: string; marker: RegExp; trickle?: string[] }

async function launchRows(cases: LaunchCase[], exe: string, dir: string, rss: Record<string, number[]>): Promise<void> {
  for (const c of cases) {
    const first: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    const exit: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    const trickle = c.trickle ? spawn(exe, c.trickle, { stdio: 'ignore' }) : undefined;
    try {
      await sleep(PAUSE_MS);
      for (let i = 0; i < LAUNCHES; i++) {
        // Alternate which tool goes first, so neither always follows the other's teardown.
        for (const t of i % 2 ? [...tools].reverse() : tools) {
          const r = await launch(t, c.program, c.marker, path.join(dir, 'out.fifo'));
          first[t.name].push(r.firstMs);
          exit[t.name].push(r.exitMs);
          await sleep(PAUSE_MS);
        }
      }
      for (const t of tools) rss[t.name].push(peakRss(t, c.program));
    } finally {
      trickle?.kill('SIGKILL');
    }
    row(`launch → first event: ${c.label}`, median(first.bpfkit), median(first.bpftrace), 'ms', 'bpfkit <= 1/2 of bpftrace');
    const samples = (xs: number[]): string => xs.map((v) => v.toFixed(0)).join(' ');
    console.log(`${''.padEnd(50)} samples bpfkit ${samples(first.bpfkit)}; bpftrace ${samples(first.bpftrace)}`);
    console.log(`${''.padEnd(50)} then to exit (detach, teardown): bpfkit ${median(exit.bpfkit).toFixed(0)} ms, bpftrace ${median(exit.bpftrace).toFixed(0)} ms`);
  }
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
    console.log(`(each launch: the tool spawned directly, its output on a FIFO, timed from spawn to its first matching output line; ${PAUSE_MS} ms pause after each run)`);
    // 1. Launches: BEGIN (no kernel event: start, compile, load, run BEGIN), then tracepoints on a
    // process making one call per ms, without and with a tracepoint argument (the form most
    // published one-liners take; bpftrace 0.17 then parses the tracepoint's format with clang).
    await launchRows([
      { label: 'BEGIN printf exit', program: 'BEGIN { printf("x\\n"); exit(); }', marker: /^x$/m },
      {
        label: 'getppid, comm filter',
        program: `tracepoint:syscalls:sys_enter_getppid /comm == "${comm}"/ { printf("hit\\n"); exit(); }`,
        marker: /^hit$/m,
        trickle: ['paced', '1000000'],
      },
      {
        label: 'openat, str(args->filename)',
        program: `tracepoint:syscalls:sys_enter_openat /comm == "${comm}"/ { printf("%s %s\\n", comm, str(args->filename)); exit(); }`,
        marker: new RegExp(`^${comm} /dev/null$`, 'm'),
        trickle: ['paced-open', '1000000'],
      },
    ], exe, dir, rss);
    // The floor under bpfkit's launch on this machine: Node starting and exiting with nothing to load,
    // without NODE_EXTRA_CA_CERTS (bin/bpfkit keeps it from node: loading it costs ~40 ms).
    const bare: number[] = [];
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    for (let i = 0; i < LAUNCHES; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0'], { env });
      bare.push(sinceMs(t0));
    }
    console.log(`${'  (node -e 0 on this machine, to exit)'.padEnd(50)} ${median(bare).toFixed(0)} ms`);

    // 2. Per-event cost: the same loop of getppid calls with and without the program attached.
    const perEvent: Record<string, number[]> = { bpfkit: [], bpftrace: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const t of tools) {
        const before = loopNs(exe);
        const tr = startTracer(t, 'tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }', /Attach(ed|ing) 1 probe/);
        await tr.ready;
        // bpftrace prints "Attaching" before it attaches: give both a moment so the loop runs attached.
        await sleep(300);
        const during = loopNs(exe);
        rss[t.name].push(await tr.stop());
        const after = loopNs(exe);
        perEvent[t.name].push(during - (before + after) / 2);
      }
    }
    row(`per event: @[comm] = count() on getppid (${CALLS / 1e6}M)`, median(perEvent.bpfkit), median(perEvent.bpftrace), 'ns/event', 'bpfkit below bpftrace');
    if (hasGnuTime) row('peak RSS over all runs', Math.max(...rss.bpfkit), Math.max(...rss.bpftrace), 'MiB', 'bpfkit <= 90 MB');
    else console.log(`peak RSS: not measured (${GNU_TIME} is missing)`);
    console.log(`(medians of ${LAUNCHES} launches and ${ROUNDS} per-event rounds; per-event samples bpfkit ${perEvent.bpfkit.map((v) => v.toFixed(0)).join(' ')}, bpftrace ${perEvent.bpftrace.map((v) => v.toFixed(0)).join(' ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
