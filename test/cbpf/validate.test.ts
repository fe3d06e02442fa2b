/** The validators rule by rule: each error code, the instruction it names, and the programs each mode accepts. */

import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/util/index.js';
import { insn, parseProgram, validate, validationError, type Insn, type ValidateMode } from '../../src/cbpf/index.js';

function rejects(prog: Insn[] | string, mode: ValidateMode): { code: string; insn: number | undefined } {
  const p = typeof prog === 'string' ? parseProgram(prog) : prog;
  const e = validationError(p, { mode });
  expect(e, `expected ${mode} to reject`).toBeInstanceOf(ValidationError);
  return { code: e!.code, insn: e!.position?.insn };
}

const ok = (prog: Insn[] | string, mode: ValidateMode): void => {
  expect(() => validate(typeof prog === 'string' ? parseProgram(prog) : prog, { mode })).not.toThrow();
};

describe('rules shared by every mode', () => {
  const modes: ValidateMode[] = ['libpcap', 'kernel', 'seccomp'];
  it.each(modes)('%s: empty program', (mode) => {
    expect(rejects([], mode)).toEqual({ code: 'E_CBPF_EMPTY', insn: 0 });
  });
  it.each(modes)('%s: scratch index past M[15]', (mode) => {
    expect(rejects([insn(0x00, 0), insn(0x02, 16), insn(0x06, 0)], mode)).toEqual({ code: 'E_CBPF_MEM_INDEX', insn: 1 });
  });
  it.each(modes)('%s: division by a constant zero', (mode) => {
    expect(rejects([insn(0x00, 1), insn(0x34, 0), insn(0x16)], mode)).toEqual({ code: 'E_CBPF_DIV_ZERO', insn: 1 });
  });
  it.each(modes)('%s: conditional jump past the end', (mode) => {
    expect(rejects([insn(0x15, 0, 0, 2), insn(0x06, 0)], mode)).toEqual({ code: 'E_CBPF_JUMP_RANGE', insn: 0 });
  });
  it.each(modes)('%s: must end in ret', (mode) => {
    expect(rejects([insn(0x06, 0), insn(0x00, 0)], mode)).toEqual({ code: 'E_CBPF_NO_RET', insn: 1 });
  });
  it.each(modes)('%s: accepts a small filter', (mode) => {
    ok('ld [0]\njeq #59, l1, l2\nl1: ret #0x7fff0000\nl2: ret #0', mode);
  });
});

describe('libpcap (bpf_validate)', () => {
  it('is lenient about encodings that only name a class and mode', () => {
    // 0x08 is BPF_LD|BPF_H|BPF_IMM: not an instruction bpf_filter runs, yet bpf_validate passes it.
    ok([insn(0x08, 0), insn(0x06, 0)], 'libpcap');
  });
  it('rejects an unknown ALU operation and an unknown jump', () => {
    expect(rejects([insn(0xb4, 0), insn(0x06, 0)], 'libpcap')).toEqual({ code: 'E_CBPF_OPCODE', insn: 0 });
    expect(rejects([insn(0x55, 0), insn(0x06, 0)], 'libpcap')).toEqual({ code: 'E_CBPF_OPCODE', insn: 0 });
  });
  it('rejects a backward ja written as a wrapping offset unless loops are allowed (protochain), and never past the end', () => {
    expect(rejects([insn(0x00, 0), insn(0x05, 0xfffffffe), insn(0x06, 0)], 'libpcap')).toEqual({ code: 'E_CBPF_BACKWARD_JUMP', insn: 1 });
    // The case: `5 0 0 4294967293` at instruction 3 of 5 jumps back to 1.
    const wrap = parseProgram('5\n0 0 0 0\n7 0 0 0\n4 0 0 1\n5 0 0 4294967293\n6 0 0 0\n');
    for (const mode of ['libpcap', 'kernel', 'seccomp'] as const) expect(rejects(wrap, mode)).toEqual({ code: 'E_CBPF_BACKWARD_JUMP', insn: 3 });
    expect(() => validate([insn(0x00, 0), insn(0x05, 0xfffffffe), insn(0x06, 0)], { mode: 'libpcap', loops: true })).not.toThrow();
    expect(rejects([insn(0x05, 1), insn(0x06, 0)], 'libpcap')).toEqual({ code: 'E_CBPF_JUMP_RANGE', insn: 0 });
  });
  it('rejects fields a sock_filter cannot hold', () => {
    for (const bad of [{ code: 0x06, jt: -1, jf: 0, k: 0 }, { code: 0x06, jt: 0, jf: 256, k: 0 }, { code: 0x06, jt: 0, jf: 0, k: 2 ** 32 }, { code: 0x10000, jt: 0, jf: 0, k: 0 }, { code: 0x06, jt: 0.5, jf: 0, k: 0 }]) {
      expect(rejects([bad], 'libpcap')).toEqual({ code: 'E_CBPF_FIELD', insn: 0 });
    }
  });
  it('accepts any ret class encoding, shifts of 32 and unknown ancillary offsets', () => {
    ok([insn(0x0e)], 'libpcap');
    ok('ld #1\nlsh #40\nret a', 'libpcap');
    ok([insn(0x20, 0xfffff100), insn(0x06, 0)], 'libpcap');
  });
});

describe('kernel (bpf_check_classic)', () => {
  it('rejects opcodes outside its table', () => {
    expect(rejects([insn(0x08, 0), insn(0x06, 0)], 'kernel')).toEqual({ code: 'E_CBPF_OPCODE', insn: 0 });
    expect(rejects([insn(0x0e)], 'kernel')).toEqual({ code: 'E_CBPF_OPCODE', insn: 0 });
  });
  it('rejects constant shifts of 32 or more', () => {
    expect(rejects('ld #1\nlsh #32\nret a', 'kernel')).toEqual({ code: 'E_CBPF_SHIFT', insn: 1 });
    ok('ld #1\nrsh #31\nret a', 'kernel');
  });
  it('allows forward ja only', () => {
    expect(rejects([insn(0x00, 0), insn(0x05, 0xfffffffe), insn(0x06, 0)], 'kernel')).toEqual({ code: 'E_CBPF_BACKWARD_JUMP', insn: 1 });
    expect(rejects([insn(0x00, 0), insn(0x05, 1), insn(0x06, 0)], 'kernel')).toEqual({ code: 'E_CBPF_JUMP_RANGE', insn: 1 });
  });
  it('rejects unknown ancillary offsets and accepts known ones', () => {
    expect(rejects([insn(0x20, 0xfffff040), insn(0x06, 0)], 'kernel')).toEqual({ code: 'E_CBPF_ANCILLARY', insn: 0 });
    ok('ld vlan_tci\nldb proto\nldh rand\nret a', 'kernel');
  });
  it('rejects reading scratch memory not written on every path', () => {
    expect(rejects('ld M[2]\nret a', 'kernel')).toEqual({ code: 'E_CBPF_MEM_UNINIT', insn: 0 });
    expect(rejects('ld [0]\njeq #1, l1\nst M[2]\nl1: ld M[2]\nret a', 'kernel')).toEqual({ code: 'E_CBPF_MEM_UNINIT', insn: 3 });
    ok('ld [0]\nst M[2]\njeq #1, l1\nld #3\nl1: ld M[2]\nret a', 'kernel');
    // libpcap does not check this.
    ok('ld M[2]\nret a', 'libpcap');
  });
  it('takes at most 4096 instructions', () => {
    const prog = Array.from({ length: 4097 }, () => insn(0x06, 0));
    expect(rejects(prog, 'kernel')).toEqual({ code: 'E_CBPF_TOO_LONG', insn: 4096 });
    ok(prog.slice(1), 'kernel');
    ok(prog, 'libpcap');
  });
});

describe('seccomp (seccomp_check_filter)', () => {
  it('allows aligned word loads inside struct seccomp_data only', () => {
    ok('ld [0]\nld [4]\nld [60]\nret a', 'seccomp');
    expect(rejects('ld [64]\nret a', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_LOAD', insn: 0 });
    expect(rejects('ld [0]\nld [2]\nret a', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_LOAD', insn: 1 });
  });
  it('rejects packet-only instructions and mod', () => {
    expect(rejects('ldh [0]\nret a', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_OPCODE', insn: 0 });
    expect(rejects('ldx #1\nld [x + 0]\nret a', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_OPCODE', insn: 1 });
    expect(rejects('ldx 4*([0]&0xf)\nret #0', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_OPCODE', insn: 0 });
    expect(rejects('ld [0]\nmod #3\nret a', 'seccomp')).toEqual({ code: 'E_CBPF_SECCOMP_OPCODE', insn: 1 });
  });
  it('allows ld #len and ldx #len (they read sizeof(struct seccomp_data))', () => {
    ok('ld #len\nldx #len\nret a', 'seccomp');
  });
  it('applies the kernel rules first', () => {
    expect(rejects('ld M[0]\nret a', 'seccomp').code).toBe('E_CBPF_MEM_UNINIT');
  });
});

describe('errors', () => {
  it('say which instruction and carry a stable code', () => {
    try {
      validate(parseProgram('ld #1\nlsh #33\nret a'), { mode: 'kernel' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).message).toBe('shift by 33 (must be below 32) (at insn 1)');
    }
  });
});
