// The playground's pass-by-pass stages (web/src/passes.ts), checked without a browser against the compiler's own result.
import { describe, expect, it } from 'vitest';
import { compileFilter, filter } from '../../src/index.js';
import { markedDot, optimizerStages } from '../../web/src/passes.js';

const EXPRS = ['tcp port 80', 'tcp port 80 or tcp port 443 or udp port 53 or icmp or arp or (ip6 and tcp port 22)', 'host 10.0.0.1 and not udp', 'vlan and ip'];

describe('optimizerStages', () => {
  for (const expr of EXPRS) {
    it(`starts at gencode and ends at the graph compileFilter emits: ${expr}`, () => {
      const p = compileFilter(expr, { linkType: 'EN10MB', netmask: 0 });
      const stages = optimizerStages(p.cfg);
      expect(stages[0].name).toBe('gencode');
      expect(stages[0].cfg).toBe(p.cfg);
      expect(filter.emit(stages[stages.length - 1].cfg)).toEqual(p.insns);
      // Only passes that changed something are kept, each named by its round and pass.
      for (const st of stages.slice(1)) {
        expect(st.changed.size + st.removed.size).toBeGreaterThan(0);
        expect(st.name).toMatch(/^(normalized|round \d+: (reorder|simplify|deadStores|thread|structure))$/);
      }
    });
  }

  it('marks exactly the named blocks in the DOT text, keeping return blocks rounded', () => {
    const p = compileFilter('tcp port 80', { linkType: 'EN10MB', netmask: 0 });
    const dot = filter.cfgToDot(p.cfg, 'x');
    const ret = /^ {2}b(\d+) \[label="[^\n]*, style=rounded\];$/m.exec(dot)![1];
    const branch = /^ {2}b(\d+) \[label="[^\n]*"\];$/m.exec(dot)![1];
    const out = markedDot(dot, new Set([Number(ret), Number(branch)]), '#ffe08a');
    expect(out.match(/fillcolor="#ffe08a"/g)?.length).toBe(2);
    expect(out).toMatch(new RegExp(`^ {2}b${ret} \\[label="[^\\n]*, style="rounded,filled,bold", fillcolor="#ffe08a", penwidth=2\\];$`, 'm'));
    expect(markedDot(dot, new Set(), '#ffe08a')).toBe(dot);
  });
});
