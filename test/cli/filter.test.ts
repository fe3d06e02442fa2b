// `bpfkit filter` on captures the test builds: counting, writing, JSON, -c, damaged input.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
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
