/** A scratch folder per test file for the fixture files it writes, removed when that file's tests are done. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** A scratch folder and a way to write a file into it. */
export interface Scratch {
  readonly dir: string;
  /** Writes `content` to `name` in the folder and returns the file's path. */
  file(name: string, content: string | Uint8Array): string;
}

/** Makes a fresh `bpfkit-PREFIX-…` folder under the system temp folder, removed after all tests of the calling file. */
export function scratchDir(prefix: string): Scratch {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file(name, content) {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    },
  };
}
