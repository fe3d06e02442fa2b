/** A cgroup v2 directory of a test's own: under the machine's cgroup2 mount, or under one mounted for the test (cgroup v1 machines). */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroup2MountPoint } from '../../../src/kernel/index.js';

/** A child cgroup named `name` (made now) and how to remove it, with the private mount if one was made. */
export function testCgroup(name: string): { path: string; remove(): void } {
  let root = cgroup2MountPoint(readFileSync('/proc/mounts', 'utf8'));
  let privateMount: string | undefined;
  if (!root) {
    privateMount = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-cg2-'));
    execFileSync('mount', ['-t', 'cgroup2', 'none', privateMount]);
    root = privateMount;
  }
  const dir = path.join(root, name);
  mkdirSync(dir);
  return {
    path: dir,
    remove() {
      if (existsSync(dir)) rmdirSync(dir);
      if (privateMount) {
        execFileSync('umount', [privateMount]);
        rmSync(privateMount, { recursive: true, force: true });
      }
    },
  };
}
