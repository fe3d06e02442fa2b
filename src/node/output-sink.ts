/** Writing to an inherited descriptor (standard output) with back-pressure: a bounded queue, no busy loop, a quiet end when the reader goes away. */

import { constants, fstatSync, openSync, writeSync } from 'node:fs';
import { BpfkitError } from '../util/index.js';
import { fileError } from './file-errors.js';

/**
 * The reader of an output went away (EPIPE: `bpfkit filter … | head -1`). The CLI stops at
 * once and exits quietly, as tcpdump does when SIGPIPE ends it.
 */
export class OutputClosedError extends BpfkitError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('E_OUTPUT_CLOSED', `${what} was closed by its reader`, options);
  }
}

/** True for Node's system errors with this errno name. */
export function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === code;
}

/** Sleeps the whole thread: only for the last flush before exit, when nothing else can run. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes to a descriptor that may be a pipe in non-blocking mode (Node puts stdout pipes in
 * it). What the pipe takes is written at once; the rest waits in a queue that {@link drain}
 * empties by polling, so the event loop (and with it SIGINT/SIGTERM) keeps running while a
 * slow reader holds us back. Callers drain after each bounded piece of output: memory stays
 * at that piece, never the whole output (tcpdump blocks in write(2) the same way).
 */
export class FdSink {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private closedBy: unknown;

  constructor(
    readonly fd: number,
    readonly name = 'standard output',
  ) {}

  /** Bytes waiting for the reader. */
  get pendingBytes(): number {
    return this.queued;
  }

  /** True once the reader went away. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Writes (or queues) `data`. Throws {@link OutputClosedError} once the reader is gone. */
  write(data: string | Uint8Array): void {
    this.checkOpen();
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length === 0) return;
    if (this.queued > 0) {
      this.enqueue(bytes);
      return;
    }
    const n = this.tryWrite(bytes);
    this.checkOpen();
    if (n < bytes.length) this.enqueue(bytes.subarray(n));
  }

  /** Resolves once the queue is empty; rejects with {@link OutputClosedError} when the reader went away. */
  async drain(): Promise<void> {
    let wait = 1;
    while (this.queued > 0) {
      this.checkOpen();
      if (this.flushSome()) {
        wait = 1;
        continue;
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 20);
    }
    this.checkOpen();
  }

  /** Empties the queue before the process exits; gives up quietly when the reader is gone. */
  drainSync(): void {
    let wait = 1;
    while (this.queued > 0 && !this.closed) {
      if (this.flushSome()) continue;
      sleepSync(wait);
      wait = Math.min(wait * 2, 20);
    }
  }

  private checkOpen(): void {
    if (this.closedBy !== undefined) throw new OutputClosedError(this.name, { cause: this.closedBy });
  }

  /** Writes the head of the queue as far as the pipe takes it; true when something was written. */
  private flushSome(): boolean {
    const head = this.queue[0];
    const n = this.tryWrite(head);
    if (this.closed) {
      this.queue = [];
      this.queued = 0;
      return false;
    }
    if (n === 0) return false;
    this.queued -= n;
    if (n === head.length) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    return true;
  }

  /** One write(2) loop until EAGAIN; returns the bytes written. EPIPE marks the sink closed (callers check). */
  private tryWrite(bytes: Uint8Array): number {
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        if (isErrno(e, 'EAGAIN')) return off;
        if (isErrno(e, 'EPIPE')) {
          this.closedBy = e;
          return off;
        }
        // `> /dev/full`, a failing disk: one typed line, not a stack trace.
        throw fileError(e, 'write', this.name);
      }
    }
    return off;
  }

  private enqueue(bytes: Uint8Array): void {
    // The caller may reuse its buffer: keep a copy.
    this.queue.push(Uint8Array.prototype.slice.call(bytes));
    this.queued += bytes.length;
  }
}

/**
 * The descriptor the stdout sink writes. A pipe is reopened through /proc/self/fd/1 in
 * non-blocking mode: a description of our own, so a stalled reader makes writes return EAGAIN
 * (the sink waits on the event loop and signals still arrive), while the shared description
 * that child processes inherit (`trace -c`, `system()`) stays blocking. A socket cannot be
 * reopened: Node's stdout stream sets it non-blocking (loading net and stream, ~4 ms of start-up
 * the other cases skip). Terminals and files stay blocking, as Node leaves them for our writes.
 */
function stdoutFd(): number {
  try {
    const st = fstatSync(1);
    if (st.isFIFO()) return openSync('/proc/self/fd/1', constants.O_WRONLY | constants.O_NONBLOCK);
    if (!st.isSocket()) return 1;
  } catch {
    // No /proc, or the reader already went away (ENXIO): Node's stream, as for a socket.
  }
  process.stdout.on('error', () => undefined);
  return 1;
}

let stdoutSink: FdSink | undefined;
/** The process's standard output as an {@link FdSink} (one per process, so text and `-w -` bytes keep their order). */
export function stdoutFdSink(): FdSink {
  stdoutSink ??= new FdSink(stdoutFd());
  return stdoutSink;
}
