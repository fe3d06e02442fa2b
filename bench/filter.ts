// Benchmark (not a test): `bpfkit filter` against `tcpdump -r` on one large synthetic capture, in one run.
// Usage: npx tsx bench/filter.ts [--packets N] [--reps R]   (default 5,000,000 packets ≈ 1 GB, 3 reps)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AtomicFileWriter } from '../src/node/index.js';
import { PcapWriter, synthesizeTraffic } from '../src/pcap/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PACKETS = opt('--packets', 5_000_000);
const REPS = opt('--reps', 3);
const SNAPLEN = 256; // a common capture snaplen: keeps the file near 1 GB for 5 M packets
const dir = path.join(os.tmpdir(), 'bpfkit-bench');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `filter-${PACKETS}.pcap`);
const bin = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../bin/bpfkit');

function build(): void {
  if (existsSync(file)) return;
  console.log(`building ${file} (${PACKETS} packets, seed 1, snaplen ${SNAPLEN}) ...`);
  const w = new AtomicFileWriter(file, 8 << 20);
  const pw = new PcapWriter({ linkType: 1, snaplen: SNAPLEN });
  w.write(pw.header());
  for (const p of synthesizeTraffic({ seed: 1, count: PACKETS })) {
    const cut = p.data.length > SNAPLEN ? { ...p, data: p.data.subarray(0, SNAPLEN) } : p;
    w.write(pw.record(cut));
  }
  w.commit();
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
const rows: { name: string; bpfkit: string[]; tcpdump: string[] }[] = [];
const out = (n: string): string => path.join(dir, `${n}.pcap`);
for (const [label, expr] of [
  ['tcp port 80', 'tcp port 80'],
  ['ip and udp and dst port 53', 'ip and udp and dst port 53'],
  ['16 clauses', sixteen],
  ['no expression', ''],
] as const) {
  const e = expr ? [expr] : [];
  rows.push({ name: `--count ${label}`, bpfkit: ['filter', '--count', '-r', file, ...e], tcpdump: ['--count', '-r', file, ...e] });
  rows.push({ name: `-w ${label}`, bpfkit: ['filter', '-r', file, '-w', out('bpfkit'), ...e], tcpdump: ['-r', file, '-w', out('tcpdump'), ...e] });
}

async function main(): Promise<void> {
  execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
  build();
  const size = statSync(file).size;
  console.log(`capture: ${PACKETS} packets, ${(size / 1e9).toFixed(2)} GB; best of ${REPS} runs each; ${os.cpus().length} cpus`);
  console.log(`${'row'.padEnd(42)} ${'tcpdump pkt/s'.padStart(14)} ${'bpfkit pkt/s'.padStart(14)} ${'ratio'.padStart(6)} ${'bpfkit MB'.padStart(9)}`);
  for (const r of rows) {
    let best = { t: Infinity, b: Infinity, mem: 0 };
    for (let i = 0; i < REPS; i++) {
      const t = await timed('tcpdump', r.tcpdump);
      const b = await timed(bin, r.bpfkit);
      if (r.name.startsWith('--count') && t.out.trim() !== b.out.trim()) throw new Error(`${r.name}: tcpdump "${t.out.trim()}" vs bpfkit "${b.out.trim()}"`);
      best = { t: Math.min(best.t, t.secs), b: Math.min(best.b, b.secs), mem: Math.max(best.mem, b.peakMb) };
    }
    const tp = PACKETS / best.t;
    const bp = PACKETS / best.b;
    console.log(`${r.name.padEnd(42)} ${Math.round(tp).toLocaleString('en').padStart(14)} ${Math.round(bp).toLocaleString('en').padStart(14)} ${(bp / tp).toFixed(2).padStart(6)} ${best.mem.toFixed(0).padStart(9)}`);
  }
  rmSync(out('bpfkit'), { force: true });
  rmSync(out('tcpdump'), { force: true });
}

await main();
