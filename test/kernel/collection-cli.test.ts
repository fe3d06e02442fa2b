// The object commands against the kernel: prog run --kernel equals --vm, prog load --pin pins programs and maps, map dump reads a pinned map.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { frame } from '../elf/heldout-cases.js';
import { runCli } from '../helpers/cli.js';
import { kernelSkip, mountPrivate } from './helpers/kernel.js';

const why = (await kernelSkip('object commands in the kernel')) ?? clangSkip('object commands in the kernel');

describe.skipIf(why !== undefined)('bpfkit prog / map commands in the kernel', () => {
  const b = fixtureBuilder();
  let fs: { dir: string; cleanup(): void };
  beforeAll(() => {
    fs = mountPrivate('bpf');
  });
  afterAll(() => {
    fs?.cleanup();
    b.cleanup();
  });

  it('prog run --kernel prints what prog run --vm prints (but the duration)', async () => {
    const data = path.join(b.dir, 'tcp.hex');
    writeFileSync(data, Buffer.from(frame(6, 80, { ttl: 9 })).toString('hex'));
    const obj = b.build('coll-tcx-ttl').path;
    const strip = (s: string): string => s.replace(/^duration: \d+ ns$/m, 'duration: -');
    const k = await runCli(['prog', 'run', obj, '--section', 'tcx/ingress', '--data', data, '--kernel']);
    const v = await runCli(['prog', 'run', obj, '--section', 'tcx/ingress', '--data', data, '--vm']);
    expect(k.status, k.stderr).toBe(0);
    expect(strip(v.stdout)).toBe(strip(k.stdout));
    expect(k.stdout).toMatch(/^retval: 4294967295 \(0xffffffff\)/); // TCX_NEXT
  });

  it('prog load --pin pins every program and map; map dump reads the pinned map', async () => {
    const dir = path.join(fs.dir, 'fw');
    const r = await runCli(['prog', 'load', b.build('coll-xdp-fw').path, '--pin', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^program xdp_fw: id \d+, xdp$/m);
    expect(r.stdout).toMatch(/^map \.rodata: id \d+, name coll_xdp\.rodata$/m);
    expect(existsSync(path.join(dir, 'xdp_fw'))).toBe(true);
    const d = await runCli(['map', 'dump', path.join(dir, 'maps', '_rodata')]);
    expect(d.stdout).toBe('key: 00 00 00 00  value: 35 00 00 00 22 00 00 00\nFound 1 element\n');
    const j = await runCli(['map', 'dump', '--json', path.join(dir, 'maps', 'by_proto')]);
    expect(JSON.parse(j.stdout)).toEqual([]);
    expect((await runCli(['map', 'dump', path.join(dir, 'maps', 'nope')])).status).toBe(1);
  });
});
