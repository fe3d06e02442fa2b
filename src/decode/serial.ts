/** Serial-line link layers as tcpdump prints them: PPP (DLT_PPP), PPP in HDLC framing (DLT_PPP_SERIAL), Cisco HDLC with SLARP. */

import { ethertypeName } from './ethertypes.js';
import { printIp } from './ip.js';
import { printIp6 } from './ip6.js';
import { printMpls } from './mpls.js';
import { printIsis } from './isis.js';
import { Truncated, type Printer } from './printer.js';

/** tcpdump's ppptype2str table. */
const PPP_TYPES = new Map<number, string>([
  [0x21, 'IP'], [0x23, 'OSI'], [0x25, 'NS'], [0x27, 'DECNET'], [0x29, 'APPLE'], [0x2b, 'IPX'], [0x2d, 'VJC IP'],
  [0x2f, 'VJNC IP'], [0x31, 'BRPDU'], [0x33, 'STII'], [0x35, 'VINES'], [0x281, 'MPLS'], [0x283, 'MPLS'],
  [0xfd, 'Compressed'], [0x3d, 'MLPPP'], [0x57, 'IP6'], [0x201, 'HELLO'], [0x231, 'LUXCOM'], [0x233, 'SNS'],
  [0x8021, 'IPCP'], [0x8023, 'OSICP'], [0x8025, 'NSCP'], [0x8027, 'DECNETCP'], [0x8029, 'APPLECP'], [0x802b, 'IPXCP'],
  [0x8033, 'STIICP'], [0x8035, 'VINESCP'], [0x8057, 'IP6CP'], [0x8281, 'MPLSCP'], [0xc021, 'LCP'], [0xc023, 'PAP'],
  [0xc025, 'LQM'], [0xc223, 'CHAP'], [0xc227, 'EAP'], [0xc027, 'SPAP'], [0xc123, 'Old-SPAP'], [0xc02b, 'BACP'],
  [0xc02d, 'BAP'], [0x803d, 'MLPPP-CP'], [0x80fd, 'CCP'],
]);

type Payload = (p: Printer, off: number, length: number) => void;

/** PPP protocol numbers whose payload we decode (tcpdump's handle_ppp, the subset we print completely). */
const PPP_PAYLOADS = new Map<number, Payload>([
  [0x21, printIp], [0x2f, printIp], [0x0800, printIp],
  [0x57, printIp6], [0x86dd, printIp6],
  [0x281, printMpls], [0x283, printMpls],
]);

/** Cisco HDLC types we decode (chdlc_print). */
const CHDLC_PAYLOADS = new Map<number, Payload>([
  [0x0800, printIp], [0x86dd, printIp6], [0x8035, printSlarp], [0x8847, printMpls], [0x8848, printMpls],
]);

const CHDLC_CAST: Record<number, string> = { 0x0f: 'unicast', 0x8f: 'bcast' };

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** The payload of PPP protocol `proto` (handle_ppp). */
function handlePpp(p: Printer, proto: number, off: number, length: number): void {
  const f = PPP_PAYLOADS.get(proto);
  if (f) {
    f(p, off, length);
    return;
  }
  // Control protocols (LCP, IPCP, PAP, CHAP...), HDLC escapes and others: tcpdump decodes them, we do not.
  p.complete = false;
  if (proto === 0xfd) p.print('compressed PPP data');
  else if ((proto & 0xff00) !== 0x7e00) p.print(`${PPP_TYPES.get(proto) ?? `unknown PPP protocol (0x${hex4(proto)})`} `);
}

/** PPP from the address/control field on (ppp_print). */
export function printPpp(p: Printer, off: number, length: number): void {
  p.protocol = 'ppp';
  const origLength = length;
  if (length < 2) throw new Truncated('ppp');
  const header = p.u16(off);
  const direction = header === 0x0003 ? 'In  ' : header === 0x0103 ? 'Out ' : header === 0xff03 ? '' : undefined;
  if (direction !== undefined) {
    if (p.options.linkHeader) p.print(direction);
    off += 2;
    length -= 2;
  }
  if (length < 2) throw new Truncated('ppp');
  let proto: number;
  if (p.u8(off) & 1) {
    // Protocol-field compression: a one-byte protocol number.
    proto = p.u8(off);
    off++;
    length--;
  } else {
    proto = p.u16(off);
    off += 2;
    length -= 2;
  }
  p.layer('ppp', { type: proto });
  if (p.options.linkHeader) {
    const name = PPP_TYPES.get(proto);
    p.print(`${name ?? 'unknown'} (0x${hex4(proto)}), length ${origLength}`);
    if (!name) {
      p.complete = false;
      return;
    }
    p.print(': ');
  }
  handlePpp(p, proto, off, length);
}

/** DLT_PPP: a 4-byte header at least, then {@link printPpp}. */
export function printPppLink(p: Printer, length: number): void {
  p.protocol = 'ppp';
  if (p.end < 4) {
    p.print(' [|ppp]');
    return;
  }
  p.linkHeaderLength = 4;
  printPpp(p, 0, length);
}

/** DLT_PPP_SERIAL: PPP in HDLC-like framing, or Cisco HDLC (ppp_hdlc_if_print). */
export function printPppSerial(p: Printer, length: number): void {
  p.protocol = 'ppp_hdlc';
  if (p.end < 2) {
    p.print(' [|ppp_hdlc]');
    return;
  }
  const address = p.u8(0);
  if (address === 0x0f || address === 0x8f) {
    printChdlc(p, length);
    return;
  }
  if (p.end < 4) {
    p.print(' [|ppp_hdlc]');
    return;
  }
  if (p.options.linkHeader) p.print(`${hex2(address)} ${hex2(p.u8(1))} ${length} `);
  p.linkHeaderLength = 2;
  if (address !== 0xff) {
    p.print(`unknown addr ${hex2(p.u8(2))}; ctrl ${hex2(p.u8(3))}`);
    return;
  }
  p.linkHeaderLength = 4;
  const proto = p.u16(2);
  p.layer('ppp', { type: proto });
  p.print(`${PPP_TYPES.get(proto) ?? `unknown PPP protocol (0x${hex4(proto)})`}: `);
  handlePpp(p, proto, 4, length - 4);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** DLT_C_HDLC: Cisco HDLC (chdlc_print). */
export function printChdlc(p: Printer, length: number): void {
  p.protocol = 'chdlc';
  if (length < 4) {
    p.print(' [|chdlc]');
    p.linkHeaderLength = Math.min(p.end, 4);
    return;
  }
  const proto = p.u16(2);
  const cast = p.u8(0);
  p.linkHeaderLength = 4;
  p.layer('chdlc', { address: cast, type: proto });
  if (p.options.linkHeader) {
    p.print(`${CHDLC_CAST[cast] ?? `0x${hex2(cast)}`}, ethertype ${ethertypeName(proto)} (0x${hex4(proto)}), length ${length}: `);
  }
  const f = CHDLC_PAYLOADS.get(proto);
  if (f) f(p, 4, length - 4);
  else if (proto === 0xfefe) {
    // OSI, maybe after a padding byte (tcpdump spots the NLPID in either place): IS-IS decoded, ES-IS/CLNP not.
    const at = p.has(5, 1) && p.u8(5) >= 0x81 && p.u8(5) <= 0x83 ? 5 : 4;
    if (p.has(at, 1) && p.u8(at) === 0x83) printIsis(p, at, length - at);
    else p.complete = false;
  }
  else if (!p.options.linkHeader) p.print(`unknown CHDLC protocol (0x${hex4(proto)})`);
}

/** Cisco SLARP: request, reply with address/mask, or keepalive with the optional uptime. */
function printSlarp(p: Printer, off: number, length: number): void {
  p.protocol = 'chdlc_slarp';
  p.print(`SLARP (length: ${length}), `);
  if (length < 14) {
    p.print(' [|chdlc_slarp]');
    return;
  }
  p.need(off, 14);
  const code = p.u32(off);
  p.layer('slarp', { code });
  if (code === 0) p.print('request');
  else if (code === 1) p.print(`reply ${p.ipaddr(off + 4)}/${p.ipaddr(off + 8)}`);
  else if (code === 2) {
    p.print(`keepalive: mineseen=0x${p.u32(off + 4).toString(16).padStart(8, '0')}, yourseen=0x${p.u32(off + 8).toString(16).padStart(8, '0')}, reliability=0x${hex4(p.u16(off + 12))}`);
    if (length >= 18) {
      let sec = Math.floor(p.u32(off + 14) / 1000);
      let min = Math.floor(sec / 60);
      sec -= min * 60;
      let hrs = Math.floor(min / 60);
      min -= hrs * 60;
      const days = Math.floor(hrs / 24);
      hrs -= days * 24;
      p.print(`, link uptime=${days}d${hrs}h${min}m${sec}s`);
    }
  } else {
    // Unknown codes get a hex dump of the rest in tcpdump.
    p.print(`0x${hex2(code)} unknown`);
    p.complete = false;
    return;
  }
  if (length > 18 && p.options.verbose) p.print(`, (trailing junk: ${length - 18} bytes)`);
  if (p.options.verbose > 1) p.complete = false;
}
