// IGMP queries, reports and leaves over IPv4, on packets built here.
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];

/** An IGMP message from 10.0.0.1 to `dst`, with its checksum filled in unless `badSum`. */
function igmp(dst: number[], msg: number[], badSum = false): Uint8Array {
  let sum = 0;
  for (let i = 0; i < msg.length; i += 2) sum += (msg[i] << 8) | (msg[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const m = [...msg];
  [m[2], m[3]] = be16(badSum ? 0x1234 : ~sum & 0xffff);
  return new Uint8Array([0x45, 0, ...be16(20 + m.length), 0, 1, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1, ...dst, ...m]);
}
const G = [239, 1, 2, 3];
const text = (d: Uint8Array, verbose = 0) => decodePacket(d, d.length, 228, { verbose }).text.replace(/^IP (\(.*\)\n {4})?/, '');

describe('IGMP', () => {
  it('prints v1/v2 reports and leaves', () => {
    expect(text(igmp(G, [0x16, 0, 0, 0, ...G]))).toBe('10.0.0.1 > 239.1.2.3: igmp v2 report 239.1.2.3');
    expect(text(igmp(G, [0x12, 0, 0, 0, ...G]))).toBe('10.0.0.1 > 239.1.2.3: igmp v1 report 239.1.2.3');
    expect(text(igmp([224, 0, 0, 2], [0x17, 0, 0, 0, ...G]))).toBe('10.0.0.1 > 224.0.0.2: igmp leave 239.1.2.3');
  });
  it('tells query versions apart by length and max response time', () => {
    expect(text(igmp([224, 0, 0, 1], [0x11, 0, 0, 0, 0, 0, 0, 0]))).toBe('10.0.0.1 > 224.0.0.1: igmp query v1');
    expect(text(igmp([224, 0, 0, 1], [0x11, 100, 0, 0, 0, 0, 0, 0]))).toBe('10.0.0.1 > 224.0.0.1: igmp query v2');
    expect(text(igmp(G, [0x11, 10, 0, 0, ...G]))).toBe('10.0.0.1 > 239.1.2.3: igmp query v2 [max resp time 10] [gaddr 239.1.2.3]');
    expect(text(igmp(G, [0x11, 25, 0, 0, ...G, 0, 0, ...be16(2), 10, 0, 0, 5, 10, 0, 0, 6]))).toBe('10.0.0.1 > 239.1.2.3: igmp query v3 [max resp time 2.5s] [gaddr 239.1.2.3, 2 source(s)]');
  });
  it('counts v3 report group records', () => {
    expect(text(igmp([224, 0, 0, 22], [0x22, 0, 0, 0, 0, 0, ...be16(1), 4, 0, 0, 0, ...G]))).toBe('10.0.0.1 > 224.0.0.22: igmp v3 report, 1 group record(s)');
  });
  it('checks the checksum with -v', () => {
    expect(text(igmp(G, [0x16, 0, 0, 0, ...G]), 1)).toBe('10.0.0.1 > 239.1.2.3: igmp v2 report 239.1.2.3');
    expect(text(igmp(G, [0x16, 0, 0, 0, ...G], true), 1)).toBe('10.0.0.1 > 239.1.2.3: igmp v2 report 239.1.2.3 bad igmp cksum 1234!');
  });
});
