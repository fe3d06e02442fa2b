/** IS-IS over OSI (LLC SAP 0xfe), as tcpdump's isis_print prints the PDU header: its one-line summary, or with -v the length before the details. */

import type { Printer } from './printer.js';

/** tcpdump's isis_pdu_values, with each PDU type's fixed header size and the line it prints. */
const PDUS: Record<number, { name: string; fixedLen: number }> = {
  15: { name: 'L1 Lan IIH', fixedLen: 27 },
  16: { name: 'L2 Lan IIH', fixedLen: 27 },
  17: { name: 'p2p IIH', fixedLen: 20 },
  18: { name: 'L1 LSP', fixedLen: 27 },
  20: { name: 'L2 LSP', fixedLen: 27 },
  24: { name: 'L1 CSNP', fixedLen: 33 },
  25: { name: 'L2 CSNP', fixedLen: 33 },
  26: { name: 'L1 PSNP', fixedLen: 17 },
  27: { name: 'L2 PSNP', fixedLen: 17 },
};
const HEADER = 8;

/** A system ID (6 bytes) as `xxxx.xxxx.xxxx`, plus `.nn` for a node ID (7) and `-nn` for an LSP ID (8) (isis_print_id). */
function isisId(p: Printer, off: number, len: number): string {
  p.need(off, len);
  let s = '';
  for (let i = 0; i < 6; i++) {
    s += p.data[off + i].toString(16).padStart(2, '0');
    if (i === 1 || i === 3) s += '.';
  }
  if (len >= 7) s += '.' + p.data[off + 6].toString(16).padStart(2, '0');
  if (len === 8) s += '-' + p.data[off + 7].toString(16).padStart(2, '0');
  return s;
}

/** Decodes the IS-IS PDU at `off` (its NLPID byte) of `length` bytes; false where tcpdump prints more than this does. */
export function printIsis(p: Printer, off: number, length: number): void {
  p.protocol = 'isis';
  const eflag = p.options.linkHeader;
  if (eflag) p.print('OSI NLPID IS-IS (0x83): ');
  else p.print('IS-IS');
  p.need(off, HEADER);
  const fixedLen = p.u8(off + 1);
  const idLength = p.u8(off + 3);
  const pduType = p.u8(off + 4) & 0x1f;
  const maxArea = p.u8(off + 7);
  // Versions, ID lengths and header sizes that tcpdump reports as errors: not reproduced here.
  const pdu = PDUS[pduType];
  if (p.u8(off + 2) !== 1 || p.u8(off + 5) !== 1 || (idLength !== 6 && idLength !== 0) || length < fixedLen || fixedLen < HEADER || maxArea === 255 || pdu === undefined) {
    p.complete = false;
    return;
  }
  const sep = eflag ? '' : ', ';
  if (p.options.verbose) {
    // The details follow on lines of their own, not decoded here.
    p.print(`${sep}length ${length}`);
    p.complete = false;
    return;
  }
  p.print(sep + pdu.name);
  if (fixedLen !== pdu.fixedLen) {
    p.print(`, bogus fixed header length ${fixedLen} should be ${pdu.fixedLen}`);
    p.complete = false;
    return;
  }
  p.need(off, fixedLen);
  const h = off + HEADER;
  switch (pduType) {
    case 15:
    case 16: {
      p.print(`, src-id ${isisId(p, h + 1, 6)}, lan-id ${isisId(p, h + 12, 7)}, prio ${p.u8(h + 11)}, length ${length}`);
      return;
    }
    case 17:
      p.print(`, src-id ${isisId(p, h + 1, 6)}, length ${length}`);
      return;
    case 18:
    case 20:
      p.print(`, lsp-id ${isisId(p, h + 4, 8)}, seq 0x${p.u32(h + 12).toString(16).padStart(8, '0')}, lifetime ${String(p.u16(h + 2)).padStart(5, ' ')}s`);
      p.print(`, length ${length}`);
      return;
    default:
      // CSNP and PSNP: the source's node ID.
      p.print(`, src-id ${isisId(p, h + 2, 7)}, length ${length}`);
  }
}
