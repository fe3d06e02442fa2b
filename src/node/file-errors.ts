/** Turns a file-system error (ENOENT, EACCES...) into a typed bpfkit error with a short message naming the file. */

import { BpfkitError, UsageError } from '../util/index.js';

/** True for Node's system errors (they carry a string `code` such as `ENOENT`). */
function isSystemError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && !(e instanceof BpfkitError) && typeof (e as { code?: unknown }).code === 'string';
}

/**
 * `cannot open x.pcap: no such file or directory`, as a UsageError with code `E_FILE`
 * (the CLI prints it as one line, exit status 1). Anything that is not a system error is
 * returned unchanged.
 */
export function fileError(e: unknown, verb: string, file: string): unknown {
  if (!isSystemError(e)) return e;
  const reason = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
  return new UsageError('E_FILE', `cannot ${verb} ${file}: ${reason}`, { cause: e });
}
