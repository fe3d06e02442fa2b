/** bpftrace's printf: the format string parsed into conversions (for type checking) and rendered with decoded values. */

import { ParseError } from '../../util/index.js';
import type { FormatContext } from './context.js';
import type { TraceValue } from './value.js';

/** C length modifiers bpftrace accepts (they only matter for how wide `%x`/`%u` read a value). */
export type PrintfLength = '' | 'hh' | 'h' | 'l' | 'll' | 'j' | 'z' | 't';

/** One `%…` conversion of a printf format. */
export interface PrintfConversion {
  /** The conversion's text as written (`%-08.3lld`). */
  text: string;
  /** 0-based offset of the `%` in the format string. */
  offset: number;
  /** Flags among `-+ #0`. */
  flags: string;
  /** Minimum field width, `'*'` is not supported by bpftrace (rejected). */
  width?: number;
  /** Precision after `.` (`%.3s`). */
  precision?: number;
  length: PrintfLength;
  /** The conversion letter: one of `d i u x X o c s p r e f g` etc. */
  conversion: string;
}

/** A format string split into literal text and conversions (`%%` is already literal). */
export type PrintfSegment = { kind: 'literal'; text: string } | { kind: 'conversion'; spec: PrintfConversion };

/** What kind of argument a conversion takes, for semantic analysis. */
export type PrintfArgClass = 'integer' | 'string' | 'pointer' | 'char' | 'buffer' | 'float';

/**
 * Splits a printf format into segments. Throws a ParseError (`E_TRACE_PRINTF`, with the
 * column of the bad conversion) on an unknown or unterminated conversion.
 */
export function parsePrintfFormat(fmt: string): PrintfSegment[] {
  void fmt;
  throw new ParseError('E_TRACE_PRINTF', 'printf formats are not implemented yet');
}

/** The argument class a conversion expects. */
export function printfArgClass(spec: PrintfConversion): PrintfArgClass {
  void spec;
  return 'integer';
}

/**
 * Renders a printf call as bpftrace does: each conversion formats the matching value
 * (ints by their width and signedness, strings, `%r` buffers with `\xNN` escapes, symbolic
 * values as their text). Missing arguments raise a UsageError (`E_TRACE_PRINTF_ARGS`).
 */
export function formatPrintf(fmt: string | readonly PrintfSegment[], args: readonly TraceValue[], ctx: FormatContext = {}): string {
  void fmt; void args; void ctx;
  return '';
}
