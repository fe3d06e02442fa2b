/** Fuzzing the text front ends and the engines behind them: filter expressions, classic BPF listings, eBPF assembly (both syntaxes) and bytes. */

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileJit, formatProgram, interpret, parseProgram, stepBudget, validationError, type Insn } from '../../src/cbpf/index.js';
import { assembleConformance, assembleLlvm, decodeProgram, disassembleConformance, disassembleLlvm, encodeProgram } from '../../src/ebpf/index.js';
import { compileFilter, parseFilter, tokenize } from '../../src/filter/index.js';
import { compileTrace, type ResolvedProbe } from '../../src/trace/compiler.js';
import { RuntimeFault } from '../../src/util/index.js';
import { corpusDir, skipReason } from '../helpers/reference.js';
import { corpusFiles, expectTypedFailure, fuzzParams } from './fuzz-helpers.js';

const why = skipReason('fuzz text front ends', { corpus: 'pcap-filter/libpcap-tests.json' }) ?? skipReason('fuzz text front ends', { corpus: 'bpf-conformance/tests' });

/** Edits of a text at the level people make mistakes at: characters, words, lines. */
function arbTextMutation(seeds: readonly string[], alphabet: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 4 }), fc.constantFrom(...alphabet));
  return fc.tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([i, edits]) => {
    let s = seeds[i];
    for (const [at, op, w] of edits) {
      const p = s.length === 0 ? 0 : at % (s.length + 1);
      if (op === 0) s = s.slice(0, p) + w + s.slice(p);
      else if (op === 1) s = s.slice(0, p) + s.slice(p + 1 + (at % 5));
      else if (op === 2) s = s.slice(0, p) + w + s.slice(p + w.length);
      else if (op === 3) s = s.slice(0, p);
      else s = s.slice(p) + ' ' + s.slice(0, p);
    }
    return s;
  });
}

interface CorpusCase { kind: string; expr: string; linktype: string; optimized?: string[] | null; special?: string }

describe.skipIf(why !== undefined)('text front ends under mutation (seeded from ../shared/corpus)', () => {
  const cases = why ? [] : (JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as CorpusCase[]);
  const exprs = cases.filter((c) => c.kind === 'accept' && !c.special).map((c) => c.expr);
  const linkTypes = [...new Set(cases.map((c) => c.linktype))];
  const listings = cases.filter((c) => c.optimized && !c.special).map((c) => c.optimized!.join('\n'));
  const dataFiles = why ? [] : corpusFiles('bpf-conformance', /\.data$/).map((f) => readFileSync(f, 'utf8'));
  const asmSections = dataFiles.map((t) => /-- asm\n([\s\S]*?)(?=\n-- |$)/.exec(t)?.[1] ?? '').filter((s) => s.trim() !== '');

  it('has seeds: libpcap expressions and listings, conformance programs', () => {
    expect(exprs.length).toBeGreaterThan(2000);
    expect(listings.length).toBeGreaterThan(1500);
    expect(asmSections.length).toBeGreaterThan(250);
  });

  it('filter lexer, parser and compiler: typed one-line errors with a column, programs linear in the expression', () => {
    const alphabet = [' ', '(', ')', '[', ']', ':', '&', '|', '!', '-', '/', '0', '1', '0x', 'and', 'or', 'not', 'host', 'port', 'tcp', 'ip6', 'vlan', 'mpls', '"', '\\', '\u00e9', '\n', '4294967296', '.'];
    fc.assert(
      fc.property(arbTextMutation(exprs, alphabet), fc.constantFrom(...linkTypes), fc.boolean(), (expr, linkType, optimize) => {
        expectTypedFailure(() => tokenize(expr));
        expectTypedFailure(() => parseFilter(expr));
        let insns: Insn[] | undefined;
        const e = expectTypedFailure(() => { insns = compileFilter(expr, { linkType, optimize }).insns; });
        if (e === undefined && insns) {
          // Code per source character is bounded (802.11 and protochain blocks are the largest).
          expect(insns.length).toBeLessThanOrEqual(200 + 40 * expr.length);
          expect(validationError(insns, { mode: 'libpcap', loops: true })).toBeUndefined();
        }
      }),
      fuzzParams(2),
    );
  });

  it('classic BPF listings (-d, -dd, -ddd, bpf_asm): typed errors with a line; what parses validates or fails typed, and runs within its budget', () => {
    const texts = listings.flatMap((l) => {
      const p = parseProgram(l);
      return [l, formatProgram(p, 'dd'), formatProgram(p, 'ddd'), formatProgram(p, 'asm')];
    });
    const alphabet = [' ', '\n', '#', '0x', '4294967293', '-1', 'jeq', 'ja', 'ld', 'M[', ']', 'x', ',', '{', '}', '999', 'ret', 'L', ':'];
    fc.assert(
      fc.property(arbTextMutation(texts, alphabet), fc.uint8Array({ maxLength: 80 }), (text, packet) => {
        let prog: Insn[] | undefined;
        expectTypedFailure(() => { prog = parseProgram(text); });
        if (!prog) return;
        for (const mode of ['libpcap', 'kernel', 'seccomp'] as const) {
          const err = validationError(prog, { mode });
          if (err) expect(err.message).not.toMatch(/\n/);
        }
        // Whatever the validator says, the engines return a value or a typed fault, within length × (bytes + 1) steps.
        const a = expectTypedFailure(() => interpret(prog!, packet), [RuntimeFault]);
        const b = expectTypedFailure(() => compileJit(prog!)(packet), [RuntimeFault]);
        expect(b?.code).toBe(a?.code);
      }),
      fuzzParams(2),
    );
  });

  it('the issue\'s wrapping jump: rejected in every mode, and both engines stop it at the budget', () => {
    const prog = parseProgram('5\n0 0 0 0\n4 0 0 1\n7 0 0 0\n5 0 0 4294967293\n6 0 0 0\n');
    for (const mode of ['libpcap', 'kernel', 'seccomp'] as const) expect(validationError(prog, { mode })?.code).toBe('E_CBPF_BACKWARD_JUMP');
    const packet = new Uint8Array(100);
    expect(expectTypedFailure(() => interpret(prog, packet), [RuntimeFault])?.message).toBe(`program ran past its budget of ${stepBudget(5, 100)} instructions (at insn 1)`);
    expect(expectTypedFailure(() => compileJit(prog)(packet), [RuntimeFault])?.code).toBe('E_CBPF_STEPS');
  });

  it('trace programs (bpftrace\'s runtime cases, mutated): compiled, or refused with a typed error and a position', () => {
    const programs = why ? [] : corpusFiles('bpftrace-runtime', /^[a-z_]+$/).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('PROG ')).map((l) => l.slice(5)));
    expect(programs.length).toBeGreaterThan(300);
    const providers: Record<string, string> = { BEGIN: 'begin', END: 'end', begin: 'begin', end: 'end', t: 'tracepoint', tracepoint: 'tracepoint', i: 'interval', interval: 'interval', profile: 'profile', uprobe: 'uprobe', uretprobe: 'uretprobe', rawtracepoint: 'rawtracepoint' };
    // Probes resolve without a kernel: every provider by its name, tracepoints with no fields.
    const resolveProbe = (text: string): ResolvedProbe[] => {
      const provider = providers[text.split(':')[0]] ?? 'kprobe';
      return [{ provider, name: provider === 'begin' || provider === 'end' ? provider : text, ...(provider === 'tracepoint' ? { fields: [] } : {}) } as ResolvedProbe];
    };
    const alphabet = [' ', '(', ')', '{', '}', '[', ']', ';', ',', '$x', '@', '@m', '"', '+', '-', '=', '++', '0', '-1', 'str(', 'printf(', 'print(', 'hist(', 'count()', 'if', 'while', 'for', '.', '->', '$1', 'args', 'retval', 'BEGIN', '/', '?', ':', '!', 'struct ', '(uint8)', 'sizeof(', 'ntop(', 'exit()', 'delete(', 'let ', 'macro ', '%d', '%s', '9999999999999999999999', 'len(', 'has_key(', 'clear(', 'buf(', 'join(', 'signal('];
    fc.assert(
      fc.property(arbTextMutation(programs, alphabet), (text) => { expectTypedFailure(() => compileTrace(text, { resolveProbe, unsafe: true, types: { record: () => undefined } })); }),
      fuzzParams(4),
    );
  });

  it('eBPF assembly in both syntaxes: typed errors with a line and column', () => {
    const llvm = asmSections.map((a) => {
      try {
        return disassembleLlvm(assembleConformance(a));
      } catch {
        return '';
      }
    }).filter((s) => s !== '');
    const alphabet = [' ', '\n', '%r', 'r', 'w', '11', '-', '+', '0x', '*(u64 *)', '(', ')', 'goto', 'lddw', 'call', '=', ',', '<<=', 'exit', '4294967296', '-32769', 'll', ':', 'label'];
    fc.assert(
      fc.property(arbTextMutation(asmSections, alphabet), (text) => { expectTypedFailure(() => assembleConformance(text)); }),
      fuzzParams(2),
    );
    fc.assert(
      fc.property(arbTextMutation(llvm, alphabet), (text) => { expectTypedFailure(() => assembleLlvm(text)); }),
      fuzzParams(2),
    );
  });

  it('eBPF bytes: decoding is total, both disassemblers print anything, and the llvm listing reads back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.boolean(), (bytes, bigEndian) => {
        const insns = decodeProgram(bytes, { bigEndian });
        const text = disassembleLlvm(insns);
        disassembleConformance(insns);
        const again = expectTypedFailure(() => encodeProgram(assembleLlvm(text)));
        if (again === undefined && bytes.length % 8 === 0 && !bigEndian) expect(encodeProgram(assembleLlvm(text))).toEqual(encodeProgram(insns));
      }),
      fuzzParams(2),
    );
  });
});
