/** Reading classic pcap files: byte orders, resolutions, old versions, libpcap's length rules, and damage at every point. */

import { describe, expect, it } from 'vitest';
import { iteratePackets, readCapture, type Packet } from '../../src/pcap/index.js';
import { FormatError } from '../../src/util/index.js';
import { formatError, payload, pcapFile, type Endian } from './fixtures.js';

const records = [
  { sec: 1000, frac: 1, data: payload(60, 1) },
  { sec: 1001, frac: 999999, data: payload(100, 2), len: 1500 },
  { sec: 1002, frac: 500000, data: payload(14, 3) },
];


describe('pcap header', () => {
  for (const endian of ['le', 'be'] as Endian[]) {
    it(`reads a ${endian} microsecond file`, () => {
      const r = readCapture(pcapFile({ endian, records, snaplen: 1600, thiszone: -3600 }));
      expect(r.format).toBe('pcap');
      expect(r.byteOrder).toBe(endian);
      expect([r.versionMajor, r.versionMinor]).toEqual([2, 4]);
      expect(r.linkType).toBe(1);
      expect(r.snaplen).toBe(1600);
      expect(r.tsResolution).toEqual({ base: 10, exponent: 6 });
      expect(r.pcapHeader?.thiszone).toBe(-3600);
      expect(r.error).toBeUndefined();
      expect(r.packets.map((p) => [p.tsSec, p.tsNsec, p.origLen, p.data.length])).toEqual([
        [1000, 1000, 60, 60],
        [1001, 999999000, 1500, 100],
        [1002, 500000000, 14, 14],
      ]);
      r.packets.forEach((p, i) => expect(p.data).toEqual(records[i].data));
    });

    it(`reads a ${endian} nanosecond file`, () => {
      const r = readCapture(pcapFile({ endian, magic: 0xa1b23c4d, records: [{ sec: 5, frac: 123456789, data: payload(20) }] }));
      expect(r.tsResolution).toEqual({ base: 10, exponent: 9 });
      expect(r.packets[0].tsNsec).toBe(123456789);
    });
  }

  it('maps LINKTYPE_ values to DLT_ values and ignores the FCS bits', () => {
    expect(readCapture(pcapFile({ linkType: 101 })).linkType).toBe(12);
    expect(readCapture(pcapFile({ linkType: 100 })).linkType).toBe(11);
    expect(readCapture(pcapFile({ linkType: 0x14000001 })).linkType).toBe(1);
    // libpcap 1.10 keeps the low 26 bits, so a reserved bit gives an unnamed DLT.
    expect(readCapture(pcapFile({ linkType: 0x00010001 })).linkType).toBe(0x10001);
  });

  it('treats snaplen 0 and snaplen > INT_MAX as the maximum for the link type', () => {
    expect(readCapture(pcapFile({ snaplen: 0 })).snaplen).toBe(262144);
    expect(readCapture(pcapFile({ snaplen: 0x80000000 })).snaplen).toBe(262144);
    expect(readCapture(pcapFile({ snaplen: 0, linkType: 231 })).snaplen).toBe(128 * 1024 * 1024);
    expect(readCapture(pcapFile({ snaplen: 300000 })).snaplen).toBe(300000);
  });

  it('refuses bad magic, old and unknown versions, and a short header', () => {
    expect(formatError(() => readCapture(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).code).toBe('E_PCAP_BAD_MAGIC');
    const archaic = formatError(() => readCapture(pcapFile({ version: [1, 0] })));
    expect([archaic.code, archaic.detail]).toEqual(['E_PCAP_BAD_VERSION', 'archaic pcap savefile format']);
    expect(formatError(() => readCapture(pcapFile({ version: [2, 5] }))).detail).toBe('unsupported pcap savefile version 2.5');
    expect(formatError(() => readCapture(pcapFile({ version: [543, 1] }))).detail).toBe('unsupported pcap savefile version 543.1');
    expect(readCapture(pcapFile({ version: [543, 0] })).versionMajor).toBe(543);
    const empty = formatError(() => readCapture(new Uint8Array(0)));
    expect([empty.code, empty.detail]).toEqual(['E_PCAP_TRUNCATED', 'truncated dump file; tried to read 4 file header bytes, only got 0']);
    const short = formatError(() => readCapture(pcapFile({}).subarray(0, 10)));
    expect(short.detail).toBe('truncated dump file; tried to read 24 file header bytes, only got 6');
    expect(short.position?.offset).toBe(0);
  });
});

describe('pcap records', () => {
  it('swaps caplen and len before version 2.3, and at 2.3 only when caplen > len', () => {
    const v22 = readCapture(pcapFile({ version: [2, 2], records: [{ sec: 1, frac: 0, data: payload(10), caplen: 10, len: 10 }] }));
    expect(v22.packets[0].data.length).toBe(10);
    // Old files store len first: the header says caplen 30, len 10 -> libpcap reads caplen 10, len 30.
    const old = pcapFile({ version: [2, 0], records: [{ sec: 1, frac: 0, data: payload(10), caplen: 30, len: 10 }] });
    expect(readCapture(old).packets[0]).toMatchObject({ origLen: 30 });
    expect(readCapture(old).packets[0].data.length).toBe(10);
    const v23 = pcapFile({
      version: [2, 3],
      records: [
        { sec: 1, frac: 0, data: payload(20), caplen: 20, len: 30 },
        { sec: 1, frac: 0, data: payload(10), caplen: 30, len: 10 },
      ],
    });
    expect(readCapture(v23).packets.map((p) => [p.data.length, p.origLen])).toEqual([
      [20, 30],
      [10, 30],
    ]);
  });

  it('reads Kuznetzov 24-byte record headers and adds 14 to an Ethernet snaplen', () => {
    const r = readCapture(pcapFile({ magic: 0xa1b2cd34, extra: 8, snaplen: 100, records }));
    expect(r.snaplen).toBe(114);
    expect(r.packets.map((p) => p.data)).toEqual(records.map((x) => x.data));
  });

  it('truncates records longer than the header snaplen, as libpcap does', () => {
    const r = readCapture(pcapFile({ snaplen: 16, records }));
    expect(r.packets.map((p) => [p.data.length, p.origLen])).toEqual([
      [16, 60],
      [16, 1500],
      [14, 14],
    ]);
    expect(r.packets[0].data).toEqual(records[0].data.subarray(0, 16));
  });

  it('keeps signed time stamps as libpcap does', () => {
    const r = readCapture(pcapFile({ records: [{ sec: -5 >>> 0, frac: -7 >>> 0, data: payload(4) }] }));
    expect([r.packets[0].tsSec, r.packets[0].tsNsec]).toEqual([-5, -7000]);
  });

  it('stops at a caplen beyond the maximum with libpcap wording', () => {
    const big = pcapFile({ records: [records[0], { sec: 1, frac: 0, data: payload(10), caplen: 300000 }] });
    const r = readCapture(big);
    expect(r.packets).toHaveLength(1);
    expect(r.error?.code).toBe('E_PCAP_BAD_CAPLEN');
    expect(r.error?.detail).toBe('invalid packet capture length 300000, bigger than snaplen of 65535');
    expect(r.error?.position?.offset).toBe(24 + 16 + 60);
    const r2 = readCapture(pcapFile({ snaplen: 300000, records: [{ sec: 1, frac: 0, data: payload(10), caplen: 262145 }] }));
    expect(r2.error?.detail).toBe('invalid packet capture length 262145, bigger than maximum of 262144');
  });

  it('reports truncation at every cut point after the header, with the packets before it', () => {
    const file = pcapFile({ records });
    const ends = [24];
    for (const r of records) ends.push(ends[ends.length - 1] + 16 + r.data.length);
    for (let cut = 24; cut <= file.length; cut++) {
      const r = readCapture(file.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length - 1;
      expect(r.packets).toHaveLength(whole);
      if (ends.includes(cut)) {
        expect(r.error).toBeUndefined();
        continue;
      }
      const start = ends[whole];
      const into = cut - start;
      expect(r.error?.code).toBe('E_PCAP_TRUNCATED');
      expect(r.error?.position?.offset).toBe(start);
      expect(r.error?.detail).toBe(
        into < 16
          ? `truncated dump file; tried to read 16 header bytes, only got ${into}`
          : `truncated dump file; tried to read ${records[whole].data.length} captured bytes, only got ${into - 16}`,
      );
    }
  });

  it('iteratePackets yields the good packets, then throws at the damage', () => {
    const file = pcapFile({ records }).subarray(0, 24 + 16 + 60 + 5);
    const seen: Packet[] = [];
    expect(() => {
      for (const p of iteratePackets(file)) seen.push(p);
    }).toThrow(FormatError);
    expect(seen).toHaveLength(1);
    expect(seen[0].data).toEqual(records[0].data);
  });

  it('gives views into the input, not copies', () => {
    const file = pcapFile({ records });
    const r = readCapture(file);
    expect(r.packets[0].data.buffer).toBe(file.buffer);
    expect(r.packets[0].data.byteOffset).toBe(24 + 16);
  });
});

describe('pseudo-header fix-ups (as libpcap on a little-endian host)', () => {
  it('swaps the SocketCAN id behind a Linux cooked header in a big-endian file, on a copy', () => {
    const sll = Uint8Array.of(0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0x0c, 0x11, 0x22, 0x33, 0x44, 8, 0, 0, 0);
    const file = pcapFile({ endian: 'be', linkType: 113, records: [{ sec: 1, frac: 0, data: sll }] });
    const p = readCapture(file).packets[0];
    expect([...p.data.subarray(16, 20)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([...p.data.subarray(0, 16)]).toEqual([...sll.subarray(0, 16)]);
    expect(file[24 + 16 + 16]).toBe(0x11); // the input is untouched
    // Not CAN, or a little-endian file: unchanged.
    const ip = sll.slice();
    ip[15] = 0x00;
    ip[14] = 0x08;
    expect([...readCapture(pcapFile({ endian: 'be', linkType: 113, records: [{ sec: 1, frac: 0, data: ip }] })).packets[0].data]).toEqual([...ip]);
    expect([...readCapture(pcapFile({ linkType: 113, records: [{ sec: 1, frac: 0, data: sll }] })).packets[0].data]).toEqual([...sll]);
  });

  it('recomputes the wire length of isochronous IN completions in mmapped Linux USB captures', () => {
    const d = new Uint8Array(100);
    const v = new DataView(d.buffer);
    d[8] = 0x43; // URB_COMPLETE
    d[9] = 0; // isochronous
    d[10] = 0x81; // IN endpoint
    v.setUint32(32, 150, true); // urb_len
    v.setUint32(60, 2, true); // ndesc
    v.setUint32(64 + 4, 10, true); // desc 0: offset 10, len 20 -> data ends at 30
    v.setUint32(64 + 8, 20, true);
    const r = readCapture(pcapFile({ linkType: 220, records: [{ sec: 1, frac: 0, data: d, len: 64 + 2 * 16 + 150 }] }));
    expect(r.packets[0].origLen).toBe(64 + 2 * 16 + 30);
  });
});
