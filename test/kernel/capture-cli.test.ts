// `bpfkit capture` on lo: known UDP traffic, the filter attached in the kernel, printed / counted / written; unmatched packets never appear.

import dgram from 'node:dgram';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readCapture } from '../../src/pcap/index.js';
import { hasCommand } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('bpfkit capture on lo');

async function sendUdp(port: number, count: number, size = 16): Promise<void> {
  const s = dgram.createSocket('udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((res, rej) => s.send(new Uint8Array(size).fill(i + 1), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  s.close();
}

/** Starts `bpfkit capture ARGS`; `listening` resolves once the socket is bound (tcpdump's "listening on" line). */
function startCapture(args: string[]): { done: Promise<number>; listening: Promise<void>; out: { stdout: string; stderr: string } } {
  const out = { stdout: '', stderr: '' };
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((r) => (ready = r));
  const done = main(['capture', ...args], {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => {
      out.stderr += t;
      if (out.stderr.includes('listening on')) ready();
    },
    isTTY: false,
  });
  // A failure before "listening" must not leave the test waiting.
  void done.then(() => ready(), () => ready());
  return { done, listening, out };
}

/** Waits (bounded: a safety net, not a timing assertion) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe.skipIf(why !== undefined)('bpfkit capture -i lo', () => {
  const port = 30000 + (process.pid % 20000);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-capture-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('-c 5 prints exactly the five matching UDP datagrams as tcpdump does; the unmatched port never shows', async () => {
    const c = startCapture(['-i', 'lo', '-c', '5', '-t', '-nn', 'udp', 'dst', 'port', String(port)]);
    await c.listening;
    await sendUdp(port + 1, 3); // unmatched, before
    await sendUdp(port, 2, 16);
    await sendUdp(port + 1, 3); // unmatched, between
    await sendUdp(port, 3, 16);
    expect(await c.done).toBe(0);
    const lines = c.out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l).toMatch(new RegExp(`^IP 127\\.0\\.0\\.1\\.\\d+ > 127\\.0\\.0\\.1\\.${port}: UDP, length 16$`));
    expect(c.out.stderr).toMatch(/^listening on lo, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes$/m);
    expect(c.out.stderr).toMatch(/^5 packets captured$/m);
    // lo delivers each datagram twice (outgoing + incoming); both pass the filter, so at least 5 were received.
    const received = Number(/^(\d+) packets? received by filter$/m.exec(c.out.stderr)?.[1]);
    expect(received).toBeGreaterThanOrEqual(5);
    expect(c.out.stderr).toMatch(/^0 packets dropped by kernel$/m);
  });

  it('--count with -c counts, and -w writes a pcap whose packets are exactly the matching datagrams (cut to -s)', async () => {
    const counted = startCapture(['-i', 'lo', '-c', '4', '--count', 'udp', 'and', 'dst', 'port', String(port)]);
    await counted.listening;
    await sendUdp(port + 2, 2);
    await sendUdp(port, 4);
    expect(await counted.done).toBe(0);
    expect(counted.out.stdout).toBe('4 packets\n');

    const file = path.join(tmp, 'out.pcap');
    const w = startCapture(['-i', 'lo', '-c', '6', '-s', '50', '-w', file, 'udp', 'dst', 'port', String(port)]);
    await w.listening;
    await sendUdp(port + 3, 2, 100);
    await sendUdp(port, 6, 100);
    expect(await w.done).toBe(0);
    expect(w.out.stdout).toBe('');
    const cap = readCapture(new Uint8Array(readFileSync(file)));
    expect(cap.error).toBeUndefined();
    expect(cap.linkType).toBe(1);
    expect(cap.packets).toHaveLength(6);
    cap.packets.forEach((p, i) => {
      // 14 Ethernet + 20 IPv4 + 8 UDP + 100 payload on the wire, 50 kept.
      expect(p.origLen).toBe(142);
      expect(p.data.length).toBe(50);
      const dv = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
      expect(dv.getUint16(12)).toBe(0x0800);
      expect(p.data[23]).toBe(17);
      expect(dv.getUint16(36)).toBe(port);
      expect(p.data[42]).toBe(i + 1); // payload byte: the datagrams in the order sent
    });
    if (hasCommand('tcpdump')) {
      // libpcap reads the file back and agrees on every packet.
      const text = execFileSync('tcpdump', ['-r', file, '-nn', '-t'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(text.trimEnd().split('\n').filter((l) => l.includes(`127.0.0.1.${port}: UDP, length 100`))).toHaveLength(6);
    }
  });

  it.runIf(hasCommand('tcpdump'))('prints the packets it captures exactly as tcpdump -r prints the same packets (a second capture writes them)', async () => {
    const file = path.join(tmp, 'twin.pcap');
    const filter = ['udp', 'dst', 'port', String(port)];
    const printer = startCapture(['-i', 'lo', '-c', '5', '-t', '-nn', '-v', ...filter]);
    const writer = startCapture(['-i', 'lo', '-c', '5', '-w', file, ...filter]);
    await Promise.all([printer.listening, writer.listening]);
    await sendUdp(port + 4, 2, 30);
    await sendUdp(port, 5, 30);
    expect(await printer.done).toBe(0);
    expect(await writer.done).toBe(0);
    const ref = execFileSync('tcpdump', ['-r', file, '-t', '-nn', '-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(ref.trimEnd().split('\n')).toHaveLength(10); // -v prints two lines per UDP datagram
    expect(printer.out.stdout).toBe(ref);
  });

  it('SIGINT stops a capture without -c and the counts go to stderr', async () => {
    const c = startCapture(['-i', 'lo', '-q', '-t', '-nn', 'udp', 'dst', 'port', String(port)]);
    await c.listening;
    await sendUdp(port, 4);
    await until(() => c.out.stdout.split('\n').length > 4);
    process.emit('SIGINT');
    expect(await c.done).toBe(0);
    expect(c.out.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(c.out.stderr).toMatch(/^4 packets captured$/m);
  });

  // node -e puts its extra arguments at argv[1]; runProcess reads from argv[2] as after a script path.
  it('a real SIGINT to a bpfkit process ends the capture with status 0 and the three counts', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', "process.argv.splice(1, 0, 'bpfkit'); import('./src/cli/main.ts').then((m) => m.runProcess())", 'capture', '-i', 'lo', '-t', '-nn', 'udp', 'dst', 'port', String(port)], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const safety = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await until(() => stderr.includes('listening on') || child.exitCode !== null);
    await sendUdp(port + 5, 2);
    await sendUdp(port, 3);
    await until(() => stdout.split('\n').length > 3);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    clearTimeout(safety);
    expect(stdout.trimEnd().split('\n')).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`\\.${port}: UDP, length 16$`))]));
    expect(stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(stderr).toMatch(/^3 packets captured\n\d+ packets received by filter\n0 packets dropped by kernel\n$/m);
  });

  it('a bad expression fails with its column before anything opens; an unknown interface is a usage error', async () => {
    const bad = startCapture(['-i', 'lo', 'udp', 'dst', 'port', 'nope']);
    expect(await bad.done).toBe(1);
    expect(bad.out.stderr).toMatch(/^bpfkit capture: .*nope/m);
    expect(bad.out.stderr).not.toContain('listening on');
    const noIf = startCapture(['-i', 'bpfkit-none0', 'udp']);
    expect(await noIf.done).toBe(1);
    expect(noIf.out.stderr).toBe('bpfkit capture: no network interface named "bpfkit-none0"\n');
    // No -i is not an error any more: tcpdump's default interface (test/kernel/capture-io.test.ts).
    const noCount = startCapture(['-i', 'lo', '-c', 'x', 'udp']);
    expect(await noCount.done).toBe(2);
    expect(noCount.out.stderr).toBe('bpfkit capture: invalid packet count x\n');
  });
});
