/** Typed errors: every failure a user can cause carries a stable code and where it happened. */

/** Where an error happened: a column in an expression, a byte offset in a file, an instruction index. */
export interface Position {
  /** 1-based column in a text (filter expression, assembly line). */
  column?: number;
  /** 1-based line in a multi-line text. */
  line?: number;
  /** Byte offset in a file or buffer. */
  offset?: number;
  /** Instruction index in a program. */
  insn?: number;
  /** A file name, when the error concerns one. */
  file?: string;
}

/** Options accepted by every {@link BpfkitError}. */
export interface ErrorOptions {
  position?: Position;
  hint?: string;
  cause?: unknown;
}

/**
 * The base of every error bpfkit throws on purpose. `code` is stable (tests and tools
 * match on it); `message` is one short lower-case line that already includes the position.
 */
export class BpfkitError extends Error {
  readonly code: string;
  readonly position: Position | undefined;
  readonly hint: string | undefined;
  /** The message without the position suffix. */
  readonly detail: string;

  constructor(code: string, detail: string, options: ErrorOptions = {}) {
    // One line always: a name taken from the input (a section, a symbol) may hold line breaks.
    detail = detail.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
    super(detail + formatPosition(options.position), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = detail;
    this.position = options.position;
    this.hint = options.hint;
  }

  /** A copy of this error whose message starts with `context: ` (as in `load program "x": ...`). */
  withContext(context: string): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, 'message', { value: `${context}: ${this.message}`, enumerable: false, writable: true });
    Object.defineProperty(copy, 'stack', { value: `${copy.name}: ${copy.message}`, enumerable: false, writable: true });
    return copy;
  }
}

function formatPosition(p: Position | undefined): string {
  if (!p) return '';
  const parts: string[] = [];
  if (p.file !== undefined) parts.push(p.file);
  if (p.line !== undefined) parts.push(`line ${p.line}`);
  if (p.column !== undefined) parts.push(`column ${p.column}`);
  if (p.offset !== undefined) parts.push(`offset ${p.offset}`);
  if (p.insn !== undefined) parts.push(`insn ${p.insn}`);
  return parts.length ? ` (at ${parts.join(', ')})` : '';
}

/** A text that does not parse: filter expressions, assembly, program listings. */
export class ParseError extends BpfkitError {}

/** A capture file that is not a capture file, or is damaged. */
export class FormatError extends BpfkitError {}

/** A program that a validator or verifier rejects. */
export class ValidationError extends BpfkitError {}

/** A program that faults while running (only for engines that fault instead of returning 0). */
export class RuntimeFault extends BpfkitError {}

/** Something the platform or this backend does not have. */
export class UnsupportedError extends BpfkitError {}

/** An argument outside what an API accepts. */
export class UsageError extends BpfkitError {}
