/** Opens the real kernel backend for a test file, or gives the reason to skip (not root, bpf() refused). */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kernel } from '../../../src/kernel/index.js';
import { reportSkip, skipReason } from '../../helpers/reference.js';

/** The reason to skip kernel tests, printed once per label; undefined when bpf() works. */
export async function kernelSkip(label: string): Promise<string | undefined> {
  const why = skipReason(label, { root: true });
  if (why) return why;
  try {
    const k = await Kernel.open();
    k.createMap({ name: 'probe', type: 2, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
    return undefined;
  } catch (e) {
    return reportSkip(label, `bpf() not permitted: ${(e as Error).message}`);
  }
}

/**
 * Mounts a private instance of a pseudo filesystem (bpffs: its own instance per mount; tracefs: the one view) on a
 * fresh temp dir, so tests never touch /sys/fs/bpf that other programs use. `cleanup` unmounts and removes it; a
 * process exit hook does the same if the worker ends before `afterAll` runs.
 */
export function mountPrivate(fstype: 'bpf' | 'tracefs'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-${fstype}fs-`));
  try {
    execFileSync('mount', ['-t', fstype, fstype, dir]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let done = false;
  const cleanup = () => {
    if (done) return;
    done = true;
    process.off('exit', cleanup);
    try {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Already gone.
    }
  };
  process.once('exit', cleanup);
  return { dir, cleanup };
}

/** A private bpffs (see {@link mountPrivate}). */
export function mountPrivateBpffs(): { dir: string; cleanup(): void } {
  return mountPrivate('bpf');
}
