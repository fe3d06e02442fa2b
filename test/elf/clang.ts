/** Compiles the C fixtures in test/fixtures-src with clang-19 -target bpf into a temp dir (never into the repo). */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, skipReason } from '../helpers/reference.js';

/** The multiarch include dir that holds <asm/types.h> for <linux/bpf.h>. */
function multiarchInclude(): string[] {
  try {
    const triple = execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim();
    const dir = `/usr/include/${triple}`;
    return existsSync(dir) ? ['-I', dir] : [];
  } catch {
    return [];
  }
}

/** Why clang-based ELF tests must skip here (printed once), or undefined. */
export function clangSkip(label: string): string | undefined {
  return skipReason(label, { commands: ['clang-19'], files: ['/usr/include/bpf/bpf_helpers.h'] });
}

/** A temp dir of compiled fixtures: `build('elf-xdp')` compiles test/fixtures-src/elf-xdp.c and returns the .o path and bytes. */
export function fixtureBuilder(): { dir: string; build(name: string, flags?: readonly string[]): { path: string; bytes: Uint8Array }; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-elf-'));
  const cache = new Map<string, { path: string; bytes: Uint8Array }>();
  return {
    dir,
    build(name, flags = []) {
      const key = [name, ...flags].join(' ');
      const hit = cache.get(key);
      if (hit) return hit;
      const out = path.join(dir, `${name}-${cache.size}.o`);
      // Extra flags (`-mcpu=v4`, `-target bpfeb`) come last; a `-target` of their own replaces the default.
      const target = flags.includes('-target') ? [] : ['-target', 'bpf'];
      execFileSync('clang-19', [...target, '-O2', '-g', ...multiarchInclude(), ...flags, '-c', path.join(repoRoot, 'test/fixtures-src', `${name}.c`), '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      const r = { path: out, bytes: new Uint8Array(readFileSync(out)) };
      cache.set(key, r);
      return r;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
