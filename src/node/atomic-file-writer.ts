/** A file written under a temporary name beside its target and renamed into place only when complete. */

import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileError } from './file-errors.js';

/**
 * Writes to `.<name>.<pid>.<n>.tmp` in the target's folder (so the rename stays on one file
 * system). `commit()` flushes (fsyncs when `durable`) and renames over the target; `abort()` (or disposing
 * without committing) deletes the temporary file, so a failed `-w` never leaves half a file.
 * Writes are buffered (1 MiB by default) and synchronous.
 */
export class AtomicFileWriter {
  private static counter = 0;
  /** The temporary file's path. */
  readonly tempPath: string;
  private fd: number | undefined;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private finished = false;
  /** Bytes written so far. */
  bytesWritten = 0;
  /** Where the next flushed byte goes: writes are positional, so other threads may fill ranges. */
  private filePos = 0;
  /** Set once another writer had the descriptor: bytes past `filePos` may be left from an abandoned attempt. */
  private lentOut = false;

  constructor(
    readonly targetPath: string,
    bufferSize = 1 << 20,
  ) {
    const dir = path.dirname(path.resolve(targetPath));
    this.tempPath = path.join(dir, `.${path.basename(targetPath)}.${process.pid}.${AtomicFileWriter.counter++}.tmp`);
    try {
      this.fd = openSync(this.tempPath, 'wx', 0o644);
    } catch (e) {
      throw fileError(e, 'write', targetPath);
    }
    this.buffer = new Uint8Array(bufferSize);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Appends bytes. */
  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error('write after commit or abort');
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

  private writeAll(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const n = writeSync(this.fd!, bytes, off, bytes.length - off, this.filePos);
      off += n;
      this.filePos += n;
    }
  }

  /**
   * For a caller that fills the file itself with positional writes (several threads at once):
   * flushes, and returns the descriptor and the offset of the next byte. Then call
   * {@link wroteAt} with the bytes it wrote there.
   */
  positional(): { fd: number; at: number } {
    if (this.fd === undefined) throw new Error('write after commit or abort');
    this.flush();
    this.lentOut = true;
    return { fd: this.fd, at: this.filePos };
  }

  /** Records `size` bytes written through {@link positional}: later appends go after them. */
  wroteAt(size: number): void {
    this.filePos += size;
    this.bytesWritten += size;
  }

  private flush(): void {
    if (this.used > 0) {
      this.writeAll(this.buffer.subarray(0, this.used));
      this.used = 0;
    }
  }

  /**
   * Flushes and renames the file into place. The rename alone makes the file complete or
   * absent for every reader; `durable` also fsyncs first, so that it survives a power loss.
   */
  commit(durable = false): void {
    if (this.fd === undefined) throw new Error('commit after commit or abort');
    this.flush();
    if (this.lentOut) ftruncateSync(this.fd, this.filePos);
    if (durable) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tempPath, this.targetPath);
    this.finished = true;
  }

  /** Deletes the temporary file; the target is left as it was. Safe to call twice. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
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
