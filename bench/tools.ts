/**
 * Benchmark (not a test): each `bpfkit tools` tool's launch → attached time (its header line, printed once
 * attached) and peak RSS, beside libbpf-tools' version and bcc's (`NAME-bpfcc`) where installed, in one run.
 * Run as root: npx tsx bench/tools.ts [TOOL...] (after npm run build; ours runs ./bin/bpfkit).
 */

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfLinks } from '../test/kernel/helpers/tools.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Tool, its flags for a quiet run, and the header line every version prints once attached. */
const TOOLS: [string, string[], RegExp | number][] = [
  ['execsnoop', [], /PCOMM\s+PID/],
  ['opensnoop', ['-p', '1'], /PID\s+COMM\s+FD/],
  ['exitsnoop', [], /PCOMM\s+PID/],
  ['killsnoop', [], /TIME\s+PID\s+COMM/],
  ['syscount', ['-p', '1'], /Tracing syscalls/],
  ['biolatency', [], /Tracing block device/],
  ['runqlat', ['-p', '1'], /Tracing run queue/],
  ['tcpstates', ['-L', '1'], /SKADDR\s+PID/],
  ['statsnoop', ['-p', '1'], /PID\s+COMM\s+RET/],
  ['biosnoop', [], /TIME\(s\)\s+COMM/],
  ['bitesize', [], /Tracing block device/],
  ['tcplife', ['-L', '1'], /PID\s+COMM\s+LADDR/],
  ['tcpretrans', [], /Tracing retransmits/],
  ['cpudist', ['-p', '1'], /Tracing on-CPU time/],
  ['profile', ['-p', '1'], /Sampling at \d+ Hertz/],
  ['runqslower', ['-p', '1'], /Tracing run queue latency higher/],
  ['hardirqs', [], /Tracing hard irq/],
  ['softirqs', [], /Tracing soft irq/],
  ['bashreadline', [], /TIME\s+PID\s+COMMAND/],
  ['gethostlatency', ['-p', '1'], /TIME\s+PID\s+COMM\s+LATms/],
  // The library is looked up in the process's maps: this benchmark's own.
  ['funclatency', ['-p', String(process.pid), 'c:malloc'], /Tracing c:malloc|Tracing 1 function/],
  ['funccount', ['-p', String(process.pid), 'c:malloc'], /Tracing (1 )?functions for "c:malloc"/],
  // memleak's 12 uprobes and 10 uretprobes on this process's libc.
  ['memleak', ['-p', String(process.pid)], /Attaching to pid \d+/],
  ['trace', ['-p', String(process.pid), 'c:malloc "size=%d", arg1', 'r:c:malloc "ret=%llx", retval'], /PID\s+TID\s+COMM\s+FUNC/],
  // argdist prints nothing until its first interval: it is attached once it holds its two BPF links.
  ['argdist', ['-p', String(process.pid), '-C', 'p:c:malloc(size_t size):size_t:size', '-H', 'p:c:free(void *p):u64:p'], 2],
];
// offcputime prints nothing until it ends, so its attach time cannot be read from its output.
const RUNS = 3;


/**
 * Starts `cmd`, resolves with ms until stdout matches `ready` (or, for a number, until it holds that many BPF links)
 * and the peak RSS (VmHWM, MB) just after.
 */
function measure(cmd: string[], ready: RegExp | number): Promise<{ ms: number; rssMb: number } | string> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd[0], cmd.slice(1), { cwd: root });
    let out = '';
    let err = '';
    let done = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const finish = (r: { ms: number; rssMb: number } | string): void => {
      if (done) return;
      done = true;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      resolve(r);
    };
    const attached = (): void => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      // Peak RSS a moment after attaching, when the maps and ring buffer are mapped.
      setTimeout(() => {
        let rssMb = NaN;
        try {
          rssMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
        } catch {
          // exited
        }
        finish({ ms, rssMb });
      }, 200);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (typeof ready !== 'number' && ready.test(out)) attached();
    });
    if (typeof ready === 'number') {
      // Polled every 5 ms: the figure is at most that late.
      const poll = setInterval(() => {
        if (done) clearInterval(poll);
        else if (bpfLinks(child.pid!) >= ready) {
          clearInterval(poll);
          attached();
        }
      }, 5);
    }
    // bcc compiles C at start: without kernel headers it cannot, which is the usual reason it exits here.
    child.on('exit', (code) => finish(/Unable to find kernel headers|Failed to compile BPF module|chdir\(\/lib\/modules/.test(err) ? 'fails: no kernel headers' : `exited ${code}${err ? `: ${err.trim().split('\n').pop()!.slice(0, 40)}` : ''}`));
    child.on('error', (e) => finish(e.message));
    setTimeout(() => finish('no header in 20 s'), 20000).unref();
  });
}

async function best(cmd: string[], ready: RegExp | number): Promise<string> {
  const rs: { ms: number; rssMb: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(cmd, ready);
    if (typeof r === 'string') return r;
    rs.push(r);
  }
  const ms = Math.min(...rs.map((r) => r.ms));
  const rss = Math.max(...rs.map((r) => r.rssMb));
  return `${ms.toFixed(0).padStart(5)} ms ${rss.toFixed(1).padStart(6)} MB`;
}

const pick = process.argv.slice(2);
console.log(`${'tool'.padEnd(12)} ${'bpfkit'.padEnd(20)} ${'libbpf-tools'.padEnd(20)} bcc`);
for (const [name, flags, ready] of TOOLS) {
  if (pick.length && !pick.includes(name)) continue;
  const ours = await best([path.join(root, 'bin/bpfkit'), 'tools', name, ...flags], ready);
  const lib = existsSync(`/usr/sbin/${name}`) ? await best(['stdbuf', '-oL', `/usr/sbin/${name}`, ...flags], ready) : 'not installed';
  const bcc = existsSync(`/usr/sbin/${name}-bpfcc`) ? await best(['stdbuf', '-oL', `/usr/sbin/${name}-bpfcc`, ...flags], ready) : 'not installed';
  console.log(`${name.padEnd(12)} ${ours.padEnd(20)} ${lib.padEnd(20)} ${bcc}`);
}
