/** Network and byte values: `ntop` (inet_ntop's IPv4/IPv6 text) and `macaddr`. */

function ipv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * An IPv4 (4 bytes) or IPv6 (16 bytes) address as glibc's inet_ntop prints it: the longest run
 * of two or more zero groups as `::`, IPv4-mapped and IPv4-compatible forms with a dotted tail.
 */
export function ntop(bytes: Uint8Array): string {
  if (bytes.length < 16) return ipv4(bytes);
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += ipv4(bytes, 12);
      break;
    }
    out += words[i].toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ':';
  return out;
}

/**
 * A MAC address as `AA:BB:CC:DD:EE:FF` (upper-case hex). bpftrace formats each byte through a
 * signed char, so bytes ≥ 0x80 come out sign-extended there (`FFFFFF80`); we print the byte.
 */
export function macaddr(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');
}
