/** The probe catalog: probe specs expanded into concrete probes (wildcards, targets, offsets), and `-l`/`-lv` listings in bpftrace's format. */

import { readUsdtProbes } from '../../kernel/index.js';
import { argDeclaration, listRawTracepoints, listStructs, formatStructDefinition, rawTracepointArgs } from './btf-types.js';
import type { ArgInfo } from './btf-types.js';
import { ProbeError } from './errors.js';
import { kernelBtf } from './kernel-btf.js';
import type { BtfSource } from './kernel-btf.js';
import { hasWildcard, parseProbeSpec, parseUint, wildcardRegExp } from './spec.js';
import type { ProbeProvider, ProbeSpec } from './spec.js';
import { listTracepoints, nodeTracefsEnv, parseTracepointFormat, ensureTracefs } from './tracefs.js';
import type { TracefsEnv, TracepointField } from './tracefs.js';
import { listUprobeFunctions, nodeTargetEnv, resolveUprobeOffset, resolveUprobeTarget } from './uprobe-targets.js';
import type { TargetEnv } from './uprobe-targets.js';

/** A perf software or hardware event bpftrace knows: its name, alias, `config` and default count. */
export interface PerfEventItem {
  path: string;
  alias: string;
  config: number;
  defaultCount: number;
}

/** bpftrace's SW_PROBE_LIST (enum perf_sw_ids). */
export const SOFTWARE_EVENTS: readonly PerfEventItem[] = [
  { path: 'alignment-faults', alias: '', config: 7, defaultCount: 1 },
  { path: 'bpf-output', alias: '', config: 10, defaultCount: 1 },
  { path: 'context-switches', alias: 'cs', config: 3, defaultCount: 1000 },
  { path: 'cpu-clock', alias: 'cpu', config: 0, defaultCount: 1000000 },
  { path: 'cpu-migrations', alias: '', config: 4, defaultCount: 1 },
  { path: 'dummy', alias: '', config: 9, defaultCount: 1 },
  { path: 'emulation-faults', alias: '', config: 8, defaultCount: 1 },
  { path: 'major-faults', alias: '', config: 6, defaultCount: 1 },
  { path: 'minor-faults', alias: '', config: 5, defaultCount: 100 },
  { path: 'page-faults', alias: 'faults', config: 2, defaultCount: 100 },
  { path: 'task-clock', alias: '', config: 1, defaultCount: 1 },
];

/** bpftrace's HW_PROBE_LIST (enum perf_hw_id). */
export const HARDWARE_EVENTS: readonly PerfEventItem[] = [
  { path: 'backend-stalls', alias: '', config: 8, defaultCount: 1000000 },
  { path: 'branch-instructions', alias: 'branches', config: 4, defaultCount: 100000 },
  { path: 'branch-misses', alias: '', config: 5, defaultCount: 100000 },
  { path: 'bus-cycles', alias: '', config: 6, defaultCount: 100000 },
  { path: 'cache-misses', alias: '', config: 3, defaultCount: 1000000 },
  { path: 'cache-references', alias: '', config: 2, defaultCount: 1000000 },
  { path: 'cpu-cycles', alias: 'cycles', config: 0, defaultCount: 1000000 },
  { path: 'frontend-stalls', alias: '', config: 7, defaultCount: 1000000 },
  { path: 'instructions', alias: '', config: 1, defaultCount: 1000000 },
  { path: 'ref-cycles', alias: '', config: 9, defaultCount: 1000000 },
];

/** Time units of `profile`/`interval`. */
export type RateUnit = 'hz' | 's' | 'ms' | 'us';
const RATE_UNITS: readonly RateUnit[] = ['hz', 's', 'ms', 'us'];

/**
 * One attachable probe, fully resolved: what the attach step and codegen need. `name` is the
 * probe's text with the canonical provider (`interval:ms:1`, `software:cpu:100000`), which is
 * what the `probe` builtin prints.
 */
export type ConcreteProbe =
  | { provider: 'begin' | 'end'; name: string }
  | { provider: 'tracepoint'; name: string; category: string; event: string; id: number; fields: TracepointField[] }
  | { provider: 'rawtracepoint'; name: string; module: string; event: string; args: ArgInfo[] }
  | { provider: 'uprobe' | 'uretprobe'; name: string; path: string; symbol: string; funcOffset: number; offset: number }
  | { provider: 'usdt'; name: string; path: string; usdtProvider: string; probe: string }
  | { provider: 'profile' | 'interval'; name: string; unit: RateUnit; rate: number }
  | { provider: 'software' | 'hardware'; name: string; event: string; config: number; count: number }
  | { provider: 'kprobe' | 'kretprobe'; name: string; func: string; module?: string; offset: number }
  | { provider: 'fentry' | 'fexit'; name: string; func: string; module: string };

/** Where the catalog looks; every part is injectable for tests. */
export interface CatalogOptions {
  /** tracefs directory (default: found, mounted when missing and root). */
  tracefs?: string;
  tracefsEnv?: TracefsEnv;
  /** Kernel BTF (default: /sys/kernel/btf/vmlinux, read lazily). */
  btf?: BtfSource | (() => Promise<BtfSource>);
  targetEnv?: TargetEnv;
  /** `-p PID`: library names resolve through this process's maps; `uprobe:FUNC` means its executable. */
  pid?: number;
  /** `--unsafe`: uprobes at unchecked offsets. */
  unsafe?: boolean;
  /** Kernel functions ftrace can trace (default: tracefs `available_filter_functions`). */
  traceableFunctions?: () => Promise<string[]>;
}

async function getBtf(o: CatalogOptions): Promise<BtfSource> {
  if (o.btf === undefined) return kernelBtf();
  return typeof o.btf === 'function' ? o.btf() : o.btf;
}

async function tracefsOf(o: CatalogOptions): Promise<{ dir: string; env: TracefsEnv }> {
  const env = o.tracefsEnv ?? (await nodeTracefsEnv());
  return { dir: o.tracefs ?? (await ensureTracefs(o.tracefsEnv)), env };
}

function noMatches(provider: ProbeProvider, what: string): ProbeError {
  return new ProbeError('E_PROBE_NOT_FOUND', `No matches for ${provider} ${what}.`);
}

function unquote(s: string): string {
  return s.replace(/"/g, '');
}

async function traceableFunctions(o: CatalogOptions): Promise<string[]> {
  if (o.traceableFunctions) return o.traceableFunctions();
  const { dir, env } = await tracefsOf(o);
  try {
    // Lines are `func` or `func [module]`; keep `module:func` for module functions.
    return (await env.readFile(`${dir}/available_filter_functions`)).split('\n').filter(Boolean).map((l) => {
      const m = /^(\S+)(?:\s+\[(\S+)\])?/.exec(l);
      return m?.[2] ? `${m[2]}:${m[1]}` : (m?.[1] ?? l);
    });
  } catch {
    return [];
  }
}

function rate(provider: 'profile' | 'interval', parts: readonly string[]): { unit: RateUnit; rate: number } {
  if (parts.length === 1) {
    // `interval:500ms`: a duration in nanoseconds (minimum 1us), expressed in microseconds.
    const r = parseUint(parts[0]);
    if ('error' in r) throw new ProbeError('E_PROBE_SPEC', `Invalid rate of ${provider} probe: ${r.error}`);
    if (r.value < 1000n) throw new ProbeError('E_PROBE_SPEC', `Invalid rate of ${provider} probe. Minimum is 1000 or 1us. Found: ${r.value} nanoseconds`);
    return { unit: 'us', rate: Number(r.value / 1000n) };
  }
  if (parts.length !== 2) throw new ProbeError('E_PROBE_SPEC', `${provider} probe type requires 1 or 2 arguments, found ${parts.length}`);
  const unit = parts[0] as RateUnit;
  if (parts[0] === '') throw new ProbeError('E_PROBE_SPEC', `${provider} probe must have unit of time`);
  if (!RATE_UNITS.includes(unit)) throw new ProbeError('E_PROBE_SPEC', `${parts[0]} is not an accepted unit of time`);
  const r = parseUint(parts[1]);
  if ('error' in r) throw new ProbeError('E_PROBE_SPEC', `Invalid rate of ${provider} probe: ${r.error}`);
  if (r.value <= 0n) throw new ProbeError('E_PROBE_SPEC', `${provider} frequency should be a positive integer`);
  return { unit, rate: Number(r.value) };
}

function perfEvent(provider: 'software' | 'hardware', parts: readonly string[]): { item: PerfEventItem; count: number } {
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new ProbeError('E_PROBE_SPEC', `${provider} probe must have a ${provider} event name`);
  const list = provider === 'software' ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
  if (hasWildcard(parts[0])) throw new ProbeError('E_PROBE_SPEC', `wildcards are not allowed for ${provider} probe type`);
  const item = list.find((e) => e.path === parts[0] || (e.alias !== '' && e.alias === parts[0]));
  if (!item) throw new ProbeError('E_PROBE_SPEC', `${parts[0]} is not a ${provider} probe`);
  let count = item.defaultCount;
  if (parts.length === 2 && parts[1] !== '*' && parts[1] !== '') {
    const r = parseUint(parts[1]);
    if ('error' in r) throw new ProbeError('E_PROBE_SPEC', `Invalid count for ${provider} probe: ${r.error}`);
    count = Number(r.value);
  }
  return { item, count };
}

/** `func`, `func+off`, or a bare address of a uprobe spec's last part. */
function uprobeWhere(text: string): { symbol: string; offset: number } | { address: bigint } {
  const s = unquote(text);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) return { address: BigInt(s) };
  const plus = s.lastIndexOf('+');
  if (plus > 0 && /^(0x[0-9a-fA-F]+|\d+)$/.test(s.slice(plus + 1))) return { symbol: s.slice(0, plus), offset: Number(s.slice(plus + 1)) };
  return { symbol: s, offset: 0 };
}

async function expandUprobe(spec: ProbeSpec, o: CatalogOptions): Promise<ConcreteProbe[]> {
  const provider = spec.provider as 'uprobe' | 'uretprobe';
  let parts = spec.parts.map(unquote);
  if (parts.length === 1 && o.pid !== undefined) parts = [`/proc/${o.pid}/exe`, parts[0]];
  if (parts.length !== 2) throw new ProbeError('E_PROBE_SPEC', `${provider} probe type requires 2 arguments, found ${parts.length}`);
  const [target, what] = parts;
  const path = await resolveUprobeTarget(target, o.pid, o.targetEnv);
  const where = uprobeWhere(spec.parts[1]);
  if ('symbol' in where && hasWildcard(where.symbol)) {
    const re = wildcardRegExp(where.symbol);
    const funcs = (await listUprobeFunctions(path, o.targetEnv)).filter((f) => re.test(f.name) && f.size > 0);
    return funcs.map((f) => ({ provider, name: `${provider}:${path}:${f.name}`, path, symbol: f.name, funcOffset: 0, offset: f.offset }));
  }
  const r = await resolveUprobeOffset(path, where, { retprobe: provider === 'uretprobe', unsafe: o.unsafe, env: o.targetEnv });
  const shown = 'address' in where ? what : r.funcOffset ? `${r.symbol}+${r.funcOffset}` : r.symbol;
  return [{ provider, name: `${provider}:${path}:${shown}`, path, symbol: r.symbol, funcOffset: r.funcOffset, offset: r.offset }];
}

async function expandUsdt(spec: ProbeSpec, o: CatalogOptions): Promise<ConcreteProbe[]> {
  const parts = spec.parts.map(unquote);
  if (parts.length < 2 || parts.length > 3) throw new ProbeError('E_PROBE_SPEC', `usdt probe type requires 2 or 3 arguments, found ${parts.length}`);
  const [target, ns, fn] = parts.length === 3 ? parts : [parts[0], '*', parts[1]];
  const path = await resolveUprobeTarget(target, o.pid, o.targetEnv);
  const env = o.targetEnv ?? (await nodeTargetEnv());
  const notes = readUsdtProbes(await env.readFile(path));
  const nsRe = wildcardRegExp(ns);
  const fnRe = wildcardRegExp(fn);
  const seen = new Set<string>();
  const out: ConcreteProbe[] = [];
  for (const n of notes) {
    const key = `${n.provider}:${n.name}`;
    if (!nsRe.test(n.provider) || !fnRe.test(n.name) || seen.has(key)) continue;
    seen.add(key);
    out.push({ provider: 'usdt', name: `usdt:${path}:${key}`, path, usdtProvider: n.provider, probe: n.name });
  }
  if (out.length === 0 && !hasWildcard(ns + fn)) throw noMatches('usdt', `${target}:${parts.slice(1).join(':')}`);
  return out;
}

/**
 * Expands a probe spec into every concrete probe it names, reading tracefs formats and BTF
 * arguments on the way. A spec without wildcards that names nothing raises ProbeError
 * `E_PROBE_NOT_FOUND` in bpftrace's words (`No matches for tracepoint syscalls:nonsense.`); a
 * wildcard that matches nothing returns [] (bpftrace then says the probe has no valid attach
 * points). Malformed specs raise `E_PROBE_SPEC`.
 */
export async function expandProbe(spec: ProbeSpec | string, options: CatalogOptions = {}): Promise<ConcreteProbe[]> {
  const s = typeof spec === 'string' ? parseProbeSpec(spec) : spec;
  const p = s.parts;
  switch (s.provider) {
    case 'begin': case 'end':
      if (p.length > 0 && p.some((x) => x !== '')) throw new ProbeError('E_PROBE_SPEC', 'begin/end probes should not have a target');
      return [{ provider: s.provider, name: s.provider }];
    case 'tracepoint': {
      if (p.length !== 2 || p[0] === '' || p[1] === '') throw new ProbeError('E_PROBE_SPEC', 'tracepoint probe must have a target');
      const { dir, env } = await tracefsOf(options);
      const names = hasWildcard(p[0]) || hasWildcard(p[1])
        ? (await listTracepoints(dir, env)).filter((e) => wildcardRegExp(`${p[0]}:${p[1]}`).test(e))
        : [`${p[0]}:${p[1]}`];
      const out: ConcreteProbe[] = [];
      for (const full of names) {
        const [category, event] = full.split(':');
        let text: string;
        try {
          text = await env.readFile(`${dir}/events/${category}/${event}/format`);
        } catch {
          if (names.length === 1 && !hasWildcard(p.join(':'))) throw noMatches('tracepoint', `${p[0]}:${p[1]}`);
          continue;
        }
        const f = parseTracepointFormat(text, category, event);
        out.push({ provider: 'tracepoint', name: `tracepoint:${category}:${event}`, category, event, id: f.id, fields: f.fields });
      }
      return out;
    }
    case 'rawtracepoint': {
      if (p.length < 1 || p.length > 2 || p[p.length - 1] === '') throw new ProbeError('E_PROBE_SPEC', 'rawtracepoint should be attached to a function');
      const btf = await getBtf(options);
      const [mod, ev] = p.length === 2 ? p : ['*', p[0]];
      const re = wildcardRegExp(`${mod}:${ev}`);
      const matches = hasWildcard(`${mod}:${ev}`) ? listRawTracepoints(btf).filter((n) => re.test(n)) : rawTracepointArgs(btf, ev) && mod === 'vmlinux' ? [`vmlinux:${ev}`] : [];
      if (matches.length === 0 && p.length === 2 && !hasWildcard(p.join(':'))) throw noMatches('rawtracepoint', `${mod}:${ev}`);
      return matches.map((m) => {
        const [module, event] = m.split(':');
        return { provider: 'rawtracepoint' as const, name: `rawtracepoint:${module}:${event}`, module, event, args: rawTracepointArgs(btf, event) ?? [] };
      });
    }
    case 'uprobe': case 'uretprobe': return expandUprobe(s, options);
    case 'usdt': return expandUsdt(s, options);
    case 'profile': case 'interval': {
      const r = rate(s.provider, p);
      return [{ provider: s.provider, name: `${s.provider}:${p.join(':')}`, ...r }];
    }
    case 'software': case 'hardware': {
      const { item, count } = perfEvent(s.provider, p);
      return [{ provider: s.provider, name: `${s.provider}:${p.join(':')}`, event: item.path, config: item.config, count }];
    }
    case 'kprobe': case 'kretprobe': {
      if (p.length < 1 || p.length > 2) throw new ProbeError('E_PROBE_SPEC', `${s.provider} probe type requires 1 or 2 arguments`);
      const [module, fnText] = p.length === 2 ? p : [undefined, p[0]];
      const plus = fnText.lastIndexOf('+');
      const fn = plus > 0 ? fnText.slice(0, plus) : fnText;
      const offset = plus > 0 ? Number(fnText.slice(plus + 1)) : 0;
      const funcs = await traceableFunctions(options);
      const re = wildcardRegExp(module ? `${module}:${fn}` : fn);
      const names = funcs.filter((f) => re.test(module ? (f.includes(':') ? f : `vmlinux:${f}`) : f.replace(/^.*:/, '')));
      if (!hasWildcard(fn) && !hasWildcard(module ?? '')) {
        // A kprobe on a function ftrace does not list can still work: keep it, as bpftrace --unsafe does.
        return [{ provider: s.provider, name: `${s.provider}:${p.join(':')}`, func: fn, ...(module ? { module } : {}), offset }];
      }
      return [...new Set(names)].map((f) => {
        const func = f.replace(/^.*:/, '');
        const mod = f.includes(':') ? f.split(':')[0] : undefined;
        return { provider: s.provider as 'kprobe' | 'kretprobe', name: `${s.provider}:${mod ? `${mod}:` : ''}${func}`, func, ...(mod ? { module: mod } : {}), offset: 0 };
      });
    }
    case 'fentry': case 'fexit': {
      if (p.length < 1 || p.length > 2) throw new ProbeError('E_PROBE_SPEC', `${s.provider} probe type requires 1 or 2 arguments`);
      const [module, fn] = p.length === 2 ? p : ['vmlinux', p[0]];
      const btf = await getBtf(options);
      if (hasWildcard(fn) || hasWildcard(module)) {
        const traceable = new Set((await traceableFunctions(options)).map((f) => f.replace(/^.*:/, '')));
        const re = wildcardRegExp(fn);
        const out: ConcreteProbe[] = [];
        for (const id of btf.ids()) {
          if (btf.kindOf(id) !== 12 /* FUNC */) continue;
          const name = btf.nameOf(id);
          if (re.test(name) && traceable.has(name)) out.push({ provider: s.provider, name: `${s.provider}:vmlinux:${name}`, func: name, module: 'vmlinux' });
        }
        return out;
      }
      if (btf.byName(fn, 12).length === 0) throw noMatches(s.provider, `${module}:${fn}`);
      return [{ provider: s.provider, name: `${s.provider}:${module}:${fn}`, func: fn, module }];
    }
  }
}

function matchList(candidates: readonly string[], pattern: string): string[] {
  const re = wildcardRegExp(pattern);
  return [...new Set(candidates.filter((c) => re.test(c)))].sort();
}

/** The probe types a listing searches, as bpftrace: kernel types for a wildcard type, userspace ones only when named or targeted. */
const KERNEL_LIST: readonly string[] = ['fentry', 'hardware', 'kprobe', 'rawtracepoint', 'software', 'tracepoint'];

function canonicalType(name: string): string | undefined {
  try {
    return parseProbeSpec(`${name}:`).provider;
  } catch {
    return undefined;
  }
}

/**
 * `bpftrace -l [PATTERN]` and `-lv`: the listing lines in bpftrace's order (probe types
 * alphabetically, then matches sorted), `    type name` argument lines under each with
 * verbose; `struct NAME` patterns list struct names (verbose: `vmlinux: struct NAME {`… its
 * definition). Several patterns may be given comma-separated.
 */
export async function listProbes(pattern: string | undefined, verbose = false, options: CatalogOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const raw of (pattern ?? '').split(',')) {
    const probe = raw.trim().replace(/\s+/g, ' ');
    if (/^(struct|union|enum) /.test(probe)) {
      const btf = await getBtf(options);
      for (const name of matchList(listStructs(btf), probe)) {
        if (!verbose) out.push(name);
        else out.push(`vmlinux: ${formatStructDefinition(btf, name) ?? name}\n`);
      }
      continue;
    }
    const value = probe === '' ? '*:*' : probe.includes(':') ? probe : `*:${probe}`;
    const parts = value.split(':');
    const typePattern = parts[0];
    const suffix = value.slice(value.indexOf(':') + 1) || '*';
    let types: string[];
    if (hasWildcard(typePattern) || parts.length === 1) {
      types = KERNEL_LIST.filter((t) => wildcardRegExp(typePattern || '*').test(t));
      if (!hasWildcard(typePattern) && typePattern !== '') types = [canonicalType(typePattern) ?? typePattern];
    } else {
      const t = canonicalType(typePattern);
      types = t ? [t] : [];
    }
    for (const type of [...new Set(types)].sort()) out.push(...(await listType(type, parts, suffix, verbose, options)));
  }
  return out;
}

async function listType(type: string, parts: readonly string[], suffix: string, verbose: boolean, o: CatalogOptions): Promise<string[]> {
  const lines: string[] = [];
  const withTarget = parts.length > 2 ? suffix : `*:${suffix}`;
  switch (type) {
    case 'tracepoint': {
      const { dir, env } = await tracefsOf(o);
      for (const m of matchList(await listTracepoints(dir, env), withTarget)) {
        lines.push(`tracepoint:${m}`);
        if (!verbose) continue;
        const [c, e] = m.split(':');
        try {
          const text = await env.readFile(`${dir}/events/${c}/${e}/format`);
          for (const f of parseTracepointFormat(text, c, e).fields.filter((x) => !x.common)) lines.push(`    ${fieldDeclaration(text, f.name)}`);
        } catch {
          // a format that vanished between listing and reading: list the name alone
        }
      }
      return lines;
    }
    case 'rawtracepoint': {
      const btf = await getBtf(o);
      for (const m of matchList(listRawTracepoints(btf), withTarget)) {
        lines.push(`rawtracepoint:${m}`);
        if (verbose) for (const a of rawTracepointArgs(btf, m.split(':')[1]) ?? []) lines.push(`    ${argDeclaration(a)}`);
      }
      return lines;
    }
    case 'software': case 'hardware': {
      const list = type === 'software' ? SOFTWARE_EVENTS : HARDWARE_EVENTS;
      const names = list.flatMap((e) => [`${e.path}:`, ...(e.alias ? [`${e.alias}:`] : [])]);
      return matchList(names, suffix).map((m) => `${type}:${m}`);
    }
    case 'profile': case 'interval':
      return matchList(RATE_UNITS.map((u) => `${u}:`), suffix).map((m) => `${type}:${m}`);
    case 'kprobe': case 'kretprobe': {
      const funcs = (await traceableFunctions(o)).filter((f) => !f.includes('.part.'));
      const names = parts.length > 2 ? funcs.map((f) => (f.includes(':') ? f : `vmlinux:${f}`)) : funcs.map((f) => f.replace(/^.*:/, ''));
      return matchList(names, suffix).map((m) => `${type}:${m}`);
    }
    case 'fentry': case 'fexit': {
      const btf = await getBtf(o);
      const traceable = new Set((await traceableFunctions(o)).map((f) => f.replace(/^.*:/, '')));
      const names: string[] = [];
      // Nothing traceable (available_filter_functions unreadable): no need to read every function's name.
      if (traceable.size) for (const id of btf.ids()) {
        if (btf.kindOf(id) !== 12) continue;
        const n = btf.nameOf(id);
        if (traceable.has(n)) names.push(`vmlinux:${n}`);
      }
      return matchList(names, withTarget).map((m) => `${type}:${m}`);
    }
    case 'uprobe': case 'uretprobe': case 'usdt': {
      if (parts.length < 3 || hasWildcard(parts[1])) return lines;
      let path: string;
      try {
        path = await resolveUprobeTarget(parts[1], o.pid, o.targetEnv);
      } catch {
        return lines;
      }
      const rest = parts.slice(2).join(':');
      if (type === 'usdt') {
        const env = o.targetEnv ?? (await nodeTargetEnv());
        const names = readUsdtProbes(await env.readFile(path)).map((n) => `${n.provider}:${n.name}`);
        return matchList(names, rest.includes(':') ? rest : `*:${rest}`).map((m) => `usdt:${path}:${m}`);
      }
      const names = (await listUprobeFunctions(path, o.targetEnv)).map((f) => f.name);
      return matchList(names, rest).map((m) => `${type}:${path}:${m}`);
    }
    default:
      return lines;
  }
}

/** The `type name` text of field `name` as its format file declares it (bpftrace prints the declaration verbatim). */
function fieldDeclaration(formatText: string, name: string): string {
  for (const line of formatText.split('\n')) {
    const m = /field:([^;]*);/.exec(line);
    if (m && new RegExp(`[\\s*]${name}(\\[[^\\]]*\\])?$`).test(m[1])) return m[1];
  }
  return name;
}

/**
 * `bpftrace -l FILE` / `-l -e PROGRAM`: the probes a program's attach points name, in program
 * order (matches of one attach point sorted). Rate and event probes list as `interval:ms:`,
 * `software:cpu:` (without their count), begin/end not at all, as bpftrace does.
 */
export async function listProgramProbes(specs: readonly string[], verbose = false, options: CatalogOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const text of specs) {
    const s = parseProbeSpec(text);
    switch (s.provider) {
      case 'begin': case 'end': break;
      case 'profile': case 'interval': case 'software': case 'hardware':
        out.push(`${s.provider}:${s.parts.length === 1 && (s.provider === 'profile' || s.provider === 'interval') ? 'us' : unquote(s.parts[0] ?? '')}:`);
        break;
      case 'tracepoint': case 'rawtracepoint': case 'uprobe': case 'uretprobe': case 'usdt': case 'kprobe': case 'kretprobe': case 'fentry': case 'fexit': {
        const probes = await expandProbe(s, options).catch(() => [] as ConcreteProbe[]);
        for (const p of [...probes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
          out.push(p.name);
          if (!verbose) continue;
          if (p.provider === 'tracepoint') for (const f of p.fields.filter((x) => !x.common)) out.push(`    ${f.type} ${f.name}${f.arrayLength !== undefined ? `[${f.arrayLength || ''}]` : ''}`);
          if (p.provider === 'rawtracepoint') for (const a of p.args) out.push(`    ${argDeclaration(a)}`);
        }
        break;
      }
    }
  }
  return out;
}
