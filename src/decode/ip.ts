/** IPv4, as tcpdump's ip_print prints it (with `-v` the header line; fragments; demux to TCP/UDP/ICMP). */

import { printEsp } from './esp.js';
import { printGre } from './gre.js';
import { IP_PROTO_APPS } from './routing.js';
import { printIcmp } from './icmp.js';
import { printIgmp } from './igmp.js';
import { type Printer, flagString } from './printer.js';
import { ipprotoName } from './ipproto.js';
import { printTcp } from './tcp.js';
import { printUdp } from './udp.js';
import { printVrrp } from './vrrp.js';

const FRAG_FLAGS = [[0x2000, '+'], [0x4000, 'DF'], [0x8000, 'rsvd']] as const;
/** `, flags [...]` by the top three bits of the fragment field. */
const FRAG_TEXT: readonly string[] = Array.from({ length: 8 }, (_, i) => `, flags [${flagString(i << 13, FRAG_FLAGS, ', ', 'none')}]`);
/** `, proto NAME (N)` by protocol number. */
const PROTO_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => `, proto ${ipprotoName(i) ?? 'unknown'} (${i})`);
const ECN = ['', ',ECT(1)', ',ECT(0)', ',CE'];
const OPTION_NAMES: Record<number, string> = { 0: 'EOL', 1: 'NOP', 7: 'RR', 68: 'timestamp', 130: 'security', 131: 'LSRR', 137: 'SSRR', 148: 'RA' };

/** The Internet checksum of `len` bytes at `off` (0 when the stored checksum is right). */
export function inCksum(data: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < len; i += 2) sum += (data[off + i] << 8) | data[off + i + 1];
  if (len & 1) sum += data[off + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function printIp(p: Printer, off: number, length: number): void {
  p.protocol = 'ip';
  const vhl = p.u8(off);
  if (vhl >> 4 !== 4) {
    p.print(vhl >> 4 === 6 ? 'IP6, wrong link-layer encapsulation' : `IP${vhl >> 4}`);
    p.print(' (invalid)');
    p.complete = false;
    return;
  }
  if (!p.options.linkHeader) p.print('IP ');
  p.need(off, 20);
  if (length < 20) {
    p.print(`truncated-ip ${length}`);
    return;
  }
  const hlen = (vhl & 0xf) * 4;
  if (hlen < 20) {
    p.print(`bad-hlen ${hlen}`);
    return;
  }
  let len = p.u16(off + 2);
  if (length < len) p.print(`truncated-ip - ${len - length} bytes missing! `);
  if (len < hlen) {
    // tcpdump as Debian builds it (without GUESS_TSO) does not guess a TSO length.
    p.print(`bad-len ${len}`);
    return;
  }
  // The IP datagram bounds what the layers above may read (nd_push_snaplen).
  const savedEnd = p.end;
  p.end = Math.min(p.end, off + len);
  const ipOff = p.u16(off + 6);
  const proto = p.u8(off + 9);
  const ttl = p.u8(off + 8);
  const src = p.ipaddr(off + 12);
  const dst = p.ipaddr(off + 16);
  if (p.json) p.layer('ip', { src, dst, proto, ttl, id: p.u16(off + 4), tos: p.u8(off + 1), length: p.u16(off + 2), headerLength: hlen, flags: ipOff & 0xe000, fragmentOffset: (ipOff & 0x1fff) * 8 });
  len -= hlen;
  if (p.options.verbose) {
    const tos = p.u8(off + 1);
    p.print('(tos 0x');
    p.out.writeHex(tos);
    p.print(ECN[tos & 3]);
    if (ttl >= 1) {
      p.print(', ttl ');
      p.printUint(ttl);
    }
    p.print(', id ');
    p.printUint(p.u16(off + 4));
    p.print(', offset ');
    p.printUint((ipOff & 0x1fff) * 8);
    p.print(FRAG_TEXT[ipOff >>> 13]);
    p.print(PROTO_TEXT[proto]);
    p.print(', length ');
    p.printUint(p.u16(off + 2));
    if (hlen > 20) {
      p.print(', options (');
      printIpOptions(p, off + 20, hlen - 20);
      p.print(')');
    }
    if (p.has(off, hlen)) {
      const sum = inCksum(p.data, off, hlen);
      if (sum !== 0) {
        const stored = p.u16(off + 10);
        p.print(`, bad cksum ${stored.toString(16)} (->${shouldBe(stored, sum).toString(16)})!`);
      }
    }
    p.print(')\n    ');
  }
  if ((ipOff & 0x1fff) === 0) {
    if (proto !== 6 && proto !== 17 && proto !== 132 && proto !== 33) p.print(`${src} > ${dst}: `);
    if (!p.has(off, hlen)) {
      p.print(` [remaining caplen(${p.end - off}) < header length(${hlen})]`);
      p.print(` [|${p.protocol}]`);
      p.end = savedEnd;
      return;
    }
    demux(p, off + hlen, len, proto, off, (ipOff & 0x2000) !== 0, src, dst);
  } else {
    p.print(`${src} > ${dst}: ip-proto-${proto}`);
    if (p.json) p.layers[p.layers.length - 1].fragment = true;
  }
  p.end = savedEnd;
}

function demux(p: Printer, off: number, length: number, proto: number, ipStart: number, moreFragments: boolean, src: string, dst: string): void {
  switch (proto) {
    case 6:
      printTcp(p, off, length, { v6: false, ipStart, src, dst, fragmented: moreFragments });
      return;
    case 17:
      printUdp(p, off, length, { v6: false, ipStart, src, dst, fragmented: moreFragments, nextHeader: 17 });
      return;
    case 1:
      printIcmp(p, off, length, moreFragments);
      return;
    case 47:
      printGre(p, off, length);
      return;
    case 112:
      printVrrp(p, off, length, p.u8(ipStart + 8));
      return;
    case 50:
      printEsp(p, off, length);
      return;
    case 2:
      printIgmp(p, off, length);
      return;
    default: {
      const app = IP_PROTO_APPS.get(proto);
      if (app !== undefined) {
        if (!app(p, off, length)) p.complete = false;
        return;
      }
      p.complete = false;
      p.print(` ip-proto-${proto} ${length}`);
    }
  }
}

/** What the checksum field should have held (in_cksum_shouldbe). */
export function shouldBe(sum: number, computed: number): number {
  let s = (~sum & 0xffff) + (~computed & 0xffff);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

function printIpOptions(p: Printer, off: number, len: number): void {
  let sep = '';
  while (len > 0) {
    const opt = p.u8(off);
    const name = OPTION_NAMES[opt] ?? `unknown (${opt})`;
    p.print(sep + name);
    sep = ',';
    if (opt === 0) {
      p.print(len > 1 ? ` ${len}` : '');
      return;
    }
    if (opt === 1) {
      off++;
      len--;
      continue;
    }
    const olen = p.u8(off + 1);
    if (olen < 2 || olen > len) {
      p.print(` [bad length ${olen}]`);
      return;
    }
    if (opt === 148) {
      p.print(olen === 4 ? (p.u16(off + 2) ? ` value ${p.u16(off + 2)}` : '') : ` [bad length ${olen}]`);
    } else if (opt !== 130) {
      p.complete = false;
    }
    off += olen;
    len -= olen;
  }
}
