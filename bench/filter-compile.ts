/**
 * Benchmark: filter compiler output size against libpcap, on the accept cases of libpcap's
 * own test corpus. Prints our total instruction count vs libpcap's (i) when our optimizer
 * runs on libpcap's unoptimized programs and (ii) for the whole pipeline from the expression,
 * plus the time the optimizer takes. Never fails on a number.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Insn } from '../src/cbpf/index.js';
import { cfgFromProgram } from '../src/filter/cfg-from-program.js';
import { emit } from '../src/filter/emit.js';
import { optimizeWithStats } from '../src/filter/optimize/index.js';
import { corpusDir, skipReason } from '../test/helpers/reference.js';
import { parseListing } from '../test/filter/cbpf-listing.js';

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

function line(label: string, t: Tally): string {
  return `${label.padEnd(44)} ${String(t.n).padStart(5)} cases  ours ${String(t.ours).padStart(6)}  libpcap ${String(t.theirs).padStart(6)}  ratio ${(t.ours / t.theirs).toFixed(3)}  ours<=libpcap ${((100 * t.le) / t.n).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const why = skipReason('bench filter-compile', { corpus: 'pcap-filter/libpcap-tests.json' });
  if (why) return;
  const cases = (JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as AcceptCase[]).filter((c) => c.kind === 'accept' && !c.special && c.optimized);

  // (i) Our optimizer on libpcap's unoptimized programs.
  const fromListing: Tally = { n: 0, le: 0, ours: 0, theirs: 0 };
  let optimizeMs = 0;
  let rounds = 0;
  for (const c of cases) {
    const p: Insn[] = parseListing(c.unoptimized);
    if (p.some((i) => i.code === 0x05 && i.k >= 0x80000000)) continue; // protochain loops
    const t0 = performance.now();
    const r = optimizeWithStats(cfgFromProgram(p));
    const q = emit(r.cfg);
    optimizeMs += performance.now() - t0;
    rounds += r.rounds;
    const theirs = (c.optimized as string[]).length;
    fromListing.n++;
    fromListing.ours += q.length;
    fromListing.theirs += theirs;
    if (q.length <= theirs) fromListing.le++;
  }
  console.log(line('optimizer on libpcap unoptimized programs', fromListing));
  console.log(`  optimize+emit: ${(optimizeMs / fromListing.n).toFixed(3)} ms per program, ${(rounds / fromListing.n).toFixed(2)} rounds on average`);

  // (ii) The whole pipeline, when the compiler is there.
  let compileFilter: ((expr: string, o: Record<string, unknown>) => { insns: Insn[] }) | undefined;
  try {
    ({ compileFilter } = (await import('../src/filter/compile.js')) as unknown as { compileFilter: typeof compileFilter });
  } catch (e) {
    console.log(`  whole pipeline: skipped (${(e as Error).message})`);
  }
  if (compileFilter) {
    const whole: Tally = { n: 0, le: 0, ours: 0, theirs: 0 };
    let failed = 0;
    for (const c of cases) {
      try {
        const { insns } = compileFilter(c.expr, { linkType: c.linktype, snaplen: c.snaplen, netmask: c.netmask, linuxExtensions: c.linuxext, offlineAf: c.generate_offline_filter });
        const theirs = (c.optimized as string[]).length;
        whole.n++;
        whole.ours += insns.length;
        whole.theirs += theirs;
        if (insns.length <= theirs) whole.le++;
      } catch {
        failed++;
      }
    }
    console.log(line('whole pipeline (expression -> optimized cbpf)', whole));
    console.log(`  ${failed} expressions did not compile (names, DLTs or syntax not supported yet)`);
  }
}

await main();
