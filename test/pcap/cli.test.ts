/** `bpfkit capinfo` and `bpfkit sample` through the CLI dispatcher. */

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture, writeCapture } from '../../src/pcap/index.js';
import { runCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';
import { cat, epb, idb, option, payload, shb } from './fixtures.js';

/** File bytes as a plain Uint8Array (a Buffer compares unequal to one). */
const load = (f: string): Uint8Array => new Uint8Array(readFileSync(f));

const { dir } = scratchDir('cli');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { status: code, stdout: out, stderr: err } = await runCli(argv);
  return { code, out, err };
}

describe('bpfkit sample', () => {
  it('writes COUNT packets, the same file for the same seed', async () => {
    const a = path.join(dir, 'a.pcap');
    const b = path.join(dir, 'b.pcap');
    expect((await run('sample', '-w', a, '-c', '250', '--seed', '9')).code).toBe(0);
    expect((await run('sample', '-w', b, '-c', '250', '--seed', '9')).code).toBe(0);
    expect(readFileSync(a)).toEqual(readFileSync(b));
    expect(readCapture(load(a)).packets).toHaveLength(250);
    const ng = path.join(dir, 'c.pcapng');
    expect((await run('sample', '-w', ng, '--pcapng', '--nsec')).code).toBe(0);
    const r = readCapture(load(ng));
    expect([r.format, r.packets.length, r.tsResolution.exponent]).toEqual(['pcapng', 1000, 9]);
  });

  it('needs -w', async () => {
    const r = await run('sample', '-c', '5');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-w FILE/);
  });
});

describe('bpfkit capinfo', () => {
  it('describes a pcap file', async () => {
    const f = path.join(dir, 'x.pcap');
    writeFileSync(
      f,
      writeCapture(
        [
          { data: payload(60), origLen: 60, tsSec: 1_000_000_000, tsNsec: 5_000, linkType: 113, interfaceId: 0 },
          { data: payload(70), origLen: 90, tsSec: 1_000_000_002, tsNsec: 999_999_000, linkType: 113, interfaceId: 0 },
        ],
        { snaplen: 1234, byteOrder: 'be' },
      ),
    );
    const r = await run('capinfo', f);
    expect(r.code).toBe(0);
    expect(r.out).toContain('pcap (version 2.4)');
    expect(r.out).toContain('big-endian');
    expect(r.out).toContain('LINUX_SLL (113)');
    expect(r.out).toMatch(/Snapshot length:\s+1234/);
    expect(r.out).toMatch(/Packets:\s+2\n/);
    expect(r.out).toContain('2001-09-09T01:46:40.000005Z');
    expect(r.out).toContain('2001-09-09T01:46:42.999999Z');
  });

  it('lists pcapng interfaces with their resolution', async () => {
    const f = path.join(dir, 'y.pcapng');
    writeFileSync(f, cat(shb(), idb('le', 1, 65535, option('le', 9, [9])), idb('le', 1, 65535), epb('le', { ts: 1_500_000_000_123_456_789n, data: payload(20) })));
    const r = await run('capinfo', f);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Interfaces:\s+2/);
    expect(r.out).toContain('#1: EN10MB (1) Ethernet, snaplen 65535, microseconds');
    expect(r.out).toContain('2017-07-14T02:40:00.123456789Z');
  });

  it('prints what it read and the error for a damaged file, and exits 1', async () => {
    const good = path.join(dir, 'g.pcap');
    const bad = path.join(dir, 'd.pcap');
    const bytes = writeCapture([
      { data: payload(60), origLen: 60, tsSec: 1, tsNsec: 0, linkType: 1, interfaceId: 0 },
      { data: payload(60), origLen: 60, tsSec: 2, tsNsec: 0, linkType: 1, interfaceId: 0 },
    ]);
    writeFileSync(good, bytes);
    writeFileSync(bad, bytes.subarray(0, bytes.length - 10));
    const r = await run('capinfo', good, bad);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Packets:\s+2\n[\s\S]*Packets:\s+1\n/);
    expect(r.out).toContain('truncated dump file; tried to read 60 captured bytes, only got 50 (at offset 100) [E_PCAP_TRUNCATED]');
    const notCapture = path.join(dir, 'n.txt');
    writeFileSync(notCapture, 'hello, world');
    const n = await run('capinfo', notCapture);
    expect(n.code).toBe(1);
    expect(n.err).toContain('unknown file format [E_PCAP_BAD_MAGIC]');
    const missing = await run('capinfo', path.join(dir, 'missing.pcap'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^bpfkit capinfo: cannot open \S+missing\.pcap: no such file or directory\n$/);
  });
});
