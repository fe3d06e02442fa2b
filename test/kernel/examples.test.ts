// The runnable examples (disksnoop and malloc-count written with bpfkit/trace), each run briefly as its own process against real activity: malloc counting on python3, opensnoop, disksnoop, and XDP drop by protocol on a veth pair.

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, repoRoot, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { createVethPair } from './helpers/netns.js';

const why = await kernelSkip('examples');

/** A started example: resolves `ready` once its stdout shows `readyText`; `stop()` sends SIGINT and resolves with all it printed. */
function startExample(file: string, args: string[], readyText: RegExp, netns?: string): { ready: Promise<void>; stop(): Promise<string> } {
  const cmd = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'examples', file), ...args];
  const child: ChildProcessWithoutNullStreams = netns ? spawn('ip', ['netns', 'exec', netns, ...cmd], { cwd: repoRoot }) : spawn(cmd[0], cmd.slice(1), { cwd: repoRoot });
  let out = '';
  let err = '';
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (readyText.test(out)) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => reject(new Error(`${file} exited (${code}) before it was ready: ${err}`)));
  });
  return {
    ready,
    async stop() {
      child.kill('SIGINT');
      const code = await exited;
      if (code !== 0) throw new Error(`${file} exited with ${code}: ${err}`);
      return out;
    },
  };
}

describe.skipIf(why !== undefined)('examples', () => {
  it('malloc-count counts a python3 process\'s mallocs by pid', async (ctx) => {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) {
      reportSkip('malloc-count example', `${py} not found`);
      ctx.skip();
      return;
    }
    // 20000 allocations of ~1 KB: above pymalloc's 512-byte limit, so each one is a libc malloc.
    const target = spawn(py, ['-c', 'import sys\nsys.stdin.readline()\nx = [bytearray(1000 + i % 7) for i in range(20000)]\nprint("done", flush=True)\nsys.stdin.readline()']);
    try {
      const done = new Promise<void>((resolve) => target.stdout.on('data', (d: Buffer) => d.toString().includes('done') && resolve()));
      const ex = startExample('malloc-count.ts', [String(target.pid)], /^attached/m);
      await ex.ready;
      target.stdin.write('go\n');
      await done;
      const out = await ex.stop();
      const rows = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0] === String(target.pid));
      expect(rows).toHaveLength(1);
      expect(rows[0][1]).toBe('python3');
      expect(Number(rows[0][2])).toBeGreaterThanOrEqual(20000);
      expect(out).toMatch(/attached to malloc for pid \d+/);
    } finally {
      target.kill();
    }
  });

  it('opensnoop streams our own opens with pid, comm and path', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-opensnoop-'));
    try {
      const file = path.join(dir, 'marker-file');
      const ex = startExample('opensnoop.ts', ['--pid', String(process.pid)], /PID\s+COMM\s+FILE/);
      await ex.ready;
      for (let i = 0; i < 5; i++) closeSync(openSync(file, 'w'));
      // The example drains its ring buffer when stopped, so every record is printed.
      const out = await ex.stop();
      const lines = out.split('\n').filter((l) => l.endsWith(` ${file}`));
      expect(lines).toHaveLength(5);
      for (const l of lines) expect(l.trim().split(/\s+/)[0]).toBe(String(process.pid));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('disksnoop histograms the latency of direct block writes', async (ctx) => {
    const fsType = execFileSync('stat', ['-f', '-c', '%T', repoRoot], { encoding: 'utf8' }).trim();
    if (!hasCommand('dd') || fsType === 'tmpfs' || fsType === 'overlayfs') {
      reportSkip('disksnoop example', `needs dd and a block-backed file system (the repo is on ${fsType})`);
      ctx.skip();
      return;
    }
    const file = path.join(repoRoot, `.bpfkit-disksnoop-${process.pid}`);
    try {
      const ex = startExample('disksnoop.ts', [], /^attached/m);
      await ex.ready;
      execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4k', 'count=200', 'oflag=direct,sync'], { stdio: 'ignore' });
      const out = await ex.stop();
      expect(out).toMatch(/^@usecs:$/m);
      const total = Number(/^total (\d+)$/m.exec(out)?.[1]);
      expect(total).toBeGreaterThanOrEqual(200);
      // The buckets add up to the total.
      const sum = [...out.matchAll(/^[[(][^\n]*?\)?\]?\s+(\d+) \|/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(sum).toBe(total);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('xdp-proto-drop on a veth pair: counts ICMP, and dropping it loses every ping', async (ctx) => {
    if (!hasCommand('ip') || !hasCommand('ping')) {
      reportSkip('xdp example', 'needs ip and ping');
      ctx.skip();
      return;
    }
    const pair = createVethPair(process.pid + 1);
    try {
      const ping = () => {
        try {
          return pair.exec(pair.a, 'ping', ['-n', '-q', '-c', '3', '-i', '0.1', '-W', '1', pair.ipB]);
        } catch (e) {
          return String((e as { stdout?: string }).stdout ?? '');
        }
      };
      for (const [mode, drop] of [['native', true], ['skb', false]] as const) {
        const ex = startExample('xdp-proto-drop.ts', ['--iface', pair.vethA, '--mode', mode, ...(drop ? ['--drop', 'icmp'] : [])], /^attached/m, pair.a);
        await ex.ready;
        expect(ping()).toMatch(drop ? /3 packets transmitted, 0 received/ : /3 packets transmitted, 3 received/);
        const out = await ex.stop();
        // The echo replies arrive on vethA: three of them, dropped or passed.
        expect(out).toMatch(new RegExp(`^icmp\\s+3\\s+${drop ? 'dropped' : 'passed'}$`, 'm'));
      }
    } finally {
      pair.cleanup();
    }
  });
});
