/** Capture files on disk: streaming readers over fs with a bounded buffer, and writing a capture file atomically. */

import { closeSync, openSync, readSync } from 'node:fs';
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
 * one at damage after the packets before it.
 */
export function openCaptureFileSync(path: string, chunkSize = CAPTURE_READ_CHUNK): CaptureFileSync {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(e, 'open', path);
  }
  let closed = false;
  const reader = new ChunkedCaptureReader();
  const close = (): void => {
    if (!closed) {
      closed = true;
      closeSync(fd);
    }
  };
  const pull = (): void => {
    const chunk = freshChunk(chunkSize);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunkSize, null);
    } catch (e) {
      throw fileError(e, 'read', path);
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
        const batch: Packet[] = [];
        try {
          for (let p = reader.next(); p !== undefined; p = reader.next()) batch.push(p);
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

/** Adds the file name to a FormatError's position. */
function withFile(e: unknown, file: string): unknown {
  if (!(e instanceof FormatError)) return e;
  return new FormatError(e.code, e.detail, { position: { ...e.position, file }, hint: e.hint, cause: e });
}

/**
 * Writes packets to a capture file atomically (temp file + rename): pcap by default, or
 * pcapng. Returns the number of packets written. On an error the target is left untouched.
 */
export async function writeCaptureFile(
  path: string,
  packets: Iterable<Packet> | AsyncIterable<Packet>,
  options: WriteCaptureOptions = {},
): Promise<number> {
  const out = new AtomicFileWriter(path);
  let count = 0;
  // A sync source is walked without a promise turn per packet (millions of packets).
  const each = async (fn: (p: Packet) => void): Promise<void> => {
    if (Symbol.iterator in packets) for (const p of packets) fn(p);
    else for await (const p of packets) fn(p);
  };
  try {
    if ((options.format ?? 'pcap') === 'pcapng') {
      const w = new PcapngWriter(options);
      out.write(w.header());
      await each((p) => {
        out.write(w.record(p));
        count++;
      });
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
