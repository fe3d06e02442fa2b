/** Symbolic values: `ksym`/`usym` text, and `kstack`/`ustack` laid out in bpftrace's three modes. */

import type { FormatContext, ResolvedSymbol } from './context.js';
import type { StackMode } from './value.js';

/** An address as bpftrace's unresolved form (`reinterpret_cast<void *>` through iostream): `0x1f`, and `0` for null. */
export function addressText(addr: bigint): string {
  const a = BigInt.asUintN(64, addr);
  return a === 0n ? '0' : `0x${a.toString(16)}`;
}

function symbolText(s: ResolvedSymbol, addr: bigint, showOffset: boolean): string {
  return showOffset ? `${s.name}+${BigInt.asUintN(64, addr) - s.start}` : s.name;
}

/** `ksym(addr)`: the kernel symbol's name, or the address (`0xffff…`) when none contains it. */
export function formatKsym(addr: bigint, ctx: FormatContext = {}): string {
  const s = ctx.symbolizer?.kernel(BigInt.asUintN(64, addr));
  return s ? s.name : addressText(addr);
}

/** `usym(addr)`: the user symbol's name in process `pid`, or the address. */
export function formatUsym(addr: bigint, pid: number, ctx: FormatContext = {}): string {
  const s = ctx.symbolizer?.user(BigInt.asUintN(64, addr), pid);
  return s ? s.name : addressText(addr);
}

const UNWIND_FAILURE = 0xffffffffffffffffn;

/**
 * A stack as bpftrace prints it (`BPFtrace::get_stack`): a leading newline, then per frame
 * `bpftrace` mode: 8 spaces and `sym+off`; `perf` mode: a tab, the hex address, and
 * `sym+off` (user frames add ` (module)` or ` ([unknown])`); `raw` mode: the hex address.
 * Each frame ends with a newline; an all-ones address ends the stack with `<unwind failure>`.
 */
export function formatStack(addrs: readonly bigint[], user: boolean, pid: number, mode: StackMode, ctx: FormatContext = {}): string {
  let out = '\n';
  const indent = ' '.repeat(8);
  for (const raw of addrs) {
    const addr = BigInt.asUintN(64, raw);
    if (addr === UNWIND_FAILURE) {
      out += `${indent}<unwind failure>\n`;
      break;
    }
    if (mode === 'raw') {
      out += `${addr.toString(16)}\n`;
      continue;
    }
    const s = user ? ctx.symbolizer?.user(addr, pid) : ctx.symbolizer?.kernel(addr);
    const perf = mode === 'perf';
    let text = s ? symbolText(s, addr, true) : addressText(addr);
    if (perf && user) text += s?.module !== undefined ? ` (${s.module})` : ' ([unknown])';
    out += perf ? `\t${addr.toString(16)} ${text}\n` : `${indent}${text}\n`;
  }
  return out;
}
