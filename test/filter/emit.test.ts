/** emit: libpcap's block layout, long jumps, gotos; round trips through cfgFromProgram. */

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_ABS, BPF_B, insn, type Insn } from '../../src/cbpf/index.js';
import { emit } from '../../src/filter/emit.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import type { Block, Cfg } from '../../src/filter/cfg.js';
import { corpusDir, hasCorpus } from '../helpers/reference.js';
import { parseListing, runCbpf } from './cbpf-listing.js';

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
    expect(runCbpf(p, Uint8Array.of(5))).toBe(7);
    expect(runCbpf(p, Uint8Array.of(4))).toBe(0);
    expect(runCbpf(p, new Uint8Array(0))).toBe(0);
  });

  it('round-trips a program with a goto that is not a fall-through', () => {
    const p = parseListing(['(000) ldb      [0]', '(001) jeq      #0x1             jt 2\tjf 4', '(002) ld       #0x2', '(003) ja       5', '(004) ld       #0x3', '(005) ret']);
    expect(emit(cfgFromProgram(p))).toEqual(p);
  });
});

describe.skipIf(!hasCorpus('pcap-filter'))('emit reproduces libpcap listings (corpus round trip)', () => {
  it('parses every accept listing, rebuilds its CFG and emits the identical program', () => {
    const cases = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as { kind: string; special?: string; optimized: string[] | null; unoptimized: string[] }[];
    let n = 0;
    for (const c of cases) {
      if (c.kind !== 'accept' || c.special) continue;
      for (const listing of [c.unoptimized, c.optimized]) {
        if (!listing) continue;
        const p = parseListing(listing);
        // libpcap's protochain code loops backwards; a CFG cannot hold it, and says so.
        if (p.some((i) => i.code === 0x05 && i.k >= 0x80000000)) {
          expect(() => cfgFromProgram(p)).toThrow(expect.objectContaining({ code: 'CBPF_BACKWARD_JUMP' }));
          continue;
        }
        expect(emit(cfgFromProgram(p))).toEqual(p);
        n++;
      }
    }
    expect(n).toBeGreaterThan(4000);
  });
});
