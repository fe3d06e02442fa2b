// The kernel layer loads its FFI only when the backend is opened: importing it maps no koffi native code (checked in /proc/self/maps of a fresh process).

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCpuList } from '../../src/kernel/index.js';
import { repoRoot, skipReason } from '../helpers/reference.js';

describe('lazy FFI', () => {
  it.skipIf(skipReason('lazy ffi', { files: ['/proc/self/maps'] }) !== undefined)('importing src/kernel does not load koffi; opening the seam does', () => {
    const script = `
      import { readFileSync } from 'node:fs';
      const loaded = () => readFileSync('/proc/self/maps', 'utf8').includes('koffi');
      const k = await import(${JSON.stringify(path.join(repoRoot, 'src/kernel/index.ts'))});
      const before = loaded();
      await k.loadSys();
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: repoRoot });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: false, after: true });
  });

  it('parses sysfs CPU lists', () => {
    expect(parseCpuList('0-1\n')).toBe(2);
    expect(parseCpuList('0-3,5,7-8')).toBe(7);
    expect(parseCpuList('0')).toBe(1);
  });
});
