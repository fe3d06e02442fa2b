// `bpfkit prog load --pin DIR --attach` as a real process: it attaches by section name, the hook counts while it runs, and SIGINT detaches with status 0.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernel/index.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { repoRoot } from '../helpers/reference.js';
import { kernelSkip, mountPrivate } from './helpers/kernel.js';

const why = (await kernelSkip('prog load --attach')) ?? clangSkip('prog load --attach');

describe.skipIf(why !== undefined)('bpfkit prog load --attach', () => {
  const b = fixtureBuilder();
  let fs: { dir: string; cleanup(): void };
  beforeAll(() => {
    fs = mountPrivate('bpf');
  });
  afterAll(() => {
    fs?.cleanup();
    b.cleanup();
  });

  it('counts openat calls while attached, stops after SIGINT', async () => {
    const kernel = await Kernel.open();
    const dir = path.join(fs.dir, 'tp');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/kernel/fixtures/cli-child.ts'), 'prog', 'load', b.build('coll-tracepoint').path, '--pin', dir, '--attach'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code} ${signal}`)));
    for (let i = 0; i < 600 && !out.includes('interrupt (ctrl-c) to detach'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out, err).toContain('attached on_openat to tracepoint/syscalls/sys_enter_openat');
    using counts = kernel.openPinnedMap(path.join(dir, 'maps', 'by_flags'));
    const total = async (): Promise<number> => {
      let n = 0;
      for await (const [, v] of counts.entries()) n += new DataView(v.buffer, v.byteOffset).getUint32(0, true);
      return n;
    };
    for (let i = 0; i < 10; i++) closeSync(openSync('/proc/self/stat', 'r'));
    const during = await total();
    expect(during).toBeGreaterThanOrEqual(10);
    child.kill('SIGINT');
    expect(await exited, err).toBe('0 null');
    const after = await total();
    for (let i = 0; i < 10; i++) closeSync(openSync('/proc/self/stat', 'r'));
    expect(await total()).toBe(after); // detached: no more counts
  });
});
