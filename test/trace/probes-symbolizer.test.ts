/**
 * Symbols for ksym/usym/kstack: kallsyms and maps parsing on fixtures, kernel addresses against
 * bpftrace 0.17's `ksym()`, user addresses in a live process against gdb's `info symbol`
 * (aliases at one address count as the same symbol).
 */

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatKsym } from '../../src/trace/format/index.js';
import { createNodeSymbolizer, listUprobeFunctions, lookupKernel, parseKallsyms, parseProcMaps } from '../../src/trace/probes/index.js';
import { skipReason } from '../helpers/reference.js';

describe('parsing', () => {
  it('kallsyms: text symbols sorted, modules kept, zero addresses dropped', () => {
    const t = parseKallsyms('ffffffff81000010 T b_sym\nffffffff81000000 t a_sym\nffffffff81000020 D data\n0000000000000000 T hidden\nffffffffc0000000 t m_fn\t[ext4]\n');
    expect(t.map((s) => s.name)).toEqual(['a_sym', 'b_sym', 'm_fn']);
    expect(lookupKernel(t, 0xffffffff8100000fn)).toEqual({ name: 'a_sym', start: 0xffffffff81000000n });
    expect(lookupKernel(t, 0xffffffffc0000004n)).toEqual({ name: 'm_fn', start: 0xffffffffc0000000n, module: 'ext4' });
    expect(lookupKernel(t, 0x10n)).toBeUndefined();
  });

  it('maps: file-backed mappings only', () => {
    const maps = parseProcMaps('55d0c0000000-55d0c0001000 r-xp 00001000 fe:00 12 /usr/bin/x\n7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n7f0000000000-7f0000001000 r-xp 00000000 fe:00 13 /tmp/a b (deleted)\n');
    expect(maps).toEqual([
      { start: 0x55d0c0000000n, end: 0x55d0c0001000n, offset: 0x1000n, path: '/usr/bin/x' },
      { start: 0x7f0000000000n, end: 0x7f0000001000n, offset: 0n, path: '/tmp/a b' },
    ]);
  });
});

const kwhy = skipReason('ksym vs bpftrace 0.17', { commands: ['bpftrace'], files: ['/proc/kallsyms'], root: true });

describe.skipIf(kwhy !== undefined)('kernel addresses vs bpftrace 0.17 ksym()', () => {
  it('the same symbol for addresses inside 40 kernel functions', () => {
    const table = parseKallsyms(readFileSync('/proc/kallsyms', 'utf8'));
    const picks = Array.from({ length: 40 }, (_, i) => table[Math.floor(((i + 0.5) * table.length) / 40)]).map((s) => s.addr + 3n);
    const prog = `BEGIN { ${picks.map((a) => `printf("%s\\n", ksym(0x${a.toString(16)}));`).join(' ')} exit(); }`;
    const out = execFileSync('bpftrace', ['-e', prog], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => l && !l.startsWith('Attaching'));
    expect(out.length).toBe(picks.length);
    const sym = createNodeSymbolizer();
    const startOf = new Map<string, bigint>(table.map((s) => [s.name, s.addr]));
    picks.forEach((a, i) => {
      const ours = formatKsym(a, { symbolizer: sym });
      // Several names can share one address; the same start is the same symbol.
      expect(startOf.get(ours), `${a.toString(16)}: ours ${ours}, bpftrace ${out[i]}`).toBe(startOf.get(out[i]));
    });
  });
});

const uwhy = skipReason('usym vs gdb', { commands: ['gdb', 'sleep'], root: true });

describe.skipIf(uwhy !== undefined)('user addresses vs gdb info symbol', () => {
  it('libc functions in a live process', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pid = child.pid ?? 0;
      const maps = parseProcMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
      const text = maps.find((m) => /libc\.so/.test(m.path) && m.offset > 0n);
      expect(text).toBeDefined();
      const path = text?.path ?? '';
      const funcs = (await listUprobeFunctions(path)).filter((f) => f.size > 16 && BigInt(f.offset) >= (text?.offset ?? 0n) && BigInt(f.offset) < (text?.offset ?? 0n) + (text?.end ?? 0n) - (text?.start ?? 0n));
      const picks = Array.from({ length: 12 }, (_, i) => funcs[Math.floor(((i + 0.5) * funcs.length) / 12)]);
      const addrs = picks.map((f) => (text?.start ?? 0n) + BigInt(f.offset) - (text?.offset ?? 0n) + 5n);
      const gdb = execFileSync('gdb', ['-batch', '-p', String(pid), ...addrs.flatMap((a) => ['-ex', `info symbol 0x${a.toString(16)}`])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const names = [...gdb.matchAll(/^(\S+) \+ 5 in section/gm)].map((m) => m[1]);
      expect(names.length).toBe(addrs.length);
      const sym = createNodeSymbolizer();
      const startOf = new Map((await listUprobeFunctions(path)).map((f) => [f.name, f.offset]));
      addrs.forEach((a, i) => {
        const ours = sym.user(a, pid);
        expect(ours?.module).toBe(path);
        expect(a - (ours?.start ?? 0n)).toBe(5n);
        expect(startOf.get(ours?.name ?? ''), `${ours?.name} vs ${names[i]}`).toBe(startOf.get(names[i].replace(/@.*$/, '')));
      });
      expect(sym.user(1n, pid)).toBeUndefined();
      expect(sym.user(addrs[0], 0x7ffffff0)).toBeUndefined();
    } finally {
      child.kill();
    }
  });
});
