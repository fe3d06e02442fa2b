/** The state one packet's decode writes into: the tcpdump-style text, the JSON layers, and truncation handling. */

import { TcpConversations } from './tcp-conversations.js';

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

/** Character codes of the lowercase hex digits. */
const HEX_DIGIT = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/**
 * Printed text as UTF-8 bytes in one growable buffer. Decoders append pieces and the CLI
 * writes the bytes out: no string is built per piece, per packet or per batch of lines
 * (the joined strings, their flattening and their encoding were most of printing's cost).
 */
export class TextBuffer {
  bytes: Uint8Array;
  /** Bytes in use. */
  length = 0;

  constructor(capacity = 1 << 16) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Appends `s`, UTF-8 encoded (lone surrogates as U+FFFD, as Node's Buffer.from does). */
  write(s: string): void {
    const n = s.length;
    if (this.length + n > this.bytes.length) this.grow(n);
    const b = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.length = at;
        this.writeEncoded(s, i);
        return;
      }
      b[at++] = c;
    }
    this.length = at;
  }

  /** Appends `n` bytes at `off` of `data` as they are: for ASCII text the caller has checked. */
  writeAscii(data: Uint8Array, off: number, n: number): void {
    if (this.length + n > this.bytes.length) this.grow(n);
    this.bytes.set(data.subarray(off, off + n), this.length);
    this.length += n;
  }

  /** Appends `n` bytes at `off` of `data` as colon-separated hex pairs (a MAC address). */
  writeHexBytes(data: Uint8Array, off: number, n: number): void {
    if (this.length + 3 * n > this.bytes.length) this.grow(3 * n);
    const b = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      if (i) b[at++] = 0x3a;
      const v = data[off + i];
      b[at++] = HEX_DIGIT[v >> 4];
      b[at++] = HEX_DIGIT[v & 15];
    }
    this.length = at;
  }

  /** Appends `n` (an unsigned 32-bit value) in lowercase hex, zero-padded to `width` digits. */
  writeHex(n: number, width = 1): void {
    let digits = 1;
    while (digits < 8 && n >>> (4 * digits) !== 0) digits++;
    if (digits < width) digits = width;
    if (this.length + digits > this.bytes.length) this.grow(digits);
    const b = this.bytes;
    let at = this.length + digits;
    this.length = at;
    for (let x = n >>> 0; at > this.length - digits; x >>>= 4) b[--at] = HEX_DIGIT[x & 15];
  }

  /** Appends one ASCII character code. */
  writeByte(c: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = c;
  }

  /** Appends an integer in decimal, without making its string. */
  writeUint(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && Number.isInteger(n))) {
      this.write(String(n));
      return;
    }
    if (n < 10) {
      this.writeByte(48 + n);
      return;
    }
    const digits = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    if (this.length + digits > this.bytes.length) this.grow(digits);
    const b = this.bytes;
    let at = this.length + digits;
    this.length = at;
    let x = n;
    if (x > 0x7fffffff) {
      // Above int32: one division in doubles brings it into integer range.
      const q = Math.floor(x / 10);
      b[--at] = 48 + (x - q * 10);
      x = q;
    }
    while (x >= 10) {
      const q = (x / 10) | 0;
      b[--at] = 48 + (x - q * 10);
      x = q;
    }
    b[at - 1] = 48 + x;
  }

  /** The text of bytes `from`..`to` (UTF-8 that {@link write} made). */
  text(from = 0, to = this.length): string {
    const b = this.bytes;
    let s = '';
    // ASCII (nearly all printed text) goes a piece at a time, the bytes being the characters.
    while (to - from > 0) {
      const end = Math.min(to, from + 1024);
      let i = from;
      while (i < end && b[i] < 0x80) i++;
      if (i > from) s += String.fromCharCode.apply(null, b.subarray(from, i) as unknown as number[]);
      from = i;
      if (i < end) break;
    }
    const units: number[] = [];
    for (let i = from; i < to; ) {
      const c = b[i];
      let cp: number;
      if (c < 0x80) {
        cp = c;
        i++;
      } else if (c < 0xe0) {
        cp = ((c & 0x1f) << 6) | (b[i + 1] & 0x3f);
        i += 2;
      } else if (c < 0xf0) {
        cp = ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
        i += 3;
      } else {
        cp = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
        i += 4;
      }
      if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      else units.push(cp);
      if (units.length >= 4096) {
        s += String.fromCharCode(...units);
        units.length = 0;
      }
    }
    return units.length ? s + String.fromCharCode(...units) : s;
  }

  /** Appends `s` from index `i` on as UTF-8 (the core has no TextEncoder). */
  private writeEncoded(s: string, i: number): void {
    for (; i < s.length; i++) {
      let cp = s.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const lo = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        } else cp = 0xfffd;
      }
      if (this.length + 4 > this.bytes.length) this.grow(4);
      const b = this.bytes;
      if (cp < 0x80) b[this.length++] = cp;
      else if (cp < 0x800) {
        b[this.length++] = 0xc0 | (cp >> 6);
        b[this.length++] = 0x80 | (cp & 0x3f);
      } else if (cp < 0x10000) {
        b[this.length++] = 0xe0 | (cp >> 12);
        b[this.length++] = 0x80 | ((cp >> 6) & 0x3f);
        b[this.length++] = 0x80 | (cp & 0x3f);
      } else {
        b[this.length++] = 0xf0 | (cp >> 18);
        b[this.length++] = 0x80 | ((cp >> 12) & 0x3f);
        b[this.length++] = 0x80 | ((cp >> 6) & 0x3f);
        b[this.length++] = 0x80 | (cp & 0x3f);
      }
    }
  }

  private grow(n: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/** Thrown by a read past the captured bytes; the top level prints ` [|proto]`. */
export class Truncated {
  constructor(readonly protocol: string) {}
}

/** Layers of a decode that builds none (never written: decoders test {@link Printer.json}). */
const NO_LAYERS: Layer[] = [];

/**
 * The per-packet decode state. `end` is the end of the captured bytes visible to the current layer.
 * One printer can serve packet after packet ({@link reset}): printing allocates nothing per packet for it.
 */
export class Printer {
  layers: Layer[] = NO_LAYERS;
  /** The protocol being decoded, for the truncation mark. */
  protocol = '';
  /** False once a layer was met that tcpdump decodes further than we do. */
  complete = true;
  /** Bytes of link-level header (the `-x` dump starts after them). */
  linkHeaderLength = 0;
  /** Bounds checks made so far: the decoders' work, which tests hold to a linear function of the packet size. */
  steps = 0;
  /** Where this packet's text starts in {@link out}. */
  private start = 0;
  /** Where this packet's decoded text ends in {@link out}, once the decode is over (-1 before). */
  textEnd = -1;

  constructor(
    public data: Uint8Array,
    public end: number,
    public options: Required<DecodeOptions>,
    public state: DecodeState,
    /** Where the text goes. */
    public out: TextBuffer = new TextBuffer(256),
  ) {
    this.reset(data, end, options, state, out);
  }

  /** Makes this printer a fresh one for another packet. */
  reset(data: Uint8Array, end: number, options: Required<DecodeOptions>, state: DecodeState, out: TextBuffer): void {
    this.data = data;
    this.end = end;
    this.options = options;
    this.state = state;
    this.out = out;
    this.layers = options.layers ? [] : NO_LAYERS;
    this.protocol = '';
    this.complete = true;
    this.linkHeaderLength = 0;
    this.steps = 0;
    this.start = out.length;
    this.textEnd = -1;
  }

  /** The text printed (by the decoders, not the hex dump after them). */
  get text(): string {
    return this.out.text(this.start, this.textEnd < 0 ? this.out.length : this.textEnd);
  }

  /** True when the JSON layers are wanted; hot decoders test it before building a layer's fields. */
  get json(): boolean {
    return this.options.layers;
  }

  print(s: string): void {
    this.out.write(s);
  }

  /** Prints a non-negative integer in decimal. */
  printUint(n: number): void {
    this.out.writeUint(n);
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
    return ip4Text(this.data, off);
  }

  ip6addr(off: number): string {
    this.need(off, 16);
    return ip6Text(this.data, off);
  }

  /** Prints the MAC address (`n` bytes) at `off`, as {@link mac} formats it. */
  printMac(off: number, n = 6): void {
    this.need(off, n);
    this.out.writeHexBytes(this.data, off, n);
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
  /** Sequence bases by conversation. */
  readonly tcpSeq = new TcpConversations();
}

/** Slots of the address caches (a power of two). */
const ADDR_CACHE = 1024;
const ip4Keys = new Int32Array(ADDR_CACHE);
const ip4Texts: string[] = new Array<string>(ADDR_CACHE).fill('');
const ip6Keys = new Uint8Array(ADDR_CACHE * 16);
const ip6Texts: string[] = new Array<string>(ADDR_CACHE).fill('');

/**
 * The dotted quad at `off`, from a direct-mapped cache of recent addresses: traffic repeats its
 * addresses, and a cached text is one flat string, formatted and flattened once.
 */
function ip4Text(d: Uint8Array, off: number): string {
  const v = (d[off] << 24) | (d[off + 1] << 16) | (d[off + 2] << 8) | d[off + 3];
  const slot = Math.imul(v, 0x9e3779b1) >>> 22;
  const cached = ip4Texts[slot];
  if (cached !== '' && ip4Keys[slot] === v) return cached;
  const text = flat(`${DEC[d[off]]}.${DEC[d[off + 1]]}.${DEC[d[off + 2]]}.${DEC[d[off + 3]]}`);
  ip4Keys[slot] = v;
  ip4Texts[slot] = text;
  return text;
}

/** {@link formatIp6At} through a direct-mapped cache like {@link ip4Text}'s. */
function ip6Text(d: Uint8Array, off: number): string {
  let h = 0;
  for (let i = 0; i < 16; i += 4) h = Math.imul(h ^ ((d[off + i] << 24) | (d[off + i + 1] << 16) | (d[off + i + 2] << 8) | d[off + i + 3]), 0x9e3779b1);
  const slot = h >>> 22;
  const cached = ip6Texts[slot];
  if (cached !== '') {
    let same = true;
    for (let i = 0; i < 16; i++) {
      if (ip6Keys[slot * 16 + i] !== d[off + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const text = flat(formatIp6At(d, off));
  ip6Keys.set(d.subarray(off, off + 16), slot * 16);
  ip6Texts[slot] = text;
  return text;
}

/** `s` as one flat string (a joined string is a tree until something reads it whole). */
function flat(s: string): string {
  // Reading a character flattens it in place; a cached text is then read without walking pieces.
  s.charCodeAt(0);
  return s;
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
