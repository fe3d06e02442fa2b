/** USDT: attach a BPF_PROG_TYPE_KPROBE program to every site of a `.note.stapsdt` probe as uprobes, with the probe's semaphore raised while attached. */

import { BpfkitError, UsageError } from '../../util/index.js';
import type { Sys } from '../sys.js';
import { readUsdtProbes } from '../usdt-notes.js';
import type { UsdtProbe } from '../usdt-notes.js';
import { KernelLink } from './link.js';
import { linkPerfEvents } from './perf-event.js';
import { openUprobeEvent, resolveBinary } from './uprobe.js';

/** How a probe's semaphore is raised while attached. */
export type UsdtSemaphoreMode = 'kernel' | 'procmem';

/** Options for {@link attachUsdt}. */
export interface UsdtOptions {
  /** Only this process. Needed with `semaphore: 'procmem'`. */
  pid?: number;
  /**
   * `kernel` (default): the uprobe's ref_ctr_offset, so the kernel raises the semaphore in every
   * process that maps the file, even ones started later. `procmem`: add 1 to the semaphore in
   * process `pid` through /proc/PID/mem, and take it back when the link closes.
   */
  semaphore?: UsdtSemaphoreMode;
}

/** A USDT attachment: the uprobe links of every site; each site's bpf cookie is its index in `probes`. */
export class UsdtLink extends KernelLink {
  /** The probe sites attached, in cookie order. */
  readonly probes: readonly UsdtProbe[];
  private release: (() => void) | undefined;

  constructor(sys: Sys, target: string, fds: number[], probes: readonly UsdtProbe[], release?: () => void) {
    super(sys, target, fds);
    this.probes = probes;
    this.release = release;
  }

  override close(): void {
    const release = this.release;
    this.release = undefined;
    try {
      super.close();
    } finally {
      release?.();
    }
  }
}

/** The runtime address of file offset `offset` of `path` in process `pid`, from /proc/PID/maps. */
export function fileOffsetToAddress(procMaps: string, path: string, offset: number): bigint | undefined {
  for (const line of procMaps.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[5] !== path) continue;
    const [start, end] = f[0].split('-').map((x) => BigInt(`0x${x}`));
    const mapOff = BigInt(`0x${f[2]}`);
    const o = BigInt(offset);
    if (o >= mapOff && o < mapOff + (end - start)) return start + (o - mapOff);
  }
  return undefined;
}

/** Adds `delta` to the u16 semaphore at `addr` in process `pid` (read-modify-write of /proc/PID/mem). */
async function bumpSemaphore(pid: number, addr: bigint, delta: number): Promise<() => void> {
  const fs = await import('node:fs');
  const bump = (d: number): void => {
    const fd = fs.openSync(`/proc/${pid}/mem`, 'r+');
    try {
      // User addresses stay below 2^47, so a number holds them exactly.
      const at = Number(addr);
      const b = new Uint8Array(2);
      fs.readSync(fd, b, 0, 2, at);
      const v = (b[0] | (b[1] << 8)) + d;
      fs.writeSync(fd, Uint8Array.of(v & 0xff, (v >> 8) & 0xff), 0, 2, at);
    } finally {
      fs.closeSync(fd);
    }
  };
  bump(delta);
  return () => {
    try {
      bump(-delta);
    } catch {
      // the process is gone: nothing to restore
    }
  };
}

/**
 * Attaches a program to every site of USDT probe `provider:name` in `binary` (a path, or a
 * library's bare name). The program's context is `pt_regs`; read arguments with
 * `emitUsdtArg` using the specs in `link.probes`. Throws a UsageError (`E_USDT_PROBE`) when the
 * binary has no such probe.
 */
export async function attachUsdt(sys: Sys, prog: { fd: number }, binary: string, provider: string, name: string, options: UsdtOptions = {}): Promise<UsdtLink> {
  const path = await resolveBinary(binary, options.pid);
  const label = `usdt/${path}:${provider}:${name}`;
  const pfds: number[] = [];
  let release: (() => void) | undefined;
  try {
    const fs = await import('node:fs/promises');
    const probes = readUsdtProbes(new Uint8Array(await fs.readFile(path))).filter((p) => p.provider === provider && p.name === name);
    if (probes.length === 0) throw new UsageError('E_USDT_PROBE', `no usdt probe ${provider}:${name} in ${path}`);
    const mode = options.semaphore ?? 'kernel';
    const sem = probes.find((p) => p.semaphoreOffset !== 0);
    if (mode === 'procmem' && sem) {
      if (options.pid === undefined) throw new UsageError('E_USAGE', 'usdt semaphore through /proc/PID/mem needs a pid');
      const maps = await fs.readFile(`/proc/${options.pid}/maps`, 'utf8');
      const addr = fileOffsetToAddress(maps, path, sem.semaphoreOffset);
      if (addr === undefined) throw new UsageError('E_USAGE', `process ${options.pid} does not map ${path}`);
      release = await bumpSemaphore(options.pid, addr, 1);
    }
    for (const p of probes) {
      const refCtrOffset = mode === 'kernel' && p.semaphoreOffset ? p.semaphoreOffset : undefined;
      pfds.push(await openUprobeEvent(sys, path, p.offset, { pid: options.pid, refCtrOffset }, label));
    }
    const fds = linkPerfEvents(sys, prog, pfds.splice(0), label, probes.map((_, i) => BigInt(i)));
    return new UsdtLink(sys, label, fds, probes, release);
  } catch (e) {
    for (const fd of pfds) sys.close(fd);
    release?.();
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}
