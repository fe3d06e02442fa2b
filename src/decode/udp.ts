/** UDP, as tcpdump's udp_print prints it, with DNS decoded and other known ports marked as further-decoded. */

import { printDomain } from './dns.js';
import type { Printer } from './printer.js';
import { type IpContext, printEndpoints, transportChecksum } from './tcp.js';
import { shouldBe } from './ip.js';
import { UDP_APPS } from './udp-apps.js';

/** UDP ports tcpdump hands to a protocol printer (print-udp.c); we print only `UDP, length N` for them. */
const DECODED_PORTS = new Set([
  67, 68, 69, 88, 123, 137, 138, 161, 162, 319, 320, 496, 500, 514, 520, 521, 525, 546, 547, 646, 654, 698, 701, 750, 921,
  1645, 1646, 1700, 1701, 1812, 1813, 1985, 2103, 2104, 3503, 3784, 3785, 3799, 4341, 4342, 4500, 4784, 4789, 5060, 5353,
  5359, 6081, 6343, 6696, 6697, 7500, 8231, 8472, 8500, 12222, 12223, 30490, 49152, 1589, 2152, 3386, 4754, 6635, 4567,
  ...Array.from({ length: 10 }, (_, i) => 7000 + i), 2123, 9555, 5004, 5005, 5351, 1434, 2049, 111, 3544, 8080, 4739, 9995, 2055, 6784, 4790, 3868, 5246, 5247, 2152,
]);

export function printUdp(p: Printer, off: number, length: number, ip: IpContext): void {
  p.protocol = 'udp';
  if (!p.has(off + 2, 2)) {
    p.print(`${ip.src} > ${ip.dst}: `);
    p.need(off + 2, 2);
  }
  const sport = p.u16(off);
  const dport = p.u16(off + 2);
  if (length < 8) {
    printEndpoints(p, ip, sport, dport);
    p.print(`truncated-udp ${length}`);
    return;
  }
  if (!p.has(off + 4, 2)) {
    printEndpoints(p, ip, sport, dport);
    p.need(off + 4, 2);
  }
  let ulen = p.u16(off + 4);
  if (ulen === 0 && length > 65535) ulen = length;
  if (ulen < 8) {
    printEndpoints(p, ip, sport, dport);
    p.print(`truncated-udplength ${ulen}`);
    return;
  }
  ulen -= 8;
  length -= 8;
  if (ulen < length) length = ulen;
  const udpLength = ulen;
  if (p.json) p.layer('udp', { srcPort: sport, dstPort: dport, length });
  if (off + 8 > p.end) {
    printEndpoints(p, ip, sport, dport);
    p.need(off + 8, 1);
  }
  printEndpoints(p, ip, sport, dport);
  // tcpdump checks IPv4 UDP sums only from -vv, IPv6 ones (mandatory there) from -v.
  if (p.options.verbose && !ip.fragmented && (ip.v6 || p.options.verbose > 1)) {
    const stored = p.u16(off + 6);
    if (!ip.v6 && stored === 0) p.print('[no cksum] ');
    else if (p.has(off + 8, length)) {
      const sum = transportChecksum(p, off, length + 8, ip, 17);
      p.print(sum !== 0 ? `[bad udp cksum 0x${stored.toString(16).padStart(4, '0')} -> 0x${shouldBe(stored, sum).toString(16).padStart(4, '0')}!] ` : '[udp sum ok] ');
    }
  }
  if (!p.options.quick && (sport === 53 || dport === 53)) {
    printDomain(p, off + 8, length, false);
    return;
  }
  const app = p.options.quick ? undefined : (UDP_APPS.get(sport) ?? UDP_APPS.get(dport));
  // tcpdump tests ports in its own order: where the other port has a printer we lack, ours may not be the one it picks.
  const other = UDP_APPS.has(sport) ? dport : sport;
  if (app !== undefined && !(DECODED_PORTS.has(other) && !UDP_APPS.has(other))) {
    if (!app(p, off + 8, length, dport)) p.complete = false;
    return;
  }
  if (!p.options.quick && (DECODED_PORTS.has(sport) || DECODED_PORTS.has(dport))) p.complete = false;
  if (udpLength > length && !ip.fragmented) p.print(`UDP, bad length ${udpLength} > ${length}`);
  else {
    p.print('UDP, length ');
    p.printUint(udpLength);
  }
}
