/** MPLS label stacks, as tcpdump's mpls_print prints them, with the payload guessed from its first byte. */

import { printIp } from './ip.js';
import { printIp6 } from './ip6.js';
import type { Printer } from './printer.js';

/** Names of the reserved labels 0..15 that `-v` prints. */
const LABEL_NAMES = ['IPv4 explicit NULL', 'router alert', 'IPv6 explicit NULL', 'implicit NULL', ...Array<string>(12).fill('rsvd')];

/** Decodes an MPLS label stack at `off` and the packet under the bottom label. */
export function printMpls(p: Printer, off: number, length: number): void {
  p.protocol = 'mpls';
  p.print('MPLS');
  const labels: { label: number; tc: number; ttl: number }[] = [];
  const verbose = p.options.verbose > 0;
  let entry: number;
  do {
    if (length < 4) {
      // tcpdump prints " (invalid)" and then checks the rest was captured.
      p.print(' (invalid)');
      p.need(off, length);
      return;
    }
    entry = p.u32(off);
    const label = entry >>> 12;
    p.print(`${labels.length && verbose ? '\n\t' : ' '}(label ${label}`);
    if (verbose && label < LABEL_NAMES.length) p.print(` (${LABEL_NAMES[label]})`);
    p.print(`, tc ${(entry >> 9) & 7}${entry & 0x100 ? ', [S]' : ''}, ttl ${entry & 0xff})`);
    labels.push({ label, tc: (entry >> 9) & 7, ttl: entry & 0xff });
    off += 4;
    length -= 4;
  } while (!(entry & 0x100));
  p.layer('mpls', { labels });
  const bottom = entry >>> 12;
  let kind: 'ip' | 'ip6' | 'other';
  if (bottom === 0) kind = 'ip';
  else if (bottom === 2) kind = 'ip6';
  else {
    if (length < 1) return;
    const first = p.u8(off);
    kind = first >= 0x45 && first <= 0x4f ? 'ip' : first >= 0x60 && first <= 0x6f ? 'ip6' : 'other';
  }
  if (kind === 'other') {
    // OSI payloads and tcpdump's default hex print are not decoded here.
    p.complete = false;
    return;
  }
  p.print(verbose ? '\n\t' : ' ');
  if (kind === 'ip') printIp(p, off, length);
  else printIp6(p, off, length);
}
