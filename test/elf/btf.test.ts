// The BTF readers (parseBtf, and LazyBtf decoding on demand) on BTF the test writes byte by byte: kinds, sizes through typedefs/arrays, lookups, and typed errors on bad input.
import { describe, expect, it } from 'vitest';
import { BtfKind, LazyBtf, parseBtf } from '../../src/elf/index.js';
import { BpfkitError } from '../../src/util/index.js';

/** Writes BTF (little-endian unless told): types as u32 words (header words then extras), strings NUL-separated. */
function writeBtf(types: number[], strings: string[], le = true): Uint8Array {
  const strBytes = [0];
  const offs: number[] = [];
  for (const s of strings) { offs.push(strBytes.length); for (const c of new TextEncoder().encode(s)) strBytes.push(c); strBytes.push(0); }
  const typeLen = types.length * 4;
  const out = new Uint8Array(24 + typeLen + strBytes.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, le); out[2] = 1;
  v.setUint32(4, 24, le); v.setUint32(8, 0, le); v.setUint32(12, typeLen, le);
  v.setUint32(16, typeLen, le); v.setUint32(20, strBytes.length, le);
  types.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, le));
  out.set(strBytes, 24 + typeLen);
  return out;
}

const info = (kind: number, vlen = 0, kflag = 0): number => ((kflag << 31) | (kind << 24) | vlen) >>> 0;
// String offsets: 'int' 1, 'pair' 5, 'a' 10, 'b' 12, 'pair_t' 14, 'é' 21
const STRS = ['int', 'pair', 'a', 'b', 'pair_t', 'é'];
const TYPES = [
  1, info(BtfKind.INT), 4, (1 << 24) | 32, // [1] int: signed, 32 bits
  0, info(BtfKind.PTR), 1, // [2] int *
  5, info(BtfKind.STRUCT, 2), 8, 10, 1, 0, 12, 1, 32, // [3] struct pair { int a; int b; }
  14, info(BtfKind.TYPEDEF), 3, // [4] typedef struct pair pair_t
  0, info(BtfKind.ARRAY), 0, 4, 1, 3, // [5] pair_t[3]
  0, info(BtfKind.CONST), 5, // [6] const pair_t[3]
  21, info(BtfKind.ENUM, 1, 1), 4, 21, -2, // [7] enum é { é = -2 } (signed)
];

describe('parseBtf', () => {
  const btf = parseBtf(writeBtf(TYPES, STRS));

  it('reads each kind', () => {
    expect(btf.types.length).toBe(8);
    expect(btf.types[1]).toMatchObject({ kind: BtfKind.INT, name: 'int', size: 4, int: { encoding: 1, offset: 0, bits: 32 } });
    expect(btf.types[2]).toMatchObject({ kind: BtfKind.PTR, type: 1 });
    expect(btf.types[3].members).toEqual([{ name: 'a', type: 1, bitOffset: 0, bitSize: 0 }, { name: 'b', type: 1, bitOffset: 32, bitSize: 0 }]);
    expect(btf.types[5].array).toEqual({ type: 4, indexType: 1, nelems: 3 });
    expect(btf.types[7].enumValues).toEqual([{ name: 'é', value: -2n }]);
  });

  it('sizes types through typedefs, qualifiers and arrays', () => {
    expect(btf.sizeOf(4)).toBe(8);
    expect(btf.sizeOf(6)).toBe(24);
    expect(btf.sizeOf(2)).toBe(8);
    expect(btf.resolve(6).kind).toBe(BtfKind.ARRAY);
    expect(btf.byName('pair_t')[0].id).toBe(4);
    expect(btf.byName('pair', BtfKind.STRUCT).map((t) => t.id)).toEqual([3]);
    expect(btf.byName('nothing')).toEqual([]);
  });

  it('rejects bad input with typed errors and byte offsets', () => {
    const good = writeBtf(TYPES, STRS);
    const bad = (b: Uint8Array, code: string): void => {
      try {
        parseBtf(b);
        expect.unreachable(`expected ${code}`);
      } catch (e) {
        expect(e).toBeInstanceOf(BpfkitError);
        expect((e as BpfkitError).code).toBe(code);
      }
    };
    bad(good.subarray(0, 10), 'E_BTF_TRUNCATED');
    const magic = good.slice(); magic[0] = 0; bad(magic, 'E_BTF_MAGIC');
    const kind = good.slice(); kind[24 + 7] = 31; bad(kind, 'E_BTF_KIND');
    const str = good.slice(); new DataView(str.buffer).setUint32(24, 9999, true); bad(str, 'E_BTF_STRING');
    const len = good.slice(); new DataView(len.buffer).setUint32(12, 1 << 20, true); bad(len, 'E_BTF_TRUNCATED');
    // A dangling type id is rejected when parsing (as the kernel's btf_check_all_types does), whatever refers to it.
    bad(writeBtf([0, info(BtfKind.PTR), 99], []), 'E_BTF_TYPE_ID');
    bad(writeBtf([0, info(BtfKind.TYPEDEF), 99], []), 'E_BTF_TYPE_ID');
    expect(() => parseBtf(writeBtf([0, info(BtfKind.PTR), 0], [])).sizeOf(1)).not.toThrow(); // a pointer's size needs no target
    try { parseBtf(writeBtf([0, info(BtfKind.PTR), 99], [])); } catch (e) { expect((e as BpfkitError).message).toBe('section ".BTF": type 1 (PTR) refers to type 99 in its type, of 1 types (at offset 24)'); }
    const loop = writeBtf([0, info(BtfKind.TYPEDEF), 1], []);
    try { parseBtf(loop).sizeOf(1); expect.unreachable(); } catch (e) { expect((e as BpfkitError).code).toBe('E_BTF_LOOP'); }
  });
});

describe('LazyBtf: the same types, decoded on demand', () => {
  // One more type than above: [8] a DATASEC with one variable (what object files and vmlinux's per-CPU data have).
  const types = [...TYPES, 0, info(BtfKind.DATASEC, 1), 64, 1, 16, 4];

  it('agrees with parseBtf type by type and name by name: either byte order, aligned or not', () => {
    const le = writeBtf(types, STRS);
    const shifted = new Uint8Array(le.length + 1).subarray(1);
    shifted.set(le);
    for (const bytes of [le, writeBtf(types, STRS, false), shifted]) {
      const full = parseBtf(bytes);
      const lazy = new LazyBtf(bytes);
      expect(lazy.count).toBe(full.types.length);
      for (let id = 0; id < full.types.length; id++) {
        expect(lazy.kindOf(id), `kind ${id}`).toBe(full.types[id].kind);
        expect(lazy.nameOf(id), `name ${id}`).toBe(full.types[id].name);
        expect(lazy.type(id), `type ${id}`).toEqual(full.types[id]);
      }
      expect(lazy.type(8).secinfos).toEqual([{ type: 1, offset: 16, size: 4 }]);
      // The non-ASCII name (UTF-8 in the string section) reads as parseBtf reads it.
      expect(lazy.type(7).name).toBe('é');
      // Past 16 lookups a name index replaces the scans: the answers stay the same.
      for (let round = 0; round < 20; round++) {
        for (const name of ['pair', 'pair_t', 'int', 'é', 'a', 'nothing']) {
          expect(lazy.byName(name).map((t) => t.id), name).toEqual(full.byName(name).map((t) => t.id));
        }
        expect(lazy.byName('pair', BtfKind.STRUCT).map((t) => t.id)).toEqual([3]);
        expect(lazy.byName('pair', BtfKind.TYPEDEF)).toEqual([]);
      }
    }
  });

  it('rejects bad input with the typed errors of parseBtf', () => {
    const good = writeBtf(types, STRS);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(BpfkitError);
        return (e as BpfkitError).code;
      }
    };
    expect(code(() => new LazyBtf(good.subarray(0, 10)))).toBe('E_BTF_TRUNCATED');
    const magic = good.slice(); magic[0] = 0;
    expect(code(() => new LazyBtf(magic))).toBe('E_BTF_MAGIC');
    const kind = good.slice(); kind[24 + 7] = 31;
    expect(code(() => new LazyBtf(kind))).toBe('E_BTF_KIND');
    const len = good.slice(); new DataView(len.buffer).setUint32(12, 1 << 20, true);
    expect(code(() => new LazyBtf(len))).toBe('E_BTF_TRUNCATED');
    // A record cut short by the end of the type section (a struct claiming 200 members).
    expect(code(() => new LazyBtf(writeBtf([5, info(BtfKind.STRUCT, 200), 8], ['x'])))).toBe('E_BTF_TRUNCATED');
    // Decoding is lazy, so a bad string offset is found when its type is read.
    const str = good.slice(); new DataView(str.buffer).setUint32(24, 9999, true);
    const lazy = new LazyBtf(str);
    expect(code(() => lazy.type(1))).toBe('E_BTF_STRING');
    expect(code(() => lazy.type(99))).toBe('E_BTF_TYPE_ID');
    expect(code(() => lazy.type(-1))).toBe('E_BTF_TYPE_ID');
  });
});
