/** uprobe targets: ld.so.cache against `ldconfig -p`, function symbols against `readelf -Ws`, and bpftrace's offset checks and words (corpus uprobe cases). */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LD_CACHE_X86_64, ProbeError, libraryFromCache, listUprobeFunctions, parseLdSoCache, resolveUprobeOffset, resolveUprobeTarget,
} from '../../src/trace/probes/index.js';
import { skipReason } from '../helpers/reference.js';

const ldWhy = skipReason('ld.so.cache vs ldconfig -p', { commands: ['ldconfig'], files: ['/etc/ld.so.cache'] });

describe.skipIf(ldWhy !== undefined)('ld.so.cache vs ldconfig -p', () => {
  it('the same entries in the same order', () => {
    const ours = parseLdSoCache(new Uint8Array(readFileSync('/etc/ld.so.cache')));
    const ref = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).split('\n').slice(1).filter((l) => l.startsWith('\t')).map((l) => {
      const m = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(l);
      if (!m) throw new Error(`unexpected ldconfig line ${l}`);
      return [m[1], m[3]];
    });
    expect(ours.map((e) => [e.name, e.path])).toEqual(ref);
  });

  it('`libc` resolves like bcc\'s which_so, to the path ldconfig gives for libc.so.*', async () => {
    const entries = parseLdSoCache(new Uint8Array(readFileSync('/etc/ld.so.cache')));
    const ref = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).split('\n').find((l) => /^\s*libc\.so\.\S+ \(libc6,x86-64\)/.test(l));
    const expected = ref?.split('=> ')[1];
    expect(libraryFromCache(entries, 'c', LD_CACHE_X86_64)).toBe(expected);
    expect(await resolveUprobeTarget('libc')).toBe(expected);
  });

  it('a damaged cache is a ProbeError', () => {
    expect(() => parseLdSoCache(new Uint8Array(64))).toThrow(ProbeError);
    const real = new Uint8Array(readFileSync('/etc/ld.so.cache'));
    expect(() => parseLdSoCache(real.subarray(0, 100))).toThrow(/entries but ends/);
  });
});

const bashWhy = skipReason('/bin/bash symbols vs readelf', { commands: ['readelf'], files: ['/bin/bash'] });

describe.skipIf(bashWhy !== undefined)('functions of /bin/bash vs readelf -Ws', () => {
  it('every sized FUNC symbol with its address and size', async () => {
    const ours = new Map((await listUprobeFunctions('/bin/bash')).map((f) => [f.name, f]));
    const lines = execFileSync('readelf', ['-Ws', '/bin/bash'], { encoding: 'utf8' }).split('\n');
    let checked = 0;
    for (const l of lines) {
      const m = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+(FUNC|IFUNC)\s+\S+\s+\S+\s+(\d+)\s+(\S+)/.exec(l);
      if (!m || Number(m[2]) === 0) continue;
      const name = m[5].replace(/@.*$/, '');
      const f = ours.get(name);
      expect(f, name).toBeDefined();
      expect(f?.address, name).toBe(BigInt(`0x${m[1]}`));
      expect(f?.size, name).toBe(Number(m[2]));
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('bash resolves through $PATH; missing targets name the file', async () => {
    expect(await resolveUprobeTarget('/bin/bash')).toBe('/bin/bash');
    expect(await resolveUprobeTarget('bash')).toMatch(/\/bash$/);
    await expect(resolveUprobeTarget('/nonexistent/zz')).rejects.toMatchObject({ code: 'E_PROBE_BINARY' });
  });

  it('offsets and addresses with bpftrace\'s checks and words (probe: uprobe_offset_fail_size, uprobe_address_fail_resolve)', async () => {
    const echo = (await listUprobeFunctions('/bin/bash')).find((f) => f.name === 'echo_builtin');
    expect(echo).toBeDefined();
    const at = await resolveUprobeOffset('/bin/bash', { symbol: 'echo_builtin', offset: 0 });
    expect(at).toEqual({ offset: echo?.offset, symbol: 'echo_builtin', funcOffset: 0 });
    await expect(resolveUprobeOffset('/bin/bash', { symbol: 'echo_builtin', offset: 1000000 })).rejects.toThrow(`Offset outside the function bounds ('echo_builtin' size is ${echo?.size})`);
    await expect(resolveUprobeOffset('/bin/bash', { address: 10n })).rejects.toThrow('Could not resolve address: /bin/bash:0xa');
    await expect(resolveUprobeOffset('/bin/bash', { symbol: 'no_such_fn_zz' })).rejects.toThrow('Could not resolve symbol: /bin/bash:no_such_fn_zz');
    await expect(resolveUprobeOffset('/bin/bash', { symbol: 'echo_builtin', offset: 4 })).rejects.toMatchObject({ code: 'E_PROBE_UNSAFE' });
    expect((await resolveUprobeOffset('/bin/bash', { symbol: 'echo_builtin', offset: 4 }, { unsafe: true })).offset).toBe((echo?.offset ?? 0) + 4);
    await expect(resolveUprobeOffset('/bin/bash', { symbol: 'echo_builtin', offset: 4 }, { retprobe: true, unsafe: true })).rejects.toThrow(/uretprobes cannot be attached at function offset/);
    const byAddr = await resolveUprobeOffset('/bin/bash', { address: (echo?.address ?? 0n) }, {});
    expect(byAddr.symbol).toBe('echo_builtin');
  });
});
