/** Perf events as attach points: dynamic PMU types from sysfs, a program attached to a perf event fd, and software clock sampling (`profile`/`interval`). */

import { BpfkitError, UnsupportedError, UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import { PerfFlag, PerfType, perfEventAttr } from '../attr.js';
import type { PerfEventAttr } from '../attr.js';
import type { Sys } from '../sys.js';
import { KernelLink, linkCreate } from './link.js';

/** Where the kernel lists its PMUs (uprobe, kprobe, software...). */
export const PMU_DIR = '/sys/bus/event_source/devices';

/** PERF_FLAG_FD_CLOEXEC. */
export const PERF_FLAG_FD_CLOEXEC = 8;

/** Software events (enum perf_sw_ids). */
export const PerfSwEvent = {
  PERF_COUNT_SW_CPU_CLOCK: 0, PERF_COUNT_SW_TASK_CLOCK: 1, PERF_COUNT_SW_PAGE_FAULTS: 2, PERF_COUNT_SW_CONTEXT_SWITCHES: 3,
  PERF_COUNT_SW_CPU_MIGRATIONS: 4, PERF_COUNT_SW_PAGE_FAULTS_MIN: 5, PERF_COUNT_SW_PAGE_FAULTS_MAJ: 6,
  PERF_COUNT_SW_ALIGNMENT_FAULTS: 7, PERF_COUNT_SW_EMULATION_FAULTS: 8, PERF_COUNT_SW_DUMMY: 9, PERF_COUNT_SW_BPF_OUTPUT: 10,
} as const;

/** `struct bpf_perf_event_data` offsets on x86-64 (`pt_regs` is 168 bytes there): what a PERF_EVENT program's context holds. */
export const BPF_PERF_EVENT_DATA = { x64: { regs: 0, samplePeriod: 168, addr: 176 }, arm64: { regs: 0, samplePeriod: 272, addr: 280 } } as const;

async function readSysfs(path: string): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  try {
    return (await fs.readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * The perf type number of a dynamic PMU (`uprobe`, `kprobe`) from sysfs. A kernel without
 * that PMU gets an {@link UnsupportedError} naming it (`E_UNSUPPORTED`).
 */
export async function pmuType(pmu: string, dir = PMU_DIR): Promise<number> {
  const text = await readSysfs(`${dir}/${pmu}/type`);
  const n = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(n)) {
    throw new UnsupportedError('E_UNSUPPORTED', `this kernel has no ${pmu} pmu (${dir}/${pmu}/type missing)`, {
      hint: pmu === 'kprobe' ? 'the kernel was built without CONFIG_KPROBES (or KPROBE_EVENTS): use tracepoints, raw_tp or fentry' : undefined,
    });
  }
  return n;
}

/**
 * The bit a PMU's `format/<field>` file names (`config:0` → 0n); `config:32-63` gives the
 * shift of a wider field (32n). undefined when the PMU lacks the field.
 */
export async function pmuFormatShift(pmu: string, field: string, dir = PMU_DIR): Promise<bigint | undefined> {
  const text = await readSysfs(`${dir}/${pmu}/format/${field}`);
  const m = text && /^config:(\d+)/.exec(text);
  return m ? BigInt(m[1]) : undefined;
}

/** Opens a perf event; `label` names it in errors. */
export function openPerfEvent(sys: Sys, attr: PerfEventAttr, pid: number, cpu: number, label: string): number {
  try {
    return sys.perfEventOpen(perfEventAttr(attr), pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(`open perf event ${label}`) : e;
  }
}

/**
 * Links a program to open perf event fds with LINK_CREATE(BPF_PERF_EVENT), one link per fd
 * (`cookies[i]`, or the one cookie, is what bpf_get_attach_cookie returns for event i).
 * Returns the link fds followed by the perf event fds, for one owner to close; on failure
 * every fd is closed.
 */
export function linkPerfEvents(sys: Sys, prog: { fd: number }, perfFds: readonly number[], label: string, cookies?: bigint | readonly bigint[]): number[] {
  const fds: number[] = [];
  try {
    perfFds.forEach((pfd, i) => {
      const bpfCookie = typeof cookies === 'bigint' ? cookies : cookies?.[i];
      fds.push(linkCreate(sys, label, { progFd: prog.fd, targetFd: pfd, attachType: AttachType.BPF_PERF_EVENT, bpfCookie }));
    });
  } catch (e) {
    for (const fd of [...fds, ...perfFds]) sys.close(fd);
    throw e;
  }
  return [...fds, ...perfFds];
}

/** {@link linkPerfEvents} as a {@link KernelLink} that owns the perf event fds too. */
export function attachToPerfEvents(sys: Sys, prog: { fd: number }, perfFds: readonly number[], label: string, cookies?: bigint | readonly bigint[]): KernelLink {
  return new KernelLink(sys, label, linkPerfEvents(sys, prog, perfFds, label, cookies));
}

/** A sampling source: how often the program runs, for whom, on which CPUs. */
export interface PerfSampleOptions {
  /** PERF_TYPE_* (default software). */
  type?: number;
  /** The event (default PERF_COUNT_SW_CPU_CLOCK). */
  config?: number | bigint;
  /** Run every `period` events (for the CPU clock: nanoseconds). Give this or `frequency`. */
  period?: bigint | number;
  /** Run about `frequency` times a second (sample_freq with the freq bit). */
  frequency?: number;
  /** Only this process (all its CPUs); default every process. */
  pid?: number;
  /** CPUs to sample on when no pid is given (default: all of `possibleCpus`). */
  cpus?: readonly number[];
  /** How many CPUs the machine has (default 1); `Kernel.possibleCpus` holds it. */
  possibleCpus?: number;
}

/**
 * Attaches a BPF_PROG_TYPE_PERF_EVENT program to a sampling event: a `profile` (frequency, every
 * CPU) or `interval` (period) source. With `pid`, one event follows that process; without,
 * one event per CPU.
 */
export function attachPerfSample(sys: Sys, prog: { fd: number }, options: PerfSampleOptions): KernelLink {
  const type = options.type ?? PerfType.PERF_TYPE_SOFTWARE;
  const config = BigInt(options.config ?? PerfSwEvent.PERF_COUNT_SW_CPU_CLOCK);
  const hasPeriod = options.period !== undefined;
  if (hasPeriod === (options.frequency !== undefined)) throw new UsageError('E_USAGE', 'a sampling event needs exactly one of period and frequency');
  const value = BigInt(options.period ?? options.frequency ?? 0);
  if (value <= 0n) throw new UsageError('E_USAGE', `sampling ${hasPeriod ? 'period' : 'frequency'} must be positive, got ${value}`);
  const attr: PerfEventAttr = { type, config, samplePeriod: value, flags: hasPeriod ? 0n : PerfFlag.freq };
  const label = `perf_event/${type}:${config}${hasPeriod ? `/period=${value}` : `/freq=${value}`}`;
  const targets = options.pid !== undefined
    ? [{ pid: options.pid, cpu: -1 }]
    : (options.cpus ?? Array.from({ length: options.possibleCpus ?? 1 }, (_, i) => i)).map((cpu) => ({ pid: -1, cpu }));
  const pfds: number[] = [];
  try {
    for (const t of targets) pfds.push(openPerfEvent(sys, attr, t.pid, t.cpu, label));
  } catch (e) {
    for (const fd of pfds) sys.close(fd);
    throw e;
  }
  return attachToPerfEvents(sys, prog, pfds, label);
}
