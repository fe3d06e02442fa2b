/** Probe specifications: provider names and aliases, and `provider:a:b` text split into its parts. */

import { ProbeError } from './errors.js';

/** The providers of the language, by canonical name. */
export type ProbeProvider =
  | 'begin' | 'end' | 'tracepoint' | 'rawtracepoint' | 'uprobe' | 'uretprobe' | 'usdt' | 'profile' | 'interval'
  | 'software' | 'hardware' | 'kprobe' | 'kretprobe' | 'fentry' | 'fexit';

/** Aliases as bpftrace accepts them (`t`, `rt`, `u`, `kfunc`, `BEGIN`…), to the canonical name. */
export const PROVIDER_ALIASES: Readonly<Record<string, ProbeProvider>> = {
  BEGIN: 'begin', begin: 'begin', END: 'end', end: 'end',
  tracepoint: 'tracepoint', t: 'tracepoint', rawtracepoint: 'rawtracepoint', rt: 'rawtracepoint',
  uprobe: 'uprobe', u: 'uprobe', uretprobe: 'uretprobe', ur: 'uretprobe', usdt: 'usdt', U: 'usdt',
  profile: 'profile', p: 'profile', interval: 'interval', i: 'interval', software: 'software', s: 'software',
  hardware: 'hardware', h: 'hardware', kprobe: 'kprobe', k: 'kprobe', kretprobe: 'kretprobe', kr: 'kretprobe',
  fentry: 'fentry', f: 'fentry', kfunc: 'fentry', fexit: 'fexit', fr: 'fexit', kretfunc: 'fexit',
};

/**
 * A probe as written, split: `tracepoint:syscalls:sys_enter_*` is provider `tracepoint`,
 * parts `['syscalls', 'sys_enter_*']`. Parts may hold `*`/`?` wildcards and `{a,b}` sets.
 */
export interface ProbeSpec {
  provider: ProbeProvider;
  parts: string[];
  /** The text as written (for messages and the `probe` builtin). */
  text: string;
}

/**
 * Parses `provider:part[:part…]`. A uprobe's binary path may contain `:` only through
 * quoting, which the language parser strips. Throws ProbeError `E_PROBE_SPEC` on an unknown
 * provider.
 */
export function parseProbeSpec(text: string): ProbeSpec {
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const provider = PROVIDER_ALIASES[head];
  if (provider === undefined) throw new ProbeError('E_PROBE_SPEC', `invalid probe type "${head}"`);
  return { provider, parts: colon < 0 ? [] : text.slice(colon + 1).split(':'), text };
}

/** Whether a pattern has wildcards (`*`, `?`, `{a,b}`) that need expanding. */
export function hasWildcard(pattern: string): boolean {
  return /[*?{]/.test(pattern);
}

/** A wildcard pattern as a RegExp matching the whole name (`*` any run, `?` one char, `{a,b}` a choice). */
export function wildcardRegExp(pattern: string): RegExp {
  let re = '';
  let depth = 0;
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '{') { re += '(?:'; depth++; }
    else if (c === '}' && depth > 0) { re += ')'; depth--; }
    else if (c === ',' && depth > 0) re += '|';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}${')'.repeat(depth)}$`);
}

/** The unit suffixes bpftrace accepts on integers (`500ms`, `1e6`, `10u`): multiplier and maximum. */
const INT_SUFFIXES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  '': [1n, 2n ** 64n - 1n], u: [1n, 2n ** 32n - 1n], ul: [1n, 2n ** 64n - 1n], ull: [1n, 2n ** 64n - 1n], l: [1n, 2n ** 63n - 1n], ll: [1n, 2n ** 63n - 1n],
  ns: [1n, 2n ** 64n - 1n], us: [1000n, 2n ** 64n - 1n], ms: [1_000_000n, 2n ** 64n - 1n], s: [1_000_000_000n, 2n ** 64n - 1n],
  m: [60_000_000_000n, 2n ** 64n - 1n], h: [3_600_000_000_000n, 2n ** 64n - 1n], d: [86_400_000_000_000n, 2n ** 64n - 1n],
};

/**
 * bpftrace's `to_uint`: `_` separators, `0x`/`0b`/`0` bases, `1e6` exponents (coefficient
 * 1-9), and type or time suffixes (`ms` multiplies to nanoseconds). Returns the value or the
 * message bpftrace gives (`invalid integer: a1`, `invalid trailing bytes: 1a`).
 */
export function parseUint(text: string): { value: bigint } | { error: string } {
  const n = text.replaceAll('_', '');
  let digits = n;
  let base = 10;
  if (/^0[xX]/.test(n)) [digits, base] = [n.slice(2), 16];
  else if (/^0[bB]/.test(n)) [digits, base] = [n.slice(2), 2];
  else if (/^0[0-7]/.test(n)) [digits, base] = [n.slice(1), 8];
  const charset = base === 16 ? /^[0-9a-fA-F]+/ : base === 2 ? /^[01]+/ : base === 8 ? /^[0-7]+/ : /^[0-9]+/;
  const m = charset.exec(digits);
  if (!m) return { error: `invalid integer: ${text}` };
  let value = BigInt(base === 10 ? m[0] : `0${base === 16 ? 'x' : base === 2 ? 'b' : 'o'}${m[0]}`);
  let rest = digits.slice(m[0].length);
  const exp = /^[eE]([1-9]\d*)/.exec(rest);
  if (exp) {
    if (value <= 0n || value >= 10n) return { error: `coefficient part of scientific literal must be 1-9: ${text}` };
    value *= 10n ** BigInt(exp[1]);
    rest = rest.slice(exp[0].length);
  }
  const suffix = INT_SUFFIXES[rest];
  if (suffix === undefined) return { error: `invalid trailing bytes: ${text}` };
  const [mult, max] = suffix;
  if (value > max / mult) return { error: `overflow error, maximum value is ${max}: ${text}` };
  return { value: value * mult };
}
