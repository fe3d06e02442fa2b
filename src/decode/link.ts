/** Link-layer decoders by link type (tcpdump's if_printers): Ethernet, Linux cooked v1/v2, NULL/LOOP, raw IP, PPP, Cisco HDLC, 802.11 and radiotap. */

import { printEther } from './ether.js';
import { printEthertype } from './ethertype-dispatch.js';
import { ethertypeName } from './ethertypes.js';
import { printIp } from './ip.js';
import { printIp6 } from './ip6.js';
import type { Printer } from './printer.js';
import { printIeee80211Link, printRadiotap } from './ieee80211.js';
import { printChdlc, printPppLink, printPppSerial } from './serial.js';

/** Maps an interface index to a name (tcpdump uses if_indextoname for LINUX_SLL2). */
export type IfNameResolver = (index: number) => string | undefined;

const SLL_PKTTYPES: Record<number, string> = { 0: 'In', 1: 'B', 2: 'M', 3: 'P', 4: 'Out' };
const BSD_AF: Record<number, string> = { 2: 'IPv4', 10: 'IPv6', 24: 'IPv6', 28: 'IPv6', 30: 'IPv6', 7: 'OSI', 16: 'Appletalk', 23: 'IPX' };

type LinkPrinter = (p: Printer, length: number, ifName: IfNameResolver | undefined) => void;

const printers = new Map<number, LinkPrinter>([
  [1, (p, len) => printEther(p, 0, len)],
  [0, (p, len) => printNull(p, len, 'host')],
  [108, (p, len) => printNull(p, len, 'be')],
  [12, printRaw], [14, printRaw], [101, printRaw],
  [228, printRaw],
  [229, printRaw],
  [113, printSll],
  [276, printSll2],
  [9, printPppLink],
  [50, printPppSerial],
  [104, printChdlc],
  [105, printIeee80211Link],
  [127, printRadiotap],
]);

/** True when bpfkit decodes this link type. */
export function hasLinkPrinter(linkType: number): boolean {
  return printers.has(linkType);
}

/** Decodes the link layer of `linkType`; false when no decoder exists. */
export function printLink(p: Printer, linkType: number, length: number, ifName?: IfNameResolver): boolean {
  const f = printers.get(linkType);
  if (!f) return false;
  f(p, length, ifName);
  return true;
}

function printRaw(p: Printer, length: number): void {
  p.protocol = 'raw';
  const v = p.u8(0) >> 4;
  if (p.options.linkHeader) p.print('ip: ');
  if (v === 4) printIp(p, 0, length);
  else if (v === 6) printIp6(p, 0, length);
  else p.print(`unknown ip ${v}`);
}

function printNull(p: Printer, length: number, order: 'host' | 'be'): void {
  p.protocol = order === 'host' ? 'null' : 'loop';
  if (p.end < 4) {
    p.print(` [|${p.protocol}]`);
    return;
  }
  let family = order === 'be' ? p.u32(0) : p.u32le(0);
  // DLT_NULL is in the capturing host's byte order; a value with only high bits set was big-endian.
  if (order === 'host' && (family & 0xffff0000) !== 0 && (family & 0xffff) === 0) family = p.u32(0);
  p.layer(p.protocol, { family });
  p.linkHeaderLength = 4;
  if (p.options.linkHeader) p.print(`AF ${BSD_AF[family] ?? 'Unknown'} (${family}), length ${length}: `);
  length -= 4;
  p.end = Math.max(p.end, 0);
  if (family === 2) printIp(p, 4, length);
  else if (family === 10 || family === 24 || family === 28 || family === 30) printIp6(p, 4, length);
  else {
    p.complete = false;
    if (!p.options.linkHeader) p.print(`AF ${BSD_AF[family] ?? 'Unknown'} (${family}), length ${length + 4}: `);
  }
}

function printSll(p: Printer, length: number): void {
  p.protocol = 'sll';
  p.need(0, 16);
  const pkttype = p.u16(0);
  const hatype = p.u16(2);
  const halen = p.u16(4);
  const proto = p.u16(14);
  p.layer('sll', { packetType: pkttype, hatype, type: proto });
  p.linkHeaderLength = 16;
  if (p.options.linkHeader) {
    p.print(`${(SLL_PKTTYPES[pkttype] ?? '?').padStart(3)} `);
    if (halen === 6) p.print(`${p.mac(6)} `);
    if (proto > 1500) p.print(`ethertype ${ethertypeName(proto)} (0x${proto.toString(16).padStart(4, '0')}), length ${length}: `);
  }
  dispatchCooked(p, proto, hatype, 16, length - 16);
}

function printSll2(p: Printer, length: number, ifName: IfNameResolver | undefined): void {
  p.protocol = 'sll2';
  p.need(0, 20);
  const proto = p.u16(0);
  const ifindex = p.u32(4);
  const hatype = p.u16(8);
  const pkttype = p.u8(10);
  const halen = p.u8(11);
  p.layer('sll2', { ifindex, packetType: pkttype, hatype, type: proto });
  p.linkHeaderLength = 20;
  p.print(`${(ifName?.(ifindex) ?? '?').padEnd(5)} `);
  p.print(`${(SLL_PKTTYPES[pkttype] ?? '?').padEnd(3)} `);
  if (p.options.linkHeader) {
    p.print(`ifindex ${ifindex} `);
    if (halen === 6) p.print(`${p.mac(12)} `);
    if (proto > 1500) p.print(`ethertype ${ethertypeName(proto)} (0x${proto.toString(16).padStart(4, '0')}), length ${length}: `);
  }
  dispatchCooked(p, proto, hatype, 20, length - 20);
}

function dispatchCooked(p: Printer, proto: number, hatype: number, off: number, length: number): void {
  if (hatype === 803 || proto <= 1500) {
    p.complete = false;
    return;
  }
  if (!printEthertype(p, proto, off, length)) {
    p.complete = false;
    if (!p.options.linkHeader) p.print(`ethertype ${ethertypeName(proto)} (0x${proto.toString(16).padStart(4, '0')}), length ${length + off}: `);
  }
}
