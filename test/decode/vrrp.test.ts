// VRRP v2/v3 advertisements over IPv4 and IPv6, on packets built here.
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];

function ipv4(ttl: number, payload: number[]): Uint8Array {
  return new Uint8Array([0x45, 0, ...be16(20 + payload.length), 0, 1, 0, 0, ttl, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18, ...payload]);
}

describe('VRRP', () => {
  const v2 = [0x21, 7, 100, 1, 0, 1, 0, 0, 10, 0, 0, 254];
  it('prints a version 2 advertisement', () => {
    const d = decodePacket(ipv4(255, v2), 32, 228);
    expect(d.text).toBe('IP 10.0.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 100, authtype none, intvl 1s, length 12');
    expect(d.complete).toBe(true);
    expect(d.layers[1]).toEqual({ protocol: 'vrrp', version: 2, vrid: 7, priority: 100 });
  });
  it('flags a TTL other than 255 and names unknown auth types by number', () => {
    const v2auth = [...v2];
    v2auth[4] = 9;
    expect(decodePacket(ipv4(64, v2auth), 32, 228).text).toBe('IP 10.0.0.1 > 224.0.0.18: VRRPv2, Advertisement, (ttl 64), vrid 7, prio 100, authtype #9, intvl 1s, length 12');
  });
  it('prints the version 3 interval in centiseconds, over IPv6 with the hop limit', () => {
    const v3 = [0x31, 3, 200, 1, 0x00, 100, 0, 0, ...Array(15).fill(0), 1];
    const ip6 = new Uint8Array([0x60, 0, 0, 0, ...be16(v3.length), 112, 255, 0xfe, 0x80, ...Array(13).fill(0), 1, 0xff, 0x02, ...Array(13).fill(0), 0x12, ...v3]);
    expect(decodePacket(ip6, ip6.length, 229).text).toBe('IP6 fe80::1 > ff02::12: VRRPv3, Advertisement, vrid 3, prio 200, intvl 100cs, length 24');
  });
  it('stops after the type for other messages', () => {
    expect(decodePacket(ipv4(255, [0x22, 0, 0, 0, 0, 0, 0, 0]), 28, 228).text).toBe('IP 10.0.0.1 > 224.0.0.18: VRRPv2, unknown type (2)');
  });
});
