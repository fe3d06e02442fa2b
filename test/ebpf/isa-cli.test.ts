/** `bpfkit ebpf asm|disasm` through the CLI entry, and `loadProgramFile` detecting each input form. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProgramFile } from '../../src/cli/ebpf-input.js';
import { assembleLlvm, encodeProgram } from '../../src/ebpf/index.js';
import { toHex } from '../../src/util/index.js';
import { runCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';

const { dir, file } = scratchDir('ebpf-cli');

async function run(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  const { status, stdout: out, stderr: err } = await runCli(argv);
  return { status, out, err };
}

const LLVM = 'r0 = 0\nif r1 > 5 goto +1\nr0 = 1\nexit\n';
const BYTES = encodeProgram(assembleLlvm(LLVM));

describe('bpfkit ebpf asm', () => {
  it('writes raw little-endian bytes with -o and hex to stdout without', async () => {
    const src = file('p.s', LLVM);
    const out = path.join(dir, 'p.bin');
    expect((await run('ebpf', 'asm', '-o', out, src)).status).toBe(0);
    expect(toHex(new Uint8Array(readFileSync(out)))).toBe(toHex(BYTES));
    const r = await run('ebpf', 'asm', src);
    expect(r.out.split('\n')[0]).toBe('b7 00 00 00 00 00 00 00');
    expect(r.out.trim().split('\n').length).toBe(4);
  });

  it('reads conformance syntax when asked or when it sees %r registers', async () => {
    const src = file('c.s', 'mov %r0, 0\njgt %r1, 5, +1\nmov %r0, 1\nexit\n');
    const out = path.join(dir, 'c.bin');
    expect((await run('ebpf', 'asm', '--syntax', 'conformance', '-o', out, src)).status).toBe(0);
    expect(toHex(new Uint8Array(readFileSync(out)))).toBe(toHex(BYTES));
  });

  it('reports assembly errors with file, line and column, exit status 1', async () => {
    const r = await run('ebpf', 'asm', file('bad.s', 'exit\nr1 = frob\n'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/bad\.s: cannot parse "r1 = frob" \(at line 2, column 1\)/);
  });

  it('runs the structural check unless --no-check', async () => {
    const src = file('nocheck.s', 'r0 = 0\n');
    expect((await run('ebpf', 'asm', src)).err).toMatch(/last instruction is not exit/);
    expect((await run('ebpf', 'asm', '--no-check', src)).status).toBe(0);
  });
});

describe('bpfkit ebpf disasm', () => {
  it('disassembles raw bytes and hex text in either syntax', async () => {
    const bin = file('d.bin', BYTES);
    expect((await run('ebpf', 'disasm', bin)).out).toBe('\tr0 = 0x0\n\tif r1 > 0x5 goto +0x1\n\tr0 = 0x1\n\texit\n');
    const hexFile = file('d.hex', toHex(BYTES, ' '));
    expect((await run('ebpf', 'disasm', '--syntax', 'conformance', hexFile)).out).toBe('mov %r0, 0\njgt %r1, 5, +1\nmov %r0, 1\nexit\n');
  });

  it('fails cleanly on a missing file', async () => {
    const r = await run('ebpf', 'disasm', path.join(dir, 'missing'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/cannot read/);
  });
});

describe('loadProgramFile', () => {
  it('detects raw, hex, words, llvm, conformance and .data files', () => {
    expect(loadProgramFile(file('a.bin', BYTES)).format).toBe('raw');
    expect(loadProgramFile(file('a.hex', toHex(BYTES))).format).toBe('hex');
    const words = file('a.words', '0x00000000000000b7\n0x0000000000000095\n');
    expect(loadProgramFile(words)).toMatchObject({ format: 'hex', insns: [{ code: 0xb7 }, { code: 0x95 }] });
    expect(loadProgramFile(file('a.s', LLVM)).format).toBe('llvm');
    expect(loadProgramFile(file('a.asm', 'mov %r0, 1\nexit')).format).toBe('conformance');
    const data = loadProgramFile(file('a.data', '# c\n-- asm\nmov %r0, 3\nexit\n-- mem\n01 02\n-- result\n0x3\n'));
    expect(data).toMatchObject({ format: 'conformance-data', result: 3n, mem: new Uint8Array([1, 2]) });
    expect(data.insns.length).toBe(2);
  });
});
