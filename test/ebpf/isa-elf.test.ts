/** The ELF64 reader on objects the test writes itself (both byte orders), and its typed errors on damaged input. */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EM_BPF, SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS, SHT_REL, SHT_STRTAB, SHT_SYMTAB, STT_FUNC, programSections, readElf } from '../../src/elf/index.js';
import { assembleLlvm, encodeProgram } from '../../src/ebpf/index.js';
import { BpfkitError, FormatError } from '../../src/util/index.js';

interface Sec { name: string; type: number; flags?: number; data: Uint8Array; link?: number; info?: number; entsize?: number }

/** Writes a relocatable ELF64 with the given sections (index 0 is the null section). */
function writeElf(sections: Sec[], le = true): Uint8Array {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const strtab: number[] = [];
  const nameOff = names.map((n) => {
    const o = strtab.length;
    for (const c of n) strtab.push(c.charCodeAt(0));
    strtab.push(0);
    return o;
  });
  const all: Sec[] = [...sections, { name: '.shstrtab', type: SHT_STRTAB, data: new Uint8Array(strtab) }];
  let off = 64;
  const offsets = all.map((s) => {
    const o = off;
    off += s.data.length;
    off = (off + 7) & ~7;
    return o;
  });
  const shoff = off;
  const out = new Uint8Array(shoff + 64 * (all.length + 1));
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1]);
  v.setUint16(0x10, 1, le);
  v.setUint16(0x12, EM_BPF, le);
  v.setUint32(0x14, 1, le);
  v.setBigUint64(0x28, BigInt(shoff), le);
  v.setUint16(0x34, 64, le);
  v.setUint16(0x3a, 64, le);
  v.setUint16(0x3c, all.length + 1, le);
  v.setUint16(0x3e, all.length, le);
  all.forEach((s, i) => {
    out.set(s.data, offsets[i]);
    const at = shoff + 64 * (i + 1);
    v.setUint32(at, nameOff[i + 1], le);
    v.setUint32(at + 4, s.type, le);
    v.setBigUint64(at + 8, BigInt(s.flags ?? 0), le);
    v.setBigUint64(at + 0x18, BigInt(offsets[i]), le);
    v.setBigUint64(at + 0x20, BigInt(s.data.length), le);
    v.setUint32(at + 0x28, s.link ?? 0, le);
    v.setUint32(at + 0x2c, s.info ?? 0, le);
    v.setBigUint64(at + 0x30, 8n, le);
    v.setBigUint64(at + 0x38, BigInt(s.entsize ?? 0), le);
  });
  return out;
}

function sample(le: boolean): Uint8Array {
  const code = encodeProgram(assembleLlvm('r1 = 0 ll\ncall 1\nexit'), { bigEndian: !le });
  const str = new Uint8Array([0, ...'prog'.split('').map((c) => c.charCodeAt(0)), 0, ...'counts'.split('').map((c) => c.charCodeAt(0)), 0]);
  const sym = new Uint8Array(24 * 3);
  const sv = new DataView(sym.buffer);
  // 1: prog, FUNC GLOBAL in section 1; 2: counts, OBJECT GLOBAL in section 5 (undefined here: 0).
  sv.setUint32(24, 1, le);
  sym[24 + 4] = (1 << 4) | STT_FUNC;
  sv.setUint16(24 + 6, 1, le);
  sv.setBigUint64(24 + 16, BigInt(code.length), le);
  sv.setUint32(48, 6, le);
  sym[48 + 4] = (1 << 4) | 1;
  const rel = new Uint8Array(16);
  const rv = new DataView(rel.buffer);
  rv.setBigUint64(0, 0n, le);
  rv.setBigUint64(8, (2n << 32n) | 1n, le);
  return writeElf([
    { name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: code },
    { name: '.relxdp', type: SHT_REL, data: rel, link: 4, info: 1, entsize: 16 },
    { name: '.strtab', type: SHT_STRTAB, data: str },
    { name: '.symtab', type: SHT_SYMTAB, data: sym, link: 3, info: 1, entsize: 24 },
  ], le);
}

describe('readElf', () => {
  for (const le of [true, false]) {
    it(`reads sections, symbols and relocations (${le ? 'little' : 'big'} endian)`, () => {
      const elf = readElf(sample(le));
      expect(elf.littleEndian).toBe(le);
      expect(elf.machine).toBe(EM_BPF);
      expect(elf.sections.map((s) => s.name)).toEqual(['', 'xdp', '.relxdp', '.strtab', '.symtab', '.shstrtab']);
      expect(elf.symbols.map((s) => s.name)).toEqual(['', 'prog', 'counts']);
      const [p] = programSections(elf);
      expect(p.section.name).toBe('xdp');
      expect(p.insns.map((i) => i.code)).toEqual([0x18, 0x85, 0x95]);
      expect(p.insns[1].imm).toBe(1);
      expect(p.symbols.map((s) => s.name)).toEqual(['prog']);
      expect(p.relocations).toEqual([{ slot: 0, type: 1, symbol: 'counts' }]);
    });
  }

  it('rejects what is not an ELF64 file with typed errors', () => {
    expect(() => readElf(new Uint8Array(10))).toThrow(FormatError);
    expect(() => readElf(new Uint8Array(64))).toThrow(/not an elf file/);
    const b = sample(true);
    const c32 = b.slice();
    c32[4] = 1;
    expect(() => readElf(c32)).toThrow(/not a 64-bit/);
    expect(() => readElf(b.subarray(0, b.length - 10))).toThrow(/past end of file/);
  });

  it('never crashes on damaged objects: any byte flipped or cut gives a result or a BpfkitError', () => {
    const base = sample(true);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(base.length), (flips, cut) => {
        const b = base.slice(0, Math.max(cut, 16));
        for (const [i, x] of flips) if (i < b.length) b[i] = x;
        try {
          const elf = readElf(b);
          programSections(elf);
        } catch (e) {
          expect(e).toBeInstanceOf(BpfkitError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
