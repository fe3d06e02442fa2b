// `bpfkit ebpf verify` through the CLI entry: the contract's flags, exit statuses 0/1/2, --json, --map, logs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeProgram, assembleLlvm } from '../../src/ebpf/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-ebpf-verify-'));
const file = (name: string, text: string | Uint8Array): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const PKT = (k: number) => `r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 14
if r4 > r3 goto +2
r0 = *(u8 *)(r2 + ${k})
exit
r0 = 0
exit
`;

describe('bpfkit ebpf verify', () => {
  it('accepts a checked packet read (exit 0) and rejects an unchecked one (exit 1) with the kernel wording, why and hint', async () => {
    const ok = await runCli(['ebpf', 'verify', '--type', 'xdp', file('ok.s', PKT(13))]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^accepted: processed \d+ insns/);
    const bad = await runCli(['ebpf', 'verify', '--type', 'BPF_PROG_TYPE_XDP', file('bad.s', PKT(22))]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('5: invalid access to packet, off=22 size=1, R2(id=0,off=22,r=14)');
    expect(bad.stderr).toContain('why:');
    expect(bad.stderr).toContain('hint: compare data + 23 with data_end before this access');
  });

  it('reads raw instruction bytes and prints JSON', async () => {
    const raw = file('prog.bin', encodeProgram(assembleLlvm('r0 = r10\nr0 |= r10\nexit')));
    const r = await runCli(['ebpf', 'verify', '--json', raw]);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { accepted: boolean; error: { code: string; insn: number; message: string } };
    expect(j).toMatchObject({ accepted: false, error: { code: 'E_VERIFIER_PTR_ARITH', insn: 1, message: 'R0 pointer |= pointer prohibited' } });
  });

  it('--map gives the k-th lddw map; flags by kernel name', async () => {
    const prog = file('map.s', '*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\ncall 1\nif r0 == 0 goto +1\n*(u32 *)(r0 + 0) = 1\nr0 = 0\nexit\n');
    expect((await runCli(['ebpf', 'verify', '--map', 'hash:4:8:16', prog])).status).toBe(0);
    const ro = await runCli(['ebpf', 'verify', '--map', 'BPF_MAP_TYPE_HASH:4:8:16:rdonly_prog', prog]);
    expect(ro.status).toBe(1);
    expect(ro.stderr).toContain('write into map forbidden, value_size=8 off=0 size=4');
    expect((await runCli(['ebpf', 'verify', prog])).stderr).toContain('fd 0 is not pointing to valid bpf_map');
  });

  it('--unpriv, --attach-type and --log-level change the verdict and the output', async () => {
    const ret = file('ret.s', 'r0 = 3\nexit\n');
    expect((await runCli(['ebpf', 'verify', '--type', 'cgroup_skb', ret])).status).toBe(1);
    expect((await runCli(['ebpf', 'verify', '--type', 'cgroup_skb', '--attach-type', 'cgroup_inet_egress', ret])).status).toBe(0);
    const leak = file('leak.s', 'r0 = r10\nexit\n');
    expect((await runCli(['ebpf', 'verify', leak])).status).toBe(0);
    const u = await runCli(['ebpf', 'verify', '--unpriv', leak]);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain('R0 leaks addr as return value');
    const log = await runCli(['ebpf', 'verify', '--log-level', '2', '--type', 'xdp', file('log.s', PKT(13))]);
    expect(log.stdout).toMatch(/^0: \(61\) r2 = \*\(u32 \*\)\(r1 \+ 0\)/m);
    expect(log.stdout).toMatch(/^processed \d+ insns \(limit 1000000\)/m);
  });

  it('usage errors exit 2', async () => {
    const p = file('u.s', 'r0 = 0\nexit\n');
    expect((await runCli(['ebpf', 'verify', '--type', 'nosuch', p])).status).toBe(2);
    expect((await runCli(['ebpf', 'verify', '--map', 'hash:4:x:1', p])).status).toBe(2);
    expect((await runCli(['ebpf', 'verify', '--strict-alignment', '--any-alignment', p])).status).toBe(2);
    expect((await runCli(['ebpf', 'verify'])).status).toBe(2);
  });
});
