/** `bpfkit compile` prints what `tcpdump -d/-dd/-ddd -y LINKTYPE [-O] EXPR` prints, for expressions where libpcap 1.10.3 and newer libpcap agree. */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { compileJit, parseProgram } from '../../src/cbpf/index.js';
import { main } from '../../src/cli/main.js';
import { libpcapPacketsMany, type RefPacket } from '../helpers/libpcap.js';
import { corpusDir, skipReason } from '../helpers/reference.js';

const why = skipReason('filter-tcpdump', { commands: ['tcpdump'] });

async function bpfkit(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['compile', ...argv], { stdout: (t) => (out += t), stderr: (t) => (err += t), isTTY: false });
  return { code, out, err };
}

/**
 * Packets to compare two programs of one link type on: the corpus captures of that link type,
 * then, as more inputs (few captures have the rarer link types), every other corpus packet's
 * bytes as they are and without a 14-byte Ethernet header (an IP packet, for RAW).
 */
let allPackets: { linktype: string; packets: RefPacket[] }[] | undefined;
function comparePackets(linkType: string): RefPacket[] {
  if (allPackets === undefined) {
    const manifest = JSON.parse(readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')) as { file: string; linktype: string; file_level_error: boolean }[];
    const ok = manifest.filter((m) => !m.file_level_error);
    const read = libpcapPacketsMany(ok.map((m) => path.join(corpusDir, 'pcaps', m.file)));
    allPackets = ok.map((m, i) => {
      const r = read[i];
      return { linktype: m.linktype, packets: r.ok ? r.packets : [] };
    });
  }
  const own = allPackets.filter((f) => f.linktype === linkType).flatMap((f) => f.packets);
  const other = allPackets.filter((f) => f.linktype !== linkType).flatMap((f) => f.packets);
  const stripped = other.filter((p) => p.data.length > 14).map((p) => ({ ...p, data: p.data.subarray(14), wirelen: p.wirelen - 14 }));
  return [...own, ...other, ...stripped];
}

const tcpdump = (argv: string[]): string => execFileSync('tcpdump', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

// Not here because 1.10.3 compiles them differently from the newer libpcap we follow (the corpus
// listings check those): `pppoes N` (1.10.3 loads a word and masks), `wlan host` on 802.11.
const CASES: [string, string][] = [
  ['EN10MB', 'tcp port 80 and host 10.0.0.1'],
  ['EN10MB', 'udp and (src net 192.168.0.0/16 or dst portrange 1000-2000)'],
  ['EN10MB', 'not arp and not icmp6 and ip6 src fe80::1'],
  ['EN10MB', 'vlan 100 and tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn'],
  ['EN10MB', 'ether src aa:bb:cc:dd:ee:ff or ether broadcast'],
  ['EN10MB', 'ip[2:2] - ((ip[0] & 0xf) << 2) > 576'],
  ['EN10MB', 'mpls 42'],
  ['EN10MB', 'less 64 or greater 1500'],
  ['EN10MB', 'ip proto 47 or ip6 proto 58'],
  ['LINUX_SLL', 'tcp dst port 443'],
  ['LINUX_SLL2', 'inbound and udp'],
  ['RAW', 'icmp or udp port 53'],
  ['NULL', 'ip6'],
  ['PPP', 'ip and tcp'],
  ['IEEE802_11', 'type data subtype qos-data'],
  ['IEEE802_11', 'wlan addr2 01:02:03:04:05:06'],
  ['FDDI', 'ip host 1.2.3.4'],
];

describe.skipIf(why !== undefined)('bpfkit compile vs tcpdump', () => {
  test.each(CASES)('%s: %s', async (lt, expr) => {
    // Unoptimized (-O) listings are not compared: 1.10.3's gencode differs from the newer libpcap we
    // follow (the corpus checks those). -dd/-ddd also show the k of tax/txa, which 1.10.3's optimizer leaves stale.
    for (const flags of [['-d']]) {
      const ours = await bpfkit([...flags, '-y', lt, expr]);
      expect(ours.code).toBe(0);
      const theirs = tcpdump([...flags, '-y', lt, expr]);
      const lines = ours.out.split('\n').map((l) => l.trimEnd());
      const refLines = theirs.split('\n').map((l) => l.trimEnd());
      if (lines.length === refLines.length) {
        expect(lines).toEqual(refLines);
        continue;
      }
      // Where the optimizer drops a test libpcap's keeps (`jeq #0x86dd` before a test only IPv4
      // passes), the listing is shorter, never longer, and returns what tcpdump's returns.
      expect(lines.length).toBeLessThan(refLines.length);
      const packets = comparePackets(lt);
      expect(packets.length).toBeGreaterThan(1000);
      const run = compileJit(parseProgram(ours.out, 'd'));
      const runRef = compileJit(parseProgram(theirs, 'd'));
      const differ = packets.filter((p) => run(p.data, p.wirelen) !== runRef(p.data, p.wirelen));
      expect(differ.length).toBe(0);
    }
  });

  test('a bad expression exits non-zero with a message naming the column', async () => {
    const r = await bpfkit(['tcp port']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("can't parse filter expression: syntax error");
    expect(r.err).toContain('column');
  });
});
