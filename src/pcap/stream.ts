/** Reading a capture from chunks of bytes (a file, a socket) with bounded memory: a push reader and an async stream over it. */

import { FormatError } from '../util/index.js';
import type { CaptureInfo } from './capture-info.js';
import { DECODED_PACKET, NEED_MORE, openDecoder, type CaptureDecoder } from './decoder.js';
import type { Packet } from './packet.js';

/**
 * A push reader: `feed()` chunks in order, `feed(null)` at the end, and call `next()` until it
 * returns undefined (it wants the next chunk, or the capture is `done`). `next()` throws a
 * FormatError at damage, after returning the packets before it.
 *
 * Memory stays bounded: only the unread tail of the previous chunk is kept (copied once
 * when a record straddles chunks). A packet inside one chunk is a view into it (no copy);
 * chunks are never reused, so packets stay valid.
 */
export class ChunkedCaptureReader {
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  private eof = false;
  private decoder: CaptureDecoder | undefined;
  private ended = false;
  /**
   * Bridging: a record straddles the previous chunk and `chunk`. The window is then the
   * unread tail (`tailLength` bytes) plus only a prefix of `chunk`, grown as needed; once
   * the decoder is past the tail the window becomes `chunk` itself. So a chunk is never
   * copied whole, only the few bytes around its start.
   */
  private chunk: Uint8Array | undefined;
  private tailLength = 0;
  private bridged = 0;

  /** The header facts, once the header (for pcapng, the first IDB) has been read. */
  get info(): CaptureInfo | undefined {
    return this.decoder?.info;
  }

  /** True once the end of the capture was reached cleanly. */
  get done(): boolean {
    return this.ended;
  }

  /** True when `next()` wants another chunk before it can go on. */
  get hungry(): boolean {
    return !this.ended && !this.eof;
  }

  /** File offset of the next unread byte. */
  get offset(): number {
    return this.base + (this.decoder?.pos ?? 0);
  }

  /** Adds the next chunk; `null` says there are no more. */
  feed(chunk: Uint8Array | null): void {
    if (this.eof) throw new FormatError('E_PCAP_STREAM_ENDED', 'chunk fed after the end of the stream');
    const keepFrom = this.decoder?.pos ?? 0;
    const tail = this.buf.subarray(keepFrom);
    this.base += keepFrom;
    this.chunk = undefined;
    if (chunk === null) {
      this.eof = true;
      this.buf = tail;
    } else if (tail.length === 0) {
      this.buf = chunk;
    } else if (this.decoder && chunk.length > BRIDGE_START) {
      this.chunk = chunk;
      this.tailLength = tail.length;
      this.bridged = 0;
      this.bridge(tail, BRIDGE_START);
      return;
    } else {
      this.buf = join(tail, chunk);
    }
    if (this.decoder) {
      this.decoder.base = this.base;
      this.decoder.pos = 0;
    }
  }

  /** Makes the window `tail` + the first `size` bytes of the pending chunk. */
  private bridge(tail: Uint8Array, size: number): void {
    const chunk = this.chunk!;
    this.bridged = Math.min(size, chunk.length);
    this.buf = join(tail, chunk.subarray(0, this.bridged));
    this.decoder!.base = this.base;
    this.decoder!.pos = 0;
  }

  /** Leaves bridging once the decoder has read past the tail: the window becomes the chunk. */
  private unbridge(): void {
    const d = this.decoder!;
    const into = d.pos - this.tailLength;
    this.base += this.tailLength;
    this.buf = this.chunk!;
    this.chunk = undefined;
    d.base = this.base;
    d.pos = into;
  }

  /** Opens the capture if it can be; returns its info, or undefined when more bytes are needed. */
  open(): CaptureInfo | undefined {
    if (!this.decoder) {
      this.decoder = openDecoder(this.buf, this.eof);
      if (this.decoder) {
        // The open consumed a prefix of the window.
        this.decoder.base = this.base;
      }
    }
    return this.decoder?.info;
  }

  /** The next packet, or undefined when a chunk is needed or the capture has ended. */
  next(): Packet | undefined {
    if (this.ended) return undefined;
    const decoder = this.decoder ?? (this.open(), this.decoder);
    if (!decoder) return undefined;
    for (;;) {
      if (this.chunk === undefined) {
        const status = decoder.next(this.buf, this.eof);
        if (status === DECODED_PACKET) return decoder.packet;
        if (status !== NEED_MORE) this.ended = true;
        return undefined;
      }
      // Bridging: more bytes follow the window, so it is never the end of the file.
      const status = decoder.next(this.buf, false);
      if (decoder.pos >= this.tailLength) this.unbridge();
      if (status === DECODED_PACKET) return decoder.packet;
      if (this.chunk === undefined) continue;
      // Still inside the tail and the record needs more of the chunk: take more of it.
      const tail = this.buf.subarray(decoder.pos, this.tailLength);
      this.base += decoder.pos;
      this.tailLength = tail.length;
      if (this.bridged >= this.chunk.length) {
        // The whole chunk is in the window and it is still not enough: wait for the next chunk.
        this.buf = join(tail, this.chunk);
        this.chunk = undefined;
        decoder.base = this.base;
        decoder.pos = 0;
        return undefined;
      }
      this.bridge(tail, this.bridged * 4);
    }
  }
}

/** Bytes of a new chunk first joined to an unread tail (grown fourfold when a record needs more). */
const BRIDGE_START = 16384;

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A capture being read from a stream. Iterate it for packets (or `batches()` for one array of
 * packets per chunk, which costs far fewer promise turns on big files); `info` resolves once
 * the header is read, or rejects if the file cannot be opened. Iteration throws a
 * FormatError at damage, after the packets before it. It can be iterated once.
 */
export interface CaptureStream extends AsyncIterable<Packet> {
  readonly info: Promise<CaptureInfo>;
  /** The header facts once known, else undefined. */
  readonly infoNow: CaptureInfo | undefined;
  /** File offset of the next unread byte. */
  readonly offset: number;
  /** The packets, grouped by the chunk that completed them. */
  batches(): AsyncIterable<Packet[]>;
}

/** Streams packets out of `source`, a sequence of byte chunks of any size. */
export function streamCapture(source: AsyncIterable<Uint8Array>): CaptureStream {
  const reader = new ChunkedCaptureReader();
  let resolveInfo: (i: CaptureInfo) => void = () => undefined;
  let rejectInfo: (e: unknown) => void = () => undefined;
  const info = new Promise<CaptureInfo>((res, rej) => {
    resolveInfo = res;
    rejectInfo = rej;
  });
  // The iterator rethrows an open failure; don't also report it as an unhandled rejection.
  info.catch(() => undefined);
  let started = false;

  async function* batches(): AsyncGenerator<Packet[], void, undefined> {
    if (started) throw new FormatError('E_PCAP_STREAM_REUSED', 'a capture stream can be iterated only once');
    started = true;
    const it = source[Symbol.asyncIterator]();
    let finished = false;
    try {
      let opened = false;
      for (;;) {
        let batch: Packet[] = [];
        try {
          if (!opened && reader.open()) {
            opened = true;
            resolveInfo(reader.info!);
          }
          if (opened) for (let p = reader.next(); p !== undefined; p = reader.next()) batch.push(p);
        } catch (e) {
          if (!opened) rejectInfo(e);
          if (batch.length) yield batch;
          batch = [];
          throw e;
        }
        if (batch.length) yield batch;
        if (reader.done) break;
        if (!reader.hungry) {
          // End of input before the header was complete: open() threw above, so this is unreachable.
          break;
        }
        const r = await it.next();
        if (r.done) finished = true;
        reader.feed(r.done ? null : r.value);
      }
    } finally {
      if (!finished) await it.return?.();
    }
  }

  return captureStreamOf(info, batches, () => reader.info, () => reader.offset);
}

/**
 * A {@link CaptureStream} over `batches`, whose packets are those batches flattened; `infoNow`
 * and `offset` ask whatever reads the bytes. Wrappers (say, one that names the file in errors)
 * build theirs with it too.
 */
export function captureStreamOf(
  info: Promise<CaptureInfo>,
  batches: () => AsyncGenerator<Packet[], void, undefined>,
  infoNow: () => CaptureInfo | undefined,
  offset: () => number,
): CaptureStream {
  return {
    info,
    get infoNow() {
      return infoNow();
    },
    get offset() {
      return offset();
    },
    batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}
