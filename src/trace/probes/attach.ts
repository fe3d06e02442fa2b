/** Attaching a loaded program to a concrete probe, over src/kernel's links, with errors that name the cause (no kprobes, lockdown, no PMU). */

import { ProgType } from '../../ebpf/index.js';
import type { ProgramSpec } from '../../ebpf/index.js';
import {
  AttachType, KernelLink, PerfFlag, PerfType, SyscallError, attachFentry, attachKprobe, attachRawTracepoint, attachToPerfEvents, attachTracepoint,
  attachTracepointById, attachUsdt, openPerfEvent, openUprobeEvent, pmuType,
} from '../../kernel/index.js';
import type { Kernel, KernelProgram } from '../../kernel/index.js';
import { BpfkitError, UnsupportedError } from '../../util/index.js';
import type { ConcreteProbe } from './catalog.js';
import { ProbeError } from './errors.js';

/** Options for {@link attachProbe}. */
export interface AttachOptions {
  /** `-p PID`: uprobes, usdt, profile and software events only for this process. */
  pid?: number;
  /** A value the program reads back with bpf_get_attach_cookie (perf-event links). */
  cookie?: bigint;
  /** fentry/fexit: the program's spec, loaded here as BPF_PROG_TYPE_TRACING against the function's BTF id. */
  spec?: ProgramSpec;
  /** Online CPUs (default: /sys/devices/system/cpu/online). */
  cpus?: readonly number[];
}

/** How a probe's program must be loaded: the program type and, for trampolines, the expected attach type. */
export interface ProbeProgramType {
  type: number;
  expectedAttachType?: number;
}

const PROGRAM_TYPES: Readonly<Record<ConcreteProbe['provider'], ProbeProgramType | undefined>> = {
  begin: undefined, end: undefined,
  tracepoint: { type: ProgType.BPF_PROG_TYPE_TRACEPOINT },
  rawtracepoint: { type: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT },
  uprobe: { type: ProgType.BPF_PROG_TYPE_KPROBE }, uretprobe: { type: ProgType.BPF_PROG_TYPE_KPROBE }, usdt: { type: ProgType.BPF_PROG_TYPE_KPROBE },
  kprobe: { type: ProgType.BPF_PROG_TYPE_KPROBE }, kretprobe: { type: ProgType.BPF_PROG_TYPE_KPROBE },
  profile: { type: ProgType.BPF_PROG_TYPE_PERF_EVENT }, interval: { type: ProgType.BPF_PROG_TYPE_PERF_EVENT },
  software: { type: ProgType.BPF_PROG_TYPE_PERF_EVENT }, hardware: { type: ProgType.BPF_PROG_TYPE_PERF_EVENT },
  fentry: { type: ProgType.BPF_PROG_TYPE_TRACING, expectedAttachType: AttachType.BPF_TRACE_FENTRY },
  fexit: { type: ProgType.BPF_PROG_TYPE_TRACING, expectedAttachType: AttachType.BPF_TRACE_FEXIT },
};

/** The program type a probe's program is loaded as; undefined for begin/end (run by the runtime, not attached). */
export function programTypeFor(probe: ConcreteProbe | ConcreteProbe['provider']): ProbeProgramType | undefined {
  return PROGRAM_TYPES[typeof probe === 'string' ? probe : probe.provider];
}

/** Parses a sysfs CPU list (`0-3,5`) into CPU numbers. */
export function parseCpuRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

async function onlineCpus(options: AttachOptions): Promise<readonly number[]> {
  if (options.cpus) return options.cpus;
  try {
    const fs = await import('node:fs/promises');
    return parseCpuRanges(await fs.readFile('/sys/devices/system/cpu/online', 'utf8'));
  } catch {
    return [0];
  }
}

function errnoOf(e: unknown): number | undefined {
  return e instanceof SyscallError ? e.errno : undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    const fs = await import('node:fs/promises');
    return await fs.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The active lockdown mode (`integrity`, `confidentiality`) or undefined. */
export async function lockdownMode(): Promise<string | undefined> {
  const text = await readText('/sys/kernel/security/lockdown');
  const m = text && /\[(\w+)\]/.exec(text);
  return m && m[1] !== 'none' ? m[1] : undefined;
}

const NS_PER: Readonly<Record<string, bigint>> = { s: 1_000_000_000n, ms: 1_000_000n, us: 1000n };

/** Opens one perf event per target (CPU, or the pid on each CPU) and links the program to all of them. */
function attachPerf(kernel: Kernel, program: { fd: number }, attr: { type: number; config: bigint; samplePeriod: bigint; flags?: bigint }, targets: readonly { pid: number; cpu: number }[], label: string, cookie?: bigint): KernelLink {
  const fds: number[] = [];
  try {
    for (const t of targets) fds.push(openPerfEvent(kernel.sys, attr, t.pid, t.cpu, label));
  } catch (e) {
    for (const fd of fds) kernel.sys.close(fd);
    throw e;
  }
  return attachToPerfEvents(kernel.sys, program, fds, label, cookie);
}

async function attachUnchecked(kernel: Kernel, program: { fd: number }, probe: ConcreteProbe, options: AttachOptions): Promise<KernelLink> {
  const sys = kernel.sys;
  switch (probe.provider) {
    case 'begin': case 'end':
      throw new ProbeError('E_PROBE_SPEC', `${probe.provider} probes are run by the runtime, not attached`);
    case 'tracepoint':
      return probe.id > 0 ? attachTracepointById(sys, program, probe.id, `tracepoint/${probe.category}/${probe.event}`) : attachTracepoint(sys, program, probe.category, probe.event);
    case 'rawtracepoint':
      return attachRawTracepoint(sys, program, probe.event);
    case 'uprobe': case 'uretprobe': {
      try {
        await pmuType('uprobe');
      } catch (cause) {
        throw new ProbeError('E_PROBE_NO_UPROBES', 'uprobes are not available: this kernel has no uprobe pmu (built without CONFIG_UPROBE_EVENTS)', { cause });
      }
      const label = `${probe.provider}/${probe.path}:${probe.symbol}${probe.funcOffset ? `+${probe.funcOffset}` : ''}`;
      const fd = await openUprobeEvent(sys, probe.path, probe.offset, { retprobe: probe.provider === 'uretprobe', pid: options.pid }, label);
      return attachToPerfEvents(sys, program, [fd], label, options.cookie);
    }
    case 'usdt':
      return attachUsdt(sys, program, probe.path, probe.usdtProvider, probe.probe, { pid: options.pid });
    case 'profile': case 'interval': {
      const hz = probe.unit === 'hz';
      const attr = {
        type: PerfType.PERF_TYPE_SOFTWARE, config: 0n /* PERF_COUNT_SW_CPU_CLOCK */,
        samplePeriod: hz ? BigInt(probe.rate) : BigInt(probe.rate) * (NS_PER[probe.unit] ?? 1n), flags: hz ? PerfFlag.freq : 0n,
      };
      const cpus = await onlineCpus(options);
      // interval fires on one CPU; profile samples every CPU (following -p's process when given).
      const targets = probe.provider === 'interval' ? [{ pid: -1, cpu: cpus[0] ?? 0 }] : cpus.map((cpu) => ({ pid: options.pid ?? -1, cpu }));
      return attachPerf(kernel, program, attr, targets, probe.name, options.cookie);
    }
    case 'software': case 'hardware': {
      const attr = { type: probe.provider === 'software' ? PerfType.PERF_TYPE_SOFTWARE : PerfType.PERF_TYPE_HARDWARE, config: BigInt(probe.config), samplePeriod: BigInt(probe.count) };
      const cpus = await onlineCpus(options);
      return attachPerf(kernel, program, attr, cpus.map((cpu) => ({ pid: options.pid ?? -1, cpu })), probe.name, options.cookie);
    }
    case 'kprobe': case 'kretprobe':
      return attachKprobe(sys, program, probe.func, { retprobe: probe.provider === 'kretprobe', offset: probe.offset, cookie: options.cookie });
    case 'fentry': case 'fexit': {
      if (!options.spec) throw new ProbeError('E_PROBE_SPEC', `${probe.provider} needs the program's spec: it is loaded against the function's btf id`);
      const { link, program: loaded } = await attachFentry(kernel, options.spec, probe.provider, probe.func);
      return new OwningLink(kernel, link, loaded);
    }
  }
}

/** A trampoline link that also closes the program it loaded. */
class OwningLink extends KernelLink {
  private readonly program: KernelProgram;

  constructor(kernel: Kernel, link: KernelLink, program: KernelProgram) {
    super(kernel.sys, link.target, [link.fd]);
    this.program = program;
  }

  override close(): void {
    try {
      super.close();
    } finally {
      this.program.close();
    }
  }
}

/** Turns a kernel failure into the cause a user can act on, probing the machine for it. */
async function explain(probe: ConcreteProbe, e: unknown): Promise<unknown> {
  const errno = errnoOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  switch (probe.provider) {
    case 'kprobe': case 'kretprobe': {
      const pmu = await readText('/sys/bus/event_source/devices/kprobe/type');
      if (pmu === undefined || (e instanceof UnsupportedError && /kprobe pmu/.test(msg))) {
        return new ProbeError('E_PROBE_KPROBES', `kprobes are not available: this kernel has no kprobe pmu (built without CONFIG_KPROBES or CONFIG_KPROBE_EVENTS), so ${probe.name} cannot attach`, {
          cause: e, hint: 'use a tracepoint, a rawtracepoint, or fentry/fexit where the kernel allows them',
        });
      }
      if (errno === 2 /* ENOENT */ || errno === 22 /* EINVAL */) return new ProbeError('E_PROBE_NOT_FOUND', `kernel function ${probe.func} cannot be probed (${msg})`, { cause: e });
      return e;
    }
    case 'fentry': case 'fexit': {
      const lock = await lockdownMode();
      if (errno === 1 /* EPERM */ || (e instanceof UnsupportedError && /attach:f(entry|exit)/.test(msg))) {
        return new ProbeError('E_PROBE_LOCKDOWN', `${probe.provider} is refused by this kernel: loading a tracing program fails with EPERM${lock ? ` (lockdown=${lock})` : ''}`, {
          cause: e, hint: 'use a tracepoint or a rawtracepoint instead',
        });
      }
      return e;
    }
    case 'hardware':
      if (errno === 2 || errno === 19 /* ENODEV */ || errno === 95 /* EOPNOTSUPP */) {
        return new ProbeError('E_PROBE_NO_PMU', `hardware events need a cpu pmu and this machine has none (perf_event_open: ${errnoName(errno)}), so ${probe.name} cannot attach`, {
          cause: e, hint: 'use a software event such as software:cpu-clock or profile:hz:99',
        });
      }
      return e;
    case 'uprobe': case 'uretprobe': case 'usdt':
      if (errno === 2) return new ProbeError('E_PROBE_BINARY', `${probe.name}: the target file is gone (${msg})`, { cause: e });
      return e;
    case 'tracepoint':
      if (errno === 2) return new ProbeError('E_PROBE_NOT_FOUND', `Tracepoint not found: ${probe.category}:${probe.event}`, { cause: e });
      return e;
    case 'rawtracepoint':
      if (errno === 2) return new ProbeError('E_PROBE_NOT_FOUND', `No matches for rawtracepoint ${probe.module}:${probe.event}.`, { cause: e });
      return e;
    default:
      return e;
  }
}

function errnoName(errno: number | undefined): string {
  return errno === 2 ? 'ENOENT' : errno === 19 ? 'ENODEV' : errno === 95 ? 'EOPNOTSUPP' : `errno ${errno}`;
}

/**
 * Attaches `program` (loaded with the type {@link programTypeFor} names) to `probe`.
 * tracepoint, rawtracepoint, uprobe/uretprobe (with `pid`), usdt, profile (every online CPU),
 * interval (one CPU), software and hardware events, kprobes and fentry/fexit through
 * src/kernel's links. Failures the machine causes become ProbeErrors naming it:
 * `E_PROBE_KPROBES` (no kprobe support), `E_PROBE_LOCKDOWN` (fentry/fexit refused),
 * `E_PROBE_NO_PMU` (hardware events without a PMU), `E_PROBE_NOT_FOUND`, `E_PROBE_BINARY`.
 */
export async function attachProbe(kernel: Kernel, program: { fd: number }, probe: ConcreteProbe, options: AttachOptions = {}): Promise<KernelLink> {
  try {
    if (probe.provider === 'fentry' || probe.provider === 'fexit') kernel.requireFeature(`attach:${probe.provider}`);
    return await attachUnchecked(kernel, program, probe, options);
  } catch (e) {
    const why = await explain(probe, e);
    if (why instanceof BpfkitError || why instanceof Error) throw why;
    throw new ProbeError('E_PROBE_ATTACH', `attach ${probe.name}: ${String(why)}`);
  }
}
