/** bpfkit/trace's API over the VM: typed map reads, histogram buckets as data, events, errors (no kernel, no root). */

import { describe, expect, it } from 'vitest';
import * as trace from '../../src/trace/index.js';
import { histBucketIndex, lhistBucketIndex } from '../../src/trace/format/index.js';

const sched = 'field:int prev_pid;\toffset:8;\tsize:4;\tsigned:1;\nfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n';
const opts = { tracepoints: { 'sched:sched_switch': sched } };

describe('bpfkit/trace in the VM', () => {
  it('counts keyed by tuple, read with get() and entries(), cleared with clear()', async () => {
    const v = await trace.vm('tracepoint:sched:sched_switch { @[args.prev_pid, args.comm] = count(); @total = sum(args.prev_pid); }', opts);
    for (let i = 0; i < 3; i++) await v.fire('tracepoint:sched:sched_switch', { prev_pid: 7, comm: 'seven' });
    await v.fire('tracepoint:sched:sched_switch', { prev_pid: 9, comm: 'nine' });
    const m = v.maps.get('@');
    expect(await m.get(7, 'seven')).toBe(3n);
    expect(await m.get(9, 'nine')).toBe(1n);
    expect(await m.get(8, 'x')).toBeUndefined();
    expect(await m.entries()).toEqual([{ key: [9n, 'nine'], value: 1n }, { key: [7n, 'seven'], value: 3n }]);
    expect(await v.maps.get('total').get()).toBe(30n);
    expect(await m.format()).toBe('@[9, nine]: 1\n@[7, seven]: 3\n');
    await m.clear();
    expect(await m.entries()).toEqual([]);
    expect(v.maps.names()).toEqual(['@', '@total']);
  });

  it('zero(@m) in a program keeps the keys with zero values; clear(@m) removes them (as bpftrace)', async () => {
    const v = await trace.vm('tracepoint:sched:sched_switch { @z[args.prev_pid] = count(); @c[args.prev_pid] = count(); if (args.prev_pid == 3) { zero(@z); clear(@c); } }', opts);
    for (const p of [1, 2, 3]) await v.fire('tracepoint:sched:sched_switch', { prev_pid: p });
    expect((await v.maps.get('@z').entries()).map((e) => [e.key, e.value])).toEqual([[[1n], 0n], [[2n], 0n], [[3n], 0n]]);
    expect(await v.maps.get('@c').entries()).toEqual([]);
    await v.maps.get('@z').zero();
    expect((await v.maps.get('@z').entries()).length).toBe(3);
  });

  it('hist and lhist buckets as data agree with the bucket functions', async () => {
    const values = [0n, 1n, 2n, 3n, 5n, 100n, 1023n, 1024n, 70000n, -4n];
    const v = await trace.vm('tracepoint:sched:sched_switch { @h = hist(args.prev_pid); @l = lhist(args.prev_pid, 0, 1000, 100); @k[1] = hist(args.prev_pid, 2); }', opts);
    for (const x of values) await v.fire('tracepoint:sched:sched_switch', { prev_pid: x });
    for (const [name, index] of [['@h', (x: bigint) => histBucketIndex(x)], ['@l', (x: bigint) => lhistBucketIndex(x, 0n, 1000n, 100n)]] as const) {
      const h = await v.maps.get(name).histogram();
      if (!h) throw new Error(`${name} is not a histogram`);
      expect(h.buckets.reduce((n, b) => n + b.count, 0n)).toBe(BigInt(values.length));
      // Every value falls in the bucket whose bounds contain it, and that bucket is the one its index names.
      for (const x of values) {
        const b = h.buckets.find((bb) => (bb.low === undefined || bb.low <= x) && (bb.high === undefined || x < bb.high));
        expect(b, `${name} ${x}`).toBeDefined();
        const lowIndex = b!.low === undefined ? 0 : index(b!.low);
        expect(lowIndex).toBe(index(x));
      }
    }
    const k = await v.maps.get('@k').histogram(1);
    expect(k?.buckets.reduce((n, b) => n + b.count, 0n)).toBe(BigInt(values.length));
  });

  it('printf and print arrive as typed events in order; exit() stops later firings', async () => {
    const v = await trace.vm('tracepoint:sched:sched_switch { printf("%s=%d\\n", args.comm, args.prev_pid); print((args.prev_pid, "x")); if (args.prev_pid == 2) { exit(); } }', opts);
    for (const p of [1, 2, 3]) await v.fire('tracepoint:sched:sched_switch', { prev_pid: p, comm: `c${p}` });
    expect(v.events.map((e) => e.type)).toEqual(['printf', 'print', 'printf', 'print', 'exit']);
    expect(v.events[0]).toEqual({ type: 'printf', text: 'c1=1\n', args: ['c1', 1n] });
    expect(v.events[1]).toEqual({ type: 'print', text: '(1, x)\n', value: [1n, 'x'] });
  });

  it('pid, comm and nsecs come from the synthetic context', async () => {
    const v = await trace.vm('tracepoint:sched:sched_switch { @[pid, comm] = max(nsecs); }', opts);
    await v.fire('tracepoint:sched:sched_switch', {}, { pid: 42, comm: 'answer', nsecs: 5000n });
    expect(await v.maps.get('@').entries()).toEqual([{ key: [42n, 'answer'], value: 5000n }]);
  });

  it('clear errors: a syntax error with its position, an unknown map, field or probe', async () => {
    await expect(trace.compile('tracepoint:sched:sched_switch { @x = ; }', opts)).rejects.toThrow(/program:1:/);
    const v = await trace.vm('tracepoint:sched:sched_switch { @x = count(); }', opts);
    expect(() => v.maps.get('@nope')).toThrow(/no map @nope in this program \(maps: @x\)/);
    await expect(v.fire('tracepoint:sched:sched_switch', { nope: 1 })).rejects.toThrow(/has no field nope/);
    await expect(v.fire('tracepoint:sched:nope')).rejects.toThrow(/no probe tracepoint:sched:nope/);
  });
});
