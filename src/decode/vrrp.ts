/** VRRP advertisements (versions 2 and 3), as tcpdump's vrrp_print prints them without -v. */

import type { Printer } from './printer.js';

const AUTH_TYPES: Record<number, string> = { 0: 'none', 1: 'simple', 2: 'ah' };

/** Decodes a VRRP message at `off`; `ttl` is the IP TTL / hop limit (tcpdump flags one other than 255). */
export function printVrrp(p: Printer, off: number, length: number, ttl: number): void {
  p.protocol = 'vrrp';
  p.print('VRRP');
  const b0 = p.u8(off);
  const version = b0 >> 4;
  const type = b0 & 0xf;
  p.print(`v${version}, ${type === 1 ? 'Advertisement' : `unknown type (${type})`}`);
  if (ttl !== 255) p.print(`, (ttl ${ttl})`);
  if (version < 2 || version > 3 || type !== 1) return;
  const vrid = p.u8(off + 1);
  const prio = p.u8(off + 2);
  p.print(`, vrid ${vrid}, prio ${prio}`);
  p.layer('vrrp', { version, vrid, priority: prio });
  if (version === 2) {
    const auth = p.u8(off + 4);
    p.print(`, authtype ${AUTH_TYPES[auth] ?? `#${auth}`}, intvl ${p.u8(off + 5)}s, length ${length}`);
  } else {
    const intvl = ((p.u8(off + 4) & 0x0f) << 8) | p.u8(off + 5);
    p.print(`, intvl ${intvl}cs, length ${length}`);
  }
  // -v adds the checksum verdict, the addresses and a simple-auth password: not printed here.
  if (p.options.verbose) p.complete = false;
}
