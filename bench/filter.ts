// Benchmark (not a test): `bpfkit filter` against `tcpdump -r` on a realistic capture (packets sampled from the corpus), in one run.
// Usage: npx tsx bench/filter.ts [--packets N] [--reps R] [--file F] [--only TEXT]
//   default: 5,000,000 packets ≈ 1 GB made by ../shared/tools/make-big-pcap.py, median of 5 runs
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PACKETS = opt('--packets', 5_000_000);
const REPS = opt('--reps', 5);
const here = path.dirname(new URL(import.meta.url).pathname);
const dir = path.join(os.tmpdir(), 'bpfkit-bench');
mkdirSync(dir, { recursive: true });
const fileArg = args.indexOf('--file');
const file = fileArg >= 0 ? args[fileArg + 1] : path.join(dir, `big-${PACKETS}.pcap`);
const bin = path.resolve(here, '../bin/bpfkit');

function build(): void {
  if (existsSync(file)) return;
  const tool = path.resolve(here, '../../shared/tools/make-big-pcap.py');
  console.log(`building ${file} with ${tool} (${PACKETS} packets) ...`);
  execFileSync('python3', [tool, '--out', file, '--packets', String(PACKETS)], { stdio: 'inherit' });
}

/** Runs a command, returning wall seconds, peak RSS (MB, from /proc) and stdout. */
function timed(cmd: string, argv: string[]): Promise<{ secs: number; peakMb: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited
      }
    }, 10);
    child.on('error', reject);
    child.on('close', () => {
      clearInterval(poll);
      resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, peakMb: peak, out });
    });
  });
}

const sixteen = Array.from({ length: 16 }, (_, i) => (i % 2 ? `udp port ${1000 + i}` : `tcp port ${2000 + i}`)).join(' or ');
interface Row {
  name: string;
  bpfkit: string[];
  tcpdump: string[];
  /** Packets the row goes through, for packets/s. */
  packets: number;
  /** How to compare the two outputs: equal stdout, equal files, or the share of equal lines. */
  check: 'stdout' | 'files' | 'lines';
}
const rows: Row[] = [];
const out = (n: string): string => path.join(dir, `${n}.pcap`);
for (const [label, expr] of [
  ['tcp port 80', 'tcp port 80'],
  ['ip and udp and dst port 53', 'ip and udp and dst port 53'],
  ['16 clauses', sixteen],
  ['no expression', ''],
] as const) {
  const e = expr ? [expr] : [];
  rows.push({ name: `--count ${label}`, bpfkit: ['filter', '--count', '-r', file, ...e], tcpdump: ['--count', '-r', file, ...e], packets: PACKETS, check: 'stdout' });
}
for (const [label, expr] of [
  ['tcp', 'tcp'],
  ['tcp port 80', 'tcp port 80'],
  ['no expression', ''],
] as const) {
  const e = expr ? [expr] : [];
  rows.push({ name: `-w ${label}`, bpfkit: ['filter', '-r', file, '-w', out('bpfkit'), ...e], tcpdump: ['-r', file, '-w', out('tcpdump'), ...e], packets: PACKETS, check: 'files' });
}
const PRINT = Math.min(PACKETS, 200_000);
for (const flags of [['-n'], ['-n', '-e'], ['-n', '-v']]) {
  const c = ['-c', String(PRINT)];
  rows.push({ name: `print ${flags.join(' ')}, first ${PRINT}`, bpfkit: ['filter', ...flags, ...c, '-r', file], tcpdump: [...flags, ...c, '-r', file], packets: PRINT, check: 'lines' });
}

// --only TEXT: just the rows whose name contains TEXT (e.g. `--only print`).
const onlyArg = args.indexOf('--only');
if (onlyArg >= 0) rows.splice(0, rows.length, ...rows.filter((r) => r.name.includes(args[onlyArg + 1])));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function sameFile(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

async function main(): Promise<void> {
  execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
  build();
  const size = statSync(file).size;
  console.log(`capture: ${file}, ${(size / 1e9).toFixed(2)} GB; median of ${REPS} runs each, tcpdump and bpfkit alternating; ${os.cpus().length} cpus`);
  console.log(`${'row'.padEnd(40)} ${'tcpdump s'.padStart(9)} ${'bpfkit s'.padStart(9)} ${'tcpdump pkt/s'.padStart(14)} ${'bpfkit pkt/s'.padStart(14)} ${'ratio'.padStart(6)} ${'MB t/b'.padStart(9)} check`);
  for (const r of rows) {
    const ts: number[] = [];
    const bs: number[] = [];
    let mem = { t: 0, b: 0 };
    let check = '';
    for (let i = 0; i < REPS; i++) {
      const t = await timed('tcpdump', r.tcpdump);
      const b = await timed(bin, r.bpfkit);
      ts.push(t.secs);
      bs.push(b.secs);
      mem = { t: Math.max(mem.t, t.peakMb), b: Math.max(mem.b, b.peakMb) };
      if (i > 0) continue;
      if (r.check === 'stdout') check = t.out.trim() === b.out.trim() ? 'same count' : `DIFFERENT: ${t.out.trim()} vs ${b.out.trim()}`;
      else if (r.check === 'files') check = sameFile(out('tcpdump'), out('bpfkit')) ? 'same file' : 'DIFFERENT FILES';
      else {
        // A packet's first line starts with its time stamp; continuation lines (-v details, payload text) do not.
        const firsts = (o: string): string[] => o.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d+ /.test(l));
        const tl = firsts(t.out);
        const bl = firsts(b.out);
        const same = tl.filter((l, j) => l === bl[j]).length;
        check = `${((100 * same) / Math.max(1, tl.length)).toFixed(1)}% first lines equal`;
      }
    }
    const t = median(ts);
    const b = median(bs);
    const f = (x: number): string => Math.round(r.packets / x).toLocaleString('en').padStart(14);
    console.log(
      `${r.name.padEnd(40)} ${t.toFixed(3).padStart(9)} ${b.toFixed(3).padStart(9)} ${f(t)} ${f(b)} ${(t / b).toFixed(2).padStart(6)} ${`${mem.t.toFixed(0)}/${mem.b.toFixed(0)}`.padStart(9)} ${check}`,
    );
  }
  rmSync(out('bpfkit'), { force: true });
  rmSync(out('tcpdump'), { force: true });
}

await main();
