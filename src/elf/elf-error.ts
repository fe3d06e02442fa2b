/** The typed error of the ELF, BTF and BTF.ext readers and the loader: a stable code, the section concerned and the byte offset. */

import { FormatError } from '../util/index.js';

/**
 * A malformed object file. `section` names the ELF section the bad field lives in (`.BTF`,
 * `.BTF.ext`, a program section...), and `position.offset` is the byte offset of the field:
 * from the start of the file for ELF structures, from the start of the section for BTF and
 * BTF.ext (as `bpftool` and the kernel count them). A FormatError, so existing handlers keep working.
 */
export class ElfError extends FormatError {
  /** The section the bad field belongs to, when one does. */
  readonly section: string | undefined;

  constructor(code: string, detail: string, offset: number, section?: string) {
    super(code, section === undefined ? detail : `section ${JSON.stringify(section)}: ${detail}`, { position: { offset } });
    this.section = section;
  }
}

/** Throws an {@link ElfError}. */
export function elfFail(code: string, detail: string, offset: number, section?: string): never {
  throw new ElfError(code, detail, offset, section);
}

/** Latin-1 text of bytes, in chunks (a spread of a large array overflows the call stack). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 4096)));
  return s;
}
