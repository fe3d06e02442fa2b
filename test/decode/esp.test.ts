// ESP headers over IPv4, printed without decryption, on packets built here.
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];

function ipv4(payload: number[]): Uint8Array {
  return new Uint8Array([0x45, 0, ...be16(20 + payload.length), 0, 1, 0, 0, 64, 50, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, ...payload]);
}

describe('ESP', () => {
  it('prints the SPI, sequence number and length', () => {
    const d = decodePacket(ipv4([0x12, 0x34, 0x56, 0x78, 0, 0, 0x01, 0x0a, ...Array(16).fill(0xee)]), 44, 228);
    expect(d.text).toBe('IP 192.0.2.1 > 192.0.2.2: ESP(spi=0x12345678,seq=0x10a), length 24');
    expect(d.complete).toBe(true);
    expect(d.layers[1]).toEqual({ protocol: 'esp', spi: 0x12345678, seq: 0x10a });
  });
  it('pads the SPI to eight hex digits', () => {
    expect(decodePacket(ipv4([0, 0, 0, 1, 0, 0, 0, 2, 0xee]), 29, 228).text).toBe('IP 192.0.2.1 > 192.0.2.2: ESP(spi=0x00000001,seq=0x2), length 9');
  });
  it('needs more than the 8-byte header captured', () => {
    expect(decodePacket(ipv4([0, 0, 0, 1, 0, 0, 0, 2]), 28, 228).text).toBe('IP 192.0.2.1 > 192.0.2.2:  [|esp]');
  });
});
