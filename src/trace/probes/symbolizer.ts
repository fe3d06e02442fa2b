/** The Node symbolizer: kernel addresses through /proc/kallsyms, user addresses through /proc/PID/maps and each mapped file's ELF symbols. */

import { readFileSync } from 'node:fs';
import { functionSymbols } from '../../elf/index.js';
import type { ResolvedSymbol, Symbolizer } from '../format/index.js';

/** A kernel symbol from /proc/kallsyms. */
export interface KernelSymbol {
  addr: bigint;
  name: string;
  module?: string;
}

/**
 * Kernel text symbols (types t/T/w/W) sorted by address, from the text of /proc/kallsyms.
 * Addresses read as 0 (no privilege) give an empty table rather than wrong names.
 */
export function parseKallsyms(text: string): KernelSymbol[] {
  const out: KernelSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (!m) continue;
    const addr = BigInt(`0x${m[1]}`);
    if (addr === 0n) continue;
    out.push(m[4] ? { addr, name: m[3], module: m[4] } : { addr, name: m[3] });
  }
  return out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

/** The last entry at or below `addr` in a table sorted by `key`, by binary search. */
function floorEntry<T>(table: readonly T[], addr: bigint, key: (t: T) => bigint): T | undefined {
  let lo = 0;
  let hi = table.length - 1;
  let hit: T | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(table[mid]) <= addr) {
      hit = table[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return hit;
}

/** The kernel symbol containing `addr` (the nearest one at or below it, as bcc's symcache resolves). */
export function lookupKernel(table: readonly KernelSymbol[], addr: bigint): ResolvedSymbol | undefined {
  const s = floorEntry(table, addr, (x) => x.addr);
  return s ? { name: s.name, start: s.addr, ...(s.module ? { module: s.module } : {}) } : undefined;
}

/** One file-backed mapping of /proc/PID/maps. */
export interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

/** The file-backed mappings of a /proc/PID/maps text. */
export function parseProcMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(line);
    if (m) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[3]}`), path: m[4].replace(/ \(deleted\)$/, '') });
  }
  return out;
}

interface FileSymbol {
  name: string;
  offset: bigint;
  size: bigint;
  address: bigint;
}

/** Options for {@link createNodeSymbolizer}: file readers, injectable for tests. */
export interface SymbolizerOptions {
  readText?: (path: string) => string;
  readBytes?: (path: string) => Uint8Array;
}

/**
 * A {@link Symbolizer} over this machine: /proc/kallsyms read once, when first needed; user
 * addresses through the process's maps (read per lookup, so new mappings are seen) and the
 * ELF symbols of the mapped file (cached per path). A process that is gone resolves nothing.
 */
export function createNodeSymbolizer(options: SymbolizerOptions = {}): Symbolizer {
  const readText = options.readText ?? ((p: string) => readFileSync(p, 'utf8'));
  const readBytes = options.readBytes ?? ((p: string) => new Uint8Array(readFileSync(p)));
  let kallsyms: KernelSymbol[] | undefined;
  const files = new Map<string, FileSymbol[]>();
  const fileSymbols = (path: string): FileSymbol[] => {
    let syms = files.get(path);
    if (!syms) {
      try {
        syms = functionSymbols(readBytes(path))
          .filter((s) => s.size > 0)
          .map((s) => ({ name: s.name, offset: BigInt(s.offset), size: BigInt(s.size), address: BigInt(s.address) }))
          .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
      } catch {
        syms = [];
      }
      files.set(path, syms);
    }
    return syms;
  };
  return {
    kernel(addr) {
      if (!kallsyms) {
        try {
          kallsyms = parseKallsyms(readText('/proc/kallsyms'));
        } catch {
          kallsyms = [];
        }
      }
      return lookupKernel(kallsyms, addr);
    },
    user(addr, pid) {
      let maps: Mapping[];
      try {
        maps = parseProcMaps(readText(`/proc/${pid}/maps`));
      } catch {
        return undefined;
      }
      const m = maps.find((x) => addr >= x.start && addr < x.end);
      if (!m) return undefined;
      const fileOffset = addr - m.start + m.offset;
      const s = floorEntry(fileSymbols(m.path), fileOffset, (x) => x.offset);
      if (!s || fileOffset >= s.offset + s.size) return undefined;
      // `start` is the symbol's runtime address, so `addr - start` is the offset into it.
      return { name: s.name, start: addr - (fileOffset - s.offset), module: m.path };
    },
  };
}
