/** Application decoders behind UDP ports (tcpdump's udp_print port dispatch): HSRP, NTP and BOOTP/DHCP summaries. */

import { flagString, type Printer } from './printer.js';
import { printPtp } from './ptp.js';
import { printEther } from './ether.js';
import { printEthertype } from './ethertype-dispatch.js';
import { ethertypeName } from './ethertypes.js';

/** Prints the UDP payload of `length` bytes at `off`; false when the text is shorter than tcpdump's. */
export type UdpAppPrinter = (p: Printer, off: number, length: number, dport: number) => boolean;

const HSRP_OPS = ['hello', 'coup', 'resign'];
const HSRP_STATES: Record<number, string> = { 0: 'initial', 1: 'learn', 2: 'listen', 4: 'speak', 8: 'standby', 16: 'active' };
const NTP_MODES = ['unspecified', 'symmetric active', 'symmetric passive', 'Client', 'Server', 'Broadcast', 'Control Message', 'Reserved'];
const BOOTP_OPS: Record<number, string> = { 1: 'Request', 2: 'Reply' };

/** Seconds as tcpdump's unsigned_relts_print: `1h2m3s`, `0s` for none. */
export function relativeTime(secs: number): string {
  if (secs === 0) return '0s';
  let s = '';
  for (const [n, unit] of [[31536000, 'y'], [604800, 'w'], [86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']] as const) {
    if (secs >= n) {
      s += `${Math.floor(secs / n)}${unit}`;
      secs %= n;
    }
  }
  return s;
}

/** Up to `n` bytes as text, stopping at a NUL, unprintable bytes escaped (tcpdump's nd_printjnp). */
export function printableText(p: Printer, off: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    let c = p.u8(off + i);
    if (c === 0) break;
    if (c > 0x7f) {
      s += 'M-';
      c &= 0x7f;
    }
    s += c < 0x20 || c === 0x7f ? `^${String.fromCharCode(c ^ 0x40)}` : String.fromCharCode(c);
  }
  return s;
}

/** HSRP version 0 (RFC 2281), print-hsrp.c. */
function printHsrp(p: Printer, off: number, length: number): boolean {
  p.protocol = 'hsrp';
  const version = p.u8(off);
  p.print(`HSRPv${version}`);
  if (version !== 0) return true;
  const op = p.u8(off + 1);
  p.print(`-${HSRP_OPS[op] ?? `unknown (${op})`} ${length}: `);
  const state = p.u8(off + 2);
  p.print(`state=${HSRP_STATES[state] ?? `Unknown (${state})`} group=${p.u8(off + 6)} `);
  const reserved = p.u8(off + 7);
  if (reserved !== 0) p.print(`[reserved=${reserved}!] `);
  p.print(`addr=${p.ipaddr(off + 16)}`);
  if (p.options.verbose) {
    p.print(` hellotime=${relativeTime(p.u8(off + 3))} holdtime=${relativeTime(p.u8(off + 4))} priority=${p.u8(off + 5)}`);
    p.print(` auth="${printableText(p, off + 8, 8)}"`);
  }
  return true;
}

/** NTP: the one-line summary; `-v` adds the whole header on further lines, which we do not print. */
function printNtp(p: Printer, off: number, length: number): boolean {
  p.protocol = 'ntp';
  const status = p.u8(off);
  p.print(`NTPv${(status >> 3) & 7}`);
  p.print(`, ${NTP_MODES[status & 7]}, length ${length}`);
  return !p.options.verbose;
}

/** BOOTP/DHCP: the one-line summary; `-v` prints the fields and options, which we do not. */
function printBootp(p: Printer, off: number, length: number): boolean {
  p.protocol = 'bootp';
  const op = p.u8(off);
  p.print(`BOOTP/DHCP, ${BOOTP_OPS[op] ?? `unknown (0x${op.toString(16).padStart(2, '0')})`}`);
  if (op === 1 && p.u8(off + 1) === 1 && p.u8(off + 2) === 6) p.print(` from ${p.mac(off + 28)}`);
  p.print(`, length ${length}`);
  return !p.options.verbose;
}

function ptpOverUdp(p: Printer, off: number): boolean {
  printPtp(p, off);
  return true;
}

const BFD_PORTS: Record<number, string> = { 3784: 'Control', 4784: 'Multihop', 6784: 'Lag' };
const BFD_STATES = ['AdminDown', 'Down', 'Init', 'Up'];
const BFD_FLAGS = [[0x20, 'Poll'], [0x10, 'Final'], [0x08, 'Control Plane Independent'], [0x04, 'Authentication Present'], [0x02, 'Demand'], [0x01, 'Multipoint']] as const;

/** BFD version 1 control packets (RFC 5880); tcpdump names the session kind by the destination port. */
function printBfd(p: Printer, off: number, length: number, dport: number): boolean {
  p.protocol = 'bfd';
  if (dport === 3785) {
    // Echo packets are opaque to all but their sender: tcpdump names them (and dumps them with -v).
    p.print(`BFD, Echo, length: ${length}`);
    return !p.options.verbose;
  }
  const version = p.u8(off) >> 5;
  if (version !== 1) {
    // Version 0 prints differently; not decoded here.
    p.print(`BFDv${version}`);
    return false;
  }
  const flags = p.u8(off + 1);
  p.print(`BFDv1, ${BFD_PORTS[dport] ?? `unknown (${dport})`}, State ${BFD_STATES[flags >> 6]}, Flags: [${flagString(flags & 0x3f, BFD_FLAGS, ', ')}], length: ${length}`);
  return !p.options.verbose;
}

/** sFlow version 5 datagrams: the agent line, which is all tcpdump prints without -v. */
function printSflow(p: Printer, off: number, length: number): boolean {
  p.protocol = 'sflow';
  const version = p.u32(off);
  // The fixed datagram header (with an IPv4 agent) is 28 bytes.
  if (length < 28) {
    p.print(`sFlowv${version} [length ${length} < 28] (invalid)`);
    return version === 5;
  }
  if (version !== 5) {
    p.print(`sFlow version ${version} packet not supported`);
    return true;
  }
  const v6 = p.u32(off + 4) === 2;
  const agent = v6 ? p.ip6addr(off + 8) : p.ipaddr(off + 8);
  const agentId = p.u32(off + (v6 ? 24 : 12));
  p.print(`sFlowv5, ${v6 ? 'IPv6' : 'IPv4'} agent ${agent}, agent-id ${agentId}, length ${length}`);
  return !p.options.verbose;
}

const GENEVE_FLAGS = [[0x80, 'O'], [0x40, 'C']] as const;

/** Geneve (RFC 8926): the tunnel header, its options' size, then the inner frame by its protocol type. */
function printGeneve(p: Printer, off: number, length: number): boolean {
  p.protocol = 'geneve';
  p.print('Geneve');
  const verOpt = p.u8(off);
  if (verOpt >> 6 !== 0) {
    p.print(` ERROR: unknown-version ${verOpt >> 6}`);
    return true;
  }
  const flags = p.u8(off + 1);
  const proto = p.u16(off + 2);
  const vni = (p.u16(off + 4) << 8) | p.u8(off + 6);
  const reserved = p.u8(off + 7);
  const optLen = (verOpt & 0x3f) * 4;
  if (length < 8 + optLen) {
    p.print(` [bad opt len ${optLen}]`);
    return true;
  }
  p.print(`, Flags [${flagString(flags, GENEVE_FLAGS)}], vni 0x${vni.toString(16)}`);
  if (reserved) p.print(`, rsvd 0x${reserved.toString(16)}`);
  if (p.options.linkHeader) p.print(`, proto ${ethertypeName(proto) === 'Unknown' ? 'unknown' : ethertypeName(proto)} (0x${proto.toString(16).padStart(4, '0')})`);
  if (optLen) p.print(`, options [${optLen} bytes]`);
  // -v prints the options and starts the inner frame on a new line: not decoded here.
  if (p.options.verbose) return false;
  p.print(': ');
  const inner = off + 8 + optLen;
  const innerLen = length - 8 - optLen;
  if (!printEthertype(p, proto, inner, innerLen)) {
    if (proto === 0x6558) {
      // The inner frame's header is not the capture's link header (the -x dump starts after the outer one).
      const linkHeaderLength = p.linkHeaderLength;
      printEther(p, inner, innerLen);
      p.linkHeaderLength = linkHeaderLength;
    }
    else p.print(`geneve-proto-0x${proto.toString(16)}`);
  }
  return true;
}

/** TLV names by type; others are printed in ways not decoded here. */
const BABEL_TLVS: Record<number, string> = {
  0: 'pad1', 1: 'padN', 2: 'ack-req', 3: 'ack', 4: 'hello', 5: 'ihu', 6: 'router-id', 7: 'nh', 8: 'update', 9: 'request',
  10: 'seqno-request', 11: 'tspc', 12: 'hmac', 16: 'mac', 17: 'pc',
};

/** Babel version 2 (RFC 8966) without -v: the body length and each TLV's name, one step per TLV. */
function printBabel(p: Printer, off: number, length: number): boolean {
  p.protocol = 'babel';
  p.print('babel');
  if (p.u8(off) !== 42) {
    p.print(' invalid header');
    return true;
  }
  const version = p.u8(off + 1);
  p.print(` ${version}`);
  if (version !== 2) {
    p.print(' unknown version');
    return true;
  }
  const bodylen = p.u16(off + 2);
  p.print(` (${bodylen})`);
  // -v lists the TLVs on lines of their own, which are not decoded here.
  if (p.options.verbose) return false;
  if (length < 4 + bodylen) {
    // A body longer than the datagram: tcpdump's exact account of it is not reproduced.
    p.print(' (invalid)');
    return false;
  }
  let known = babelTlvs(p, off + 4, bodylen);
  // What follows the body is the packet trailer (RFC 8967: MACs), after a bar.
  if (length - 4 > bodylen) {
    p.print(' |');
    known = babelTlvs(p, off + 4 + bodylen, length - 4 - bodylen) && known;
  }
  return known;
}

/** The names of the TLVs in `n` bytes at `off`; false when one is of a type not decoded here. */
function babelTlvs(p: Printer, off: number, n: number): boolean {
  let known = true;
  for (let i = 0; i < n; ) {
    const m = off + i;
    const type = p.u8(m);
    if (type === 0) {
      p.print(' pad1');
      i += 1;
      continue;
    }
    const len = p.u8(m + 1);
    if (i + 2 + len > n) {
      p.print(' (invalid)');
      return false;
    }
    p.need(m, 2 + len);
    const name = BABEL_TLVS[type];
    if (name === undefined) known = false;
    p.print(` ${name ?? 'unknown'}`);
    if (type === 8) {
      if (len < 10) p.print('/truncated');
      else {
        const flags = p.u8(m + 3);
        p.print(`${flags & 0x80 ? '/prefix' : ''}${flags & 0x40 ? '/id' : ''}${flags & 0x3f ? '/unknown' : ''}`);
      }
    }
    i += len + 2;
  }
  return known;
}

const LI_DIRECTIONS: Record<number, string> = { 1: 'unused', 2: 'egress', 3: 'ingress' };
const LI_TYPES: Record<number, string> = { 4: 'undecided', 5: 'ipv4', 6: 'ipv6', 7: 'ethernet' };
const LI_SUBTYPES: Record<number, string> = { 1: 'single VLAN tag', 2: 'double VLAN tag', 3: 'untagged' };

/** Broadcom lawful-intercept shim: its 4-byte header; -v decodes the intercepted packet, which we do not. */
function printBcmLi(p: Printer, off: number, length: number): boolean {
  p.protocol = 'bcm_li';
  if (length < 4) {
    p.print(` (length ${length} < 4) (invalid)`);
    return true;
  }
  const shim = p.u32(off);
  if (p.options.verbose) return false;
  p.print(`BCM-LI-SHIM: direction ${LI_DIRECTIONS[shim >>> 29] ?? 'unknown'}, pkt-type ${LI_TYPES[(shim >>> 25) & 0xf] ?? 'unknown'}`);
  p.print(`, pkt-subtype ${LI_SUBTYPES[(shim >>> 22) & 7] ?? 'unknown'}, li-id ${shim & 0x3fffff}`);
  // tcpdump checks that the whole payload was captured.
  p.need(off + 4, length - 4);
  return true;
}

/** By UDP port, either side. */
export const UDP_APPS = new Map<number, UdpAppPrinter>([
  [67, printBootp],
  [68, printBootp],
  [123, printNtp],
  [319, ptpOverUdp],
  [320, ptpOverUdp],
  [1985, printHsrp],
  [3784, printBfd],
  [3785, printBfd],
  [4784, printBfd],
  [6081, printGeneve],
  [49152, printBcmLi],
  [6696, printBabel],
  [6697, printBabel],
  [6343, printSflow],
  [6784, printBfd],
]);
