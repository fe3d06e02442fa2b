// Software clock sampling (`interval` and `profile` sources): a PERF_EVENT program run by the CPU clock of this thread, counted in a map.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { BPF_PERF_EVENT_DATA, Kernel, attachPerfSample, cgroup2MountPoint, pmuFormatShift, pmuType } from '../../src/kernel/index.js';
import { UnsupportedError } from '../../src/util/index.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt, countingSpec } from './helpers/probe-progs.js';

const why = await kernelSkip('perf events');

/** Burns CPU on this thread with a fixed amount of work; returns the CPU time it used in nanoseconds. */
function burn(rounds: number): number {
  const start = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < rounds; i++) x = (x * 31 + i) % 1000003;
  const d = process.cpuUsage(start);
  if (x < 0) throw new Error('unreachable');
  return (d.user + d.system) * 1000;
}

describe('pmu and mount lookups (no root)', () => {
  it('reads a pmu type and format bits from a sysfs-shaped dir; a missing pmu is a typed UnsupportedError', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-pmu-'));
    try {
      mkdirSync(path.join(dir, 'uprobe/format'), { recursive: true });
      writeFileSync(path.join(dir, 'uprobe/type'), '8\n');
      writeFileSync(path.join(dir, 'uprobe/format/retprobe'), 'config:0\n');
      writeFileSync(path.join(dir, 'uprobe/format/ref_ctr_offset'), 'config:32-63\n');
      expect(await pmuType('uprobe', dir)).toBe(8);
      expect(await pmuFormatShift('uprobe', 'retprobe', dir)).toBe(0n);
      expect(await pmuFormatShift('uprobe', 'ref_ctr_offset', dir)).toBe(32n);
      expect(await pmuFormatShift('uprobe', 'nope', dir)).toBeUndefined();
      const err = await pmuType('kprobe', dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedError);
      expect(err).toMatchObject({ code: 'E_UNSUPPORTED', hint: expect.stringMatching(/CONFIG_KPROBES/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the cgroup v2 mount in /proc/mounts text', () => {
    expect(cgroup2MountPoint('tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n')).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2MountPoint('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n')).toBeUndefined();
  });
});

describe.skipIf(why !== undefined)('perf event sampling', () => {
  it('interval: cpu-clock every 1 ms on this thread runs the program once per period, and each run sees that period', async () => {
    const kernel = await Kernel.open();
    const ctx = BPF_PERF_EVENT_DATA[kernel.sys.arch];
    using prog = kernel.load(countingSpec('interval', ProgType.BPF_PROG_TYPE_PERF_EVENT, { sumField: ctx.samplePeriod, tgid: process.pid }));
    const periodNs = 1_000_000;
    let cpuNs: number;
    {
      using link = attachPerfSample(kernel.sys, prog, { period: periodNs, pid: process.pid });
      expect(link.target).toMatch(/^perf_event\/1:0\/period=1000000$/);
      cpuNs = burn(30_000_000);
    }
    const runs = countAt(prog, 0);
    // Every run reads sample_period from its context: exactly the configured period.
    expect(countAt(prog, 1)).toBe(runs * BigInt(periodNs));
    // The thread's CPU time bounds the number of clock periods that elapsed on it.
    const expected = cpuNs / periodNs;
    expect(Number(runs)).toBeGreaterThan(expected * 0.3);
    expect(Number(runs)).toBeLessThan(expected * 1.5 + 5);
    // Detached: more work is not counted.
    burn(5_000_000);
    expect(countAt(prog, 0)).toBe(runs);
  });

  it('profile: a frequency source on every CPU samples this process', async () => {
    const kernel = await Kernel.open();
    using prog = kernel.load(countingSpec('profile', ProgType.BPF_PROG_TYPE_PERF_EVENT, { tgid: process.pid }));
    {
      using link = attachPerfSample(kernel.sys, prog, { frequency: 997, possibleCpus: kernel.possibleCpus });
      expect(link.target).toBe('perf_event/1:0/freq=997');
      burn(30_000_000);
    }
    expect(countAt(prog, 0)).toBeGreaterThan(0n);
  });

  it('bad sampling options are usage errors', async () => {
    const kernel = await Kernel.open();
    using prog = kernel.load(countingSpec('bad', ProgType.BPF_PROG_TYPE_PERF_EVENT));
    expect(() => attachPerfSample(kernel.sys, prog, {})).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => attachPerfSample(kernel.sys, prog, { period: 0 })).toThrow(/period must be positive/);
    expect(() => attachPerfSample(kernel.sys, prog, { period: 1, frequency: 1 })).toThrow(/exactly one/);
  });
});
