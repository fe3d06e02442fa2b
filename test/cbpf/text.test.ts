/** Text formats of classic BPF: tcpdump -d/-dd/-ddd and bpf_asm, printed and read back for every opcode; parse errors; sock_filter bytes. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError, FormatError } from '../../src/util/index.js';
import { OPCODES, detectFormat, formatProgram, insn, parseProgram, programFromBytes, programToBytes, type Insn } from '../../src/cbpf/index.js';
import { arbProgram } from './arbitrary.js';

/** One instance of every known opcode (valid jumps inside a 3-instruction window, then returns). */
function everyOpcode(): Insn[] {
  // k is 0 where the text shows no k (tax, add x, ret a, ld #len...): no format can carry it.
  const shown = (f: string): boolean => !['x', 'jx', 'none', 'len', 'a'].includes(f);
  const prog = OPCODES.map((o) => insn(o.code, o.form === 'ja' ? 1 : shown(o.form) ? 15 : 0, o.form === 'jk' || o.form === 'jx' ? 1 : 0, o.form === 'jk' || o.form === 'jx' ? 2 : 0));
  return [...prog, insn(0x06, 0), insn(0x06, 1), insn(0x16)];
}

describe('formatProgram -d (libpcap bpf_image)', () => {
  it('prints the classic listing of "ip" on Ethernet', () => {
    const prog = [insn(0x28, 12), insn(0x15, 0x800, 0, 1), insn(0x06, 262144), insn(0x06, 0)];
    expect(formatProgram(prog, 'd')).toBe(
      '(000) ldh      [12]\n(001) jeq      #0x800           jt 2\tjf 3\n(002) ret      #262144\n(003) ret      #0\n',
    );
  });
  it('prints operands as bpf_image does: signed decimal offsets, hex immediates, absolute jump targets', () => {
    const lines = formatProgram(
      [insn(0x20, 0xffffffff), insn(0x50, 14), insn(0xb1, 14), insn(0x01, 15), insn(0x04, 0xffffffff), insn(0x54, 15), insn(0x05, 3), insn(0x61, 2), insn(0x16), insn(0x87), insn(0x80)],
      'd',
    ).split('\n');
    expect(lines.slice(0, 11)).toEqual([
      '(000) ld       [-1]',
      '(001) ldb      [x + 14]',
      '(002) ldxb     4*([14]&0xf)',
      '(003) ldx      #0xf',
      '(004) add      #-1',
      '(005) and      #0xf',
      '(006) ja       10',
      '(007) ldx      M[2]',
      // libpcap 1.10 leaves the padding after operand-less mnemonics.
      '(008) ret      ',
      '(009) txa      ',
      '(010) ld       #pktlen',
    ]);
  });
  it('names Linux ancillary loads and prints unknown encodings as unimp', () => {
    expect(formatProgram([insn(0x28, 0xfffff000), insn(0x30, 0xfffff030), insn(0x20, 0xfffff038), insn(0xff), insn(0x55, 0, 1, 2)], 'd').split('\n').slice(0, 5)).toEqual([
      '(000) ldh      [proto]',
      '(001) ldb      [vlanp]',
      '(002) ld       [random]',
      '(003) unimp    0xff',
      '(004) unimp    0x55             jt 6\tjf 7',
    ]);
  });
});

describe('formatProgram -dd and -ddd (tcpdump)', () => {
  it('-dd prints C initialisers with 8-digit k', () => {
    expect(formatProgram([insn(0x28, 12), insn(0x15, 0x800, 0, 1)], 'dd')).toBe('{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n');
  });
  it('-ddd prints the count, then decimal fields', () => {
    expect(formatProgram([insn(0x28, 12), insn(0x06, 0xffffffff)], 'ddd')).toBe('2\n40 0 0 12\n6 0 0 4294967295\n');
  });
});

describe('bpf_asm', () => {
  it('prints labels and the jump forms', () => {
    const text = formatProgram([insn(0x28, 12), insn(0x15, 0x800, 0, 2), insn(0xb1, 14), insn(0x06, 65535), insn(0x06, 0)], 'asm');
    expect(text).toBe('\tldh [12]\n\tjne #0x800, l4\n\tldx 4*([14]&0xf)\n\tret #65535\nl4:\n\tret #0\n');
  });
  it('reads the kernel documentation style', () => {
    const prog = parseProgram(`
      ; ARP on Ethernet
      ldh [12]
      jne #0x806, drop
      ret #-1
      drop: ret #0
    `);
    expect(prog).toEqual([insn(0x28, 12), insn(0x15, 0x806, 0, 1), insn(0x06, 0xffffffff), insn(0x06, 0)]);
  });
  it('reads every spelling bpf_asm accepts', () => {
    const prog = parseProgram(['ldi #1', 'ldxi #2', 'ld #len', 'ldx len', 'ldxb 4*([14]&0xf)', 'ld [x+4]', 'ldh [%x + 2]', 'ld vlan_pr', 'jmp l9', 'jlt #3, l9', 'jle x, l9', 'jeq %x, l9, l9', 'l9: ret %a'].join('\n'));
    expect(prog.map((p) => p.code)).toEqual([0x00, 0x01, 0x80, 0x81, 0xb1, 0x40, 0x48, 0x20, 0x05, 0x35, 0x2d, 0x1d, 0x16]);
    expect(prog[7].k).toBe(0xfffff030);
    expect(prog[9]).toEqual(insn(0x35, 3, 0, 2));
  });
});

describe('round trips', () => {
  it('every opcode survives each of the four formats', () => {
    const prog = everyOpcode();
    for (const f of ['d', 'dd', 'ddd', 'asm'] as const) {
      const text = formatProgram(prog, f);
      expect(detectFormat(text)).toBe(f);
      const back = parseProgram(text);
      // -d cannot show jt/jf/k of an unimp; every table opcode prints fully except 0x81 in -d.
      if (f === 'd') expect(back.filter((p) => p.code !== 0x81)).toEqual(prog.filter((p) => p.code !== 0x81));
      else expect(back).toEqual(prog);
    }
  });
  it('random valid programs survive -dd, -ddd and asm exactly, and -d up to 0x81', () => {
    fc.assert(
      fc.property(arbProgram(30), (prog) => {
        for (const f of ['dd', 'ddd', 'asm'] as const) expect(parseProgram(formatProgram(prog, f))).toEqual(prog);
        if (!prog.some((p) => p.code === 0x81)) expect(parseProgram(formatProgram(prog, 'd'))).toEqual(prog);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parse errors carry line and column', () => {
  const cases: [string, string, number, number][] = [
    ['ldh [12]\nfrob #1\nret #0', 'E_CBPF_MNEMONIC', 2, 1],
    ['ldh [12]\n  st #1\nret #0', 'E_CBPF_OPERAND', 2, 3],
    ['jeq #1, nowhere\nret #0', 'E_CBPF_LABEL', 1, 9],
    ['a: ret #0\na: ret #1', 'E_CBPF_LABEL', 2, 1],
    ['ld #0x1ffffffff\nret a', 'E_CBPF_RANGE', 1, 5],
    ['{ 0x28, 0, 0, 0x0c },\n{ 0x6, 300, 0, 0 },', 'E_CBPF_RANGE', 2, 8],
    ['{ 0x28, 0, 0, 0x0c },\nnonsense', 'E_CBPF_SYNTAX', 2, 1],
    ['3\n40 0 0 12\n6 0 0 0', 'E_CBPF_COUNT', 1, 1],
    ['(000) ldh      [12]\n(002) ret      #0', 'E_CBPF_SYNTAX', 2, 2],
    ['(000) jeq      #0x800           jt 0\tjf 1\n(001) ret #0', 'E_CBPF_JUMP_RANGE', 1, 36],
    ['   \n ; only a comment', 'E_CBPF_EMPTY', 1, 1],
  ];
  it.each(cases)('%j', (text, code, line, column) => {
    let err: unknown;
    try {
      parseProgram(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe(code);
    expect((err as ParseError).position).toMatchObject({ line, column });
  });
  it('a jump that needs more than 255 instructions is an error, not a silent wrap', () => {
    const body = Array.from({ length: 300 }, () => 'ld #0').join('\n');
    expect(() => parseProgram(`jeq #1, far\n${body}\nfar: ret #0`)).toThrow(/out of reach/);
  });
});

describe('sock_filter bytes', () => {
  it('lays out code, jt, jf, k little-endian', () => {
    expect(Array.from(programToBytes([insn(0x15, 0x800, 1, 2)]))).toEqual([0x15, 0, 1, 2, 0, 8, 0, 0]);
  });
  it('round-trips random programs and rejects a partial struct', () => {
    fc.assert(
      fc.property(arbProgram(20), (prog) => {
        expect(programFromBytes(programToBytes(prog))).toEqual(prog);
      }),
      { numRuns: 100 },
    );
    expect(() => programFromBytes(new Uint8Array(12))).toThrow(FormatError);
  });
});

describe('any encoding reads back', () => {
  it('arbitrary instructions survive -dd, -ddd and asm (unknown opcodes and wild jumps become .insn)', () => {
    const raw = fc.array(
      fc.record({ code: fc.integer({ min: 0, max: 0xffff }), jt: fc.integer({ min: 0, max: 255 }), jf: fc.integer({ min: 0, max: 255 }), k: fc.integer({ min: 0, max: 0xffffffff }) }),
      { minLength: 1, maxLength: 10 },
    );
    fc.assert(
      fc.property(raw, (prog: Insn[]) => {
        for (const f of ['dd', 'ddd'] as const) expect(parseProgram(formatProgram(prog, f))).toEqual(prog);
        // asm keeps what the instruction means: k where it is shown, jt/jf on conditional jumps.
        const back = parseProgram(formatProgram(prog, 'asm'));
        expect(back.map((p) => p.code)).toEqual(prog.map((p) => p.code));
      }),
      { numRuns: 300 },
    );
  });
});
