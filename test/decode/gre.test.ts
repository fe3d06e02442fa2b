// GRE version 0 over IPv4, with key and sequence fields and IPv4 / Ethernet / unknown payloads, on packets built here.
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const be32 = (n: number): number[] => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** IPv4 header (no options) from `src` to `dst` carrying `payload` of IP protocol `proto`. */
function ipv4(proto: number, src: number[], dst: number[], payload: number[]): number[] {
  return [0x45, 0, ...be16(20 + payload.length), 0, 1, 0, 0, 64, proto, 0, 0, ...src, ...dst, ...payload];
}
const INNER_UDP = ipv4(17, [192, 168, 0, 1], [192, 168, 0, 2], [...be16(53000), ...be16(9999), ...be16(10), 0, 0, 0xab, 0xcd]);
const OUTER_SRC = [10, 0, 0, 1];
const OUTER_DST = [10, 0, 0, 2];

function rawIp(packet: number[], options = {}) {
  return decodePacket(new Uint8Array(packet), packet.length, 228, options);
}

describe('GRE', () => {
  it('prints the header and the IPv4 packet inside', () => {
    const gre = [...be16(0), ...be16(0x0800), ...INNER_UDP];
    const d = rawIp(ipv4(47, OUTER_SRC, OUTER_DST, gre));
    expect(d.text).toBe('IP 10.0.0.1 > 10.0.0.2: GREv0, length 34: IP 192.168.0.1.53000 > 192.168.0.2.9999: UDP, length 2');
    expect(d.complete).toBe(true);
    expect(d.layers.map((l) => l.protocol)).toEqual(['ip', 'gre', 'ip', 'udp']);
    expect(d.layers[1]).toEqual({ protocol: 'gre', version: 0, type: 0x0800 });
  });
  it('prints key and sequence number, and the protocol with -e', () => {
    const gre = [...be16(0x3000), ...be16(0x0800), ...be32(0x1234), ...be32(7), ...INNER_UDP];
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, gre)).text).toBe('IP 10.0.0.1 > 10.0.0.2: GREv0, key=0x1234, seq 7, length 42: IP 192.168.0.1.53000 > 192.168.0.2.9999: UDP, length 2');
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, gre), { linkHeader: true }).text).toBe(
      'ip: 10.0.0.1 > 10.0.0.2: GREv0, key=0x1234, seq 7, proto IPv4 (0x0800), length 42: 192.168.0.1.53000 > 192.168.0.2.9999: UDP, length 2',
    );
  });
  it('prints bridged Ethernet (TEB) and names unknown protocols', () => {
    const ether = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, ...be16(0x0800), ...INNER_UDP];
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, [...be16(0), ...be16(0x6558), ...ether])).text).toBe(
      'IP 10.0.0.1 > 10.0.0.2: GREv0, length 48: IP 192.168.0.1.53000 > 192.168.0.2.9999: UDP, length 2',
    );
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, [...be16(0x1000), ...be16(0x88be), ...be32(1), 1, 2, 3, 4])).text).toBe('IP 10.0.0.1 > 10.0.0.2: GREv0, seq 1, length 12: gre-proto-0x88be');
  });
  it('marks version 1 (PPTP) and -v output as not fully decoded', () => {
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, [...be16(0x2001), ...be16(0x880b), ...be16(0), ...be16(1), ...be32(0)])).complete).toBe(false);
    expect(rawIp(ipv4(47, OUTER_SRC, OUTER_DST, [...be16(0), ...be16(0x0800), ...INNER_UDP]), { verbose: 1 }).complete).toBe(false);
  });
  it('prints a truncation mark for a cut header', () => {
    const packet = ipv4(47, OUTER_SRC, OUTER_DST, [...be16(0x2000), ...be16(0x0800), 0x12]);
    expect(rawIp(packet).text).toBe('IP 10.0.0.1 > 10.0.0.2: GREv0 [|gre]');
  });
});

describe('fixes found by the tcpdump comparison', () => {
  it('prints an IPv6 fragment header cut after its offset without -v', () => {
    // IPv6 header (next header 44, payload 16) and only 4 bytes of the fragment header.
    const ip6 = [0x60, 0, 0, 0, ...be16(16), 44, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2, 17, 0, ...be16(0)];
    const d = decodePacket(new Uint8Array(ip6), 56, 229);
    expect(d.text).toBe('IP6 ::1 > ::2: frag (0|8) ');
    expect(decodePacket(new Uint8Array(ip6), 56, 229, { verbose: 1 }).text).toBe('IP6 (hlim 64, next-header Fragment (44) payload length: 16) ::1 > ::2:  [|frag6]');
  });
  it('prints a zero-length ARP hardware address as <empty>', () => {
    // Reverse reply, hardware length 0, IPv4 protocol addresses.
    const arp = [...be16(1), ...be16(0x0800), 0, 4, ...be16(4), 10, 0, 0, 1, 10, 0, 0, 2];
    const frame = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, ...be16(0x8035), ...arp];
    expect(decodePacket(new Uint8Array(frame), frame.length, 1, { verbose: 1 }).text).toBe('ARP, Ethernet (len 0), IPv4 (len 4), Reverse Reply <empty> at 10.0.0.2, length 16');
  });
  it('names IP protocols only from tcpdump\'s ipproto_values table (59 is unknown there)', () => {
    const ip6 = [0x60, 0, 0, 0, ...be16(0), 59, 64, ...Array(15).fill(0), 1, ...Array(15).fill(0), 2];
    expect(decodePacket(new Uint8Array(ip6), 40, 229, { verbose: 1 }).text).toBe('IP6 (hlim 64, next-header unknown (59) payload length: 0) ::1 > ::2: no next header');
  });
});
