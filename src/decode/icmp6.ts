/** ICMPv6, as tcpdump's icmp6_print prints the common types without `-v`; others are marked as further-decoded. */

import type { Printer } from './printer.js';

const names: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded in-transit', 4: 'parameter problem',
  128: 'echo request', 129: 'echo reply', 130: 'multicast listener query', 131: 'multicast listener report',
  132: 'multicast listener done', 133: 'router solicitation', 134: 'router advertisement', 135: 'neighbor solicitation',
  136: 'neighbor advertisement', 137: 'redirect', 143: 'multicast listener report v2',
};

export function printIcmp6(p: Printer, off: number, length: number, _ipStart: number, _fragmented: boolean): void {
  p.protocol = 'icmp6';
  const type = p.u8(off);
  const code = p.u8(off + 1);
  p.layer('icmp6', { type, code });
  p.print('ICMP6, ');
  const name = names[type];
  if (p.options.verbose) p.complete = false;
  switch (type) {
    case 128:
    case 129:
      p.print(`${name}, id ${p.u16(off + 4)}, seq ${p.u16(off + 6)}`);
      break;
    case 133:
    case 134:
      p.print(name);
      break;
    case 135:
      p.print(`${name}, who has ${p.ip6addr(off + 8)}`);
      break;
    case 136:
      p.print(`${name}, tgt is ${p.ip6addr(off + 8)}`);
      break;
    case 2:
      p.print(`${name}, mtu ${p.u32(off + 4)}`);
      break;
    case 143:
      // MLDv2 report: the record count; -v lists the records.
      p.print(`${name}, ${p.u16(off + 6)} group record(s)`);
      break;
    default:
      p.complete = false;
      p.print(name ?? `type-#${type}`);
  }
  p.print(`, length ${length}`);
}
