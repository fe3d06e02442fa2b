/** Values, maps and events as bpftrace prints them (text and JSON): expectations from the bpftrace runtime corpus cases and bpftrace's output emitters. */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  TraceOutput, formatMapJson, formatMapText, formatValue, intValue, sortMapEntries, strerror, stringValue, stringifyJson, valueToJson,
} from '../../src/trace/format/index.js';
import { skipReason } from '../helpers/reference.js';
import type { MapDump, TraceValue } from '../../src/trace/format/index.js';

const int = (n: number | bigint, signed = true, bits: 8 | 16 | 32 | 64 = 64): TraceValue => intValue(n, signed, bits);
const str = stringValue;
const tuple = (...elems: TraceValue[]): TraceValue => ({ kind: 'tuple', elems });
const record = (fields: [string, TraceValue][]): TraceValue => ({ kind: 'record', name: 'record', fields: fields.map(([name, value]) => ({ name, value })) });
const json = (v: TraceValue): string => stringifyJson(valueToJson(v));

describe('print() of values (text)', () => {
  it('tuples with spaces, nested, empty strings (tuples/call cases)', () => {
    expect(formatValue(tuple(int(-100, true, 8), int(100, true, 8), str('abcdef'), int(3), int(1, true, 32), int(-10), int(10, true, 8), int(-555, true, 16))))
      .toBe('(-100, 100, abcdef, 3, 1, -10, 10, -555)');
    expect(formatValue(tuple(int(1), tuple(int(2), str('XXXX'))))).toBe('(1, (2, XXXX))');
    expect(formatValue(record([['a', int(0)], ['b', tuple(int(0), str(''))]]))).toBe('{ .a = 0, .b = (0, ) }');
  });

  it('records print as C-struct designators (record: record printing)', () => {
    const v = record([['a', int(0)], ['b', int(1)], ['c', str('str')], ['d', tuple(int(5), int(6))], ['e', record([['x', int(1)], ['y', int(2)]])]]);
    expect(formatValue(v)).toBe('{ .a = 0, .b = 1, .c = str, .d = (5, 6), .e = { .x = 1, .y = 2 } }');
  });

  it('unsigned 64-bit, bools, arrays without spaces, buffers escaped', () => {
    expect(formatValue(tuple(int(-1n, false), int(-10), { kind: 'bool', value: false }, { kind: 'bool', value: true }, str('hello'))))
      .toBe('(18446744073709551615, -10, false, true, hello)');
    expect(formatValue({ kind: 'array', elems: [int(1), int(2), int(3)] })).toBe('[1,2,3]');
    expect(formatValue({ kind: 'buffer', bytes: new Uint8Array([0x6f, 0x6b, 0, 0xff]) })).toBe('ok\\x00\\xff');
  });

  it('enums by name when known, else the number; pointers in hex', () => {
    const e = (n: number): TraceValue => ({ kind: 'int', value: BigInt(n), type: { kind: 'int', bits: 32, signed: false, enumName: 'BAZ' } });
    const enums = new Map([['BAZ', new Map([[333n, 'FOO'], [334n, 'BAR']])]]);
    expect(formatValue(e(333), { enums })).toBe('FOO');
    expect(formatValue(e(444), { enums })).toBe('444');
    expect(formatValue({ kind: 'int', value: 0x32n, type: { kind: 'pointer', to: { kind: 'int', bits: 16, signed: true } } })).toBe('0x32');
  });

  it('unresolved usym/ksym print as iostream pointers (call: usym → 0x1)', () => {
    expect(formatValue({ kind: 'usym', addr: 1n, pid: 1 })).toBe('0x1');
    expect(formatValue({ kind: 'ksym', addr: 0n })).toBe('0');
  });

  it('ntop of IPv4 and IPv6 (call: ntop cases)', () => {
    const inet = (af: number, addr: number[]): TraceValue => {
      const b = new Uint8Array(24);
      b[0] = af;
      b.set(addr, 8);
      return { kind: 'inet', bytes: b };
    };
    const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
    expect([1, 0x0100007f, 0xffff0000, 0x0000ffff].map((n) => formatValue(inet(2, le32(n))))).toEqual(['1.0.0.0', '127.0.0.1', '0.0.255.255', '255.255.0.0']);
    const v6 = (s: string): number[] => s.split(':').flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]);
    expect(formatValue(inet(10, v6('0:0:0:0:0:0:0:1')))).toBe('::1');
    expect(formatValue(inet(10, v6('0:0:0:0:0:0:0:0')))).toBe('::');
    expect(formatValue(inet(10, v6('2001:db8:0:0:1:0:0:1')))).toBe('2001:db8::1:0:0:1');
    expect(formatValue(inet(10, v6('2001:db8:0:1:1:1:1:1')))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatValue(inet(10, v6('0:0:0:0:0:ffff:c000:280')))).toBe('::ffff:192.0.2.128');
  });

  it('macaddr upper-case', () => {
    expect(formatValue({ kind: 'macaddr', bytes: new Uint8Array([1, 2, 3, 0xa, 0xb, 0xc]) })).toBe('01:02:03:0A:0B:0C');
  });

  it('kstack layouts: bpftrace, perf, raw, unwind failure', () => {
    const symbolizer = {
      kernel: (a: bigint) => (a >= 0x1000n && a < 0x2000n ? { name: 'do_sys_open', start: 0x1000n } : undefined),
      user: (a: bigint) => (a >= 0x400000n ? { name: 'main', start: 0x400000n, module: '/bin/true' } : undefined),
    };
    const k: TraceValue = { kind: 'stack', user: false, frames: [0x1010n, 0x5n] };
    expect(formatValue(k, { symbolizer })).toBe('\n        do_sys_open+16\n        0x5\n');
    expect(formatValue({ ...k, mode: 'perf' }, { symbolizer })).toBe('\n\t1010 do_sys_open+16\n\t5 0x5\n');
    expect(formatValue({ ...k, mode: 'raw' }, { symbolizer })).toBe('\n1010\n5\n');
    expect(formatValue({ kind: 'stack', user: true, frames: [0x400004n, 0xffffffffffffffffn, 1n], mode: 'perf', pid: 1 }, { symbolizer }))
      .toBe('\n\t400004 main+4 (/bin/true)\n        <unwind failure>\n');
  });

  it('strftime: %f/%k/%l extensions, boot-relative times (call: strftime_microsecond_extension*)', () => {
    const ts = (ns: bigint, format: string): TraceValue => ({ kind: 'timestamp', ns, mode: 'boot', format });
    const ctx = { bootTimeNs: 1_700_000_000_000_000_000n, utcOffsetMinutes: 0 };
    expect(formatValue(ts(123000n, '%s.%f'), ctx)).toBe('1700000000.000123');
    expect(formatValue(ts(1000123000n, '%s.%f'), ctx)).toBe('1700000001.000123');
    expect(formatValue(ts(1_500_000_000n, '%Y-%m-%dT%H:%M:%S.%l %k'), ctx)).toBe('2023-11-14T22:13:21.500 500000000');
    expect(formatValue(ts(0n, '%m/%d/%y %a %b %e %j %p %I'), ctx)).toBe('11/14/23 Tue Nov 14 318 PM 10');
    expect(formatValue({ kind: 'timestamp', ns: 0n, mode: 'tai', format: '%s' }, ctx)).toBe('(?)');
  });
});

describe('print() of values (JSON)', () => {
  it('tuples as arrays without spaces, records as objects, bools, escapes (json-output cases)', () => {
    expect(json(tuple(int(1), int(2), str('string')))).toBe('[1,2,"string"]');
    expect(json(tuple({ kind: 'bool', value: true }, { kind: 'bool', value: false }))).toBe('[true,false]');
    expect(json(tuple(int(1), int(2), str('string with "quotes"')))).toBe('[1,2,"string with \\"quotes\\""]');
    const v = record([['a', int(0)], ['b', int(1)], ['c', str('str')], ['d', tuple(int(5), int(6))], ['e', record([['x', int(1)], ['y', int(2)]])]]);
    expect(json(v)).toBe('{"a": 0, "b": 1, "c": "str", "d": [5,6], "e": {"x": 1, "y": 2}}');
    expect(json(str('a\tb\u0001'))).toBe('"a\\tb\\u0001"');
  });

  it('pointers and enums as numbers; ints a double cannot hold as strings', () => {
    expect(json({ kind: 'int', value: 0x32n, type: { kind: 'pointer', to: { kind: 'int', bits: 16, signed: true } } })).toBe('50');
    expect(json(int(-1n, false))).toBe('"18446744073709551615"');
    expect(json(int(2n ** 53n))).toBe('9007199254740992');
    expect(json(int(2n ** 53n + 1n))).toBe('"9007199254740993"');
    expect(json(int(2n ** 63n, false))).toBe('9223372036854775808');
  });
});

const keyed = (name: string, rows: [TraceValue[], TraceValue][]): MapDump => ({ name, keyed: true, entries: rows.map(([key, value]) => ({ key, value: { kind: 'value', value } })) });

describe('maps', () => {
  it('tuple keys print without parentheses; sorted by key when values are not ints (map delete case)', () => {
    const d = keyed('@', [[[int(1), int(0), int(0)], str('x')], [[int(0), int(0), int(1)], str('y')], [[int(0), int(0), int(0)], str('z')]]);
    expect(formatMapText(d)).toBe('@[0, 0, 0]: z\n@[0, 0, 1]: y\n@[1, 0, 0]: x\n');
  });

  it('int values sort ascending by value (signed), count by unsigned value', () => {
    const d = keyed('@', [[[str('a')], int(5)], [[str('b')], int(-7)], [[str('c')], int(2)]]);
    expect(formatMapText(d)).toBe('@[b]: -7\n@[c]: 2\n@[a]: 5\n');
    const counts: MapDump = { name: '@c', keyed: true, entries: [3n, 1n, 2n].map((n, i) => ({ key: [int(i)], value: { kind: 'count', value: n } })) };
    expect(sortMapEntries(counts).map((e) => e.key[0].kind === 'int' ? e.key[0].value : -1n)).toEqual([1n, 2n, 0n]);
  });

  it('stats/avg text and JSON types; scalar and keyed; negative values (signed_ints, call: stats)', () => {
    const stats: MapDump = { name: '@', keyed: false, entries: [{ key: [], value: { kind: 'stats', total: -10n, count: 3n } }] };
    expect(formatMapText(stats)).toBe('@: { .count = 3, .average = -3, .total = -10 }\n');
    expect(formatMapJson(stats)).toBe('{"type": "stats", "data": {"@": {"count": 3, "average": -3, "total": -10}}}');
    const avg: MapDump = { name: '@', keyed: true, entries: ['a', 'b', 'c', 'd'].map((k, i) => ({ key: [str(k)], value: { kind: 'avg', total: BigInt(10 * (i + 1)), count: 1n } })) };
    expect(formatMapJson(avg, { top: 2, div: 10n })).toBe('{"type": "stats", "data": {"@": {"c": 3, "d": 4}}}');
  });

  it('tuple and record map values; JSON keys lose their spaces', () => {
    const t: MapDump = { name: '@', keyed: false, entries: [{ key: [], value: { kind: 'value', value: tuple(int(1), int(2), str('string'), tuple(int(4), int(5))) } }] };
    expect(formatMapText(t)).toBe('@: (1, 2, string, (4, 5))\n');
    expect(formatMapJson(t)).toBe('{"type": "map", "data": {"@": [1,2,"string",[4,5]]}}');
    const k = keyed('@', [[[str('a b'), int(1)], int(3)]]);
    expect(formatMapJson(k)).toBe('{"type": "map", "data": {"@": {"ab,1": 3}}}');
  });

  it('buffers and usym as keys (call: buf_map_multikey, usym as map key)', () => {
    const b: TraceValue = { kind: 'buffer', bytes: new Uint8Array([...'ok_key'].map((c) => c.charCodeAt(0)).concat([0])) };
    const h: MapDump = { name: '@', keyed: true, entries: [{ key: [b, int(1)], value: { kind: 'hist', counts: [0n, 0n, 1n] } }] };
    expect(formatMapText(h).split('\n')[0]).toBe('@[ok_key\\x00, 1]:');
    const u: MapDump = { name: '@', keyed: true, entries: [{ key: [{ kind: 'usym', addr: 1n, pid: 0 }], value: { kind: 'count', value: 1n } }] };
    expect(formatMapText(u)).toBe('@[0x1]: 1\n');
  });

  it('aggregation values given as decoded `agg` values print like slots', () => {
    const d: MapDump = {
      name: '@', keyed: true, valueType: { kind: 'agg', agg: 'max', signed: true },
      entries: [{ key: [int(1)], value: { kind: 'agg', agg: { agg: 'max', value: -4n, set: true } } }, { key: [int(2)], value: { kind: 'agg', agg: { agg: 'max', value: 9n, set: false } } }],
    };
    expect(formatMapText(d)).toBe('@[2]: 0\n@[1]: -4\n');
  });

  it('an empty keyed map prints nothing in either form', () => {
    const d: MapDump = { name: '@x', keyed: true, entries: [] };
    expect(formatMapText(d)).toBe('');
    expect(formatMapJson(d)).toBe('');
  });
});

describe('TraceOutput events', () => {
  it('text and JSON forms of bpftrace\'s events', () => {
    const lines: string[] = [];
    const errs: string[] = [];
    const text = new TraceOutput('text', { out: (s) => lines.push(s), err: (s) => errs.push(s) });
    text.attachedProbes(1);
    text.attachedProbes(3);
    text.printf('hi\n');
    text.join('a b');
    text.value(int(5));
    text.end();
    text.diagnostic('error', 'ef cdef', { filename: 'stdin', line: 1, column: 32, text: 'stdin:1:32-75' });
    expect(errs).toEqual(['Attached 1 probe\n', 'Attached 3 probes\n', 'stdin:1:32-75: ERROR: ef cdef\n']);
    expect(lines.join('')).toBe('hi\na b\n5\n\n\n');
    const out: string[] = [];
    const j = new TraceOutput('json', { out: (s) => out.push(s) });
    j.attachedProbes(2);
    j.printf('x\n');
    j.time('12:00:00\n');
    j.value(tuple(int(1), str('a')));
    j.lostEvents(4);
    j.diagnostic('warning', 'w', { filename: 'stdin', line: 1, column: 3, text: '' });
    j.end();
    expect(out).toEqual([
      '{"type": "attached_probes", "count": 2, "data": {"probes": 2}}\n',
      '{"type": "printf", "data": "x\\n"}\n',
      '{"type": "time", "data": "12:00:00\\n"}\n',
      '{"type": "value", "data": [1,"a"]}\n',
      '{"type": "lost_events", "count": 4, "data": {"events": 4}}\n',
      '{"type": "warnf", "msg": "w", "filename": "stdin", "line": 1, "col": 3}\n',
    ]);
  });
});

describe('histogram maps: equal totals keep key-byte order (bpftrace gathers them in a std::map)', () => {
  const h = (entries: [number, number][]): MapDump => ({
    name: '@', keyed: true,
    entries: entries.map(([k, v]) => ({ key: [int(k)], value: { kind: 'hist', counts: Object.assign(new Array<bigint>(10).fill(0n), { [v]: 1n }) } })),
  });

  it('print(@, 2) and print(@, 10) of three one-sample histograms (json-output: print_hist_with_*top_arg)', () => {
    const d = h([[3, 6], [1, 5], [2, 6]]);
    expect(formatMapJson(d, { top: 2 })).toBe('{"type": "hist", "data": {"@": {"2": [{"min": 16, "max": 31, "count": 1}], "3": [{"min": 16, "max": 31, "count": 1}]}}}');
    expect(formatMapJson(d, { top: 10 })).toBe('{"type": "hist", "data": {"@": {"1": [{"min": 8, "max": 15, "count": 1}], "2": [{"min": 16, "max": 31, "count": 1}], "3": [{"min": 16, "max": 31, "count": 1}]}}}');
  });

  it('bytes, not numbers: 256 (00 01 …) comes before 1 (01 00 …)', () => {
    const d = h([[1, 3], [256, 3]]);
    expect(formatMapText(d).split('\n').filter((l) => l.startsWith('@['))).toEqual(['@[256]:', '@[1]:']);
  });
});

const pyWhy = skipReason('strerror vs glibc (python3 os.strerror)', { commands: ['python3'] });

describe.skipIf(pyWhy !== undefined)('strerror vs glibc', () => {
  it('every errno 0..140, and strerror(7) as the json-output strerror case prints it', () => {
    const ref = JSON.parse(execFileSync('python3', ['-c', 'import os, json; print(json.dumps([os.strerror(i) for i in range(141)]))'], { encoding: 'utf8' })) as string[];
    expect(Array.from({ length: 141 }, (_, i) => strerror(i))).toEqual(ref);
    expect(json({ kind: 'text', value: strerror(7) })).toBe('"Argument list too long"');
  });
});
