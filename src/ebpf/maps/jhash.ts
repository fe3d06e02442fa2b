/** Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> computes it (hash map buckets, bloom filter bits). */

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

/** Mixes three words in place; the order of operations is the kernel's `__jhash_mix`. */
function mix(s: Uint32Array): void {
  let a = s[0], b = s[1], c = s[2];
  a = (a - c) >>> 0; a ^= rol32(c, 4); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol32(a, 6); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol32(b, 8); b = (b + a) >>> 0;
  a = (a - c) >>> 0; a ^= rol32(c, 16); c = (c + b) >>> 0;
  b = (b - a) >>> 0; b ^= rol32(a, 19); a = (a + c) >>> 0;
  c = (c - b) >>> 0; c ^= rol32(b, 4); b = (b + a) >>> 0;
  s[0] = a; s[1] = b; s[2] = c;
}

/** The kernel's `__jhash_final`. */
function final(s: Uint32Array): number {
  let a = s[0], b = s[1], c = s[2];
  c ^= b; c = (c - rol32(b, 14)) >>> 0;
  a ^= c; a = (a - rol32(c, 11)) >>> 0;
  b ^= a; b = (b - rol32(a, 25)) >>> 0;
  c ^= b; c = (c - rol32(b, 16)) >>> 0;
  a ^= c; a = (a - rol32(c, 4)) >>> 0;
  b ^= a; b = (b - rol32(a, 14)) >>> 0;
  c ^= b; c = (c - rol32(b, 24)) >>> 0;
  return c >>> 0;
}

function le32(k: Uint8Array, i: number): number {
  return (k[i] | (k[i + 1] << 8) | (k[i + 2] << 16) | (k[i + 3] << 24)) >>> 0;
}

/** `jhash(key, length, initval)`: any byte length; words are read little-endian as on x86/arm64. */
export function jhash(k: Uint8Array, initval: number): number {
  const s = new Uint32Array(3);
  let length = k.length;
  s[0] = s[1] = s[2] = (JHASH_INITVAL + length + initval) >>> 0;
  let i = 0;
  while (length > 12) {
    s[0] += le32(k, i); s[1] += le32(k, i + 4); s[2] += le32(k, i + 8);
    mix(s);
    length -= 12; i += 12;
  }
  if (length === 0) return s[2];
  // The kernel's fall-through switch: byte j of the tail goes into word j>>2 at bit 8*(j&3).
  for (let j = length - 1; j >= 0; j--) s[j >> 2] += k[i + j] << (8 * (j & 3));
  return final(s);
}

/** `jhash2(words, count, initval)`: the byte length must be a multiple of 4. */
export function jhash2(k: Uint8Array, initval: number): number {
  const s = new Uint32Array(3);
  let length = k.length >>> 2;
  s[0] = s[1] = s[2] = (JHASH_INITVAL + (length << 2) + initval) >>> 0;
  let i = 0;
  while (length > 3) {
    s[0] += le32(k, i); s[1] += le32(k, i + 4); s[2] += le32(k, i + 8);
    mix(s);
    length -= 3; i += 12;
  }
  if (length === 0) return s[2];
  for (let j = length - 1; j >= 0; j--) s[j] += le32(k, i + 4 * j);
  return final(s);
}

/** The hash map's bucket hash (`htab_map_hash`): jhash2 for whole words, else jhash. */
export function htabHash(key: Uint8Array, seed: number): number {
  return (key.length & 3) === 0 ? jhash2(key, seed) : jhash(key, seed);
}
