/** Helpers the runnable examples share: tracefs (mounted privately when missing), running until Ctrl-C or a duration, and little-endian reads. */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACEFS_DIRS } from '../../src/kernel/index.js';

/** Where tracefs is; when no tracefs is mounted, a private instance is mounted and `cleanup` removes it. */
export function openTracefs(): { dirs: string[]; cleanup(): void } {
  const found = TRACEFS_DIRS.find((d) => existsSync(path.join(d, 'events')));
  if (found) return { dirs: [found], cleanup: () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-tracefs-'));
  execFileSync('mount', ['-t', 'tracefs', 'tracefs', dir]);
  return {
    dirs: [dir],
    cleanup() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves on Ctrl-C (SIGINT), SIGTERM, or after `seconds` when given. */
export function runUntilStopped(seconds?: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      clearTimeout(timer);
      resolve();
    };
    // Signal handlers do not keep the event loop alive: a timer does, even without a duration.
    const timer = setTimeout(done, seconds !== undefined ? seconds * 1000 : 2 ** 31 - 1);
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** A process's command name from /proc (or "?" once it has exited). */
export function commOf(pid: number): string {
  try {
    return execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

export const u32 = (b: Uint8Array, off = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
export const u64 = (b: Uint8Array, off = 0): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
export const u32Key = (n: number): Uint8Array => {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, n, true);
  return k;
};

/** A NUL-terminated C string out of a fixed-size field. */
export function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}
