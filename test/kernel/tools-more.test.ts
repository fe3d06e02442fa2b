/**
 * The rest of `bpfkit tools` on controlled workloads (stat calls, block I/O, TCP sessions, sleeps, a C
 * program's calls): each reports exactly what the workload did, and the same as libbpf-tools' version
 * where that one runs here; where it cannot (kprobes, fentry, not packaged) the test says why.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCommand, repoRoot, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { both, ours, start } from './helpers/tools.js';

const why = await kernelSkip('bpfkit tools');

/** A loop device over an 8 MB file (named `tools-…`), so block I/O on it is only the workload's; undefined (printed) where losetup is missing. */
function loopDevice(label: string): { dev: string; name: string; close(): void } | undefined {
  if (!hasCommand('losetup') || !hasCommand('dd')) {
    reportSkip(label, 'needs losetup and dd for a loop device');
    return undefined;
  }
  const img = path.join(os.tmpdir(), `tools-loop-${process.pid}-${label}.img`);
  writeFileSync(img, '');
  truncateSync(img, 8 << 20);
  const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  return {
    dev,
    name: path.basename(dev),
    close() {
      execFileSync('losetup', ['-d', dev]);
      rmSync(img, { force: true });
    },
  };
}

/** Network namespaces named `tools-PID-…` (removed by `close`); undefined (printed) where `ip` or python3 is missing. */
function netns(label: string, names: string[]): { ns: string[]; close(): void } | undefined {
  if (!hasCommand('ip') || !existsSync(PY)) {
    reportSkip(label, 'needs ip (iproute2) and python3 for the network namespace workload');
    return undefined;
  }
  const ns = names.map((n) => `tools-${process.pid}-${n}`);
  const close = (): void => {
    for (const n of ns) spawnSyncQuiet('ip', ['netns', 'del', n]);
  };
  try {
    for (const n of ns) {
      execFileSync('ip', ['netns', 'add', n]);
      execFileSync('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { ns, close };
}

function spawnSyncQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** A python3 script in namespace `ns`; resolves its stdout lines as they come, `send` writes a line to it. */
function pyIn(ns: string, script: string): { lines: string[]; next(): Promise<string>; send(s: string): void; done: Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, PY, '-u', '-c', script]);
  const lines: string[] = [];
  let waiting: ((l: string) => void) | undefined;
  let buf = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      const w = waiting;
      waiting = undefined;
      w?.(lines[lines.length - 1]);
    }
  });
  let read = 0;
  return {
    lines,
    next: () => (read < lines.length ? Promise.resolve(lines[read++]) : new Promise((resolve, reject) => {
      waiting = (l) => { read++; resolve(l); };
      child.once('exit', () => reject(new Error(`python3 in ${ns} exited: ${err}`)));
    })),
    send: (s) => child.stdin.write(`${s}\n`),
    done: new Promise((resolve) => child.on('exit', () => resolve())),
  };
}

/** The system's python3 itself (a pyenv shim on PATH would run a shell, and its children, under the same pid first). */
const PY = '/usr/bin/python3';

/** A python3 child that waits for a line on stdin, runs `body`, prints "done" and waits again (so it is alive while traced). */
function pyChild(body: string): { pid: number; go(): Promise<void>; kill(): void } {
  const child = spawn(PY, ['-c', `import sys, time\nsys.stdin.readline()\n${body}\nprint("done", flush=True)\nsys.stdin.readline()`]);
  const done = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin.write('go\n');
      await done;
    },
    kill: () => child.kill(),
  };
}

/** Counts in a libbpf-tools histogram's rows whose low bound is at least `min` (the first histogram in `out` after `after`). */
function histCount(out: string, min: number, after = ''): number {
  const text = out.slice(out.indexOf(after));
  let n = 0;
  for (const m of text.matchAll(/^\s+(\d+) -> \d+\s+: (\d+)\s+\|[* ]*\|$/gm)) if (Number(m[1]) >= min) n += Number(m[2]);
  return n;
}

/** The C workload: `work(i)` (5 ms each) called N times, then M mallocs kept (sizes 1000+i), between two lines on stdin. */
const WORK_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *kept[1000];
__attribute__((noinline)) int work(int i) { volatile int x = i; usleep(5000); return x; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]), leaks = argc > 2 ? atoi(argv[2]) : 0;
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (int i = 0; i < n; i++) work(i);
  for (int i = 0; i < leaks && i < 1000; i++) kept[i] = malloc(1000 + i);
  printf("done\\n"); fflush(stdout);
  if (!fgets(line, sizeof line, stdin)) return 1;
  return 0;
}
`;

let workBin: string | undefined;
/** Builds the C workload with gcc (once); undefined (printed) without gcc. */
function cWork(label: string): string | undefined {
  if (workBin) return workBin;
  if (!hasCommand('gcc')) {
    reportSkip(label, 'needs gcc for the C workload');
    return undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tools-work-'));
  writeFileSync(path.join(dir, 'work.c'), WORK_C);
  execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', path.join(dir, 'work'), path.join(dir, 'work.c')]);
  workBin = path.join(dir, 'work');
  return workBin;
}

/** The C workload started and waiting: `go()` runs it and resolves when it printed "done". */
function cChild(bin: string, args: string[]): { pid: number; go(): Promise<void>; kill(): void } {
  const child = spawn(bin, args);
  const done = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
  return {
    pid: child.pid!,
    go: async () => {
      child.stdin.write('go\n');
      await done;
    },
    kill: () => child.kill(),
  };
}

/** Per handler name, the interrupts /proc/interrupts has counted (numbered IRQs, one handler each). */
function procInterrupts(): Map<string, number> {
  const m = new Map<string, number>();
  const lines = readFileSync('/proc/interrupts', 'utf8').split('\n');
  const ncpu = lines[0].trim().split(/\s+/).length;
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/);
    if (!/^\d+:$/.test(f[0]) || f.length < ncpu + 3) continue;
    const total = f.slice(1, ncpu + 1).reduce((a, b) => a + Number(b), 0);
    const name = f[f.length - 1];
    m.set(name, (m.get(name) ?? 0) + total);
  }
  return m;
}

/** Per vector name (libbpf-tools' lower-case names), the soft IRQs /proc/softirqs has counted. */
function procSoftirqs(): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of readFileSync('/proc/softirqs', 'utf8').split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length < 2) continue;
    m.set(f[0].replace(':', '').toLowerCase(), f.slice(1).reduce((a, b) => a + Number(b), 0));
  }
  return m;
}

const delta = (a: Map<string, number>, b: Map<string, number>): Map<string, number> => new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)]));

/** `dd` with direct I/O: `count` blocks of `bs` bytes written to (or read from) `dev`. */
function dd(dev: string, write: boolean, bs: number, count: number): void {
  execFileSync('dd', write ? ['if=/dev/zero', `of=${dev}`, `bs=${bs}`, `count=${count}`, 'oflag=direct'] : [`if=${dev}`, 'of=/dev/null', `bs=${bs}`, `count=${count}`, 'iflag=direct'], { stdio: 'ignore' });
}

describe.skipIf(why !== undefined)('bpfkit tools (the rest of the set)', () => {
  afterAll(() => {
    if (workBin) rmSync(path.dirname(workBin), { recursive: true, force: true });
  });

  it('statsnoop -p: each stat of a marker file and each failed one (libbpf-tools 0.26 loads nothing)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-tools-stat-'));
    try {
      const file = path.join(dir, 'marker');
      const r = await both('statsnoop', ['-p', String(process.pid)], /PID\s+COMM\s+RET\s+ERR\s+PATH/, () => {
        for (let i = 0; i < 5; i++) statSync(dir);
        for (let i = 0; i < 3; i++) statSync(file, { throwIfNoEntry: false });
      });
      // PID (7) and COMM (20) are fixed-width columns; COMM may hold spaces ("node (vitest 1)").
      const pick = (out: string): string[] => out.split('\n').filter((l) => new RegExp(`${dir}(/marker)?$`).test(l)).map((l) => `${l.slice(0, 7).trim()} ${l.slice(29).trim().split(/\s+/).join(' ')}`);
      const mine = pick(r.ours);
      expect(mine).toEqual([...Array.from({ length: 5 }, () => `${process.pid} 0 0 ${dir}`), ...Array.from({ length: 3 }, () => `${process.pid} -1 2 ${file}`)]);
      if (r.theirs !== undefined) expect(mine).toEqual(pick(r.theirs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('biosnoop -d -Q: every direct write and read on a loop device, with its sector and size (libbpf-tools\' needs kprobes)', async (ctx) => {
    const loop = loopDevice('biosnoop');
    if (!loop) return ctx.skip();
    try {
      // Without -Q too (no queue column), run beside it.
      const plain = start(ours('biosnoop', ['-d', loop.name]), /TIME\(s\)\s+COMM\s+PID\s+DISK\s+T\s+SECTOR\s+BYTES\s+LAT\(ms\)/);
      const r = await both('biosnoop', ['-d', loop.name, '-Q'], /TIME\(s\)\s+COMM\s+PID\s+DISK\s+T\s+SECTOR\s+BYTES\s+QUE\(ms\)\s+LAT\(ms\)/, async () => {
        await plain.ready;
        dd(loop.dev, true, 4096, 20);
        dd(loop.dev, false, 65536, 4);
      });
      const noQ = (await plain.stop()).split('\n').slice(1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/).slice(1, 7).join(' '));
      // COMM PID DISK T SECTOR BYTES, without the times.
      const mine = r.ours.split('\n').slice(1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/).slice(1, 7).join(' '));
      const pids = [...new Set(mine.map((l) => l.split(' ')[1]))];
      expect(pids).toHaveLength(2);
      expect(mine).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `dd ${pids[0]} ${loop.name} WS ${i * 8} 4096`),
        ...Array.from({ length: 4 }, (_, i) => `dd ${pids[1]} ${loop.name} RS ${i * 128} 65536`),
      ]);
      expect(r.ours).toMatch(/^\d+\.\d{6} +dd +\d+ +loop\d+ +WS +0 +4096 +-?\d+\.\d{3} +\d+\.\d{3}$/m);
      expect(noQ).toEqual(mine);
    } finally {
      loop.close();
    }
  });

  it('bitesize -c -d: the sizes of direct I/Os on a loop device per process, the same as libbpf-tools', async (ctx) => {
    const loop = loopDevice('bitesize');
    if (!loop) return ctx.skip();
    try {
      const r = await both('bitesize', ['-c', 'dd', '-d', loop.name], /Tracing block device I\/O/, () => {
        dd(loop.dev, true, 4096, 12);
        dd(loop.dev, false, 65536, 3);
        dd(loop.dev, true, 512, 5);
      });
      const hist = (out: string): string => out.slice(out.indexOf('Process Name')).trim();
      expect(hist(r.ours)).toBe([
        'Process Name = dd',
        '     Kbytes              : count    distribution',
        '         0 -> 1          : 5        |****************                        |',
        '         2 -> 3          : 0        |                                        |',
        '         4 -> 7          : 12       |****************************************|',
        '         8 -> 15         : 0        |                                        |',
        '        16 -> 31         : 0        |                                        |',
        '        32 -> 63         : 0        |                                        |',
        '        64 -> 127        : 3        |**********                              |',
      ].join('\n'));
      if (r.theirs !== undefined) expect(hist(r.ours)).toBe(hist(r.theirs));
    } finally {
      loop.close();
    }
  });

  it('tcplife: three loopback sessions in a namespace with their exact bytes each way, the same as libbpf-tools (MS aside)', async (ctx) => {
    const n = netns('tcplife', ['life']);
    if (!n) return ctx.skip();
    try {
      // Session i: the client sends 1000*(i+1) bytes, the server answers 3000*(i+1); the client closes first.
      const script = [
        'import socket, sys',
        's = socket.socket(); s.bind(("127.0.0.1", 7070)); s.listen()',
        'print("ready", flush=True); sys.stdin.readline()',
        'for i in range(3):',
        '    c = socket.create_connection(("127.0.0.1", 7070)); a, _ = s.accept()',
        '    c.sendall(b"x" * 1000 * (i + 1)); n = 0',
        '    while n < 1000 * (i + 1): n += len(a.recv(65536))',
        '    a.sendall(b"y" * 3000 * (i + 1)); n = 0',
        '    while n < 3000 * (i + 1): n += len(c.recv(65536))',
        '    print(c.getsockname()[1], flush=True); c.close(); a.recv(1); a.close()',
      ].join('\n');
      const py = pyIn(n.ns[0], script);
      await py.next();
      const ports: string[] = [];
      const r = await both('tcplife', [], /PID\s+COMM\s+LADDR\s+LPORT\s+RADDR\s+RPORT\s+TX_KB\s+RX_KB\s+MS/, async () => {
        py.send('go');
        for (let i = 0; i < 3; i++) ports.push(await py.next());
        await py.done;
      });
      const kb = (b: number): string => (b / 1024).toFixed(2);
      const pick = (out: string): string[] => out.split('\n').filter((l) => / 7070 /.test(l) && ports.some((p) => l.includes(` ${p} `))).map((l) => l.trim().split(/\s+/).slice(1, 8).join(' ')).sort();
      // TX is the kernel's bytes_acked, which counts the acknowledged SYN and FIN too.
      const want = ports.flatMap((p, i) => [
        `python3 127.0.0.1 ${p} 127.0.0.1 7070 ${kb(1000 * (i + 1) + 2)} ${kb(3000 * (i + 1))}`,
        `python3 127.0.0.1 7070 127.0.0.1 ${p} ${kb(3000 * (i + 1) + 2)} ${kb(1000 * (i + 1))}`,
      ]).sort();
      expect(pick(r.ours)).toEqual(want);
      if (r.theirs !== undefined) expect(pick(r.ours)).toEqual(pick(r.theirs));
    } finally {
      n.close();
    }
  });

  it('tcpretrans -s and -c: each retransmit of a flow whose peer went away, as many as the socket\'s own tcpi_total_retrans (bcc has the only other version)', async (ctx) => {
    const n = netns('tcpretrans', ['ra', 'rb']);
    if (!n) return ctx.skip();
    const [va, vb] = [`tools${process.pid}a`.slice(-15), `tools${process.pid}b`.slice(-15)];
    try {
      // No tail loss probes: the kernel counts them in tcpi_total_retrans but sends them without the tracepoint (bcc's -l uses a kprobe).
      execFileSync('ip', ['netns', 'exec', n.ns[0], 'sysctl', '-qw', 'net.ipv4.tcp_early_retrans=0']);
      execFileSync('ip', ['-n', n.ns[0], 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', n.ns[1]]);
      execFileSync('ip', ['-n', n.ns[0], 'addr', 'add', '10.211.0.1/24', 'dev', va]);
      execFileSync('ip', ['-n', n.ns[1], 'addr', 'add', '10.211.0.2/24', 'dev', vb]);
      execFileSync('ip', ['-n', n.ns[0], 'link', 'set', va, 'up']);
      execFileSync('ip', ['-n', n.ns[1], 'link', 'set', vb, 'up']);
      const server = pyIn(n.ns[1], 'import socket, time\ns = socket.socket(); s.bind(("10.211.0.2", 7071)); s.listen()\nprint("ready", flush=True)\na, _ = s.accept()\ntime.sleep(30)');
      await server.next();
      // Connect, then (once told) send into a peer whose link is down; report the kernel's own retransmit count and reset.
      const client = pyIn(n.ns[0], [
        'import socket, struct, sys, time',
        'c = socket.create_connection(("10.211.0.2", 7071)); c.sendall(b"x" * 100); time.sleep(0.2)',
        'print(c.getsockname()[1], flush=True); sys.stdin.readline()',
        'c.sendall(b"y" * 1000); time.sleep(1.6)',
        'c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))',
        'info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104); c.close()',
        'print(struct.unpack_from("I", info, 100)[0], flush=True)',
      ].join('\n'));
      const port = await client.next();
      let total = 0;
      const counter = start(ours('tcpretrans', ['-c']), /Tracing retransmits/);
      const r = await both('tcpretrans', ['-s'], /T> RADDR:RPORT\s+STATE\s+SEQ/, async () => {
        await counter.ready;
        // Without its address the peer drops what arrives (a down link would stop the sends, not lose them).
        execFileSync('ip', ['-n', n.ns[1], 'addr', 'del', '10.211.0.2/24', 'dev', vb]);
        client.send('go');
        total = Number(await client.next());
      });
      const counted = await counter.stop();
      const mine = r.ours.split('\n').filter((l) => l.includes(`10.211.0.1:${port} `)).map((l) => l.trim().split(/\s+/).slice(2));
      expect(total).toBeGreaterThanOrEqual(2);
      expect(mine).toHaveLength(total);
      const seq = mine[0][5];
      for (const row of mine) expect(row).toEqual(['4', `10.211.0.1:${port}`, 'R>', '10.211.0.2:7071', 'ESTABLISHED', seq]);
      expect(counted).toContain(`\nLADDR:LPORT               RADDR:RPORT               RETRANSMITS\n${`[10.211.0.1]#${port}`.padEnd(20)} <-> ${'[10.211.0.2]#7071'.padEnd(20)} ${String(total).padStart(10)}\n`);
    } finally {
      n.close();
    }
  });

  it('cpudist -O -p: a child\'s ten 50 ms sleeps in the off-CPU histogram, the same as libbpf-tools', async (ctx) => {
    if (!existsSync(PY)) return ctx.skip();
    const child = pyChild('for _ in range(10): time.sleep(0.05)');
    try {
      const r = await both('cpudist', ['-O', '-p', String(child.pid)], /Tracing off-CPU time/, () => child.go());
      expect(r.ours).toMatch(/^ {5}usecs {15}: count {4}distribution$/m);
      // The wait for "go" began before attaching (not counted); nothing else of the child sleeps 32 ms or more.
      expect(histCount(r.ours, 32768)).toBe(10);
      if (r.theirs !== undefined) expect(histCount(r.theirs, 32768)).toBe(10);
    } finally {
      child.kill();
    }
  });

  it('offcputime -p: a child\'s ten 50 ms sleeps as one nanosleep stack with their total, the same stack as libbpf-tools', async (ctx) => {
    if (!existsSync(PY)) return ctx.skip();
    const child = pyChild('for _ in range(10): time.sleep(0.05)');
    try {
      // Neither version prints until it ends: each is ready once it holds its sched_switch link.
      const r = await both('offcputime', ['-p', String(child.pid)], 1, () => child.go());
      // One block per stack: frames, "-  comm (pid)", the microseconds. The sleeps' block has do_nanosleep.
      const sleeps = (out: string): { frames: string[]; us: number }[] => out.split('\n\n').filter((b) => b.includes('do_nanosleep') && b.includes(`python3 (${child.pid})`)).map((b) => {
        const lines = b.split('\n').filter((l) => l.trim());
        return { frames: lines.slice(1, -2).map((l) => l.trim()), us: Number(lines[lines.length - 1]) };
      });
      const mine = sleeps(r.ours);
      expect(mine).toHaveLength(1);
      expect(mine[0].us).toBeGreaterThanOrEqual(500000);
      expect(mine[0].us).toBeLessThan(700000);
      expect(mine[0].frames.slice(0, 6)).toEqual(['bpf_trace_run4', '__traceiter_sched_switch', '__schedule', 'schedule', 'do_nanosleep', 'hrtimer_nanosleep']);
      if (r.theirs !== undefined) {
        const theirs = sleeps(r.theirs);
        expect(theirs.map((t) => t.frames)).toEqual([mine[0].frames]);
        expect(Math.abs(theirs[0].us - mine[0].us)).toBeLessThan(50000);
      }
    } finally {
      child.kill();
    }
  });

  it('hardirqs -C: per handler, no more than /proc/interrupts counted around the run and about what it counted inside, as libbpf-tools', async () => {
    const outer0 = procInterrupts();
    let inner0 = new Map<string, number>();
    let inner1 = new Map<string, number>();
    // Device interrupts of our own making inside the window (an idle machine may raise none): synchronous direct
    // writes to a disk-backed file, each completed by the disk's interrupt.
    const ioDir = mkdtempSync(path.join(existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'bpfkit-hardirqs-'));
    const r = await both('hardirqs', ['-C'], /Tracing hard irq events/, async () => {
      inner0 = procInterrupts();
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(ioDir, 'io')}`, 'bs=64k', 'count=64', 'oflag=direct,dsync'], { stdio: 'ignore' });
      await new Promise((res) => setTimeout(res, 1000));
      inner1 = procInterrupts();
    }).finally(() => rmSync(ioDir, { recursive: true, force: true }));
    const outer = delta(outer0, procInterrupts());
    const inner = delta(inner0, inner1);
    const counts = (out: string): Map<string, number> => new Map(out.split('\n').map((l) => /^(\S+)\s+(\d+)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1], Number(m[2])]));
    expect(r.ours).toMatch(/^HARDIRQ {20}TOTAL_count$/m);
    const checked = [...inner].filter(([, n]) => n > 0);
    expect(checked.length).toBeGreaterThan(0);
    for (const out of [r.ours, r.theirs]) {
      if (out === undefined) continue;
      const c = counts(out);
      for (const [name, n] of checked) {
        // The kernel also counts an interrupt that finds its line masked and runs no handler: a few fewer handler runs
        // than /proc/interrupts' inner count are possible, never more than its outer one.
        expect(c.get(name) ?? 0, name).toBeGreaterThanOrEqual(n - Math.max(2, Math.floor(n / 10)));
        expect(c.get(name) ?? 0, name).toBeLessThanOrEqual(outer.get(name) ?? 0);
      }
    }
  });

  it('softirqs -d: per vector, histogram totals between what /proc/softirqs counted inside and around the run, as libbpf-tools', async () => {
    const outer0 = procSoftirqs();
    let inner0 = new Map<string, number>();
    let inner1 = new Map<string, number>();
    const r = await both('softirqs', ['-d'], /Tracing soft irq event time/, async () => {
      inner0 = procSoftirqs();
      await new Promise((res) => setTimeout(res, 1500));
      inner1 = procSoftirqs();
    });
    const outer = delta(outer0, procSoftirqs());
    const inner = delta(inner0, inner1);
    const totals = (out: string): Map<string, number> => new Map(out.split('softirq = ').slice(1).map((b) => [b.split('\n')[0], histCount(b, 0)]));
    expect(r.ours).toMatch(/^softirq = timer\n {5}usecs {15}: count {4}distribution$/m);
    const checked = [...inner].filter(([, n]) => n > 0);
    expect(checked.length).toBeGreaterThan(0);
    for (const out of [r.ours, r.theirs]) {
      if (out === undefined) continue;
      const t = totals(out);
      for (const [name, n] of checked) {
        expect(t.get(name) ?? 0, name).toBeGreaterThanOrEqual(n);
        expect(t.get(name) ?? 0, name).toBeLessThanOrEqual(outer.get(name) ?? 0);
      }
    }
  });

  it('funclatency -m -p :work: a C program\'s twenty 5 ms calls, counted as libbpf-tools counts them', async (ctx) => {
    const bin = cWork('funclatency');
    if (!bin) return ctx.skip();
    const child = cChild(bin, ['20']);
    try {
      const r = await both('funclatency', ['-m', '-p', String(child.pid), ':work'], /Tracing :work\. {2}Hit Ctrl-C to exit/, () => child.go());
      expect(r.ours).toMatch(/^ {5}msec {16}: count {4}distribution\n {9}0 -> 1 {10}: 0 +\|/m);
      // Every call sleeps 5 ms (a loaded machine can stretch one, never shorten it): all twenty from the 4 ms row on.
      expect(histCount(r.ours, 4)).toBe(20);
      expect(histCount(r.ours, 0)).toBe(20);
      expect(r.ours).toMatch(/\nExiting trace of :work\n$/);
      if (r.theirs !== undefined) expect([histCount(r.theirs, 0), histCount(r.theirs, 4)]).toEqual([20, 20]);
    } finally {
      child.kill();
    }
  });

  it('funccount -p: a C program\'s twenty usleep() calls in libc and its work() calls (bcc has the only other version)', async (ctx) => {
    const bin = cWork('funccount');
    if (!bin) return ctx.skip();
    const child = cChild(bin, ['20']);
    try {
      const a = start(ours('funccount', ['-p', String(child.pid), 'c:usleep']), /Tracing functions for "c:usleep"/);
      const r = await both('funccount', ['-p', String(child.pid), `${bin}:work`], /Tracing functions for/, async () => {
        await a.ready;
        await child.go();
      });
      const libc = await a.stop();
      // "%-36s %8d", as bcc prints it.
      expect(libc.endsWith(`\n${'FUNC'.padEnd(36)} ${'COUNT'.padStart(8)}\n${'usleep'.padEnd(36)} ${'20'.padStart(8)}\nDetaching...\n`)).toBe(true);
      expect(r.ours.endsWith(`\n${'FUNC'.padEnd(36)} ${'COUNT'.padStart(8)}\n${'work'.padEnd(36)} ${'20'.padStart(8)}\nDetaching...\n`)).toBe(true);
    } finally {
      child.kill();
    }
  });

  it('gethostlatency -p: a child\'s three getaddrinfo() and two gethostbyname() calls with their host, the same as libbpf-tools (times aside)', async (ctx) => {
    if (!existsSync(PY)) return ctx.skip();
    const child = pyChild('import socket\nfor i in range(3): socket.getaddrinfo("localhost", 80 + i)\nfor i in range(2): socket.gethostbyname("localhost")');
    try {
      const r = await both('gethostlatency', ['-p', String(child.pid)], /TIME\s+PID\s+COMM\s+LATms\s+HOST/, () => child.go());
      const pick = (out: string): string[] => out.split('\n').filter((l) => l.includes(` ${child.pid} `)).map((l) => { const f = l.trim().split(/\s+/); return `${f[1]} ${f[2]} ${f[4]}`; });
      expect(pick(r.ours)).toEqual(Array.from({ length: 5 }, () => `${child.pid} python3 localhost`));
      expect(r.ours).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${child.pid} +python3 +\\d+\\.\\d{3} +localhost$`, 'm'));
      if (r.theirs !== undefined) expect(pick(r.ours)).toEqual(pick(r.theirs));
    } finally {
      child.kill();
    }
  });

  it('bashreadline: each line an interactive bash read, the same as libbpf-tools', async (ctx) => {
    if (!hasCommand('script') || !existsSync('/bin/bash')) {
      reportSkip('bashreadline', 'needs script(1) and /bin/bash for an interactive shell on a pty');
      return ctx.skip();
    }
    const mark = `tools-mark-${process.pid}`;
    const r = await both('bashreadline', [], /TIME\s+PID\s+COMMAND/, () => {
      execFileSync('script', ['-qc', '/bin/bash --norc --noprofile -i', '/dev/null'], { input: `echo ${mark} one\n: ${mark} two\nexit\n`, stdio: ['pipe', 'ignore', 'ignore'] });
    });
    const pick = (out: string): string[] => out.split('\n').filter((l) => l.includes(mark) || / exit$/.test(l)).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
    const mine = pick(r.ours);
    const pid = mine[0]?.split(' ')[0];
    expect(mine).toEqual([`${pid} echo ${mark} one`, `${pid} : ${mark} two`, `${pid} exit`]);
    if (r.theirs !== undefined) expect(mine).toEqual(pick(r.theirs));
  });

  it('runqslower -p PID 1: one line per time the child was switched in, as its /proc context-switch counters say, and as libbpf-tools', async (ctx) => {
    if (!existsSync(PY)) return ctx.skip();
    const child = pyChild('for _ in range(20): time.sleep(0.005)');
    const switches = (): [number, number] => {
      const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return [Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1]), Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1])];
    };
    try {
      let voluntary = 0;
      let preempted = 0;
      const r = await both('runqslower', ['-p', String(child.pid), '1'], /TIME\s+COMM\s+TID\s+LAT\(us\)/, async () => {
        const before = switches();
        await child.go();
        // Until it blocks on stdin again: its last switch-out has no switch-in.
        await new Promise((res) => setTimeout(res, 200));
        const after = switches();
        voluntary = after[0] - before[0];
        preempted = after[1] - before[1];
      });
      // Each switch-out since "go" but the last is followed by a switch-in, and "go" woke it once: as many lines as
      // switches. A wakeup always waits more than 1 us; a preempted task put straight back may not (on a loaded machine
      // one in a thousand did), so preemptions bound the count from below only.
      const lines = (out: string): number => out.split('\n').filter((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d python3 +${child.pid} +\\d+$`).test(l)).length;
      expect(voluntary).toBeGreaterThanOrEqual(21);
      for (const out of r.theirs !== undefined ? [r.ours, r.theirs] : [r.ours]) {
        expect(lines(out)).toBeLessThanOrEqual(voluntary + preempted);
        expect(lines(out)).toBeGreaterThanOrEqual(voluntary);
      }
    } finally {
      child.kill();
    }
  });

  it('profile -F 99 -p: a child busy for one CPU second gets about 99 samples, under its own comm and pid (libbpf-tools 0.26 has no profile)', async (ctx) => {
    if (!existsSync(PY)) return ctx.skip();
    const child = pyChild('t = time.process_time()\nwhile time.process_time() - t < 1.0: pass');
    try {
      const r = await both('profile', ['-F', '99', '-p', String(child.pid)], new RegExp(`Sampling at 99 Hertz of PID \\[${child.pid}\\] by user \\+ kernel\\.\\.\\. Hit Ctrl-C to end\\.`), () => child.go());
      const blocks = r.ours.split('\n\n').filter((b) => b.includes(`python3 (${child.pid})`));
      expect(blocks.length).toBeGreaterThan(0);
      const samples = blocks.reduce((n, b) => n + Number(b.trim().split('\n').pop()), 0);
      // A 99 Hz clock over one CPU second, give or take the timer's phase and the start-up work around the loop.
      expect(samples).toBeGreaterThanOrEqual(85);
      expect(samples).toBeLessThanOrEqual(130);
      for (const b of blocks) expect(b).toMatch(new RegExp(`(^|\\n) {4}- {16}python3 \\(${child.pid}\\)\\n {8}\\d+$`));
    } finally {
      child.kill();
    }
  });

  it('bad input gets one usage line, not a stack trace: kernel functions, missing targets, bad thresholds, kprobe-only flags', () => {
    const cases: [string[], string][] = [
      [['funclatency', 'vfs_read'], "funclatency: 'vfs_read' is a kernel function: kprobes are not available on this kernel (use LIBRARY:FUNCTION, :FUNCTION or PROGRAM:FUNCTION)"],
      [['funclatency'], 'funclatency: Need a function to trace'],
      [['runqslower', '0'], 'runqslower: Invalid delay (in us): 0'],
      [['tcpretrans', '-l'], 'tcpretrans: -l needs a kprobe on tcp_send_loss_probe, which this kernel cannot attach (no kprobes)'],
      [['funccount', '-p', '4194000', 'c:malloc'], 'funccount: no process 4194000'],
    ];
    for (const [args, line] of cases) {
      const cmd = ours(args[0], args.slice(1));
      const r = spawnSync(cmd[0], cmd.slice(1), { cwd: repoRoot, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`${line}\nTry 'bpfkit tools ${args[0]} --help'.\n`);
    }
  });
});
