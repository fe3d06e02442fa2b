/** `bpfkit exporter` scraped by a real Prometheus server (apt's): the series it stores equal the trace maps' contents for a known workload. */

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exposeMetric } from '../../src/cli/exporter.js';
import { hasCommand, inCi, repoRoot, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('bpfkit exporter');

/** Free-ish ports derived from our pid, so parallel helpers do not collide. */
const port = 20000 + (process.pid % 20000);

function started(child: ChildProcess, text: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const on = (d: Buffer): void => {
      out += d.toString();
      if (text.test(out)) resolve();
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code) => reject(new Error(`exited (${code}) before ready: ${out}`)));
  });
}

async function getJson(url: string): Promise<{ status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }> {
  const r = await fetch(url);
  return (await r.json()) as never;
}

describe('exporter exposition', () => {
  it('counters, gauges and histograms in text 0.0.4 and OpenMetrics', () => {
    const m = { name: 'calls_total', help: 'calls', map: '@c', labels: [{ name: 'comm' }] };
    const entries = [{ key: ['a"b'], value: 3n }];
    expect(exposeMetric('counter', m, entries, false)).toBe('# HELP calls_total calls\n# TYPE calls_total counter\ncalls_total{comm="a\\"b"} 3\n');
    expect(exposeMetric('counter', m, entries, true)).toBe('# HELP calls calls\n# TYPE calls counter\ncalls_total{comm="a\\"b"} 3\n');
    const h = { name: 'lat_seconds', map: '@h', scale: 1e-6 };
    const hist = [{ key: [], value: { kind: 'hist' as const, buckets: [{ low: 2n, high: 4n, count: 2n }, { low: 8n, high: 16n, count: 1n }] } }];
    expect(exposeMetric('histogram', h, hist, false)).toBe(
      '# HELP lat_seconds lat_seconds\n# TYPE lat_seconds histogram\nlat_seconds_bucket{le="0.000003"} 2\nlat_seconds_bucket{le="0.000015"} 3\nlat_seconds_bucket{le="+Inf"} 3\nlat_seconds_count 3\n',
    );
  });
});

describe.skipIf(why !== undefined)('bpfkit exporter scraped by Prometheus', () => {
  it('stores the counts and histogram buckets the maps hold', async (ctx) => {
    if (!hasCommand('prometheus')) {
      const msg = 'prometheus not installed (apt-get install prometheus)';
      if (inCi()) throw new Error(msg);
      reportSkip('exporter', msg);
      ctx.skip();
      return;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-tools-prom-'));
    let exporter: ChildProcess | undefined;
    let prom: ChildProcess | undefined;
    try {
      // A child that makes exactly 42 getppid() calls, counted per pid and as a histogram of a known value.
      const config = {
        programs: [{
          name: 'getppid',
          source: `tracepoint:syscalls:sys_enter_getppid /comm == "bpfkit-prom-wl"/ { @calls[comm] = count(); @vals = hist(5); @last = pid; }`,
          metrics: {
            counters: [{ name: 'bpfkit_test_getppid_total', help: 'getppid calls', map: '@calls', labels: [{ name: 'comm' }] }],
            gauges: [{ name: 'bpfkit_test_last_pid', help: 'last caller', map: '@last' }],
            histograms: [{ name: 'bpfkit_test_vals', help: 'a constant 5', map: '@vals' }],
          },
        }],
      };
      writeFileSync(path.join(dir, 'exporter.json'), JSON.stringify(config));
      exporter = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/helpers/cli-entry.ts'), 'exporter', '--config', path.join(dir, 'exporter.json'), '--listen', `127.0.0.1:${port}`], { cwd: repoRoot });
      await started(exporter, /Listening on/);
      const wl = spawnSync('/usr/bin/python3', ['-c', 'import ctypes, os\nlibc = ctypes.CDLL(None)\nlibc.prctl(15, b"bpfkit-prom-wl", 0, 0, 0)\nfor _ in range(42): os.getppid()\nprint(os.getpid())'], { encoding: 'utf8' });
      const wlPid = wl.stdout.trim();
      expect(wlPid).toMatch(/^\d+$/);
      writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: bpfkit\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
      prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port + 1}`], { cwd: dir });
      await started(prom, /Server is ready to receive web requests/);
      const q = (expr: string) => getJson(`http://127.0.0.1:${port + 1}/api/v1/query?query=${encodeURIComponent(expr)}`);
      let calls: Awaited<ReturnType<typeof q>> | undefined;
      for (let i = 0; i < 60; i++) {
        calls = await q('bpfkit_test_getppid_total');
        if (calls.data.result.length) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(calls?.data.result).toEqual([{ metric: { __name__: 'bpfkit_test_getppid_total', comm: 'bpfkit-prom-wl', instance: `127.0.0.1:${port}`, job: 'bpfkit' }, value: [expect.any(Number), '42'] }]);
      expect((await q('bpfkit_test_last_pid')).data.result[0].value[1]).toBe(wlPid);
      const buckets = (await q('bpfkit_test_vals_bucket')).data.result.map((r) => [r.metric.le, r.value[1]]).sort();
      // hist(5) counts 42 in [4, 8): le="7" and +Inf hold 42.
      expect(buckets).toEqual([['+Inf', '42'], ['7', '42']]);
      expect((await q('bpfkit_test_vals_count')).data.result[0].value[1]).toBe('42');
    } finally {
      prom?.kill('SIGTERM');
      exporter?.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
