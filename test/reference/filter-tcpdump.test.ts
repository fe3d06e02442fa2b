/** `bpfkit compile` prints what `tcpdump -d/-dd/-ddd -y LINKTYPE [-O] EXPR` prints, for expressions where libpcap 1.10.3 and newer libpcap agree. */

import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { skipReason } from '../helpers/reference.js';

const why = skipReason('filter-tcpdump', { commands: ['tcpdump'] });

async function bpfkit(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['compile', ...argv], { stdout: (t) => (out += t), stderr: (t) => (err += t), isTTY: false });
  return { code, out, err };
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
      expect(ours.out.split('\n').map((l) => l.trimEnd())).toEqual(tcpdump([...flags, '-y', lt, expr]).split('\n').map((l) => l.trimEnd()));
    }
  });

  test('a bad expression exits non-zero with a message naming the column', async () => {
    const r = await bpfkit(['tcp port']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("can't parse filter expression: syntax error");
    expect(r.err).toContain('column');
  });
});
