/** Precision Time Protocol (IEEE 1588) over Ethernet and UDP 319/320, as tcpdump 4.99's ptp_print prints it. */

import { flagString, type Printer } from './printer.js';

const MSG_TYPES: Record<number, string> = {
  0x0: 'sync msg', 0x1: 'delay req msg', 0x2: 'peer delay req msg', 0x3: 'peer delay resp msg', 0x8: 'follow up msg',
  0x9: 'delay resp msg', 0xa: 'pdelay resp fup msg', 0xb: 'announce msg', 0xc: 'signaling msg', 0xd: 'management msg',
};
const CONTROL = ['Sync', 'Delay_Req', 'Follow_Up', 'Delay_Resp', 'Management', 'Other'];
const FLAGS = [
  [0x1, 'l1 61'], [0x2, 'l1 59'], [0x4, 'utc reasonable'], [0x8, 'timescale'], [0x10, 'time tracable'],
  [0x20, 'frequency tracable'], [0x100, 'alternate master'], [0x200, 'two step'], [0x400, 'unicast'],
  [0x1000, 'profile specific 1'], [0x2000, 'profile specific 2'], [0x4000, 'security mask'], [0x18c0, 'unknown'],
] as const;

/** What follows the common header, by message type: the timestamp's name and whether a port identity follows. */
const BODIES: Record<number, readonly [string, boolean]> = {
  0x0: ['originTimeStamp', false],
  0x1: ['originTimeStamp', false],
  0x2: ['preciseOriginTimeStamp', true],
  0x3: ['receiveTimeStamp', true],
  0x8: ['preciseOriginTimeStamp', false],
  0x9: ['receiveTimeStamp', true],
  0xa: ['preciseOriginTimeStamp', true],
};

const u48 = (p: Printer, off: number): number => p.u16(off) * 0x100000000 + p.u32(off + 2);
const hex64 = (p: Printer, off: number): string => `0x${((BigInt(p.u32(off)) << 32n) | BigInt(p.u32(off + 4))).toString(16)}`;

function portIdentity(p: Printer, off: number): void {
  p.print(`, port identity : ${hex64(p, off)}, port id : ${p.u16(off + 8)}`);
}

/** Decodes the PTP message at `off` (its own length field says how long it is). */
export function printPtp(p: Printer, off: number): void {
  p.protocol = 'ptp';
  // tcpdump 4.99 takes the whole second byte as the version (so 2.1 prints as 18, undecoded).
  const version = p.u16(off) & 0xff;
  p.print(`PTPv${version}`);
  if (version === 1) {
    p.print(' (not implemented)');
    return;
  }
  if (version !== 2) return;
  const first = p.u8(off);
  const type = first & 0xf;
  p.print(`, v1 compat : ${first & 0x10 ? 'yes' : 'no'}, msg type : ${MSG_TYPES[type] ?? 'Reserved'}`);
  p.print(`, length : ${p.u16(off + 2)}, domain : ${p.u8(off + 4)}, reserved1 : ${p.u8(off + 5)}`);
  p.print(`, Flags [${flagString(p.u16(off + 6), FLAGS, ', ')}]`);
  p.print(`, NS correction : ${u48(p, off + 8)}, sub NS correction : ${p.u16(off + 14)}, reserved2 : ${p.u32(off + 16)}`);
  p.print(`, clock identity : ${hex64(p, off + 20)}, port id : ${p.u16(off + 28)}, seq id : ${p.u16(off + 30)}`);
  const control = p.u8(off + 32);
  p.print(`, control : ${control} (${CONTROL[control] ?? 'Reserved'}), log message interval : ${p.u8(off + 33)}`);
  const body = off + 34;
  const ts = BODIES[type];
  if (ts !== undefined) {
    p.print(`, ${ts[0]} : ${u48(p, body)} seconds, ${p.u32(body + 6)} nanoseconds`);
    if (ts[1]) portIdentity(p, body + 10);
  } else if (type === 0xb) {
    p.print(`, originTimeStamp : ${u48(p, body)} seconds ${p.u32(body + 6)} nanoseconds, origin cur utc :${p.u16(body + 10)}`);
    p.print(`, rsvd : ${p.u8(body + 12)}, gm priority_1 : ${p.u8(body + 13)}, gm clock class : ${p.u8(body + 14)}`);
    p.print(`, gm clock accuracy : ${p.u8(body + 15)}, gm clock variance : ${p.u16(body + 16)}, gm priority_2 : ${p.u8(body + 18)}`);
    p.print(`, gm clock id : ${hex64(p, body + 19)}, steps removed : ${p.u16(body + 27)}, time source : 0x${p.u8(body + 29).toString(16)}`);
  } else if (type === 0xc) {
    portIdentity(p, body);
  } else if (type === 0xd) {
    // Management messages: tcpdump prints further fields we do not.
    portIdentity(p, body);
    p.complete = false;
  }
}
