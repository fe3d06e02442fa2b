/** Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> computes it (hash map buckets, bloom filter bits). */

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, s: number): number {
  return (x << s) | (x >>> (32 - s));
}

/** Shared state of one hash computation (JavaScript is single-threaded, and nothing here re-enters). */
let a = 0, b = 0, c = 0;

/** The kernel's `__jhash_mix`, over the shared state. */
function mix(): void {
  a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
  b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
  c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
  a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
  b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
  c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
}

/** The kernel's `__jhash_final`; the result is in `c`. */
function final(): number {
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c >>> 0;
}

function le32(k: Uint8Array, i: number): number {
  return k[i] | (k[i + 1] << 8) | (k[i + 2] << 16) | (k[i + 3] << 24);
}

/** `jhash(key, length, initval)`: any byte length; words are read little-endian as on x86/arm64. */
export function jhash(k: Uint8Array, initval: number): number {
  let length = k.length;
  a = b = c = (JHASH_INITVAL + length + initval) | 0;
  let i = 0;
  while (length > 12) {
    a = (a + le32(k, i)) | 0; b = (b + le32(k, i + 4)) | 0; c = (c + le32(k, i + 8)) | 0;
    mix();
    length -= 12; i += 12;
  }
  if (length === 0) return c >>> 0;
  // The kernel's fall-through switch: byte j of the tail goes into word j>>2 at bit 8*(j&3).
  for (let j = length - 1; j >= 0; j--) {
    const add = k[i + j] << (8 * (j & 3));
    if (j < 4) a = (a + add) | 0;
    else if (j < 8) b = (b + add) | 0;
    else c = (c + add) | 0;
  }
  return final();
}

/** `jhash2(words, count, initval)`: the byte length must be a multiple of 4. */
export function jhash2(k: Uint8Array, initval: number): number {
  let length = k.length >>> 2;
  a = b = c = (JHASH_INITVAL + (length << 2) + initval) | 0;
  let i = 0;
  while (length > 3) {
    a = (a + le32(k, i)) | 0; b = (b + le32(k, i + 4)) | 0; c = (c + le32(k, i + 8)) | 0;
    mix();
    length -= 3; i += 12;
  }
  if (length === 0) return c >>> 0;
  if (length === 3) c = (c + le32(k, i + 8)) | 0;
  if (length >= 2) b = (b + le32(k, i + 4)) | 0;
  a = (a + le32(k, i)) | 0;
  return final();
}

/** The hash map's bucket hash (`htab_map_hash`): jhash2 for whole words, else jhash. */
export function htabHash(key: Uint8Array, seed: number): number {
  return (key.length & 3) === 0 ? jhash2(key, seed) : jhash(key, seed);
}
