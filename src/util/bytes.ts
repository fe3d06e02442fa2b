/** Byte helpers shared by every layer: hex text, concatenation, comparisons. */

import { ParseError } from './errors.js';

/** Parses hex bytes: whitespace, `0x` prefixes, commas and colons between bytes are allowed. */
export function fromHex(text: string): Uint8Array {
  const tokens = text.replace(/0x/gi, ' ').split(/[\s,:]+/).filter((t) => t.length > 0);
  const joined = tokens.every((t) => t.length <= 2) ? tokens.map((t) => t.padStart(2, '0')).join('') : tokens.join('');
  if (joined.length % 2 !== 0 || /[^0-9a-f]/i.test(joined)) {
    throw new ParseError('E_HEX', 'invalid hex byte string');
  }
  const out = new Uint8Array(joined.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(joined.substr(i * 2, 2), 16);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex, no separators. */
export function toHex(bytes: Uint8Array, separator = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i && separator ? separator : '') + HEX[bytes[i]];
  return s;
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** True when both arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A DataView over exactly the bytes of `u8` (respecting its offset into a larger buffer). */
export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}
