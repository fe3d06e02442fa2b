/** Decoded trace-language values: what the runtime reads out of maps and event records, ready to be printed. */

/**
 * One value of the bpftrace language after it left the kernel. Integers keep their width and
 * signedness because `%x`, `%u` and map printing depend on them; strings are already decoded
 * (up to their NUL); everything symbolic (ksym, stacks, addresses) is kept raw so printing can
 * resolve it late through a {@link Symbolizer}.
 */
export type TraceValue =
  | { kind: 'int'; value: bigint; signed: boolean; bits: 8 | 16 | 32 | 64 }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  /** `buf()`: raw bytes, printed with `\xNN` escapes. */
  | { kind: 'buffer'; bytes: Uint8Array }
  | { kind: 'tuple'; elements: TraceValue[] }
  /** A record (named tuple): `(a=1, b="x")`. */
  | { kind: 'record'; fields: { name: string; value: TraceValue }[] }
  /** A C struct or union read through BTF: printed `{ .a = 1, .b = 2 }`. */
  | { kind: 'struct'; fields: { name: string; value: TraceValue }[] }
  /** A C array read through BTF: printed `[1,2,3]`. */
  | { kind: 'array'; elements: TraceValue[] }
  /** A pointer: printed as `0x…` hex. */
  | { kind: 'pointer'; value: bigint }
  /** An enum value: printed as its name when known, else as its number. */
  | { kind: 'enum'; value: bigint; name?: string }
  /** `ksym(addr)`. */
  | { kind: 'ksym'; addr: bigint }
  /** `usym(addr)` in process `pid`. */
  | { kind: 'usym'; addr: bigint; pid: number }
  /** `kaddr("sym")`/`uaddr("sym")` results are plain ints; `kstack`/`ustack` are address lists. */
  | { kind: 'stack'; user: boolean; addrs: bigint[]; pid: number; mode: StackMode }
  /** `ntop()`: an AF_INET (4 bytes) or AF_INET6 (16 bytes) address. */
  | { kind: 'inet'; bytes: Uint8Array }
  /** `macaddr()`: 6 bytes. */
  | { kind: 'macaddr'; bytes: Uint8Array }
  /** `strftime(fmt, nsecs)`: formatted when printed; `nsecs` is since boot unless `realtime`. */
  | { kind: 'timestamp'; format: string; nsecs: bigint; realtime?: boolean }
  /** `cgroup_path()`, `path()`, `username` and other builtins that are text resolved in user space. */
  | { kind: 'text'; value: string }
  /** A statement with no value (`print()` of `none`). */
  | { kind: 'none' };

/** How `kstack`/`ustack` print: bpftrace's `bpftrace` (default), `perf` and `raw` modes. */
export type StackMode = 'bpftrace' | 'perf' | 'raw';

/** An int value: the common case, with 64-bit signed as default. */
export function intValue(value: bigint | number, signed = true, bits: 8 | 16 | 32 | 64 = 64): TraceValue {
  return { kind: 'int', value: BigInt(value), signed, bits };
}

/** A string value. */
export function stringValue(value: string): TraceValue {
  return { kind: 'string', value };
}
