// tcpdump's command line, compared with tcpdump itself: the reading-from line, -c errors, -A, -D, netmask-0 primitives, -w - into tcpdump -r -, and an empty pcapng.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { formatInterfaceList, listInterfaces } from '../../src/node/index.js';
import { runCli } from '../helpers/cli.js';
import { corpusDir, repoRoot, skipReason } from '../helpers/reference.js';

const why = skipReason('tcpdump command line vs tcpdump', { corpus: 'pcaps/manifest.json', commands: ['tcpdump'] });
const exec = promisify(execFile);

interface Entry {
  file: string;
  file_level_error: boolean;
}
function entries(): Entry[] {
  if (why) return [];
  return readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l.replace(/,$/, '')) as Entry);
}

/** tcpdump's stdout, stderr and status, whatever the status. */
async function tcpdump(args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  try {
    const r = await exec('tcpdump', args, { maxBuffer: 256 << 20 });
    return { stdout: r.stdout, stderr: r.stderr, status: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { stdout: x.stdout ?? '', stderr: x.stderr ?? '', status: typeof x.code === 'number' ? x.code : -1 };
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-cli-ref-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(why)('tcpdump command line, side by side with tcpdump', () => {
  const list = entries();

  it('`reading from file F, link-type NAME (DESC), snapshot length N` is the line tcpdump prints, for every capture', async () => {
    const diffs: string[] = [];
    let compared = 0;
    for (const e of list) {
      const file = path.join(corpusDir, 'pcaps', e.file);
      const theirs = (await tcpdump(['-r', file, '-c', '1', '-n'])).stderr.split('\n').find((l) => l.startsWith('reading from file'));
      if (theirs === undefined) continue;
      const ours = (await runCli(['filter', '-r', file, '-c', '1', '--count'])).stderr.split('\n')[0];
      compared++;
      if (ours !== theirs) diffs.push(`${e.file}: tcpdump "${theirs}", bpfkit "${ours}"`);
    }
    // 841 of 844 when written: the other 3 are files tcpdump cannot open (no line to compare).
    expect(compared).toBeGreaterThan(list.length * 0.99);
    expect(diffs).toEqual([]);
  });

  it('-c 0 and -c abc are refused with the message tcpdump prints', async () => {
    const file = path.join(corpusDir, 'pcaps', list[0].file);
    for (const c of ['0', 'abc']) {
      const theirs = await tcpdump(['-r', file, '-c', c]);
      const ours = await runCli(['filter', '-r', file, '-c', c]);
      expect(theirs.status).not.toBe(0);
      expect(ours.status).not.toBe(0);
      expect(ours.stderr.replace(/^bpfkit filter: /, '')).toBe(theirs.stderr.replace(/^tcpdump: /, ''));
    }
  });

  // -A cuts the link header where -x does, after the lines -n prints: captures whose -n or -x output
  // differs (a decoder's line or header length) are the decoders' business, not -A's. Small
  // captures only: the point is the ASCII rendering.
  it('-A prints what tcpdump -A prints, on the captures whose -n and -n -x output already agree', async () => {
    const diffs: string[] = [];
    let compared = 0;
    for (const e of list) {
      if (e.file_level_error || compared >= 60) continue;
      const file = path.join(corpusDir, 'pcaps', e.file);
      if (statSync(file).size > 64 << 10) continue;
      const agree = async (flags: string[]): Promise<boolean> => {
        const theirs = await tcpdump(['-r', file, ...flags]);
        const ours = await runCli(['filter', '-r', file, ...flags]);
        return theirs.stdout !== '' && theirs.stdout === ours.stdout;
      };
      if (!(await agree(['-n'])) || !(await agree(['-n', '-x']))) continue;
      const a = await tcpdump(['-r', file, '-n', '-A']);
      const b = await runCli(['filter', '-r', file, '-n', '-A']);
      compared++;
      if (a.stdout !== b.stdout) diffs.push(e.file);
    }
    expect(compared).toBe(60);
    expect(diffs).toEqual([]);
  });

  it('timestamps print as tcpdump prints them in every -t form, odd captures included (negative and oversized fractions, zero times, 2038/2106)', async () => {
    const odd = ['timestamp_invalid_nano.pcap', 'babel_update_oobr.pcap', 'time_2038_overflow.pcap', 'time_2106_overflow.pcapng', 'time_2107.pcapng', 'time_2106_max.pcap', 'dns_fwdptr.pcap'];
    // The time is the first field of each packet line (a continuation line starts with a tab).
    const times = (text: string): string[] => text.split('\n').filter((l) => /^[ \-\d[]/.test(l)).map((l) => (l.startsWith(' ') ? ' ' : '') + l.trim().split(' ')[0]);
    const diffs: string[] = [];
    for (const name of odd) {
      const file = path.join(corpusDir, 'pcaps/tcpdump-tests', name);
      for (const flags of [[], ['-tt'], ['-ttt'], ['-tttt'], ['-ttttt'], ['--nano', '-ttt']]) {
        const theirs = times((await tcpdump(['-n', '-r', file, ...flags])).stdout);
        const ours = times((await runCli(['filter', '-n', '-r', file, ...flags])).stdout);
        expect(theirs.length, name).toBeGreaterThan(0);
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) diffs.push(`${name} ${flags.join(' ')}`);
      }
    }
    expect(diffs).toEqual([]);
  });

  it("'ip broadcast' compiles as tcpdump -d compiles it (netmask 0), and selects what tcpdump -r selects", async () => {
    for (const expr of ['ip broadcast', 'not ip broadcast', 'ip broadcast or ether broadcast', 'udp and ip broadcast']) {
      const theirs = await tcpdump(['-d', expr]);
      const ours = await runCli(['compile', ...expr.split(' ')]);
      expect(theirs.status).toBe(0);
      expect(ours.stdout).toBe(theirs.stdout);
    }
    let compared = 0;
    for (const e of list.filter((x) => !x.file_level_error).slice(0, 120)) {
      const file = path.join(corpusDir, 'pcaps', e.file);
      const theirs = await tcpdump(['--count', '-r', file, 'ip broadcast']);
      const m = /^(\d+) packets?/m.exec(theirs.stdout);
      if (!m) continue;
      const ours = await runCli(['filter', '--count', '-r', file, 'ip broadcast']);
      compared++;
      expect(`${e.file}: ${ours.stdout}`).toBe(`${e.file}: ${m[0]}\n`);
    }
    // 111 of the 120 when written (the rest: link types libpcap compiles no 'ip' for).
    expect(compared).toBeGreaterThanOrEqual(105);
  });

  it('-D lists the interfaces tcpdump -D lists, in the same order with the same flags', async () => {
    const theirs = (await tcpdump(['-D'])).stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\d+\./, ''));
    const ours = formatInterfaceList(listInterfaces()).split('\n').filter(Boolean).map((l) => l.replace(/^\d+\./, ''));
    const name = (l: string): string => l.split(/[ [(]/)[0];
    // tcpdump also lists capture sources bpfkit has no use for (nflog, dbus, usbmon...): compare the common names.
    const common = new Set(ours.map(name).filter((n) => theirs.some((t) => name(t) === n)));
    expect(common.size).toBeGreaterThanOrEqual(2);
    expect(ours.filter((l) => common.has(name(l)))).toEqual(theirs.filter((l) => common.has(name(l))));
    const cli = await runCli(['capture', '-D']);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toBe(formatInterfaceList(listInterfaces()));
  });

  it('-w x.pcapng with nothing matching is a capture tcpdump reads', async () => {
    const file = path.join(corpusDir, 'pcaps', list[0].file);
    const out = path.join(tmp, 'empty.pcapng');
    expect((await runCli(['filter', '-r', file, '-w', out, 'port 1 and port 2'])).status).toBe(0);
    const r = await tcpdump(['-r', out, '-n']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^reading from file .*empty\.pcapng, link-type EN10MB \(Ethernet\)/);
  });

  it('`bpfkit filter -w - | tcpdump -r -` prints what tcpdump -r prints', async () => {
    let file = '';
    let want = { stdout: '', stderr: '', status: 0 };
    for (const e of list.filter((x) => !x.file_level_error && /tcp|http/.test(x.file))) {
      file = path.join(corpusDir, 'pcaps', e.file);
      want = await tcpdump(['-r', file, '-nn', 'tcp']);
      if (want.status === 0 && want.stdout.split('\n').length > 5) break;
    }
    const entry = path.join(repoRoot, 'test/helpers/cli-entry.ts');
    const child = spawn('bash', ['-c', `"${process.execPath}" --import tsx "${entry}" filter -r "$1" -w - tcp | tcpdump -r - -nn`, 'bash', file], { cwd: repoRoot });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(want.stdout.length).toBeGreaterThan(0);
    expect(stdout).toBe(want.stdout);
  });
});
