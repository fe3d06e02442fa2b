// `bpfkit ebpf run` through the CLI entry, with fixtures written here.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false });
  return { code, out, err };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-ebpf-run-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('bpfkit ebpf run', () => {
  const sum = file('sum.asm', 'ldxb %r0, [%r1]\nldxb %r3, [%r1+1]\nadd %r0, %r3\nadd %r0, %r2\nexit\n');

  it.each(['interp', 'jit'])('prints r0 in hex (%s)', async (engine) => {
    const r = await cli(['ebpf', 'run', '--engine', engine, '--mem', '10 20 30', sum]);
    expect(r).toMatchObject({ code: 0, out: '0x33\n' });
  });

  it('runs a packet program over --data', async () => {
    const prog = file('xdp.s', 'r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = r3\nr0 -= r2\nexit\n');
    const data = file('pkt.hex', '00 11 22 33 44 55 66 77 88 99 aa bb 08 00 45 00\n');
    expect(await cli(['ebpf', 'run', '--type', 'xdp', '--data', data, prog])).toMatchObject({ code: 0, out: '0x10\n' });
  });

  it('a runtime fault is an error naming the instruction, exit status 1', async () => {
    const r = await cli(['ebpf', 'run', '--mem', '01', sum]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/out-of-bounds access of 1 bytes at mem\+1 \(at insn 1\)/);
  });

  it('bad usage exits with 2', async () => {
    expect((await cli(['ebpf', 'run', '--type', 'nope', sum])).code).toBe(2);
    expect((await cli(['ebpf', 'run', '--engine', 'fast', sum])).code).toBe(2);
  });
});
