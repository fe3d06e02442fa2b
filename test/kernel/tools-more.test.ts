/**
 * The rest of `bpfkit tools` on controlled workloads (stat calls, block I/O, TCP sessions, sleeps, a C
 * program's calls): each reports exactly what the workload did, and the same as libbpf-tools' version
 * where that one runs here; where it cannot (kprobes, fentry, not packaged) the test says why.
 */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelSkip } from './helpers/kernel.js';
import { both } from './helpers/tools.js';

const why = await kernelSkip('bpfkit tools');

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
});
