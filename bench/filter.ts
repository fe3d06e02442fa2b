// Benchmark (not a test): `bpfkit filter` against `tcpdump -r` on a realistic capture (packets sampled from the corpus), in one run.
// Usage: npx tsx bench/filter.ts [--packets N] [--reps R] [--file F] [--big10] [--more] [--only TEXT]
//   default: the table of issue 13 on 5,000,000 packets ≈ 1 GB made by ../shared/tools/make-big-pcap.py, median of 5 runs
//   --big10: the same table on 50,000,000 packets ≈ 10 GB (median of 3), to see memory stay flat while streaming
//   --more:  also the other filters, -w variants and print flags
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const has = (name: string): boolean => args.includes(name);
const big10 = has('--big10');
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PACKETS = opt('--packets', big10 ? 50_000_000 : 5_000_000);
const REPS = opt('--reps', big10 ? 3 : 5);
const here = path.dirname(new URL(import.meta.url).pathname);
const dir = path.join(os.tmpdir(), 'bpfkit-bench');
mkdirSync(dir, { recursive: true });
const fileArg = args.indexOf('--file');
const file = fileArg >= 0 ? args[fileArg + 1] : path.join(dir, `big-${PACKETS}.pcap`);
const bin = path.resolve(here, '../bin/bpfkit');
const TICK = 100; // clock ticks per second in /proc/PID/stat (USER_HZ, 100 on Linux)

function build(): void {
  if (existsSync(file)) return;
  const tool = path.resolve(here, '../../shared/tools/make-big-pcap.py');
  console.log(`building ${file} with ${tool} (${PACKETS} packets) ...`);
  execFileSync('python3', [tool, '--out', file, '--packets', String(PACKETS)], { stdio: 'inherit' });
}

interface Run {
  secs: number;
  /** Peak resident set (VmHWM), MB. */
  peakMb: number;
  /** User + system CPU seconds of all threads, as last sampled (within ~10 ms of the end). */
  cpu: number;
  out: string;
}

/** Runs a command, returning wall seconds, peak RSS and CPU (from /proc, sampled every 10 ms) and stdout. */
function timed(cmd: string, argv: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let peak = 0;
    let cpu = 0;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpu = Math.max(cpu, (Number(f[11]) + Number(f[12])) / TICK);
      } catch {
        // exited
      }
    };
    const poll = setInterval(sample, 10);
    child.on('error', reject);
    child.on('close', () => {
      clearInterval(poll);
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, peakMb: peak, cpu, out });
    });
  });
}

interface Row {
  name: string;
  bpfkit: string[];
  tcpdump: string[];
  /** Packets the row goes through, for packets/s (undefined: all of the file's). */
  packets?: number;
  /** How to compare the two outputs: equal stdout, equal files, or the share of equal lines. */
  check: 'stdout' | 'files' | 'lines';
}
const rows: Row[] = [];
const out = (n: string): string => path.join(dir, `${n}.pcap`);
const countRow = (label: string, expr: string): Row => {
  const e = expr ? [expr] : [];
  return { name: `--count ${label}`, bpfkit: ['filter', '--count', '-r', file, ...e], tcpdump: ['--count', '-r', file, ...e], check: 'stdout' };
};
const writeRow = (label: string, expr: string): Row => {
  const e = expr ? [expr] : [];
  return { name: `-w out.pcap ${label}`, bpfkit: ['filter', '-r', file, '-w', out('bpfkit'), ...e], tcpdump: ['-r', file, '-w', out('tcpdump'), ...e], check: 'files' };
};
const PRINT = 200_000;
const printRow = (flags: string[]): Row => {
  const c = ['-c', String(PRINT)];
  return { name: `print ${flags.join(' ')}, first ${PRINT / 1000}k`, bpfkit: ['filter', ...flags, ...c, '-r', file], tcpdump: [...flags, ...c, '-r', file], packets: PRINT, check: 'lines' };
};
// The table of issue 13.
rows.push(countRow("'tcp port 80'", 'tcp port 80'), countRow("'ip and udp and dst port 53'", 'ip and udp and dst port 53'), writeRow('tcp', 'tcp'), printRow(['-n']));
if (has('--more')) {
  const sixteen = Array.from({ length: 16 }, (_, i) => (i % 2 ? `udp port ${1000 + i}` : `tcp port ${2000 + i}`)).join(' or ');
  rows.push(countRow('16 clauses', sixteen), countRow('no expression', ''), writeRow("'tcp port 80'", 'tcp port 80'), writeRow('no expression', ''));
  rows.push(printRow(['-n', '-e']), printRow(['-n', '-v']));
}

// --only TEXT: just the rows whose name contains TEXT (e.g. `--only print`).
const onlyArg = args.indexOf('--only');
if (onlyArg >= 0) rows.splice(0, rows.length, ...rows.filter((r) => r.name.includes(args[onlyArg + 1])));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Byte-equal files, compared by cmp (a 10 GB capture's outputs do not fit a Buffer). */
function sameFile(a: string, b: string): boolean {
  try {
    execFileSync('cmp', ['-s', a, b]);
    return true;
  } catch {
    return false;
  }
}

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
  build();
  const size = statSync(file).size;
  // The file's packets (tcpdump's count), for packets/s.
  const total = Number(/(\d+) packets?/.exec(execFileSync('tcpdump', ['--count', '-r', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString())?.[1] ?? PACKETS);
  console.log(`capture: ${file}, ${(size / 1e9).toFixed(2)} GB, ${total.toLocaleString('en')} packets; ${os.cpus().length} cpus; load average ${load()}`);
  console.log(`median of ${REPS} runs each, tcpdump and bpfkit alternating; -w outputs are compared once (untimed), then deleted after each timed run, so no run pays for freeing or caching another's`);
  console.log('CPU: user+system of all threads; MB: peak RSS (VmHWM), the highest of the runs');
  console.log(
    `${'task'.padEnd(40)} ${'tcpdump s'.padStart(9)} ${'bpfkit s'.padStart(9)} ${'ratio'.padStart(6)} ${'tcpdump pkt/s'.padStart(14)} ${'bpfkit pkt/s'.padStart(14)} ${'CPU s t/b'.padStart(11)} ${'MB t/b'.padStart(9)} check`,
  );
  for (const r of rows) {
    const ts: Run[] = [];
    const bs: Run[] = [];
    let check = '';
    if (r.check === 'files') {
      // Compared once, untimed: in the timed runs neither tool runs beside the other's output (on a 10 GB capture
      // that is gigabytes of page cache taken from the input, and only the second tool would pay for it).
      await timed('tcpdump', r.tcpdump);
      await timed(bin, r.bpfkit);
      check = sameFile(out('tcpdump'), out('bpfkit')) ? 'same file' : 'DIFFERENT FILES';
    }
    for (let i = 0; i < REPS; i++) {
      rmSync(out('tcpdump'), { force: true });
      rmSync(out('bpfkit'), { force: true });
      const t = await timed('tcpdump', r.tcpdump);
      rmSync(out('tcpdump'), { force: true });
      const b = await timed(bin, r.bpfkit);
      rmSync(out('bpfkit'), { force: true });
      ts.push(t);
      bs.push(b);
      if (i > 0 || r.check === 'files') continue;
      if (r.check === 'stdout') check = t.out.trim() === b.out.trim() ? 'same count' : `DIFFERENT: ${t.out.trim()} vs ${b.out.trim()}`;
      else {
        // A packet's first line starts with its time stamp; continuation lines (-v details, payload text) do not.
        const firsts = (o: string): string[] => o.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d+ /.test(l));
        const tl = firsts(t.out);
        const bl = firsts(b.out);
        const same = tl.filter((l, j) => l === bl[j]).length;
        check = `${((100 * same) / Math.max(1, tl.length)).toFixed(1)}% first lines equal`;
      }
    }
    const t = median(ts.map((x) => x.secs));
    const b = median(bs.map((x) => x.secs));
    const packets = r.packets ?? total;
    const f = (x: number): string => Math.round(packets / x).toLocaleString('en').padStart(14);
    const cpu = `${median(ts.map((x) => x.cpu)).toFixed(2)}/${median(bs.map((x) => x.cpu)).toFixed(2)}`;
    const mem = `${Math.max(...ts.map((x) => x.peakMb)).toFixed(0)}/${Math.max(...bs.map((x) => x.peakMb)).toFixed(0)}`;
    console.log(`${r.name.padEnd(40)} ${t.toFixed(3).padStart(9)} ${b.toFixed(3).padStart(9)} ${`${(t / b).toFixed(2)}×`.padStart(6)} ${f(t)} ${f(b)} ${cpu.padStart(11)} ${mem.padStart(9)} ${check}`);
  }
  rmSync(out('bpfkit'), { force: true });
  rmSync(out('tcpdump'), { force: true });
  console.log(`load average at the end: ${load()}`);
}

await main();
