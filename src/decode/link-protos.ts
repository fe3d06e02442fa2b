/** Link-level control protocols tcpdump names in one line without -v: LLDP, the slow protocols (LACP, Marker), EAPOL. */

import type { Printer } from './printer.js';

const SLOW_SUBTYPES: Record<number, string> = { 1: 'LACP', 2: 'MARKER' };

/** `n` bytes as text with unprintable bytes escaped, NULs included (tcpdump's nd_printjn). */
function printableBytes(p: Printer, off: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    let c = p.u8(off + i);
    if (c > 0x7f) {
      s += 'M-';
      c &= 0x7f;
    }
    s += c < 0x20 || c === 0x7f ? `^${String.fromCharCode(c ^ 0x40)}` : String.fromCharCode(c);
  }
  return s;
}

/** LLDP (ethertype 0x88cc): `LLDP, length N`; -v lists the TLVs, which we do not. */
export function printLldp(p: Printer, off: number, length: number): void {
  p.protocol = 'lldp';
  p.print(`LLDP, length ${length}`);
  if (p.options.verbose) {
    p.complete = false;
    return;
  }
  // Without -v tcpdump adds the System Name TLV's text: walk the TLVs (each step moves forward).
  let o = off;
  let left = length;
  while (left >= 2) {
    if (!p.has(o, 2)) {
      p.complete = false;
      return;
    }
    const head = p.u16(o);
    const type = head >> 9;
    const len = head & 0x1ff;
    if (type === 0) return;
    if (len > left - 2 || !p.has(o + 2, len)) {
      p.complete = false;
      return;
    }
    if (type === 5) p.print(`: ${printableBytes(p, o + 2, len)}`);
    o += 2 + len;
    left -= 2 + len;
  }
}

/** Slow protocols (ethertype 0x8809): LACP and Marker name their version and length; OAM and OSSP are not decoded. */
export function printSlow(p: Printer, off: number, length: number): void {
  p.protocol = 'slow';
  const subtype = p.u8(off);
  const name = SLOW_SUBTYPES[subtype];
  if (name === undefined) {
    p.print(`Slow Protocols subtype ${subtype}, length ${length}`);
    p.complete = false;
    return;
  }
  p.print(`${name}v${p.u8(off + 1)}, length ${length}`);
  if (p.options.verbose) p.complete = false;
}

const EAPOL_TYPES: Record<number, string> = { 0: 'EAP packet', 1: 'EAPOL start', 2: 'EAPOL logoff', 3: 'EAPOL key', 4: 'EAPOL Encapsulated ASF alert' };

/** 802.1X EAPOL (ethertype 0x888e): the frame type, version and body length; -v decodes the body. */
export function printEapol(p: Printer, off: number): void {
  p.protocol = 'eap';
  const version = p.u8(off);
  const type = p.u8(off + 1);
  p.print(`${EAPOL_TYPES[type] ?? 'unknown'} (${type}) v${version}, len ${p.u16(off + 2)}`);
  if (!p.options.verbose) return;
  // -v: an EAP packet's code, id and length (the method's details follow on lines not decoded here).
  p.complete = false;
  if (type === 0) {
    const code = p.u8(off + 4);
    p.print(`, ${EAP_CODES[code] ?? 'unknown'} (${code}), id ${p.u8(off + 5)}, len ${p.u16(off + 6)}`);
  }
}

/** tcpdump's eap_code_values. */
const EAP_CODES: Record<number, string> = { 1: 'Request', 2: 'Response', 3: 'Success', 4: 'Failure' };
