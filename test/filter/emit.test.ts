/** emit: libpcap's block layout, long jumps, gotos; round trips through cfgFromProgram. */

import { describe, expect, it } from 'vitest';
import { BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_ABS, BPF_B, insn, interpret, parseProgram, type Insn } from '../../src/cbpf/index.js';
import { emit } from '../../src/filter/emit.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import type { Block, Cfg } from '../../src/filter/cfg.js';

const ret = (id: number, k: number): Block => ({ id, stmts: [], term: { kind: 'return', code: BPF_RET | BPF_K, k } });
const test = (id: number, k: number, jt: Block, jf: Block, stmts: Insn[] = []): Block => ({ id, stmts, term: { kind: 'branch', code: BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf } });

describe('emit', () => {
  it('lays out the true successor right after a test and the false one after it', () => {
    const acc = ret(1, 96);
    const rej = ret(2, 0);
    const cfg: Cfg = { entry: test(0, 0x800, acc, rej, [insn(BPF_LD | BPF_ABS | BPF_B, 12)]) };
    expect(emit(cfg)).toEqual([insn(0x30, 12), insn(0x15, 0x800, 0, 1), insn(0x06, 96), insn(0x06, 0)]);
  });

  it('emits a shared block once', () => {
    const rej = ret(9, 0);
    const acc = ret(8, 1);
    const b2 = test(2, 2, acc, rej);
    const cfg: Cfg = { entry: test(1, 1, b2, rej) };
    const p = emit(cfg);
    expect(p).toHaveLength(4);
    expect(p.filter((i) => i.code === 0x06 && i.k === 0)).toHaveLength(1);
  });

  it('inserts a ja when a jump offset exceeds 255, and the program still means the same', () => {
    const rej = ret(1000, 0);
    const acc = ret(1001, 7);
    // A test whose false target sits 300 statements away.
    const filler = Array.from({ length: 300 }, () => insn(BPF_LD | BPF_K, 1));
    const mid: Block = { id: 2, stmts: filler, term: { kind: 'branch', code: BPF_JMP | BPF_JEQ | BPF_K, k: 1, jt: acc, jf: rej } };
    const entry = test(1, 5, mid, rej, [insn(BPF_LD | BPF_ABS | BPF_B, 0)]);
    const p = emit({ entry });
    expect(p.some((i) => i.code === 0x05)).toBe(true);
    for (const i of p) if (i.code !== 0x05) expect(i.jt < 256 && i.jf < 256).toBe(true);
    expect(interpret(p, Uint8Array.of(5))).toBe(7);
    expect(interpret(p, Uint8Array.of(4))).toBe(0);
    expect(interpret(p, new Uint8Array(0))).toBe(0);
  });

  it('round-trips a program with a goto that is not a fall-through', () => {
    const p = parseProgram(['(000) ldb      [0]', '(001) jeq      #0x1             jt 2\tjf 4', '(002) ld       #0x2', '(003) ja       5', '(004) ld       #0x3', '(005) ret'].join('\n'), 'd');
    expect(emit(cfgFromProgram(p))).toEqual(p);
  });

  it('inserts two ja when both targets are far, the true one first', () => {
    const far1 = ret(50, 1);
    const far2 = ret(51, 2);
    const pad = (id: number, next: Block): Block => ({ id, stmts: Array.from({ length: 150 }, () => insn(BPF_LD | BPF_K, id)), term: { kind: 'branch', code: BPF_JMP | BPF_JEQ | BPF_K, k: 0xdead, jt: far1, jf: next } });
    const chain = pad(3, pad(4, far2));
    const entry = test(1, 9, chain, chain, [insn(BPF_LD | BPF_ABS | BPF_B, 0)]);
    // Route the entry's two edges to the far returns directly.
    entry.term = { kind: 'branch', code: BPF_JMP | BPF_JEQ | BPF_K, k: 9, jt: far1, jf: far2 };
    const mid: Block = { id: 0, stmts: [insn(BPF_LD | BPF_ABS | BPF_B, 1)], term: { kind: 'branch', code: BPF_JMP | BPF_JEQ | BPF_K, k: 1, jt: entry, jf: chain } };
    const p = emit({ entry: mid });
    const at = p.findIndex((i) => i.code === 0x15 && i.k === 9);
    expect(p[at].jt).toBe(0);
    expect(p[at].jf).toBe(1);
    expect(p[at + 1].code).toBe(0x05);
    expect(p[at + 2].code).toBe(0x05);
    expect(interpret(p, Uint8Array.of(9, 1))).toBe(1);
    expect(interpret(p, Uint8Array.of(8, 1))).toBe(2);
  });

  it('refuses a graph with a cycle', () => {
    const b: Block = { id: 1, stmts: [], term: { kind: 'return', code: 0x06, k: 0 } };
    const a: Block = { id: 0, stmts: [], term: { kind: 'branch', code: 0x15, k: 0, jt: b, jf: b } };
    b.term = { kind: 'branch', code: 0x15, k: 0, jt: a, jf: a };
    expect(() => emit({ entry: a })).toThrow(expect.objectContaining({ code: 'E_FILTER_CFG_CYCLE' }));
  });
});

describe('cfgFromProgram', () => {
  it('refuses programs that are not filters, saying which instruction', () => {
    expect(() => cfgFromProgram([])).toThrow(expect.objectContaining({ code: 'E_CBPF_EMPTY' }));
    expect(() => cfgFromProgram([insn(0x15, 0, 5, 0), insn(0x06, 0)])).toThrow(expect.objectContaining({ code: 'E_CBPF_BAD_JUMP', position: { insn: 0 } }));
    expect(() => cfgFromProgram([insn(0x06, 0), insn(0x00, 1)])).toThrow(expect.objectContaining({ code: 'E_CBPF_NO_RETURN', position: { insn: 1 } }));
    expect(() => cfgFromProgram([insn(0x00, 1), insn(0x05, 0xfffffffe), insn(0x06, 0)])).toThrow(expect.objectContaining({ code: 'E_CBPF_BACKWARD_JUMP', position: { insn: 1 } }));
    expect(() => cfgFromProgram([insn(0x75, 0, 0, 0), insn(0x06, 0)])).toThrow(expect.objectContaining({ code: 'E_CBPF_BAD_JUMP' }));
  });

  it('makes a goto where straight-line code runs into a jump target', () => {
    const p = parseProgram(['(000) ldb      [0]', '(001) jeq      #0x1             jt 3\tjf 2', '(002) ld       #0x5', '(003) ret'].join('\n'), 'd');
    const cfg = cfgFromProgram(p);
    expect(emit(cfg)).toEqual(p);
    expect(interpret(emit(cfg), Uint8Array.of(1))).toBe(1);
    expect(interpret(emit(cfg), Uint8Array.of(2))).toBe(5);
  });
});
