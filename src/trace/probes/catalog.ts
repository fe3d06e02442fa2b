/** The probe catalog: wildcard expansion of probe specs into concrete probes, and `-l`/`-lv` listings in bpftrace's format. */

import type { ArgInfo } from './btf-types.js';
import type { ProbeProvider, ProbeSpec } from './spec.js';
import type { TracepointField } from './tracefs.js';

/**
 * One attachable probe, fully resolved: what the attach step and codegen need. `name` is
 * the canonical text (`tracepoint:syscalls:sys_enter_read`) that the `probe` builtin prints.
 */
export type ConcreteProbe =
  | { provider: 'begin' | 'end'; name: string }
  | { provider: 'tracepoint'; name: string; category: string; event: string; fields?: TracepointField[] }
  | { provider: 'rawtracepoint'; name: string; event: string; args?: ArgInfo[] }
  | { provider: 'uprobe' | 'uretprobe'; name: string; path: string; symbol?: string; offset: number; address?: bigint }
  | { provider: 'usdt'; name: string; path: string; provider_: string; probe: string }
  | { provider: 'profile' | 'interval'; name: string; unit: 'hz' | 's' | 'ms' | 'us'; rate: number }
  | { provider: 'software' | 'hardware'; name: string; event: string; count?: number }
  | { provider: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit'; name: string; func: string; module?: string };

/** Where the catalog looks, injectable for tests. */
export interface CatalogOptions {
  /** tracefs directory (default: found, mounted when missing and root). */
  tracefs?: string;
  /** Path of the kernel BTF (default /sys/kernel/btf/vmlinux). */
  btfPath?: string;
  /** `-p PID`: uprobe/usdt library names resolve through this process's maps. */
  pid?: number;
}

/** The providers `bpftrace -l` lists, with the fixed entries of the static ones. */
export const STATIC_LISTINGS: Readonly<Partial<Record<ProbeProvider, readonly string[]>>> = {};

/**
 * Expands a probe spec into every concrete probe it names (one for a spec without wildcards).
 * A spec that matches nothing raises ProbeError `E_PROBE_NOT_FOUND`.
 */
export async function expandProbe(spec: ProbeSpec, options: CatalogOptions = {}): Promise<ConcreteProbe[]> {
  void spec; void options;
  return [];
}

/**
 * `bpftrace -l [PATTERN]` (and `-lv`): the listing lines, sorted as bpftrace prints them;
 * verbose adds each probe's arguments indented below it, and `struct NAME` patterns print
 * the struct's definition.
 */
export async function listProbes(pattern: string | undefined, verbose = false, options: CatalogOptions = {}): Promise<string[]> {
  void pattern; void verbose; void options;
  return [];
}
