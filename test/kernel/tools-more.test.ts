/**
 * The rest of `bpfkit tools` on controlled workloads (stat calls, block I/O, TCP sessions, sleeps, a C
 * program's calls): each reports exactly what the workload did, and the same as libbpf-tools' version
 * where that one runs here; where it cannot (kprobes, fentry, not packaged) the test says why.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, reportSkip } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { both } from './helpers/tools.js';

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

/** `dd` with direct I/O: `count` blocks of `bs` bytes written to (or read from) `dev`. */
function dd(dev: string, write: boolean, bs: number, count: number): void {
  execFileSync('dd', write ? ['if=/dev/zero', `of=${dev}`, `bs=${bs}`, `count=${count}`, 'oflag=direct'] : [`if=${dev}`, 'of=/dev/null', `bs=${bs}`, `count=${count}`, 'iflag=direct'], { stdio: 'ignore' });
}

describe.skipIf(why !== undefined)('bpfkit tools (the rest of the set)', () => {
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
      const r = await both('biosnoop', ['-d', loop.name, '-Q'], /TIME\(s\)\s+COMM\s+PID\s+DISK\s+T\s+SECTOR\s+BYTES\s+QUE\(ms\)\s+LAT\(ms\)/, () => {
        dd(loop.dev, true, 4096, 20);
        dd(loop.dev, false, 65536, 4);
      });
      // COMM PID DISK T SECTOR BYTES, without the times.
      const mine = r.ours.split('\n').slice(1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/).slice(1, 7).join(' '));
      const pids = [...new Set(mine.map((l) => l.split(' ')[1]))];
      expect(pids).toHaveLength(2);
      expect(mine).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `dd ${pids[0]} ${loop.name} WS ${i * 8} 4096`),
        ...Array.from({ length: 4 }, (_, i) => `dd ${pids[1]} ${loop.name} RS ${i * 128} 65536`),
      ]);
      expect(r.ours).toMatch(/^\d+\.\d{6} +dd +\d+ +loop\d+ +WS +0 +4096 +-?\d+\.\d{3} +\d+\.\d{3}$/m);
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
});
