// `bpfkit filter` against `tcpdump -r`: the same packets selected (--count and -w), on every corpus capture of a supported link type.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/index.js';
import { runCli } from '../helpers/cli.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';

const why = skipReason('bpfkit filter vs tcpdump -r', { corpus: 'pcaps/manifest.json', commands: ['tcpdump'] });

interface Entry {
  file: string;
  linktype: string;
  file_level_error: boolean;
}
const SUPPORTED = new Set(['EN10MB', 'LINUX_SLL', 'LINUX_SLL2', 'NULL', 'LOOP', 'RAW', 'IPV4', 'IPV6', 'PPP', 'IEEE802_11', 'IEEE802_11_RADIO']);
const EXPRESSIONS = ['', 'tcp', 'udp port 53', 'ip6 or arp', 'tcp[tcpflags] & tcp-syn != 0 or vlan', 'greater 200 and not icmp and net 10.0.0.0/8 or net 192.168.0.0/16'];

function entries(): Entry[] {
  if (why) return [];
  return readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l.replace(/,$/, '')) as Entry)
    .filter((e) => SUPPORTED.has(e.linktype) && !e.file_level_error);
}

const run = promisify(execFile);
async function tcpdumpCount(file: string, expr: string): Promise<number | undefined> {
  try {
    const { stdout } = await run('tcpdump', ['--count', '-r', file, ...(expr ? [expr] : [])]);
    return Number(/^(\d+) packets?/m.exec(stdout)?.[1]);
  } catch (e) {
    // A damaged file still prints its count; a rejected expression prints none.
    const m = /^(\d+) packets?/m.exec((e as { stdout?: string }).stdout ?? '');
    return m ? Number(m[1]) : undefined;
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-filter-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(why)('bpfkit filter selects what tcpdump -r selects', () => {
  const list = entries();
  it(`--count agrees on ${list.length} captures × ${EXPRESSIONS.length} expressions`, async () => {
    const diffs: string[] = [];
    let compared = 0;
    for (const e of list) {
      const file = path.join(corpusDir, 'pcaps', e.file);
      for (const expr of EXPRESSIONS) {
        const want = await tcpdumpCount(file, expr);
        const got = await runCli(['filter', '--count', '-r', file, ...(expr ? [expr] : [])]);
        if (want === undefined) {
          // libpcap cannot compile it for this link type: neither may we.
          if (got.status === 0) diffs.push(`${e.file} "${expr}": tcpdump rejects, bpfkit accepts`);
          continue;
        }
        compared++;
        const n = Number(/^(\d+) packets?/m.exec(got.stdout)?.[1]);
        if (n !== want) diffs.push(`${e.file} "${expr}": tcpdump ${want}, bpfkit ${n} ${got.stderr}`);
      }
    }
    expectFloor('filter-cli-tcpdump: --count compared', compared, 4200);
    expect(diffs).toEqual([]);
  });

  it('-w writes the packets tcpdump -w writes', async () => {
    const diffs: string[] = [];
    let compared = 0;
    let tcpdumpFailed = 0;
    for (const e of list.filter((_, i) => i % 4 === 0)) {
      const file = path.join(corpusDir, 'pcaps', e.file);
      for (const expr of ['tcp', 'udp or arp', '']) {
        const theirs = path.join(tmp, 'tcpdump.pcap');
        const ours = path.join(tmp, 'bpfkit.pcap');
        rmSync(theirs, { force: true });
        rmSync(ours, { force: true });
        let tcpdumpOk = true;
        try {
          await run('tcpdump', ['-r', file, '-w', theirs, ...(expr ? [expr] : [])]);
        } catch {
          tcpdumpOk = false;
        }
        const got = await runCli(['filter', '-r', file, '-w', ours, ...(expr ? [expr] : [])]);
        if (!tcpdumpOk) {
          // tcpdump failed (it cannot compile the expression for this link type, or the file is damaged): so must bpfkit.
          tcpdumpFailed++;
          if (got.status === 0) diffs.push(`${e.file} "${expr}": tcpdump -w fails, bpfkit exits 0`);
          continue;
        }
        if (got.status !== 0) {
          diffs.push(`${e.file} "${expr}": tcpdump -w succeeds, bpfkit exits ${got.status}: ${got.stderr.trim()}`);
          continue;
        }
        const a = readCapture(new Uint8Array(readFileSync(theirs))).packets;
        const b = existsSync(ours) ? readCapture(new Uint8Array(readFileSync(ours))).packets : [];
        compared++;
        // tcpdump writes microseconds; bpfkit keeps the source's resolution, so compare at microseconds.
        const same =
          a.length === b.length &&
          a.every((p, i) => Buffer.compare(p.data, b[i].data) === 0 && p.origLen === b[i].origLen && p.tsSec === b[i].tsSec && Math.floor(p.tsNsec / 1000) === Math.floor(b[i].tsNsec / 1000));
        if (!same) diffs.push(`${e.file} "${expr}": tcpdump wrote ${a.length}, bpfkit ${b.length} (status ${got.status})`);
      }
    }
    console.log(`[filter-cli-tcpdump] -w: ${compared} compared, ${tcpdumpFailed} where tcpdump -w fails (bpfkit must fail too)`);
    expectFloor('filter-cli-tcpdump: -w compared', compared, 530);
    expect(diffs).toEqual([]);
  });
});
