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
