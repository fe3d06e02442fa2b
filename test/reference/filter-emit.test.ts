/** emit against libpcap: every listing in libpcap's test corpus, rebuilt as a CFG, is laid out again instruction for instruction. */

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseProgram } from '../../src/cbpf/index.js';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import { emit } from '../../src/filter/emit.js';
import { corpusDir, expectFloor, skipReason } from '../helpers/reference.js';

const why = skipReason('emit vs libpcap listings', { corpus: 'pcap-filter/libpcap-tests.json' });

describe.skipIf(why !== undefined)('emit reproduces libpcap listings (corpus pcap-filter/libpcap-tests.json)', () => {
  it('parses every accept listing, rebuilds its CFG and emits the identical program', () => {
    const cases = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as { kind: string; special?: string; optimized: string[] | null; unoptimized: string[] }[];
    let n = 0;
    for (const c of cases) {
      if (c.kind !== 'accept' || c.special) continue;
      for (const listing of [c.unoptimized, c.optimized]) {
        if (!listing) continue;
        const p = parseProgram(listing.join('\n'), 'd');
        // libpcap's protochain code loops backwards; a CFG cannot hold it, and says so.
        if (p.some((i) => i.code === 0x05 && i.k >= 0x80000000)) {
          expect(() => cfgFromProgram(p)).toThrow(expect.objectContaining({ code: 'E_CBPF_BACKWARD_JUMP' }));
          continue;
        }
        expect(emit(cfgFromProgram(p))).toEqual(p);
        n++;
      }
    }
    expectFloor('filter-emit: n', n, 4001);
  });
});
