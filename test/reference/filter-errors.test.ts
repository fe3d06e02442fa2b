/** Expressions libpcap rejects (corpus reject cases) are rejected by bpfkit too, mostly with libpcap's own wording. */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { BpfkitError } from '../../src/util/index.js';
import { compileFilter, resolverFromTables, type NameTables } from '../../src/filter/index.js';
import { corpusDir, skipReason } from '../helpers/reference.js';

interface RejectCase {
  kind: string;
  expr: string;
  linktype: string;
  error: string;
  netmask?: string;
  skip?: string;
}

const why = skipReason('filter-errors', { corpus: 'pcap-filter/libpcap-tests.json' });

describe.skipIf(why !== undefined)('filter errors vs libpcap', () => {
  test('every reject case throws a typed error; most carry the corpus wording', () => {
    const all = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as RejectCase[];
    const resolver = resolverFromTables(JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-test-names.json'), 'utf8')) as NameTables);
    const cases = all.filter((c) => c.kind === 'reject' && !c.skip);
    const accepted: string[] = [];
    const untyped: string[] = [];
    let worded = 0;
    for (const c of cases) {
      try {
        compileFilter(c.expr, { linkType: c.linktype, netmask: c.netmask, resolver });
        accepted.push(`${c.linktype} ${JSON.stringify(c.expr)} (libpcap: ${c.error})`);
      } catch (e) {
        if (!(e instanceof BpfkitError)) untyped.push(`${c.linktype} ${JSON.stringify(c.expr)}: ${String(e)}`);
        else if (e.message.includes(c.error)) worded++;
      }
    }
    console.log(`[filter-errors] ${cases.length} reject cases: ${cases.length - accepted.length} rejected, ${worded} (${((100 * worded) / cases.length).toFixed(1)}%) with libpcap's message`);
    expect(accepted).toEqual([]);
    expect(untyped).toEqual([]);
    expect(worded).toBe(cases.length);
  });
});
