/** `TraceOutput`: the runtime's one place for printing, in bpftrace's text or JSON (`-f json`) form, through an injected writer. */

import type { FormatContext } from './context.js';
import { formatMapJson, formatMapText } from './maps.js';
import type { MapDump, MapPrintOptions } from './maps.js';
import { formatValue, stringifyJson, valueToJson } from './print-value.js';
import type { TraceValue } from './value.js';

/** `-f text` (default) or `-f json`. */
export type OutputMode = 'text' | 'json';

/**
 * Emits everything a bpftrace run prints, mirroring bpftrace's `output::Output` events. In
 * JSON mode every event is one line `{"type": …, "data": …}`; in text mode the plain text.
 */
export class TraceOutput {
  readonly mode: OutputMode;
  readonly ctx: FormatContext;
  private readonly write: (text: string) => void;

  constructor(mode: OutputMode, write: (text: string) => void, ctx: FormatContext = {}) {
    this.mode = mode;
    this.write = write;
    this.ctx = ctx;
  }

  /** A map (at exit, or `print(@m)`). */
  map(dump: MapDump, options: MapPrintOptions = {}): void {
    this.write(this.mode === 'json' ? `${formatMapJson(dump, options, this.ctx)}\n` : formatMapText(dump, options, this.ctx));
  }

  /** `print(value)` of a non-map value. */
  value(value: TraceValue): void {
    this.write(this.mode === 'json' ? `${event('value', valueToJson(value, this.ctx))}\n` : `${formatValue(value, this.ctx)}\n`);
  }

  /** The text of a `printf` (already formatted; text mode writes it as is). */
  printf(text: string): void {
    this.write(this.mode === 'json' ? `${event('printf', text)}\n` : text);
  }

  /** `time()` output. */
  time(text: string): void {
    this.write(this.mode === 'json' ? `${event('time', text)}\n` : text);
  }

  /** `cat()` output. */
  cat(text: string): void {
    this.write(this.mode === 'json' ? `${event('cat', text)}\n` : text);
  }

  /** `join()` output (one line). */
  join(text: string): void {
    this.write(this.mode === 'json' ? `${event('join', text)}\n` : `${text}\n`);
  }

  /** `system()` output. */
  syscall(text: string): void {
    this.write(this.mode === 'json' ? `${event('syscall', text)}\n` : text);
  }

  /** `Attached N probes` (text goes to the same stream; JSON `attached_probes`). */
  attachedProbes(n: number): void {
    this.write(this.mode === 'json' ? `${event('attached_probes', { probes: n })}\n` : `Attached ${n} probe${n === 1 ? '' : 's'}\n`);
  }

  /** Events lost in the ring/perf buffer. */
  lostEvents(n: number | bigint): void {
    this.write(this.mode === 'json' ? `${event('lost_events', { events: BigInt(n) })}\n` : `Lost ${n} events\n`);
  }
}

function event(type: string, data: Parameters<typeof stringifyJson>[0]): string {
  return stringifyJson({ type, data });
}
