/** The one writer of every file the CLI writes: atomic replace for regular files, straight writes into devices and FIFOs, `-` for standard output. */

import { closeSync, fsyncSync, ftruncateSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/index.js';
import { fileError } from './file-errors.js';
import { isErrno, stdoutFdSink } from './output-sink.js';

/**
 * Where a writer's bytes go. `file`: a regular file (or a new name), written under a temporary
 * name and renamed over the target when complete. `device`: a character device, FIFO or socket,
 * written in place (renaming over `/dev/null` would destroy it). `stdout`: `-`.
 */
export type OutputKind = 'file' | 'device' | 'stdout';

/** Options of {@link AtomicFileWriter}. */
export interface OutputOptions {
  /** Buffer size (1 MiB by default). */
  bufferSize?: number;
  /** Where `-` writes (standard output by default); tests pass their own. */
  stdout?: (bytes: Uint8Array) => void;
}

/** Symbolic links followed before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** Writers whose temporary file exists: removed if the process exits before they finish. */
const live = new Set<AtomicFileWriter>();
let exitHookInstalled = false;

function track(w: AtomicFileWriter): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // process.exit(), an uncaught exception, a signal the CLI turns into an exit: no temp file survives.
    process.on('exit', abortAllWriters);
  }
  live.add(w);
}

/** Deletes the temporary file of every unfinished writer (the CLI calls it before exiting on a signal). */
export function abortAllWriters(): void {
  for (const w of [...live]) w.abort();
}

/**
 * Follows symbolic links to the file they name (a dangling link names the file to create), so
 * that `-w link` replaces the link's target and keeps the link.
 */
export function resolveOutputPath(target: string): string {
  let p = target;
  for (let i = 0; i < MAX_LINKS; i++) {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return p;
      throw fileError(e, 'write', target);
    }
    if (!st.isSymbolicLink()) return p;
    p = path.resolve(path.dirname(p), readlinkSync(p));
  }
  throw new UsageError('E_FILE', `cannot write ${target}: too many levels of symbolic links`);
}

/** True when a process with this id exists (EPERM: it exists but is not ours). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return !isErrno(e, 'ESRCH');
  }
}

/**
 * Removes `.NAME.PID.N.tmp` files beside `file` left by processes that no longer run (killed
 * with SIGKILL, or a power cut): they can be hundreds of MB. Best effort: failures are ignored.
 */
export function removeStaleTempFiles(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // Raced with another cleaner, or not ours to remove.
    }
  }
  return removed;
}

/**
 * Writes an output file completely or not at all. For a regular file or a new name it writes to
 * `.<name>.<pid>.<n>.tmp` in the target's folder (so the rename stays on one file system);
 * `commit()` flushes (fsyncs when `durable`) and renames over the target; `abort()` (or
 * disposing without committing, or any write error such as ENOSPC) deletes the temporary file,
 * so a failed `-w` never leaves half a file. Devices and FIFOs are written in place, `-` is
 * standard output. Writes are buffered (1 MiB by default) and synchronous; errors are
 * `UsageError`s with code `E_FILE` naming the file.
 */
export class AtomicFileWriter {
  private static counter = 0;
  /** The temporary file's path (kind `file` only). */
  readonly tempPath: string | undefined;
  /** Where the bytes go, after following symbolic links. */
  readonly resolvedPath: string;
  readonly kind: OutputKind;
  private fd: number | undefined;
  private readonly sink: ((bytes: Uint8Array) => void) | undefined;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private finished = false;
  /** Bytes written so far. */
  bytesWritten = 0;
  /** Where the next flushed byte goes in a regular file: writes there are positional, so other threads may fill ranges. */
  private filePos = 0;
  /** Set once another writer had the descriptor: bytes past `filePos` may be left from an abandoned attempt. */
  private lentOut = false;

  constructor(
    readonly targetPath: string,
    options: number | OutputOptions = {},
  ) {
    const opts: OutputOptions = typeof options === 'number' ? { bufferSize: options } : options;
    const bufferSize = opts.bufferSize ?? 1 << 20;
    if (targetPath === '-') {
      this.kind = 'stdout';
      this.resolvedPath = '-';
      const out = opts.stdout ?? ((b: Uint8Array) => stdoutFdSink().write(b));
      this.sink = out;
    } else {
      this.resolvedPath = resolveOutputPath(targetPath);
      let st;
      try {
        st = statSync(this.resolvedPath);
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw fileError(e, 'write', targetPath);
      }
      if (st?.isDirectory()) throw new UsageError('E_FILE', `cannot write ${targetPath}: is a directory`);
      if (st && !st.isFile()) {
        this.kind = 'device';
        try {
          // No O_TRUNC games on a device: 'w' is what tcpdump's fopen(…, "w") does.
          this.fd = openSync(this.resolvedPath, 'w');
        } catch (e) {
          throw fileError(e, 'write', targetPath);
        }
      } else {
        this.kind = 'file';
        removeStaleTempFiles(this.resolvedPath);
        const dir = path.dirname(path.resolve(this.resolvedPath));
        this.tempPath = path.join(dir, `.${path.basename(this.resolvedPath)}.${process.pid}.${AtomicFileWriter.counter++}.tmp`);
        try {
          this.fd = openSync(this.tempPath, 'wx', st ? st.mode & 0o7777 : 0o644);
        } catch (e) {
          throw fileError(e, 'write', targetPath);
        }
        track(this);
      }
    }
    this.buffer = new Uint8Array(bufferSize);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Appends bytes. */
  write(bytes: Uint8Array): void {
    this.checkOpen();
    this.bytesWritten += bytes.length;
    if (bytes.length >= this.buffer.length) {
      this.flush();
      this.writeAll(bytes);
      return;
    }
    if (this.used + bytes.length > this.buffer.length) this.flush();
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  /**
   * Room for `size` bytes in the buffer, to encode into directly (no intermediate copy):
   * returns the buffer and the offset to write at; call {@link advance} after writing.
   */
  reserve(size: number): { buffer: Uint8Array; view: DataView; at: number } | undefined {
    if (size > this.buffer.length) return undefined;
    if (this.used + size > this.buffer.length) this.flush();
    return { buffer: this.buffer, view: this.view, at: this.used };
  }

  /** Marks `size` reserved bytes as written. */
  advance(size: number): void {
    this.used += size;
    this.bytesWritten += size;
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('write after commit or abort');
  }

  /** Any failure (ENOSPC, EIO, a closed reader) aborts the writer first: no temp file outlives an error. */
  private writeAll(bytes: Uint8Array): void {
    try {
      if (this.sink) {
        this.sink(bytes);
        return;
      }
      let off = 0;
      const positional = this.kind === 'file';
      while (off < bytes.length) {
        const n = writeSync(this.fd!, bytes, off, bytes.length - off, positional ? this.filePos : null);
        off += n;
        if (positional) this.filePos += n;
      }
    } catch (e) {
      this.abort();
      throw fileError(e, 'write', this.targetPath);
    }
  }

  /**
   * For a caller that fills a regular file itself with positional writes (several threads at
   * once): flushes, and returns the descriptor and the offset of the next byte; undefined for
   * standard output and devices. Then call {@link wroteAt} with the bytes it wrote there.
   */
  positional(): { fd: number; at: number } | undefined {
    this.checkOpen();
    if (this.kind !== 'file' || this.fd === undefined) return undefined;
    this.flush();
    this.lentOut = true;
    return { fd: this.fd, at: this.filePos };
  }

  /** Records `size` bytes written through {@link positional}: later appends go after them. */
  wroteAt(size: number): void {
    this.filePos += size;
    this.bytesWritten += size;
  }

  /** Writes what the buffer holds (standard output and devices see it now; a file still has its temporary name). */
  flush(): void {
    if (this.used > 0) {
      const n = this.used;
      this.used = 0;
      this.writeAll(this.buffer.subarray(0, n));
    }
  }

  /**
   * Flushes and puts the output in place: renames the temporary file over the target (the
   * rename alone makes it complete or absent for every reader; `durable` also fsyncs first, so
   * that it survives a power loss), or closes the device.
   */
  commit(durable = false): void {
    this.checkOpen();
    this.flush();
    try {
      if (this.fd !== undefined) {
        if (this.lentOut) ftruncateSync(this.fd, this.filePos);
        if (durable && this.kind === 'file') fsyncSync(this.fd);
        closeSync(this.fd);
        this.fd = undefined;
      }
      if (this.tempPath !== undefined) renameSync(this.tempPath, this.resolvedPath);
    } catch (e) {
      this.abort();
      throw fileError(e, 'write', this.targetPath);
    }
    this.finished = true;
    live.delete(this);
  }

  /** Deletes the temporary file; the target is left as it was. Safe to call twice. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    live.delete(this);
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Closing can report a deferred write error (NFS): the file goes anyway.
      }
      this.fd = undefined;
    }
    if (this.tempPath === undefined) return;
    try {
      unlinkSync(this.tempPath);
    } catch {
      // Already gone.
    }
  }

  [Symbol.dispose](): void {
    this.abort();
  }
}
