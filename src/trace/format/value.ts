/** The values formatters print: the language's decoded `Value` from `../types.ts`, under the name this layer uses. */

import type { TraceType, Value } from '../types.js';

export type { AggValue, StackMode, TraceType, TimestampMode, Value } from '../types.js';

/** A decoded value of the language (`decodeValue` of `../types.ts` makes them). */
export type TraceValue = Value;

/** An int value of a type (default signed 64-bit). */
export function intValue(value: bigint | number, signed = true, bits: 8 | 16 | 32 | 64 = 64): TraceValue {
  const type: TraceType = { kind: 'int', bits, signed };
  return { kind: 'int', value: BigInt(value), type };
}

/** A string value. */
export function stringValue(value: string): TraceValue {
  return { kind: 'string', value };
}
