/** Random filter expressions (fast-check) compiled by bpfkit and by the installed libpcap give the same verdict on every packet. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileJit, interpret } from '../../src/cbpf/index.js';
import { compileFilter } from '../../src/filter/index.js';
import { libpcapCompileMany, libpcapMissing, libpcapPacketsMany, type RefPacket } from '../helpers/libpcap.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';
import { BpfkitError } from '../../src/util/index.js';

const why = skipReason('filter-random', { corpus: 'pcaps/manifest.json', missing: libpcapMissing() });

const num = (max: number): fc.Arbitrary<string> => fc.integer({ min: 0, max }).map(String);
const ipv4 = fc.tuple(fc.constantFrom(10, 192, 172, 1), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const dir = fc.constantFrom('', 'src ', 'dst ', 'src or dst ', 'src and dst ');
const l4 = fc.constantFrom('', 'tcp ', 'udp ', 'sctp ');
const proto = fc.constantFrom('ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'igmp', 'pim', 'ah', 'esp', 'vrrp', 'atalk', 'ipx', 'iso', 'stp', 'decnet');
const port = fc.constantFrom(53, 80, 443, 22, 67, 68, 123, 0, 65535, 1900, 5353);

const arithLeaf: fc.Arbitrary<string> = fc.oneof(
  num(300),
  fc.constant('len'),
  fc.tuple(fc.constantFrom('ether', 'ip', 'ip6', 'tcp', 'udp', 'icmp', 'arp'), fc.nat(60), fc.constantFrom('', ':1', ':2', ':4')).map(([p, i, s]) => `${p}[${i}${s}]`),
);
const arith: fc.Arbitrary<string> = fc.letrec((tie) => ({
  a: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arithLeaf,
    fc.tuple(tie('a'), fc.constantFrom('+', '-', '*', '&', '|', '^', '%', '/'), tie('a')).map(([x, op, y]) => (op === '/' || op === '%' ? `(${x}) ${op} ${y === '0' ? '3' : `(${y})`}` : `(${x}) ${op} (${y})`)),
    fc.tuple(tie('a'), fc.constantFrom('<<', '>>'), fc.nat(31)).map(([x, op, n]) => `(${x}) ${op} ${n}`),
    tie('a').map((x) => `-(${x})`),
  ),
})).a as fc.Arbitrary<string>;

const primitive: fc.Arbitrary<string> = fc.oneof(
  proto,
  fc.tuple(l4, dir, port).map(([p, d, n]) => `${p}${d}port ${n}`),
  fc.tuple(l4, dir, port, port).map(([p, d, a, b]) => `${p}${d}portrange ${a}-${b}`),
  fc.tuple(fc.constantFrom('', 'ip ', 'arp ', 'rarp '), dir, ipv4).map(([p, d, a]) => `${p}${d}host ${a}`),
  fc.tuple(dir, ipv4, fc.constantFrom(8, 16, 24, 32)).map(([d, a, l]) => {
    const parts = a.split('.').map(Number);
    const v = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const m = l === 32 ? 0xffffffff : (0xffffffff << (32 - l)) >>> 0;
    const n = (v & m) >>> 0;
    return `${d}net ${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/${l}`;
  }),
  fc.tuple(dir, fc.array(fc.nat(255), { minLength: 6, maxLength: 6 })).map(([d, b]) => `ether ${d}host ${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`),
  // Not `ip multicast`: libpcap 1.10.3 tests dst >= 224, newer libpcap (which we follow) dst & 0xf0 == 0xe0.
  fc.constantFrom('ether broadcast', 'ether multicast', 'ip6 multicast', 'vlan', 'mpls', 'pppoed', 'pppoes', 'llc'),
  fc.tuple(fc.constantFrom('vlan', 'mpls', 'pppoes'), fc.nat(4095)).map(([k, n]) => `${k} ${n}`),
  fc.tuple(fc.constantFrom('less', 'greater'), num(1600)).map(([k, n]) => `${k} ${n}`),
  fc.tuple(fc.constantFrom('', 'ip ', 'ip6 ', 'ether '), num(255)).map(([p, n]) => `${p}proto ${n}`),
  fc.tuple(arith, fc.constantFrom('=', '!=', '<', '<=', '>', '>='), arith).map(([a, op, b]) => `${a} ${op} ${b}`),
);

const expression: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitive,
    tie('e').map((x) => `not ${x}`),
    fc.tuple(tie('e'), fc.constantFrom('and', 'or', '&&', '||'), tie('e')).map(([x, op, y]) => `(${x}) ${op} (${y})`),
  ),
})).e as fc.Arbitrary<string>;

/** A short packet completed to 1514 bytes with zeros, ones, and a fixed pseudo-random fill. */
function completions(data: Uint8Array): Uint8Array[] {
  return [0x00, 0xff, -1].map((fill) => {
    const out = new Uint8Array(1514);
    if (fill >= 0) out.fill(fill);
    else for (let i = 0; i < out.length; i++) out[i] = (i * 167 + 13) & 0xff;
    out.set(data);
    return out;
  });
}

describe.skipIf(why !== undefined)('random filters vs libpcap', () => {
  test('same verdicts as libpcap on EN10MB corpus packets', () => {
    const manifest = JSON.parse(readFileSync(path.join(corpusDir, 'pcaps/manifest.json'), 'utf8')) as { file: string; linktype: string; file_level_error: boolean }[];
    const files = manifest.filter((m) => m.linktype === 'EN10MB' && !m.file_level_error).map((m) => path.join(corpusDir, 'pcaps', m.file));
    const all: RefPacket[] = [];
    for (const r of libpcapPacketsMany(files)) if (r.ok) all.push(...r.packets);
    const packets = all.filter((_, i) => i % Math.max(1, Math.floor(all.length / 800)) === 0);
    expectFloor('filter-random: packets.length', packets.length, 810);

    const exprs = fc.sample(expression, { numRuns: 400, seed: 20261125 });
    const refs = libpcapCompileMany(exprs.map((expr) => ({ expr, options: { linkType: 'EN10MB', optimize: false } })));
    // tcpdump filters with libpcap's optimized program, which can answer otherwise than the
    // unoptimized one on packets too short for a load: ours is held to that one.
    const optRefs = libpcapCompileMany(exprs.map((expr) => ({ expr, options: { linkType: 'EN10MB' } })));
    let bothCompiled = 0;
    let rejectsAll = 0;
    const statusDiff: string[] = [];
    const verdictDiff: string[] = [];
    const shortOnly = new Set<string>();
    exprs.forEach((expr, i) => {
      const ref = refs[i];
      let ours;
      try {
        ours = compileFilter(expr, { linkType: 'EN10MB', optimize: false });
      } catch (e) {
        if (ref.ok) statusDiff.push(`${expr}: we reject (${(e as Error).message}), libpcap compiles`);
        return;
      }
      if (!ref.ok) {
        statusDiff.push(`${expr}: we compile, libpcap says ${ref.error}`);
        return;
      }
      bothCompiled++;
      const run = compileJit(ours.insns);
      const optRef = optRefs[i];
      let optimized: ((p: Uint8Array, w?: number) => number) | undefined;
      try {
        optimized = compileJit(compileFilter(expr, { linkType: 'EN10MB' }).insns);
      } catch (e) {
        // Only "rejects all packets" means the optimizer proved the filter matches nothing (libpcap's optimizer must then say so too); any other error is a failure.
        if (!(e instanceof BpfkitError && e.code === 'E_FILTER_REJECTS_ALL')) {
          // libpcap's optimizer refuses a division by a constant 0 it folds: so must ours.
          if (!(!optRef.ok && optRef.error.includes((e as Error).message))) statusDiff.push(`${expr}: unoptimized compiles, optimized fails: ${(e as Error).message}`);
          return;
        }
        rejectsAll++;
        // bpfkit can prove more than libpcap: then libpcap's program must reject every packet.
        if (optRef.ok && packets.some((p) => interpret(optRef.insns, p.data, p.wirelen) !== 0)) statusDiff.push(`${expr}: we say it rejects all packets, libpcap's optimized program accepts one`);
        return;
      }
      if (!optRef.ok) {
        statusDiff.push(`${expr}: libpcap's optimizer says ${optRef.error}, we compile it`);
        return;
      }
      const runOptRef = compileJit(optRef.insns);
      for (const p of packets) {
        const want = interpret(ref.insns, p.data, p.wirelen);
        if (run(p.data, p.wirelen) !== want) {
          verdictDiff.push(`${expr}: unoptimized differs on a ${p.data.length}-byte packet`);
          break;
        }
        const got = optimized(p.data, p.wirelen);
        if (got !== runOptRef(p.data, p.wirelen)) {
          // Where bpfkit proves more than libpcap (sets of constants where paths join), a load
          // libpcap keeps can go, and a packet too short for it gets the verdict its complete
          // versions all get rather than libpcap's abort. Counted, and checked to be that.
          if (p.data.length < 64 && completions(p.data).every((c) => run(c, Math.max(p.wirelen, c.length)) === got)) {
            shortOnly.add(expr);
            continue;
          }
          verdictDiff.push(`${expr}: optimized differs from libpcap's optimized program (tcpdump's) on a ${p.data.length}-byte packet`);
          break;
        }
      }
    });
    console.log(`[filter-random] ${exprs.length} expressions, ${bothCompiled} compiled by both (${rejectsAll} optimized to "rejects all packets"), ${statusDiff.length} status differences, ${verdictDiff.length} verdict differences; ${shortOnly.size} differ from libpcap's optimized program only on short packets whose every completion gets bpfkit's verdict: ${[...shortOnly].join('; ')}`);
    expect(verdictDiff).toEqual([]);
    expect(statusDiff).toEqual([]);
    expectFloor('filter-random: bothCompiled', bothCompiled, 375);
  });
});
