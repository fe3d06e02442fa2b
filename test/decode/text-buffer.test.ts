// The byte buffer decoders print into, against Node's own UTF-8 (Buffer.from / toString) and String(n).
import { describe, expect, it } from 'vitest';
import { PrintState, TextBuffer, formatPacket, printPacket } from '../../src/decode/index.js';

/** A seeded generator, so a failure names the inputs that made it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('TextBuffer', () => {
  it('encodes as Buffer.from does (ASCII, Latin-1, BMP, surrogate pairs, lone surrogates) and decodes back', () => {
    const r = rng(7);
    const pool = [0x41, 0x7e, 0x09, 0x0a, 0xe9, 0xff, 0x100, 0x7ff, 0x800, 0x4e2d, 0xfeff, 0xfffd, 0xffff, 0xd83d, 0xde00, 0xdbff, 0xdc00];
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(r() * 12);
      for (let i = 0; i < len; i++) s += String.fromCharCode(pool[Math.floor(r() * pool.length)]);
      const t = new TextBuffer(4);
      t.write('x');
      t.write(s);
      const want = Buffer.from('x' + s);
      expect(Buffer.from(t.bytes.subarray(0, t.length)).equals(want), JSON.stringify(s)).toBe(true);
      expect(t.text()).toBe(want.toString('utf8'));
    }
  });

  it('long ASCII texts decode in pieces, with a non-ASCII character anywhere', () => {
    const ascii = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(0x20 + (i % 95))).join('');
    for (const at of [0, 1023, 1024, 4999]) {
      const s = ascii.slice(0, at) + 'é€😀' + ascii.slice(at);
      const t = new TextBuffer();
      t.write(s);
      expect(t.text()).toBe(s);
      // From a character boundary on (the prefix is ASCII: one byte a character).
      expect(t.text(at, t.length)).toBe(s.slice(at));
    }
  });

  it('writes integers as String(n) does, hex as toString(16) padded', () => {
    const r = rng(3);
    const values = [0, 9, 10, 99, 100, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, -1, 1.5, 2 ** 40];
    for (let i = 0; i < 3000; i++) values.push(Math.floor(r() * 2 ** (1 + Math.floor(r() * 32))));
    for (const v of values) {
      const t = new TextBuffer(1);
      t.writeUint(v);
      expect(t.text(), String(v)).toBe(String(v));
      if (v >= 0 && v < 2 ** 32 && Number.isInteger(v)) {
        const h = new TextBuffer(1);
        h.writeHex(v, 4);
        expect(h.text()).toBe(v.toString(16).padStart(4, '0'));
      }
    }
  });

  it('printPacket appends exactly what formatPacket returns', () => {
    // An Ethernet/IPv4/TCP SYN with MSS, SACK-permitted, time stamps, NOP and window scale options.
    const hex =
      '00000c9ff0010050568a6b1f080045000034000040004006b6e1c0a80001c0a800020050d431000003e8000000008002ffff7e620000020405b40402080a0000000100000000010303';
    const data = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
    const pkt = { data, origLen: data.length, tsSec: 1_700_000_000, tsNsec: 123_456_789, linkType: 1 };
    for (const opts of [{}, { linkHeader: true }, { verbose: 1 }, { hex: 1 as const }]) {
      const want = formatPacket(pkt, { ...opts, layers: false }, new PrintState()).text;
      const t = new TextBuffer(8);
      printPacket(pkt, { ...opts, layers: false }, new PrintState(), t);
      expect(t.text()).toBe(want);
      expect(want).toContain('192.168.0.1.80 > 192.168.0.2.54321: Flags [S]');
    }
  });
});
