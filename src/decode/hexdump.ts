/** Hex dumps in tcpdump's -x / -X layout (16 bytes a line, 2-byte groups, optional ASCII column). */

/** Dumps `bytes` as tcpdump's hex_print / hex_and_ascii_print do, one `\n\t0x0000:  ...` line per 16 bytes. */
export function hexDump(bytes: Uint8Array, ascii: boolean): string {
  let out = '';
  for (let off = 0; off < bytes.length; off += 16) {
    const line = bytes.subarray(off, Math.min(off + 16, bytes.length));
    let hex = '';
    for (let i = 0; i < line.length; i += 2) {
      hex += ' ' + line[i].toString(16).padStart(2, '0') + (i + 1 < line.length ? line[i + 1].toString(16).padStart(2, '0') : '');
    }
    out += `\n\t0x${off.toString(16).padStart(4, '0')}: ${hex}`;
    if (ascii) {
      const padTo = 40; // 8 groups of " xxxx"
      let text = '';
      for (const b of line) text += b > 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      out += ' '.repeat(padTo - hex.length) + '  ' + text;
    }
  }
  return out;
}

/**
 * The bytes as text, as tcpdump's ascii_print (-A) does: printable characters, tab, space and
 * newline as they are, a carriage return dropped before a newline or at the end, anything else
 * as `.`; starts on a new line.
 */
export function asciiText(bytes: Uint8Array): string {
  let out = '\n';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0d) {
      if (bytes.length - i - 1 > 1 && bytes[i + 1] !== 0x0a) out += '.';
    } else out += (b > 0x20 && b < 0x7f) || b === 0x09 || b === 0x20 || b === 0x0a ? String.fromCharCode(b) : '.';
  }
  return out;
}
