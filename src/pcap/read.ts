/** Reading a whole capture held in memory: all packets at once, or one at a time. */

import { FormatError } from '../util/index.js';
import type { CaptureInfo, CaptureReadResult } from './capture-info.js';
import { DECODED_PACKET, openDecoder, type CaptureDecoder } from './decoder.js';
import type { Packet } from './packet.js';

/**
 * Opens a capture held in memory. Throws a {@link FormatError} when libpcap would refuse to
 * open it (bad magic, unsupported version, truncated header, no interface).
 */
export function openCapture(bytes: Uint8Array): CaptureDecoder {
  const decoder = openDecoder(bytes, true);
  // With eof set, a decoder is always returned or an error thrown.
  if (decoder === undefined) throw new FormatError('E_PCAP_TRUNCATED', 'truncated capture file', { position: { offset: 0 } });
  return decoder;
}

/**
 * Reads every packet of a pcap or pcapng file. A file damaged after its header gives the
 * packets before the damage plus `error`; a file that cannot be opened throws a FormatError.
 * Packets' `data` are views into `bytes` (no copies).
 */
export function readCapture(bytes: Uint8Array): CaptureReadResult {
  const decoder = openCapture(bytes);
  const packets: Packet[] = [];
  let error: FormatError | undefined;
  try {
    while (decoder.next(bytes, true) === DECODED_PACKET) packets.push(decoder.packet!);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    error = e;
  }
  const result: CaptureReadResult = { ...decoder.info, packets };
  if (error) result.error = error;
  return result;
}

/** Yields the packets of a capture in memory, then throws a FormatError where the file is damaged. */
export function* iteratePackets(bytes: Uint8Array): Generator<Packet, void, undefined> {
  const decoder = openCapture(bytes);
  while (decoder.next(bytes, true) === DECODED_PACKET) yield decoder.packet!;
}

/** The header facts of a capture in memory (for pcapng, up to its first interface). */
export function readCaptureInfo(bytes: Uint8Array): CaptureInfo {
  return openCapture(bytes).info;
}
