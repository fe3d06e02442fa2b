/** TCP, as tcpdump's tcp_print prints it: flags, relative seq/ack, window, options, length. */

import { printDomain } from './dns.js';
import { inCksum, shouldBe } from './ip.js';
import { printMptcp } from './mptcp.js';
import { type Printer, flagString } from './printer.js';
import { printHttp } from './txtproto.js';

/** What the network layer tells the transport decoders. */
export interface IpContext {
  v6: boolean;
  /** Offset of the IP header (for checksums). */
  ipStart: number;
  src: string;
  dst: string;
  fragmented: boolean;
  /** The next-header value that led here (IPv6 extension headers change how addresses print). */
  nextHeader?: number;
}

const FLAGS = [[0x01, 'F'], [0x02, 'S'], [0x04, 'R'], [0x08, 'P'], [0x10, '.'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W']] as const;
const OPTION_NAMES: Record<number, string> = {
  0: 'eol', 1: 'nop', 2: 'mss', 3: 'wscale', 4: 'sackOK', 5: 'sack', 6: 'echo', 7: 'echoreply', 8: 'TS', 11: 'cc',
  12: 'ccnew', 13: 'ccecho', 19: 'md5', 20: 'scps', 28: 'uto', 29: 'tcp-ao', 30: 'mptcp', 34: 'tfo', 254: 'exp',
};
/** `Flags [...]` for every flags byte, made once. */
const FLAG_TEXT: readonly string[] = Array.from({ length: 256 }, (_, f) => `Flags [${flagString(f, FLAGS)}]`);
/** Options we print completely; tcpdump decodes the others further. */
const SIMPLE_OPTIONS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 30]);
/** TCP ports whose payload tcpdump decodes further (print-tcp.c). */
const DECODED_PORTS = new Set([21, 22, 23, 25, 43, 80, 139, 179, 323, 445, 554, 639, 646, 1723, 2049, 6379, 6633, 6653, 8080, 8554, 10288, 111]);

/** Ports tcp_print tests before HTTP's (telnet, SMTP, whois, BGP, PPTP, redis, SSH, NetBIOS, SMB, BEEP, OpenFlow, FTP). */
const BEFORE_HTTP = [23, 25, 43, 179, 1723, 6379, 22, 139, 445, 10288, 6633, 6653, 21];

export function printTcp(p: Printer, off: number, length: number, ip: IpContext): void {
  p.protocol = 'tcp';
  if (!p.has(off + 2, 2)) {
    p.print(`${ip.src} > ${ip.dst}:`);
    p.need(off + 2, 2);
  }
  const sport = p.u16(off);
  const dport = p.u16(off + 2);
  printEndpoints(p, ip, sport, dport);
  const layer = p.json ? p.layer('tcp', { srcPort: sport, dstPort: dport }) : undefined;
  let hlen = (p.u8(off + 12) >> 4) * 4;
  if (hlen < 20) {
    p.print(` tcp ${length - hlen} [bad hdr length ${hlen} - too short, < 20]`);
    p.print(' (invalid)');
    return;
  }
  let seq = p.u32(off + 4);
  let ack = p.u32(off + 8);
  const win = p.u16(off + 14);
  const urp = p.u16(off + 18);
  if (p.options.quick) {
    p.print(`tcp ${length - hlen}`);
    if (hlen > length) p.print(` [bad hdr length ${hlen} - too long, > ${length}] (invalid)`);
    return;
  }
  const flags = p.u16(off + 12) & 0xff;
  p.print(FLAG_TEXT[flags]);
  if (layer) Object.assign(layer, { flags, seq, ack, window: win });
  let thseq = 0;
  let thack = 0;
  let rev = false;
  if (!p.options.absoluteSeq && flags & 0x10) {
    // tcpdump keys one entry per conversation in an arbitrary but fixed order.
    rev = sport > dport || (sport === dport && compareAddr(p, ip) > 0);
    const n = ip.v6 ? 16 : 4;
    const srcOff = ip.ipStart + (ip.v6 ? 8 : 12);
    const dstOff = srcOff + n;
    const table = p.state.tcpSeq;
    let th = rev ? table.find(p.data, dstOff, srcOff, n, dport, sport) : table.find(p.data, srcOff, dstOff, n, sport, dport);
    if (th === undefined || flags & 0x02) {
      const s0 = rev ? (ack - 1) >>> 0 : seq;
      const a0 = rev ? seq : (ack - 1) >>> 0;
      if (th === undefined) th = table.add(s0, a0);
      else {
        th.seq = s0;
        th.ack = a0;
      }
      thseq = s0;
      thack = a0;
    } else {
      if (rev) {
        seq = (seq - th.ack) >>> 0;
        ack = (ack - th.seq) >>> 0;
      } else {
        seq = (seq - th.seq) >>> 0;
        ack = (ack - th.ack) >>> 0;
      }
      thseq = th.seq;
      thack = th.ack;
    }
  }
  if (hlen > length) {
    p.print(` [bad hdr length ${hlen} - too long, > ${length}]`);
    p.print(' (invalid)');
    return;
  }
  if (p.options.verbose && !ip.fragmented && p.has(off, length)) {
    const sum = transportChecksum(p, off, length, ip, 6);
    const stored = p.u16(off + 16);
    p.print(', cksum 0x');
    p.out.writeHex(stored, 4);
    p.print(sum !== 0 ? ` (incorrect -> 0x${shouldBe(stored, sum).toString(16).padStart(4, '0')})` : ' (correct)');
  }
  length -= hlen;
  if (p.options.verbose > 1 || length > 0 || flags & 0x07) {
    p.print(', seq ');
    p.printUint(seq);
    if (length > 0) {
      p.out.writeByte(0x3a);
      p.printUint((seq + length) >>> 0);
    }
  }
  if (flags & 0x10) {
    p.print(', ack ');
    p.printUint(ack);
  } else if (p.options.verbose > 1 && ack !== 0) p.print(`, [ack ${ack} != 0 while ACK flag not set]`);
  p.print(', win ');
  p.printUint(win);
  if (flags & 0x20) p.print(`, urg ${urp}`);
  else if (p.options.verbose > 1 && urp !== 0) p.print(`, [urg ${urp} != 0 while URG flag not set]`);
  if (hlen > 20) {
    hlen -= 20;
    let cp = off + 20;
    p.print(', options [');
    let first = true;
    while (hlen !== 0) {
      if (!first) p.print(',');
      first = false;
      const opt = p.u8(cp++);
      let len: number;
      if (opt === 0 || opt === 1) len = 1;
      else {
        len = p.u8(cp++);
        if (len < 2 || len > hlen) {
          p.print(OPTION_NAMES[opt] ?? `unknown-${opt}`);
          p.print('[bad opt]');
          p.complete = false;
          return;
        }
        hlen--;
      }
      hlen--;
      p.print(OPTION_NAMES[opt] ?? `unknown-${opt}`);
      let datalen = 0;
      if (!SIMPLE_OPTIONS.has(opt)) p.complete = false;
      if (!p.has(cp, Math.min(len - 2, hlen)) && opt !== 0 && opt !== 1) {
        // tcpdump's option printer reports a truncated option with its own trailing '>'.
        p.print(' [|tcp]>');
        return;
      }
      switch (opt) {
        case 2:
          datalen = 2;
          if (datalen > hlen) return badOpt(p);
          p.out.writeByte(0x20);
          p.printUint(p.u16(cp));
          break;
        case 3:
          datalen = 1;
          if (datalen > hlen) return badOpt(p);
          p.out.writeByte(0x20);
          p.printUint(p.u8(cp));
          break;
        case 5:
          datalen = len - 2;
          if (datalen % 8 !== 0) p.print(' invalid sack');
          else {
            p.print(` ${datalen / 8} `);
            for (let i = 0; i < datalen; i += 8) {
              if (i + 8 > hlen) return badOpt(p);
              let s = p.u32(cp + i);
              let e = p.u32(cp + i + 4);
              const base = rev ? thseq : thack;
              s = (s - base) >>> 0;
              e = (e - base) >>> 0;
              p.print(`{${s}:${e}}`);
            }
          }
          break;
        case 6: case 7: case 11: case 12: case 13:
          datalen = 4;
          if (datalen > hlen) return badOpt(p);
          p.print(` ${p.u32(cp)}`);
          break;
        case 8:
          datalen = 8;
          if (datalen > hlen) return badOpt(p);
          p.print(' val ');
          p.printUint(p.u32(cp));
          p.print(' ecr ');
          p.printUint(p.u32(cp + 4));
          break;
        case 0: case 1: case 4:
          break;
        case 30:
          datalen = len - 2;
          if (datalen > hlen) return badOpt(p);
          if (!printMptcp(p, cp - 2, len, flags)) {
            // tcpdump closes the option list after the mark.
            p.print('[bad opt]]');
            return;
          }
          break;
        default:
          // tcpdump decodes these further (md5, mptcp, tfo, uto, ...).
          p.complete = false;
          datalen = len - 2;
          if (datalen > hlen) return badOpt(p);
          break;
      }
      cp += datalen;
      hlen -= datalen;
      datalen += opt === 0 || opt === 1 ? 1 : 2;
      if (datalen !== len) p.print(`[len ${len}]`);
      if (opt === 0) break;
    }
    p.print(']');
  }
  p.print(', length ');
  p.printUint(length);
  if (layer) layer.payloadLength = length;
  if (length <= 0) return;
  const payload = off + (p.u8(off + 12) >> 4) * 4;
  if (flags & 0x04 && p.options.verbose) {
    p.complete = false;
    return;
  }
  if (sport === 53 || dport === 53) {
    p.print(' ');
    printDomain(p, payload, length, true);
  } else if (printTcpApp(p, firstPortOf(BEFORE_HTTP, sport, dport))) {
    // printed by the port's decoder
  } else if ((sport === 80 || dport === 80 || sport === 8080 || dport === 8080) && firstPortOf(BEFORE_HTTP, sport, dport) === undefined) {
    p.print(': ');
    printHttp(p, payload, length);
  } else if (DECODED_PORTS.has(sport) || DECODED_PORTS.has(dport)) {
    p.complete = false;
  }
}

/**
 * The decoders of the first port tcp_print tests that matched: BGP says `: BGP` and, without -v,
 * nothing more; OpenFlow says `: OpenFlow` and lists the messages on further lines (not decoded here).
 */
function printTcpApp(p: Printer, port: number | undefined): boolean {
  switch (port) {
    case 179:
      p.print(': BGP');
      if (p.options.verbose) p.complete = false;
      return true;
    case 6633:
    case 6653:
      p.print(': OpenFlow');
      p.complete = false;
      return true;
    default:
      return false;
  }
}

/** The first of `ports` that is `sport` or `dport`. */
function firstPortOf(ports: readonly number[], sport: number, dport: number): number | undefined {
  for (const port of ports) if (sport === port || dport === port) return port;
  return undefined;
}

/** `src.sport > dst.dport: `, written piece by piece. */
export function printEndpoints(p: Printer, ip: IpContext, sport: number, dport: number): void {
  p.print(ip.src);
  p.out.writeByte(0x2e);
  p.printUint(sport);
  p.print(' > ');
  p.print(ip.dst);
  p.out.writeByte(0x2e);
  p.printUint(dport);
  p.print(': ');
}

function badOpt(p: Printer): void {
  p.print('[bad opt]');
  p.complete = false;
}

function compareAddr(p: Printer, ip: IpContext): number {
  const n = ip.v6 ? 16 : 4;
  const s = ip.v6 ? ip.ipStart + 8 : ip.ipStart + 12;
  const d = s + n;
  for (let i = 0; i < n; i++) {
    const diff = p.data[s + i] - p.data[d + i];
    if (diff) return diff;
  }
  return 0;
}

/** The TCP/UDP checksum over the pseudo-header and `length` bytes at `off` (0 when right). */
export function transportChecksum(p: Printer, off: number, length: number, ip: IpContext, proto: number): number {
  let sum = 0;
  const d = p.data;
  const from = ip.ipStart + (ip.v6 ? 8 : 12);
  const to = from + (ip.v6 ? 32 : 8);
  for (let o = from; o < to; o += 2) sum += (d[o] << 8) | d[o + 1];
  sum += proto + length;
  return inCksum(p.data, off, length, sum);
}
