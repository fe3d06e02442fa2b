/** Opcode tables: helper ids and names, the forms every opcode decodes to. */

import { describe, expect, it } from 'vitest';
import { HELPER_FUNCS, describeInsn, helperId, helperName, formKind } from '../../src/ebpf/index.js';

describe('helper table', () => {
  it('numbers helpers as __BPF_FUNC_MAPPER does', () => {
    expect(helperId('map_lookup_elem')).toBe(1);
    expect(helperId('bpf_map_lookup_elem')).toBe(1);
    expect(helperName(2)).toBe('bpf_map_update_elem');
    expect(helperName(5)).toBe('bpf_ktime_get_ns');
    expect(helperName(12)).toBe('bpf_tail_call');
    expect(helperName(130)).toBe('bpf_ringbuf_output');
    expect(helperName(209)).toBe('bpf_user_ringbuf_drain');
    expect(helperName(211)).toBe('bpf_cgrp_storage_delete');
    expect(HELPER_FUNCS.length).toBe(212);
    expect(helperName(0)).toBeUndefined();
    expect(helperName(212)).toBeUndefined();
    expect(helperId('no_such_helper')).toBeUndefined();
    expect(helperId('unspec')).toBeUndefined();
  });

  it('names are unique', () => {
    expect(new Set(HELPER_FUNCS).size).toBe(HELPER_FUNCS.length);
  });
});

describe('forms', () => {
  const kind = (code: number): string | undefined => formKind(code);
  it('classifies the opcode space as RFC 9669 and Linux define it', () => {
    expect(kind(0x18)).toBe('lddw');
    expect(kind(0x10)).toBeUndefined(); // BPF_LD | BPF_IMM | BPF_H is not an instruction
    expect(kind(0x20)).toBe('ld_abs');
    expect(kind(0x38)).toBeUndefined(); // ld_abs dw
    expect(kind(0x50)).toBe('ld_ind');
    expect(kind(0x81)).toBe('ldx'); // MEMSX w
    expect(kind(0x99)).toBeUndefined(); // MEMSX dw
    expect(kind(0x7a)).toBe('st');
    expect(kind(0xc2)).toBeUndefined(); // ST | ATOMIC
    expect(kind(0xdb)).toBe('atomic');
    expect(kind(0x84)).toBe('neg');
    expect(kind(0x8c)).toBeUndefined(); // neg with BPF_X
    expect(kind(0xd7)).toBe('end');
    expect(kind(0xdf)).toBeUndefined(); // ALU64 END with TO_BE bit
    expect(kind(0x05)).toBe('ja');
    expect(kind(0x0d)).toBeUndefined();
    expect(kind(0x06)).toBe('gotol');
    expect(kind(0x86)).toBeUndefined(); // call in JMP32
    expect(kind(0x96)).toBeUndefined(); // exit in JMP32
    expect(kind(0x8d)).toBe('callx');
    expect(kind(0xe5)).toBe('may_goto');
    expect(kind(0xe6)).toBeUndefined();
    expect(kind(0xf5)).toBeUndefined();
    expect(kind(0xe4)).toBeUndefined(); // ALU op 0xe0
  });

  it('flags fields each form leaves unused', () => {
    const problems = (code: number, f: Partial<{ dst: number; src: number; off: number; imm: number }>): string[] =>
      describeInsn({ code, dst: 0, src: 0, off: 0, imm: 0, ...f }).problems.map((p) => p.field);
    expect(problems(0x07, { off: 1 })).toEqual(['off']);
    expect(problems(0x3f, { off: 1 })).toEqual([]); // sdiv
    expect(problems(0x37, { off: 2 })).toEqual(['off']);
    expect(problems(0xbf, { off: 32 })).toEqual([]); // movsx r, (s32)
    expect(problems(0xbc, { off: 32 })).toEqual(['off']); // no 32-bit movsx from 32 bits
    expect(problems(0xb7, { off: 8 })).toEqual(['off']); // movsx has no immediate form
    expect(problems(0xdc, { imm: 24 })).toEqual(['imm']);
    expect(problems(0x85, { src: 3 })).toEqual(['src']);
    expect(problems(0xdb, { imm: 0x02 })).toEqual(['imm']);
    expect(problems(0xd3, { imm: 0x100 })).toEqual([]); // 8-bit load-acquire
    expect(problems(0xd3, { imm: 0x00 })).toEqual(['imm']); // 8-bit atomic add does not exist
    expect(problems(0x95, { dst: 1, src: 1, off: 1, imm: 1 })).toEqual(['dst', 'src', 'off', 'imm']);
    expect(problems(0x30, { dst: 1 })).toEqual(['dst']);
  });
});
