/** Odd and damaged captures made here (every cut point, corrupted bytes, unusual headers and blocks) read by bpfkit and by libpcap 1.10: same packets, same failure. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';
import { Bytes, block, cat, epb, idb, option, payload, pb, pcapFile, shb, spb } from '../pcap/fixtures.js';
import { bpfkitReading, libpcapReadings, load } from './pcap-helpers.js';

const skip = skipReason('pcap edge cases vs libpcap', { commands: ['gcc'], files: ['/usr/include/pcap/pcap.h'] });
const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-pcap-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes each case to a file, runs both readers, and returns the cases that differ. */
function compare(cases: Map<string, Uint8Array>): string[] {
  const files: string[] = [];
  for (const [name, bytes] of cases) {
    const f = path.join(dir, name);
    writeFileSync(f, bytes);
    files.push(f);
  }
  const ref = libpcapReadings(files);
  const diffs: string[] = [];
  for (const f of files) {
    const a = ref.get(f)!;
    const b = bpfkitReading(cases.get(path.basename(f))!);
    if (a.open !== b.open || a.end !== b.end || a.packets.join('\n') !== b.packets.join('\n')) {
      const i = a.packets.findIndex((l, k) => l !== b.packets[k]);
      diffs.push(
        `${path.basename(f)}: libpcap [${a.open} | ${a.packets.length} | ${a.end}] bpfkit [${b.open} | ${b.packets.length} | ${b.end}]` +
          (i >= 0 ? ` packet ${i}: ${a.packets[i]} vs ${b.packets[i]}` : ''),
      );
    }
  }
  return diffs;
}

const d = (n: number, s = 1): Uint8Array => payload(n, s);

function crafted(): Map<string, Uint8Array> {
  const c = new Map<string, Uint8Array>();
  const rec = (sec: number, frac: number, data: Uint8Array, caplen?: number, len?: number) => ({ sec, frac, data, caplen, len });
  // pcap headers and records
  c.set('p-v20.pcap', pcapFile({ version: [2, 0], records: [rec(1, 2, d(20), 20, 10), rec(1, 2, d(30), 30, 40)] }));
  c.set('p-v23.pcap', pcapFile({ version: [2, 3], records: [rec(1, 2, d(20), 20, 30), rec(1, 2, d(10), 30, 10)] }));
  c.set('p-543.pcap', pcapFile({ version: [543, 0], records: [rec(1, 2, d(30), 30, 20)] }));
  c.set('p-543-1.pcap', pcapFile({ version: [543, 1] }));
  c.set('p-v1.pcap', pcapFile({ version: [1, 9] }));
  c.set('p-v3.pcap', pcapFile({ version: [3, 0] }));
  c.set('p-kuz.pcap', pcapFile({ magic: 0xa1b2cd34, extra: 8, records: [rec(1, 2, d(20)), rec(3, 4, d(40))] }));
  c.set('p-kuz-raw.pcap', pcapFile({ magic: 0xa1b2cd34, extra: 8, linkType: 101, snaplen: 10, records: [rec(1, 2, d(10))] }));
  c.set('p-snap0.pcap', pcapFile({ snaplen: 0, records: [rec(1, 2, d(20))] }));
  c.set('p-snap-neg.pcap', pcapFile({ snaplen: 0x80000000, records: [rec(1, 2, d(20))] }));
  c.set('p-snap-small.pcap', pcapFile({ snaplen: 8, records: [rec(1, 2, d(20)), rec(2, 3, d(5)), rec(3, 4, d(30))] }));
  c.set('p-snap-small-cut.pcap', pcapFile({ snaplen: 8, records: [rec(1, 2, d(20))] }).subarray(0, 24 + 16 + 12));
  c.set('p-caplen-max.pcap', pcapFile({ snaplen: 300000, records: [rec(1, 2, d(20), 262145)] }));
  c.set('p-dbus-big.pcap', pcapFile({ snaplen: 300000, linkType: 231, records: [rec(1, 2, d(10), 262145)] }));
  c.set('p-neg-ts.pcap', pcapFile({ records: [rec(-5 >>> 0, -7 >>> 0, d(20)), rec(0x7fffffff, 999999999, d(20))] }));
  c.set('p-nsec-be.pcap', pcapFile({ endian: 'be', magic: 0xa1b23c4d, records: [rec(1, 999999999, d(20))] }));
  c.set('p-fcs.pcap', pcapFile({ linkType: 0x14000001, records: [rec(1, 2, d(20))] }));
  c.set('p-reserved.pcap', pcapFile({ linkType: 0x02000001 }));
  for (const lt of [0, 100, 101, 102, 103, 104, 106, 113, 127, 246, 258, 276, 65535]) c.set(`p-lt-${lt}.pcap`, pcapFile({ linkType: lt, records: [rec(1, 2, d(20))] }));
  // pcapng
  const e = 'le';
  const p1 = epb(e, { ts: 1_000_000_123n, data: d(20) });
  c.set('n-shb-len-20.pcapng', new Bytes().u32(0x0a0d0d0a).u32(20).u32(0x1a2b3c4d).u32(1).u32(0).u32(0).bytes());
  c.set('n-shb-len-2m.pcapng', new Bytes().u32(0x0a0d0d0a).u32(2 << 20).u32(0x1a2b3c4d).u32(1).u32(0).u32(0).bytes());
  c.set('n-shb-only.pcapng', shb());
  c.set('n-shb-opts.pcapng', cat(shb(e, [1, 0], cat(option(e, 2, [120, 56, 54]), option(e, 0, []))), idb(), p1));
  c.set('n-shb-bad-trailer.pcapng', cat(block(e, 0x0a0d0d0a, new Bytes().u32(0x1a2b3c4d).u16(1).u16(0).u64(0n).bytes(), 7), idb(), p1));
  c.set('n-v12.pcapng', cat(shb(e, [1, 2]), idb(), p1));
  c.set('n-v11.pcapng', cat(shb(e, [1, 1]), idb(), p1));
  c.set('n-epb-first.pcapng', cat(shb(), p1));
  c.set('n-tsresol.pcapng', cat(shb(), idb(e, 1, 65535, option(e, 9, [9])), idb(e, 1, 65535, option(e, 9, [0x80 | 30])), idb(e, 1, 65535, option(e, 9, [0x80 | 40])), idb(e, 1, 65535, option(e, 9, [19])), idb(e, 1, 65535, option(e, 9, [2])),
    epb(e, { ifid: 0, ts: 1_700_000_000_123_456_789n, data: d(4) }), epb(e, { ifid: 1, ts: (7n << 30n) + 12345n, data: d(4) }), epb(e, { ifid: 2, ts: (3n << 40n) + (1n << 39n) + 5n, data: d(4) }),
    epb(e, { ifid: 3, ts: 18_000_000_000_000_000_000n, data: d(4) }), epb(e, { ifid: 4, ts: 12345n, data: d(4) }), epb(e, { ifid: 1, ts: (1n << 62n) + 99n, data: d(4) })));
  c.set('n-tsoffset.pcapng', cat(shb(), idb(e, 1, 65535, option(e, 10, new Bytes().u64(100n).bytes())), p1));
  c.set('n-tsoffset-len.pcapng', cat(shb(), idb(e, 1, 65535, option(e, 10, [1, 2, 3, 4])), p1));
  c.set('n-tsoffset-2.pcapng', cat(shb(), idb(e, 1, 65535, cat(option(e, 10, new Bytes().u64(1n).bytes()), option(e, 10, new Bytes().u64(1n).bytes()))), p1));
  c.set('n-opt-cut.pcapng', cat(shb(), block(e, 1, cat(new Bytes().u16(1).u16(0).u32(65535).bytes(), Uint8Array.of(2, 0, 40, 0))), p1));
  c.set('n-spb-pb.pcapng', cat(shb(), idb(e, 1, 16), spb(e, d(30)), spb(e, d(3)), pb(e, { ts: 5_000_000n, data: d(10) }), pb(e, { ifid: 1, ts: 1n, data: d(10) })));
  c.set('n-spb-short.pcapng', cat(shb(), idb(), block(e, 3, new Uint8Array(0))));
  c.set('n-sections.pcapng', cat(shb(), idb(), p1, shb(), idb(e, 1, 65535, option(e, 9, [3])), epb(e, { ts: 5005n, data: d(8) }), shb(), p1));
  c.set('n-section-be.pcapng', cat(shb(), idb(), p1, shb('be'), idb('be'), epb('be', { ts: 1n, data: d(8) })));
  c.set('n-raw-twice.pcapng', cat(shb(), idb(e, 101), p1, idb(e, 101), p1));
  c.set('n-two-idb.pcapng', cat(shb(), idb(e, 1, 0), idb(e, 1, 262144), p1, idb(e, 1, 100)));
  c.set('n-big-block.pcapng', cat(shb(), idb(), new Bytes().u32(5).u32(20 << 20).u32(0).bytes()));
  c.set('n-dbus-block.pcapng', cat(shb(), idb(e, 231), new Bytes().u32(5).u32(20 << 20).u32(0).bytes()));
  c.set('n-be-all.pcapng', cat(shb('be'), idb('be', 1, 65535, option('be', 9, [9])), epb('be', { ts: 123_456_789_123n, data: d(20) }), spb('be', d(30)), pb('be', { ts: 7n, data: d(10) })));
  c.set('short-magic.pcapng', Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 0x20, 0, 0));
  c.set('bad-bom.pcapng', cat(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 0x20, 0, 0, 0, 0x11, 0x22, 0x33, 0x44), new Uint8Array(20)));
  c.set('text.pcap', Uint8Array.from('hello world\n', (ch) => ch.charCodeAt(0)));
  c.set('tiny.pcap', Uint8Array.of(0xd4, 0xc3));
  return c;
}

describe.skipIf(skip !== undefined)('pcap edge cases vs libpcap 1.10', () => {
  it('crafted headers, records and blocks', () => {
    const cases = crafted();
    expectFloor('pcap-edge-cases: cases.size', cases.size, 54);
    expect(compare(cases)).toEqual([]);
  });

  it('every cut point of small pcap and pcapng files', () => {
    const cases = new Map<string, Uint8Array>();
    const sources: [string, Uint8Array][] = [
      ['ng', crafted().get('n-spb-pb.pcapng')!],
      ['sec', crafted().get('n-sections.pcapng')!],
      ['pcap', pcapFile({ records: [{ sec: 1, frac: 2, data: d(30) }, { sec: 3, frac: 4, data: d(7) }] })],
    ];
    const corpusFile = path.join(corpusDir, 'pcaps/synthetic/en10mb-converted.pcapng');
    if (!skipReason('cut points of a corpus pcapng', { files: [corpusFile] })) sources.push(['corpus', load(corpusFile).subarray(0, 700)]);
    for (const [name, bytes] of sources) for (let cut = 0; cut <= bytes.length; cut++) cases.set(`cut-${name}-${cut}`, bytes.subarray(0, cut));
    expect(compare(cases)).toEqual([]);
  });

  it('randomly corrupted files (seeded)', () => {
    const bases = [crafted().get('n-tsresol.pcapng')!, crafted().get('n-spb-pb.pcapng')!, pcapFile({ records: [{ sec: 1, frac: 2, data: d(30) }, { sec: 3, frac: 4, data: d(70) }] })];
    const cases = new Map<string, Uint8Array>();
    const samples = fc.sample(
      fc.tuple(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })),
      { numRuns: 1000, seed: 1234 },
    );
    samples.forEach(([which, edits], i) => {
      const bytes = bases[which].slice();
      for (const [at, v] of edits) bytes[at % bytes.length] = v;
      cases.set(`corrupt-${i}`, bytes);
    });
    expect(compare(cases)).toEqual([]);
  });

  it('pseudo-headers libpcap rewrites: pflog, SocketCAN in SLL/SLL2, Linux USB, NFLOG, in both byte orders (seeded)', () => {
    const cases = new Map<string, Uint8Array>();
    const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    /** Packet bytes biased towards the fields each fix-up looks at. */
    const packetFor = (linkType: number, rnd: number[], endian: 'le' | 'be'): { data: Uint8Array; len: number } => {
      const bytes = Uint8Array.from(rnd);
      const n = bytes.length;
      const put = (at: number, v: number[]): void => v.forEach((b, i) => at + i < n && (bytes[at + i] = b));
      // Mostly len >= caplen, sometimes more on the wire, sometimes (odd files) less.
      let len = n + (rnd[0] % 3 === 0 ? rnd[1] : 0);
      if (rnd[0] % 5 === 1) len = Math.max(0, n - (rnd[1] % 40));
      if (linkType === 117) put(0, [rnd[2] % 2 ? 61 : rnd[3]]);
      if (linkType === 113 && rnd[2] % 2) put(14, [0, 0x0c + (rnd[3] % 2)]);
      if (linkType === 276 && rnd[2] % 2) put(0, [0, 0x0c + (rnd[3] % 2)]);
      if (linkType === 239) {
        put(1, [rnd[2] % 4 === 0 ? 1 : 0]);
        for (let at = 4; at + 4 <= n; at += 8) put(at, endian === 'le' ? [8, 0, rnd[at] % 20, 0] : [0, 8, 0, rnd[at] % 20]);
      }
      if (linkType === 189 || linkType === 220) {
        const ndesc = rnd[4] % 4;
        const urbLen = rnd[5] % 200;
        put(8, [rnd[6] % 2 ? 0x43 : 0x53, rnd[7] % 2 ? 0 : 2, rnd[8] % 2 ? 0x81 : 0x01]);
        put(15, [rnd[9] % 3 === 0 ? 1 : 0]);
        const word = (v: number): number[] => (endian === 'le' ? le32(v) : le32(v).reverse());
        put(32, word(urbLen));
        put(60, word(ndesc));
        for (let i = 0; i < ndesc; i++) {
          put(64 + i * 16 + 4, word(rnd[10 + i] % 64));
          put(64 + i * 16 + 8, word(rnd[14 + i] % 64));
        }
        if (rnd[18] % 2) len = 64 + ndesc * 16 + urbLen;
        if (len < n) len = n;
      }
      return { data: bytes, len };
    };
    const samples = fc.sample(
      fc.tuple(
        fc.constantFrom(117, 113, 276, 189, 220, 239),
        fc.constantFrom<'le' | 'be'>('le', 'be'),
        fc.boolean(),
        fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 20, maxLength: 160, size: 'max' }), { minLength: 1, maxLength: 4 }),
      ),
      { numRuns: 600, seed: 4321 },
    );
    samples.forEach(([linkType, endian, ng], i) => {
      const packets = samples[i][3].map((rnd) => packetFor(linkType, rnd, endian));
      const bytes = ng
        ? cat(shb(endian), idb(endian, linkType, 65535), ...packets.map((p) => epb(endian, { ts: 1n, data: p.data, len: p.len })))
        : pcapFile({ endian, linkType, records: packets.map((p) => ({ sec: 1, frac: 2, data: p.data, len: p.len })) });
      cases.set(`pseudo-${i}-${linkType}-${endian}`, bytes);
    });
    expect(compare(cases)).toEqual([]);
  });
});
