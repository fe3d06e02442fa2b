// HTTP request and status lines after TCP (tcpdump's txtproto_print), on segments built here.
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/decode/index.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** IPv4/TCP (PSH|ACK, seq 1, ack 1, win 512) from 10.0.0.1:`sport` to 10.0.0.2:`dport` carrying `payload`. */
function segment(sport: number, dport: number, payload: number[]): Uint8Array {
  const tcp = [...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, ...be16(512), 0, 0, 0, 0, ...payload];
  return new Uint8Array([0x45, 0, ...be16(20 + tcp.length), 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, ...tcp]);
}
const decode = (d: Uint8Array, verbose = 0) => decodePacket(d, d.length, 228, { verbose, absoluteSeq: true });
const HEAD = 'IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 1:';

describe('HTTP', () => {
  it('prints a request line', () => {
    const req = ascii('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    const d = decode(segment(40000, 80, req));
    expect(d.text).toBe(`${HEAD}${1 + req.length}, ack 1, win 512, length ${req.length}: HTTP: GET /index.html HTTP/1.1`);
    expect(d.complete).toBe(true);
  });
  it('prints a status line, recognized by its three-digit second token', () => {
    const resp = ascii('HTTP/1.1 404 Not Found\r\n\r\n');
    expect(decode(segment(8080, 40000, resp)).text).toBe(`IP 10.0.0.1.8080 > 10.0.0.2.40000: Flags [P.], seq 1:${1 + resp.length}, ack 1, win 512, length ${resp.length}: HTTP: HTTP/1.1 404 Not Found`);
  });
  it('prints only the protocol name for other payloads', () => {
    const body = [0x1f, 0x8b, 0x08, 0x00];
    expect(decode(segment(40000, 80, body)).text).toBe(`${HEAD}5, ack 1, win 512, length 4: HTTP`);
  });
  it('marks a request line without its line end as truncated', () => {
    const req = ascii('POST /a HTTP/1.0');
    expect(decode(segment(40000, 80, req)).text).toBe(`${HEAD}${1 + req.length}, ack 1, win 512, length ${req.length}: HTTP: POST /a HTTP/1.0 [|http]`);
  });
  it('prints every header line with -v', () => {
    const req = ascii('get / HTTP/1.0\r\nHost: x\r\n\r\n');
    const text = decode(segment(40000, 80, req), 1).text;
    expect(text.slice(text.indexOf(': HTTP'))).toBe(`: HTTP, length: ${req.length}\n\tget / HTTP/1.0\n\tHost: x\n\t`);
  });
});
