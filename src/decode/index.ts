/** Protocol decoders: one packet to a tcpdump-style line and to JSON layers. */

import { printLink, type IfNameResolver } from './link.js';
import { DecodeState, Printer, Truncated, type DecodeOptions, type Layer } from './printer.js';
import { ClockCache, formatTimestamp, type TimestampFormat } from './timestamp.js';
import { asciiText, hexDump } from './hexdump.js';

export { DecodeState, formatIp6 } from './printer.js';
export type { DecodeOptions, Layer } from './printer.js';
export { hasLinkPrinter, type IfNameResolver } from './link.js';
export { ClockCache, formatTimestamp, type TimestampFormat } from './timestamp.js';
export { asciiText, hexDump } from './hexdump.js';

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
  /** The decoders' work on this packet (bounds checks made): linear in the captured bytes. */
  steps: number;
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
  return runDecoder(data, origLen, linkType, options, state, ifName).decoded;
}

/** The options with their defaults, made once per options object rather than once per packet. */
const resolved = new WeakMap<DecodeOptions, Required<DecodeOptions>>();
function resolvedOptions(options: DecodeOptions): Required<DecodeOptions> {
  let r = resolved.get(options);
  if (r === undefined) {
    r = {
      verbose: options.verbose ?? 0,
      linkHeader: options.linkHeader ?? false,
      quick: options.quick ?? false,
      absoluteSeq: options.absoluteSeq ?? false,
      layers: options.layers ?? true,
    };
    resolved.set(options, r);
  }
  return r;
}

function runDecoder(
  data: Uint8Array,
  origLen: number,
  linkType: number,
  options: DecodeOptions,
  state: DecodeState,
  ifName: IfNameResolver | undefined,
): { decoded: Decoded; linkHeaderLength: number } {
  const p = new Printer(data, data.length, resolvedOptions(options), state);
  try {
    if (!printLink(p, linkType, origLen, ifName)) {
      p.complete = false;
      p.print(`unsupported link type ${linkType}, length ${origLen}`);
    }
  } catch (e) {
    if (!(e instanceof Truncated)) throw e;
    p.print(` [|${e.protocol}]`);
    p.linkHeaderLength = 0;
  }
  return { decoded: { text: p.text, layers: p.layers, complete: p.complete, steps: p.steps }, linkHeaderLength: p.linkHeaderLength };
}

/** tcpdump's MAXIMUM_SNAPLEN: records claiming more are printed as invalid headers. */
export const MAXIMUM_SNAPLEN = 262144;

/** How {@link formatPacket} prints: tcpdump's timestamp and hex-dump flags plus the decoder options. */
export interface PrintOptions extends DecodeOptions {
  timestamp?: TimestampFormat;
  /** Print fractional seconds with nanosecond precision (tcpdump --nano). */
  nano?: boolean;
  /** 1 = -x/-X (after the link header), 2 = -xx/-XX (whole packet). */
  hex?: 0 | 1 | 2;
  /** With `hex`: add the ASCII column (-X). */
  ascii?: boolean;
  /** -A: the bytes as ASCII text, 1 after the link header, 2 with it (ignored with `hex`). */
  asciiText?: 0 | 1 | 2;
  ifName?: IfNameResolver;
}

/** Per-run state of {@link formatPacket}: previous/first timestamps and TCP sequence bases. */
export class PrintState {
  readonly decode = new DecodeState();
  prev: { sec: number; nsec: number } | undefined;
  first: { sec: number; nsec: number } | undefined;
  /** The last second's wall-clock text, reused while packets stay within it. */
  readonly clock = new ClockCache();
}

/**
 * Formats one packet exactly as tcpdump's pretty_print_packet: sanity checks on the
 * record header, the timestamp, the decoded summary, and the hex dump. No trailing newline.
 */
export function formatPacket(
  pkt: { data: Uint8Array; origLen: number; tsSec: number; tsNsec: number; linkType: number },
  options: PrintOptions,
  state: PrintState,
): { text: string; decoded: Decoded | undefined } {
  const caplen = pkt.data.length;
  if (caplen === 0 || pkt.origLen === 0 || pkt.origLen < caplen || caplen > MAXIMUM_SNAPLEN || pkt.origLen > MAXIMUM_SNAPLEN) {
    const bad: string[] = [];
    if (caplen === 0) bad.push(' caplen==0');
    if (pkt.origLen === 0) bad.push(' len==0');
    else if (pkt.origLen < caplen) bad.push(` len(${pkt.origLen}) < caplen(${caplen})`);
    if (caplen > MAXIMUM_SNAPLEN) bad.push(` caplen(${caplen}) > ${MAXIMUM_SNAPLEN}`);
    if (pkt.origLen > MAXIMUM_SNAPLEN) bad.push(` len(${pkt.origLen}) > ${MAXIMUM_SNAPLEN}`);
    return { text: `[Invalid header:${bad.join(',')}]`, decoded: undefined };
  }
  const format = options.timestamp ?? 'default';
  let text: string;
  if (format === 'default' || format === 'none' || format === 'epoch') {
    // The forms that need no other packet's time: no objects kept per packet.
    text = formatTimestamp(format, pkt.tsSec, pkt.tsNsec, undefined, undefined, options.nano, state.clock);
  } else {
    const ts = { sec: pkt.tsSec, nsec: pkt.tsNsec };
    state.first ??= ts;
    text = formatTimestamp(format, pkt.tsSec, pkt.tsNsec, state.prev, state.first, options.nano, state.clock);
    state.prev = ts;
  }
  const p = runDecoder(pkt.data, pkt.origLen, pkt.linkType, options, state.decode, options.ifName);
  text += p.decoded.text;
  if (options.hex) {
    const from = options.hex > 1 ? 0 : p.linkHeaderLength;
    if (caplen > from) text += hexDump(pkt.data.subarray(from), options.ascii ?? false);
  } else if (options.asciiText) {
    const from = options.asciiText > 1 ? 0 : p.linkHeaderLength;
    if (caplen > from) text += asciiText(pkt.data.subarray(from));
  }
  return { text, decoded: p.decoded };
}
