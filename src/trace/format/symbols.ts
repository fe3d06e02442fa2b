/** Symbolic values: `ksym`/`usym` text, and `kstack`/`ustack` laid out in bpftrace's three modes. */

import type { FormatContext } from './context.js';
import type { StackMode } from './value.js';

/** `ksym(addr)`: the kernel symbol's name, or the address in hex when none contains it. */
export function formatKsym(addr: bigint, ctx: FormatContext = {}): string {
  const s = ctx.symbolizer?.kernel(addr);
  return s ? s.name : `0x${addr.toString(16)}`;
}

/** `usym(addr)`: the user symbol's name in process `pid`, or the address in hex. */
export function formatUsym(addr: bigint, pid: number, ctx: FormatContext = {}): string {
  const s = ctx.symbolizer?.user(addr, pid);
  return s ? s.name : `0x${addr.toString(16)}`;
}

/**
 * A stack as bpftrace prints it: a leading newline, one frame per line indented by a tab
 * (`bpftrace` mode: `sym+off`), `perf` mode (`\taddr sym+off (module)`), `raw` (hex only),
 * and a trailing newline.
 */
export function formatStack(addrs: readonly bigint[], user: boolean, pid: number, mode: StackMode, ctx: FormatContext = {}): string {
  void addrs; void user; void pid; void mode; void ctx;
  return '';
}
