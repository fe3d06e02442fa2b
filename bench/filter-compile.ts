/**
 * Benchmark: the filter compiler against libpcap on the accept cases of libpcap's own test
 * corpus, in one run: total optimized instruction counts (ours vs libpcap's listings), the share
 * of cases where ours is no longer, and compile time per expression (ours in this process,
 * libpcap's `pcap_compile` timed inside the C helper). Never fails on a number.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProgram, type Insn } from '../src/cbpf/index.js';
import { cfgFromProgram } from '../src/filter/cfg-from-program.js';
import { emit } from '../src/filter/emit.js';
import { compileFilter, resolverFromTables, type CompileFilterOptions, type NameTables } from '../src/filter/index.js';
import { optimizeWithStats } from '../src/filter/optimize/index.js';
import { libpcapCompileTimeMany, libpcapMissing, type CompileOptions } from '../test/helpers/libpcap.js';
import { corpusDir, skipReason } from '../test/helpers/reference.js';

interface AcceptCase {
  kind: string;
  expr: string;
  linktype: string;
  special?: string;
  snaplen?: number;
  netmask?: string;
  linuxext?: boolean;
  generate_offline_filter?: 'unswapped' | 'swapped';
  optimized: string[] | null;
  unoptimized: string[];
}

/** Ours vs libpcap over many programs. */
interface Tally {
  n: number;
  le: number;
  ours: number;
  theirs: number;
}

/** How many times each expression is compiled when timing (ours, libpcap's). */
const OUR_REPS = 3;
const LIBPCAP_REPS = 20;

function tallyLine(label: string, t: Tally): string {
  return `${label.padEnd(46)} ${String(t.n).padStart(5)} cases  bpfkit ${String(t.ours).padStart(6)}  libpcap ${String(t.theirs).padStart(6)} insns  ratio ${(t.ours / t.theirs).toFixed(3)}  bpfkit<=libpcap ${((100 * t.le) / t.n).toFixed(1)}%`;
}

function add(t: Tally, ours: number, theirs: number): void {
  t.n++;
  t.ours += ours;
  t.theirs += theirs;
  if (ours <= theirs) t.le++;
}

const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;

/** Mean milliseconds per compile of `expr` over `reps` compiles (after one untimed compile). */
function timeOurs(expr: string, o: CompileFilterOptions, reps: number): number {
  compileFilter(expr, o);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) compileFilter(expr, o);
  return (performance.now() - t0) / reps;
}

function optimizerOnListings(cases: readonly AcceptCase[]): void {
  const programs = cases.map((c) => ({ c, p: parseProgram(c.unoptimized.join('\n'), 'd') })).filter(({ p }) => !p.some((i) => i.code === 0x05 && i.k >= 0x80000000)); // protochain loops
  let t: Tally = { n: 0, le: 0, ours: 0, theirs: 0 };
  let ms = 0;
  let rounds = 0;
  // The first pass warms the JIT up; the second is the one reported.
  for (let pass = 0; pass < 2; pass++) {
    t = { n: 0, le: 0, ours: 0, theirs: 0 };
    ms = 0;
    rounds = 0;
    for (const { c, p } of programs) {
      const t0 = performance.now();
      const r = optimizeWithStats(cfgFromProgram(p));
      const q = emit(r.cfg);
      ms += performance.now() - t0;
      rounds += r.rounds;
      add(t, q.length, (c.optimized as string[]).length);
    }
  }
  console.log(tallyLine('optimizer on libpcap unoptimized programs', t));
  console.log(`  optimize+emit ${us(ms / t.n)} per program, ${(rounds / t.n).toFixed(2)} rounds on average`);
}

function wholePipeline(cases: readonly AcceptCase[], resolver: CompileFilterOptions['resolver']): void {
  const t: Tally = { n: 0, le: 0, ours: 0, theirs: 0 };
  const timed: { expr: string; ours: CompileFilterOptions; ref: CompileOptions; ms: number }[] = [];
  let failed = 0;
  for (const c of cases) {
    const o: CompileFilterOptions = { linkType: c.linktype, snaplen: c.snaplen, netmask: c.netmask, resolver, linuxExtensions: c.linuxext, offlineAf: c.generate_offline_filter };
    let insns: Insn[];
    try {
      insns = compileFilter(c.expr, o).insns;
    } catch {
      failed++;
      continue;
    }
    add(t, insns.length, (c.optimized as string[]).length);
    // The helper compiles on a dead handle: no Linux extensions, no savefile byte order.
    if (!c.linuxext && !c.generate_offline_filter) timed.push({ expr: c.expr, ours: o, ref: { linkType: c.linktype, snaplen: c.snaplen, netmask: c.netmask }, ms: 0 });
  }
  console.log(tallyLine('whole pipeline (expression -> optimized cbpf)', t));
  console.log(`  ${failed} expressions did not compile`);

  const why = libpcapMissing();
  if (why) {
    console.log(`  compile time vs libpcap: skipped (${why})`);
    return;
  }
  for (const x of timed) x.ms = timeOurs(x.expr, x.ours, OUR_REPS);
  const ref = libpcapCompileTimeMany(timed.map((x) => ({ expr: x.expr, options: x.ref })), LIBPCAP_REPS);
  let n = 0;
  let oursMs = 0;
  let theirsMs = 0;
  timed.forEach((x, i) => {
    const r = ref[i];
    if (!r.ok) return; // names libpcap cannot resolve here
    n++;
    oursMs += x.ms;
    theirsMs += r.nsPerCompile / 1e6;
  });
  console.log(`  compile time per expression (${n} expressions both compile): bpfkit ${us(oursMs / n)}  libpcap ${us(theirsMs / n)}  ratio ${(oursMs / theirsMs).toFixed(2)}`);
}

/** Long ORs of hosts, the shape that once made the optimizer slow. */
function bigOrs(): void {
  const why = libpcapMissing();
  for (const hosts of [50, 100, 200]) {
    const expr = Array.from({ length: hosts }, (_, i) => `host 10.${(i >> 8) & 255}.${i & 255}.1`).join(' or ');
    const unopt = compileFilter(expr, { optimize: false }).insns.length;
    const ours = compileFilter(expr, {}).insns.length;
    const ms = timeOurs(expr, {}, OUR_REPS);
    let theirs = '';
    if (!why) {
      const [r] = libpcapCompileTimeMany([{ expr, options: { linkType: 'EN10MB' } }], 3);
      theirs = r.ok ? `  libpcap ${r.length} insns in ${(r.nsPerCompile / 1e6).toFixed(1)} ms` : `  libpcap: ${r.error}`;
    }
    console.log(`  ${String(hosts).padStart(3)} hosts ORed: ${unopt} insns unoptimized -> bpfkit ${ours} insns in ${ms.toFixed(1)} ms${theirs}`);
  }
}

/**
 * The chains the robustness issue timed (3,000 ports, 1,000 hosts): bpfkit alone, since
 * libpcap 1.10's optimizer is super-linear on them (1,000 ports take it minutes). The
 * optimizer's step count is what the tests hold linear.
 */
function longChains(): void {
  for (const [label, n, term] of [
    ['ports', 3000, (i: number) => `port ${i}`],
    ['hosts', 1000, (i: number) => `host 10.${(i >> 8) & 255}.${i & 255}.1`],
  ] as const) {
    const expr = Array.from({ length: n }, (_, i) => term(i)).join(' or ');
    let t0 = performance.now();
    const unopt = compileFilter(expr, { optimize: false });
    const msUnopt = performance.now() - t0;
    t0 = performance.now();
    const ours = compileFilter(expr, {});
    const ms = performance.now() - t0;
    const work = optimizeWithStats(unopt.cfg).work;
    console.log(`  ${String(n).padStart(4)} ${label} ORed: ${unopt.insns.length} insns unoptimized in ${msUnopt.toFixed(0)} ms -> bpfkit ${ours.insns.length} insns in ${ms.toFixed(0)} ms (${work} optimizer steps, ${(work / unopt.insns.length).toFixed(0)} per insn)`);
  }
}

function main(): void {
  const why = skipReason('bench filter-compile', { corpus: 'pcap-filter/libpcap-tests.json' });
  if (why) return;
  const cases = (JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as AcceptCase[]).filter((c) => c.kind === 'accept' && !c.special && c.optimized);
  const resolver = resolverFromTables(JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-test-names.json'), 'utf8')) as NameTables);
  optimizerOnListings(cases);
  wholePipeline(cases, resolver);
  console.log('big expressions (compile time, one process, after warm-up):');
  bigOrs();
  longChains();
}

main();
