/** Round trips over arbitrary bytes: decode → disassemble (either syntax) → assemble → encode gives the same bytes, for valid and invalid instructions alike. */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  assembleConformance, assembleLlvm, decodeProgram, disassembleConformance, disassembleLlvm, encodeProgram, describeInsn, findProblems,
  type Insn,
} from '../../src/ebpf/index.js';
import { ParseError, toHex } from '../../src/util/index.js';

/** A slot whose opcode is drawn from the defined opcodes most of the time, with small registers, so most slots are valid forms. */
const slot = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...Array.from({ length: 256 }, (_, c) => c).filter((c) => describeInsn({ code: c, dst: 0, src: 0, off: 0, imm: 0 }).kind !== undefined)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 10 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 10 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
    fc.oneof(fc.constant(0), fc.constantFrom(1, 8, 16, 32, -1), fc.integer({ min: -32768, max: 32767 })),
    fc.oneof(fc.constant(0), fc.constantFrom(16, 32, 64, 1, 0xe1, 0xf1, 0x41, 0x100, 0x110, -1), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  )
  .map(([code, dst, src, off, imm]) => {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint8(0, code);
    v.setUint8(1, (src << 4) | dst);
    v.setInt16(2, off, true);
    v.setInt32(4, imm, true);
    return b;
  });

const program = fc.array(slot, { minLength: 1, maxLength: 24 }).map((slots) => {
  const out = new Uint8Array(slots.length * 8);
  slots.forEach((s, i) => out.set(s, i * 8));
  return out;
});

describe('byte-level round trip', () => {
  it('encode(decode(bytes)) is the identity', () => {
    fc.assert(
      fc.property(program, (bytes) => {
        expect(toHex(encodeProgram(decodeProgram(bytes)))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('llvm syntax: assemble(disassemble(decode(bytes))) gives back the bytes, in every print mode', () => {
    fc.assert(
      fc.property(program, fc.record({ decimal: fc.boolean(), helperNames: fc.boolean(), labels: fc.boolean() }), (bytes, opts) => {
        const text = disassembleLlvm(decodeProgram(bytes), opts);
        expect(toHex(encodeProgram(assembleLlvm(text))), text).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('conformance syntax: assemble(disassemble(decode(bytes))) gives back the bytes', () => {
    fc.assert(
      fc.property(program, (bytes) => {
        const text = disassembleConformance(decodeProgram(bytes));
        expect(toHex(encodeProgram(assembleConformance(text))), text).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('a truncated lddw at the end stays one raw slot and re-encodes exactly', () => {
    const bytes = new Uint8Array([0x18, 0x01, 0, 0, 0x34, 0x12, 0, 0]);
    const insns: Insn[] = decodeProgram(bytes);
    expect(insns).toEqual([{ code: 0x18, dst: 1, src: 0, off: 0, imm: 0x1234 }]);
    expect(toHex(encodeProgram(insns))).toBe(toHex(bytes));
    expect(disassembleLlvm(insns)).toBe('\t.8byte 0x0000123400000118\n');
    expect(toHex(encodeProgram(assembleLlvm(disassembleLlvm(insns))))).toBe(toHex(bytes));
  });
});

describe('bad input never crashes', () => {
  const pieces = ['r1', 'w2', '%r3', '=', '+=', 's>>=', '*(u32 *)', '(r1 + 4)', '[%r1+4]', 'goto', '+1', '-0x8000', 'if', '>', 'll', 'lock', 'fetch',
    'call', 'exit', 'mov', 'lddw', ',', 'map[', ']', 'x:', '#', ';', '0xffffffffffffffffff', '99999999999', '(s8)', 'be16', '.8byte', '\t', ' '];
  const line = fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((p) => p.join(' '));
  const text = fc.oneof(fc.string({ maxLength: 60 }), fc.array(line, { maxLength: 6 }).map((l) => l.join('\n')));

  it('the assemblers return instructions or throw a ParseError', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const asm of [assembleLlvm, assembleConformance]) {
          try {
            asm(t);
          } catch (e) {
            expect(e).toBeInstanceOf(ParseError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('findProblems lists problems for any decoded program without throwing', () => {
    fc.assert(
      fc.property(program, (bytes) => {
        const insns = decodeProgram(bytes);
        expect(Array.isArray(findProblems(insns, { initialized: [1, 10] }))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
