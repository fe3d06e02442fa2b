// Auto-attach from section names: held-out objects loaded with loadCollection and attached where their sections say, then their hooks fire.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollection } from '../../src/elf/index.js';
import { Kernel, attacherFor, autoAttach, cgroup2MountPoint } from '../../src/kernel/index.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { skipReason } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = (await kernelSkip('auto-attach')) ?? clangSkip('auto-attach') ?? skipReason('auto-attach', { commands: ['ip'], files: ['/bin/bash'] });
const sum = (m: { entries(): AsyncIterableIterator<[Uint8Array, Uint8Array]> }) => (async () => {
  let n = 0n;
  for await (const [, v] of m.entries()) n += v.length >= 8 ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : BigInt(new DataView(v.buffer, v.byteOffset).getUint32(0, true));
  return n;
})();

describe('auto-attach section table', () => {
  it('splits each section kind into the prefix and the target', () => {
    expect(attacherFor('xdp')).toEqual({ prefix: 'xdp', target: '' });
    expect(attacherFor('tcx/ingress')).toEqual({ prefix: 'tcx/ingress', target: '' });
    expect(attacherFor('tracepoint/syscalls/sys_enter_openat')).toEqual({ prefix: 'tracepoint', target: 'syscalls/sys_enter_openat' });
    expect(attacherFor('tp_btf/sched_switch')).toEqual({ prefix: 'tp_btf', target: 'sched_switch' });
    expect(attacherFor('uprobe//bin/bash:readline')).toEqual({ prefix: 'uprobe', target: '/bin/bash:readline' });
    expect(attacherFor('usdt/libc.so.6:libc:setjmp')).toEqual({ prefix: 'usdt', target: 'libc.so.6:libc:setjmp' });
    expect(attacherFor('cgroup_skb/ingress')?.prefix).toBe('cgroup_skb/ingress');
    expect(attacherFor('tc')).toBeUndefined(); // no direction: libbpf cannot auto-attach it either
    expect(attacherFor('kprobe.multi/x')).toBeUndefined();
  });
});

describe.skipIf(why !== undefined)('auto-attach in the kernel', () => {
  const b = fixtureBuilder();
  let kernel: Kernel;
  const dev = `coll${process.pid % 100000}`;
  let cgroup: string | undefined;
  let privateMount: string | undefined;
  beforeAll(async () => {
    kernel = await Kernel.open();
    execFileSync('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
    execFileSync('ip', ['link', 'set', dev, 'up']);
    let root = cgroup2MountPoint(readFileSync('/proc/mounts', 'utf8'));
    if (!root) {
      privateMount = mkdtempSync(path.join(os.tmpdir(), 'collection-cg2-'));
      execFileSync('mount', ['-t', 'cgroup2', 'none', privateMount]);
      root = privateMount;
    }
    cgroup = path.join(root, `collection-${process.pid}`);
    mkdirSync(cgroup);
  });
  afterAll(() => {
    try { execFileSync('ip', ['link', 'del', dev]); } catch { /* already gone */ }
    if (cgroup && existsSync(cgroup)) rmdirSync(cgroup);
    if (privateMount) {
      execFileSync('umount', [privateMount]);
      rmSync(privateMount, { recursive: true, force: true });
    }
    b.cleanup();
  });

  it('tracepoint/…, raw_tp/… and tp_btf/… attach by name and count what happens', async () => {
    using tp = loadCollection(b.build('coll-tracepoint').bytes, kernel);
    using raw = loadCollection(b.build('coll-raw-tp').bytes, kernel);
    using btf = loadCollection(b.build('coll-tp-btf').bytes, kernel);
    {
      using l1 = await autoAttach(kernel.sys, tp.program('on_openat'));
      using l2 = await autoAttach(kernel.sys, raw.program('count_syscalls'));
      using l3 = await autoAttach(kernel.sys, btf.program('on_switch'));
      expect([l1.target, l2.target, l3.target]).toEqual(['tracepoint/syscalls/sys_enter_openat', 'raw_tp/sys_enter', 'tp_btf/sched_switch']);
      for (let i = 0; i < 5; i++) closeSync(openSync('/proc/self/stat', 'r'));
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await sum(tp.map('by_flags'))).toBeGreaterThanOrEqual(5n);
    expect(await sum(raw.map('syscalls'))).toBeGreaterThan(5n);
    expect(await sum(btf.map('switches'))).toBeGreaterThan(0n);
  });

  it('uprobe/BINARY:FUNCTION attaches to the function of the binary', async () => {
    using up = loadCollection(b.build('coll-uprobe', ['-D__TARGET_ARCH_x86']).bytes, kernel);
    using link = await autoAttach(kernel.sys, up.program('on_readline'));
    expect(link.target).toContain('/bin/bash');
  });

  it('xdp and tcx/ingress attach to the interface given; without one they say what is missing', async () => {
    using fw = loadCollection(b.build('coll-xdp-fw').bytes, kernel);
    using ttl = loadCollection(b.build('coll-tcx-ttl').bytes, kernel);
    await expect(autoAttach(kernel.sys, fw.program('xdp_fw'))).rejects.toMatchObject({ code: 'E_ATTACH_TARGET' });
    using x = await autoAttach(kernel.sys, fw.program('xdp_fw'), { interface: dev });
    using t = await autoAttach(kernel.sys, ttl.program('tcx_ttl'), { interface: dev });
    expect(execFileSync('ip', ['link', 'show', dev], { encoding: 'utf8' })).toMatch(/xdp/);
    expect(x.target).toContain(dev);
    expect(t.target).toContain(dev);
  });

  it('cgroup_skb/ingress attaches to the cgroup given', async () => {
    using cg = loadCollection(b.build('coll-cgroup-skb').bytes, kernel);
    using a = await autoAttach(kernel.sys, cg.program('cg_no_telnet'), { cgroup });
    expect(a.target).toContain(cgroup!);
  });

  it('a section with no attach point of its own is refused', async () => {
    using c = loadCollection(b.build('coll-tc-mark').bytes, kernel);
    await expect(autoAttach(kernel.sys, c.program('tc_mark'))).rejects.toMatchObject({ code: 'E_ATTACH_SECTION' });
  });
});
