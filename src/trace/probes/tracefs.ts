/** tracefs: where it is (mounting it when missing and root), tracepoint `format` files parsed into fields, and the event list. */

import { ProbeError } from './errors.js';

/** One field of a tracepoint record, from its `format` file. */
export interface TracepointField {
  name: string;
  /** The C type as written, without the array suffix (`const char *`, `__data_loc char[]`, `char`). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc` fields: a u32 whose low 16 bits are the data's offset in the record and high 16 its length. */
  dataLoc: boolean;
  /** Array fields (`char comm[16]`): the element count (0 for `[]`). */
  arrayLength?: number;
  /** Whether the field is one of the common header's (`common_pid`, …), before the first blank line. */
  common: boolean;
}

/** A parsed `events/<category>/<name>/format` file. */
export interface TracepointFormat {
  category: string;
  name: string;
  id: number;
  fields: TracepointField[];
}

/** Where tracefs is mounted on current kernels, and where older systems have it through debugfs. */
export const TRACEFS_MOUNTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

function section(line: string, title: string, lineNo: number): string {
  const start = line.indexOf(title);
  const end = start < 0 ? -1 : line.indexOf(';', start);
  if (end < 0) throw new ProbeError('E_PROBE_FORMAT', `tracepoint format line ${lineNo}: could not parse "${title}"`, { position: { line: lineNo } });
  return line.slice(start + title.length, end);
}

/**
 * Parses the text of a tracefs `format` file (bpftrace's TracepointFormatParser rules: the
 * name is after the last space or tab of the declaration, `[N]` makes an array, `__data_loc`
 * marks dynamic data). Throws ProbeError `E_PROBE_FORMAT` on a line it cannot read.
 */
export function parseTracepointFormat(text: string, category = '', name = ''): TracepointFormat {
  const fields: TracepointField[] = [];
  let id = 0;
  let eventName = name;
  let common = true;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (line.startsWith('name: ') && eventName === '') eventName = line.slice(6).trim();
    else if (line.startsWith('ID: ')) id = Number(line.slice(4).trim());
    else if (line.trim() === '' && fields.length > 0) common = false;
    if (!line.includes('field:')) continue;
    const decl = section(line, 'field:', lineNo);
    const cut = Math.max(decl.lastIndexOf(' '), decl.lastIndexOf('\t'));
    if (cut < 0) throw new ProbeError('E_PROBE_FORMAT', `tracepoint format line ${lineNo}: could not parse type of "${decl}"`, { position: { line: lineNo } });
    let type = decl.slice(0, cut).trim();
    let fieldName = decl.slice(cut + 1);
    let arrayLength: number | undefined;
    const bracket = fieldName.indexOf('[');
    if (bracket >= 0) {
      const inner = fieldName.slice(bracket + 1, fieldName.indexOf(']'));
      if (inner !== '' && !/^\d+$/.test(inner)) {
        throw new ProbeError('E_PROBE_FORMAT', `tracepoint format line ${lineNo}: could not parse array size of "${fieldName}"`, { position: { line: lineNo } });
      }
      arrayLength = inner === '' ? 0 : Number(inner);
      fieldName = fieldName.slice(0, bracket);
    }
    const num = (title: string): number => {
      const s = section(line, title, lineNo).trim();
      if (!/^-?\d+$/.test(s)) throw new ProbeError('E_PROBE_FORMAT', `tracepoint format line ${lineNo}: could not parse "${title}"`, { position: { line: lineNo } });
      return Number(s);
    };
    const dataLoc = type.includes('__data_loc') || type.includes('__rel_loc');
    type = type.replace(/\s+/g, ' ');
    fields.push({
      name: fieldName, type, offset: num('offset:'), size: num('size:'), signed: num('signed:') === 1, dataLoc,
      ...(arrayLength !== undefined ? { arrayLength } : {}), common,
    });
  }
  return { category, name: eventName, id, fields };
}

/**
 * bpftrace's width fix for syscall records: an `int`/`unsigned int`/`pid_t`… field stored in 8
 * bytes is read as `s64`/`u64`. Returns the type name to use for a field.
 */
export function adjustIntegerType(type: string, size: number): string {
  if (size !== 8) return type;
  if (type === 'int') return 's64';
  if (['unsigned int', 'unsigned', 'u32', 'pid_t', 'uid_t', 'gid_t'].includes(type)) return 'u64';
  return type;
}

/** Filesystem access the tracefs functions need, injectable for tests. */
export interface TracefsEnv {
  readFile(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  /** mount(2) of tracefs at `target`; throws on failure. */
  mountTracefs?(target: string): Promise<void>;
  isRoot?(): boolean;
}

/**
 * The Node implementation of {@link TracefsEnv}. mount(2) goes through the `mount` command, which
 * every Linux has. Reads are synchronous: tracefs files are generated in memory, and an async read
 * is five thread-pool round trips (open, stat, read, read, close) — a wildcard over syscalls reads
 * ~700 formats, and each round trip waits for a CPU on a loaded machine.
 */
export async function nodeTracefsEnv(): Promise<TracefsEnv> {
  const fs = await import('node:fs');
  return {
    readFile: async (p) => fs.readFileSync(p, 'utf8'),
    exists: async (p) => fs.existsSync(p),
    isRoot: () => typeof process.getuid === 'function' && process.getuid() === 0,
    async mountTracefs(target) {
      const cp = await import('node:child_process');
      await new Promise<void>((resolve, reject) => {
        cp.execFile('mount', ['-t', 'tracefs', 'nodev', target], (err, _out, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()));
      });
    },
  };
}

let cachedTracefs: string | undefined;

/** Where tracefs is (the first mount point with an `events` directory), or undefined. */
export async function findTracefs(env?: TracefsEnv): Promise<string | undefined> {
  const e = env ?? (await nodeTracefsEnv());
  for (const dir of TRACEFS_MOUNTS) if (await e.exists(`${dir}/events`)) return dir;
  return undefined;
}

/**
 * The tracefs directory, mounting tracefs at /sys/kernel/tracing when it is missing and we are
 * root. Throws ProbeError `E_PROBE_TRACEFS` naming the cause otherwise.
 */
export async function ensureTracefs(env?: TracefsEnv): Promise<string> {
  if (env === undefined && cachedTracefs !== undefined) return cachedTracefs;
  const e = env ?? (await nodeTracefsEnv());
  const found = await findTracefs(e);
  if (found !== undefined) {
    if (env === undefined) cachedTracefs = found;
    return found;
  }
  const target = TRACEFS_MOUNTS[0];
  if (!e.isRoot?.() || !e.mountTracefs) {
    throw new ProbeError('E_PROBE_TRACEFS', `tracefs is not mounted at ${TRACEFS_MOUNTS.join(' or ')}`, {
      hint: `run as root, or mount it: mount -t tracefs nodev ${target}`,
    });
  }
  try {
    await e.mountTracefs(target);
  } catch (cause) {
    throw new ProbeError('E_PROBE_TRACEFS', `tracefs is not mounted and mounting it at ${target} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (!(await e.exists(`${target}/events`))) throw new ProbeError('E_PROBE_TRACEFS', `tracefs mounted at ${target} has no events directory`);
  if (env === undefined) cachedTracefs = target;
  return target;
}

/** Every tracepoint as `category:name`, from `available_events`, sorted as bpftrace lists them. */
export async function listTracepoints(tracefs?: string, env?: TracefsEnv): Promise<string[]> {
  const e = env ?? (await nodeTracefsEnv());
  const dir = tracefs ?? (await ensureTracefs(env));
  const text = await e.readFile(`${dir}/available_events`);
  return [...new Set(text.split('\n').filter((l) => l.includes(':')))].sort();
}

/** Reads and parses the format of tracepoint `category:name`; ProbeError `E_PROBE_NOT_FOUND` when absent. */
export async function readTracepointFormat(category: string, name: string, tracefs?: string, env?: TracefsEnv): Promise<TracepointFormat> {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) throw new ProbeError('E_PROBE_SPEC', `invalid tracepoint name ${category}:${name}`);
  const e = env ?? (await nodeTracefsEnv());
  const dir = tracefs ?? (await ensureTracefs(env));
  let text: string;
  try {
    text = await e.readFile(`${dir}/events/${category}/${name}/format`);
  } catch (cause) {
    throw new ProbeError('E_PROBE_NOT_FOUND', `Tracepoint not found: ${category}:${name}`, {
      cause, ...(category === 'syscall' ? { hint: `Did you mean syscalls:${name}?` } : {}),
    });
  }
  return parseTracepointFormat(text, category, name);
}
