/** Differential test of the filter compiler against libpcap: corpus listings (modern libpcap) and the installed libpcap 1.10.3, per packet. */

import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { compileJit, formatProgram, interpret, parseProgram, type Insn } from '../../src/cbpf/index.js';
import { compileFilter, dltFromName, resolverFromTables, type NameTables } from '../../src/filter/index.js';
import { libpcapCompileMany, libpcapMissing, libpcapPacketsMany, type RefPacket } from '../helpers/libpcap.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';
import { BpfkitError } from '../../src/util/index.js';

interface AcceptCase {
  kind: string;
  expr: string;
  linktype: string;
  unoptimized: string[];
  optimized: string[] | null;
  snaplen?: number;
  netmask?: string;
  linuxext?: boolean;
  skip?: string;
  special?: string;
  generate_offline_filter?: 'unswapped' | 'swapped';
}

const why = skipReason('filter-libpcap', { corpus: 'pcap-filter/libpcap-tests.json', missing: libpcapMissing() });

/** Per link type: at most this many real packets, plus this many mutated copies. */
const MAX_REAL = 1500;
const MUTANTS = 400;

/** A small deterministic PRNG (mulberry32) so mutations are the same in every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Real packets, then copies with flipped bytes and truncated caplen (the wire length is kept). */
function withMutants(real: RefPacket[], seed: number): RefPacket[] {
  const rnd = prng(seed);
  const picked = real.length <= MAX_REAL ? real : Array.from({ length: MAX_REAL }, (_, i) => real[Math.floor((i * real.length) / MAX_REAL)]);
  const out = [...picked];
  for (let i = 0; i < MUTANTS && picked.length > 0; i++) {
    const src = picked[Math.floor(rnd() * picked.length)];
    let data = Uint8Array.from(src.data);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips && data.length > 0; f++) {
      // Bias flips toward the headers, where filters look.
      const at = Math.floor(rnd() * Math.min(data.length, rnd() < 0.8 ? 80 : data.length));
      data[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : data[at] ^ (1 << Math.floor(rnd() * 8));
    }
    if (rnd() < 0.4) data = data.slice(0, Math.floor(rnd() * data.length));
    out.push({ data, wirelen: src.wirelen });
  }
  return out;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.(pcap|pcapng|cap)$/.test(e)) out.push(p);
  }
  return out;
}

const listingOf = (insns: Insn[]): string[] => formatProgram(insns, 'd').trimEnd().split('\n').map((l) => l.trimEnd());

describe.skipIf(why !== undefined)('filter compiler vs libpcap', () => {
  let cases: AcceptCase[] = [];
  let resolver: ReturnType<typeof resolverFromTables>;
  const packetsByDlt = new Map<number, RefPacket[]>();

  beforeAll(() => {
    const all = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as AcceptCase[];
    cases = all.filter((c) => c.kind === 'accept' && !c.special && !c.skip);
    resolver = resolverFromTables(JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-test-names.json'), 'utf8')) as NameTables);
    const manifest = JSON.parse(readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')) as { file: string; file_level_error: boolean }[];
    const files = [
      ...manifest.filter((m) => !m.file_level_error).map((m) => path.join(corpusDir, 'pcaps', m.file)),
      ...listFiles(path.join(corpusDir, 'pcap-filter/savefiles')),
    ];
    const real = new Map<number, RefPacket[]>();
    libpcapPacketsMany(files).forEach((r) => {
      if (!r.ok) return;
      const list = real.get(r.linkType) ?? [];
      list.push(...r.packets);
      real.set(r.linkType, list);
    });
    for (const [dlt, list] of real) packetsByDlt.set(dlt, withMutants(list, dlt * 7919 + 1));
  });

  test('unoptimized listings equal the corpus (modern libpcap) listings', () => {
    let compiled = 0;
    let identical = 0;
    let en10mb = 0;
    let en10mbSame = 0;
    const failures = new Map<string, number>();
    for (const c of cases) {
      let insns: Insn[];
      try {
        insns = compileFilter(c.expr, { linkType: c.linktype, optimize: false, snaplen: c.snaplen, netmask: c.netmask, resolver, linuxExtensions: c.linuxext, offlineAf: c.generate_offline_filter }).insns;
      } catch (e) {
        const k = `${c.linktype}: ${(e as Error).message.replace(/'[^']*'/g, "'…'").replace(/ \(at .*\)$/, '')}`;
        failures.set(k, (failures.get(k) ?? 0) + 1);
        continue;
      }
      compiled++;
      const same = listingOf(insns).join('\n') === c.unoptimized.map((l) => l.trimEnd()).join('\n');
      if (same) identical++;
      if (c.linktype === 'EN10MB') {
        en10mb++;
        if (same) en10mbSame++;
      }
    }
    const pct = (a: number, b: number): string => `${((100 * a) / Math.max(b, 1)).toFixed(1)}%`;
    console.log(`[filter-libpcap] ${cases.length} accept cases: ${compiled} compile (${pct(compiled, cases.length)}), ` +
      `${identical} listings identical (${pct(identical, cases.length)} of all, ${pct(identical, compiled)} of compiled); ` +
      `EN10MB ${en10mbSame}/${en10mb} identical`);
    console.log('[filter-libpcap] not compiled yet:', [...failures].sort((a, b) => b[1] - a[1]).slice(0, 15));
    // Most compiled programs are libpcap's exact code; differing ones are checked per packet below.
    expectFloor('filter-libpcap: compiled / cases.length', compiled / cases.length, 1);
    expectFloor('filter-libpcap: identical / compiled', identical / compiled, 1);
    expect(en10mbSame).toBe(en10mb);
  });

  test('every compiled case returns what the corpus program returns, on every packet (real and mutated)', () => {
    let runs = 0;
    let checkedCases = 0;
    let eligible = 0;
    const notCompiled: string[] = [];
    const bad: string[] = [];
    for (const c of cases) {
      if (c.linuxext) continue; // SKF_AD loads need socket metadata, which captures lack.
      const dlt = dltFromName(c.linktype);
      const packets = dlt === undefined ? undefined : packetsByDlt.get(dlt);
      if (!packets || packets.length === 0) continue;
      eligible++;
      let ours: Insn[];
      try {
        ours = compileFilter(c.expr, { linkType: c.linktype, optimize: false, snaplen: c.snaplen, netmask: c.netmask, resolver, offlineAf: c.generate_offline_filter }).insns;
      } catch (e) {
        // Counted: a case bpfkit cannot compile is one the per-packet check does not cover.
        notCompiled.push(`${c.linktype} ${JSON.stringify(c.expr)}: ${(e as Error).message}`);
        continue;
      }
      const ref = parseProgram(c.unoptimized.join('\n'), 'd');
      const run = compileJit(ours);
      checkedCases++;
      for (const p of packets) {
        runs++;
        const want = interpret(ref, p.data, p.wirelen);
        const got = run(p.data, p.wirelen);
        if (got !== want) {
          bad.push(`${c.linktype} ${JSON.stringify(c.expr)}: got ${got}, libpcap ${want}`);
          break;
        }
      }
    }
    console.log(`[filter-libpcap] per-packet: ${eligible} cases with packets of their link type, ${checkedCases} compiled and checked, ${notCompiled.length} not compiled by bpfkit, ${runs} packet runs, ${bad.length} cases disagree`);
    if (notCompiled.length) console.log(`[filter-libpcap] per-packet, not compiled: ${notCompiled.slice(0, 10).join('; ')}`);
    expect(bad).toEqual([]);
    expectFloor('filter-libpcap: per-packet share of cases compiled', checkedCases / Math.max(1, eligible), 1);
    expectFloor('filter-libpcap: per-packet cases checked', checkedCases, 1700);
  });

  // tcpdump runs libpcap's optimized program, and libpcap's optimizer treats a packet load
  // as a value that is always there: on a packet too short for a load, the optimized program
  // can answer otherwise than the unoptimized one (it drops unused loads, tests fields in
  // another order). bpfkit's optimizer follows the same model, so the reference for its
  // optimized programs is libpcap's optimized program, on real and truncated packets alike.
  test('optimized programs agree with libpcap 1.10.3 optimized (tcpdump) per packet', () => {
    const en = cases.filter((c) => ['EN10MB', 'RAW', 'LINUX_SLL', 'IPV4', 'IPV6', 'NULL', 'PPP', 'LINUX_SLL2'].includes(c.linktype) && !c.linuxext);
    const refs = libpcapCompileMany(en.map((c) => ({ expr: c.expr, options: { linkType: c.linktype, snaplen: c.snaplen, netmask: c.netmask } })));
    let compared = 0;
    let excused = 0;
    let rejectsAll = 0;
    const bad: string[] = [];
    en.forEach((c, i) => {
      const r = refs[i];
      const dlt = dltFromName(c.linktype);
      const packets = dlt === undefined ? undefined : packetsByDlt.get(dlt);
      if (!packets) return;
      let ours: Insn[];
      try {
        ours = compileFilter(c.expr, { linkType: c.linktype, optimize: true, snaplen: c.snaplen, netmask: c.netmask, resolver }).insns;
      } catch (e) {
        if (e instanceof BpfkitError && e.code === 'E_FILTER_REJECTS_ALL') {
          rejectsAll++;
          if (r.ok) bad.push(`${c.linktype} ${JSON.stringify(c.expr)}: we say it rejects all packets, libpcap 1.10.3 compiles it`);
        } else if (r.ok) {
          bad.push(`${c.linktype} ${JSON.stringify(c.expr)}: optimized compile fails: ${(e as Error).message}`);
        }
        return;
      }
      if (!r.ok) {
        // Names this libpcap cannot resolve are not ours to judge; a refusal of the filter
        // itself is, unless modern libpcap compiles it (1.10.3 folds `x & 0xffffffff == 0`
        // to "rejects all packets"; the corpus's modern listing does not).
        if (/rejects all/.test(r.error)) {
          if (c.optimized) excused++;
          else bad.push(`${c.linktype} ${JSON.stringify(c.expr)}: libpcap 1.10.3 says it rejects all packets, we compile it`);
        }
        return;
      }
      const modern = c.optimized ? parseProgram(c.optimized.join('\n'), 'd') : undefined;
      const run = compileJit(ours);
      compared++;
      for (const p of packets) {
        const old = interpret(r.insns, p.data, p.wirelen);
        const got = run(p.data, p.wirelen);
        if (got === old) continue;
        // 1.10.3 and modern libpcap differ on this packet: follow modern libpcap.
        if (modern && interpret(modern, p.data, p.wirelen) === got) {
          excused++;
          continue;
        }
        bad.push(`${c.linktype} ${JSON.stringify(c.expr)}: got ${got}, libpcap 1.10.3 ${old} on a ${p.data.length}-byte packet`);
        break;
      }
    });
    console.log(`[filter-libpcap] vs 1.10.3 (optimized): ${compared} cases, ${rejectsAll} rejecting all packets, ${excused} packet results or refusals where 1.10.3 differs from modern libpcap, ${bad.length} cases disagree`);
    if (bad.length) console.log(`[filter-libpcap] vs 1.10.3 (optimized), disagree:\n  ${bad.join('\n  ')}`);
    expect(bad).toEqual([]);
    expectFloor('filter-libpcap: optimized cases vs 1.10.3', compared, 760);
  });
});

interface ApplyCase {
  kind: string;
  name: string;
  expr: string;
  savefile: string;
  results: number[];
  netmask?: string;
}

/** Host-order (little-endian here) savefiles are "unswapped"; others "swapped" (libpcap's offline AF handling). */
function savefileOrder(file: string): 'unswapped' | 'swapped' {
  const b = readFileSync(file).subarray(0, 12);
  const magic = b.readUInt32LE(0);
  if (magic === 0x0a0d0d0a) return b.readUInt32LE(8) === 0x1a2b3c4d ? 'unswapped' : 'swapped';
  return magic === 0xa1b2c3d4 || magic === 0xa1b23c4d ? 'unswapped' : 'swapped';
}

describe.skipIf(why !== undefined)('filter compiler on libpcap apply tests', () => {
  test('per-packet results equal pcap_offline_filter expectations (optimized and not)', () => {
    const all = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-apply-tests.json'), 'utf8')) as ApplyCase[];
    const cases = all.filter((c) => c.kind === 'apply');
    const files = [...new Set(cases.map((c) => path.join(corpusDir, 'pcap-filter', c.savefile)))];
    const results = libpcapPacketsMany(files);
    const read = new Map(files.map((f, i) => [f, results[i]]));
    const resolver = resolverFromTables(JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-test-names.json'), 'utf8')) as NameTables);
    const bad: string[] = [];
    let passed = 0;
    for (const c of cases) {
      const file = path.join(corpusDir, 'pcap-filter', c.savefile);
      const r = read.get(file);
      if (!r || !r.ok) {
        bad.push(`${c.name}: cannot read ${c.savefile}`);
        continue;
      }
      for (const optimize of [false, true]) {
        let got: number[];
        try {
          const p = compileFilter(c.expr, { linkType: r.linkType, snaplen: r.snaplen, optimize, netmask: c.netmask, offlineAf: savefileOrder(file), resolver });
          got = r.packets.map((pk) => p.match(pk.data, pk.wirelen));
        } catch (e) {
          bad.push(`${c.name} (${JSON.stringify(c.expr)}, optimize=${optimize}): ${(e as Error).message}`);
          continue;
        }
        if (JSON.stringify(got) === JSON.stringify(c.results)) passed++;
        else bad.push(`${c.name} (${JSON.stringify(c.expr)}, optimize=${optimize}): got ${JSON.stringify(got)}, want ${JSON.stringify(c.results)}`);
      }
    }
    console.log(`[filter-apply] ${cases.length} apply cases x 2: ${passed} pass, ${bad.length} differ`);
    if (bad.length) console.log(bad.slice(0, 20).join('\n'));
    expect(bad).toEqual([]);
  });
});
