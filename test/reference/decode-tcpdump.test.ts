// bpfkit's packet lines against `tcpdump -n -r` on every corpus capture of a decoded link type, with and without -e and -v.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { formatPacket, PrintState } from '../../src/decode/index.js';
import { readCapture } from '../../src/pcap/index.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';

const why = skipReason('decoders vs tcpdump -n -r', { corpus: 'pcaps/manifest.json', commands: ['tcpdump'] });
const LINK_TYPES = new Set(['EN10MB', 'LINUX_SLL', 'LINUX_SLL2', 'NULL', 'LOOP', 'RAW', 'IPV4', 'IPV6', 'PPP', 'PPP_SERIAL', 'C_HDLC', 'IEEE802_11', 'IEEE802_11_RADIO']);
const run = promisify(execFile);

interface Entry {
  file: string;
  linktype: string;
  file_level_error: boolean;
}

/** tcpdump's output split into one text per packet (continuation lines start with white space). */
async function tcpdumpLines(file: string, flags: string[]): Promise<string[]> {
  let out: string;
  try {
    out = (await run('tcpdump', ['-n', ...flags, '-r', file], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 1 << 28 })).stdout;
  } catch (e) {
    out = (e as { stdout: string }).stdout;
  }
  const lines: string[] = [];
  for (const l of out.split('\n')) {
    if (/^[\t ]/.test(l) && lines.length) lines[lines.length - 1] += '\n' + l;
    else if (l) lines.push(l);
  }
  return lines;
}

describe.skipIf(why)('decoders print what tcpdump prints', () => {
  const entries = why
    ? []
    : readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l.replace(/,$/, '')) as Entry)
        .filter((e) => LINK_TYPES.has(e.linktype) && !e.file_level_error);
  for (const flags of [[], ['-e'], ['-v']]) {
    it(`tcpdump -n ${flags.join(' ')}: identical lines wherever bpfkit decodes the whole packet`, async () => {
      process.env.TZ = 'UTC';
      let complete = 0;
      let same = 0;
      const diffs: string[] = [];
      // -e and -v reprint the same decoders with more fields: every third capture suffices there.
      for (const e of flags.length ? entries.filter((_, i) => i % 3 === 0) : entries) {
        const file = path.join(corpusDir, 'pcaps', e.file);
        const theirs = await tcpdumpLines(file, flags);
        const state = new PrintState();
        readCapture(new Uint8Array(readFileSync(file))).packets.forEach((p, i) => {
          const { text, decoded } = formatPacket(p, { verbose: flags.includes('-v') ? 1 : 0, linkHeader: flags.includes('-e'), ifName: (n) => (n === 1 ? 'lo' : undefined) }, state);
          if (decoded && !decoded.complete) return;
          complete++;
          if (text === theirs[i]) same++;
          else diffs.push(`${e.file}#${i}\n  tcpdump: ${theirs[i]}\n  bpfkit:  ${text}`);
        });
      }
      // The differences left are tcpdump quirks on corrupt time stamps.
      console.log(`tcpdump -n ${flags.join(' ')}: ${complete} packets decoded completely, ${same} identical`);
      if (diffs.length) console.log(`${diffs.length} differing lines:\n${diffs.slice(0, 10).join('\n')}`);
      expectFloor(`decode-tcpdump -n ${flags.join(' ')}: complete`, complete, ({ '': 4550, '-e': 1170, '-v': 870 } as Record<string, number>)[flags.join(' ')]);
      expectFloor(`decode-tcpdump -n ${flags.join(' ')}: same / complete`, same / complete, 0.999);
    });
  }
});
