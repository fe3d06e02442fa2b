/** IPv6 with its extension headers, as tcpdump's ip6_print prints them. */

import { printIcmp6 } from './icmp6.js';
import { ipprotoName } from './ipproto.js';
import { printEsp } from './esp.js';
import { printGre } from './gre.js';
import { IP_PROTO_APPS } from './routing.js';
import { HEX2, type Printer } from './printer.js';
import { printTcp } from './tcp.js';
import { printUdp } from './udp.js';
import { printVrrp } from './vrrp.js';

/** `, next-header NAME (N) payload length: ` by next-header value. */
const NEXT_HEADER_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => `, next-header ${ipprotoName(i) ?? 'unknown'} (${i}) payload length: `);

export function printIp6(p: Printer, off: number, length: number): void {
  p.protocol = 'ip6';
  p.need(off, 40);
  if (length < 40) {
    p.print(`truncated-ip6 ${length}`);
    return;
  }
  if (!p.options.linkHeader) p.print('IP6 ');
  const ver = p.u8(off) >> 4;
  if (ver !== 6) {
    p.print(`version error: ${ver} != 6`);
    return;
  }
  const plen = p.u16(off + 4);
  let len: number;
  if (plen !== 0) {
    len = plen + 40;
    if (length < len) p.print(`truncated-ip6 - ${len - length} bytes missing!`);
  } else {
    p.complete = false; // a jumbogram: tcpdump reads the payload length from hop-by-hop options
    len = length + 40;
  }
  const savedEnd = p.end;
  p.end = Math.min(p.end, off + len);
  const src = p.ip6addr(off + 8);
  const dst = p.ip6addr(off + 24);
  let nh = p.u8(off + 6);
  const hlim = p.u8(off + 7);
  if (p.json) p.layer('ip6', { src, dst, nextHeader: nh, hopLimit: hlim, payloadLength: plen, flowLabel: p.u32(off) & 0xfffff });
  if (p.options.verbose) {
    const flow = p.u32(off);
    const tc = (flow >> 20) & 0xff;
    p.print('(');
    if (tc) p.print(`class 0x${tc.toString(16).padStart(2, '0')}, `);
    if (flow & 0xfffff) p.print(`flowlabel 0x${(flow & 0xfffff).toString(16).padStart(5, '0')}, `);
    p.print('hlim ');
    p.printUint(hlim);
    p.print(NEXT_HEADER_TEXT[nh]);
    p.printUint(plen);
    p.print(') ');
  }
  let cp = off + 40;
  let remaining = len - 40;
  let fragmented = false;
  for (;;) {
    // tcpdump stops quietly when the next header is past the captured bytes.
    if (cp !== off + 40 && cp >= p.end) break;
    if (cp === off + 40 && nh !== 6 && nh !== 17 && nh !== 33 && nh !== 132) p.print(`${src} > ${dst}: `);
    switch (nh) {
      case 0: case 60: case 43: {
        // Hop-by-hop, destination options, routing: tcpdump prints their options; we step over them.
        p.complete = false;
        const hl = (p.u8(cp + 1) + 1) * 8;
        p.print(nh === 0 ? 'HBH ' : nh === 60 ? 'DSTOPT ' : 'srcrt ');
        nh = p.u8(cp);
        cp += hl;
        remaining -= hl;
        continue;
      }
      case 51: {
        // Authentication header: its fields, then the header it protects.
        p.protocol = 'ah';
        const sumlen = p.u8(cp + 1) << 2;
        p.print('AH(');
        // -v: the length field and the header's size in bytes, as tcpdump's ah_print.
        if (p.options.verbose) p.print(`length=${p.u8(cp + 1)}(${(p.u8(cp + 1) + 2) * 4}-bytes),`);
        p.print(`spi=0x${p.u32(cp + 4).toString(16).padStart(8, '0')}`);
        p.print(`,seq=0x${p.u32(cp + 8).toString(16)},icv=0x`);
        p.need(cp + 12, sumlen - 4);
        let icv = '';
        for (let i = cp + 12; i < cp + 8 + sumlen; i++) icv += HEX2[p.data[i]];
        p.print(`${icv}): `);
        nh = p.u8(cp);
        cp += 8 + sumlen;
        remaining -= 8 + sumlen;
        continue;
      }
      case 44: {
        p.protocol = 'frag6';
        // tcpdump reads the identification only for -v, so a header cut after the offset still prints without it.
        const id = p.options.verbose ? p.u32(cp + 4) : 0;
        const offset = p.u16(cp + 2) & 0xfff8;
        if (p.options.verbose) p.print(`frag (0x${id.toString(16).padStart(8, '0')}:${offset}|${remaining - 8})`);
        else p.print(`frag (${offset}|${remaining - 8})`);
        nh = p.u8(cp);
        cp += 8;
        remaining -= 8;
        if (offset !== 0) {
          p.end = savedEnd;
          return;
        }
        p.print(' ');
        fragmented = true;
        continue;
      }
      case 6:
        printTcp(p, cp, remaining, { v6: true, ipStart: off, src, dst, fragmented, nextHeader: nh });
        break;
      case 17:
        printUdp(p, cp, remaining, { v6: true, ipStart: off, src, dst, fragmented, nextHeader: nh });
        break;
      case 58:
        printIcmp6(p, cp, remaining, off, fragmented);
        break;
      case 59:
        p.print('no next header');
        break;
      case 47:
        printGre(p, cp, remaining);
        break;
      case 112:
        printVrrp(p, cp, remaining, hlim);
        break;
      case 50:
        printEsp(p, cp, remaining);
        break;
      default: {
        const app = IP_PROTO_APPS.get(nh);
        if (app !== undefined) {
          if (!app(p, cp, remaining)) p.complete = false;
          break;
        }
        p.complete = false;
        p.print(` ip-proto-${nh} ${remaining}`);
      }
    }
    break;
  }
  p.end = savedEnd;
}
