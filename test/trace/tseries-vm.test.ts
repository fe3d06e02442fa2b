/** `tseries()` compiled by bpfkit and run in the VM on a clock the test sets: interval slots, aggregation, the window and bpftrace's chart. */

import { describe, expect, it } from 'vitest';
import { runTraceInVm } from '../../src/trace/vm-runner.js';
import { compileTrace } from '../../src/trace/compiler.js';

// Times print in local time: pin the zone so the expected times hold anywhere.
process.env.TZ = 'UTC';

const task = { pid: 4242, tgid: 4242, comm: 'bash', uid: 1000, gid: 1000 };
const probe = 'tracepoint:syscalls:sys_enter_getppid';
const resolveProbe = () => [{ provider: 'tracepoint', name: probe, fields: [] }];
const MS = 1_000_000n;

/** Fires the probe once per (time in ms, value) pair; `@v` carries the value into the program. */
async function run(body: string, samples: readonly [number, number][], format: 'text' | 'json' = 'text'): Promise<string> {
  const events = samples.map(([ms, v]) => ({ probe, ctx: new Uint8Array(16), host: { task, bootNow: () => BigInt(ms) * MS, now: () => BigInt(ms) * MS, random: () => v } }));
  const r = await runTraceInVm(`${probe} { ${body} }`, { host: { task }, resolveProbe, events, format });
  return r.output;
}

/** The `value` column of a chart's rows (`-` where an interval has none). */
const column = (out: string): string[] => [...out.matchAll(/^\d\d:\d\d:\d\d\.\d+ [|*.].{51}[|*] (-?\d+|-)$/gm)].map((m) => m[1]);

describe('tseries in the VM', () => {
  it('the last value of each 100 ms interval, the newest five intervals, a gap as "-"', async () => {
    // Intervals 10..16 (1000 ms .. 1699 ms); interval 14 has no sample; only 12..16 are in the window.
    const out = await run('@ = tseries(rand % 100, 100ms, 5);', [[1000, 1], [1010, 2], [1100, 3], [1250, 7], [1299, 9], [1310, 4], [1550, 5], [1660, 6]]);
    expect(out).toContain('@:\n');
    expect(column(out)).toEqual(['9', '4', '-', '5', '6']);
    // The scale runs from the minimum to the maximum; times are the intervals' starts (UTC without a boot time).
    expect(out).toMatch(/^ {13}4 {51}9$/m);
    expect(out).toMatch(/^hh:mm:ss\.ms {2}\|_{51}\|$/m);
    expect(out).toMatch(/^00:00:01\.200 \| {51}\* 9$/m);
    expect(out).toMatch(/^00:00:01\.300 \* {51}\| 4$/m);
    expect(out).toMatch(/^00:00:01\.400 \| {51}\| -$/m);
  });

  it('sum, min, max and avg combine the values of one interval', async () => {
    const samples: [number, number][] = [[0, 5], [10, 3], [20, 10], [100, 4], [150, 2]];
    expect(column(await run('@ = tseries(rand % 100, 100ms, 2, "sum");', samples))).toEqual(['18', '6']);
    expect(column(await run('@ = tseries(rand % 100, 100ms, 2, "min");', samples))).toEqual(['3', '2']);
    expect(column(await run('@ = tseries(rand % 100, 100ms, 2, "max");', samples))).toEqual(['10', '4']);
    expect(column(await run('@ = tseries(rand % 100, 100ms, 2, "avg");', samples))).toEqual(['6', '3']);
  });

  it('a slot reused by a newer interval starts over', async () => {
    // Two slots: interval 0 and interval 2 share slot 0.
    expect(column(await run('@ = tseries(rand % 100, 100ms, 2, "sum");', [[0, 5], [100, 1], [200, 7]]))).toEqual(['1', '7']);
  });

  it('keyed series share one window and print least recently updated first', async () => {
    const events = [[0, 1], [100, 2], [200, 3]].map(([ms, v]) => ({ probe, ctx: new Uint8Array(16), host: { task: { ...task, pid: v, tgid: v }, bootNow: () => BigInt(ms) * MS, now: () => BigInt(ms) * MS } }));
    const r = await runTraceInVm(`${probe} { @[pid % 2] = tseries(pid, 100ms, 3); }`, { host: { task }, resolveProbe, events });
    const at = (k: string): number => r.output.indexOf(`@[${k}]:`);
    expect(at('0')).toBeGreaterThanOrEqual(0);
    expect(at('0')).toBeLessThan(at('1'));
    // Key 1 has intervals 0 and 2 (interval 1 empty); key 0 only interval 1, then nothing up to the window's end.
    const [k0, k1] = [r.output.slice(at('0'), at('1')), r.output.slice(at('1'))];
    expect(column(k0)).toEqual(['2', '-']);
    expect(column(k1)).toEqual(['1', '-', '3']);
  });

  it('JSON: the intervals with a value, as bpftrace writes them', async () => {
    const out = await run('@ = tseries(rand % 100, 1s, 3);', [[0, 1], [2000, 3]], 'json');
    expect(out).toContain('{"type": "tseries", "data": {"@": [{"interval_start": "1970-01-01T00:00:00.000000000", "value": 1},{"interval_start": "1970-01-01T00:00:02.000000000", "value": 3}]}}');
  });

  it('clear() empties it: nothing is printed', async () => {
    expect(await run('@[1] = tseries(1, 1ms, 5); clear(@);', [[5, 0]])).not.toContain('@');
  });

  it('bad arguments give bpftrace\'s errors', () => {
    expect(() => compileTrace('begin { @ = tseries(1, 0, 5); }')).toThrow('tseries() interval_ns must be >= 1 (0 provided)');
    expect(() => compileTrace('begin { @ = tseries(1, 1s, 0); }')).toThrow('tseries() num_intervals must be >= 1 (0 provided)');
    expect(() => compileTrace('begin { @ = tseries(1, 1s, 2000000); }')).toThrow('tseries() num_intervals must be < 1000000 (2000000 provided)');
    expect(() => compileTrace('begin { @ = tseries(1, 1s, 5, "median"); }')).toThrow('tseries() expects one of the following aggregation functions: avg, max, min, sum ("median" provided)');
    expect(() => compileTrace('begin { $i = 5; @ = tseries(1, $i, 5); }')).toThrow('tseries: invalid interval_ns value (must be non-negative literal)');
  });
});
