/** The `bpfkit cbpf run|fmt|check` commands through the CLI dispatcher, on fixtures the test writes. */

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';

const { dir, file } = scratchDir('cbpf-cli');

async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  const { status, stdout: out, stderr: err } = await runCli(argv);
  return { status, out, err };
}

/** A little-endian pcap with Ethernet frames; `lens` gives each frame's (caplen, wirelen). */
function pcap(frames: { data: number[]; wirelen?: number }[]): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  parts.push(...u32(0xa1b2c3d4), 2, 0, 4, 0, ...u32(0), ...u32(0), ...u32(65535), ...u32(1));
  for (const f of frames) parts.push(...u32(0), ...u32(0), ...u32(f.data.length), ...u32(f.wirelen ?? f.data.length), ...f.data);
  return Uint8Array.from(parts);
}

const ipv4 = [...new Array(12).fill(0), 0x08, 0x00, 0x45];
const arp = [...new Array(12).fill(0), 0x08, 0x06];
const ipProgram = file('ip.asm', 'ldh [12]\njne #0x800, drop\nld #len\nret a\ndrop: ret #0\n');
const capture = file('two.pcap', pcap([{ data: ipv4, wirelen: 1000 }, { data: arp }, { data: [1, 2] }]));

describe('bpfkit cbpf run', () => {
  it('prints one return value per packet with either engine', async () => {
    for (const engine of ['jit', 'interp']) {
      const r = await cli('cbpf', 'run', '--engine', engine, ipProgram, capture);
      expect(r).toEqual({ status: 0, out: '1000\n0\n0\n', err: '' });
    }
  });
  it('reads the program in any format (here tcpdump -dd)', async () => {
    const dd = file('ip.dd', '{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000806 },\n{ 0x6, 0, 0, 0x00000007 },\n{ 0x6, 0, 0, 0x00000000 },\n');
    expect((await cli('cbpf', 'run', dd, capture)).out).toBe('0\n7\n0\n');
  });
  it('reports a bad program with file, line and column, and a missing capture, without a stack trace', async () => {
    const bad = file('bad.asm', 'ldh [12]\n  jeq #1, nowhere\nret #0\n');
    const r = await cli('cbpf', 'run', bad, capture);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/undefined label "nowhere" \(at .*bad\.asm, line 2, column 11\)/);
    const missing = await cli('cbpf', 'run', ipProgram, path.join(dir, 'nope.pcap'));
    expect(missing.status).not.toBe(0);
    expect(missing.err).not.toMatch(/\n\s+at /);
  });
  it('rejects wrong arguments with usage status 2', async () => {
    expect((await cli('cbpf', 'run', ipProgram)).status).toBe(2);
    expect((await cli('cbpf', 'run', '--engine', 'fast', ipProgram, capture)).status).toBe(2);
  });
});

describe('bpfkit cbpf fmt', () => {
  it('prints -d by default, and -dd, -ddd, --asm on request', async () => {
    expect((await cli('cbpf', 'fmt', ipProgram)).out).toBe(
      '(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 4\n(002) ld       #pktlen\n(003) ret      \n(004) ret      #0\n',
    );
    expect((await cli('cbpf', 'fmt', '-dd', ipProgram)).out.split('\n')[1]).toBe('{ 0x15, 0, 2, 0x00000800 },');
    expect((await cli('cbpf', 'fmt', '-ddd', ipProgram)).out.split('\n')[0]).toBe('5');
    expect((await cli('cbpf', 'fmt', '--asm', ipProgram)).out).toContain('jne #0x800, l4');
  });
  it('refuses two output formats', async () => {
    expect((await cli('cbpf', 'fmt', '-d', '--asm', ipProgram)).status).toBe(2);
  });
});

describe('bpfkit cbpf check', () => {
  it('accepts a valid program and names the offending instruction of an invalid one', async () => {
    expect(await cli('cbpf', 'check', ipProgram)).toMatchObject({ status: 0 });
    const r = await cli('cbpf', 'check', '--mode', 'seccomp', ipProgram);
    expect(r.status).toBe(1);
    expect(r.err).toContain('(at insn 0)');
    const uninit = file('uninit.asm', 'ld M[1]\nret a\n');
    expect((await cli('cbpf', 'check', '--mode', 'kernel', uninit)).err).toContain('M[1] is read before it is written (at insn 0)');
    expect((await cli('cbpf', 'check', '--mode', 'libpcap', uninit)).status).toBe(0);
  });
});
