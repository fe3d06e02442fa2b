/** Probe specs: provider aliases, wildcard patterns, and bpftrace's integer parsing (its words, from the runtime corpus's pid cases). */

import { describe, expect, it } from 'vitest';
import { PROVIDER_ALIASES, hasWildcard, parseProbeSpec, parseUint, wildcardRegExp } from '../../src/trace/probes/index.js';
import { ProbeError } from '../../src/trace/probes/index.js';

describe('probe specs', () => {
  it('every alias bpftrace accepts maps to its provider', () => {
    const cases: [string, string][] = [['t', 'tracepoint'], ['rt', 'rawtracepoint'], ['u', 'uprobe'], ['ur', 'uretprobe'], ['U', 'usdt'], ['p', 'profile'],
      ['i', 'interval'], ['s', 'software'], ['h', 'hardware'], ['k', 'kprobe'], ['kr', 'kretprobe'], ['f', 'fentry'], ['kfunc', 'fentry'], ['fr', 'fexit'],
      ['kretfunc', 'fexit'], ['BEGIN', 'begin'], ['END', 'end']];
    for (const [alias, provider] of cases) expect(PROVIDER_ALIASES[alias], alias).toBe(provider);
    expect(parseProbeSpec('t:syscalls:sys_enter_*')).toEqual({ provider: 'tracepoint', parts: ['syscalls', 'sys_enter_*'], text: 't:syscalls:sys_enter_*' });
    expect(parseProbeSpec('BEGIN')).toEqual({ provider: 'begin', parts: [], text: 'BEGIN' });
  });

  it('unknown providers are a ProbeError', () => {
    expect(() => parseProbeSpec('nope:x')).toThrow(ProbeError);
    expect(() => parseProbeSpec('nope:x')).toThrow(/invalid probe type "nope"/);
  });

  it('wildcards: * runs, ? one char, {a,b} choices, everything else literal', () => {
    expect(wildcardRegExp('sys_enter_*').test('sys_enter_read')).toBe(true);
    expect(wildcardRegExp('sys_enter_*').test('sys_exit_read')).toBe(false);
    expect(wildcardRegExp('a?c').test('abc')).toBe(true);
    expect(wildcardRegExp('{read,write}v').test('writev')).toBe(true);
    expect(wildcardRegExp('x.y+z').test('x.y+z')).toBe(true);
    expect(wildcardRegExp('x.y').test('xzy')).toBe(false);
    expect([hasWildcard('a*'), hasWildcard('a{b,c}'), hasWildcard('abc')]).toEqual([true, true, false]);
  });
});

describe('parseUint (bpftrace to_uint)', () => {
  it('bases, separators, exponents, time suffixes', () => {
    const v = (s: string): bigint | string => {
      const r = parseUint(s);
      return 'value' in r ? r.value : r.error;
    };
    expect([v('42'), v('0x1f'), v('0b101'), v('017'), v('1_000'), v('1e6'), v('500ms'), v('1s'), v('2us'), v('10u')]).toEqual([42n, 31n, 5n, 15n, 1000n, 1000000n, 500000000n, 1000000000n, 2000n, 10n]);
  });

  it('bpftrace\'s messages (basic: pid fails validation cases)', () => {
    expect(parseUint('a1111')).toEqual({ error: 'invalid integer: a1111' });
    expect(parseUint('111a1')).toEqual({ error: 'invalid trailing bytes: 111a1' });
    expect(parseUint('not_a_pid')).toEqual({ error: 'invalid integer: not_a_pid' });
    expect(parseUint('12e3')).toEqual({ error: 'coefficient part of scientific literal must be 1-9: 12e3' });
    expect(parseUint('99999999999u')).toEqual({ error: 'overflow error, maximum value is 4294967295: 99999999999u' });
  });
});
