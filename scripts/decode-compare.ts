// Ad-hoc: compares bpfkit's decoder lines with `tcpdump -n -r` over the corpus and prints the agreement.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCapture } from '../src/pcap/index.js';
import { formatPacket, PrintState } from '../src/decode/index.js';

const corpus = path.resolve('../shared/corpus/pcaps');
const manifest = readFileSync(path.join(corpus, 'manifest.json'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l.replace(/,$/, '')));
const flags = process.argv.slice(2);
let total = 0, complete = 0, same = 0;
const diffs: string[] = [];
for (const m of manifest) {
  if (!['EN10MB', 'LINUX_SLL', 'NULL', 'RAW', 'IPV4', 'IPV6', 'LOOP', 'LINUX_SLL2'].includes(m.linktype) || m.file_level_error) continue;
  const file = path.join(corpus, m.file);
  let out: string;
  try {
    out = execFileSync('tcpdump', ['-n', ...flags, '-r', file], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 }).toString();
  } catch (e) { out = (e as { stdout: Buffer }).stdout.toString(); }
  const lines: string[] = [];
  for (const l of out.split('\n')) { if (/^[\t ]/.test(l) && lines.length) lines[lines.length - 1] += '\n' + l; else if (l) lines.push(l); }
  const r = readCapture(new Uint8Array(readFileSync(file)));
  const st = new PrintState();
  const ifName = (i: number) => (i === 1 ? 'lo' : undefined);
  const v = flags.filter((f) => f === '-v').length;
  r.packets.forEach((p, i) => {
    const x = flags.includes('-xx') ? 2 : flags.includes('-x') ? 1 : 0;
    const { text: ours, decoded: d } = formatPacket(p, { verbose: v, linkHeader: flags.includes('-e'), hex: x, ifName }, st);
    total++;
    if (d && !d.complete) return;
    complete++;
    const theirs = lines[i] ?? '';
    if (ours === theirs) same++;
    else diffs.push(`${m.file}#${i}\n  tcpdump: ${theirs}\n  bpfkit:  ${ours}`);
  });
}
console.log(`packets ${total}, complete ${complete}, identical ${same} (${((same / complete) * 100).toFixed(1)}%)`);
console.log(diffs.slice(0, Number(process.env.N ?? 30)).join('\n'));
