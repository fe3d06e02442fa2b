/** printf as current bpftrace renders it (FormatSpec over iostreams): expectations from the bpftrace runtime corpus and from bpftrace's format_string.cpp semantics. */

import { describe, expect, it } from 'vitest';
import { formatPrintf, gfpFlagsText, intValue, parsePrintfFormat, printfArgClass, printfArgCountError, stringValue } from '../../src/trace/format/index.js';
import type { TraceValue } from '../../src/trace/format/index.js';
import { UsageError } from '../../src/util/index.js';

const i64 = (n: bigint | number): TraceValue => intValue(n);
const buf = (s: string): TraceValue => ({ kind: 'buffer', bytes: new Uint8Array([...s].map((c) => c.charCodeAt(0))) });

describe('printf: corpus cases', () => {
  it('length modifiers cut ints to C widths (call: printf_length_modifiers)', () => {
    const x = i64(0x12345678abcdefn);
    expect(formatPrintf('%hhx %hx %x %jx\n', [x, x, x, x])).toBe('ef cdef 78abcdef 12345678abcdef\n');
  });

  it('width and zero fill (other: `%5s %04x`)', () => {
    expect(formatPrintf('%5s %04x', [stringValue('ba'), i64(2)])).toBe('   ba 0002');
  });

  it('%c per byte, %-5s/%5s on enum names', () => {
    expect(formatPrintf('%c%c%c%c\n', [0x41, 0x42, 0x43, 0x44].map(i64))).toBe('ABCD\n');
    const e = (v: number): TraceValue => ({ kind: 'int', value: BigInt(v), type: { kind: 'int', bits: 64, signed: false, enumName: 'Foo' } });
    const enums = new Map([['Foo', new Map([[0n, 'A'], [1n, 'B'], [2n, 'C']])]]);
    expect(formatPrintf('%-5s %5s %s\n', [e(0), e(1), e(2)], { enums })).toBe('A         B C\n');
    expect(formatPrintf('%s %d', [e(7), e(2)], { enums })).toBe('7 2');
  });

  it('%r, %rx, %rh on buffers (call: buf tests)', () => {
    expect(formatPrintf('%r', [buf('Hello\0')])).toBe('Hello\\x00');
    expect(formatPrintf('%rx', [buf('Hello\0')])).toBe('\\x48\\x65\\x6c\\x6c\\x6f\\x00');
    expect(formatPrintf('%rh', [buf('Hello\0')])).toBe('48 65 6c 6c 6f 00');
  });

  it('%lu of a 64-bit all-ones value, %x of a byte-swapped int32, %x of int8', () => {
    expect(formatPrintf('%lu', [intValue(-1n, false)])).toBe('18446744073709551615');
    expect(formatPrintf('%x', [intValue(0x78563412, true, 32)])).toBe('78563412');
    expect(formatPrintf('first byte: %x\n', [intValue(0x39, true, 8)])).toBe('first byte: 39\n');
  });
});

describe('printf: bpftrace FormatSpec semantics', () => {
  it('%d and %u read a C int unless l/ll/j/z/t', () => {
    expect(formatPrintf('%d %ld %u %lu', [i64(2n ** 32n + 5n), i64(2n ** 32n + 5n), i64(-1), i64(-1)])).toBe('5 4294967301 4294967295 18446744073709551615');
    expect(formatPrintf('%hd %hhd', [i64(0x18000), i64(0x1ff)])).toBe('-32768 -1');
  });

  it('flags: - left, 0 fill before the sign (iostream, not C), + on signed, # base prefixes', () => {
    expect(formatPrintf('[%-5d][%5d][%05d][%+d][%+d]', [i64(42), i64(42), i64(-5), i64(5), i64(0)])).toBe('[42   ][   42][000-5][+5][+0]');
    expect(formatPrintf('%#x %#X %#o %#x %X', [i64(255), i64(255), i64(8), i64(0), i64(0xabc)])).toBe('0xff 0XFF 010 0 ABC');
    expect(formatPrintf('%+u %+x', [i64(5), i64(5)])).toBe('5 5');
  });

  it('precision is ignored outside floating conversions', () => {
    expect(formatPrintf('%.2s|%.3d', [stringValue('abcdef'), i64(7)])).toBe('abcdef|7');
  });

  it('%p prints a pointer as iostream does (0 for null)', () => {
    expect(formatPrintf('%p %p', [i64(0xffff888012345678n), i64(0)])).toBe('0xffff888012345678 0');
  });

  it('%s of any value is its print() form; %d of a bool or pointer uses the number', () => {
    const tuple: TraceValue = { kind: 'tuple', elems: [i64(1), stringValue('a')] };
    const ptr: TraceValue = { kind: 'int', value: 0x1000n, type: { kind: 'pointer', to: { kind: 'int', bits: 8, signed: true } } };
    expect(formatPrintf('%s %s %s %s', [tuple, { kind: 'bool', value: true }, i64(-3), ptr])).toBe('(1, a) true -3 0x1000');
    expect(formatPrintf('%d %d', [{ kind: 'bool', value: true }, ptr])).toBe('1 4096');
  });

  it('%% is literal and unknown text stays literal', () => {
    expect(formatPrintf('100%% %q %d', [i64(1)])).toBe('100% %q 1');
  });

  it('a non-integer under %d prints bpftrace\'s inline error', () => {
    expect(formatPrintf('%d', [stringValue('abc')])).toBe('!{invalid integer conversion: abc}');
  });
});

describe('printf: parsing and checks', () => {
  it('splits fragments and conversions', () => {
    const f = parsePrintfFormat('a %-08lld b %s%%');
    expect(f.fragments).toEqual(['a ', ' b ', '%']);
    expect(f.specs.map((s) => [s.specifier, s.length, s.width, s.leftAlign, s.zeroPad, s.offset])).toEqual([['d', 'll', 8, true, true, 2], ['s', '', 0, false, false, 12]]);
  });

  it('argument classes and bpftrace\'s count messages', () => {
    expect(['d', 'x', 'c', 'p', 'r', 'rh', 's', 'f', 'n'].map(printfArgClass)).toEqual(['integer', 'integer', 'integer', 'integer', 'buffer', 'buffer', 'any', undefined, undefined]);
    const f = parsePrintfFormat('%d %s');
    expect(printfArgCountError(f, 1)).toBe('not enough arguments for format string (1 supplied, 2 expected)');
    expect(printfArgCountError(f, 3)).toBe('too many arguments for format string (3 supplied, 2 expected)');
    expect(printfArgCountError(f, 2)).toBeUndefined();
    expect(() => formatPrintf('%d %d', [i64(1)])).toThrow(UsageError);
  });
});

describe('printf %gr: GFP flags as the kernel names them', () => {
  it('call: printf_gr, and compound names matched before single bits', () => {
    expect(formatPrintf('GFPFlags: %gr\n', [i64(1)])).toBe('GFPFlags: GFP_DMA\n');
    expect(gfpFlagsText(0xcc0n)).toBe('GFP_KERNEL');
    expect(gfpFlagsText(0xcc0n | 0x100n)).toBe('GFP_KERNEL|__GFP_ZERO');
    expect(gfpFlagsText(0x400cc0n)).toBe('GFP_KERNEL_ACCOUNT');
    expect(gfpFlagsText(0x820n)).toBe('GFP_ATOMIC');
    expect(gfpFlagsText(0n)).toBe('0');
    expect(gfpFlagsText(0x200n | 0x1n)).toBe('GFP_DMA|0x200');
  });
});
