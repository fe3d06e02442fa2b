/** Reading pcapng: sections, interfaces, time-stamp resolutions, EPB/SPB/PB, both byte orders, and libpcap's failures. */

import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/index.js';
import { FormatError } from '../../src/util/index.js';
import { Bytes, block, cat, epb, formatError, idb, option, payload, pb, shb, spb, type Endian } from './fixtures.js';

const openError = (bytes: Uint8Array): FormatError => formatError(() => readCapture(bytes));

describe('pcapng blocks', () => {
  for (const e of ['le', 'be'] as Endian[]) {
    it(`reads EPB, SPB and PB in a ${e} file`, () => {
      const a = payload(60, 1);
      const b = payload(120, 2);
      const c = payload(10, 3);
      const file = cat(shb(e), idb(e, 1, 100), epb(e, { ts: 1_700_000_000_123_456n, data: a, len: 70 }), spb(e, b), pb(e, { ts: 5_000_001n, data: c }));
      const r = readCapture(file);
      expect(r.format).toBe('pcapng');
      expect(r.byteOrder).toBe(e);
      expect(r.snaplen).toBe(100);
      expect(r.error).toBeUndefined();
      expect(r.packets.map((p) => [p.tsSec, p.tsNsec, p.data.length, p.origLen, p.interfaceId])).toEqual([
        [1_700_000_000, 123_456_000, 60, 70, 0],
        // SPB: no time stamp; caplen = min(len, snaplen), the rest of the block is padding.
        [0, 0, 100, 120, 0],
        [5, 1000, 10, 10, 0],
      ]);
      expect(r.packets[0].data).toEqual(a);
      expect(r.packets[1].data).toEqual(b.subarray(0, 100));
      expect(r.packets[2].data).toEqual(c);
    });
  }

  it('skips unknown blocks and reads SHB version 1.2', () => {
    const file = cat(shb('le', [1, 2]), block('le', 0x99, payload(8)), idb(), block('le', 5, new Uint8Array(0)), epb('le', { ts: 1n, data: payload(4) }));
    const r = readCapture(file);
    expect(r.versionMinor).toBe(2);
    expect(r.packets).toHaveLength(1);
  });

  it('honours if_tsresol as a power of 10 and of 2', () => {
    const ns = idb('le', 1, 65535, cat(option('le', 9, [9]), option('le', 0, [])));
    const bin = idb('le', 1, 65535, option('le', 9, [0x80 | 30]));
    const sec = idb('le', 1, 65535, option('le', 9, [0]));
    const r = readCapture(
      cat(
        shb(),
        ns,
        bin,
        sec,
        epb('le', { ifid: 0, ts: 1_700_000_000_987_654_321n, data: payload(4) }),
        epb('le', { ifid: 1, ts: (5n << 30n) + (1n << 29n), data: payload(4) }),
        epb('le', { ifid: 2, ts: 17n, data: payload(4) }),
      ),
    );
    expect(r.interfaces.map((i) => i.tsResolution)).toEqual([
      { base: 10, exponent: 9 },
      { base: 2, exponent: 30 },
      { base: 10, exponent: 0 },
    ]);
    expect(r.tsResolution).toEqual({ base: 10, exponent: 9 });
    expect(r.packets.map((p) => [p.tsSec, p.tsNsec, p.interfaceId])).toEqual([
      [1_700_000_000, 987_654_321, 0],
      [5, 500_000_000, 1],
      [17, 0, 2],
    ]);
  });

  it('records if_tsoffset but, as libpcap 1.10, does not add it', () => {
    const r = readCapture(cat(shb(), idb('le', 1, 65535, option('le', 10, new Bytes('le').u64(100n).bytes())), epb('le', { ts: 5_000_000n, data: payload(4) })));
    expect(r.interfaces[0].tsOffset).toBe(100n);
    expect(r.packets[0].tsSec).toBe(5);
  });

  it('reads several sections, resetting the interfaces in each', () => {
    const file = cat(
      shb(),
      idb(),
      epb('le', { ts: 1_000_000n, data: payload(4, 1) }),
      shb(),
      idb('le', 1, 65535, option('le', 9, [3])),
      epb('le', { ts: 2_500n, data: payload(4, 2) }),
    );
    const r = readCapture(file);
    expect(r.packets.map((p) => [p.tsSec, p.tsNsec])).toEqual([
      [1, 0],
      [2, 500_000_000],
    ]);
    expect(r.interfaces.map((i) => [i.section, i.id])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const noIdb = readCapture(cat(shb(), idb(), epb('le', { ts: 1n, data: payload(4) }), shb(), epb('le', { ts: 1n, data: payload(4) })));
    expect(noIdb.packets).toHaveLength(1);
    expect(noIdb.error?.detail).toBe("a packet arrived on interface 0, but there's no Interface Description Block for that interface");
  });

  it('maps LINKTYPE_RAW to DLT_RAW, and then refuses a second RAW IDB as libpcap does', () => {
    const once = readCapture(cat(shb(), idb('le', 101), epb('le', { ts: 1n, data: payload(4) })));
    expect(once.linkType).toBe(12);
    expect(once.packets[0].linkType).toBe(12);
    const twice = readCapture(cat(shb(), idb('le', 101), idb('le', 101)));
    expect(twice.error?.detail).toBe('an interface has a type 101 different from the type of the first interface');
  });
});

describe('pcapng failures', () => {
  const good = cat(shb(), idb(), epb('le', { ts: 1n, data: payload(20) }));

  it('refuses what libpcap cannot open', () => {
    const cases: [Uint8Array, string, string][] = [
      [cat(shb(), epb('le', { ts: 1n, data: payload(4) })), 'E_PCAPNG_NO_IDB', 'the capture file has a packet block before any Interface Description Blocks'],
      [shb(), 'E_PCAPNG_NO_IDB', 'the capture file has no Interface Description Blocks'],
      [shb('le', [1, 1]), 'E_PCAP_BAD_VERSION', 'unsupported pcapng savefile version 1.1'],
      [shb('le', [2, 0]), 'E_PCAP_BAD_VERSION', 'unsupported pcapng savefile version 2.0'],
      [good.subarray(0, 20), 'E_PCAP_TRUNCATED', 'truncated pcapng dump file; tried to read 16 bytes, only got 8'],
      [good.subarray(0, 11), 'E_PCAP_BAD_MAGIC', 'unknown file format'],
      [cat(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4)), 'E_PCAP_BAD_MAGIC', 'unknown file format'],
      [cat(shb(), idb('le', 1, 65535, option('le', 9, [6, 0]))), 'E_PCAPNG_BAD_OPTION', 'Interface Description Block has if_tsresol option with length 2 != 1'],
      [cat(shb(), idb('le', 1, 65535, cat(option('le', 9, [6]), option('le', 9, [6])))), 'E_PCAPNG_BAD_OPTION', 'Interface Description Block has more than one if_tsresol option'],
      [cat(shb(), idb('le', 1, 65535, option('le', 9, [20]))), 'E_PCAPNG_BAD_OPTION', 'Interface Description Block if_tsresol option resolution 10^-20 is too high'],
      [cat(shb(), idb('le', 1, 65535, option('le', 9, [0xc0]))), 'E_PCAPNG_BAD_OPTION', 'Interface Description Block if_tsresol option resolution 2^-64 is too high'],
      [cat(shb(), idb('le', 1, 65535, option('le', 0, [1, 2]))), 'E_PCAPNG_BAD_OPTION', 'Interface Description Block has opt_endofopt option with length 2 != 0'],
      [cat(shb(), block('le', 1, payload(4))), 'E_PCAPNG_BAD_BLOCK', 'block of type 1 in pcapng dump file is too short'],
    ];
    for (const [bytes, code, detail] of cases) {
      const e = openError(bytes);
      expect([e.code, e.detail]).toEqual([code, detail]);
    }
    const shbLength = new Bytes('le').u32(0x0a0d0d0a).u32(20).u32(0x1a2b3c4d).u32(1).bytes();
    expect(openError(shbLength).detail).toBe('Section Header Block in pcapng dump file has invalid length 28 < _20_ < 1048576 (BT_SHB_INSANE_MAX)');
  });

  it('stops with the packets before the damage', () => {
    const first = cat(shb(), idb('le', 1, 30), epb('le', { ts: 1n, data: payload(20) }));
    const cases: [Uint8Array, string][] = [
      [cat(first, new Bytes('le').u32(5).u32(4).bytes()), 'block in pcapng dump file has a length of 4 < 12'],
      [cat(first, new Bytes('le').u32(5).u32(14).u32(0).u32(0).bytes()), 'block in pcapng dump file has a length of 14 that is not a multiple of 4'],
      [cat(first, new Bytes('le').u32(5).u32(20 << 20).u32(0).bytes()), 'pcapng block size 20971520 > maximum 16777216'],
      [cat(first, block('le', 5, payload(8), 99)), "block total length in header and trailer don't match"],
      [cat(first, epb('le', { ts: 1n, data: payload(40) })), 'invalid packet capture length 40, bigger than snaplen of 30'],
      [cat(first, epb('le', { ts: 1n, data: payload(8), caplen: 20 })), 'block of type 6 in pcapng dump file is too short'],
      [cat(first, epb('le', { ifid: 3, ts: 1n, data: payload(8) })), "a packet arrived on interface 3, but there's no Interface Description Block for that interface"],
      [cat(first, idb('le', 276, 30)), 'an interface has a type 276 different from the type of the first interface'],
      [cat(first, idb('le', 1, 31)), 'an interface has a snapshot length 31 different from the snapshot length of the first interface'],
      [cat(first, shb('le', [2, 0])), 'unknown pcapng savefile major version number 2'],
      [cat(first, block('le', 0x0a0d0d0a, new Bytes('le').u32(0x11111111).u32(1).u64(0n).bytes())), 'the file has a section with a bad byte order magic field'],
      [cat(first, block('le', 0x0a0d0d0a, new Bytes('be').u32(0x1a2b3c4d).u32(1).u64(0n).bytes())), 'the file has sections with different byte orders'],
      [cat(first, epb('le', { ts: 1n, data: payload(8) }).subarray(0, 5)), 'truncated pcapng dump file; tried to read 8 bytes, only got 5'],
      [cat(first, epb('le', { ts: 1n, data: payload(8) }).subarray(0, 30)), 'truncated pcapng dump file; tried to read 32 bytes, only got 22'],
    ];
    for (const [bytes, detail] of cases) {
      const r = readCapture(bytes);
      expect(r.packets).toHaveLength(1);
      expect(r.packets[0].data).toEqual(payload(20));
      expect(r.error?.detail).toBe(detail);
      expect(r.error?.position?.offset).toBeGreaterThanOrEqual(first.length);
    }
  });

  it('reports damage at every cut point of a file, never a crash', () => {
    const file = cat(shb(), idb(), epb('le', { ts: 1n, data: payload(21) }), spb('le', payload(9)), epb('le', { ts: 2n, data: payload(3) }));
    for (let cut = 0; cut < file.length; cut++) {
      let r;
      try {
        r = readCapture(file.subarray(0, cut));
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        continue;
      }
      expect(r.packets.length).toBeLessThan(3);
    }
  });
});
