/** Compiles small C programs and libraries with gcc into a temp dir for the attach-point tests. */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temp build dir; `cleanup` removes it. */
export function buildDir(prefix: string): { dir: string; cc(out: string, src: string, args?: string[]): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-${prefix}-`));
  return {
    dir,
    cc(out, src, args = []) {
      const srcPath = path.join(dir, `${out}.c`);
      writeFileSync(srcPath, src);
      const outPath = path.join(dir, out);
      execFileSync('gcc', ['-O1', '-fno-inline', '-o', outPath, srcPath, ...args], { stdio: 'pipe' });
      return outPath;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
