/** Streaming reads: any chunking gives the packets a whole-buffer read gives, with views into chunks and errors at the same place. */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkedCaptureReader, readCapture, streamCapture, synthesizeTraffic, writeCapture, type Packet } from '../../src/pcap/index.js';
import { FormatError, bytesEqual } from '../../src/util/index.js';
import { block, cat, epb, idb, payload, shb, spb } from './fixtures.js';

const packets: Packet[] = Array.from({ length: 12 }, (_, i) => ({
  data: payload(20 + i * 37, i),
  origLen: 20 + i * 37 + (i % 3),
  tsSec: 1000 + i,
  tsNsec: i * 1000,
  linkType: 1,
  interfaceId: 0,
}));

function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]);
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}

async function* source(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function collect(chunks: Uint8Array[]): Promise<{ packets: Packet[]; error?: unknown }> {
  const got: Packet[] = [];
  try {
    for await (const p of streamCapture(source(chunks))) got.push(p);
  } catch (e) {
    return { packets: got, error: e };
  }
  return { packets: got };
}

const files: Record<string, Uint8Array> = {
  pcap: writeCapture(packets),
  pcapng: writeCapture(packets, { format: 'pcapng', tsResolution: 'nsec', byteOrder: 'be' }),
  pcapngMixed: cat(shb(), idb(), epb('le', { ts: 5n, data: payload(50) }), shb(), idb(), spb('le', payload(77)), epb('le', { ts: 9n, data: payload(3) })),
};

describe('streamCapture', () => {
  for (const [name, file] of Object.entries(files)) {
    it(`gives the same packets as readCapture for any chunking (${name})`, async () => {
      const whole = readCapture(file);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
          const r = await collect(chunked(file, sizes));
          expect(r.error).toBeUndefined();
          expect(r.packets.map((p) => [p.tsSec, p.tsNsec, p.origLen])).toEqual(whole.packets.map((p) => [p.tsSec, p.tsNsec, p.origLen]));
          r.packets.forEach((p, i) => expect(p.data).toEqual(whole.packets[i].data));
        }),
        { numRuns: 60 },
      );
    });
  }

  it('fails a cut file at the same packet and with the same error as readCapture', async () => {
    const file = files.pcapng;
    for (let cut = 0; cut < file.length; cut += 7) {
      const part = file.slice(0, cut);
      let expected: { count: number; detail: string | undefined };
      try {
        const r = readCapture(part);
        expected = { count: r.packets.length, detail: r.error?.detail };
      } catch (e) {
        expected = { count: 0, detail: (e as FormatError).detail };
      }
      const r = await collect(chunked(part, [13, 50]));
      expect(r.packets.length).toBe(expected.count);
      expect(r.error === undefined ? undefined : (r.error as FormatError).detail).toBe(expected.detail);
    }
  });

  it('joins records across big chunks without copying whole chunks (bridging), including blocks bigger than a chunk', async () => {
    const big = writeCapture([...synthesizeTraffic({ count: 1500, seed: 3 })]);
    const huge = cat(
      shb(),
      idb('le', 1, 262144),
      epb('le', { ts: 1n, data: payload(60000, 1) }),
      block('le', 0x99, payload(3_000_000, 2)),
      epb('le', { ts: 2n, data: payload(200000, 3) }),
      spb('le', payload(40000, 4)),
      epb('le', { ts: 3n, data: payload(70, 5) }),
    );
    for (const file of [big, huge]) {
      const whole = readCapture(file);
      for (const sizes of [[16385], [20000, 70001], [1 << 20], [100000, 17], [300000]]) {
        const r = await collect(chunked(file, sizes));
        expect(r.error).toBeUndefined();
        expect(r.packets.length).toBe(whole.packets.length);
        r.packets.forEach((p, i) => expect(bytesEqual(p.data, whole.packets[i].data)).toBe(true));
      }
      // Damage near a chunk boundary is reported as from a whole read.
      const cut = file.subarray(0, 65536 + 7);
      const expected = readCapture(cut);
      const r = await collect(chunked(cut, [65536]));
      expect(r.packets.length).toBe(expected.packets.length);
      expect((r.error as FormatError).detail).toBe(expected.error?.detail);
    }
  });

  it('hands out views into the chunk when a packet lies inside it', async () => {
    const chunks = [files.pcap];
    const r = await collect(chunks);
    expect(r.packets[3].data.buffer).toBe(chunks[0].buffer);
  });

  it('resolves info after the header and rejects it for a file that cannot be opened', async () => {
    const s = streamCapture(source(chunked(files.pcapng, [5])));
    const it = s[Symbol.asyncIterator]();
    await it.next();
    const info = await s.info;
    expect(info.format).toBe('pcapng');
    expect(s.infoNow?.byteOrder).toBe('be');
    const bad = streamCapture(source([Uint8Array.of(1, 2, 3, 4, 5)]));
    const rejected = bad.info.then(
      () => 'resolved',
      (e: FormatError) => e.code,
    );
    await expect(collect2(bad)).rejects.toBeInstanceOf(FormatError);
    expect(await rejected).toBe('E_PCAP_BAD_MAGIC');
  });

  it('batches() groups packets per chunk', async () => {
    const s = streamCapture(source(chunked(files.pcap, [4096])));
    let n = 0;
    for await (const b of s.batches()) n += b.length;
    expect(n).toBe(packets.length);
  });

  it('the push reader gives every packet whatever the chunk boundaries', () => {
    const reader = new ChunkedCaptureReader();
    const big = writeCapture(Array.from({ length: 2000 }, () => packets[5]));
    let count = 0;
    for (const c of chunked(big, [1000])) {
      reader.feed(c);
      while (reader.next()) count++;
      expect(reader.offset).toBeGreaterThan(0);
    }
    reader.feed(null);
    while (reader.next()) count++;
    expect(reader.done).toBe(true);
    expect(count).toBe(2000);
  });
});

async function collect2(s: AsyncIterable<Packet>): Promise<number> {
  let n = 0;
  for await (const _ of s) n++;
  return n;
}
