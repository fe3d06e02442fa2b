/** uprobe/uretprobe: a BPF_PROG_TYPE_KPROBE program on a function of an ELF binary or shared library, through the uprobe perf PMU and a bpf link. */

import { symbolOffset } from '../../elf/index.js';
import { BpfkitError, UnsupportedError, UsageError } from '../../util/index.js';
import { cString } from '../map.js';
import type { Sys } from '../sys.js';
import type { KernelLink } from './link.js';
import { attachToPerfEvents, openPerfEvent, pmuFormatShift, pmuType } from './perf-event.js';

/** Where a uprobe goes. */
export interface UprobeOptions {
  /** A uretprobe: run when the function returns (the context's rax holds the return value). */
  retprobe?: boolean;
  /** Only this process; default every process that maps the file. */
  pid?: number;
  /** Bytes past the symbol's start (or the file offset itself when no symbol is given). */
  offset?: number;
  /** A USDT semaphore's file offset: the kernel increments it while the probe is attached. */
  refCtrOffset?: number;
  /** A value the program reads back with bpf_get_attach_cookie. */
  cookie?: bigint;
}

/** Directories searched for a library given by bare name (`libc.so.6`). */
const LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/**
 * The path of a binary or library: a path is kept; a bare name (`libc`, `libc.so.6`) is looked
 * up in the memory map of `pid` (default this process), then in the usual library directories.
 */
export async function resolveBinary(name: string, pid?: number): Promise<string> {
  if (name.includes('/')) return name;
  const fs = await import('node:fs/promises');
  const base = name.startsWith('lib') ? name : `lib${name}`;
  const matches = (file: string): boolean => file === name || file === base || file.startsWith(`${base}.so`) || file.startsWith(`${base}-`);
  try {
    const maps = await fs.readFile(`/proc/${pid ?? 'self'}/maps`, 'utf8');
    for (const line of maps.split('\n')) {
      const p = line.slice(line.indexOf('/'));
      if (line.includes('/') && matches(p.slice(p.lastIndexOf('/') + 1))) return p;
    }
  } catch {
    // no such process: fall back to the library directories
  }
  for (const dir of LIBRARY_DIRS) {
    for (const file of [name, `${base}.so.6`, `${base}.so`]) {
      try {
        await fs.access(`${dir}/${file}`);
        return `${dir}/${file}`;
      } catch {
        // try the next candidate
      }
    }
  }
  throw new UsageError('E_USAGE', `cannot find binary or library "${name}"`);
}

/**
 * Opens the uprobe perf event for file offset `offset` of `path` (the uprobe PMU type and
 * the retprobe / ref_ctr_offset bits come from sysfs). The caller owns the returned fd.
 */
export async function openUprobeEvent(sys: Sys, path: string, offset: number, options: UprobeOptions, label: string): Promise<number> {
  const type = await pmuType('uprobe');
  let config = 0n;
  if (options.retprobe) {
    const bit = await pmuFormatShift('uprobe', 'retprobe');
    if (bit === undefined) throw new UnsupportedError('E_UNSUPPORTED', 'this kernel\'s uprobe pmu has no retprobe bit');
    config |= 1n << bit;
  }
  if (options.refCtrOffset !== undefined) {
    const shift = await pmuFormatShift('uprobe', 'ref_ctr_offset');
    if (shift === undefined) throw new UnsupportedError('E_UNSUPPORTED', 'this kernel\'s uprobe pmu has no ref_ctr_offset (usdt semaphores)');
    config |= BigInt(options.refCtrOffset) << shift;
  }
  // config1 points at the path; the buffer only has to live until perf_event_open returns.
  const pathBytes = cString(path);
  const pid = options.pid ?? -1;
  return openPerfEvent(sys, { type, config, config1: sys.addressOf(pathBytes), config2: BigInt(offset), samplePeriod: 1n, wakeupEvents: 1 }, pid, pid === -1 ? 0 : -1, label);
}

/**
 * Attaches a uprobe (or uretprobe) to `symbol` in `binary` (a path, or a library's bare name).
 * The symbol is resolved to a file offset from `.symtab`/`.dynsym` through the program
 * headers, so PIE executables and shared objects work; pass `symbol` undefined and `offset`
 * to probe a raw file offset.
 */
export async function attachUprobe(sys: Sys, prog: { fd: number }, binary: string, symbol: string | undefined, options: UprobeOptions = {}): Promise<KernelLink> {
  const path = await resolveBinary(binary, options.pid);
  const kind = options.retprobe ? 'uretprobe' : 'uprobe';
  const label = `${kind}/${path}:${symbol ?? `0x${(options.offset ?? 0).toString(16)}`}`;
  let offset = options.offset ?? 0;
  try {
    if (symbol !== undefined) {
      const fs = await import('node:fs/promises');
      const bytes = new Uint8Array(await fs.readFile(path));
      offset += symbolOffset(bytes, symbol);
    }
    const pfd = await openUprobeEvent(sys, path, offset, options, label);
    return attachToPerfEvents(sys, prog, [pfd], label, options.cookie);
  } catch (e) {
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}
