// bpfkit's packet texts against `tcpdump -n -r` for every packet of every corpus capture of a decoded link type, with -n, -e and -v.
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

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}

// Floors near the measured shares (see the log line each mode prints).
const FIRST_FLOOR_N = 0.815;
const WHOLE_FLOOR_N = 0.755;
const FIRST_FLOOR_E = 0.815;
const WHOLE_FLOOR_E = 0.755;
const FIRST_FLOOR_V = 0.91;
const WHOLE_FLOOR_V = 0.505;

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
    const mode = `tcpdump -n ${flags.join(' ')}`.trim();
    it(`${mode}: every packet of every capture compared, identical share reported`, async () => {
      process.env.TZ = 'UTC';
      let total = 0;
      let sameFirst = 0;
      let same = 0;
      let complete = 0;
      let completeSame = 0;
      const diffs: string[] = [];
      const completeDiffs: string[] = [];
      for (const e of entries) {
        const file = path.join(corpusDir, 'pcaps', e.file);
        const theirs = await tcpdumpLines(file, flags);
        const state = new PrintState();
        readCapture(new Uint8Array(readFileSync(file))).packets.forEach((p, i) => {
          const { text, decoded } = formatPacket(p, { verbose: flags.includes('-v') ? 1 : 0, linkHeader: flags.includes('-e'), ifName: (n) => (n === 1 ? 'lo' : undefined) }, state);
          const tcpdump = theirs[i] ?? '';
          total++;
          if (text === tcpdump) same++;
          if (firstLine(text) === firstLine(tcpdump)) sameFirst++;
          else if (diffs.length < 10) diffs.push(`${e.file}#${i}\n  tcpdump: ${firstLine(tcpdump)}\n  bpfkit:  ${firstLine(text)}`);
          // Where the decoder claims to have decoded everything, the whole text must be tcpdump's.
          if (decoded && !decoded.complete) return;
          complete++;
          if (text === tcpdump) completeSame++;
          else completeDiffs.push(`${e.file}#${i}\n  tcpdump: ${tcpdump}\n  bpfkit:  ${text}`);
        });
      }
      const pct = (n: number): string => `${((100 * n) / total).toFixed(1)}%`;
      console.log(`${mode}: ${total} packets, first line identical ${sameFirst} (${pct(sameFirst)}), whole text identical ${same} (${pct(same)}); ${complete} decoded completely, ${completeSame} of them identical`);
      if (diffs.length) console.log(`first differing lines:\n${diffs.join('\n')}`);
      if (completeDiffs.length) console.log(`${completeDiffs.length} complete packets differ:\n${completeDiffs.slice(0, 10).join('\n')}`);
      const floors: Record<string, [number, number]> = { '': [FIRST_FLOOR_N, WHOLE_FLOOR_N], '-e': [FIRST_FLOOR_E, WHOLE_FLOOR_E], '-v': [FIRST_FLOOR_V, WHOLE_FLOOR_V] };
      const [firstFloor, wholeFloor] = floors[flags.join(' ')];
      expectFloor(`decode-tcpdump ${mode}: first lines identical / packets`, sameFirst / total, firstFloor);
      expectFloor(`decode-tcpdump ${mode}: whole texts identical / packets`, same / total, wholeFloor);
      // The differences left among complete packets are tcpdump quirks on corrupt time stamps.
      expectFloor(`decode-tcpdump ${mode}: identical / complete`, completeSame / complete, 0.999);
    });
  }
});
