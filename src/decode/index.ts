/** Protocol decoders: one packet to a tcpdump-style line and to JSON layers. */

import { printLink, type IfNameResolver } from './link.js';
import { DecodeState, Printer, TextBuffer, Truncated, type DecodeOptions, type Layer } from './printer.js';
import { ClockCache, printTimestamp, type TimestampFormat } from './timestamp.js';
import { asciiText, hexDump } from './hexdump.js';

export { DecodeState, TextBuffer, formatIp6 } from './printer.js';
export type { DecodeOptions, Layer } from './printer.js';
export { hasLinkPrinter, type IfNameResolver } from './link.js';
export { ClockCache, formatTimestamp, type TimestampFormat } from './timestamp.js';

const isSetTime = (t: { sec: number; nsec: number } | undefined): t is { sec: number; nsec: number } => t !== undefined && (t.sec !== 0 || t.nsec !== 0);
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
  return decodedOf(runDecoder(data, origLen, linkType, options, state, ifName, new TextBuffer(256)));
}

function decodedOf(p: Printer): Decoded {
  return { text: p.text, layers: p.layers, complete: p.complete, steps: p.steps };
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

/** Decodes one packet, its text appended to `out`. */
function runDecoder(
  data: Uint8Array,
  origLen: number,
  linkType: number,
  options: DecodeOptions,
  state: DecodeState,
  ifName: IfNameResolver | undefined,
  out: TextBuffer,
  reuse?: Printer,
): Printer {
  let p: Printer;
  if (reuse === undefined) p = new Printer(data, data.length, resolvedOptions(options), state, out);
  else {
    p = reuse;
    p.reset(data, data.length, resolvedOptions(options), state, out);
  }
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
  p.textEnd = out.length;
  return p;
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
  /** The printer {@link printPacket} reuses from packet to packet. */
  printer: Printer | undefined;
}

/** The text buffer {@link formatPacket} prints into: formatting is synchronous, so one serves every call. */
const scratch = new TextBuffer();

/**
 * Formats one packet exactly as tcpdump's pretty_print_packet: sanity checks on the
 * record header, the timestamp, the decoded summary, and the hex dump. No trailing newline.
 */
export function formatPacket(
  pkt: { data: Uint8Array; origLen: number; tsSec: number; tsNsec: number; linkType: number },
  options: PrintOptions,
  state: PrintState,
): { text: string; decoded: Decoded | undefined } {
  scratch.length = 0;
  const p = printInto(pkt, options, state, scratch);
  const text = scratch.text();
  if (scratch.bytes.length > 1 << 20) scratch.bytes = new Uint8Array(1 << 16);
  return { text, decoded: p === undefined ? undefined : decodedOf(p) };
}

/**
 * {@link formatPacket}'s text appended to `out` as UTF-8 bytes (no trailing newline): the
 * way to print many packets, since no string is made for any of them.
 */
export function printPacket(
  pkt: { data: Uint8Array; origLen: number; tsSec: number; tsNsec: number; linkType: number },
  options: PrintOptions,
  state: PrintState,
  out: TextBuffer,
): void {
  printInto(pkt, options, state, out, true);
}

/** Prints one packet into `out`; the decoder's printer, or undefined for an invalid record header. */
function printInto(
  pkt: { data: Uint8Array; origLen: number; tsSec: number; tsNsec: number; linkType: number },
  options: PrintOptions,
  state: PrintState,
  out: TextBuffer,
  reuse = false,
): Printer | undefined {
  const caplen = pkt.data.length;
  if (caplen === 0 || pkt.origLen === 0 || pkt.origLen < caplen || caplen > MAXIMUM_SNAPLEN || pkt.origLen > MAXIMUM_SNAPLEN) {
    const bad: string[] = [];
    if (caplen === 0) bad.push(' caplen==0');
    if (pkt.origLen === 0) bad.push(' len==0');
    else if (pkt.origLen < caplen) bad.push(` len(${pkt.origLen}) < caplen(${caplen})`);
    if (caplen > MAXIMUM_SNAPLEN) bad.push(` caplen(${caplen}) > ${MAXIMUM_SNAPLEN}`);
    if (pkt.origLen > MAXIMUM_SNAPLEN) bad.push(` len(${pkt.origLen}) > ${MAXIMUM_SNAPLEN}`);
    out.write(`[Invalid header:${bad.join(',')}]`);
    return undefined;
  }
  const format = options.timestamp ?? 'default';
  if (format === 'default' || format === 'none' || format === 'epoch') {
    // The forms that need no other packet's time: no objects kept per packet.
    printTimestamp(out, format, pkt.tsSec, pkt.tsNsec, undefined, undefined, options.nano, state.clock);
  } else {
    const ts = { sec: pkt.tsSec, nsec: pkt.tsNsec };
    // tcpdump's reference time counts as unset while it is 0.0 (netdissect_timevalisset): it is then this packet's.
    if (!isSetTime(state.first)) state.first = ts;
    printTimestamp(out, format, pkt.tsSec, pkt.tsNsec, isSetTime(state.prev) ? state.prev : ts, state.first, options.nano, state.clock);
    state.prev = ts;
  }
  const p = runDecoder(pkt.data, pkt.origLen, pkt.linkType, options, state.decode, options.ifName, out, reuse ? state.printer : undefined);
  if (reuse) state.printer = p;
  if (options.hex) {
    const from = options.hex > 1 ? 0 : p.linkHeaderLength;
    if (caplen > from) out.write(hexDump(pkt.data.subarray(from), options.ascii ?? false));
  } else if (options.asciiText) {
    const from = options.asciiText > 1 ? 0 : p.linkHeaderLength;
    if (caplen > from) out.write(asciiText(pkt.data.subarray(from)));
  }
  return p;
}
