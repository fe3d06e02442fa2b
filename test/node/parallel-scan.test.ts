import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { openCaptureFileSync, parallelScanPcap, pipelinedCopyPcap } from '../../src/node/index.js';
import { claimBoundary, scanSegment } from '../../src/node/segment-scan.js';
import { PcapWriter, readCapture, synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-par-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(name: string, count: number, seed: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, writeCapture(synthesizeTraffic({ seed, count }), { linkType: 1 }));
  return file;
}

describe('parallel pcap scan', () => {
  const file = capture('mix.pcap', 4000, 3);
  const info = openCaptureFileSync(file).info;
  const packets = readCapture(readFileSync(file)).packets;

  for (const expr of ['', 'tcp port 80', 'udp', 'arp or icmp']) {
    it(`counts and copies what a sequential read keeps: '${expr}'`, async () => {
      const prog = expr ? compileFilter(expr, { linkType: 1 }) : undefined;
      const expected = packets.filter((p) => !prog || prog.match(p.data, p.origLen) !== 0);
      for (const threads of [2, 3, 5]) {
        const out = path.join(dir, `out-${threads}.pcap`);
        const header = new PcapWriter({ linkType: 1, snaplen: info.snaplen }).header();
        writeFileSync(out, header);
        const fd = openSync(out, 'r+');
        const r = await parallelScanPcap(file, info, { insns: prog?.insns ?? null, threads, chunkBytes: 20_000 + threads * 7_001, write: { fd, at: header.length } });
        closeSync(fd);
        expect(r).toBeDefined();
        expect(r!.records).toBe(packets.length);
        expect(r!.matched).toBe(expected.length);
        const back = readCapture(readFileSync(out)).packets;
        expect(back.map((p) => p.tsNsec + p.tsSec * 1e9)).toEqual(expected.map((p) => p.tsNsec + p.tsSec * 1e9));
        expect(back.every((p, i) => Buffer.compare(p.data, expected[i].data) === 0)).toBe(true);
      }
    });
  }

  it('claims real record boundaries, and a scan proves a false claim false', () => {
    const fd = openSync(file, 'r');
    const size = readFileSync(file).length;
    const starts = new Set<number>();
    let at = 24;
    for (const p of packets) {
      starts.add(at);
      at += 16 + p.data.length;
    }
    let claims = 0;
    for (let guess = 25; guess < size - 2000; guess += 997) {
      const c = claimBoundary(fd, guess, size, true, info.snaplen, false);
      if (c === undefined) continue;
      claims++;
      expect(starts.has(c)).toBe(true);
    }
    closeSync(fd);
    expect(claims).toBeGreaterThan(100);
    const job = { path: file, fileSize: size, littleEndian: true, snaplen: info.snaplen, filter: null };
    const mid = [...starts][2000];
    expect(scanSegment({ ...job, from: 24, to: mid })).toMatchObject({ end: 'ok', stop: mid, records: 2000 });
    // Stopping past a record start lands on the next boundary, which a false claim cannot equal.
    expect(scanSegment({ ...job, from: 24, to: mid + 3 })).toMatchObject({ end: 'ok', stop: [...starts][2001], records: 2001 });
    expect(scanSegment({ ...job, from: mid, to: size }).records).toBe(packets.length - 2000);
  });

  it('a false claim (payloads that read as a chain of records) costs a rescan, not the result', async () => {
    // Every other packet's payload is a run of 16-byte headers of 1-byte packets: plausible records to a claim.
    const fake = new Uint8Array(1200);
    const dv = new DataView(fake.buffer);
    for (let at = 14; at + 16 <= fake.length; at += 16) {
      dv.setUint32(at, 1000, true);
      dv.setUint32(at + 12, 1, true);
    }
    const mixed = [...synthesizeTraffic({ seed: 9, count: 1500 })].flatMap((p, i) => [p, { ...p, data: fake, origLen: fake.length, tsSec: p.tsSec + i }]);
    const bait = path.join(dir, 'bait.pcap');
    writeFileSync(bait, writeCapture(mixed, { linkType: 1 }));
    const baitInfo = openCaptureFileSync(bait).info;
    const prog = compileFilter('tcp or ip6', { linkType: 1 });
    const want = mixed.filter((p) => prog.match(p.data, p.origLen) !== 0).length;
    const size = readFileSync(bait).length;
    const fd = openSync(bait, 'r');
    let falseClaims = 0;
    for (let guess = 1000; guess < size - 5000; guess += 4999) {
      const c = claimBoundary(fd, guess, size, true, baitInfo.snaplen, false);
      if (c !== undefined && scanSegment({ path: bait, from: 24, to: c, fileSize: size, littleEndian: true, snaplen: baitInfo.snaplen, filter: null }).stop !== c) falseClaims++;
    }
    closeSync(fd);
    expect(falseClaims).toBeGreaterThan(0);
    const r = await parallelScanPcap(bait, baitInfo, { insns: prog.insns, threads: 2, chunkBytes: 5_000 });
    expect(r).toMatchObject({ records: mixed.length, matched: want });
  });

  it('leaves a truncated file to the full reader', async () => {
    const whole = readFileSync(file);
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    expect(await parallelScanPcap(cut, info, { insns: null, threads: 2, chunkBytes: 50_000 })).toBeUndefined();
  });
});

describe('pipelined pcap copy', () => {
  const file = capture('pipe.pcap', 3000, 5);
  const info = openCaptureFileSync(file).info;
  const whole = readFileSync(file);
  const packets = readCapture(whole).packets;
  const header = new PcapWriter({ linkType: 1, snaplen: info.snaplen }).header();

  /** Runs a copy of `input` into a fresh file after a pcap header; returns the result and the packets written. */
  async function copy(input: string, expr: string, opts: { slotBytes: number; maxMatched?: number }) {
    const prog = expr ? compileFilter(expr, { linkType: 1 }) : undefined;
    const out = path.join(dir, 'pipe-out.pcap');
    writeFileSync(out, header);
    const ofd = openSync(out, 'r+');
    const ifd = openSync(input, 'r');
    try {
      const r = await pipelinedCopyPcap(ifd, info, 24, { insns: prog?.insns ?? null, out: { fd: ofd, at: header.length }, ...opts });
      return { r: r!, back: readCapture(readFileSync(out)).packets, prog };
    } finally {
      closeSync(ofd);
      closeSync(ifd);
    }
  }

  for (const expr of ['', 'tcp', 'udp port 53 or arp']) {
    it(`writes what a sequential read keeps, in order: '${expr}'`, async () => {
      for (const slotBytes of [2048, 9_999, 1 << 16]) {
        const { r, back, prog } = await copy(file, expr, { slotBytes });
        const expected = packets.filter((p) => !prog || prog.match(p.data, p.origLen) !== 0);
        expect(r).toMatchObject({ end: 'eof', records: packets.length, matched: expected.length, offset: whole.length });
        expect(r.bytes).toBe(expected.reduce((n, p) => n + 16 + p.data.length, 0));
        expect(back.map((p) => p.tsSec * 1e9 + p.tsNsec)).toEqual(expected.map((p) => p.tsSec * 1e9 + p.tsNsec));
        expect(back.every((p, i) => Buffer.compare(p.data, expected[i].data) === 0)).toBe(true);
      }
    });
  }

  it('stops after -c matches, at the record after the last one kept', async () => {
    const { r, back, prog } = await copy(file, 'tcp', { slotBytes: 4096, maxMatched: 777 });
    const kept = packets.map((p, i) => ({ p, i })).filter(({ p }) => prog!.match(p.data, p.origLen) !== 0);
    expect(r).toMatchObject({ end: 'stopped', matched: 777, records: kept[776].i + 1 });
    expect(back.length).toBe(777);
  });

  it('leaves a truncated last record, and a record bigger than a slot, to the full reader', async () => {
    const cut = path.join(dir, 'pipe-cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    const a = await copy(cut, '', { slotBytes: 4096 });
    expect(a.r).toMatchObject({ end: 'fallback', records: packets.length - 1, matched: packets.length - 1 });
    expect(a.r.offset).toBe(whole.length - 16 - packets[packets.length - 1].data.length);
    expect(a.back.length).toBe(packets.length - 1);
    // The largest record does not fit a slot of its own size: the copy stops just before it.
    const big = packets.reduce((m, p, i) => (p.data.length > packets[m].data.length ? i : m), 0);
    const b = await copy(file, '', { slotBytes: 16 + packets[big].data.length - 1 });
    expect(b.r.end).toBe('fallback');
    expect(b.r.records).toBeLessThanOrEqual(big);
    expect(b.back.length).toBe(b.r.records);
  });
});
