/** The state one packet's decode writes into: the tcpdump-style text, the JSON layers, and truncation handling. */

/** Options that change what the decoders print, named after tcpdump's flags. */
export interface DecodeOptions {
  /** `-v` count (0..3). */
  verbose?: number;
  /** `-e`: print the link-level header. */
  linkHeader?: boolean;
  /** `-q`: quick output, less protocol detail. */
  quick?: boolean;
  /** `-S`: absolute TCP sequence numbers. */
  absoluteSeq?: boolean;
  /** Build the JSON layers (default true); printing text alone skips them, which is most of a decode's garbage. */
  layers?: boolean;
}

/** One decoded protocol layer, for `--json`. */
export interface Layer {
  protocol: string;
  [field: string]: unknown;
}

/** Two lowercase hex digits per byte value: addresses format by lookup, not by toString/padStart. */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Lowercase hex without padding per byte value (IPv6 groups). */
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
/** Decimal per byte value (dotted quads). */
export const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Where layer fields go when no one asked for layers: written, never read. */
const SCRATCH_LAYER: Layer = { protocol: '' };

/** Thrown by a read past the captured bytes; the top level prints ` [|proto]`. */
export class Truncated {
  constructor(readonly protocol: string) {}
}

/** The per-packet decode state. `end` is the end of the captured bytes visible to the current layer. */
export class Printer {
  text = '';
  readonly layers: Layer[] = [];
  /** The protocol being decoded, for the truncation mark. */
  protocol = '';
  /** False once a layer was met that tcpdump decodes further than we do. */
  complete = true;
  /** Bytes of link-level header (the `-x` dump starts after them). */
  linkHeaderLength = 0;
  /** Bounds checks made so far: the decoders' work, which tests hold to a linear function of the packet size. */
  steps = 0;

  constructor(
    readonly data: Uint8Array,
    public end: number,
    readonly options: Required<DecodeOptions>,
    readonly state: DecodeState,
  ) {}

  /** True when the JSON layers are wanted; hot decoders test it before building a layer's fields. */
  get json(): boolean {
    return this.options.layers;
  }

  print(s: string): void {
    this.text += s;
  }

  layer(protocol: string, fields: Record<string, unknown>): Layer {
    if (!this.options.layers) return SCRATCH_LAYER;
    const l: Layer = { protocol, ...fields };
    this.layers.push(l);
    return l;
  }

  /** Throws {@link Truncated} unless `n` bytes from `off` were captured. */
  need(off: number, n: number): void {
    this.steps++;
    if (off < 0 || off + n > this.end) throw new Truncated(this.protocol);
  }

  has(off: number, n: number): boolean {
    this.steps++;
    return off >= 0 && off + n <= this.end;
  }

  u8(off: number): number {
    this.need(off, 1);
    return this.data[off];
  }

  u16(off: number): number {
    this.need(off, 2);
    return (this.data[off] << 8) | this.data[off + 1];
  }

  u32(off: number): number {
    this.need(off, 4);
    return ((this.data[off] << 24) | (this.data[off + 1] << 16) | (this.data[off + 2] << 8) | this.data[off + 3]) >>> 0;
  }

  u16le(off: number): number {
    this.need(off, 2);
    return this.data[off] | (this.data[off + 1] << 8);
  }

  u32le(off: number): number {
    this.need(off, 4);
    return (this.data[off] | (this.data[off + 1] << 8) | (this.data[off + 2] << 16) | (this.data[off + 3] << 24)) >>> 0;
  }

  ipaddr(off: number): string {
    this.need(off, 4);
    const d = this.data;
    return `${DEC[d[off]]}.${DEC[d[off + 1]]}.${DEC[d[off + 2]]}.${DEC[d[off + 3]]}`;
  }

  ip6addr(off: number): string {
    this.need(off, 16);
    return formatIp6At(this.data, off);
  }

  mac(off: number, n = 6): string {
    this.need(off, n);
    const d = this.data;
    if (n === 6) {
      return `${HEX2[d[off]]}:${HEX2[d[off + 1]]}:${HEX2[d[off + 2]]}:${HEX2[d[off + 3]]}:${HEX2[d[off + 4]]}:${HEX2[d[off + 5]]}`;
    }
    let s = '';
    for (let i = 0; i < n; i++) s += i ? `:${HEX2[d[off + i]]}` : HEX2[d[off + i]];
    return s;
  }
}

/** State kept across packets: tcpdump's relative TCP sequence numbers. */
export class DecodeState {
  /** Keyed by the canonical (address, port) pair; values are [seq base, ack base]. */
  readonly tcpSeq = new Map<string, [number, number]>();
}

/** An IPv6 address as inet_ntop prints it (RFC 5952: longest zero run compressed, IPv4-mapped tails). */
export function formatIp6(a: Uint8Array): string {
  return formatIp6At(a, 0);
}

/** One 16-bit group in hex without leading zeros. */
function group(a: Uint8Array, o: number): string {
  return a[o] ? HEX1[a[o]] + HEX2[a[o + 1]] : HEX1[a[o + 1]];
}

/** {@link formatIp6} of the 16 bytes at `off`, without copying them or building arrays. */
export function formatIp6At(a: Uint8Array, off: number): string {
  const w = (i: number): number => (a[off + 2 * i] << 8) | a[off + 2 * i + 1];
  // IPv4-compatible/mapped forms keep a dotted tail, as glibc's inet_ntop does.
  if (w(0) === 0 && w(1) === 0 && w(2) === 0 && w(3) === 0 && w(4) === 0) {
    const w5 = w(5);
    if (w5 === 0xffff || (w5 === 0 && w(6) !== 0)) {
      const v4 = `${DEC[a[off + 12]]}.${DEC[a[off + 13]]}.${DEC[a[off + 14]]}.${DEC[a[off + 15]]}`;
      return w5 === 0xffff ? `::ffff:${v4}` : `::${v4}`;
    }
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w(j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  if (bestLen < 2) {
    for (let i = 0; i < 8; i++) s += i ? ':' + group(a, off + 2 * i) : group(a, off);
    return s;
  }
  for (let i = 0; i < bestStart; i++) s += (i ? ':' : '') + group(a, off + 2 * i);
  s += '::';
  for (let i = bestStart + bestLen; i < 8; i++) s += (i > bestStart + bestLen ? ':' : '') + group(a, off + 2 * i);
  return s;
}

/** bittok2str-style flag names joined without separator, or `none`. */
export function flagString(value: number, table: readonly (readonly [number, string])[], sep = '', none = 'none'): string {
  const parts: string[] = [];
  for (const [bit, name] of table) if (value & bit) parts.push(name);
  return parts.length ? parts.join(sep) : none;
}
