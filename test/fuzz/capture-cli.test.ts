/** Fuzzing the capture readers (pcap and pcapng, whole and chunked) and the CLI's argument handling: typed errors only, work linear in the input. */

import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkedCaptureReader, readCapture, type Packet } from '../../src/pcap/index.js';
import { FormatError } from '../../src/util/index.js';
import { runCli } from '../helpers/cli.js';
import { skipReason } from '../helpers/reference.js';
import { arbMutated, corpusFiles, expectTypedFailure, fuzzParams, readAll } from './fuzz-helpers.js';

const why = skipReason('fuzz capture readers and cli', { corpus: 'pcaps/manifest.json' });

/** The smallest record: a pcap record header (16 bytes) or a pcapng block (12 bytes). */
const MIN_RECORD = 12;

/** Reads a capture through the chunked reader, in chunks of the given sizes (cycled). */
function readChunked(bytes: Uint8Array, sizes: readonly number[]): { packets: Packet[]; error?: FormatError } {
  const r = new ChunkedCaptureReader();
  const packets: Packet[] = [];
  let at = 0;
  let k = 0;
  try {
    for (;;) {
      for (let p = r.next(); p !== undefined; p = r.next()) packets.push({ ...p, data: p.data.slice() });
      if (r.done || !r.hungry) break;
      const n = sizes[k++ % sizes.length];
      r.feed(at < bytes.length ? bytes.subarray(at, at + n) : null);
      at += n;
    }
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return { packets, error: e };
  }
  return { packets };
}

describe.skipIf(why !== undefined)('capture readers under mutation (seeded from ../shared/corpus/pcaps)', () => {
  const seeds = why ? [] : readAll(corpusFiles('pcaps', /\.(pcap|pcapng|cap)$/).filter((f) => !/big|large/.test(f))).filter((b) => b.length <= 200_000);

  it('has seeds of both formats', () => {
    expect(seeds.length).toBeGreaterThan(500);
  });

  it('readCapture: opens or fails typed with an offset; damage after the header is a typed error beside the packets before it; packets ≤ bytes / 12', () => {
    fc.assert(
      fc.property(arbMutated(seeds, 6), (bytes) => {
        let packets = 0;
        const e = expectTypedFailure(() => {
          const r = readCapture(bytes);
          packets = r.packets.length;
          if (r.error) {
            expect(r.error).toBeInstanceOf(FormatError);
            expect(r.error.message).not.toMatch(/\n/);
            expect(r.error.position?.offset).toBeTypeOf('number');
          }
          for (const p of r.packets) expect(p.data.length).toBeLessThanOrEqual(bytes.length);
        }, [FormatError]);
        if (e) expect(e.position?.offset).toBeTypeOf('number');
        expect(packets).toBeLessThanOrEqual(bytes.length / MIN_RECORD);
      }),
      fuzzParams(4),
    );
  });

  it('the chunked reader returns what readCapture returns, whatever the chunk sizes', () => {
    fc.assert(
      fc.property(arbMutated(seeds, 3), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }), (bytes, sizes) => {
        let whole: { packets: Packet[]; error?: FormatError } | undefined;
        try {
          whole = readCapture(bytes);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
          whole = { packets: [], error: e };
        }
        const chunked = readChunked(bytes, sizes);
        expect(chunked.packets.length).toBe(whole.packets.length);
        chunked.packets.forEach((p, i) => expect(p.data).toEqual(whole.packets[i].data));
        expect(chunked.error?.code).toBe(whole.error?.code);
      }),
      fuzzParams(1),
    );
  });
});

describe.skipIf(why !== undefined)('cli argument parsing under fuzzing', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-fuzz-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = {
    pcap: corpusFiles('pcaps/tcpdump-tests', /^(dns_fwdptr|print-flags)\.pcap$/)[0],
    prog: path.join(dir, 'p.d'),
    asm: path.join(dir, 'p.s'),
    junk: path.join(dir, 'junk.bin'),
    missing: path.join(dir, 'missing'),
  };
  writeFileSync(files.prog, '(000) ret #1\n');
  writeFileSync(files.asm, 'r0 = 1\nexit\n');
  writeFileSync(files.junk, Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 9, 9));
  // Read-only commands only: nothing the fuzzer runs writes a file or waits on standard input.
  const commands = [['filter'], ['compile'], ['capinfo'], ['cbpf', 'run'], ['cbpf', 'fmt'], ['cbpf', 'check'], ['ebpf', 'disasm'], ['ebpf', 'run']];
  const words = [
    '-r', '-c', '--count', '-n', '-v', '-vv', '-e', '-x', '-X', '-tttt', '--json', '-O', '-d', '-dd', '-ddd', '--mode', 'kernel', 'seccomp', 'libpcap',
    '--format', 'asm', '--engine', 'jit', 'interp', '--type', 'xdp', '--mem', '1', '0x', 'zz', '00 11', '--repeat', '-1', '99999999999999999999', '--section', 'xdp',
    '--syntax', 'llvm', '--linktype', 'EN10MB', 'NOPE', '-s', '0', '--snaplen', 'tcp', 'port 80', 'and', '(', '--', '--bogus', '-', '=', '--mem=', '-y', '-Z',
    files.pcap, files.prog, files.asm, files.junk, files.missing, dir,
  ];

  it('every argument list gives output or one typed line on stderr, exit 0, 1 or 2, and nothing thrown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...commands), fc.array(fc.constantFrom(...words), { maxLength: 6 }), async (cmd, rest) => {
        if (rest.includes('-')) return; // standard input: not something a fuzzer can feed here
        const r = await runCli([...cmd, ...rest]);
        expect([0, 1, 2]).toContain(r.status);
        if (r.status !== 0 && r.stderr !== '') {
          // One line per error (capinfo goes on to the next file after one), each naming the command.
          const lines = r.stderr.trimEnd().split('\n');
          if (r.status === 1) for (const l of lines) expect(l, r.stderr).toMatch(/^bpfkit [a-z]/);
        }
      }),
      fuzzParams(1),
    );
  });
});
