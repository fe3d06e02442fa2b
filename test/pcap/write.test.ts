/** Writing pcap and pcapng: the bytes a writer produces, and read-after-write giving the same packets. */

import { describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, readCapture, writeCapture, type Packet } from '../../src/pcap/index.js';
import { UsageError } from '../../src/util/index.js';
import { pcapFile, payload } from './fixtures.js';

const packets: Packet[] = [
  { data: payload(60, 1), origLen: 60, tsSec: 1_700_000_000, tsNsec: 123_456_789, linkType: 1, interfaceId: 0 },
  { data: payload(7, 2), origLen: 1514, tsSec: 1_700_000_001, tsNsec: 0, linkType: 1, interfaceId: 0 },
  { data: payload(1514, 3), origLen: 1514, tsSec: 1_700_000_002, tsNsec: 999_999_999, linkType: 1, interfaceId: 0 },
];

describe('pcap writer', () => {
  it('writes what the independent fixture builder writes', () => {
    for (const byteOrder of ['le', 'be'] as const) {
      const ours = writeCapture(packets, { byteOrder, snaplen: 65535 });
      const expected = pcapFile({
        endian: byteOrder,
        records: packets.map((p) => ({ sec: p.tsSec, frac: Math.trunc(p.tsNsec / 1000), data: p.data, len: p.origLen })),
      });
      expect(ours).toEqual(expected);
    }
    const nsec = writeCapture(packets, { tsResolution: 'nsec', snaplen: 65535 });
    expect(nsec).toEqual(pcapFile({ magic: 0xa1b23c4d, records: packets.map((p) => ({ sec: p.tsSec, frac: p.tsNsec, data: p.data, len: p.origLen })) }));
  });

  it('round-trips: nanoseconds exactly, microseconds truncated', () => {
    const n = readCapture(writeCapture(packets, { tsResolution: 'nsec', byteOrder: 'be' }));
    expect(n.packets.map((p) => [p.tsSec, p.tsNsec, p.origLen])).toEqual(packets.map((p) => [p.tsSec, p.tsNsec, p.origLen]));
    n.packets.forEach((p, i) => expect(p.data).toEqual(packets[i].data));
    const u = readCapture(writeCapture(packets));
    expect(u.packets.map((p) => p.tsNsec)).toEqual([123_456_000, 0, 999_999_000]);
  });

  it('writes LINKTYPE_ numbers for DLTs that differ, and keeps a verbatim link-type field', () => {
    const raw = { ...packets[0], linkType: 12 };
    const bytes = writeCapture([raw]);
    expect(new DataView(bytes.buffer).getUint32(20, true)).toBe(101);
    expect(readCapture(bytes).linkType).toBe(12);
    const w = new PcapWriter({ linkType: 1, linkTypeField: 0x14000001 });
    expect(new DataView(w.header().buffer).getUint32(20, true)).toBe(0x14000001);
  });

  it('refuses to mix link types in one pcap file', () => {
    expect(() => writeCapture([packets[0], { ...packets[1], linkType: 113 }])).toThrow(UsageError);
  });

  it('builds a file incrementally from header and records', () => {
    const w = new PcapWriter({ linkType: 1, snaplen: 65535 });
    const parts = [w.header(), ...packets.map((p) => w.record(p))];
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    expect(joined).toEqual(writeCapture(packets, { snaplen: 65535 }));
  });
});

describe('pcapng writer', () => {
  it('writes SHB, an IDB per link type and EPBs, readable in both byte orders', () => {
    for (const byteOrder of ['le', 'be'] as const) {
      for (const tsResolution of ['usec', 'nsec'] as const) {
        const bytes = writeCapture(packets, { format: 'pcapng', byteOrder, tsResolution });
        const r = readCapture(bytes);
        expect(r.format).toBe('pcapng');
        expect(r.byteOrder).toBe(byteOrder);
        expect(r.interfaces).toHaveLength(1);
        expect(r.tsResolution).toEqual({ base: 10, exponent: tsResolution === 'nsec' ? 9 : 6 });
        const factor = tsResolution === 'nsec' ? 1 : 1000;
        expect(r.packets.map((p) => [p.tsSec, p.tsNsec, p.origLen, p.data.length])).toEqual(
          packets.map((p) => [p.tsSec, Math.trunc(p.tsNsec / factor) * factor, p.origLen, p.data.length]),
        );
        r.packets.forEach((p, i) => expect(p.data).toEqual(packets[i].data));
      }
    }
  });

  it('adds an IDB when a new link type appears (libpcap then refuses the file, as it does all mixed files)', () => {
    const w = new PcapngWriter();
    const first = w.record(packets[0]);
    const again = w.record(packets[1]);
    const other = w.record({ ...packets[1], linkType: 276 });
    const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset);
    expect(view(first).getUint32(0, true)).toBe(1); // IDB first
    expect(view(again).getUint32(0, true)).toBe(6); // then only an EPB
    expect(view(other).getUint32(0, true)).toBe(1);
    const r = readCapture(writeCapture([packets[0], { ...packets[1], linkType: 276 }], { format: 'pcapng' }));
    expect(r.packets).toHaveLength(1);
    expect(r.error?.code).toBe('E_PCAPNG_INTERFACE_MISMATCH');
  });
});
