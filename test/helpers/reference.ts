/** Where the shared corpus is, and which references this machine has; tests skip with a printed reason otherwise. */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** `../shared/corpus` beside the repository. */
export const corpusDir = path.resolve(repoRoot, '../shared/corpus');

/** True when `../shared/corpus/<sub>` exists. */
export function hasCorpus(sub = ''): boolean {
  return existsSync(path.join(corpusDir, sub));
}

/** True when a command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when running as root (kernel tests need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True under CI (`CI=true`, as CI services set it): a missing reference is then a failure, not a skip. */
export function inCi(): boolean {
  const v = (process.env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/**
 * Reports a skip: prints the reason (a skipped reference is never silent) and returns it; under
 * CI it throws instead, so a clone without the corpus, a tool or root fails loudly.
 */
export function reportSkip(label: string, why: string): string {
  if (inCi()) throw new Error(`[CI] ${label} cannot run: ${why} (outside CI this test would be skipped)`);
  console.warn(`[skip] ${label}: ${why}`);
  return why;
}

/**
 * Returns undefined when every requirement holds, else the reason, through {@link reportSkip}
 * (printed; thrown under CI). `missing` is a reason some other check already found.
 */
export function skipReason(label: string, reqs: { corpus?: string; commands?: string[]; root?: boolean; files?: string[]; missing?: string }): string | undefined {
  let why: string | undefined = reqs.missing;
  if (!why && reqs.corpus !== undefined && !hasCorpus(reqs.corpus)) why = `../shared/corpus/${reqs.corpus} not found`;
  for (const c of reqs.commands ?? []) if (!why && !hasCommand(c)) why = `${c} not installed`;
  for (const f of reqs.files ?? []) if (!why && !existsSync(f)) why = `${f} not found`;
  if (!why && reqs.root && !isRoot()) why = 'needs root';
  return why === undefined ? undefined : reportSkip(label, why);
}

/**
 * A minimum count (or ratio) a reference comparison must reach, printed with the measured value
 * so floors can be kept near what runs (about 90-95% of it): losing part of the coverage fails.
 */
export function expectFloor(label: string, measured: number, floor: number): void {
  console.log(`[floor] ${label}: measured ${measured}, floor ${floor}`);
  // A plain throw, not vitest's expect: benchmarks import these helpers outside vitest.
  if (!(measured >= floor)) throw new Error(`${label}: measured ${measured}, below the floor ${floor}`);
}
