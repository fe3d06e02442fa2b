/** What a capture file's headers say: format, byte order, interfaces, link type, snapshot length, time-stamp resolution. */

import type { FormatError } from '../util/index.js';
import type { Packet } from './packet.js';

/** The two capture file formats. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** Byte order of a file's numbers. */
export type ByteOrder = 'le' | 'be';

/**
 * A time-stamp resolution: one second is `base ** exponent` units. pcap files are 10^6
 * (microseconds) or 10^9 (nanoseconds); a pcapng `if_tsresol` may give any power of 10 or of 2.
 */
export interface TsResolution {
  base: 10 | 2;
  exponent: number;
}

/** One pcapng Interface Description Block (a pcap file has exactly one, implied by its header). */
export interface InterfaceInfo {
  /** The DLT_ value (the file's LINKTYPE_ mapped as libpcap does: 101 becomes 12, RAW). */
  linkType: number;
  /** The link-type number exactly as the file stores it. */
  linkTypeField: number;
  /** The snapshot length the file states (0 means "no limit"). */
  snaplen: number;
  tsResolution: TsResolution;
  /** `if_tsoffset`: seconds added to every time stamp of this interface. */
  tsOffset: bigint;
  /** Which section (0-based) of a pcapng file the block is in. */
  section: number;
  /** The interface id packets of this section use for it. */
  id: number;
  /** Byte offset of the block in the file. */
  offset: number;
}

/** Raw pcap file-header fields, kept so that a file can be written back byte for byte. */
export interface PcapFileHeader {
  /** The magic number as a host value (0xa1b2c3d4, 0xa1b23c4d or 0xa1b2cd34). */
  magic: number;
  thiszone: number;
  sigfigs: number;
  /** The snaplen field as stored. */
  snaplen: number;
  /** The link-type field as stored, with its FCS and reserved bits. */
  linkTypeField: number;
}

/** What a capture's headers say, known once the header (and for pcapng the first IDB) is read. */
export interface CaptureInfo {
  format: CaptureFormat;
  byteOrder: ByteOrder;
  versionMajor: number;
  versionMinor: number;
  /** DLT_ value of the first interface; every packet has it (libpcap refuses files that mix link types). */
  linkType: number;
  /** Snapshot length as libpcap reports it (`pcap_snapshot`): 0 or a bogus value becomes the link type's maximum. */
  snaplen: number;
  /** Resolution of the first interface's time stamps as stored in the file. Packets always carry nanoseconds. */
  tsResolution: TsResolution;
  /** Interfaces seen so far (a streaming reader appends later IDBs as it meets them). */
  interfaces: InterfaceInfo[];
  /** pcap files only: the raw header fields. */
  pcapHeader?: PcapFileHeader;
}

/** Everything {@link readCapture} found: the header facts, the good packets, and the damage if any. */
export interface CaptureReadResult extends CaptureInfo {
  packets: Packet[];
  /** Set when the file is damaged after its header: `packets` holds what came before the damage. */
  error?: FormatError;
}

/** Number of decimal digits that show a resolution's fractions of a second (9 for binary resolutions). */
export function tsResolutionDigits(r: TsResolution): number {
  return r.base === 10 ? r.exponent : 9;
}
