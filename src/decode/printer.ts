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
}

/** One decoded protocol layer, for `--json`. */
export interface Layer {
  protocol: string;
  [field: string]: unknown;
}

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

  print(s: string): void {
    this.text += s;
  }

  layer(protocol: string, fields: Record<string, unknown>): Layer {
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
    return `${d[off]}.${d[off + 1]}.${d[off + 2]}.${d[off + 3]}`;
  }

  ip6addr(off: number): string {
    this.need(off, 16);
    return formatIp6(this.data.subarray(off, off + 16));
  }

  mac(off: number, n = 6): string {
    this.need(off, n);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.data[off + i].toString(16).padStart(2, '0'));
    return parts.join(':');
  }
}

/** State kept across packets: tcpdump's relative TCP sequence numbers. */
export class DecodeState {
  /** Keyed by the canonical (address, port) pair; values are [seq base, ack base]. */
  readonly tcpSeq = new Map<string, [number, number]>();
}

/** An IPv6 address as inet_ntop prints it (RFC 5952: longest zero run compressed, IPv4-mapped tails). */
export function formatIp6(a: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((a[i] << 8) | a[i + 1]);
  // IPv4-compatible/mapped forms keep a dotted tail, as glibc's inet_ntop does.
  if (words.slice(0, 5).every((w) => w === 0) && (words[5] === 0xffff || (words[5] === 0 && (words[6] !== 0 || words[7] > 1)))) {
    if (words[5] === 0xffff || words[6] !== 0) {
      const v4 = `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      return words[5] === 0xffff ? `::ffff:${v4}` : `::${v4}`;
    }
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return words.map((w) => w.toString(16)).join(':');
  const head = words.slice(0, bestStart).map((w) => w.toString(16)).join(':');
  const tail = words.slice(bestStart + bestLen).map((w) => w.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** bittok2str-style flag names joined without separator, or `none`. */
export function flagString(value: number, table: readonly (readonly [number, string])[], sep = '', none = 'none'): string {
  const parts: string[] = [];
  for (const [bit, name] of table) if (value & bit) parts.push(name);
  return parts.length ? parts.join(sep) : none;
}
