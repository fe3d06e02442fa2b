/** Dispatch from an ethertype to the network-layer decoder (tcpdump's ethertype_print). */

import { printAoe } from './aoe.js';
import { printArp } from './arp.js';
import { printEapol, printLldp, printSlow } from './link-protos.js';
import { ETHERTYPE_ARP, ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_REVARP } from './ethertypes.js';
import { printIp } from './ip.js';
import { printIp6 } from './ip6.js';
import { printMpls } from './mpls.js';
import type { Printer } from './printer.js';
import { printPtp } from './ptp.js';

/** Decodes the payload of ethertype `t`; false when the type is not one we decode. */
export function printEthertype(p: Printer, t: number, off: number, length: number): boolean {
  switch (t) {
    case ETHERTYPE_IP:
      printIp(p, off, length);
      return true;
    case ETHERTYPE_IPV6:
      printIp6(p, off, length);
      return true;
    case ETHERTYPE_ARP:
    case ETHERTYPE_REVARP:
      printArp(p, off, length);
      return true;
    case 0x888e:
      printEapol(p, off);
      return true;
    case 0x88cc:
      printLldp(p, off, length);
      return true;
    case 0x8809:
      printSlow(p, off, length);
      return true;
    case 0x88a2:
      printAoe(p, off, length);
      return true;
    case 0x88f7:
      printPtp(p, off);
      return true;
    case 0x8847:
    case 0x8848:
      printMpls(p, off, length);
      return true;
    default:
      return false;
  }
}
