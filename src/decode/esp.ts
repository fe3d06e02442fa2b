/** IPsec ESP, as tcpdump prints it without a decryption secret: SPI, sequence number and length. */

import type { Printer } from './printer.js';

/** Decodes an ESP header at `off`; the encrypted payload is not looked into. */
export function printEsp(p: Printer, off: number, length: number): void {
  p.protocol = 'esp';
  // tcpdump wants more than the 8-byte header captured before it prints anything.
  if (off + 8 >= p.end) {
    p.print(' [|esp]');
    return;
  }
  const spi = p.u32(off);
  const seq = p.u32(off + 4);
  p.layer('esp', { spi, seq });
  p.print(`ESP(spi=0x${spi.toString(16).padStart(8, '0')},seq=0x${seq.toString(16)}), length ${length}`);
}
