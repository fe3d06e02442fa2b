/** One value as bpftrace's text and JSON outputs show it (`print($x)`, map keys and values, printf `%s` of non-strings). */

import type { FormatContext } from './context.js';
import type { TraceValue } from './value.js';

/** A JSON value as bpftrace's JSON output emits it (64-bit ints stay exact as bigint). */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A value in bpftrace's text form: ints in decimal, strings unquoted, tuples `(1, abc)`,
 * records and structs `{ .a = 1 }`, arrays `[1,2]`, buffers with `\xNN` escapes, symbols
 * resolved through the context's symbolizer.
 */
export function formatValue(value: TraceValue, ctx: FormatContext = {}): string {
  void ctx;
  return value.kind === 'int' ? value.value.toString() : '';
}

/** A value as bpftrace's JSON output holds it (tuples as arrays, records as objects). */
export function valueToJson(value: TraceValue, ctx: FormatContext = {}): JsonValue {
  void ctx;
  return value.kind === 'int' ? value.value : null;
}

/** Serializes a {@link JsonValue} in bpftrace's spacing (`{"a": 1, "b": [1,2]}`), bigints exact. */
export function stringifyJson(value: JsonValue): string {
  void value;
  return '';
}
