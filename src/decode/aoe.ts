/** ATA over Ethernet (ethertype 0x88a2), as tcpdump's aoe_print prints it without -v. */

import { flagString, type Printer } from './printer.js';

const V1_FLAGS = [[0x8, 'Response'], [0x4, 'Error'], [0x2, 'MBZ-1'], [0x1, 'MBZ-0']] as const;

/** Decodes an AoE header of `length` bytes at `off`. */
export function printAoe(p: Printer, off: number, length: number): void {
  p.protocol = 'aoe';
  p.print(`AoE length ${length}`);
  if (length < 1) {
    p.print(' (invalid)');
    return;
  }
  const ver = p.u8(off) >> 4;
  p.print(`, Ver ${ver}`);
  if (ver !== 1) return;
  // The version 1 common header is 10 bytes.
  if (length < 10) {
    p.print(' (invalid)');
    p.need(off, length);
    return;
  }
  p.print(`, Flags: [${flagString(p.u8(off) & 0xf, V1_FLAGS, ', ')}]`);
  // -v adds the header fields and the command's arguments on further lines, which we do not print.
  if (p.options.verbose) p.complete = false;
}
