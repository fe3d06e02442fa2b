/** Builders of capture files for the tests, written independently of bpfkit's writers so that reader tests do not trust them. */

import { FormatError } from '../../src/util/index.js';

export type Endian = 'le' | 'be';

/** The {@link FormatError} that `fn` throws; any other error is rethrown, and returning normally fails the test. */
export function formatError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw e;
  }
  throw new Error('expected a FormatError');
}

/** A growable byte sink with explicit byte order. */
export class Bytes {
  private parts: number[] = [];
  constructor(readonly endian: Endian = 'le') {}
  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.endian === 'le' ? this.u8(v, v >> 8) : this.u8(v >> 8, v);
  }
  u32(v: number): this {
    const b = [v >>> 24, v >>> 16, v >>> 8, v];
    return this.u8(...(this.endian === 'le' ? b.reverse() : b));
  }
  u64(v: bigint): this {
    const lo = Number(v & 0xffffffffn);
    const hi = Number((v >> 32n) & 0xffffffffn);
    return this.endian === 'le' ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  raw(b: Uint8Array | number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Distinct, recognisable packet bytes: `n` bytes starting at `seed`. */
export function payload(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

export interface PcapRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  caplen?: number;
  len?: number;
}

/** A classic pcap file. */
export function pcapFile(opts: {
  endian?: Endian;
  magic?: number;
  version?: [number, number];
  snaplen?: number;
  linkType?: number;
  thiszone?: number;
  records?: PcapRecord[];
  /** Extra bytes per record header (Kuznetzov format: 8). */
  extra?: number;
}): Uint8Array {
  const b = new Bytes(opts.endian ?? 'le');
  const [maj, min] = opts.version ?? [2, 4];
  b.u32(opts.magic ?? 0xa1b2c3d4).u16(maj).u16(min).u32(opts.thiszone ?? 0).u32(0).u32(opts.snaplen ?? 65535).u32(opts.linkType ?? 1);
  for (const r of opts.records ?? []) {
    b.u32(r.sec).u32(r.frac).u32(r.caplen ?? r.data.length).u32(r.len ?? r.data.length);
    for (let i = 0; i < (opts.extra ?? 0); i++) b.u8(0);
    b.raw(r.data);
  }
  return b.bytes();
}

/** One pcapng block: type, body (padded to 4), lengths; `trailer` overrides the trailing length. */
export function block(endian: Endian, type: number, body: Uint8Array, trailer?: number): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const b = new Bytes(endian).u32(type).u32(total).raw(body).pad4();
  b.u32(trailer ?? total);
  return b.bytes();
}

export function shb(endian: Endian = 'le', version: [number, number] = [1, 0], options: Uint8Array = new Uint8Array(0)): Uint8Array {
  return block(endian, 0x0a0d0d0a, new Bytes(endian).u32(0x1a2b3c4d).u16(version[0]).u16(version[1]).u64(-1n & 0xffffffffffffffffn).raw(options).bytes());
}

export function option(endian: Endian, code: number, value: Uint8Array | number[]): Uint8Array {
  return new Bytes(endian).u16(code).u16(value.length).raw(value).pad4().bytes();
}

export function idb(endian: Endian = 'le', linkType = 1, snaplen = 65535, options: Uint8Array = new Uint8Array(0)): Uint8Array {
  return block(endian, 1, new Bytes(endian).u16(linkType).u16(0).u32(snaplen).raw(options).bytes());
}

export function epb(endian: Endian, opts: { ifid?: number; ts: bigint; data: Uint8Array; len?: number; caplen?: number }): Uint8Array {
  const b = new Bytes(endian)
    .u32(opts.ifid ?? 0)
    .u32(Number(opts.ts >> 32n))
    .u32(Number(opts.ts & 0xffffffffn))
    .u32(opts.caplen ?? opts.data.length)
    .u32(opts.len ?? opts.data.length)
    .raw(opts.data);
  return block(endian, 6, b.bytes());
}

export function spb(endian: Endian, data: Uint8Array, len?: number): Uint8Array {
  return block(endian, 3, new Bytes(endian).u32(len ?? data.length).raw(data).bytes());
}

export function pb(endian: Endian, opts: { ifid?: number; ts: bigint; data: Uint8Array }): Uint8Array {
  const b = new Bytes(endian)
    .u16(opts.ifid ?? 0)
    .u16(0)
    .u32(Number(opts.ts >> 32n))
    .u32(Number(opts.ts & 0xffffffffn))
    .u32(opts.data.length)
    .u32(opts.data.length)
    .raw(opts.data);
  return block(endian, 2, b.bytes());
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
