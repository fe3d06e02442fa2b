import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { openCaptureFileSync, parallelScanPcap } from '../../src/node/index.js';
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

  it('leaves a truncated file to the full reader', async () => {
    const whole = readFileSync(file);
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 5));
    expect(await parallelScanPcap(cut, info, { insns: null, threads: 2, chunkBytes: 50_000 })).toBeUndefined();
  });
});
