/** bpfkit/trace attached to the kernel: counts of a known workload, the stop conditions, events as an iterator, the same program in the VM. */

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as trace from '../../src/trace/index.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('trace API');

describe.skipIf(why !== undefined)('bpfkit/trace attached', () => {
  it('counts exactly our getppid calls; printf events iterate in order; until(timeout)', async () => {
    await using t = await trace.attach(`tracepoint:syscalls:sys_enter_getppid /pid == ${process.pid}/ { @n = count(); @[comm] = count(); printf("call %d\\n", @n); }`);
    expect(t.attached).toBe(1);
    for (let i = 0; i < 25; i++) void process.ppid;
    expect(await t.until(50)).toBe('timeout');
    expect(await t.maps.get('@n').get()).toBe(25n);
    const texts: string[] = [];
    for await (const e of t.events()) if (e.type === 'printf') texts.push(e.text);
    expect(texts).toEqual(Array.from({ length: 25 }, (_, i) => `call ${i + 1}\n`));
    expect((await t.maps.get('@').entries()).map((e) => e.value)).toEqual([25n]);
  });

  it('until() ends on a child\'s exit, an AbortSignal, or the program\'s exit()', async () => {
    {
      await using t = await trace.attach('tracepoint:sched:sched_process_exit { @exits = count(); }');
      const child = spawn('/bin/sh', ['-c', 'exit 0']);
      expect(await t.until(child, 10000)).toBe('child');
    }
    {
      await using t = await trace.attach('tracepoint:syscalls:sys_enter_getppid { @ = count(); }');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 20);
      expect(await t.until(ac.signal, 10000)).toBe('abort');
    }
    {
      await using t = await trace.attach(`tracepoint:syscalls:sys_enter_getppid /pid == ${process.pid}/ { exit(); }`);
      const tick = setInterval(() => void process.ppid, 5);
      try {
        expect(await t.until(10000)).toBe('exit');
      } finally {
        clearInterval(tick);
      }
    }
  });

  it('t.vm() runs the same compiled program in the VM', async () => {
    await using t = await trace.attach('tracepoint:syscalls:sys_enter_getppid { @[pid] = count(); }');
    await t.until(1);
    const vm = t.vm();
    await vm.fire('tracepoint:syscalls:sys_enter_getppid', {}, { pid: 77 });
    await vm.fire('tracepoint:syscalls:sys_enter_getppid', {}, { pid: 77 });
    expect(await vm.maps.get('@').entries()).toEqual([{ key: [77n], value: 2n }]);
  });
});
