/** Routing protocols carried straight over IP (PIM, EIGRP, OSPF): tcpdump's one-line summaries, which are all it prints without -v. */

import type { Printer } from './printer.js';

/** Prints the IP payload of `length` bytes at `off`; false when the text is shorter than tcpdump's. */
export type IpProtoPrinter = (p: Printer, off: number, length: number) => boolean;

const PIM2_TYPES = [
  'Hello', 'Register', 'Register Stop', 'Join / Prune', 'Bootstrap', 'Assert', 'Graft', 'Graft Acknowledgement',
  'Candidate RP Advertisement', 'Prune Refresh', 'DF Election', 'ECMP Redirect',
];
const EIGRP_OPCODES: Record<number, string> = { 1: 'Update', 3: 'Query', 4: 'Reply', 5: 'Hello', 6: 'IPX SAP', 7: 'Probe' };
const OSPF_TYPES: Record<number, string> = { 1: 'Hello', 2: 'Database Description', 3: 'LS-Request', 4: 'LS-Update', 5: 'LS-Ack' };

/** PIM version 2 (RFC 7761) over IPv4 or IPv6; -v details are not decoded. */
function printPim(p: Printer, off: number, length: number): boolean {
  p.protocol = 'pim';
  const tv = p.u8(off);
  const version = tv >> 4;
  if (version !== 2) {
    // PIMv1 rides in IGMP; other versions tcpdump names only.
    p.print(`PIMv${version}, length ${length}`);
    return true;
  }
  if (p.options.verbose) {
    p.print(`PIMv2, length ${length}\n\t${PIM2_TYPES[tv & 0xf] ?? 'Unknown Type'}`);
    return false;
  }
  p.print(`PIMv2, ${PIM2_TYPES[tv & 0xf] ?? 'Unknown Type'}, length ${length}`);
  return true;
}

/** EIGRP: the version-2 summary line. */
function printEigrp(p: Printer, off: number, length: number): boolean {
  p.protocol = 'eigrp';
  const version = p.u8(off);
  if (version !== 2) {
    p.print(`EIGRP version ${version} packet not supported`);
    return true;
  }
  const op = p.u8(off + 1);
  const name = EIGRP_OPCODES[op] ?? `unknown (${op})`;
  if (length < 20) {
    p.print(`EIGRP ${name}, length: ${length} (too short, < 20)`);
    return true;
  }
  p.print(`EIGRP ${name}, length: ${length}`);
  return !p.options.verbose;
}

/** OSPFv2 and OSPFv3: the summary line (version, packet type, length). */
function printOspf(p: Printer, off: number, length: number): boolean {
  p.protocol = 'ospf';
  const version = p.u8(off);
  const type = p.u8(off + 1);
  // OSPFv2 with cryptographic authentication: the digest trailing the packet is not counted.
  if (version === 2 && p.u16(off + 14) === 2) length -= p.u8(off + 19);
  p.print(`OSPFv${version}, ${OSPF_TYPES[type] ?? `unknown packet type (${type})`}, length ${length}`);
  return !p.options.verbose && (version === 2 || version === 3);
}

/** By IP protocol number (IPv4 protocol or IPv6 next header). */
export const IP_PROTO_APPS = new Map<number, IpProtoPrinter>([
  [88, printEigrp],
  [89, printOspf],
  [103, printPim],
]);
