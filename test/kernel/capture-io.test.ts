// `bpfkit capture`'s tcpdump command line on the live kernel: -i any (Linux cooked v2) beside tcpdump -i any, -w x.pcapng, -w -, --json, the default interface, -c errors.

import dgram from 'node:dgram';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { listInterfaces } from '../../src/node/index.js';
import { readCapture } from '../../src/pcap/index.js';
import { hasCommand } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('bpfkit capture command line');

async function sendUdp(port: number, count: number, size = 16): Promise<void> {
  const s = dgram.createSocket('udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((res, rej) => s.send(new Uint8Array(size).fill(i + 1), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  s.close();
}

/** Starts `bpfkit capture ARGS` in-process; `listening` resolves on tcpdump's "listening on" line. */
function startCapture(args: string[]): { done: Promise<number>; listening: Promise<void>; out: { stdout: string; stderr: string; bytes: Buffer[] } } {
  const out = { stdout: '', stderr: '', bytes: [] as Buffer[] };
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((r) => (ready = r));
  const done = main(['capture', ...args], {
    stdout: (t) => (out.stdout += t),
    stdoutBytes: (b) => out.bytes.push(Buffer.from(b)),
    stderr: (t) => {
      out.stderr += t;
      if (out.stderr.includes('listening on')) ready();
    },
    isTTY: false,
  });
  void done.then(() => ready(), () => ready());
  return { done, listening, out };
}

describe.skipIf(why !== undefined)('bpfkit capture: the tcpdump command line', () => {
  // Ports of our own (this process's pid), so other helpers' traffic never matches.
  const port = 20000 + (process.pid % 9000) * 3;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'io-capture-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.runIf(hasCommand('tcpdump'))('-i any prints in Linux cooked v2 exactly what tcpdump -i any prints', async () => {
    const filter = ['udp', 'dst', 'port', String(port)];
    const theirs = new Promise<string>((resolve) => {
      const child = spawn('tcpdump', ['-i', 'any', '-c', '3', '-l', '-t', '-nn', '-e', ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => {
        if (b.toString().includes('listening on')) tcpdumpReady();
      });
      child.on('close', () => resolve(stdout));
    });
    let tcpdumpReady: () => void = () => undefined;
    const tcpdumpListening = new Promise<void>((r) => (tcpdumpReady = r));
    const ours = startCapture(['-i', 'any', '-c', '3', '-t', '-nn', '-e', ...filter]);
    await Promise.all([ours.listening, tcpdumpListening]);
    expect(ours.out.stderr).toMatch(/^listening on any, link-type LINUX_SLL2 \(Linux cooked v2\), snapshot length 262144 bytes$/m);
    await sendUdp(port + 1, 2);
    await sendUdp(port, 3, 24);
    expect(await ours.done).toBe(0);
    const want = await theirs;
    expect(want.split('\n').filter(Boolean)).toHaveLength(3);
    expect(want).toMatch(/^lo +In +ifindex 1 /m);
    expect(ours.out.stdout).toBe(want);
  });

  it('-i any -w x.pcapng writes pcapng with a LINUX_SLL2 interface, read back by tcpdump', async () => {
    const file = path.join(tmp, 'any.pcapng');
    const c = startCapture(['-i', 'any', '-c', '2', '-w', file, 'udp', 'dst', 'port', String(port)]);
    await c.listening;
    await sendUdp(port, 2, 40);
    expect(await c.done).toBe(0);
    const cap = readCapture(new Uint8Array(readFileSync(file)));
    expect(cap.format).toBe('pcapng');
    expect(cap.linkType).toBe(276);
    expect(cap.packets).toHaveLength(2);
    for (const p of cap.packets) {
      // 20-byte cooked header: protocol 0x0800, interface lo (index 1), ARPHRD_LOOPBACK; then IPv4 + UDP + 40 bytes.
      const dv = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
      expect(dv.getUint16(0)).toBe(0x0800);
      expect(dv.getUint32(4)).toBe(1);
      expect(dv.getUint16(8)).toBe(772);
      expect(p.origLen).toBe(20 + 20 + 8 + 40);
      expect(dv.getUint16(20 + 22)).toBe(port);
    }
    if (hasCommand('tcpdump')) {
      const lines = execFileSync('tcpdump', ['-r', file, '-nn', '-t'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toMatch(new RegExp(`^lo +In +IP 127\\.0\\.0\\.1\\.\\d+ > 127\\.0\\.0\\.1\\.${port}: UDP, length 40$`));
    }
  });

  it('a filter on the cooked header (inbound, ifindex) runs in the kernel on -i any', async () => {
    const c = startCapture(['-i', 'any', '-c', '2', '--count', 'inbound', 'and', 'ifindex', '1', 'and', 'udp', 'dst', 'port', String(port + 2)]);
    await c.listening;
    await sendUdp(port + 2, 2);
    expect(await c.done).toBe(0);
    expect(c.out.stdout).toBe('2 packets\n');
  });

  it('-w - writes a pcap to standard output; --json prints one object per packet', async () => {
    const w = startCapture(['-i', 'lo', '-c', '2', '-w', '-', 'udp', 'dst', 'port', String(port)]);
    await w.listening;
    await sendUdp(port, 2, 12);
    expect(await w.done).toBe(0);
    const cap = readCapture(new Uint8Array(Buffer.concat(w.out.bytes)));
    expect(cap.format).toBe('pcap');
    expect(cap.packets.map((p) => p.origLen)).toEqual([14 + 20 + 8 + 12, 14 + 20 + 8 + 12]);

    const j = startCapture(['-i', 'lo', '-c', '2', '--json', 'udp', 'dst', 'port', String(port)]);
    await j.listening;
    await sendUdp(port, 2, 12);
    expect(await j.done).toBe(0);
    const objs = j.out.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { length: number; layers: { protocol: string }[]; summary: string });
    expect(objs).toHaveLength(2);
    for (const o of objs) {
      expect(o.length).toBe(54);
      expect(o.layers.map((l) => l.protocol)).toContain('udp');
      expect(o.summary).toContain(`.${port}: UDP, length 12`);
    }
  });

  it('no -i: the first interface -D lists, as tcpdump; -c 0 is refused as tcpdump refuses it', async () => {
    const c = startCapture(['-c', '1', 'udp', 'dst', 'port', String(port)]);
    await c.listening;
    expect(c.out.stderr).toMatch(new RegExp(`^listening on ${listInterfaces()[0].name}, `));
    process.emit('SIGTERM');
    expect(await c.done).toBe(0);
    expect(c.out.stderr).toMatch(/^0 packets captured$/m);
    if (hasCommand('tcpdump')) {
      // tcpdump with no -i: the interface it names in its listening line is ours too.
      const child = spawn('tcpdump', ['-c', '1', '-nn', 'udp', 'dst', 'port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
      const line = await new Promise<string>((resolve) => {
        let err = '';
        child.stderr.on('data', (b: Buffer) => {
          err += b.toString();
          const m = /listening on (\S+),/.exec(err);
          if (m) resolve(m[1]);
        });
      });
      child.kill('SIGTERM');
      expect(c.out.stderr).toContain(`listening on ${line}, `);
    }
    const zero = startCapture(['-i', 'lo', '-c', '0']);
    expect(await zero.done).toBe(2);
    expect(zero.out.stderr).toBe('bpfkit capture: invalid packet count 0\n');
  });
});
