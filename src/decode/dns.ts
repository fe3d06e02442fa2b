/** DNS messages (over UDP and TCP), as tcpdump's domain_print prints them without `-vv`. */

import { formatIp6, type Printer } from './printer.js';

const OPS = ['', ' inv_q', ' stat', ' op3', ' notify', ' update', ' op6', ' op7', ' op8', ' updateA', ' updateD', ' updateDA', ' updateM', ' updateMA', ' zoneInit', ' zoneRef'];
// tcpdump 4.99's table, including its two entries without a leading space.
const RCODES = ['', ' FormErr', ' ServFail', ' NXDomain', ' NotImp', ' Refused', ' YXDomain', ' YXRRSet', ' NXRRSet', ' NotAuth', ' NotZone', ' Resp11', ' Resp12', ' Resp13', ' Resp14', ' NoChange', ' BadVers', 'Resp17', ' Resp18', ' Resp19', ' Resp20', 'Resp21', ' Resp22', ' BadCookie'];
const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG', 9: 'MR', 10: 'NULL', 11: 'WKS', 12: 'PTR',
  13: 'HINFO', 14: 'MINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 19: 'X25', 20: 'ISDN', 21: 'RT', 22: 'NSAP',
  23: 'NSAP_PTR', 24: 'SIG', 25: 'KEY', 26: 'PX', 27: 'GPOS', 28: 'AAAA', 29: 'LOC', 30: 'NXT', 31: 'EID', 32: 'NIMLOC',
  33: 'SRV', 34: 'ATMA', 35: 'NAPTR', 36: 'KX', 37: 'CERT', 38: 'A6', 39: 'DNAME', 40: 'SINK', 41: 'OPT', 42: 'APL',
  43: 'DS', 44: 'SSHFP', 45: 'IPSECKEY', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 49: 'DHCID', 50: 'NSEC3',
  51: 'NSEC3PARAM', 52: 'TLSA', 53: 'SMIMEA', 55: 'HIP', 59: 'CDS', 60: 'CDNSKEY', 61: 'OPENPGPKEY', 62: 'CSYNC',
  63: 'ZONEMD', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 100: 'UINFO', 101: 'UID', 102: 'GID', 103: 'UNSPEC', 104: 'NID',
  105: 'L32', 106: 'L64', 107: 'LP', 108: 'EUI48', 109: 'EUI64', 249: 'TKEY', 250: 'TSIG', 251: 'IXFR', 252: 'AXFR',
  253: 'MAILB', 254: 'MAILA', 255: 'ANY', 256: 'URI', 257: 'CAA', 32768: 'TA', 32769: 'DLV',
};

/** tcpdump's NS_MAXDNAME: the longest name text it has room for; a longer expansion is treated as a loop. */
const MAX_NAME_STEPS = 1025;

/**
 * Reads a (possibly compressed) name starting at `cp`; returns the text and the offset after it
 * in place. As tcpdump's ns_nprint, a pointer must point before the previous one (a forward or
 * self pointer is a loop); the labels and pointers followed are also capped at
 * {@link MAX_NAME_STEPS}, so one name costs a bounded amount of work whatever the message holds.
 */
function readName(p: Printer, msg: number, cp: number): { name: string; next: number } {
  let name = '';
  let next = -1;
  let maxOffset = cp - msg;
  let steps = 0;
  for (;;) {
    if (++steps > MAX_NAME_STEPS) throw new Error('dns name too long');
    const len = p.u8(cp);
    if ((len & 0xc0) === 0xc0) {
      const ptr = ((len & 0x3f) << 8) | p.u8(cp + 1);
      if (next < 0) next = cp + 2;
      if (ptr >= maxOffset) throw new Error('dns loop');
      maxOffset = ptr;
      cp = msg + ptr;
      continue;
    }
    if ((len & 0xc0) !== 0) {
      p.complete = false;
      throw new Error('dns label');
    }
    if (len === 0) {
      if (next < 0) next = cp + 1;
      return { name: name || '.', next };
    }
    p.need(cp + 1, len);
    steps += len;
    for (let i = 0; i < len; i++) {
      const c = p.data[cp + 1 + i];
      if (c === 0x2e || c === 0x5c) name += '\\' + String.fromCharCode(c);
      else if (c > 0x20 && c < 0x7f) name += String.fromCharCode(c);
      else {
        p.complete = false;
        name += `\\${c.toString(8).padStart(3, '0')}`;
      }
    }
    name += '.';
    cp += 1 + len;
  }
}

/** tcpdump's ns_nskip: steps over a name in place without following its pointer (constant work per label). */
function skipName(p: Printer, cp: number): number {
  for (;;) {
    const len = p.u8(cp);
    if ((len & 0xc0) === 0xc0) return cp + 2;
    if ((len & 0xc0) !== 0) {
      p.complete = false;
      throw new Error('dns label');
    }
    cp += 1 + len;
    if (len === 0) return cp;
  }
}

/** Decodes a DNS message at `off` of `length` bytes; `overTcp` means a 2-byte length prefix comes first. */
export function printDomain(p: Printer, off: number, length: number, overTcp: boolean): void {
  p.protocol = 'domain';
  try {
    printDomainInner(p, off, length, overTcp);
  } catch (e) {
    if (e instanceof Error) {
      p.complete = false;
      p.print(' [|domain]');
      return;
    }
    throw e;
  }
}

function printDomainInner(p: Printer, off: number, length: number, overTcp: boolean): void {
  if (overTcp) {
    if (length < 2) {
      p.print(` [DNS over TCP: length ${length} < 2] (invalid)`);
      return;
    }
    length -= 2;
    if (p.u16(off) !== length) {
      p.print(` [prefix length(${p.u16(off)}) != length(${length})] (invalid)`);
      return;
    }
    off += 2;
  }
  if (length < 12) {
    p.print(`domain [length ${length} < 12] (invalid)`);
    return;
  }
  p.need(off, 12);
  const id = p.u16(off);
  const flags = p.u16(off + 2);
  const qd = p.u16(off + 4);
  const an = p.u16(off + 6);
  const ns = p.u16(off + 8);
  const ar = p.u16(off + 10);
  const opcode = (flags >> 11) & 0xf;
  let rcode = flags & 0xf;
  const layer = p.layer('dns', { id, response: (flags & 0x8000) !== 0, opcode, questions: qd, answers: an, authority: ns, additional: ar });
  // The extended rcode lives in an OPT record, as tcpdump finds it first.
  try {
    let cp = off + 12;
    for (let i = 0; i < qd; i++) cp = skipName(p, cp) + 4;
    for (let i = 0; i < an + ns; i++) {
      cp = skipName(p, cp) + 8;
      cp += 2 + p.u16(cp);
    }
    for (let i = 0; i < ar; i++) {
      cp = skipName(p, cp);
      const type = p.u16(cp);
      cp += 4;
      if (type === 41) {
        rcode |= p.u8(cp) << 4;
        break;
      }
      cp += 4;
      cp += 2 + p.u16(cp);
    }
  } catch {
    // tcpdump prints what it can; the sections below report the truncation.
  }
  let cp = off + 12;
  if (flags & 0x8000) {
    p.print(`${id}${OPS[opcode]}${RCODES[rcode] ?? ` Resp${rcode & 0xfff}`}${flags & 0x0400 ? '*' : ''}${flags & 0x0080 ? '' : '-'}${flags & 0x0200 ? '|' : ''}${flags & 0x0020 ? '$' : ''}`);
    if (qd !== 1) p.print(` [${qd}q]`);
    for (let i = 0; i < qd; i++) {
      if (i > 0) p.print(',');
      cp = skipName(p, cp) + 4;
    }
    p.print(` ${an}/${ns}/${ar}`);
    const answers: string[] = [];
    for (let i = 0; i < an; i++) {
      if (i > 0) {
        if (cp >= p.end) {
          p.print(' [|domain]');
          return;
        }
        p.print(',');
      }
      const r = printRecord(p, off, cp);
      answers.push(r.text);
      cp = r.next;
    }
    layer.answerRecords = answers;
  } else {
    p.print(`${id}${OPS[opcode]}${flags & 0x0100 ? '+' : ''}${flags & 0x0010 ? '%' : ''}`);
    const b2 = flags;
    if (b2 & 0x6cf) p.print(` [b2&3=0x${b2.toString(16)}]`);
    if (opcode === 1) {
      if (qd) p.print(` [${qd}q]`);
      if (an !== 1) p.print(` [${an}a]`);
    } else {
      if (an) p.print(` [${an}a]`);
      if (qd !== 1) p.print(` [${qd}q]`);
    }
    if (ns) p.print(` [${ns}n]`);
    if (ar) p.print(` [${ar}au]`);
    const questions: string[] = [];
    for (let i = 0; i < qd; i++) {
      if (i > 0 && cp >= p.end) break;
      const { name, next } = readName(p, off, cp);
      const qtype = p.u16(next);
      const qclass = p.u16(next + 2);
      const t = TYPES[qtype] ?? `Type${qtype}`;
      p.print(` ${t}${classString(p, qclass)}? ${name}`);
      questions.push(`${t}? ${name}`);
      cp = next + 4;
    }
    layer.questionRecords = questions;
  }
  p.print(` (${length})`);
}

function classString(p: Printer, cls: number): string {
  if (cls === 1) return '';
  if (cls === 255) return ' ANY';
  p.complete = false;
  return ` CLASS${cls}`;
}

function printRecord(p: Printer, msg: number, cp: number): { text: string; next: number } {
  const { name: _name, next } = readName(p, msg, cp);
  cp = next;
  // A record whose fixed part was not captured ends the section quietly, as in tcpdump.
  // With -v its owner name was printed first, as tcpdump's ns_rprint does.
  if (!p.has(cp, 10)) {
    const owner = p.options.verbose ? ` ${_name}` : '';
    p.print(owner);
    return { text: owner.trim(), next: p.end };
  }
  const type = p.u16(cp);
  const cls = p.u16(cp + 2);
  cp += 8;
  const rdlen = p.u16(cp);
  cp += 2;
  const rd = cp;
  const end = cp + rdlen;
  // With -v tcpdump names each record's owner.
  let text = p.options.verbose ? ` ${_name}` : '';
  if (cls !== 1 && type !== 41) text += classString(p, cls);
  text += ` ${TYPES[type] ?? `Type${type}`}`;
  switch (type) {
    case 1:
      text += ` ${p.ipaddr(rd)}`;
      break;
    case 28:
      p.need(rd, 16);
      text += ` ${formatIp6(p.data.subarray(rd, rd + 16))}`;
      break;
    case 2: case 5: case 12: case 39:
      text += ` ${readName(p, msg, rd).name}`;
      break;
    case 15:
      text += ` ${readName(p, msg, rd + 2).name} ${p.u16(rd)}`;
      break;
    default:
      p.complete = false;
  }
  p.need(rd, rdlen);
  p.print(text);
  return { text: text.trim(), next: end };
}
