/** The bpf_conformance vectors against our assemblers: words from expected-bytecode.json, the reference disassembly, both syntaxes' round trips, and the negative files. */

import { describe, expect, it } from 'vitest';
import { skipReason } from '../helpers/reference.js';
import { loadConformanceDir, loadExpectedBytecode, type ConformanceCase } from '../helpers/bpf-conformance-data.js';
import {
  assembleConformance, assembleLlvm, checkProgram, decodeProgram, disassembleConformance, disassembleLlvm, encodeProgram,
  findProblems, type Insn,
} from '../../src/ebpf/index.js';
import { BpfkitError, ParseError } from '../../src/util/index.js';

const skip = skipReason('bpf_conformance assembler', { corpus: 'bpf-conformance/tests' });

function wordsOf(bytes: Uint8Array): string[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 8) out.push(`0x${v.getBigUint64(i, true).toString(16).padStart(16, '0')}`);
  return out;
}

/** The program of a case: `raw` wins over `asm` (as in the runner); byte tokens form slots 8 at a time. */
function programOf(c: ConformanceCase): Insn[] {
  if (c.raw) {
    const bytesForm = c.raw.length > 0 && c.raw.every((t) => /^[0-9a-f]{2}$/i.test(t));
    const bytes = bytesForm
      ? new Uint8Array(c.raw.map((t) => parseInt(t, 16)))
      : (() => {
          const b = new Uint8Array(c.raw.length * 8);
          const v = new DataView(b.buffer);
          c.raw.forEach((w, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(w)), true));
          return b;
        })();
    return decodeProgram(bytes);
  }
  return assembleConformance(c.asm ?? '');
}

describe.skipIf(skip)('bpf_conformance tests/*.data', () => {
  const cases = skip ? [] : loadConformanceDir('tests');
  const expected = skip ? {} : loadExpectedBytecode();

  it('has the 313 files the README lists, each with expected words', () => {
    expect(cases.length).toBe(313);
    for (const c of cases) expect(expected[c.name], c.name).toBeDefined();
  });

  it('assembles every file to exactly the expected words', () => {
    for (const c of cases) expect(wordsOf(encodeProgram(programOf(c))), c.name).toEqual(expected[c.name].words);
  });

  it('disassembles (conformance syntax) to the reference disassembler text, which reassembles to the same words', () => {
    for (const c of cases) {
      const e = expected[c.name];
      const insns = decodeProgram(encodeProgram(programOf(c)));
      const text = disassembleConformance(insns);
      expect(text.trimEnd().split('\n'), c.name).toEqual(e.ref_disasm);
      expect(wordsOf(encodeProgram(assembleConformance(text))), c.name).toEqual(e.words);
    }
  });

  it('round-trips every file through the llvm syntax (hex, decimal, helper names, labels)', () => {
    for (const c of cases) {
      const e = expected[c.name];
      const insns = decodeProgram(encodeProgram(programOf(c)));
      for (const opts of [{}, { decimal: true }, { helperNames: true, labels: true }]) {
        const text = disassembleLlvm(insns, opts);
        expect(wordsOf(encodeProgram(assembleLlvm(text))), `${c.name} ${JSON.stringify(opts)}`).toEqual(e.words);
      }
    }
  });

  it('passes the structural checks on every file', () => {
    for (const c of cases) expect(() => checkProgram(programOf(c)), c.name).not.toThrow();
  });
});

/** How each negative file must be rejected: an assembler error code or a check code. */
const NEGATIVE: Record<string, string> = {
  'empty.data': 'E_EBPF_EMPTY',
  'empty_instructions.data': 'E_EBPF_EMPTY',
  'invalid_unknown_directive.data': 'E_EBPF_EMPTY',
  'error.data': 'E_EBPF_UNINIT',
  'invalid_imm32_dec_range.data': 'E_EBPF_ASM_RANGE',
  'invalid_imm32_hex_range.data': 'E_EBPF_ASM_RANGE',
  'invalid_offset_range.data': 'E_EBPF_ASM_RANGE',
  'invalid_label.data': 'E_EBPF_ASM_LABEL',
  'invalid_lock.data': 'E_EBPF_ASM_OPERANDS',
  'invalid_lock2.data': 'E_EBPF_ASM_OPERANDS',
  'invalid_operand_count.data': 'E_EBPF_ASM_OPERANDS',
  'invalid_mnemonic.data': 'E_EBPF_ASM_MNEMONIC',
  'invalid_offset.data': 'E_EBPF_ASM_MEM',
  'invalid_register.data': 'E_EBPF_ASM_REG',
};

function rejection(c: ConformanceCase): { code: string; insn?: number; line?: number } | undefined {
  let insns: Insn[];
  try {
    insns = programOf(c);
  } catch (e) {
    if (e instanceof ParseError) return { code: e.code, line: e.position?.line };
    throw e;
  }
  // The conformance runners give the program r1 (memory), r2 (length) and r10.
  const p = findProblems(insns, { initialized: [1, 2, 10] })[0];
  return p && { code: p.code, insn: p.insn };
}

describe.skipIf(skipReason('bpf_conformance negative', { corpus: 'bpf-conformance/negative' }))('bpf_conformance negative/*.data', () => {
  const cases = loadConformanceDir('negative');

  it('has the 60 files, 45 of them unused-field files', () => {
    expect(cases.length).toBe(60);
    expect(cases.filter((c) => c.name.startsWith('unused-')).length).toBe(45);
  });

  it('rejects every unused-* file in check, at instruction 0, as a non-zero unused field', () => {
    for (const c of cases.filter((x) => x.name.startsWith('unused-'))) {
      const field = c.name.replace(/\.data$/, '').split('-').pop()!;
      const r = rejection(c);
      expect(r, c.name).toEqual({ code: 'E_EBPF_FIELD', insn: 0 });
      const msg = findProblems(programOf(c))[0].message;
      expect(msg, c.name).toContain(field === 'offset' ? 'off' : field);
    }
  });

  it('rejects the other files at assembly or in check with the expected code', () => {
    for (const [name, code] of Object.entries(NEGATIVE)) {
      const c = cases.find((x) => x.name === name)!;
      expect(c, name).toBeDefined();
      expect(rejection(c)?.code, name).toBe(code);
    }
  });

  it('assembly errors carry line and column', () => {
    const c = cases.find((x) => x.name === 'invalid_register.data')!;
    try {
      assembleConformance(c.asm!);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BpfkitError);
      expect((e as BpfkitError).position).toEqual({ line: 1, column: 9 });
    }
  });

  it('incorrect_return_value_high_bits is a runner case: the program is valid and its expected result is not the loaded value', () => {
    const c = cases.find((x) => x.name === 'incorrect_return_value_high_bits.data')!;
    expect(rejection(c)).toBeUndefined();
    const loaded = new DataView(c.mem.buffer).getBigUint64(2, true);
    expect(c.result).not.toBe(loaded);
    expect(Object.keys(NEGATIVE).length + 45 + 1).toBe(60);
  });
});
