/** Builds the small C reference helpers in test/reference/native/ once per content hash, into a cache under the OS temp dir. */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './reference.js';

/**
 * Compiles `test/reference/native/<name>.c` with gcc (extra flags such as `-lpcap`)
 * and returns the executable's path. Rebuilt only when the source changes.
 */
export function buildNative(name: string, libs: string[] = []): string {
  const src = path.join(repoRoot, 'test/reference/native', `${name}.c`);
  const hash = createHash('sha256').update(readFileSync(src)).update(libs.join(' ')).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'bpfkit-native');
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, `${name}-${hash}`);
  if (!existsSync(exe)) {
    const tmp = `${exe}.${process.pid}.tmp`;
    execFileSync('gcc', ['-O2', '-o', tmp, src, ...libs], { stdio: 'inherit' });
    renameSync(tmp, exe);
  }
  return exe;
}
