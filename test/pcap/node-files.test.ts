/** The Node file helpers: streaming a capture file from disk, atomic writes that never leave half a file. */

import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicFileWriter, openCaptureFile, openCaptureFileSync, writeCaptureFile } from '../../src/node/index.js';
import { readCapture, synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';
import { FormatError, UsageError, bytesEqual } from '../../src/util/index.js';
import { scratchDir } from '../helpers/scratch.js';

/** File bytes as a plain Uint8Array (a Buffer compares unequal to one). */
const load = (f: string): Uint8Array => new Uint8Array(readFileSync(f));

const { dir } = scratchDir('pcap');

const packets = [...synthesizeTraffic({ count: 1500, seed: 5 })];

describe('openCaptureFile / openCaptureFileSync', () => {
  const file = path.join(dir, 'a.pcap');
  writeFileSync(file, writeCapture(packets));
  const whole = readCapture(load(file));

  it('streams the same packets as a whole read, with small chunks', async () => {
    const s = openCaptureFile(file, 4096);
    const got = [];
    for await (const p of s) got.push(p);
    expect((await s.info).linkType).toBe(1);
    expect(got.length).toBe(whole.packets.length);
    got.forEach((p, i) => expect(bytesEqual(p.data, whole.packets[i].data)).toBe(true));
  });

  it('reads synchronously in batches', () => {
    const s = openCaptureFileSync(file, 10000);
    expect(s.info.format).toBe('pcap');
    let n = 0;
    let bytes = 0;
    for (const batch of s.batches()) {
      n += batch.length;
      for (const p of batch) bytes += p.data.length;
    }
    expect(n).toBe(packets.length);
    expect(bytes).toBe(packets.reduce((a, p) => a + p.data.length, 0));
  });

  it('names the file in errors and gives the packets before damage', async () => {
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(file).subarray(0, 5000));
    const s = openCaptureFileSync(cut, 1000);
    let n = 0;
    let error: unknown;
    try {
      for (const _ of s) n++;
    } catch (e) {
      error = e;
    }
    expect(n).toBe(readCapture(load(cut)).packets.length);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).position?.file).toBe(cut);
    const asyncError = await (async () => {
      try {
        for await (const _ of openCaptureFile(cut, 1000));
      } catch (e) {
        return e;
      }
    })();
    expect((asyncError as FormatError).position?.file).toBe(cut);
    const bad = path.join(dir, 'bad.pcap');
    writeFileSync(bad, 'not a capture');
    expect(() => openCaptureFileSync(bad)).toThrow(/unknown file format.*bad\.pcap/);
  });
});

describe('file-system errors', () => {
  it('are typed errors with a short message naming the file', async () => {
    const missing = path.join(dir, 'no-such-dir', 'x.pcap');
    for (const fn of [() => openCaptureFileSync(missing), () => new AtomicFileWriter(missing), () => openCaptureFileSync(dir)]) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).code).toBe('E_FILE');
      expect((error as UsageError).message).toMatch(/^cannot (open|write|read) \S+: [a-z ]+$/);
    }
    await expect(writeCaptureFile(missing, [])).rejects.toThrow(/cannot write .*: no such file or directory/);
  });
});

describe('AtomicFileWriter', () => {
  it('shows nothing at the target until commit, then the whole file', () => {
    const target = path.join(dir, 'atomic.bin');
    const w = new AtomicFileWriter(target, 16);
    w.write(Uint8Array.of(1, 2, 3));
    w.write(new Uint8Array(100).fill(7));
    expect(existsSync(target)).toBe(false);
    w.commit();
    const got = readFileSync(target);
    expect(got.length).toBe(103);
    expect([...got.subarray(0, 4)]).toEqual([1, 2, 3, 7]);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('abort leaves the old target and no temp file', () => {
    const target = path.join(dir, 'keep.bin');
    writeFileSync(target, 'old');
    const w = new AtomicFileWriter(target);
    w.write(Uint8Array.of(1));
    w.abort();
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });
});

describe('writeCaptureFile', () => {
  it('writes pcap and pcapng that read back to the same packets', async () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const target = path.join(dir, `w.${format}`);
      const n = await writeCaptureFile(target, packets, { format, tsResolution: 'nsec' });
      expect(n).toBe(packets.length);
      const r = readCapture(load(target));
      expect(r.format).toBe(format);
      expect(r.packets.length).toBe(packets.length);
      r.packets.forEach((p, i) => {
        expect(bytesEqual(p.data, packets[i].data)).toBe(true);
        expect([p.tsSec, p.tsNsec]).toEqual([packets[i].tsSec, packets[i].tsNsec]);
      });
    }
  });

  it('leaves no file behind when the source fails', async () => {
    const target = path.join(dir, 'fail.pcap');
    async function* failing() {
      yield packets[0];
      throw new Error('source broke');
    }
    await expect(writeCaptureFile(target, failing())).rejects.toThrow('source broke');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });
});
