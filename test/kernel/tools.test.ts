/**
 * `bpfkit tools` on controlled workloads: each tool reports exactly the execs, opens, exits, kills,
 * syscalls and block I/Os made, and the same lines as libbpf-tools' version run beside it.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, repoRoot, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { both, ours, rows } from './helpers/tools.js';

const why = await kernelSkip('bpfkit tools');

describe.skipIf(why !== undefined)('bpfkit tools', () => {
  it('execsnoop: one line per exec with its argv, the same as libbpf-tools', async () => {
    const mark = `bpfkit-exec-${process.pid}`;
    const r = await both('execsnoop', ['-q'], /PCOMM\s+PID\s+PPID\s+RET\s+ARGS/, () => {
      for (let i = 0; i < 5; i++) spawnSync('/bin/true', [mark, `arg ${i}`]);
      spawnSync(`/nonexistent-${mark}`, []);
    });
    const mine = r.ours.split('\n').filter((l) => l.includes(mark));
    expect(mine).toHaveLength(5);
    mine.forEach((l, i) => expect(l).toMatch(new RegExp(`^true\\s+\\d+\\s+${process.pid}\\s+0 "/bin/true" "${mark}" "arg ${i}" $`)));
    if (r.theirs !== undefined) expect(r.ours.split('\n').filter((l) => l.includes(mark))).toEqual(r.theirs.split('\n').filter((l) => l.includes(mark)));
  });

  it('opensnoop -p: every open of a marker file and the failed ones, the same as libbpf-tools', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-tools-open-'));
    try {
      const file = path.join(dir, 'marker');
      const r = await both('opensnoop', ['-p', String(process.pid)], /PID\s+COMM\s+FD\s+ERR\s+PATH/, () => {
        for (let i = 0; i < 4; i++) closeSync(openSync(file, 'w'));
        for (let i = 0; i < 3; i++) {
          try {
            openSync(`${file}-missing`, 'r');
          } catch {
            // ENOENT, counted as ERR 2
          }
        }
      });
      const mine = rows(r.ours, new RegExp(`${dir}/`));
      expect(mine.filter((l) => l.endsWith(' marker') || l.endsWith(`${file}`))).toHaveLength(4);
      expect(mine.filter((l) => / -1 2 \S+-missing$/.test(l))).toHaveLength(3);
      for (const l of mine) expect(l.split(' ')[0]).toBe(String(process.pid));
      if (r.theirs !== undefined) expect(mine).toEqual(rows(r.theirs, new RegExp(`${dir}/`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exitsnoop: exit codes and signals of known children, the same as libbpf-tools (age aside)', async () => {
    const pids: number[] = [];
    const r = await both('exitsnoop', [], /PCOMM\s+PID\s+PPID\s+TID\s+AGE\(s\)\s+EXIT_CODE/, () => {
      for (const code of [0, 3, 7]) pids.push(spawnSync('/bin/sh', ['-c', `exit ${code}`]).pid!);
      pids.push(spawnSync('/bin/sh', ['-c', 'kill -9 $$']).pid!);
    });
    const re = new RegExp(`^sh\\s+(${pids.join('|')})\\s`);
    const mine = rows(r.ours, re, [4]);
    expect(mine).toEqual([
      `sh ${pids[0]} ${process.pid} ${pids[0]} 0`,
      `sh ${pids[1]} ${process.pid} ${pids[1]} code 3`,
      `sh ${pids[2]} ${process.pid} ${pids[2]} code 7`,
      `sh ${pids[3]} ${process.pid} ${pids[3]} signal 9 (Killed)`,
    ]);
    if (r.theirs !== undefined) expect(mine).toEqual(rows(r.theirs, re, [4]));
  });

  it('killsnoop -p: each kill() with its signal, target and result, the same as libbpf-tools (time aside)', async () => {
    const target = spawn('/bin/sleep', ['30']);
    try {
      const r = await both('killsnoop', ['-p', String(process.pid)], /TIME\s+PID\s+COMM\s+SIG\s+TPID\s+RESULT/, () => {
        for (let i = 0; i < 4; i++) process.kill(target.pid!, 0);
        try {
          process.kill(4194000, 0);
        } catch {
          // ESRCH: RESULT -3
        }
      });
      // TIME aside; COMM is 16 wide and may hold spaces ("node (vitest 1)"); only the workload's targets.
      const pick = (out: string): string[] => out.split('\n').map((l) => /^\S+ (\d+)\s+.{16} (\S+)\s+(\d+)\s+(-?\d+)\s*$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m && m[1] === String(process.pid) && [String(target.pid), '4194000'].includes(m[3]))
        .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
      const mine = pick(r.ours);
      expect(mine).toEqual([...Array.from({ length: 4 }, () => `${process.pid} 0 ${target.pid} 0`), `${process.pid} 0 4194000 -3`]);
      if (r.theirs !== undefined) expect(mine).toEqual(pick(r.theirs));
    } finally {
      target.kill();
    }
  });

  it('syscount -p: a child\'s 1000 getppid() calls, as libbpf-tools counts them', async (ctx) => {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) {
      reportSkip('syscount', `${py} not found`);
      ctx.skip();
      return;
    }
    const child = spawn(py, ['-c', 'import os, sys\nsys.stdin.readline()\nfor _ in range(1000): os.getppid()\nprint("done", flush=True)\nsys.stdin.readline()']);
    try {
      const done = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
      const r = await both('syscount', ['-p', String(child.pid)], /Tracing syscalls/, async () => {
        child.stdin.write('go\n');
        await done;
      });
      const count = (out: string): number => Number(/^getppid\s+(\d+)$/m.exec(out)?.[1]);
      expect(r.ours).toMatch(/^SYSCALL\s+COUNT$/m);
      expect(count(r.ours)).toBe(1000);
      if (r.theirs !== undefined) expect(count(r.theirs)).toBe(1000);
    } finally {
      child.kill();
    }
  });

  it('biolatency -d: exactly the 200 direct writes of dd to a loop device of our own, the same histogram as libbpf-tools', async (ctx) => {
    if (!hasCommand('dd') || !hasCommand('losetup')) {
      reportSkip('biolatency', 'needs dd and losetup');
      ctx.skip();
      return;
    }
    // A disk of our own: other processes' I/O on the machine's disks would make the counts differ between runs.
    const img = path.join(os.tmpdir(), `bpfkit-biolatency-${process.pid}.img`);
    writeFileSync(img, new Uint8Array(4 << 20));
    const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
    try {
      const name = path.basename(dev);
      const r = await both('biolatency', ['-d', name], /Tracing block device I\/O/, () => {
        execFileSync('dd', ['if=/dev/zero', `of=${dev}`, 'bs=4k', 'count=200', 'oflag=direct'], { stdio: 'ignore' });
      });
      const total = (out: string): number => [...out.matchAll(/^\s+\d+ -> \d+\s+: (\d+)\s+\|[* ]+\|$/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(r.ours).toMatch(/^Tracing block device I\/O\.\.\. Hit Ctrl-C to end\.\n\n\n {5}usecs {15}: count {4}distribution$/m);
      expect(r.ours).toMatch(/^ {9}0 -> 1 {10}: \d+/m);
      expect(total(r.ours)).toBe(200);
      if (r.theirs !== undefined) {
        expect(total(r.theirs)).toBe(200);
        // Latencies differ run to run by a bucket or so; the shape and the lines' format are the same.
        expect(r.ours.split('\n').slice(0, 4)).toEqual(r.theirs.split('\n').slice(0, 4));
      }
    } finally {
      execFileSync('losetup', ['-d', dev]);
      rmSync(img, { force: true });
    }
  });

  it('runqlat -p: at least one run queue wait per sleep of a child, as libbpf-tools counts', async (ctx) => {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) {
      reportSkip('runqlat', `${py} not found`);
      ctx.skip();
      return;
    }
    const child = spawn(py, ['-c', 'import sys, time\nsys.stdin.readline()\nfor _ in range(50): time.sleep(0.002)\nprint("done", flush=True)\nsys.stdin.readline()']);
    try {
      const done = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
      const r = await both('runqlat', ['-p', String(child.pid)], /Tracing run queue latency/, async () => {
        child.stdin.write('go\n');
        await done;
      });
      const total = (out: string): number => [...out.matchAll(/^\s+\d+ -> \d+\s+: (\d+)\s+\|[* ]+\|$/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(r.ours).toMatch(/^ {5}usecs {15}: count {4}distribution$/m);
      expect(total(r.ours)).toBeGreaterThanOrEqual(50);
      // Each sleep is one wakeup; a few more come from the interpreter's start and the pipe reads.
      expect(total(r.ours)).toBeLessThanOrEqual(80);
      if (r.theirs !== undefined) expect(Math.abs(total(r.ours) - total(r.theirs))).toBeLessThanOrEqual(10);
    } finally {
      child.kill();
    }
  });

  it('tcpstates -L: a loopback connection\'s server-side states, the same as libbpf-tools (MS aside)', async () => {
    const net = await import('node:net');
    const server = net.createServer((sock) => sock.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await both('tcpstates', ['-L', String(port)], /SKADDR\s+PID\s+COMM/, async () => {
        for (let i = 0; i < 2; i++) {
          await new Promise<void>((resolve) => {
            const c = net.connect(port, '127.0.0.1');
            c.on('close', () => resolve());
            c.on('data', () => undefined);
          });
        }
        await new Promise((res) => setTimeout(res, 200));
      });
      // SKADDR PID COMM LADDR LPORT RADDR RPORT OLD -> NEW, without MS (the two tools time their own probes).
      const pick = (out: string): string[] => out.split('\n').filter((l) => new RegExp(`127\\.0\\.0\\.1\\s+${port}\\s`).test(l)).map((l) => l.replace(/\s+\S+\s*$/, '').replace(/^(\S+\s+\S+\s+).{10}/, '$1'));
      const mine = pick(r.ours);
      // Per connection: the accepted socket becomes ESTABLISHED (from SYN_RECV), then closes.
      expect(mine.filter((l) => /SYN_RECV\s+-> ESTABLISHED/.test(l))).toHaveLength(2);
      expect(mine.filter((l) => /-> CLOSE\s*$/.test(l)).length).toBeGreaterThanOrEqual(2);
      if (r.theirs !== undefined) expect(mine).toEqual(pick(r.theirs));
    } finally {
      server.close();
    }
  });

  it('bad flags give a usage error, not a stack trace', () => {
    const r = spawnSync(ours('opensnoop', ['-p', 'abc'])[0], ours('opensnoop', ['-p', 'abc']).slice(1), { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("opensnoop: invalid pid: abc\nTry 'bpfkit tools opensnoop --help'.\n");
    const u = spawnSync(ours('nosuchtool', [])[0], ours('nosuchtool', []).slice(1), { cwd: repoRoot, encoding: 'utf8' });
    expect(u.status).toBe(1);
    expect(u.stderr).toMatch(/^bpfkit tools: unknown tool 'nosuchtool'/);
  });
});
