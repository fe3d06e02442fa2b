// `bpfkit filter` on captures the test builds: counting, writing, JSON, -c, damaged input.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { PARALLEL_MIN_BYTES } from '../../src/node/index.js';
import { readCapture, synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-filter-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const packets = [...synthesizeTraffic({ seed: 3, count: 2000 })];
const file = path.join(dir, 'in.pcap');
writeFileSync(file, writeCapture(packets, { linkType: 1 }));
const expected = (expr: string): number => {
  const f = compileFilter(expr);
  return packets.filter((p) => f.interpret(p.data, p.origLen) !== 0).length;
};

describe('bpfkit filter', () => {
  it('--count counts what the interpreter accepts', async () => {
    for (const expr of ['tcp port 80', 'udp and port 53', 'arp or icmp', 'vlan']) {
      const r = await runCli(['filter', '--count', '-r', file, ...expr.split(' ')]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${expected(expr)} packets\n`);
    }
  });

  it('-w writes exactly the matching packets, and no temporary file is left', async () => {
    const out = path.join(dir, 'web.pcap');
    const r = await runCli(['filter', '-r', file, '-w', out, 'tcp port 80']);
    expect(r.status).toBe(0);
    const written = readCapture(new Uint8Array(readFileSync(out))).packets;
    const f = compileFilter('tcp port 80');
    const want = packets.filter((p) => f.interpret(p.data, p.origLen) !== 0);
    expect(written.length).toBe(want.length);
    written.forEach((p, i) => expect(Buffer.compare(p.data, want[i].data)).toBe(0));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('-c stops after COUNT matches and --json prints one object per packet', async () => {
    const r = await runCli(['filter', '-r', file, '-c', '3', '--json', 'udp']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { layers: { protocol: string }[] });
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l.layers.map((x) => x.protocol)).toContain('udp');
  });

  it('a damaged capture: packets before the damage are written, then exit status 1', async () => {
    const bytes = readFileSync(file);
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const out = path.join(dir, 'cut-out.pcap');
    const r = await runCli(['filter', '-r', cut, '-w', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/truncated dump file/);
    const good = readCapture(new Uint8Array(readFileSync(cut))).packets.length;
    expect(readCapture(new Uint8Array(readFileSync(out))).packets.length).toBe(good);
  });

  it('a bad expression is a usage-level error before any output', async () => {
    const out = path.join(dir, 'never.pcap');
    const r = await runCli(['filter', '-r', file, '-w', out, 'tcp port']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/column/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('bpfkit filter on a capture big enough for two threads', () => {
  // The small capture's records repeated past the size where --count and -w use a worker thread.
  const small = readFileSync(file);
  const records = small.subarray(24);
  const times = Math.ceil(PARALLEL_MIN_BYTES / records.length) + 1;
  const big = path.join(dir, 'big.pcap');
  writeFileSync(big, Buffer.concat([small.subarray(0, 24), ...Array<Buffer>(times).fill(records)]));

  it('--count and -w give what the one-thread interpreter path gives', async () => {
    for (const expr of ['tcp', 'udp port 53 or arp']) {
      const r = await runCli(['filter', '--count', '-r', big, expr]);
      expect(r.stdout).toBe(`${expected(expr) * times} packets\n`);
      const fast = path.join(dir, 'big-fast.pcap');
      const slow = path.join(dir, 'big-slow.pcap');
      expect((await runCli(['filter', '-r', big, '-w', fast, expr])).status).toBe(0);
      expect((await runCli(['filter', '--engine', 'interp', '-r', big, '-w', slow, expr])).status).toBe(0);
      expect(readFileSync(fast).equals(readFileSync(slow))).toBe(true);
      expect(readCapture(new Uint8Array(readFileSync(fast))).packets.length).toBe(expected(expr) * times);
    }
    const c = path.join(dir, 'big-c.pcap');
    expect((await runCli(['filter', '-c', '5000', '-r', big, '-w', c, 'tcp'])).status).toBe(0);
    expect(readCapture(new Uint8Array(readFileSync(c))).packets.length).toBe(5000);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('-w of a big damaged capture: the full reader takes over at the damage, as on one thread', async () => {
    const cut = path.join(dir, 'big-cut.pcap');
    const bytes = readFileSync(big);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    const fast = path.join(dir, 'cut-fast.pcap');
    const slow = path.join(dir, 'cut-slow.pcap');
    const a = await runCli(['filter', '-r', cut, '-w', fast, 'tcp']);
    const b = await runCli(['filter', '--engine', 'interp', '-r', cut, '-w', slow, 'tcp']);
    expect(a.status).toBe(1);
    expect(a.stderr).toBe(b.stderr);
    expect(a.stderr).toMatch(/truncated dump file/);
    expect(readFileSync(fast).equals(readFileSync(slow))).toBe(true);
  });
});
