/**
 * Probe expansion and `-l`/`-lv` listings on this machine: the runtime corpus's `list` and
 * probe-diagnostic expectations, and tracepoint/uprobe listings against bpftrace 0.17 (whose
 * format for these did not change; it does not sort tracepoints, so names compare as sets).
 */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expandProbe, listProbes, listProgramProbes } from '../../src/trace/probes/index.js';
import type { ConcreteProbe } from '../../src/trace/probes/index.js';
import { skipReason } from '../helpers/reference.js';

const why = skipReason('probe catalog on this machine', { files: ['/sys/kernel/tracing/events', '/sys/kernel/btf/vmlinux'], root: true });

describe.skipIf(why !== undefined)('listings (runtime corpus: basic, regression `list` cases)', () => {
  it('it lists tracepoints, software events, rawtracepoints', async () => {
    const all = await listProbes(undefined);
    expect(all.some((l) => /^tracepoint:/.test(l))).toBe(true);
    expect(all.some((l) => /^software:/.test(l))).toBe(true);
    expect(all.some((l) => /^rawtracepoint:/.test(l))).toBe(true);
  });

  it('it lists rawtracepoint params, without the first void * or retval', async () => {
    expect((await listProbes('rawtracepoint:*', true)).some((l) => /^[ ]+[a-zA-Z_*\s]+/.test(l))).toBe(true);
    const skb = await listProbes('rawtracepoint:consume_skb', true);
    expect(skb[0]).toBe('rawtracepoint:vmlinux:consume_skb');
    expect(skb).not.toContain('    void * __data');
    expect(skb.some((l) => /int retval/.test(l))).toBe(false);
  });

  it('patterns: tracepoint, software, interval, profile, rawtracepoint, bare wildcard', async () => {
    expect(await listProbes('tracepoint:raw_syscalls:*')).toContain('tracepoint:raw_syscalls:sys_exit');
    expect(await listProbes('software:*')).toContain('software:cpu:');
    expect(await listProbes('interval:*')).toEqual(['interval:hz:', 'interval:ms:', 'interval:s:', 'interval:us:']);
    expect(await listProbes('profile:*')).toEqual(['profile:hz:', 'profile:ms:', 'profile:s:', 'profile:us:']);
    expect((await listProbes('rawtracepoint:*')).every((l) => /^rawtracepoint:.*/.test(l))).toBe(true);
    expect(await listProbes('*sched_switch*')).toContain('tracepoint:sched:sched_switch');
  });

  it('struct definitions, several at once', async () => {
    const lines = await listProbes('struct task_struct,struct file,struct fd', true);
    for (const s of ['task_struct', 'file', 'fd']) expect(lines.some((l) => l.split('\n')[0] === `vmlinux: struct ${s} {`), s).toBe(true);
    expect(await listProbes('struct task_struct')).toEqual(['struct task_struct']);
  });

  it('probes in a program, in program order (basic: it lists probes in a given file)', async () => {
    expect(await listProgramProbes(['interval:ms:1000', 'interval:s:1', 'interval:us:100000', 'BEGIN'])).toEqual(['interval:ms:', 'interval:s:', 'interval:us:']);
  });
});

describe.skipIf(why !== undefined)('expansion with bpftrace\'s words (probe: *_missing cases)', () => {
  it('missing tracepoints and rawtracepoints', async () => {
    await expect(expandProbe('t:syscalls:nonsense')).rejects.toThrow('No matches for tracepoint syscalls:nonsense.');
    await expect(expandProbe('rawtracepoint:nonsense:sys_exit')).rejects.toThrow('No matches for rawtracepoint nonsense:sys_exit.');
    // Without a module the name is a pattern: nothing matches, and bpftrace says the probe has no valid attach points.
    expect(await expandProbe('rawtracepoint:nonsense')).toEqual([]);
  });

  it('concrete probes carry what codegen and attach need', async () => {
    const [tp] = await expandProbe('tracepoint:syscalls:sys_enter_openat');
    expect(tp).toMatchObject({ provider: 'tracepoint', category: 'syscalls', event: 'sys_enter_openat' });
    expect(tp.provider === 'tracepoint' && tp.id > 0 && tp.fields.some((f) => f.name === 'filename' && f.type === 'const char *')).toBe(true);
    const [rt] = await expandProbe('rt:sched_switch');
    expect(rt.provider === 'rawtracepoint' ? rt.args.map((a) => a.name) : []).toEqual(['preempt', 'prev', 'next', 'prev_state']);
    const wild = await expandProbe('tracepoint:syscalls:sys_enter_read*');
    expect(wild.map((p) => p.name)).toContain('tracepoint:syscalls:sys_enter_read');
    expect(wild.every((p) => p.name.startsWith('tracepoint:syscalls:sys_enter_read'))).toBe(true);
    const rates: ConcreteProbe[] = [...(await expandProbe('i:ms:1')), ...(await expandProbe('profile:hz:599')), ...(await expandProbe('interval:500ms'))];
    expect(rates).toEqual([
      { provider: 'interval', name: 'interval:ms:1', unit: 'ms', rate: 1 },
      { provider: 'profile', name: 'profile:hz:599', unit: 'hz', rate: 599 },
      { provider: 'interval', name: 'interval:500ms', unit: 'us', rate: 500000 },
    ]);
    expect(await expandProbe('software:cpu:1e6')).toEqual([{ provider: 'software', name: 'software:cpu:1e6', event: 'cpu-clock', config: 0, count: 1000000 }]);
    expect(await expandProbe('s:faults')).toEqual([{ provider: 'software', name: 'software:faults', event: 'page-faults', config: 2, count: 100 }]);
  });

  it('bad specs are ProbeErrors in bpftrace\'s words', async () => {
    await expect(expandProbe('software:nope')).rejects.toThrow('nope is not a software probe');
    await expect(expandProbe('hardware:nope:5')).rejects.toThrow('nope is not a hardware probe');
    await expect(expandProbe('interval:xs:1')).rejects.toThrow('xs is not an accepted unit of time');
    await expect(expandProbe('i:5')).rejects.toThrow('Invalid rate of interval probe. Minimum is 1000 or 1us. Found: 5 nanoseconds');
    await expect(expandProbe('profile:hz:abc')).rejects.toThrow('Invalid rate of profile probe: invalid integer: abc');
    await expect(expandProbe('tracepoint:syscalls')).rejects.toThrow('tracepoint probe must have a target');
    await expect(expandProbe('BEGIN:x')).rejects.toThrow('begin/end probes should not have a target');
  });
});

const ref = skipReason('listings vs bpftrace 0.17', { commands: ['bpftrace'], files: ['/sys/kernel/tracing/events'], root: true });

/** bpftrace's listing split into blocks: a probe line and its indented argument lines. */
function blocks(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] = [];
  for (const l of lines) {
    if (l.startsWith(' ')) cur.push(l);
    else if (l !== '') out.set(l, (cur = []));
  }
  return out;
}

describe.skipIf(ref !== undefined)('listings vs bpftrace 0.17', () => {
  for (const pattern of ['tracepoint:sched:*', 'tracepoint:syscalls:sys_enter_*', 'tracepoint:irq:*', 'tracepoint:raw_syscalls:*']) {
    it(`-lv '${pattern}'`, async () => {
      const theirs = blocks(execFileSync('bpftrace', ['-lv', pattern], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n'));
      const ours = blocks(await listProbes(pattern, true));
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [probe, args] of theirs) expect(ours.get(probe), probe).toEqual(args);
    });
  }

  it("-l 'uprobe:/bin/bash:echo*'", async () => {
    const theirs = execFileSync('bpftrace', ['-l', 'uprobe:/bin/bash:echo*'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(await listProbes('uprobe:/bin/bash:echo*')).toEqual(theirs.sort());
  });
});

const usdtWhy = skipReason('usdt listing vs bpftrace 0.17', { commands: ['bpftrace'], files: ['/usr/bin/python3'], root: true });

describe.skipIf(usdtWhy !== undefined)('usdt probes of python3 vs bpftrace 0.17', () => {
  it("-l 'usdt:/usr/bin/python3:*' and expansion with and without the provider", async () => {
    const theirs = execFileSync('bpftrace', ['-l', 'usdt:/usr/bin/python3:*'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(theirs.length).toBeGreaterThan(0);
    expect(await listProbes('usdt:/usr/bin/python3:*')).toEqual([...theirs].sort());
    const withProvider = await expandProbe('usdt:/usr/bin/python3:python:function__entry');
    expect(withProvider).toEqual([{ provider: 'usdt', name: 'usdt:/usr/bin/python3:python:function__entry', path: '/usr/bin/python3', usdtProvider: 'python', probe: 'function__entry' }]);
    expect(await expandProbe('U:/usr/bin/python3:function__entry')).toEqual(withProvider);
    await expect(expandProbe('usdt:/usr/bin/python3:python:no_such_probe')).rejects.toThrow('No matches for usdt /usr/bin/python3:python:no_such_probe.');
  });
});
