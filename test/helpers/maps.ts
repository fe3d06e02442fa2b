/** Shared preamble of the VM map tests: the errno name a map operation fails with. */

import { MapError } from '../../src/ebpf/index.js';

/** Runs `f` and returns the errno name of the {@link MapError} it throws (`undefined` when it succeeds); any other error is rethrown. */
export function errno(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof MapError) return e.errnoName;
    throw e;
  }
}
