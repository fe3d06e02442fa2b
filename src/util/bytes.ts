/** Byte helpers shared by every layer: hex text, concatenation, comparisons. */

import { ParseError } from './errors.js';

/**
 * Parses hex bytes: whitespace, commas and colons may separate bytes, and each group may carry a
 * `0x` prefix (`0x1` is one byte). A group of an odd number of digits without the prefix is an
 * error (`1` or `abc` could mean more than one thing), as is any other character. Throws a
 * ParseError `E_HEX` whose position is the 1-based column of the offending group or character.
 */
export function fromHex(text: string): Uint8Array {
  const out: number[] = [];
  const group = /[^\s,:]+/g;
  for (let m = group.exec(text); m !== null; m = group.exec(text)) {
    const prefixed = /^0x/i.test(m[0]);
    const digits = prefixed ? m[0].slice(2) : m[0];
    const start = m.index + (prefixed ? 2 : 0);
    const bad = /[^0-9a-f]/i.exec(digits);
    if (bad) throw new ParseError('E_HEX', `invalid hex digit ${JSON.stringify(bad[0])}`, { position: { column: start + bad.index + 1 } });
    if (digits.length === 0) throw new ParseError('E_HEX', '0x without digits', { position: { column: m.index + 1 } });
    if (digits.length % 2 !== 0 && !(prefixed && digits.length === 1)) {
      throw new ParseError('E_HEX', `odd number of hex digits in ${JSON.stringify(m[0].length > 20 ? `${m[0].slice(0, 20)}...` : m[0])}`, { position: { column: m.index + 1 } });
    }
    for (let i = digits.length % 2 === 1 ? -1 : 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(Math.max(0, i), i + 2), 16));
  }
  return Uint8Array.from(out);
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
