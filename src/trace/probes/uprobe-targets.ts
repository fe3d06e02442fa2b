/** uprobe targets: binaries and libraries by name (a process's maps, /etc/ld.so.cache, $PATH) and their functions from ELF symbols. */

import { functionSymbols } from '../../elf/index.js';
import { ProbeError } from './errors.js';

/** A function a uprobe can attach to. */
export interface UprobeFunction {
  name: string;
  /** Virtual address in the ELF (st_value). */
  address: bigint;
  /** File offset: where the uprobe goes. */
  offset: number;
  size: number;
}

/** An /etc/ld.so.cache entry: the library's soname, its path, and the cache's flags (ELF class and machine). */
export interface LdCacheEntry {
  name: string;
  path: string;
  flags: number;
}

const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const OLD_MAGIC = 'ld.so-1.7.0';
/** FLAG_ELF_LIBC6 | FLAG_X8664_LIB64: a 64-bit x86 glibc library. */
export const LD_CACHE_X86_64 = 0x0303;
/** FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64. */
export const LD_CACHE_AARCH64 = 0x0a03;

function cstr(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/**
 * Parses /etc/ld.so.cache: glibc's `glibc-ld.so.cache1.1` format (string offsets from the file
 * start), alone or after the old `ld.so-1.7.0` table. ProbeError `E_PROBE_LDCACHE` on a file
 * of neither kind or with entries past its end.
 */
export function parseLdSoCache(bytes: Uint8Array): LdCacheEntry[] {
  const text = (at: number, n: number): string => String.fromCharCode(...bytes.subarray(at, at + n));
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let base = 0;
  if (text(0, OLD_MAGIC.length) === OLD_MAGIC) {
    // The old table: magic, u32 count, then 12-byte entries; the new format follows, 8-aligned.
    const n = v.getUint32(12, true);
    base = (16 + n * 12 + 7) & ~7;
  }
  if (text(base, NEW_MAGIC.length) !== NEW_MAGIC) throw new ProbeError('E_PROBE_LDCACHE', 'not a glibc ld.so.cache file');
  const n = v.getUint32(base + 20, true);
  const entriesAt = base + 48;
  if (entriesAt + n * 24 > bytes.length) throw new ProbeError('E_PROBE_LDCACHE', `ld.so.cache holds ${n} entries but ends at byte ${bytes.length}`);
  const out: LdCacheEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = entriesAt + i * 24;
    const key = v.getUint32(e + 4, true) + base;
    const value = v.getUint32(e + 8, true) + base;
    if (key >= bytes.length || value >= bytes.length) throw new ProbeError('E_PROBE_LDCACHE', `ld.so.cache entry ${i} points past the end`);
    out.push({ flags: v.getInt32(e, true), name: cstr(bytes, key), path: cstr(bytes, value) });
  }
  return out;
}

/**
 * The library a bare `lib…` name means, as bcc's which_so (what bpftrace uses): the first
 * ld.so.cache entry for this machine whose soname starts with `lib<name>.so`.
 */
export function libraryFromCache(entries: readonly LdCacheEntry[], libName: string, flags = LD_CACHE_X86_64): string | undefined {
  const prefix = `lib${libName}.so`;
  return entries.find((e) => e.name.startsWith(prefix) && e.flags === flags)?.path;
}

/** Filesystem access for target resolution, injectable for tests. */
export interface TargetEnv {
  readFile(path: string): Promise<Uint8Array>;
  /** The ELF type (ET_EXEC 2, ET_DYN 3) of an executable file, or undefined when it is not an ELF or not executable. */
  elfType(path: string): Promise<number | undefined>;
  /** `$PATH` entries. */
  pathDirs: readonly string[];
  /** The ld.so.cache flags of this machine's libraries. */
  ldCacheFlags: number;
}

/** The Node implementation of {@link TargetEnv}. */
export async function nodeTargetEnv(): Promise<TargetEnv> {
  const fs = await import('node:fs/promises');
  return {
    readFile: async (p) => new Uint8Array(await fs.readFile(p)),
    async elfType(p) {
      try {
        const fh = await fs.open(p, 'r');
        try {
          const head = new Uint8Array(18);
          await fh.read(head, 0, 18, 0);
          if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
          const type = head[16] | (head[17] << 8);
          if (type === 2) await fs.access(p, (await import('node:fs')).constants.X_OK);
          return type;
        } finally {
          await fh.close();
        }
      } catch {
        return undefined;
      }
    },
    pathDirs: (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean),
    ldCacheFlags: process.arch === 'arm64' ? LD_CACHE_AARCH64 : LD_CACHE_X86_64,
  };
}

async function fromProcMaps(env: TargetEnv, pid: number, libName: string): Promise<string | undefined> {
  let maps: string;
  try {
    maps = new TextDecoder().decode(await env.readFile(`/proc/${pid}/maps`));
  } catch {
    return undefined;
  }
  const prefix = `lib${libName}`;
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash < 0) continue;
    const path = line.slice(slash);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base.startsWith(`${prefix}.so`) || base.startsWith(`${prefix}-`)) return path;
  }
  return undefined;
}

/**
 * The paths a uprobe target names, as bpftrace resolves them: a `lib…` name through `pid`'s
 * maps then /etc/ld.so.cache; a bare name through `$PATH`; a path as is. Only ELF files that
 * are executables (with the x bit) or shared objects count. ProbeError `E_PROBE_BINARY` when
 * nothing matches.
 */
export async function resolveUprobeTarget(name: string, pid?: number, env?: TargetEnv): Promise<string> {
  const e = env ?? (await nodeTargetEnv());
  let target = name;
  if (!name.includes('/') && name.startsWith('lib')) {
    const lib = name.slice(3);
    let found = pid !== undefined ? await fromProcMaps(e, pid, lib) : undefined;
    if (found === undefined) {
      try {
        found = libraryFromCache(parseLdSoCache(await e.readFile('/etc/ld.so.cache')), lib, e.ldCacheFlags);
      } catch {
        found = undefined;
      }
    }
    if (found !== undefined) target = found;
  }
  const candidates = [target, ...(target.includes('/') ? [] : e.pathDirs.map((d) => `${d}/${target}`))];
  for (const c of candidates) {
    const type = await e.elfType(c);
    if (type === 2 || type === 3) return c;
  }
  throw new ProbeError('E_PROBE_BINARY', `uprobe target file '${name}' does not exist or is not executable`);
}

const functionCache = new Map<string, Promise<UprobeFunction[]>>();

/**
 * The functions of an ELF file (symtab and dynsym, first occurrence of each name, sorted by name); cached per path as
 * a promise, so that probes expanded together (memleak's 22 on libc) read and parse the file once, not once each.
 */
export function listUprobeFunctions(path: string, env?: TargetEnv): Promise<UprobeFunction[]> {
  let hit = functionCache.get(path);
  if (!hit) {
    hit = readUprobeFunctions(path, env);
    functionCache.set(path, hit);
    hit.catch(() => functionCache.delete(path));
  }
  return hit;
}

async function readUprobeFunctions(path: string, env?: TargetEnv): Promise<UprobeFunction[]> {
  const e = env ?? (await nodeTargetEnv());
  let bytes: Uint8Array;
  try {
    bytes = await e.readFile(path);
  } catch (cause) {
    throw new ProbeError('E_PROBE_BINARY', `cannot read ${path}`, { cause });
  }
  const byName = new Map<string, UprobeFunction>();
  try {
    for (const s of functionSymbols(bytes)) {
      const prev = byName.get(s.name);
      // .symtab comes first; a sized entry beats a zero-sized alias of the same name.
      if (!prev || (prev.size === 0 && s.size > 0)) byName.set(s.name, { name: s.name, address: BigInt(s.address), offset: s.offset, size: s.size });
    }
  } catch (cause) {
    throw new ProbeError('E_PROBE_BINARY', `${path} is not a readable ELF file`, { cause });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Where a uprobe on `path` goes, with bpftrace's checks and words: a function plus an offset
 * inside it (`Offset outside the function bounds ('f' size is N)`), or an address that must
 * fall inside a function (`Could not resolve address: PATH:0xADDR`). Nonzero offsets need an
 * instruction-boundary check bpfkit does not do: they are refused unless `unsafe`.
 */
export async function resolveUprobeOffset(
  path: string,
  where: { symbol: string; offset?: number } | { address: bigint },
  options: { retprobe?: boolean; unsafe?: boolean; env?: TargetEnv } = {},
): Promise<{ offset: number; symbol: string; funcOffset: number }> {
  const funcs = await listUprobeFunctions(path, options.env);
  let symbol: string;
  let funcOffset: number;
  if ('address' in where) {
    const f = funcs.find((x) => x.size > 0 && where.address >= x.address && where.address < x.address + BigInt(x.size));
    if (!f) throw new ProbeError('E_PROBE_NOT_FOUND', `Could not resolve address: ${path}:0x${where.address.toString(16)}`);
    symbol = f.name;
    funcOffset = Number(where.address - f.address);
  } else {
    symbol = where.symbol.replace(/@.*$/, '');
    funcOffset = where.offset ?? 0;
  }
  const f = funcs.find((x) => x.name === symbol);
  if (!f) throw new ProbeError('E_PROBE_NOT_FOUND', `Could not resolve symbol: ${path}:${symbol}`);
  if (options.retprobe && funcOffset !== 0) {
    throw new ProbeError('E_PROBE_SPEC', `uretprobes cannot be attached at function offset. (address resolved to: ${symbol}+${funcOffset})`);
  }
  if (f.size === 0 && funcOffset === 0) {
    if (!options.unsafe) throw new ProbeError('E_PROBE_UNSAFE', `Could not determine boundary for ${symbol} (symbol has size 0).`, { hint: 'use --unsafe to attach anyway' });
  } else if (funcOffset >= f.size) {
    throw new ProbeError('E_PROBE_OFFSET', `Offset outside the function bounds ('${symbol}' size is ${f.size})`);
  }
  if (funcOffset !== 0 && !options.unsafe) {
    throw new ProbeError('E_PROBE_UNSAFE', `Could not check that ${symbol}+${funcOffset} is on an instruction boundary: a misaligned uprobe can crash the traced process`, {
      hint: 'use --unsafe to attach anyway',
    });
  }
  return { offset: f.offset + funcOffset, symbol, funcOffset };
}
