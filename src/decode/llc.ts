/** IEEE 802.2 LLC and SNAP headers, as tcpdump's llc_print and snap_print print them, handing on to IP, STP and ethertypes. */

import { printEthertype } from './ethertype-dispatch.js';
import { ethertypeName } from './ethertypes.js';
import { printIp } from './ip.js';
import { printIsis } from './isis.js';
import type { Printer } from './printer.js';
import { printStp } from './stp.js';

const SAP_NAMES: Record<number, string> = {
  0x00: 'Null', 0xff: 'Global', 0x02: '802.1B I', 0x03: '802.1B G', 0x06: 'IP', 0x04: 'SNA', 0x0e: 'ProWay NM', 0x42: 'STP',
  0x4e: 'RS511', 0x7e: 'ISO8208', 0x8e: 'ProWay', 0xaa: 'SNAP', 0xe0: 'IPX', 0xf0: 'NetBeui', 0xfe: 'OSI',
};
const SUPERVISORY: Record<number, string> = { 0: 'Receiver Ready', 1: 'Receiver not Ready', 2: 'Reject' };
const OUI_NAMES: Record<number, string> = { 0x000000: 'Ethernet', 0x00000c: 'Cisco', 0x0000f8: 'Cisco bridged', 0x080007: 'Appletalk' };
const CISCO_PIDS: Record<number, string> = { 0x2000: 'CDP', 0x2003: 'VTP', 0x2004: 'DTP', 0x0111: 'UDLD', 0x010b: 'PVST', 0x010c: 'VLAN Bridge' };
const LLC_UI = 0x03;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** The response bit and the poll/final bit together, as llc_flag_values names them. */
function flagName(response: boolean, poll: boolean): string {
  return poll ? (response ? 'Final' : 'Poll') : response ? 'Response' : 'Command';
}

/**
 * Decodes an LLC header at `off` (`length` bytes of LLC and payload). `addrs` are the link-level
 * source and destination that tcpdump prints before an undecoded SAP.
 */
export function printLlc(p: Printer, off: number, length: number, addrs?: { src: string; dst: string }): void {
  p.protocol = 'llc';
  if (length < 3 || !p.has(off, 3)) {
    // tcpdump prints the truncation mark and a hex dump of what is there.
    p.complete = false;
    return;
  }
  const dsapField = p.u8(off);
  const ssapField = p.u8(off + 1);
  let control = p.u8(off + 2);
  const isU = (control & 3) === 3;
  let hdrlen = 3;
  if (!isU) {
    if (length < 4 || !p.has(off, 4)) {
      p.complete = false;
      return;
    }
    control = p.u16le(off + 2);
    hdrlen = 4;
  }
  if (dsapField === 0xff && ssapField === 0xff) {
    // Novell "raw 802.3" IPX: tcpdump decodes IPX, we do not.
    p.complete = false;
    return;
  }
  const dsap = dsapField & 0xfe;
  const ssap = ssapField & 0xfe;
  p.layer('llc', { dsap, ssap, control });
  if (p.options.linkHeader) {
    p.print(`LLC, dsap ${SAP_NAMES[dsap] ?? 'Unknown'} (0x${hex(dsap, 2)}) ${dsapField & 1 ? 'Group' : 'Individual'}, ssap ${SAP_NAMES[ssap] ?? 'Unknown'} (0x${hex(ssap, 2)}) ${ssapField & 1 ? 'Response' : 'Command'}`);
    p.print(isU ? `, ctrl 0x${hex(control, 2)}: ` : `, ctrl 0x${hex(control, 4)}: `);
  }
  off += hdrlen;
  length -= hdrlen;
  if (control === LLC_UI && ssap === dsap) {
    if (ssap === 0xaa) {
      printSnap(p, off, length, addrs);
      return;
    }
    if (ssap === 0x42) {
      printStp(p, off, length);
      return;
    }
    if (ssap === 0x06) {
      printIp(p, off, length);
      return;
    }
  }
  if (control === LLC_UI && ssap === 0xfe && dsap === 0xfe && p.has(off, 1) && p.u8(off) === 0x83) {
    printIsis(p, off, length);
    return;
  }
  if (ssap === dsap && (ssap === 0xe0 || ssap === 0xf0 || ssap === 0xfe)) {
    // IPX, NetBEUI and OSI: tcpdump decodes them further than we do.
    p.complete = false;
    return;
  }
  if (!p.options.linkHeader) {
    const prefix = addrs ? `${addrs.src} ` : '';
    if (ssap === dsap) p.print(addrs ? `${addrs.src} > ${addrs.dst} ${SAP_NAMES[dsap] ?? `Unknown DSAP 0x${hex(dsap, 2)}`} ` : `${SAP_NAMES[dsap] ?? `Unknown DSAP 0x${hex(dsap, 2)}`} `);
    else p.print(`${prefix}${SAP_NAMES[ssap] ?? `Unknown SSAP 0x${hex(ssap, 2)}`} > ${addrs ? `${addrs.dst} ` : ''}${SAP_NAMES[dsap] ?? `Unknown DSAP 0x${hex(dsap, 2)}`} `);
  }
  const response = (ssapField & 1) !== 0;
  if (isU) {
    // Unnumbered frames: tcpdump follows the line with a hex dump of the frame (or XID fields).
    p.complete = false;
    return;
  }
  if ((control & 3) === 1) {
    p.print(`Supervisory, ${SUPERVISORY[(control >> 2) & 3] ?? '?'}, rcv seq ${control >> 9}, Flags [${flagName(response, (control & 0x100) !== 0)}], length ${length + hdrlen}`);
    return;
  }
  // Information frames carry data that tcpdump dumps in hex.
  p.complete = false;
}

/** Decodes a SNAP header at `off` and its payload. */
function printSnap(p: Printer, off: number, length: number, addrs?: { src: string; dst: string }): void {
  p.protocol = 'snap';
  p.need(off, 5);
  if (length < 5) {
    p.print(' [|snap]');
    return;
  }
  const oui = (p.u8(off) << 16) | p.u16(off + 1);
  const et = p.u16(off + 3);
  p.layer('snap', { oui, pid: et });
  if (p.options.linkHeader) {
    const pidName = oui === 0 || oui === 0xf8 || oui === 0x080007 ? ethertypeName(et) : oui === 0x0c ? CISCO_PIDS[et] ?? 'Unknown' : 'Unknown';
    if (OUI_NAMES[oui] === undefined) p.complete = false;
    p.print(`oui ${OUI_NAMES[oui] ?? 'Unknown'} (0x${hex(oui, 6)}), ${oui === 0 ? 'ethertype' : 'pid'} ${pidName} (0x${hex(et, 4)}), length ${length - 5}: `);
  }
  off += 5;
  length -= 5;
  if ((oui === 0 || oui === 0xf8) && printEthertype(p, et, off, length)) return;
  if (oui === 0x0c && (et === 0x010b || et === 0x010c)) {
    printStp(p, off, length);
    return;
  }
  // Other OUIs (CDP, bridged frames...) or an ethertype we do not decode: tcpdump prints more, or a hex dump.
  p.complete = false;
  if (!p.options.linkHeader) {
    if (addrs) p.print(`${addrs.src} > ${addrs.dst} `);
    if (oui === 0) p.print(`SNAP, ethertype ${ethertypeName(et)} (0x${hex(et, 4)}), length ${length}: `);
  }
}
