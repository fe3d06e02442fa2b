/** Ethernet II / 802.3 (with LLC) and 802.1Q tags, as tcpdump's ether_common_print prints them. */

import { ethertypeName, ETHERTYPE_8021Q, ETHERTYPE_8021Q9100, ETHERTYPE_8021Q9200, ETHERTYPE_8021QINQ } from './ethertypes.js';
import { printEthertype } from './ethertype-dispatch.js';
import { printLlc } from './llc.js';
import type { Printer } from './printer.js';

const VLAN_TYPES = new Set([ETHERTYPE_8021Q, ETHERTYPE_8021QINQ, ETHERTYPE_8021Q9100, ETHERTYPE_8021Q9200]);

/** Decodes an Ethernet frame at `off` whose wire length is `length`. */
export function printEther(p: Printer, off: number, length: number): void {
  p.protocol = 'ether';
  const caplen = p.end - off;
  if (caplen < 14) {
    p.print(' [|ether]');
    p.complete = true;
    return;
  }
  p.need(off, 12);
  const eflag = p.options.linkHeader;
  // The addresses are formatted only when something prints or records them.
  const base = off;
  const src = p.json ? p.mac(off + 6) : '';
  const dst = p.json ? p.mac(off) : '';
  if (eflag) {
    p.printMac(off + 6);
    p.print(' > ');
    p.printMac(off);
    p.print(', ');
  }
  const origLength = length;
  let lt = p.u16(off + 12);
  off += 14;
  length -= 14;
  const eth = p.json ? p.layer('ether', { src, dst, type: lt }) : undefined;
  let printedLength = false;
  const vlans: { tpid: number; id: number; pcp: number }[] | undefined = p.json ? [] : undefined;
  while (VLAN_TYPES.has(lt)) {
    if (p.end - off < 4 || length < 4) {
      p.protocol = 'vlan';
      p.print(' [|vlan]');
      return;
    }
    const tag = p.u16(off);
    if (eflag) {
      p.print(ethertypeText(lt));
      p.print(printedLength ? ', ' : `, length ${origLength}: `);
      printedLength = true;
      p.print(`${tciString(tag)}, `);
    }
    vlans?.push({ tpid: lt, id: tag & 0xfff, pcp: tag >> 13 });
    lt = p.u16(off + 2);
    off += 4;
    length -= 4;
  }
  if (eth && vlans?.length) {
    eth.vlans = vlans;
    eth.type = lt;
  }
  p.linkHeaderLength = off;
  if (lt <= 1500) {
    // 802.3: the type field is a length, and an 802.2 LLC header follows.
    if (lt < length) length = lt;
    if (eflag) {
      p.print('802.3');
      if (!printedLength) p.print(`, length ${length}: `);
    }
    const savedEnd = p.end;
    p.end = Math.min(p.end, off + length);
    printLlc(p, off, length, { src: p.mac(base + 6), dst: p.mac(base) });
    p.end = savedEnd;
    return;
  }
  if (eflag) {
    p.print(ethertypeText(lt));
    if (printedLength) p.print(', ');
    else {
      p.print(', length ');
      p.printUint(origLength);
      p.print(': ');
    }
  }
  if (!printEthertype(p, lt, off, length)) {
    if (!eflag) {
      p.print(`${p.mac(base + 6)} > ${p.mac(base)}, ethertype ${ethertypeName(lt)} (0x${lt.toString(16).padStart(4, '0')}), length ${origLength}: `);
    }
    p.complete = false;
  }
}

/** `ethertype NAME (0xXXXX)` by type, made once per type seen. */
const ethertypeTexts = new Map<number, string>();
function ethertypeText(t: number): string {
  let text = ethertypeTexts.get(t);
  if (text === undefined) {
    text = `ethertype ${ethertypeName(t)} (0x${t.toString(16).padStart(4, '0')})`;
    ethertypeTexts.set(t, text);
  }
  return text;
}

/** `vlan 100, p 0` plus `, DEI` when set, as ieee8021q_tci_string. */
function tciString(tci: number): string {
  return `vlan ${tci & 0xfff}, p ${tci >> 13}${tci & 0x1000 ? ', DEI' : ''}`;
}
