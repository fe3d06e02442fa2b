/** Incremental pcap and pcapng decoders: they walk a byte window, ask for more bytes at a boundary, and fail where libpcap 1.10 fails. */

import { FormatError } from '../util/index.js';
import type { CaptureInfo, InterfaceInfo, TsResolution } from './capture-info.js';
import { linkTypeToDlt, maxSnaplenForDlt } from './link-types.js';
import type { Packet } from './packet.js';
import { needsPostProcess, postProcess } from './pseudo-headers.js';

/** `next()` decoded a packet: it is in `decoder.packet`. */
export const DECODED_PACKET = 1;
/** `next()` reached the clean end of the file. */
export const DECODED_END = 0;
/** `next()` needs bytes beyond the window (only when the caller said more may come). */
export const NEED_MORE = -1;

/** pcap magic numbers (as host values after reading in the file's byte order). */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 24-byte record headers. */
export const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
/** The pcapng Section Header Block type, also the file's first four bytes. */
export const PCAPNG_BT_SHB = 0x0a0d0d0a;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_BT_IDB = 1;
export const PCAPNG_BT_PB = 2;
export const PCAPNG_BT_SPB = 3;
export const PCAPNG_BT_EPB = 6;

const INT_MAX = 0x7fffffff;
/** libpcap's sanity limits on pcapng block sizes. */
const BT_SHB_INSANE_MAX = 1024 * 1024;
const INITIAL_MAX_BLOCKSIZE = 16 * 1024 * 1024;

/**
 * A decoder walks a window of the file (`buf`, whose first byte is at file offset `base`)
 * from `pos`. A caller that streams moves the unread tail into a new window and resets
 * `pos`/`base`; the decoder keeps no reference to old windows.
 */
export interface CaptureDecoder {
  readonly info: CaptureInfo;
  /** Position in the current window of the next unread byte. */
  pos: number;
  /** File offset of the window's first byte. */
  base: number;
  /** The packet of the last `next()` that returned {@link DECODED_PACKET}. */
  packet: Packet | undefined;
  /**
   * Decodes the next packet. `eof` says the window holds the rest of the file, so a short
   * record is damage, not a boundary. Throws a {@link FormatError} at damage.
   */
  next(buf: Uint8Array, eof: boolean): number;
}

/** Builds a FormatError whose message is libpcap's wording. */
function fail(code: string, detail: string, offset: number): FormatError {
  return new FormatError(code, detail, { position: { offset } });
}

function u32(buf: Uint8Array, at: number, le: boolean): number {
  return le
    ? (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0
    : ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function u16(buf: Uint8Array, at: number, le: boolean): number {
  return le ? buf[at] | (buf[at + 1] << 8) : (buf[at] << 8) | buf[at + 1];
}

/** libpcap's `pcap_adjust_snapshot`: a zero or negative (as int) snaplen means the maximum. */
function adjustSnapshot(dlt: number, snaplen: number): number {
  return snaplen === 0 || snaplen > INT_MAX ? maxSnaplenForDlt(dlt) : snaplen;
}

/**
 * Opens a decoder on the window that starts the file. Returns undefined when the window is
 * too short to decide and more bytes may come; throws a FormatError when libpcap would
 * refuse to open the file.
 */
export function openDecoder(buf: Uint8Array, eof: boolean): CaptureDecoder | undefined {
  if (buf.length < 4) {
    if (!eof) return undefined;
    throw fail('E_PCAP_TRUNCATED', `truncated dump file; tried to read 4 file header bytes, only got ${buf.length}`, 0);
  }
  const le = u32(buf, 0, true);
  if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC || le === PCAP_MAGIC_KUZNETZOV) return PcapDecoder.open(buf, eof, true);
  const be = u32(buf, 0, false);
  if (be === PCAP_MAGIC_USEC || be === PCAP_MAGIC_NSEC || be === PCAP_MAGIC_KUZNETZOV) return PcapDecoder.open(buf, eof, false);
  if (le === PCAPNG_BT_SHB) return PcapngDecoder.open(buf, eof);
  throw fail('E_PCAP_BAD_MAGIC', 'unknown file format', 0);
}

/** How a pcap file's caplen and len fields are ordered (they were swapped before version 2.3). */
const NOT_SWAPPED = 0;
const SWAPPED = 1;
const MAYBE_SWAPPED = 2;

/** The classic pcap format: a 24-byte header, then 16-byte record headers each followed by data. */
class PcapDecoder implements CaptureDecoder {
  pos = 24;
  base = 0;
  packet: Packet | undefined = undefined;
  private readonly maxCaplen: number;
  /** True when libpcap would touch this link type's packets after reading (pseudo-header fix-ups). */
  private readonly post: boolean;

  private constructor(
    readonly info: CaptureInfo,
    private readonly le: boolean,
    private readonly hdrsize: number,
    private readonly nsec: boolean,
    private readonly lengths: number,
  ) {
    this.maxCaplen = maxSnaplenForDlt(info.linkType);
    this.post = needsPostProcess(info.linkType, !le);
  }

  static open(buf: Uint8Array, eof: boolean, le: boolean): PcapDecoder | undefined {
    if (buf.length < 24) {
      if (!eof) return undefined;
      throw fail('E_PCAP_TRUNCATED', `truncated dump file; tried to read 24 file header bytes, only got ${buf.length - 4}`, 0);
    }
    const magic = u32(buf, 0, le);
    const versionMajor = u16(buf, 4, le);
    const versionMinor = u16(buf, 6, le);
    if (versionMajor < 2) throw fail('E_PCAP_BAD_VERSION', 'archaic pcap savefile format', 4);
    // Versions 2.0-2.4 are read, and 543.0 which DG/UX tcpdump wrote.
    if (!((versionMajor === 2 && versionMinor <= 4) || (versionMajor === 543 && versionMinor === 0))) {
      throw fail('E_PCAP_BAD_VERSION', `unsupported pcap savefile version ${versionMajor}.${versionMinor}`, 4);
    }
    const thiszone = u32(buf, 8, le) | 0;
    const sigfigs = u32(buf, 12, le);
    const snaplenField = u32(buf, 16, le);
    const linkTypeField = u32(buf, 20, le);
    // The top six bits hold the FCS length; libpcap 1.10 keeps the other 26 as the link type.
    const linkType = linkTypeToDlt(linkTypeField & 0x03ffffff);
    let snaplen = adjustSnapshot(linkType, snaplenField);
    const kuznetzov = magic === PCAP_MAGIC_KUZNETZOV;
    // A patched libpcap in cooked mode added a fake 14-byte Ethernet header past the snaplen.
    if (kuznetzov && linkType === 1) snaplen = snaplen <= INT_MAX - 14 ? snaplen + 14 : INT_MAX;
    const lengths =
      versionMajor === 543 || (versionMajor === 2 && versionMinor < 3) ? SWAPPED : versionMinor === 3 ? MAYBE_SWAPPED : NOT_SWAPPED;
    const nsec = magic === PCAP_MAGIC_NSEC;
    const tsResolution: TsResolution = { base: 10, exponent: nsec ? 9 : 6 };
    const iface: InterfaceInfo = {
      linkType,
      linkTypeField,
      snaplen: snaplenField,
      tsResolution,
      tsOffset: 0n,
      section: 0,
      id: 0,
      offset: 0,
    };
    const info: CaptureInfo = {
      format: 'pcap',
      byteOrder: le ? 'le' : 'be',
      versionMajor,
      versionMinor,
      linkType,
      snaplen,
      tsResolution,
      interfaces: [iface],
      pcapHeader: { magic, thiszone, sigfigs, snaplen: snaplenField, linkTypeField },
    };
    return new PcapDecoder(info, le, kuznetzov ? 24 : 16, nsec, lengths);
  }

  next(buf: Uint8Array, eof: boolean): number {
    const pos = this.pos;
    const avail = buf.length - pos;
    const hdrsize = this.hdrsize;
    if (avail < hdrsize) {
      if (!eof) return NEED_MORE;
      if (avail === 0) return DECODED_END;
      throw fail('E_PCAP_TRUNCATED', `truncated dump file; tried to read ${hdrsize} header bytes, only got ${avail}`, this.base + pos);
    }
    const le = this.le;
    const tsSec = u32(buf, pos, le) | 0;
    const frac = u32(buf, pos + 4, le) | 0;
    let caplen = u32(buf, pos + 8, le);
    let origLen = u32(buf, pos + 12, le);
    if (this.lengths === SWAPPED || (this.lengths === MAYBE_SWAPPED && caplen > origLen)) {
      const t = caplen;
      caplen = origLen;
      origLen = t;
    }
    const snaplen = this.info.snaplen;
    if (caplen > this.maxCaplen) {
      const detail =
        caplen > snaplen
          ? `invalid packet capture length ${caplen}, bigger than snaplen of ${snaplen}`
          : `invalid packet capture length ${caplen}, bigger than maximum of ${this.maxCaplen}`;
      throw fail('E_PCAP_BAD_CAPLEN', detail, this.base + pos);
    }
    const dataAvail = avail - hdrsize;
    let keep = caplen;
    if (caplen > snaplen) {
      // As libpcap: read the first snaplen bytes, discard the rest, report caplen = snaplen.
      if (dataAvail < caplen) {
        if (!eof) return NEED_MORE;
        const wanted = dataAvail < snaplen ? snaplen : caplen;
        throw fail('E_PCAP_TRUNCATED', `truncated dump file; tried to read ${wanted} captured bytes, only got ${dataAvail}`, this.base + pos);
      }
      keep = snaplen;
    } else if (dataAvail < caplen) {
      if (!eof) return NEED_MORE;
      throw fail('E_PCAP_TRUNCATED', `truncated dump file; tried to read ${caplen} captured bytes, only got ${dataAvail}`, this.base + pos);
    }
    const start = pos + hdrsize;
    this.packet = {
      data: buf.subarray(start, start + keep),
      origLen,
      tsSec,
      tsNsec: this.nsec ? frac : frac * 1000,
      linkType: this.info.linkType,
      interfaceId: 0,
    };
    if (this.post) postProcess(this.packet, !this.le);
    this.pos = start + caplen;
    return DECODED_PACKET;
  }
}

/** Per-interface time-stamp conversion, as libpcap computes it (64-bit unsigned arithmetic). */
interface IfaceClock {
  /** Units per second. */
  resol: bigint;
  /** Units per second as a number when the fast path applies (a power of 10 up to 10^9), else 0. */
  fastResol: number;
  binary: boolean;
}

const U64 = (1n << 64n) - 1n;
const NS = 1_000_000_000n;

/** The pcapng format: a sequence of sections, each a SHB, IDBs and packet blocks. */
class PcapngDecoder implements CaptureDecoder {
  pos = 0;
  base = 0;
  packet: Packet | undefined = undefined;
  /** Interfaces of the current section, indexed by interface id. */
  private clocks: IfaceClock[] = [];
  private section = 0;
  /** Largest block accepted: 16 MiB, raised once the first IDB names a link type with bigger packets. */
  private maxBlocksize = INITIAL_MAX_BLOCKSIZE;

  private constructor(
    readonly info: CaptureInfo,
    private readonly le: boolean,
  ) {}

  static open(buf: Uint8Array, eof: boolean): PcapngDecoder | undefined {
    if (buf.length < 12) {
      if (!eof) return undefined;
      // libpcap takes a short file that starts like a SHB for "not pcapng".
      throw fail('E_PCAP_BAD_MAGIC', 'unknown file format', 0);
    }
    let le: boolean;
    if (u32(buf, 8, true) === PCAPNG_BYTE_ORDER_MAGIC) le = true;
    else if (u32(buf, 8, false) === PCAPNG_BYTE_ORDER_MAGIC) le = false;
    else throw fail('E_PCAP_BAD_MAGIC', 'unknown file format', 0);
    const totalLength = u32(buf, 4, le);
    if (totalLength < 28 || totalLength > BT_SHB_INSANE_MAX) {
      throw fail(
        'E_PCAPNG_BAD_BLOCK',
        `Section Header Block in pcapng dump file has invalid length 28 < _${totalLength}_ < ${BT_SHB_INSANE_MAX} (BT_SHB_INSANE_MAX)`,
        4,
      );
    }
    if (buf.length < totalLength) {
      if (!eof) return undefined;
      throw fail('E_PCAP_TRUNCATED', `truncated pcapng dump file; tried to read ${totalLength - 12} bytes, only got ${buf.length - 12}`, 12);
    }
    const versionMajor = u16(buf, 12, le);
    const versionMinor = u16(buf, 14, le);
    if (!(versionMajor === 1 && (versionMinor === 0 || versionMinor === 2))) {
      throw fail('E_PCAP_BAD_VERSION', `unsupported pcapng savefile version ${versionMajor}.${versionMinor}`, 12);
    }
    // libpcap does not check the first SHB's trailer; the next block read starts right after it.
    const info: CaptureInfo = {
      format: 'pcapng',
      byteOrder: le ? 'le' : 'be',
      versionMajor,
      versionMinor,
      linkType: 0,
      snaplen: 0,
      tsResolution: { base: 10, exponent: 6 },
      interfaces: [],
    };
    const d = new PcapngDecoder(info, le);
    d.pos = totalLength;
    // Look for the first IDB: it fixes the capture's link type and snapshot length.
    for (;;) {
      const start = d.pos;
      const status = d.readBlock(buf, eof);
      if (status === NEED_MORE) return undefined;
      if (status === DECODED_END) throw fail('E_PCAPNG_NO_IDB', 'the capture file has no Interface Description Blocks', start);
      const type = d.blockType;
      if (type === PCAPNG_BT_IDB) {
        const { linkTypeField, snaplen } = d.idbFixed(buf, start);
        info.linkType = linkTypeToDlt(linkTypeField);
        info.snaplen = adjustSnapshot(info.linkType, snaplen);
        d.maxBlocksize = Math.max(INITIAL_MAX_BLOCKSIZE, 8 + 20 + maxSnaplenForDlt(info.linkType) + 131072 + 4);
        d.addInterface(buf, start, linkTypeField, snaplen);
        info.tsResolution = info.interfaces[0].tsResolution;
        return d;
      }
      if (type === PCAPNG_BT_EPB || type === PCAPNG_BT_SPB || type === PCAPNG_BT_PB) {
        throw fail('E_PCAPNG_NO_IDB', 'the capture file has a packet block before any Interface Description Blocks', start);
      }
    }
  }

  /** Type and length of the block `readBlock` last read. */
  private blockType = 0;
  private blockLength = 0;

  /**
   * Reads the block at `pos` (libpcap's `read_block`): checks its length and trailer and
   * advances `pos` past it. Returns 1, DECODED_END at a clean end, or NEED_MORE.
   */
  private readBlock(buf: Uint8Array, eof: boolean): number {
    const pos = this.pos;
    const avail = buf.length - pos;
    if (avail < 8) {
      if (!eof) return NEED_MORE;
      if (avail === 0) return DECODED_END;
      throw fail('E_PCAP_TRUNCATED', `truncated pcapng dump file; tried to read 8 bytes, only got ${avail}`, this.base + pos);
    }
    const le = this.le;
    const type = u32(buf, pos, le);
    const length = u32(buf, pos + 4, le);
    if (length < 12) {
      throw fail('E_PCAPNG_BAD_BLOCK', `block in pcapng dump file has a length of ${length} < 12`, this.base + pos);
    }
    if (length % 4 !== 0) {
      throw fail('E_PCAPNG_BAD_BLOCK', `block in pcapng dump file has a length of ${length} that is not a multiple of 4`, this.base + pos);
    }
    if (length > this.maxBlocksize) {
      throw fail('E_PCAPNG_BAD_BLOCK', `pcapng block size ${length} > maximum ${this.maxBlocksize}`, this.base + pos);
    }
    if (avail < length) {
      if (!eof) return NEED_MORE;
      throw fail('E_PCAP_TRUNCATED', `truncated pcapng dump file; tried to read ${length - 8} bytes, only got ${avail - 8}`, this.base + pos);
    }
    if (u32(buf, pos + length - 4, le) !== length) {
      throw fail('E_PCAPNG_BAD_BLOCK', "block total length in header and trailer don't match", this.base + pos + length - 4);
    }
    this.blockType = type;
    this.blockLength = length;
    this.pos = pos + length;
    return 1;
  }

  private tooShort(start: number): FormatError {
    return fail('E_PCAPNG_BAD_BLOCK', `block of type ${this.blockType} in pcapng dump file is too short`, this.base + start);
  }

  /** The fixed part of the IDB that starts at `start`. */
  private idbFixed(buf: Uint8Array, start: number): { linkTypeField: number; snaplen: number } {
    if (this.blockLength - 12 < 8) throw this.tooShort(start);
    return { linkTypeField: u16(buf, start + 8, this.le), snaplen: u32(buf, start + 12, this.le) };
  }

  /** libpcap's `add_interface` + `process_idb_options` for the IDB at `start`. */
  private addInterface(buf: Uint8Array, start: number, linkTypeField: number, snaplen: number): void {
    const le = this.le;
    const end = start + this.blockLength - 4;
    let at = start + 16;
    let exponent = 6;
    let binary = false;
    let offset = 0n;
    let sawResol = false;
    let sawOffset = false;
    const where = (): number => this.base + at;
    while (at < end) {
      if (end - at < 4) throw this.tooShort(start);
      const code = u16(buf, at, le);
      const length = u16(buf, at + 2, le);
      const padded = (length + 3) & ~3;
      if (end - at - 4 < padded) throw this.tooShort(start);
      const value = at + 4;
      if (code === 0) {
        if (length !== 0) {
          throw fail('E_PCAPNG_BAD_OPTION', `Interface Description Block has opt_endofopt option with length ${length} != 0`, where());
        }
        break;
      } else if (code === 9) {
        if (length !== 1) {
          throw fail('E_PCAPNG_BAD_OPTION', `Interface Description Block has if_tsresol option with length ${length} != 1`, where());
        }
        if (sawResol) throw fail('E_PCAPNG_BAD_OPTION', 'Interface Description Block has more than one if_tsresol option', where());
        sawResol = true;
        const r = buf[value];
        if (r & 0x80) {
          if ((r & 0x7f) > 63) {
            throw fail('E_PCAPNG_BAD_OPTION', `Interface Description Block if_tsresol option resolution 2^-${r & 0x7f} is too high`, where());
          }
          binary = true;
          exponent = r & 0x7f;
        } else {
          if (r > 19) {
            throw fail('E_PCAPNG_BAD_OPTION', `Interface Description Block if_tsresol option resolution 10^-${r} is too high`, where());
          }
          binary = false;
          exponent = r;
        }
      } else if (code === 10 && length === 8 && !sawOffset) {
        // libpcap 1.10 neither checks nor uses if_tsoffset; it is kept only for information.
        sawOffset = true;
        const lo = BigInt(u32(buf, le ? value : value + 4, le));
        const hi = BigInt(u32(buf, le ? value + 4 : value, le));
        offset = (hi << 32n) | lo;
      }
      at = value + padded;
    }
    const resol = binary ? 1n << BigInt(exponent) : 10n ** BigInt(exponent);
    this.clocks.push({
      resol,
      fastResol: !binary && exponent <= 9 ? Number(resol) : 0,
      binary,
    });
    this.info.interfaces.push({
      linkType: linkTypeToDlt(linkTypeField),
      linkTypeField,
      snaplen,
      tsResolution: { base: binary ? 2 : 10, exponent },
      tsOffset: BigInt.asIntN(64, offset),
      section: this.section,
      id: this.clocks.length - 1,
      offset: this.base + start,
    });
  }

  next(buf: Uint8Array, eof: boolean): number {
    const le = this.le;
    const info = this.info;
    for (;;) {
      const start = this.pos;
      const status = this.readBlock(buf, eof);
      if (status !== 1) return status;
      const body = start + 8;
      const bodyLength = this.blockLength - 12;
      let interfaceId: number;
      let caplen: number;
      let origLen: number;
      let tsHigh = 0;
      let tsLow = 0;
      let dataAt: number;
      switch (this.blockType) {
        case PCAPNG_BT_EPB:
        case PCAPNG_BT_PB:
          if (bodyLength < 20) throw this.tooShort(start);
          // The obsolete PB has a 16-bit interface id (then a drops count) where the EPB has a 32-bit one.
          interfaceId = this.blockType === PCAPNG_BT_PB ? u16(buf, body, le) : u32(buf, body, le);
          tsHigh = u32(buf, body + 4, le);
          tsLow = u32(buf, body + 8, le);
          caplen = u32(buf, body + 12, le);
          origLen = u32(buf, body + 16, le);
          dataAt = body + 20;
          break;
        case PCAPNG_BT_SPB:
          if (bodyLength < 4) throw this.tooShort(start);
          // A SPB belongs to the first interface; its caplen is the snapshot-limited length.
          interfaceId = 0;
          origLen = u32(buf, body, le);
          caplen = origLen > info.snaplen ? info.snaplen : origLen;
          dataAt = body + 4;
          break;
        case PCAPNG_BT_IDB: {
          const { linkTypeField, snaplen } = this.idbFixed(buf, start);
          // libpcap compares the first interface's DLT_ with this block's raw LINKTYPE_ value.
          if (info.linkType !== linkTypeField) {
            throw fail(
              'E_PCAPNG_INTERFACE_MISMATCH',
              `an interface has a type ${linkTypeField} different from the type of the first interface`,
              this.base + start,
            );
          }
          if (info.snaplen !== adjustSnapshot(info.linkType, snaplen)) {
            throw fail(
              'E_PCAPNG_INTERFACE_MISMATCH',
              `an interface has a snapshot length ${snaplen} different from the snapshot length of the first interface`,
              this.base + start,
            );
          }
          this.addInterface(buf, start, linkTypeField, snaplen);
          continue;
        }
        case PCAPNG_BT_SHB: {
          if (bodyLength < 16) throw this.tooShort(start);
          const bom = u32(buf, body, le);
          if (bom !== PCAPNG_BYTE_ORDER_MAGIC) {
            const swapped = u32(buf, body, !le) === PCAPNG_BYTE_ORDER_MAGIC;
            throw fail(
              'E_PCAPNG_BAD_SECTION',
              swapped ? 'the file has sections with different byte orders' : 'the file has a section with a bad byte order magic field',
              this.base + body,
            );
          }
          const major = u16(buf, body + 4, le);
          if (major !== 1) {
            throw fail('E_PCAPNG_BAD_SECTION', `unknown pcapng savefile major version number ${major}`, this.base + body + 4);
          }
          this.clocks = [];
          this.section++;
          continue;
        }
        default:
          continue;
      }
      const clock = this.clocks[interfaceId];
      if (clock === undefined) {
        throw fail(
          'E_PCAPNG_NO_IDB',
          `a packet arrived on interface ${interfaceId}, but there's no Interface Description Block for that interface`,
          this.base + start,
        );
      }
      if (caplen > info.snaplen) {
        throw fail('E_PCAP_BAD_CAPLEN', `invalid packet capture length ${caplen}, bigger than snaplen of ${info.snaplen}`, this.base + start);
      }
      if (caplen > start + this.blockLength - 4 - dataAt) throw this.tooShort(start);
      let tsSec: number;
      let tsNsec: number;
      const fast = clock.fastResol;
      if (fast !== 0 && tsHigh < 0x200000) {
        const t = tsHigh * 4294967296 + tsLow;
        tsSec = Math.floor(t / fast);
        let frac = t - tsSec * fast;
        if (frac < 0) {
          tsSec--;
          frac += fast;
        }
        tsNsec = frac * (1e9 / fast);
      } else {
        [tsSec, tsNsec] = slowTimestamp(clock, tsHigh, tsLow);
      }
      this.packet = { data: buf.subarray(dataAt, dataAt + caplen), origLen, tsSec, tsNsec, linkType: info.linkType, interfaceId };
      if (needsPostProcess(info.linkType, !le)) postProcess(this.packet, !le);
      return DECODED_PACKET;
    }
  }
}

/**
 * libpcap's conversion of a 64-bit pcapng time stamp to seconds + nanoseconds, wrapping as
 * uint64 does. libpcap 1.10 validates `if_tsoffset` but does not add it, and neither do we.
 */
function slowTimestamp(clock: IfaceClock, hi: number, lo: number): [number, number] {
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const sec = t / clock.resol;
  let frac = t % clock.resol;
  if (clock.resol === NS) {
    // already nanoseconds
  } else if (clock.binary) {
    frac = ((frac * NS) & U64) / clock.resol;
  } else if (clock.resol > NS) {
    frac /= clock.resol / NS;
  } else {
    frac *= NS / clock.resol;
  }
  return [Number(BigInt.asIntN(64, sec)), Number(frac)];
}
