/** Protocol decoders: one packet to a tcpdump-style line and to JSON layers. */

import { printLink, type IfNameResolver } from './link.js';
import { DecodeState, Printer, Truncated, type DecodeOptions, type Layer } from './printer.js';

export { DecodeState, formatIp6 } from './printer.js';
export type { DecodeOptions, Layer } from './printer.js';
export { hasLinkPrinter, type IfNameResolver } from './link.js';
export { formatTimestamp, type TimestampFormat } from './timestamp.js';
export { hexDump } from './hexdump.js';

/** What one packet decoded to. */
export interface Decoded {
  /** The summary, as tcpdump prints it after the timestamp. */
  text: string;
  layers: Layer[];
  /**
   * False when the packet reached a protocol that tcpdump decodes further than
   * bpfkit does; the text is then a shorter summary than tcpdump's.
   */
  complete: boolean;
}

/** Decodes `data` (caplen bytes of a packet `origLen` long on the wire) of link type `linkType`. */
export function decodePacket(
  data: Uint8Array,
  origLen: number,
  linkType: number,
  options: DecodeOptions = {},
  state: DecodeState = new DecodeState(),
  ifName?: IfNameResolver,
): Decoded {
  const opts: Required<DecodeOptions> = {
    verbose: options.verbose ?? 0,
    linkHeader: options.linkHeader ?? false,
    quick: options.quick ?? false,
    absoluteSeq: options.absoluteSeq ?? false,
  };
  const p = new Printer(data, data.length, opts, state);
  try {
    if (!printLink(p, linkType, origLen, ifName)) {
      p.complete = false;
      p.print(`unsupported link type ${linkType}, length ${origLen}`);
    }
  } catch (e) {
    if (!(e instanceof Truncated)) throw e;
    p.print(` [|${e.protocol}]`);
  }
  return { text: p.text, layers: p.layers, complete: p.complete };
}
