/** Spanning tree BPDUs (802.1d, 802.1w, 802.1s, 802.1aq), as tcpdump's stp_print prints them. */

import { flagString, type Printer } from './printer.js';

const PROTOCOLS: Record<number, string> = { 0: '802.1d', 2: '802.1w', 3: '802.1s', 4: '802.1aq' };
const BPDU_TYPES: Record<number, string> = { 0x00: 'Config', 0x02: 'Rapid STP', 0x80: 'Topology Change' };
const FLAGS = [[0x01, 'Topology change'], [0x02, 'Proposal'], [0x10, 'Learn'], [0x20, 'Forward'], [0x40, 'Agreement'], [0x80, 'Topology change ACK']] as const;
const PORT_ROLES = ['Unknown', 'Alternate', 'Root', 'Designated'];
/** sizeof(struct stp_bpdu_): the 802.1w BPDU with its version-1 length byte. */
const BPDU_LEN = 36;
const MSTP_MIN_LEN = 102;
const SPB_MIN_LEN = 87;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `8000.00:11:22:33:44:55`: priority and MAC of an 8-byte bridge id. */
function bridgeId(p: Printer, off: number): string {
  return `${hex(p.u16(off), 4)}.${p.mac(off + 2)}`;
}

/** A time in 1/256 s as printf's `%.2f` prints it: exact ties round to even, unlike toFixed. */
function seconds(p: Printer, off: number): string {
  const k = p.u16(off) * 25;
  let hundredths = Math.floor(k / 64);
  const rem = k % 64;
  if (rem > 32 || (rem === 32 && hundredths % 2 === 1)) hundredths++;
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

/** Decodes a BPDU at `off`, `length` bytes long. */
export function printStp(p: Printer, off: number, length: number): void {
  p.protocol = 'stp';
  if (length < 4) {
    p.print(' (invalid)');
    return;
  }
  if (p.u16(off) !== 0) {
    p.print(`unknown STP version, length ${length}`);
    return;
  }
  const version = p.u8(off + 2);
  p.print(`STP ${PROTOCOLS[version] ?? `Unknown STP protocol (0x${hex(version, 2)})`}`);
  if (PROTOCOLS[version] === undefined) return;
  const type = p.u8(off + 3);
  p.print(`, ${BPDU_TYPES[type] ?? `Unknown BPDU Type (0x${hex(type, 2)})`}`);
  p.layer('stp', { version, bpduType: type });
  if (type === 0x00) {
    if (length < BPDU_LEN - 1) p.print(' (invalid)');
    else printConfig(p, off, length, version);
  } else if (type === 0x02) {
    if (version === 2) {
      if (length < BPDU_LEN) p.print(' (invalid)');
      else printConfig(p, off, length, version);
    } else if (version === 3 || version === 4) {
      if (length < MSTP_MIN_LEN || p.u8(off + 35) !== 0) {
        p.print(' (invalid)');
        return;
      }
      const mstpLen = p.u16(off + 36) + 2;
      if (length < BPDU_LEN + mstpLen) {
        p.print(' (invalid)');
        return;
      }
      p.print(`, CIST Flags [${flagString(p.u8(off + 4), FLAGS, ', ', 'none')}], length ${length}`);
      // -v prints the CIST and every MSTI: tcpdump decodes further than we do.
      if (p.options.verbose) p.complete = false;
      if (version === 4) {
        const spbLen = p.u16(off + 36 + mstpLen) + 2;
        if (length < BPDU_LEN + mstpLen + spbLen || spbLen < SPB_MIN_LEN) p.print(' (invalid)');
      }
    }
  }
}

function printConfig(p: Printer, off: number, length: number, version: number): void {
  const flags = p.u8(off + 4);
  p.print(`, Flags [${flagString(flags, FLAGS, ', ', 'none')}]`);
  p.print(`, bridge-id ${bridgeId(p, off + 17)}.${hex(p.u16(off + 25), 4)}, length ${length}`);
  if (!p.options.verbose) return;
  p.print(`\n\tmessage-age ${seconds(p, off + 27)}s, max-age ${seconds(p, off + 29)}s, hello-time ${seconds(p, off + 31)}s, forwarding-delay ${seconds(p, off + 33)}s`);
  p.print(`\n\troot-id ${bridgeId(p, off + 5)}, root-pathcost ${p.u32(off + 13)}`);
  if (version === 2) p.print(`, port-role ${PORT_ROLES[(flags & 0x0c) >> 2]}`);
}
