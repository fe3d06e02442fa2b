/** ICMP for IPv4, as tcpdump's icmp_print prints the common types; others are marked as further-decoded. */

import { inCksum } from './ip.js';
import type { Printer } from './printer.js';

export function printIcmp(p: Printer, off: number, plen: number, fragmented: boolean): void {
  p.protocol = 'icmp';
  const type = p.u8(off);
  const code = p.u8(off + 1);
  let str: string;
  const innerDst = (): string => p.ipaddr(off + 8 + 16);
  switch (type) {
    case 0:
    case 8:
      str = `echo ${type === 8 ? 'request' : 'reply'}, id ${p.u16(off + 4)}, seq ${p.u16(off + 6)}`;
      break;
    case 3:
      switch (code) {
        case 0: str = `net ${innerDst()} unreachable`; break;
        case 1: str = `host ${innerDst()} unreachable`; break;
        case 2: str = `${innerDst()} protocol ${p.u8(off + 8 + 9)} unreachable`; break;
        case 3: {
          p.need(off + 8 + 9, 1);
          const hl = (p.u8(off + 8) & 0xf) * 4;
          const dport = p.u16(off + 8 + hl + 2);
          const proto = p.u8(off + 8 + 9);
          const dst = innerDst();
          str = proto === 6 ? `${dst} tcp port ${dport} unreachable` : proto === 17 ? `${dst} udp port ${dport} unreachable` : `${dst} protocol ${proto} port ${dport} unreachable`;
          break;
        }
        case 4: {
          const mtu = p.u16(off + 6);
          str = mtu ? `${innerDst()} unreachable - need to frag (mtu ${mtu})` : `${innerDst()} unreachable - need to frag`;
          break;
        }
        default:
          p.complete = false;
          str = `${innerDst()} unreachable - #${code}`;
      }
      break;
    case 11:
      p.need(off + 8 + 16, 4);
      str = code === 0 ? 'time exceeded in-transit' : code === 1 ? 'ip reassembly time exceeded' : `time exceeded-#${code}`;
      break;
    default:
      p.complete = false;
      str = `type-#${type}`;
  }
  p.layer('icmp', { type, code });
  p.print(`ICMP ${str}, length ${plen}`);
  if (p.options.verbose && !fragmented && p.has(off, plen)) {
    const sum = inCksum(p.data, off, plen);
    if (sum !== 0) p.complete = false;
  }
  if (p.options.verbose && (type === 3 || type === 11 || type === 4 || type === 5 || type === 12)) p.complete = false;
}
