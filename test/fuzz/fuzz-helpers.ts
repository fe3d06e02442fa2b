/** Shared pieces of the fuzz suite: the run budget, seeded corpus inputs, byte mutations, and the "typed, one-line, positioned error" check. */

import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { BpfkitError } from '../../src/util/index.js';
import { corpusDir } from '../helpers/reference.js';

/**
 * Runs per property: small by default so `npm test` stays fast; `FUZZ_RUNS=50000` (or any
 * number) for a long local run. `FUZZ_SEED` replays one seed.
 */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? '') > 0 ? Number(process.env.FUZZ_RUNS) : 150;
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? '') || 20261205;

/** fast-check parameters every fuzz property uses. */
export function fuzzParams(scale = 1): { numRuns: number; seed: number; endOnFailure: true } {
  return { numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)), seed: FUZZ_SEED, endOnFailure: true };
}

/** Every file under `../shared/corpus/<sub>` whose name matches `re`, sorted (a stable order for seeded picks). */
export function corpusFiles(sub: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (re.test(name)) out.push(full);
    }
  };
  walk(path.join(corpusDir, sub));
  return out;
}

/** The bytes of corpus files, read once. */
export function readAll(files: readonly string[]): Uint8Array[] {
  return files.map((f) => new Uint8Array(readFileSync(f)));
}

/** One edit of a byte string: what a damaged file or a hostile writer produces. */
type Edit =
  | { op: 'set'; at: number; value: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'word'; at: number; value: number }
  | { op: 'copy'; from: number; at: number; count: number };

const arbEdit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 1), fc.integer({ min: 0, max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 32 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('word' as const), at: fc.nat(), value: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 7, 8, 0xfff1, 0x10000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), from: fc.nat(), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }) },
);

function applyEdit(b: Uint8Array, e: Edit): Uint8Array {
  const n = b.length;
  if (n === 0) return e.op === 'insert' ? Uint8Array.from(e.bytes) : b;
  const at = e.at % n;
  switch (e.op) {
    case 'set': { const c = b.slice(); c[at] = e.value; return c; }
    case 'flip': { const c = b.slice(); c[at] ^= 1 << e.bit; return c; }
    case 'insert': { const c = new Uint8Array(n + e.bytes.length); c.set(b.subarray(0, at)); c.set(e.bytes, at); c.set(b.subarray(at), at + e.bytes.length); return c; }
    case 'delete': { const c = new Uint8Array(n - Math.min(e.count, n - at)); c.set(b.subarray(0, at)); c.set(b.subarray(at + e.count), at); return c; }
    case 'truncate': return b.slice(0, at);
    case 'word': {
      const c = b.slice();
      // Either byte order: the files fuzzed here come in both.
      const little = (e.at & 1) === 0;
      for (let i = 0; i < 4 && at + i < n; i++) c[at + i] = (e.value >>> (8 * (little ? i : 3 - i))) & 0xff;
      return c;
    }
    case 'copy': {
      const c = b.slice();
      const from = e.from % n;
      for (let i = 0; i < e.count && at + i < n && from + i < n; i++) c[at + i] = b[from + i];
      return c;
    }
  }
}

/** A mutated copy of one of `seeds` (picked by the generator): 1..`maxEdits` edits. */
export function arbMutated(seeds: readonly Uint8Array[], maxEdits = 6): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(arbEdit, { minLength: 1, maxLength: maxEdits }))
    .map(([i, edits]) => edits.reduce(applyEdit, seeds[i]));
}

/** A readable form of an error for an assertion message. */
function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

/**
 * Runs `f`; when it throws, the error must be a {@link BpfkitError} (of `kinds`, when given)
 * whose message is one line and that names where it happened. Returns the error, if any.
 */
export function expectTypedFailure(f: () => unknown, kinds: readonly (abstract new (...a: never[]) => BpfkitError)[] = [BpfkitError]): BpfkitError | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (!kinds.some((k) => e instanceof k)) expect.fail(`untyped error escaped: ${describeError(e)}`);
    const err = e as BpfkitError;
    expect(err.message, err.code).not.toMatch(/\n/);
    expect(err.code, err.message).toMatch(/^E_[A-Z0-9_]+$/);
    const pos = err.position;
    expect(pos !== undefined && Object.values(pos).some((v) => v !== undefined), `no position: ${err.code} ${err.message}`).toBe(true);
    return err;
  }
}
