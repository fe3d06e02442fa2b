/** The synthetic traffic generator: deterministic per seed, well-formed frames, the promised protocol mix, increasing time. */

import { describe, expect, it } from 'vitest';
import { synthesizeTraffic, type Packet } from '../../src/pcap/index.js';

/** Internet checksum over bytes, folded; 0 means a correct checksum was included. */
function check(bytes: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) s += bytes[bytes.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

interface Dissected {
  etherType: number;
  vlan: boolean;
  proto?: number;
  sport?: number;
  dport?: number;
  fragment?: boolean;
  ipOptions?: boolean;
  tcpFlags?: number;
  checksumsOk: boolean;
}

/** A small independent dissector for what the generator claims to produce. */
function dissect(p: Packet): Dissected {
  const d = p.data;
  let at = 12;
  let etherType = (d[at] << 8) | d[at + 1];
  let vlan = false;
  if (etherType === 0x8100) {
    vlan = true;
    at += 4;
    etherType = (d[at] << 8) | d[at + 1];
  }
  const ip = at + 2;
  const out: Dissected = { etherType, vlan, checksumsOk: true };
  let l4: number;
  let l4Len: number;
  let pseudo: number;
  if (etherType === 0x0800) {
    const ihl = (d[ip] & 0x0f) * 4;
    const total = (d[ip + 2] << 8) | d[ip + 3];
    out.proto = d[ip + 9];
    out.ipOptions = ihl > 20;
    const frag = ((d[ip + 6] << 8) | d[ip + 7]) & 0x3fff;
    out.fragment = frag !== 0;
    if (check(d.subarray(ip, ip + ihl)) !== 0) out.checksumsOk = false;
    l4 = ip + ihl;
    l4Len = total - ihl;
    pseudo = 0;
    for (let i = 12; i < 20; i += 2) pseudo += (d[ip + i] << 8) | d[ip + i + 1];
    pseudo += out.proto + l4Len;
    if (out.fragment) return out;
  } else if (etherType === 0x86dd) {
    out.proto = d[ip + 6];
    l4 = ip + 40;
    l4Len = (d[ip + 4] << 8) | d[ip + 5];
    pseudo = 0;
    for (let i = 8; i < 40; i += 2) pseudo += (d[ip + i] << 8) | d[ip + i + 1];
    pseudo += out.proto + l4Len;
  } else {
    return out;
  }
  const seg = d.subarray(l4, l4 + l4Len);
  if (out.proto === 6 || out.proto === 17) {
    out.sport = (seg[0] << 8) | seg[1];
    out.dport = (seg[2] << 8) | seg[3];
  }
  if (out.proto === 6) out.tcpFlags = seg[13];
  const sum = out.proto === 1 ? check(seg) : check(seg, pseudo);
  if (sum !== 0) out.checksumsOk = false;
  return out;
}

describe('synthesizeTraffic', () => {
  const packets = [...synthesizeTraffic({ count: 5000, seed: 42 })];
  const parts = packets.map(dissect);

  it('is deterministic per seed and differs between seeds', () => {
    const again = [...synthesizeTraffic({ count: 200, seed: 42 })];
    again.forEach((p, i) => {
      expect(p.data).toEqual(packets[i].data);
      expect([p.tsSec, p.tsNsec]).toEqual([packets[i].tsSec, packets[i].tsNsec]);
    });
    const other = [...synthesizeTraffic({ count: 200, seed: 43 })];
    expect(other.some((p, i) => p.data.length !== again[i].data.length)).toBe(true);
  });

  it('makes Ethernet frames of 60..1514 bytes with increasing time stamps in whole microseconds', () => {
    let prev = -1;
    for (const p of packets) {
      expect(p.linkType).toBe(1);
      expect(p.data.length).toBeGreaterThanOrEqual(60);
      expect(p.data.length).toBeLessThanOrEqual(1514);
      expect(p.origLen).toBe(p.data.length);
      expect(p.tsNsec % 1000).toBe(0);
      const t = p.tsSec * 1e9 + p.tsNsec;
      expect(t).toBeGreaterThan(prev);
      prev = t;
    }
  });

  it('contains the promised mix', () => {
    const count = (f: (d: Dissected) => boolean): number => parts.filter(f).length;
    expect(count((d) => d.etherType === 0x0806)).toBeGreaterThan(50);
    expect(count((d) => d.etherType === 0x86dd)).toBeGreaterThan(200);
    expect(count((d) => d.vlan)).toBeGreaterThan(50);
    expect(count((d) => d.proto === 17 && (d.dport === 53 || d.sport === 53))).toBeGreaterThan(300);
    expect(count((d) => d.proto === 1)).toBeGreaterThan(50);
    expect(count((d) => d.proto === 58)).toBeGreaterThan(30);
    expect(count((d) => d.fragment === true)).toBeGreaterThan(10);
    expect(count((d) => d.ipOptions === true)).toBeGreaterThan(0);
    expect(count((d) => d.proto === 6 && (d.dport === 80 || d.sport === 80))).toBeGreaterThan(300);
    expect(count((d) => d.proto === 6 && (d.dport === 443 || d.sport === 443))).toBeGreaterThan(300);
    expect(count((d) => d.tcpFlags === 0x02)).toBeGreaterThan(30); // SYN
    expect(count((d) => d.tcpFlags === 0x12)).toBeGreaterThan(30); // SYN-ACK
    expect(count((d) => d.tcpFlags === 0x11)).toBeGreaterThan(30); // FIN-ACK
    const sizes = new Set(packets.map((p) => p.data.length));
    expect(sizes.has(60)).toBe(true);
    expect(sizes.has(1514)).toBe(true);
  });

  it('fills in correct IP, TCP, UDP and ICMP checksums', () => {
    const bad = parts.filter((d) => !d.checksumsOk);
    expect(bad).toEqual([]);
  });

  it('has HTTP requests on port 80', () => {
    const text = (p: Packet): string => String.fromCharCode(...p.data.subarray(0, 200));
    expect(packets.some((p) => /GET \/\S* HTTP\/1\.1\r\nHost: /.test(text(p)))).toBe(true);
  });
});
