/** `TraceOutput`: the runtime's one place for printing, in bpftrace's text or JSON (`-f json`) form, through injected writers. */

import type { FormatContext } from './context.js';
import { formatMapJson, formatMapText } from './maps.js';
import type { MapDump, MapPrintOptions } from './maps.js';
import { formatValue, jsonString, stringifyJson, valueToJson } from './print-value.js';
import type { JsonValue } from './print-value.js';
import type { TraceValue } from './value.js';

/** `-f text` (default) or `-f json`. */
export type OutputMode = 'text' | 'json';

/** Where output goes: `out` is stdout (or `-o FILE`), `err` stderr (bpftrace's messages such as `Attached N probes`). */
export interface OutputSinks {
  out: (text: string) => void;
  err?: (text: string) => void;
}

/** Where an `errorf`/`warnf` call is in the script, for its message. */
export interface SourceLocation {
  filename: string;
  line: number;
  column: number;
  /** bpftrace's `stdin:1:32-75` prefix as the text form shows it. */
  text: string;
}

function emitData(type: string, data: JsonValue, name?: string): string {
  const body = name === undefined ? stringifyJson(data) : stringifyJson(new Map([[name, data]]));
  return `{"type": "${type}", "data": ${body}}\n`;
}

/**
 * Emits everything a bpftrace run prints, mirroring bpftrace's `output::Output` events
 * (`TextOutput`/`JsonOutput`). In JSON mode every event is one line `{"type": …, "data": …}`.
 */
export class TraceOutput {
  readonly mode: OutputMode;
  readonly ctx: FormatContext;
  private readonly out: (text: string) => void;
  private readonly err: (text: string) => void;

  constructor(mode: OutputMode, sinks: OutputSinks, ctx: FormatContext = {}) {
    this.mode = mode;
    this.out = sinks.out;
    this.err = sinks.err ?? sinks.out;
    this.ctx = ctx;
  }

  /** A map (at exit, or `print(@m, top, div)`). */
  map(dump: MapDump, options: MapPrintOptions = {}): void {
    if (this.mode === 'text') {
      this.out(formatMapText(dump, options, this.ctx));
      return;
    }
    const line = formatMapJson(dump, options, this.ctx);
    if (line !== '') this.out(`${line}\n`);
  }

  /** `print(value)` of a non-map value. */
  value(value: TraceValue): void {
    this.out(this.mode === 'json' ? emitData('value', valueToJson(value, this.ctx)) : `${formatValue(value, this.ctx)}\n`);
  }

  /** The text of a `printf` (already formatted; text mode writes it as is). */
  printf(text: string): void {
    this.out(this.mode === 'json' ? emitData('printf', text) : text);
  }

  /**
   * `errorf`/`warnf`: text mode writes `LOCATION: ERROR: msg` (or `WARNING:`) to stderr; JSON
   * mode a `{"type": "errorf", "msg": …, "filename": …, "line": …, "col": …}` line.
   */
  diagnostic(severity: 'error' | 'warning', text: string, where: SourceLocation): void {
    if (this.mode === 'text') {
      this.err(`${where.text}: ${severity === 'error' ? 'ERROR' : 'WARNING'}: ${text}\n`);
      return;
    }
    this.out(`{"type": "${severity === 'error' ? 'errorf' : 'warnf'}", "msg": ${jsonString(text)}, "filename": ${jsonString(where.filename)}, "line": ${where.line}, "col": ${where.column}}\n`);
  }

  /** `time()` output (its format usually ends in a newline). */
  time(text: string): void {
    this.out(this.mode === 'json' ? emitData('time', text) : text);
  }

  /** `cat()` output. */
  cat(text: string): void {
    this.out(this.mode === 'json' ? emitData('cat', text) : text);
  }

  /** `join()` output (text mode adds the newline). */
  join(text: string): void {
    this.out(this.mode === 'json' ? emitData('join', text) : `${text}\n`);
  }

  /** `system()` output (text mode adds a newline). */
  syscall(text: string): void {
    this.out(this.mode === 'json' ? emitData('syscall', text) : `${text}\n`);
  }

  /** The end of the main loop, before maps print at exit: text mode writes two newlines, JSON nothing. */
  end(): void {
    if (this.mode === 'text') this.out('\n\n');
  }

  /** `Attached N probe(s)`: stderr in text mode, a JSON `attached_probes` line otherwise. */
  attachedProbes(n: number): void {
    if (this.mode === 'text') this.err(`Attached ${n} probe${n === 1 ? '' : 's'}\n`);
    else this.out(`{"type": "attached_probes", "count": ${n}, "data": {"probes": ${n}}}\n`);
  }

  /** Events lost in the ring buffer: stderr in text mode, a JSON `lost_events` line otherwise. */
  lostEvents(n: number | bigint): void {
    if (this.mode === 'text') this.err(`Lost ${n} events\n`);
    else this.out(`{"type": "lost_events", "count": ${n}, "data": {"events": ${n}}}\n`);
  }
}
