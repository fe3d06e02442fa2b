/** GRE version 0 (RFC 2784/2890), as tcpdump's gre_print prints it, with its IPv4/IPv6/MPLS/Ethernet payload. */

import { printEther } from './ether.js';
import { ethertypeName } from './ethertypes.js';
import { printIp } from './ip.js';
import { printIp6 } from './ip6.js';
import { printMpls } from './mpls.js';
import type { Printer } from './printer.js';

const GRE_CP = 0x8000;
const GRE_RP = 0x4000;
const GRE_KP = 0x2000;
const GRE_SP = 0x1000;

type Payload = (p: Printer, off: number, length: number) => void;

/** Protocols tcpdump decodes inside GRE that we decode too; others print `gre-proto-0x…`. */
const PAYLOADS = new Map<number, Payload>([
  [0x0800, printIp],
  [0x86dd, printIp6],
  [0x8847, printMpls],
  [0x6558, (p, off, length) => printEther(p, off, length)],
]);
/** Protocols tcpdump decodes that we do not (IPX, AppleTalk, OSI). */
const UNDECODED = new Set([0x8137, 0x809b, 0x00fe]);

/** Decodes a GRE header at `off` (`length` bytes with payload). */
export function printGre(p: Printer, off: number, length: number): void {
  p.protocol = 'gre';
  p.need(off, 2);
  if (length < 2) {
    p.print(' [|gre]');
    return;
  }
  const flags = p.u16(off);
  const version = flags & 7;
  p.print(`GREv${version}`);
  if (version !== 0) {
    // Version 1 (PPTP) prints call ids and acks: not decoded here.
    if (version === 1) p.complete = false;
    else p.print(' ERROR: unknown-version');
    return;
  }
  if (p.options.verbose || flags & GRE_RP) {
    // -v prints flags, checksums and multi-line payloads; source routes need SRE printing.
    p.complete = false;
    return;
  }
  let cp = off + 2;
  let len = length - 2;
  const trunc = (n: number): boolean => {
    p.need(cp, n);
    if (len < n) {
      p.print(' [|gre]');
      return true;
    }
    return false;
  };
  if (trunc(2)) return;
  const proto = p.u16(cp);
  cp += 2;
  len -= 2;
  const layer = p.layer('gre', { version, type: proto });
  if (flags & GRE_CP) {
    if (trunc(2)) return;
    cp += 2;
    len -= 2;
    if (trunc(2)) return;
    p.print(`, off 0x${p.u16(cp).toString(16)}`);
    cp += 2;
    len -= 2;
  }
  if (flags & GRE_KP) {
    if (trunc(4)) return;
    layer.key = p.u32(cp);
    p.print(`, key=0x${p.u32(cp).toString(16)}`);
    cp += 4;
    len -= 4;
  }
  if (flags & GRE_SP) {
    if (trunc(4)) return;
    layer.seq = p.u32(cp);
    p.print(`, seq ${p.u32(cp)}`);
    cp += 4;
    len -= 4;
  }
  if (p.options.linkHeader) {
    const name = ethertypeName(proto);
    p.print(`, proto ${name === 'Unknown' ? 'unknown' : name} (0x${proto.toString(16).padStart(4, '0')})`);
  }
  p.print(`, length ${length}: `);
  const f = PAYLOADS.get(proto);
  if (f) f(p, cp, len);
  else if (UNDECODED.has(proto)) p.complete = false;
  else p.print(`gre-proto-0x${proto.toString(16)}`);
}
