/** Encoding: slot layout in both byte orders, lddw's two slots, slot↔index mapping, jump targets. */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeProgram, encodeProgram, jumpTargetIndex, programSlots, slotOffsets, slotToIndex, slots, type Insn,
} from '../../src/ebpf/index.js';
import { fromHex, toHex } from '../../src/util/index.js';

describe('slot layout', () => {
  it('little endian: code, src<<4|dst, off LE, imm LE (RFC 9669 section 3)', () => {
    // r0 = *(u32 *)(r1 + 4): opcode 0x61, dst 0, src 1, off 4.
    const insn: Insn = { code: 0x61, dst: 0, src: 1, off: 4, imm: 0 };
    expect(toHex(encodeProgram([insn]))).toBe('6110040000000000');
    expect(toHex(encodeProgram([{ code: 0x07, dst: 2, src: 0, off: 0, imm: -4 }]))).toBe('07020000fcffffff');
  });

  it('big endian: dst in the high nibble, off and imm big endian (struct bpf_insn on bpfeb)', () => {
    const insn: Insn = { code: 0x61, dst: 0, src: 1, off: 4, imm: 0 };
    const be = encodeProgram([insn], { bigEndian: true });
    expect(toHex(be)).toBe('6101000400000000');
    expect(decodeProgram(be, { bigEndian: true })).toEqual([insn]);
    expect(toHex(encodeProgram([{ code: 0x07, dst: 2, src: 0, off: -2, imm: -4 }], { bigEndian: true }))).toBe('0720fffefffffffc');
  });

  it('lddw joins both immediates into imm64 and keeps the second slot', () => {
    const bytes = fromHex('18 01 00 00 44 33 22 11 00 00 00 00 88 77 66 55 95 00 00 00 00 00 00 00');
    const insns = decodeProgram(bytes);
    expect(insns.length).toBe(2);
    expect(insns[0].imm64).toBe(0x5566778811223344n);
    expect(insns[0].imm).toBe(0x11223344);
    expect(insns[0].next).toEqual({ code: 0, dst: 0, src: 0, off: 0 });
    expect(slots(insns[0])).toBe(2);
    expect(toHex(encodeProgram(insns))).toBe(toHex(bytes));
  });

  it('a non-zero second slot is kept as data (the checker rejects it, encoding preserves it)', () => {
    const bytes = fromHex('18 01 00 00 01 00 00 00 07 02 03 00 02 00 00 00');
    const [insn] = decodeProgram(bytes);
    expect(insn.next).toEqual({ code: 7, dst: 2, src: 0, off: 3 });
    expect(toHex(encodeProgram([insn]))).toBe(toHex(bytes));
  });

  it('ignores a trailing partial slot and never throws on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (b, be) => {
        const insns = decodeProgram(b, { bigEndian: be });
        expect(programSlots(insns)).toBe(Math.floor(b.length / 8));
        expect(toHex(encodeProgram(insns, { bigEndian: be }))).toBe(toHex(b.subarray(0, Math.floor(b.length / 8) * 8)));
      }),
    );
  });

  it('rejects registers that do not fit a nibble', () => {
    expect(() => encodeProgram([{ code: 0xb7, dst: 16, src: 0, off: 0, imm: 0 }])).toThrow(/dst register 16/);
    expect(() => encodeProgram([{ code: 0x05, dst: 0, src: 0, off: 40000, imm: 0 }])).toThrow(/offset 40000/);
    expect(() => encodeProgram([{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 2 ** 32 }])).toThrow(/immediate/);
  });
});

describe('slots and indexes', () => {
  const insns = decodeProgram(fromHex(
    '05 00 02 00 00 00 00 00' + // 0: goto +2 -> slot 3 (index 2)
    '18 01 00 00 01 00 00 00 00 00 00 00 00 00 00 00' + // 1: lddw (slots 1-2)
    '15 01 fd ff 00 00 00 00' + // 2: if r1 == 0 goto -3 -> slot 1 (index 1)
    '95 00 00 00 00 00 00 00', // 3: exit
  ));

  it('maps instruction indexes to slots and back', () => {
    expect(slotOffsets(insns)).toEqual([0, 1, 3, 4, 5]);
    expect(Array.from(slotToIndex(insns))).toEqual([0, 1, -1, 2, 3, 4]);
  });

  it('resolves jump targets counted in slots', () => {
    expect(jumpTargetIndex(insns, 0, insns[0].off)).toBe(2);
    expect(jumpTargetIndex(insns, 2, insns[2].off)).toBe(1);
    expect(jumpTargetIndex(insns, 0, 1)).toBeUndefined(); // middle of lddw
    expect(jumpTargetIndex(insns, 3, 0)).toBeUndefined(); // past the end
    expect(jumpTargetIndex(insns, 0, -2)).toBeUndefined();
  });
});
