// The table-driven address and time formatting against independent formulations, and layers built only when asked for.
import { describe, expect, it } from 'vitest';
import { ClockCache, decodePacket, formatIp6, formatTimestamp } from '../../src/decode/index.js';

/** A seeded generator, so a failure names the inputs that made it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('table-driven formatting', () => {
  it('formats IPv6 addresses as the WHATWG URL serializer (RFC 5952) does, zero runs included', () => {
    const r = rng(1);
    for (let n = 0; n < 5000; n++) {
      const a = new Uint8Array(16);
      // Mostly zero groups, so that runs of every length and position occur.
      for (let g = 0; g < 8; g++) {
        if (r() >= 0.5) continue;
        a[2 * g] = r() < 0.5 ? 0 : Math.floor(r() * 256);
        a[2 * g + 1] = Math.floor(r() * 256);
      }
      // glibc prints ::a.b.c.d forms the URL serializer does not: those are tested apart.
      if (a.subarray(0, 10).every((b) => b === 0) && ((a[10] === 0xff && a[11] === 0xff) || (a[10] === 0 && a[11] === 0 && (a[12] | a[13]) !== 0))) continue;
      const groups = Array.from({ length: 8 }, (_, g) => ((a[2 * g] << 8) | a[2 * g + 1]).toString(16)).join(':');
      expect(formatIp6(a), groups).toBe(new URL(`http://[${groups}]/`).hostname.slice(1, -1));
    }
  });
  it('keeps the dotted tail of IPv4-mapped and -compatible addresses', () => {
    expect(formatIp6(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]))).toBe('::ffff:192.0.2.1');
    expect(formatIp6(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1]))).toBe('::192.0.2.1');
    expect(formatIp6(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe('::1');
  });
  it('prints times as the Date/padStart formulation does, with the cached second reused only within that second', () => {
    const r = rng(2);
    const cache = new ClockCache();
    let sec = 1_600_000_000;
    for (let n = 0; n < 2000; n++) {
      if (r() < 0.3) sec += Math.floor(r() * 100000);
      const nsec = Math.floor(r() * 1e9);
      const d = new Date(sec * 1000);
      const p2 = (x: number): string => String(x).padStart(2, '0');
      const hms = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
      expect(formatTimestamp('default', sec, nsec, undefined, undefined, false, cache)).toBe(`${hms}.${String(Math.floor(nsec / 1000)).padStart(6, '0')} `);
      expect(formatTimestamp('date', sec, nsec, undefined, undefined, true, cache)).toBe(
        `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${hms}.${String(nsec).padStart(9, '0')} `,
      );
    }
  });
  it('builds JSON layers only when asked for, with the same text either way', () => {
    const frame = new Uint8Array([
      ...[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00],
      ...[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
      ...[0x30, 0x39, 0x00, 0x35 + 1, 0, 8, 0, 0],
    ]);
    const withLayers = decodePacket(frame, frame.length, 1, { linkHeader: true });
    const without = decodePacket(frame, frame.length, 1, { linkHeader: true, layers: false });
    expect(without.text).toBe(withLayers.text);
    expect(withLayers.layers.map((l) => l.protocol)).toEqual(['ether', 'ip', 'udp']);
    expect(without.layers).toEqual([]);
  });
});
