/** Every capture in the shared corpus read by bpfkit and by libpcap 1.10 (pcap-dump.c): same header, same packets, same failure; pcap files written back byte for byte; manifest counts. */

import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChunkedCaptureReader, PcapWriter, linkTypeName, readCapture } from '../../src/pcap/index.js';
import { FormatError, bytesEqual } from '../../src/util/index.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';
import { bpfkitReading, bpfkitStreamReading, libpcapReadings, load } from './pcap-helpers.js';

interface ManifestEntry {
  file: string;
  format: string;
  linktype: string | null;
  dlt_value?: number;
  packets: number | null;
  byte_order?: string;
  file_level_error: boolean;
  header_snaplen?: number;
}

const skip = skipReason('pcap corpus vs libpcap', { corpus: 'pcaps/manifest.json', commands: ['gcc'], files: ['/usr/include/pcap/pcap.h'] });

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe.skipIf(skip !== undefined)('pcap corpus vs libpcap 1.10', () => {
  const pcaps = path.join(corpusDir, 'pcaps');
  const manifest: ManifestEntry[] = skip ? [] : (JSON.parse(readFileSync(path.join(pcaps, 'manifest.json'), 'utf8')) as ManifestEntry[]);
  const savefiles = path.join(corpusDir, 'pcap-filter/savefiles');
  const files = skip
    ? []
    : [...manifest.map((m) => path.join(pcaps, m.file)), ...(statSync(savefiles, { throwIfNoEntry: false })?.isDirectory() ? listFiles(savefiles) : [])];
  const reference = skip ? new Map() : libpcapReadings(files);

  it('covers every manifest file and the libpcap savefiles', () => {
    expectFloor('pcap-corpus: manifest.length', manifest.length, 800);
    expect(reference.size).toBe(new Set(files).size);
  });

  it('reads the same header, packets and failure as libpcap, whole and streamed', async () => {
    const mismatches: string[] = [];
    let packets = 0;
    for (const file of files) {
      const bytes = load(file);
      const ref = reference.get(file)!;
      const ours = bpfkitReading(bytes);
      packets += ref.packets.length;
      const same = (a: typeof ours): boolean =>
        a.open === ref.open && a.end === ref.end && a.packets.length === ref.packets.length && a.packets.every((l, i) => l === ref.packets[i]);
      if (!same(ours)) {
        const i = ours.packets.findIndex((l, k) => l !== ref.packets[k]);
        mismatches.push(`${file}: libpcap [${ref.open} | ${ref.packets.length} packets | ${ref.end}] bpfkit [${ours.open} | ${ours.packets.length} | ${ours.end}] first diff ${i}: ${ref.packets[i]} vs ${ours.packets[i]}`);
        continue;
      }
      const streamed = await bpfkitStreamReading(bytes, 509);
      if (!same(streamed)) mismatches.push(`${file}: streamed reading differs: ${streamed.open} ${streamed.packets.length} ${streamed.end}`);
    }
    expect(mismatches).toEqual([]);
    expectFloor('pcap-corpus: packets', packets, 10000);
  });

  it('agrees with the manifest (format, link type name, byte order, packet count, file-level errors)', () => {
    const problems: string[] = [];
    for (const m of manifest) {
      const bytes = load(path.join(pcaps, m.file));
      let count = 0;
      let failed = false;
      try {
        const r = readCapture(bytes);
        count = r.packets.length;
        failed = r.error !== undefined;
        if (r.format !== m.format) problems.push(`${m.file}: format ${r.format} != ${m.format}`);
        if (m.byte_order && r.byteOrder !== m.byte_order) problems.push(`${m.file}: byte order ${r.byteOrder}`);
        if (m.dlt_value !== undefined && r.linkType !== m.dlt_value) problems.push(`${m.file}: dlt ${r.linkType} != ${m.dlt_value}`);
        const name = linkTypeName(r.linkType);
        if (m.linktype && /^[A-Z0-9_]+$/.test(m.linktype) && name !== m.linktype) problems.push(`${m.file}: name ${name} != ${m.linktype}`);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        failed = true;
        if (m.packets !== null) problems.push(`${m.file}: we refuse to open it, libpcap read ${m.packets} packets`);
      }
      if (m.packets !== null && count !== m.packets) problems.push(`${m.file}: ${count} packets != ${m.packets}`);
      if (failed !== m.file_level_error) problems.push(`${m.file}: failed=${failed} but file_level_error=${m.file_level_error}`);
    }
    expect(problems).toEqual([]);
  });

  it('writes every corpus pcap file back byte for byte (up to any damage)', () => {
    const differ: string[] = [];
    let identical = 0;
    for (const file of files) {
      const bytes = load(file);
      let r;
      try {
        r = readCapture(bytes);
      } catch {
        continue;
      }
      if (r.format !== 'pcap' || !r.pcapHeader) continue;
      const h = r.pcapHeader;
      const w = new PcapWriter({
        linkType: r.linkType,
        linkTypeField: h.linkTypeField,
        snaplen: h.snaplen,
        thiszone: h.thiszone,
        sigfigs: h.sigfigs,
        versionMajor: r.versionMajor,
        versionMinor: r.versionMinor,
        byteOrder: r.byteOrder,
        tsResolution: r.tsResolution.exponent === 9 ? 'nsec' : 'usec',
      });
      const parts = [w.header(), ...r.packets.map((p) => w.record(p))];
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      const end = r.error?.position?.offset ?? bytes.length;
      if (bytesEqual(out, bytes.subarray(0, end))) {
        identical++;
        continue;
      }
      // libpcap cuts a record longer than the header's snaplen; such a file cannot come back unchanged.
      const cut = r.packets.some((p) => p.data.length === r.snaplen && p.origLen > p.data.length);
      if (!cut) differ.push(file);
    }
    expect(differ).toEqual([]);
    expectFloor('pcap-corpus: identical', identical, 760);
  });

  it('the push reader with 1-byte chunks agrees on a few files', () => {
    const sample = files.filter((f) => f.endsWith('.pcapng')).slice(0, 5);
    for (const file of sample) {
      const bytes = load(file);
      const reader = new ChunkedCaptureReader();
      let n = 0;
      let failed = false;
      try {
        for (let i = 0; i <= bytes.length; i++) {
          reader.feed(i < bytes.length ? bytes.subarray(i, i + 1) : null);
          while (reader.next()) n++;
        }
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        failed = true;
      }
      const ref = reference.get(file)!;
      expect(n).toBe(ref.packets.length);
      expect(failed).toBe(ref.end !== 'eof');
    }
  });
});
