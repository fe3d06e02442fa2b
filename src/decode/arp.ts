/** ARP and RARP over Ethernet/IPv4, as tcpdump's arp_print prints them. */

import { ethertypeName } from './ethertypes.js';
import type { Printer } from './printer.js';

const ops: Record<number, string> = { 1: 'Request', 2: 'Reply', 3: 'Reverse Request', 4: 'Reverse Reply', 8: 'Inverse Request', 9: 'Inverse Reply', 10: 'NACK Reply' };
const hrdNames: Record<number, string> = { 1: 'Ethernet', 6: 'Token Ring', 15: 'Frame Relay', 19: 'ATM', 24: 'IEEE 1394', 32: 'InfiniBand' };

export function printArp(p: Printer, off: number, length: number): void {
  p.protocol = 'arp';
  p.need(off, 8);
  const hrd = p.u16(off);
  const pro = p.u16(off + 2);
  const hln = p.u8(off + 4);
  const pln = p.u8(off + 5);
  const op = p.u16(off + 6);
  const sha = off + 8;
  const spa = sha + hln;
  const tha = spa + pln;
  const tpa = tha + hln;
  p.need(tpa, pln);
  if (hrd === 19) p.complete = false;
  if (!p.options.linkHeader) p.print('ARP, ');
  const v = p.options.verbose;
  const layer = p.layer('arp', { op, hardware: hrd, protocolType: pro });
  if ((pro !== 0x0800 && pro !== 0x1000) || pln !== 4 || hln === 0 || v) {
    const hname = hrdNames[hrd] ?? `Unknown Hardware (${hrd})`;
    const pname = ethertypeName(pro) === 'Unknown' ? `Unknown Protocol (0x${pro.toString(16).padStart(4, '0')})` : ethertypeName(pro);
    p.print(`${hname} (len ${hln}), ${pname} (len ${pln})`);
    if (!v) {
      p.print(`, length ${length}`);
      return;
    }
  }
  const addr = (o: number): string => (pro !== 0x0800 && pro !== 0x1000 ? '<wrong proto type>' : pln !== 4 ? '<wrong len>' : p.ipaddr(o));
  // A zero-length hardware address prints as `<empty>` (tcpdump's linkaddr_string).
  const link = (o: number): string => (hln === 0 ? '<empty>' : p.mac(o, hln));
  p.print(`${v ? ', ' : ''}${ops[op] ?? `Unknown (${op})`} `);
  switch (op) {
    case 1: {
      p.print(`who-has ${addr(tpa)}`);
      let nonzero = false;
      for (let i = 0; i < hln; i++) if (p.u8(tha + i)) nonzero = true;
      if (nonzero) p.print(` (${link(tha)})`);
      p.print(` tell ${addr(spa)}`);
      Object.assign(layer, { target: addr(tpa), sender: addr(spa) });
      break;
    }
    case 2:
      p.print(`${addr(spa)} is-at ${link(sha)}`);
      Object.assign(layer, { sender: addr(spa), senderMac: link(sha) });
      break;
    case 3:
    case 8:
      p.print(`who-is ${link(tha)} tell ${link(sha)}`);
      break;
    case 4:
      p.print(`${link(tha)} at ${addr(tpa)}`);
      break;
    case 9:
      p.print(`${link(sha)} at ${addr(spa)}`);
      break;
    default:
      p.complete = false;
      return;
  }
  p.print(`, length ${length}`);
}
