/** A fast path through plain pcap files: one reused read buffer and no object per packet, for counting and copying. */

import { closeSync, openSync, readSync } from 'node:fs';
import type { CaptureInfo } from '../pcap/index.js';

/**
 * Called per record with the buffer holding it: the record header starts at `recOff`, the
 * captured bytes at `recOff + 16`. The buffer is reused: copy what must outlive the call.
 * Return false to stop.
 */
export type PcapRecordVisitor = (buf: Uint8Array, recOff: number, caplen: number, origLen: number) => boolean;

/**
 * Why a scan ended. `fallback` means a record needs the full decoder (libpcap's odd cases)
 * from `records` on; `paused` means `maxBytes` were consumed and the scan can resume at `offset`.
 */
export type ScanEnd = 'eof' | 'stopped' | 'fallback' | 'paused';

/** Where a scan starts and how far it may go before pausing. */
export interface ScanRange {
  /** File offset of the first record (default 24, just after the file header). */
  from?: number;
  /** Pause after about this many bytes, so a caller can let its event loop run. */
  maxBytes?: number;
  bufferSize?: number;
  /** The buffer to read into, so that a caller that pauses and resumes reuses one (default: a new one of `bufferSize`). */
  buffer?: Uint8Array;
  /** Called before the buffer's bytes move or change (a refill, the end): views into it go stale after. */
  beforeRefill?: () => void;
}

/** True when {@link scanPcapFile} can read this capture: little- or big-endian pcap 2.4 with 16-byte record headers. */
export function canScan(info: CaptureInfo): boolean {
  const h = info.pcapHeader;
  return info.format === 'pcap' && h !== undefined && h.magic !== 0xa1b2cd34 && info.versionMajor === 2 && info.versionMinor === 4;
}

/**
 * Visits the records of a pcap file (a path, or the descriptor of a regular file) from the first one on, while each is an ordinary record
 * (caplen ≤ snaplen). A truncated or odd record ends the scan with `fallback`, leaving the
 * full decoder to report or handle it exactly as libpcap does, starting at record `records`.
 */
export function scanPcapFile(file: string | number, info: CaptureInfo, visit: PcapRecordVisitor, range: ScanRange = {}): { end: ScanEnd; records: number; offset: number } {
  const bufferSize = range.bufferSize ?? 4 << 20;
  const maxBytes = range.maxBytes ?? Infinity;
  // A descriptor is the caller's (read by offset, never moved, not closed); a path is opened here.
  const fd = typeof file === 'number' ? file : openSync(file, 'r');
  const le = info.byteOrder === 'le';
  const snaplen = info.snaplen;
  let buf = range.buffer ?? new Uint8Array(bufferSize);
  let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // `base` is the file offset of buf[0]; the file header was validated by whoever made `info`.
  let base = range.from ?? 24;
  let filled = 0;
  let pos = 0;
  let records = 0;
  let eof = false;
  let consumed = 0;
  try {
    filled = readSync(fd, buf, 0, buf.length, base);
    let filePos = base + filled;
    if (filled === 0) eof = true;
    for (;;) {
      while (pos + 16 <= filled) {
        const caplen = view.getUint32(pos + 8, le);
        const origLen = view.getUint32(pos + 12, le);
        if (caplen > snaplen) {
          range.beforeRefill?.();
          return { end: 'fallback', records, offset: base + pos };
        }
        const end = pos + 16 + caplen;
        if (end > filled) {
          if (16 + caplen > buf.length) {
            range.beforeRefill?.();
            // A record bigger than the buffer: grow it once.
            const bigger = new Uint8Array(16 + caplen + bufferSize);
            bigger.set(buf.subarray(pos, filled));
            base += pos;
            filled -= pos;
            pos = 0;
            buf = bigger;
            view = new DataView(buf.buffer);
          }
          break;
        }
        if (!visit(buf, pos, caplen, origLen)) {
          range.beforeRefill?.();
          return { end: 'stopped', records: records + 1, offset: base + end };
        }
        records++;
        pos = end;
      }
      range.beforeRefill?.();
      if (eof) return { end: pos === filled ? 'eof' : 'fallback', records, offset: base + pos };
      consumed += pos;
      if (consumed >= maxBytes) return { end: 'paused', records, offset: base + pos };
      // Keep the partial record, refill behind it.
      buf.copyWithin(0, pos, filled);
      base += pos;
      filled -= pos;
      pos = 0;
      const n = readSync(fd, buf, filled, buf.length - filled, filePos);
      filePos += n;
      if (n === 0) eof = true;
      filled += n;
    }
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}
