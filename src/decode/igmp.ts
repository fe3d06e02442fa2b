/** IGMP v1/v2/v3 queries, reports and leaves, as tcpdump's igmp_print prints them. */

import { inCksum } from './ip.js';
import type { Printer } from './printer.js';

/** Decodes an IGMP message at `off`, `length` bytes long. */
export function printIgmp(p: Printer, off: number, length: number): void {
  p.protocol = 'igmp';
  if (p.options.quick) {
    p.print('igmp');
    return;
  }
  const type = p.u8(off);
  p.layer('igmp', { type });
  switch (type) {
    case 0x11:
      p.print('igmp query');
      if (length >= 12) printV3Query(p, off, length);
      else {
        const mrt = p.u8(off + 1);
        if (mrt) p.print(mrt !== 100 ? ` v2 [max resp time ${mrt}]` : ' v2');
        else p.print(' v1');
        if (p.u32(off + 4)) p.print(` [gaddr ${p.ipaddr(off + 4)}]`);
        if (length !== 8) p.print(` [len ${length}]`);
      }
      break;
    case 0x12:
      p.print(`igmp v1 report ${p.ipaddr(off + 4)}`);
      if (length !== 8) p.print(` [len ${length}]`);
      break;
    case 0x16:
      p.print(`igmp v2 report ${p.ipaddr(off + 4)}`);
      break;
    case 0x17:
      p.print(`igmp leave ${p.ipaddr(off + 4)}`);
      break;
    case 0x22:
      p.print('igmp v3 report');
      if (length < 16 || length & 3) p.print(` [invalid len ${length}]`);
      else {
        p.print(`, ${p.u16(off + 6)} group record(s)`);
        // -v lists every group record and its sources: not printed here.
        if (p.options.verbose) p.complete = false;
      }
      break;
    case 0x13:
    case 0x14:
    case 0x1e:
    case 0x1f:
      // DVMRP, PIMv1 and mtrace have their own printers in tcpdump.
      p.complete = false;
      return;
    default:
      p.print(`igmp-${type}`);
  }
  if (p.options.verbose && length >= 4 && p.has(off, length) && inCksum(p.data, off, length) !== 0) {
    p.print(` bad igmp cksum ${p.u16(off + 2).toString(16)}!`);
  }
}

function printV3Query(p: Printer, off: number, length: number): void {
  p.print(' v3');
  if (length & 3) {
    p.print(` [invalid len ${length}]`);
    return;
  }
  const mrc = p.u8(off + 1);
  const mrt = mrc < 128 ? mrc : ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3);
  if (mrc !== 100) {
    if (mrt >= 600) {
      // tcpdump prints long times as `1m30s` (unsigned_relts_print): not printed here.
      p.complete = false;
      return;
    }
    p.print(` [max resp time ${Math.floor(mrt / 10)}.${mrt % 10}s]`);
  }
  if (p.u32(off + 4) === 0) return;
  p.print(` [gaddr ${p.ipaddr(off + 4)}`);
  const nsrcs = p.u16(off + 10);
  if (nsrcs > 0) {
    if (length < 12 + nsrcs * 4) p.print(' [invalid number of sources]');
    else if (p.options.verbose > 1) p.complete = false;
    else p.print(`, ${nsrcs} source(s)`);
  }
  p.print(']');
}
