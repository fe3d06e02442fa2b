/** Writing captures: pcap (micro- or nanosecond, either byte order) and pcapng (SHB, one IDB per link type, EPBs), record by record or whole. */

import { UsageError, concatBytes } from '../util/index.js';
import type { ByteOrder, CaptureFormat } from './capture-info.js';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PCAPNG_BT_EPB, PCAPNG_BT_IDB, PCAPNG_BT_SHB, PCAPNG_BYTE_ORDER_MAGIC } from './decoder.js';
import { MAXIMUM_SNAPLEN, dltToLinkType } from './link-types.js';
import type { Packet } from './packet.js';

/** Options of a {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** DLT_ value of every packet (written as its LINKTYPE_ value, e.g. RAW 12 as 101). */
  linkType: number;
  /** Snapshot length in the header; default 262144. */
  snaplen?: number;
  /** `nsec` writes the nanosecond magic; default `usec` (time stamps are truncated to microseconds). */
  tsResolution?: 'usec' | 'nsec';
  /** Default `le`. */
  byteOrder?: ByteOrder;
  /** Raw header fields, for writing a file back exactly as it was read. */
  versionMajor?: number;
  versionMinor?: number;
  thiszone?: number;
  sigfigs?: number;
  /** The 32-bit link-type field verbatim (overrides `linkType`'s mapping). */
  linkTypeField?: number;
}

/** Writes one pcap file: `header()` once, then `record()` (or `writeRecord()`) per packet. */
export class PcapWriter {
  private readonly le: boolean;
  private readonly nsec: boolean;

  constructor(private readonly options: PcapWriterOptions) {
    this.le = (options.byteOrder ?? 'le') === 'le';
    this.nsec = options.tsResolution === 'nsec';
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const o = this.options;
    const out = new Uint8Array(24);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.nsec ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, this.le);
    v.setUint16(4, o.versionMajor ?? 2, this.le);
    v.setUint16(6, o.versionMinor ?? 4, this.le);
    v.setInt32(8, o.thiszone ?? 0, this.le);
    v.setUint32(12, o.sigfigs ?? 0, this.le);
    v.setUint32(16, o.snaplen ?? MAXIMUM_SNAPLEN, this.le);
    v.setUint32(20, o.linkTypeField ?? dltToLinkType(o.linkType), this.le);
    return out;
  }

  /** Bytes {@link writeRecord} needs for a packet. */
  recordSize(packet: Packet): number {
    return 16 + packet.data.length;
  }

  /** Writes a packet's record into `out` at `at` (a view over `out` may be passed to skip making one); returns the end offset. */
  writeRecord(packet: Packet, out: Uint8Array, at: number, view?: DataView): number {
    const v = view ?? new DataView(out.buffer, out.byteOffset, out.byteLength);
    const le = this.le;
    v.setInt32(at, packet.tsSec, le);
    v.setInt32(at + 4, this.nsec ? packet.tsNsec : Math.trunc(packet.tsNsec / 1000), le);
    v.setUint32(at + 8, packet.data.length, le);
    v.setUint32(at + 12, packet.origLen, le);
    out.set(packet.data, at + 16);
    return at + 16 + packet.data.length;
  }

  /** One packet's record (header + data) as new bytes. */
  record(packet: Packet): Uint8Array {
    const out = new Uint8Array(this.recordSize(packet));
    this.writeRecord(packet, out, 0);
    return out;
  }
}

/** Options of a {@link PcapngWriter}. */
export interface PcapngWriterOptions {
  /** Default `le`. */
  byteOrder?: ByteOrder;
  /** `nsec` adds `if_tsresol` = 9 to each IDB; default `usec` (the pcapng default resolution). */
  tsResolution?: 'usec' | 'nsec';
  /** Snapshot length of each IDB; default 262144. */
  snaplen?: number;
}

/**
 * Writes one pcapng section: `header()` (the SHB), then `record()` per packet, which emits an
 * IDB the first time a link type appears, then the packet's EPB.
 */
export class PcapngWriter {
  private readonly le: boolean;
  private readonly nsec: boolean;
  private readonly interfaces = new Map<number, number>();

  constructor(private readonly options: PcapngWriterOptions = {}) {
    this.le = (options.byteOrder ?? 'le') === 'le';
    this.nsec = options.tsResolution === 'nsec';
  }

  /** The Section Header Block (version 1.0, unknown section length, no options). */
  header(): Uint8Array {
    const out = new Uint8Array(28);
    const v = new DataView(out.buffer);
    v.setUint32(0, PCAPNG_BT_SHB, this.le);
    v.setUint32(4, 28, this.le);
    v.setUint32(8, PCAPNG_BYTE_ORDER_MAGIC, this.le);
    v.setUint16(12, 1, this.le);
    v.setUint16(14, 0, this.le);
    v.setBigInt64(16, -1n, this.le);
    v.setUint32(24, 28, this.le);
    return out;
  }

  /** The IDB for a link type (with `if_tsresol` when writing nanoseconds). */
  private idb(linkType: number): Uint8Array {
    const length = this.nsec ? 32 : 20;
    const out = new Uint8Array(length);
    const v = new DataView(out.buffer);
    v.setUint32(0, PCAPNG_BT_IDB, this.le);
    v.setUint32(4, length, this.le);
    v.setUint16(8, dltToLinkType(linkType), this.le);
    v.setUint32(12, this.options.snaplen ?? MAXIMUM_SNAPLEN, this.le);
    if (this.nsec) {
      v.setUint16(16, 9, this.le); // if_tsresol
      v.setUint16(18, 1, this.le);
      out[20] = 9;
      // opt_endofopt is 4 zero bytes at 24
    }
    v.setUint32(length - 4, length, this.le);
    return out;
  }

  /**
   * The IDB of `linkType` when none was written yet, else no bytes. Written up front, it makes a
   * capture with no packet still valid (readers reject a section without an interface).
   */
  interfaceBlock(linkType: number): Uint8Array {
    if (this.interfaces.has(linkType)) return new Uint8Array(0);
    this.interfaces.set(linkType, this.interfaces.size);
    return this.idb(linkType);
  }

  /** The blocks for one packet: an IDB if its link type is new, then its EPB. */
  record(packet: Packet): Uint8Array {
    let id = this.interfaces.get(packet.linkType);
    let idb: Uint8Array | undefined;
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(packet.linkType, id);
      idb = this.idb(packet.linkType);
    }
    const caplen = packet.data.length;
    const length = 32 + ((caplen + 3) & ~3);
    const epb = new Uint8Array(length);
    const v = new DataView(epb.buffer);
    const le = this.le;
    if (!Number.isSafeInteger(packet.tsSec) || packet.tsSec < 0) {
      throw new UsageError('E_PCAPNG_TIMESTAMP', `time stamp ${packet.tsSec} cannot be written to pcapng`);
    }
    const t = this.nsec
      ? BigInt(packet.tsSec) * 1_000_000_000n + BigInt(packet.tsNsec)
      : BigInt(packet.tsSec) * 1_000_000n + BigInt(Math.trunc(packet.tsNsec / 1000));
    v.setUint32(0, PCAPNG_BT_EPB, le);
    v.setUint32(4, length, le);
    v.setUint32(8, id, le);
    v.setUint32(12, Number(t >> 32n), le);
    v.setUint32(16, Number(t & 0xffffffffn), le);
    v.setUint32(20, caplen, le);
    v.setUint32(24, packet.origLen, le);
    epb.set(packet.data, 28);
    v.setUint32(length - 4, length, le);
    return idb ? concatBytes([idb, epb]) : epb;
  }
}

/** Options of {@link writeCapture}. */
export interface WriteCaptureOptions {
  /** Default `pcap`. */
  format?: CaptureFormat;
  /** pcap: the header's link type; default the first packet's (EN10MB when there are none). */
  linkType?: number;
  snaplen?: number;
  tsResolution?: 'usec' | 'nsec';
  byteOrder?: ByteOrder;
}

/** A whole capture file from packets. A pcap file holds one link type; a packet of another is a UsageError. */
export function writeCapture(packets: Iterable<Packet>, options: WriteCaptureOptions = {}): Uint8Array {
  const list = Array.isArray(packets) ? (packets as Packet[]) : [...packets];
  const parts: Uint8Array[] = [];
  if ((options.format ?? 'pcap') === 'pcapng') {
    const w = new PcapngWriter(options);
    parts.push(w.header());
    for (const p of list) parts.push(w.record(p));
    // An empty capture is still a valid one: its section has an interface.
    if (list.length === 0) parts.push(w.interfaceBlock(options.linkType ?? 1));
    return concatBytes(parts);
  }
  const linkType = options.linkType ?? list[0]?.linkType ?? 1;
  const w = new PcapWriter({ ...options, linkType });
  let size = 24;
  for (const p of list) {
    if (p.linkType !== linkType) {
      throw new UsageError('E_PCAP_MIXED_LINKTYPES', `a pcap file holds one link type: packet has ${p.linkType}, file has ${linkType}`);
    }
    size += w.recordSize(p);
  }
  const out = new Uint8Array(size);
  out.set(w.header(), 0);
  const view = new DataView(out.buffer);
  let at = 24;
  for (const p of list) at = w.writeRecord(p, out, at, view);
  return out;
}
