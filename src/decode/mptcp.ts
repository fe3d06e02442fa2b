/** Multipath TCP options (TCP option 30), as tcpdump's mptcp_print prints them inside `options [...]`. */

import { HEX2, type Printer } from './printer.js';

const TH_SYN = 0x02;
const TH_ACK = 0x10;

/** ADD_ADDR's low nibble: version and echo bit (RFC 8684 3.4.1). */
const ADD_ADDR_KIND: Record<number, string> = { 6: 'v0-ip6', 4: 'v0-ip4', 1: 'v1-echo', 0: 'v1' };

type SubtypePrinter = (p: Printer, off: number, len: number, flags: number) => boolean;

/** An unsigned 64-bit big-endian value at `off`, as a bigint. */
function u64(p: Printer, off: number): bigint {
  return (BigInt(p.u32(off)) << 32n) | BigInt(p.u32(off + 4));
}

const hex64 = (p: Printer, off: number): string => `0x${u64(p, off).toString(16)}`;

function capable(p: Printer, off: number, len: number, flags: number): boolean {
  if (!((len === 12 || len === 4) && flags & TH_SYN) && !((len === 20 || len === 22 || len === 24) && (flags & (TH_SYN | TH_ACK)) === TH_ACK)) return false;
  const version = p.u8(off + 2) & 0xf;
  if (version > 1) {
    p.print(` Unknown Version (${version})`);
    return true;
  }
  p.print(` v${version}`);
  if (p.u8(off + 3) & 0x80) p.print(' csum');
  if (len === 12 || len >= 20) {
    p.print(` {${hex64(p, off + 4)}`);
    if (len >= 20) p.print(`,${hex64(p, off + 12)}`);
    p.print('}');
  }
  return true;
}

function join(p: Printer, off: number, len: number, flags: number): boolean {
  if (!(len === 12 && flags & TH_SYN) && !(len === 16 && (flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK)) && !(len === 24 && flags & TH_ACK)) return false;
  if (len !== 24) {
    if (p.u8(off + 2) & 1) p.print(' backup');
    p.print(` id ${p.u8(off + 3)}`);
  }
  if (len === 12) p.print(` token 0x${p.u32(off + 4).toString(16)} nonce 0x${p.u32(off + 8).toString(16)}`);
  else if (len === 16) p.print(` hmac ${hex64(p, off + 4)} nonce 0x${p.u32(off + 12).toString(16)}`);
  else {
    p.need(off + 4, 20);
    let mac = '';
    for (let i = 0; i < 20; i++) mac += HEX2[p.data[off + 4 + i]];
    p.print(` hmac 0x${mac}`);
  }
  return true;
}

function dss(p: Printer, off: number, len: number, flags: number): boolean {
  if (len < 4 || flags & TH_SYN) return false;
  const f = p.u8(off + 3);
  if (f & 0x10) p.print(' fin');
  let o = off + 4;
  let left = len - 4;
  // A number of 8 bytes when `wide`, else of 4.
  const number = (wide: boolean): boolean => {
    const n = wide ? 8 : 4;
    if (left < n) return false;
    p.print(wide ? u64(p, o).toString() : String(p.u32(o)));
    o += n;
    left -= n;
    return true;
  };
  if (f & 0x01) {
    p.print(' ack ');
    if (!number((f & 0x02) !== 0)) return false;
  }
  if (f & 0x04) {
    p.print(' seq ');
    if (!number((f & 0x08) !== 0)) return false;
    if (left < 4) return false;
    p.print(` subseq ${p.u32(o)}`);
    o += 4;
    left -= 4;
    if (left < 2) return false;
    p.print(` len ${p.u16(o)}`);
    o += 2;
    left -= 2;
    if (left >= 2) {
      p.print(` csum 0x${p.u16(o).toString(16)}`);
      left -= 2;
    }
  }
  return left === 0;
}

function addAddr(p: Printer, off: number, len: number): boolean {
  if (![8, 10, 16, 18, 20, 22, 28, 30].includes(len)) return false;
  p.print(` ${ADD_ADDR_KIND[p.u8(off + 2) & 0xf] ?? '[bad version/echo]'}`);
  p.print(` id ${p.u8(off + 3)}`);
  const v4 = len <= 18;
  const addrLen = v4 ? 4 : 16;
  p.print(` ${v4 ? p.ipaddr(off + 4) : p.ip6addr(off + 4)}`);
  const withPort = len === 10 || len === 18 || len === 22 || len === 30;
  if (withPort) p.print(`:${p.u16(off + 4 + addrLen)}`);
  if (len === 16 || len === 18 || len === 28 || len === 30) p.print(` hmac ${hex64(p, off + 4 + addrLen + (withPort ? 2 : 0))}`);
  return true;
}

function removeAddr(p: Printer, off: number, len: number): boolean {
  if (len < 4) return false;
  p.print(' id');
  for (let i = 3; i < len; i++) p.print(` ${p.u8(off + i)}`);
  return true;
}

function prio(p: Printer, off: number, len: number): boolean {
  if (len !== 3 && len !== 4) return false;
  p.print(p.u8(off + 2) & 1 ? ' backup' : ' non-backup');
  if (len === 4) p.print(` id ${p.u8(off + 3)}`);
  return true;
}

function fail(p: Printer, off: number, len: number): boolean {
  if (len !== 12) return false;
  p.print(` seq ${u64(p, off + 4).toString()}`);
  return true;
}

function fastClose(p: Printer, off: number, len: number): boolean {
  if (len !== 12) return false;
  p.print(` key ${hex64(p, off + 4)}`);
  return true;
}

/** By subtype; tcpdump 4.99 names every subtype from 8 on `unknown` and prints nothing more. */
const SUBTYPES: readonly (readonly [string, SubtypePrinter])[] = [
  ['capable', capable],
  ['join', join],
  ['dss', dss],
  ['add-addr', addAddr],
  ['rem-addr', removeAddr],
  ['prio', prio],
  ['fail', fail],
  ['fast-close', fastClose],
  ['unknown', () => true],
];

/**
 * Prints the option of `len` bytes (kind and length included) at `off` after its name;
 * false when tcpdump calls it a bad option. `flags` are the TCP header's flags.
 */
export function printMptcp(p: Printer, off: number, len: number, flags: number): boolean {
  if (len < 3) return false;
  const [name, print] = SUBTYPES[Math.min(p.u8(off + 2) >> 4, SUBTYPES.length - 1)];
  p.print(` ${len} ${name}`);
  return print(p, off, len, flags);
}
