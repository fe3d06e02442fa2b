/** Capture files on disk: streaming readers over fs with a bounded buffer, and writing a capture file atomically. */

import { closeSync, fstatSync, open as fsOpen, openSync, read as fsRead, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { open } from 'node:fs/promises';
import {
  ChunkedCaptureReader,
  PcapWriter,
  PcapngWriter,
  captureStreamOf,
  streamCapture,
  type CaptureInfo,
  type CaptureStream,
  type Packet,
  type WriteCaptureOptions,
} from '../pcap/index.js';
import { FormatError } from '../util/index.js';
import { AtomicFileWriter } from './atomic-file-writer.js';
import { fileError } from './file-errors.js';
import { isErrno } from './output-sink.js';

/** Size of each read from disk. */
export const CAPTURE_READ_CHUNK = 1 << 20;

/**
 * A new chunk to read into: uninitialised memory (the read overwrites it; zero-filling a
 * MiB per read shows in profiles), seen as a plain Uint8Array so packets are not Buffers.
 */
function freshChunk(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

/** Reads a file as a sequence of fresh chunks (fresh so that packets viewing them stay valid). */
async function* fileChunks(path: string, chunkSize: number): AsyncGenerator<Uint8Array, void, undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileError(e, 'open', path);
  }
  try {
    for (;;) {
      const chunk = freshChunk(chunkSize);
      const { bytesRead } = await fh.read(chunk, 0, chunkSize, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkSize ? chunk : chunk.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Streams a capture file from disk in `chunkSize` reads (1 MiB by default): memory stays
 * bounded whatever the file's size. Errors name the file in their position.
 */
export function openCaptureFile(path: string, chunkSize = CAPTURE_READ_CHUNK): CaptureStream {
  const inner = streamCapture(fileChunks(path, chunkSize));
  async function* batches(): AsyncGenerator<Packet[], void, undefined> {
    try {
      yield* inner.batches();
    } catch (e) {
      throw withFile(e, path);
    }
  }
  const info = inner.info.catch((e: unknown) => {
    throw withFile(e, path);
  });
  // The iterator rethrows an open failure; don't also report it as an unhandled rejection.
  info.catch(() => undefined);
  return captureStreamOf(info, batches, () => inner.infoNow, () => inner.offset);
}

/** A capture file read synchronously, chunk by chunk: the fastest way through a big file. */
export interface CaptureFileSync extends Iterable<Packet> {
  /** The header facts (read when the file was opened). */
  readonly info: CaptureInfo;
  /** The packets, one array per chunk read. */
  batches(): Iterable<Packet[]>;
  /** File offset of the next unread byte. */
  readonly offset: number;
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Opens a capture file for synchronous reading with a bounded buffer. Throws a FormatError
 * (position naming the file) when the file cannot be opened as a capture; iteration throws
 * one at damage after the packets before it. `-` is standard input.
 */
export function openCaptureFileSync(path: string, chunkSize = CAPTURE_READ_CHUNK): CaptureFileSync {
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (e) {
    throw fileError(e, 'open', path);
  }
  return syncReader(fd, path !== '-', path, chunkSize, false);
}

/**
 * Packets per batch of the synchronous reader: a small batch dies young. A chunk's thousands
 * of packet objects held at once outlived V8's young generation and made every scavenge copy them.
 */
const SYNC_BATCH = 256;

/** Sleeps the thread: a non-blocking descriptor (EAGAIN) read synchronously has nothing better to do. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A synchronous capture reader over an open descriptor (closed at the end when `own`). */
function syncReader(fd: number, own: boolean, path: string, chunkSize: number, reuseChunks: boolean): CaptureFileSync {
  let closed = false;
  // Two buffers taking turns: a record straddling them is copied out of the older one before it is read into again.
  const pool: Uint8Array[] = [];
  let turn = 0;
  const reader = new ChunkedCaptureReader();
  const close = (): void => {
    if (!closed) {
      closed = true;
      if (own) closeSync(fd);
    }
  };
  const pull = (): void => {
    let chunk: Uint8Array;
    if (reuseChunks) {
      turn ^= 1;
      chunk = pool[turn] ??= freshChunk(chunkSize);
    } else chunk = freshChunk(chunkSize);
    let n: number;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try {
        n = readSync(fd, chunk, 0, chunkSize, null);
        break;
      } catch (e) {
        if (isErrno(e, 'EAGAIN')) {
          sleepSync(wait);
          continue;
        }
        throw fileError(e, 'read', path);
      }
    }
    reader.feed(n === 0 ? null : n === chunkSize ? chunk : chunk.subarray(0, n));
  };
  let info: CaptureInfo | undefined;
  try {
    while ((info = reader.open()) === undefined) pull();
  } catch (e) {
    close();
    throw withFile(e, path);
  }
  let started = false;
  function* batches(): Generator<Packet[], void, undefined> {
    if (started) throw new FormatError('E_PCAP_STREAM_REUSED', 'a capture file can be iterated only once');
    started = true;
    try {
      for (;;) {
        let batch: Packet[] = [];
        try {
          for (let p = reader.next(); p !== undefined; p = reader.next()) {
            batch.push(p);
            if (batch.length === SYNC_BATCH) {
              yield batch;
              batch = [];
            }
          }
        } catch (e) {
          if (batch.length) yield batch;
          throw withFile(e, path);
        }
        if (batch.length) yield batch;
        if (reader.done || !reader.hungry) return;
        pull();
      }
    } finally {
      close();
    }
  }
  return {
    info,
    batches,
    get offset() {
      return reader.offset;
    },
    *[Symbol.iterator]() {
      for (const batch of batches()) yield* batch;
    },
    close,
    [Symbol.dispose]: close,
  };
}

/** A capture read from any file or stream: a regular file, `-` (standard input), a pipe, a FIFO, a device. */
export interface CaptureInput {
  /** The header facts (read when the input was opened). */
  readonly info: CaptureInfo;
  /**
   * The descriptor, when the input is a regular file: it can then also be read by offset
   * ({@link scanPcapFile}). Undefined for pipes, FIFOs and devices, which are read once, in order.
   */
  readonly seekableFd: number | undefined;
  /** The packets, one array per chunk read: synchronous for a regular file, asynchronous for a stream. */
  batches(): Iterable<Packet[]> | AsyncIterable<Packet[]>;
  /** Offset of the next unread byte. */
  readonly offset: number;
  close(): void;
}

/** Options of {@link openCaptureInput}. */
export interface CaptureInputOptions {
  /** Size of each read (1 MiB by default). */
  chunkSize?: number;
  /**
   * Ends a stream's packets early when aborted, even while a read waits for a producer that
   * stalls (the read cannot be cancelled; it is abandoned). A regular file ignores it.
   */
  signal?: AbortSignal;
  /**
   * Read a regular file into two buffers that take turns instead of a fresh one per read: a
   * batch's packets are then valid only until the next batch is asked for. For consumers that
   * print or copy each batch before the next (a fresh MiB per read grew the process by tens of MB
   * before the collector freed them).
   */
  reuseChunks?: boolean;
}

const openAsync = promisify(fsOpen);
const readAsync = promisify(fsRead);

/**
 * Opens `path` (`-`: standard input) once and reads it as a capture. A regular file is read
 * synchronously (the fastest way through it); anything else (a pipe, `<(…)`, a FIFO,
 * `/dev/stdin`) is read in order on libuv's thread pool, so a producer that stalls never
 * blocks the event loop (Ctrl-C still works) and nothing is read twice.
 */
export async function openCaptureInput(path: string, options: CaptureInputOptions = {}): Promise<CaptureInput> {
  const chunkSize = options.chunkSize ?? CAPTURE_READ_CHUNK;
  let fd: number;
  try {
    // On the thread pool: opening a FIFO waits for its writer. /dev/stdin is our descriptor 0
    // itself (reopening it fails when it is a socket, as Node's child pipes are).
    fd = path === '-' || path === '/dev/stdin' ? 0 : await openAsync(path, 'r');
  } catch (e) {
    throw fileError(e, 'open', path);
  }
  const own = fd !== 0;
  let regular: boolean;
  try {
    regular = fstatSync(fd).isFile();
  } catch (e) {
    if (own) closeSync(fd);
    throw fileError(e, 'open', path);
  }
  if (regular) {
    const sync = syncReader(fd, own, path, chunkSize, options.reuseChunks ?? false);
    return { info: sync.info, seekableFd: fd, batches: () => sync.batches(), get offset() { return sync.offset; }, close: sync.close };
  }
  return streamReader(fd, own, path, chunkSize, options.signal);
}

/** An asynchronous capture reader over a descriptor that can only be read in order. */
async function streamReader(fd: number, own: boolean, path: string, chunkSize: number, signal: AbortSignal | undefined): Promise<CaptureInput> {
  let closed = false;
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted) resolve('aborted');
    signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const reader = new ChunkedCaptureReader();
  // A pipe, FIFO or socket is read through libuv's poller (non-blocking, no thread): a stop
  // destroys it at once, and nothing is left blocked in read(2) to hold the process at exit.
  const st = fstatSync(fd);
  const socket = st.isFIFO() || st.isSocket() ? new Socket({ fd, readable: true, writable: false }) : undefined;
  socket?.on('error', () => undefined);
  const chunks = socket?.[Symbol.asyncIterator]() as AsyncIterator<Buffer> | undefined;
  const close = (): void => {
    if (!closed) {
      closed = true;
      if (socket) socket.destroy();
      else if (own) closeSync(fd);
    }
  };
  /** The next chunk from the poller; null at the end. */
  const nextFromSocket = async (it: AsyncIterator<Buffer>): Promise<Uint8Array | null | 'aborted'> => {
    let r;
    try {
      r = await Promise.race([it.next(), aborted]);
    } catch (e) {
      throw fileError(e, 'read', path);
    }
    if (r === 'aborted') return r;
    if (r.done) return null;
    return new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length);
  };
  /** The next chunk read on the thread pool (a device, say); null at the end. */
  const nextFromFd = async (): Promise<Uint8Array | null | 'aborted'> => {
    const chunk = freshChunk(chunkSize);
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try {
        const r = await Promise.race([readAsync(fd, chunk, 0, chunkSize, null), aborted]);
        if (r === 'aborted') return r;
        const n = r.bytesRead;
        return n === 0 ? null : n === chunkSize ? chunk : chunk.subarray(0, n);
      } catch (e) {
        // A descriptor inherited in non-blocking mode: wait for data without spinning.
        if (isErrno(e, 'EAGAIN')) {
          await new Promise((res) => setTimeout(res, wait));
          continue;
        }
        throw fileError(e, 'read', path);
      }
    }
  };
  /** Reads the next chunk into the reader; false when stopped by the signal instead. */
  const pull = async (): Promise<boolean> => {
    const chunk = chunks ? await nextFromSocket(chunks) : await nextFromFd();
    if (chunk === 'aborted') {
      close();
      return false;
    }
    reader.feed(chunk);
    return true;
  };
  let info: CaptureInfo | undefined;
  try {
    while ((info = reader.open()) === undefined) {
      if (!(await pull())) throw new FormatError('E_PCAP_STOPPED', 'stopped before the capture header was read');
    }
  } catch (e) {
    close();
    throw withFile(e, path);
  }
  let started = false;
  async function* batches(): AsyncGenerator<Packet[], void, undefined> {
    if (started) throw new FormatError('E_PCAP_STREAM_REUSED', 'a capture stream can be iterated only once');
    started = true;
    try {
      for (;;) {
        const batch: Packet[] = [];
        try {
          for (let p = reader.next(); p !== undefined; p = reader.next()) batch.push(p);
        } catch (e) {
          if (batch.length) yield batch;
          throw withFile(e, path);
        }
        if (batch.length) yield batch;
        if (reader.done || !reader.hungry) return;
        if (!(await pull())) return;
      }
    } finally {
      close();
    }
  }
  return {
    info,
    seekableFd: undefined,
    batches,
    get offset() {
      return reader.offset;
    },
    close,
  };
}

/** Adds the file name to a FormatError's position. */
function withFile(e: unknown, file: string): unknown {
  if (!(e instanceof FormatError)) return e;
  return new FormatError(e.code, e.detail, { position: { ...e.position, file }, hint: e.hint, cause: e });
}

/** What may stop {@link writeCaptureFile} early. */
export interface WriteCaptureControl {
  /** Asked between groups of packets: true stops the writing and keeps what was written (a complete file). */
  interrupted?: () => boolean;
  /** Where `-` writes (standard output by default). */
  stdout?: (bytes: Uint8Array) => void;
  /** Awaited between groups of packets: lets a slow reader of `-` hold the writing back. */
  drain?: () => Promise<void>;
}

/** Packets between two turns of the event loop while writing a synchronous source (so signals are seen). */
const WRITE_YIELD_EVERY = 1 << 14;

/**
 * Writes packets to a capture file through {@link AtomicFileWriter} (atomic for a regular file,
 * in place for a device, `-` for standard output): pcap by default, or pcapng. Returns the
 * number of packets written. On an error the target is left untouched. An empty source still
 * gives a valid capture (pcapng: a section header and an interface description).
 */
export async function writeCaptureFile(
  path: string,
  packets: Iterable<Packet> | AsyncIterable<Packet>,
  options: WriteCaptureOptions = {},
  control: WriteCaptureControl = {},
): Promise<number> {
  const out = new AtomicFileWriter(path, control.stdout ? { stdout: control.stdout } : {});
  let count = 0;
  // A sync source is walked without a promise turn per packet (millions of packets), with a
  // turn every few thousand so that SIGINT/SIGTERM reach `interrupted`.
  const each = async (fn: (p: Packet) => void): Promise<void> => {
    if (Symbol.iterator in packets) {
      let n = 0;
      for (const p of packets) {
        fn(p);
        if (++n % WRITE_YIELD_EVERY === 0) {
          if (out.kind === 'stdout') out.flush();
          await control.drain?.();
          await new Promise((r) => setImmediate(r));
          if (control.interrupted?.()) return;
        }
      }
    } else {
      for await (const p of packets) {
        fn(p);
        if (control.interrupted?.()) return;
      }
    }
  };
  try {
    if ((options.format ?? 'pcap') === 'pcapng') {
      const w = new PcapngWriter(options);
      out.write(w.header());
      await each((p) => {
        out.write(w.record(p));
        count++;
      });
      // No packet: the interface description still has to be there for readers to accept the file.
      if (count === 0) out.write(w.interfaceBlock(options.linkType ?? 1));
    } else {
      let w: PcapWriter | undefined;
      if (options.linkType !== undefined) {
        w = new PcapWriter({ ...options, linkType: options.linkType });
        out.write(w.header());
      }
      await each((p) => {
        if (!w) {
          w = new PcapWriter({ ...options, linkType: p.linkType });
          out.write(w.header());
        }
        const size = w.recordSize(p);
        const room = out.reserve(size);
        if (room) {
          w.writeRecord(p, room.buffer, room.at, room.view);
          out.advance(size);
        } else {
          out.write(w.record(p));
        }
        count++;
      });
      if (!w) out.write(new PcapWriter({ ...options, linkType: 1 }).header());
    }
    out.commit();
    return count;
  } catch (e) {
    out.abort();
    throw e;
  }
}
