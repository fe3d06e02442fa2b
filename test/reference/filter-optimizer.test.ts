/**
 * The optimizer against libpcap's test corpus: for every accept case, libpcap's unoptimized
 * listing is rebuilt as a CFG, optimized and emitted; the instruction count is compared with
 * libpcap's optimized listing, and the optimized program must return what the unoptimized one
 * returns on every corpus packet of that link type and on generated packets.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BPF_ABS, BPF_CLASS, BPF_IND, BPF_JMP, BPF_LD, BPF_MODE, BPF_SIZE, BPF_SRC, BPF_K, BPF_H, BPF_B, compileJit, parseProgram, type Insn } from '../../src/cbpf/index.js';
import { readCapture, type Packet } from '../../src/pcap/index.js';
import { optimizeWithStats } from '../../src/filter/optimize/index.js';
import { emit } from '../../src/filter/emit.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';

interface AcceptCase {
  kind: string;
  name: string;
  expr: string;
  linktype: string;
  special?: string;
  optimizer_error?: boolean;
  optimized: string[] | null;
  unoptimized: string[];
}

const why = skipReason('filter optimizer vs libpcap corpus', { corpus: 'pcap-filter/libpcap-tests.json' });

/** Corpus packets by link type name, at most `cap` per link type (spread over files). */
function loadPackets(cap: number): Map<string, Packet[]> {
  const byName = new Map<string, Packet[]>();
  const manifest = JSON.parse(readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')) as { file: string; linktype: string | null; dlt_value: number | null; file_level_error?: boolean }[];
  const nameOf = new Map<number, string>();
  const files: string[] = [];
  for (const m of manifest) {
    if (m.linktype && m.dlt_value !== null) nameOf.set(m.dlt_value, m.linktype);
    if (!m.file_level_error) files.push(path.join(corpusDir, 'pcaps', m.file));
  }
  const dir = path.join(corpusDir, 'pcap-filter/savefiles/filter');
  if (existsSync(dir)) for (const f of readdirSync(dir)) files.push(path.join(dir, f));
  const unreadable: string[] = [];
  for (const f of files) {
    let pkts: Packet[];
    try {
      // Packets before any damage are kept; a file that cannot be opened at all is counted.
      pkts = readCapture(new Uint8Array(readFileSync(f))).packets;
    } catch (e) {
      unreadable.push(`${f}: ${(e as Error).message}`);
      continue;
    }
    for (const p of pkts.slice(0, 20)) {
      const name = nameOf.get(p.linkType);
      if (name === undefined) continue;
      const l = byName.get(name) ?? [];
      if (l.length < cap) l.push(p);
      byName.set(name, l);
    }
  }
  // The manifest leaves out the files libpcap refuses, and the filter savefiles all open: nothing may be dropped here.
  expect(unreadable).toEqual([]);
  return byName;
}

/**
 * Offsets the program loads from, each with the constants compared after that load: what a
 * directed packet needs. An indexed load `[x + k]` is probed at k plus each small constant
 * the program loads (header lengths) and plus typical header lengths.
 */
interface Probe {
  k: number;
  size: number;
  consts: number[];
}

function probes(p: readonly Insn[]): { loads: Probe[]; lengths: number[]; span: number } {
  const loads: Probe[] = [];
  const imms = new Set<number>([0]);
  for (const i of p) if ((BPF_CLASS(i.code) === BPF_LD || BPF_CLASS(i.code) === 0x01 || BPF_CLASS(i.code) === 0x04) && BPF_SRC(i.code) === BPF_K && i.k < 1400) imms.add(i.k);
  let current: Probe[] = [];
  for (const i of p) {
    const size = BPF_SIZE(i.code) === BPF_H ? 2 : BPF_SIZE(i.code) === BPF_B ? 1 : 4;
    if (BPF_CLASS(i.code) === BPF_LD && BPF_MODE(i.code) === BPF_ABS && i.k < 0x10000) {
      current = [{ k: i.k, size, consts: [] }];
      loads.push(...current);
    }
    if (BPF_CLASS(i.code) === BPF_LD && BPF_MODE(i.code) === BPF_IND && i.k < 0x10000) {
      current = [];
      for (const c of imms) current.push({ k: i.k + c, size, consts: [] });
      for (let hl = 20; hl <= 60; hl += 4) for (const base of [0, 14, 16, 4, 24, 32]) current.push({ k: i.k + base + hl, size, consts: [] });
      loads.push(...current);
    }
    if (BPF_CLASS(i.code) === BPF_JMP && BPF_SRC(i.code) === BPF_K) for (const l of current) l.consts.push(i.k);
  }
  for (const l of loads) if (l.consts.length === 0) l.consts.push(0);
  // Lengths where a load just fits or just does not: where truncation changes verdicts.
  const lengths = [...new Set(loads.flatMap((l) => [l.k + l.size - 1, l.k + l.size]))].filter((n) => n >= 0 && n <= 1600);
  let span = 16;
  for (const l of loads) span = Math.max(span, l.k + l.size + 8);
  return { loads, lengths: lengths.length ? lengths : [0], span: Math.min(span, 1600) };
}

/** Packets built to hit the program's tests: loaded fields often hold the constants compared with them. */
function directedPacket(pr: ReturnType<typeof probes>): fc.Arbitrary<{ data: Uint8Array; wirelen: number }> {
  return fc
    .record({
      len: fc.oneof(fc.integer({ min: 0, max: pr.span }), fc.constantFrom(...pr.lengths), fc.constant(pr.span)),
      seed: fc.uint8Array({ minLength: pr.span, maxLength: pr.span }),
      picks: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 24 }),
      extra: fc.nat(100),
    })
    .map(({ len, seed, picks, extra }) => {
      const data = seed.slice(0, len);
      for (const [li, ci] of picks) {
        if (pr.loads.length === 0) break;
        const { k, size, consts } = pr.loads[li % pr.loads.length];
        const c = consts[ci % consts.length];
        for (let b = 0; b < size; b++) if (k + b < data.length) data[k + b] = (c >>> (8 * (size - 1 - b))) & 0xff;
      }
      return { data, wirelen: len + (extra % 3 === 0 ? extra : 0) };
    });
}

describe.skipIf(why !== undefined)('filter optimizer vs libpcap (corpus pcap-filter/libpcap-tests.json)', () => {
  const cases = why ? [] : (JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as AcceptCase[]).filter((c) => c.kind === 'accept' && !c.special);
  const programs = cases.map((c) => parseProgram(c.unoptimized.join('\n'), 'd'));
  const loops = (p: Insn[]): boolean => p.some((i) => i.code === 0x05 && i.k >= 0x80000000);

  it('optimized count <= libpcap on >= 99% of accept cases, and total <= libpcap total', () => {
    let n = 0;
    let le = 0;
    let ours = 0;
    let theirs = 0;
    const worse: string[] = [];
    cases.forEach((c, i) => {
      if (!c.optimized || loops(programs[i])) return;
      const r = optimizeWithStats(cfgFromProgram(programs[i]));
      expect(r.stalled).toBe(false);
      const q = emit(r.cfg);
      n++;
      ours += q.length;
      theirs += c.optimized.length;
      if (q.length <= c.optimized.length) le++;
      else worse.push(`${c.name}: ${q.length} vs ${c.optimized.length}`);
    });
    console.log(`[filter-optimizer] ${n} cases: ours <= libpcap on ${le} (${((100 * le) / n).toFixed(1)}%), total ${ours} vs libpcap ${theirs}; worse: ${worse.slice(0, 8).join(', ')}`);
    expectFloor('filter-optimizer: cases compared', n, 2080);
    expectFloor('filter-optimizer: le / n', le / n, 0.99);
    expect(ours).toBeLessThanOrEqual(theirs);
  });

  it('reports "rejects all packets" exactly where libpcap does', () => {
    let n = 0;
    cases.forEach((c, i) => {
      if (!c.optimizer_error || loops(programs[i])) return;
      n++;
      expect(optimizeWithStats(cfgFromProgram(programs[i])).rejectsAll, c.name).toBe(true);
    });
    cases.forEach((c, i) => {
      if (!c.optimized || loops(programs[i])) return;
      expect(optimizeWithStats(cfgFromProgram(programs[i])).rejectsAll, c.name).toBe(false);
    });
    expectFloor('filter-optimizer: rejects-all cases', n, 37);
  });

  it('exact model: optimized returns what unoptimized returns on every corpus packet and on generated packets', () => {
    const packets = loadPackets(400);
    let runs = 0;
    cases.forEach((c, i) => {
      const p = programs[i];
      if (loops(p)) return;
      const q = emit(optimizeWithStats(cfgFromProgram(p), { model: 'exact' }).cfg);
      // Both through the JIT: thousands of runs per program (the JIT is checked against the interpreter in test/cbpf).
      const runP = compileJit(p);
      const runQ = compileJit(q);
      for (const pkt of packets.get(c.linktype) ?? []) {
        runs++;
        const wirelen = Math.max(pkt.origLen, pkt.data.length);
        if (runQ(pkt.data, wirelen) !== runP(pkt.data, wirelen)) expect.fail(`${c.name} (${c.expr}) differs on a corpus packet`);
      }
      const pr = probes(p);
      fc.assert(
        fc.property(directedPacket(pr), ({ data, wirelen }) => runQ(data, wirelen) === runP(data, wirelen)),
        { numRuns: 100, seed: i },
      );
      runs += 100;
    });
    console.log(`[filter-optimizer] exact model: ${runs} packet runs compared`);
    expectFloor('filter-optimizer: runs', runs, 425_000);
  });

  // The default model is libpcap's (tcpdump's): a load is a value that is always there. Its
  // programs must select what libpcap's optimized listing selects on the corpus packets
  // (short ones included), and return what the unoptimized program returns on every
  // generated packet that neither program aborts on.
  it("libpcap's model: libpcap's optimized selection on corpus packets, the unoptimized one wherever nothing aborts", () => {
    const packets = loadPackets(400);
    const probe = (p: readonly Insn[]): Insn[] => p.map((x) => ((x.code & 0x07) === 0x06 ? { code: 0x06, k: 1, jt: 0, jf: 0 } : x));
    let runs = 0;
    const differ: string[] = [];
    cases.forEach((c, i) => {
      const p = programs[i];
      if (loops(p) || !c.optimized) return;
      const q = emit(optimizeWithStats(cfgFromProgram(p)).cfg);
      const ref = compileJit(parseProgram(c.optimized.join('\n'), 'd'));
      const runP = compileJit(p);
      const runQ = compileJit(q);
      for (const pkt of packets.get(c.linktype) ?? []) {
        runs++;
        const wirelen = Math.max(pkt.origLen, pkt.data.length);
        if (runQ(pkt.data, wirelen) !== ref(pkt.data, wirelen)) {
          differ.push(`${c.name} (${c.expr}) differs from libpcap's optimized program on a ${pkt.data.length}-byte corpus packet`);
          break;
        }
      }
      const abortsP = compileJit(probe(p));
      const abortsQ = compileJit(probe(q));
      fc.assert(
        fc.property(directedPacket(probes(p)), ({ data, wirelen }) => abortsP(data, wirelen) === 0 || abortsQ(data, wirelen) === 0 || runQ(data, wirelen) === runP(data, wirelen)),
        { numRuns: 100, seed: i },
      );
      runs += 100;
    });
    console.log(`[filter-optimizer] libpcap model: ${runs} packet runs compared, ${differ.length} cases differ from libpcap's optimized listing`);
    if (differ.length) console.log(`[filter-optimizer] ${differ.join('\n  ')}`);
    expect(differ).toEqual([]);
    expectFloor('filter-optimizer: libpcap-model runs', runs, 400_000);
  });
});
