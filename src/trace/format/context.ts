/** What formatting needs from the outside world, injected so this layer stays free of Node APIs. */

/** A resolved symbol: its name, its start address, and the module it came from. */
export interface ResolvedSymbol {
  name: string;
  /** The symbol's start address (so `addr - start` is the offset printed by `+off` forms). */
  start: bigint;
  /** A kernel module name (`[ext4]`) or a user binary's path, when known. */
  module?: string;
}

/**
 * Looks addresses up in symbol tables. The Node implementation (`src/trace/probes`) reads
 * /proc/kallsyms and the ELF symtabs of a process's mappings; tests pass a table.
 */
export interface Symbolizer {
  /** The kernel symbol containing `addr`, or undefined. */
  kernel(addr: bigint): ResolvedSymbol | undefined;
  /** The user symbol containing `addr` in process `pid`, or undefined (process gone, stripped binary). */
  user(addr: bigint, pid: number): ResolvedSymbol | undefined;
}

/** Everything printing may consult; every field has a deterministic default. */
export interface FormatContext {
  /** Symbol lookup for ksym/usym/kstack/ustack; without one, addresses print as hex. */
  symbolizer?: Symbolizer;
  /**
   * Wall-clock nanoseconds since the epoch at boot (CLOCK_REALTIME − CLOCK_BOOTTIME), for
   * `strftime` of boot-relative times. Default 0 (times print as since the epoch).
   */
  bootTimeNs?: bigint;
  /** Minutes east of UTC for local times (`strftime`, `time()`); default 0 (UTC). */
  utcOffsetMinutes?: number;
  /** Enumerator names by enum name then value, for ints typed with an `enumName` (from BTF or the script). */
  enums?: ReadonlyMap<string, ReadonlyMap<bigint, string>>;
}
