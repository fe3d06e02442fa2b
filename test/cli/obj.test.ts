// The object commands on held-out clang objects: obj inspect/disasm, prog run --vm, map dump of an object, gen types; results checked against the object's facts and the kernel's recorded runs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import type { CaseOutcome } from '../elf/heldout-cases.js';
import { frame } from '../elf/heldout-cases.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/reference.js';

const why = clangSkip('object commands');
const recorded = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/collection-heldout.json'), 'utf8')) as Record<string, CaseOutcome>;

describe.skipIf(why !== undefined)('bpfkit obj / prog / map / gen on clang objects', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  it('obj inspect lists programs with attach points, maps with libbpf flags, BTF and CO-RE relocations', async () => {
    const fw = b.build('coll-xdp-fw').path;
    const text = await runCli(['obj', 'inspect', fw]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^ {2}xdp_fw: xdp {2}section xdp {2}insns \d+ {2}lines \d+$/m);
    expect(text.stdout).toMatch(/^ {2}\.rodata: array {2}key 4B {2}value 8B {2}max_entries 1 {2}flags 0x480 {2}initialised 1$/m);
    const tp = JSON.parse((await runCli(['obj', 'inspect', '--json', b.build('coll-tracepoint').path])).stdout) as { programs: { name: string; type: string; attachTo: string }[] };
    expect(tp.programs).toEqual([expect.objectContaining({ name: 'on_openat', type: 'tracepoint', attachTo: 'syscalls/sys_enter_openat' })]);
    const core = JSON.parse((await runCli(['obj', 'inspect', '--json', b.build('coll-core-skb').path])).stdout) as { coreRelocations: { kind: string; access: string }[] };
    // skb->tstamp through the anonymous union: access 0:0:0 (struct, anonymous member 0, its member 0).
    expect(core.coreRelocations).toContainEqual(expect.objectContaining({ kind: 'field_exists', access: '0:0:0' }));
  });

  it('obj disasm prints the linked program with its C source lines', async () => {
    const r = await runCli(['obj', 'disasm', b.build('coll-loop', ['-mcpu=v3']).path, '--section', 'xdp']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('; bpf_loop(256, add_word, &s, 0); // coll-loop.c:');
    expect(r.stdout).toMatch(/call bpf_loop/);
    expect(r.stdout).toContain('; static long add_word(__u32 i, void *arg) {'); // the callback is linked in after the program
  });

  it('prog run --vm gives the retval and data the kernel gave for the same frame', async () => {
    const dir = b.dir;
    writeFileSync(path.join(dir, 'udp53.hex'), Buffer.from(frame(17, 53)).toString('hex'));
    const r = await runCli(['prog', 'run', b.build('coll-xdp-fw').path, '--section', 'xdp', '--data', path.join(dir, 'udp53.hex'), '--vm', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { retval: number; dataOut: string };
    const kernel = recorded['0:coll-xdp-fw'].runs[0];
    expect(out.retval).toBe(kernel.retval);
    expect(out.dataOut).toBe(kernel.dataOut);
    const text = await runCli(['prog', 'run', b.build('coll-xdp-fw').path, '--section', 'xdp', '--data', path.join(dir, 'udp53.hex'), '--repeat', '4']);
    expect(text.stdout).toMatch(/^retval: 1 \(0x1\)\nduration: \d+ ns\ndata out: 42 bytes\n {2}0000: 02 00 00 00 00 02/);
  });

  it('prog run refuses what the kernel refuses, with the errno, and bad usage with status 2', async () => {
    const dir = b.dir;
    writeFileSync(path.join(dir, 'runt.hex'), '0102030405');
    const r = await runCli(['prog', 'run', b.build('coll-xdp-fw').path, '--section', 'xdp', '--data', path.join(dir, 'runt.hex')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^bpfkit prog run: test run program "xdp_fw": packet of 5 bytes is shorter than an ethernet header \(EINVAL\)\n$/);
    const u = await runCli(['prog', 'run', b.build('coll-xdp-fw').path, '--section', 'tc']);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('no program in section "tc" (sections: xdp)');
    expect((await runCli(['obj', 'inspect', path.join(dir, 'missing.o')])).status).toBe(1);
  });

  it('map dump of an object shows its maps as loaded: .rodata with its initial values', async () => {
    const r = await runCli(['map', 'dump', b.build('coll-xdp-fw').path, '--map', '.rodata']);
    expect(r.stdout).toBe('key: 00 00 00 00  value: 35 00 00 00 22 00 00 00\nFound 1 element\n');
  });

  it('gen types writes a .ts whose decoders read the object\'s own global data and map values', async () => {
    const out = path.join(b.dir, 'fw-types.ts');
    const r = await runCli(['gen', 'types', b.build('coll-xdp-fw').path, '-o', out]);
    expect(r.status).toBe(0);
    const mod = (await import(pathToFileURL(out).href)) as {
      maps: Record<string, { flags: number }>;
      decodeRodata(b: Uint8Array): { blocked_port: number; min_len: number };
      encodeRodata(v: { blocked_port?: number }): Uint8Array;
      decodeByProtoValue(b: Uint8Array): { value: bigint };
    };
    expect(mod.maps['.rodata'].flags).toBe(0x480);
    expect(mod.decodeRodata(Uint8Array.from([0x35, 0, 0, 0, 0x22, 0, 0, 0]))).toEqual({ blocked_port: 53, min_len: 34 });
    expect([...mod.encodeRodata({ blocked_port: 80 })]).toEqual([80, 0, 0, 0, 0, 0, 0, 0]);
    expect(mod.decodeByProtoValue(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1])).value).toBe(0x0100000000000001n);
    const be = await runCli(['gen', 'types', b.build('coll-bpfeb', ['-target', 'bpfeb']).path]);
    expect(be.stdout).toContain('getUint32(0, false)'); // a big-endian object's values decode big-endian
  });
});
