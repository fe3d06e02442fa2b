/** Bad input never crashes the compiler: any text either compiles or throws a typed BpfkitError with a position. */

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { BpfkitError } from '../../src/util/index.js';

const WORDS = [
  'host', 'net', 'port', 'portrange', 'src', 'dst', 'or', 'and', 'not', '!', '(', ')', 'tcp', 'udp', 'ip', 'ip6', 'ether',
  'vlan', 'mpls', 'proto', 'protochain', 'gateway', 'broadcast', 'multicast', 'less', 'greater', 'len', '[', ']', ':', '+',
  '-', '*', '/', '%', '&', '|', '^', '<<', '>>', '=', '!=', '<', '>', '<=', '>=', '1', '0', '80', '1.2.3.4', '10.1',
  'fe80::1', '/', '24', 'mask', '255.255.0.0', 'aa:bb:cc:dd:ee:ff', '$1', 'foo', 'type', 'subtype', 'data', 'dir',
  'llc', 'geneve', 'vxlan', 'pppoes', 'ifindex', 'inbound', 'icmp-echo', 'tcpflags', '0xffffffff', '4294967296',
];

function outcome(expr: string, linkType: string): string {
  try {
    compileFilter(expr, { linkType });
    return 'ok';
  } catch (e) {
    if (!(e instanceof BpfkitError)) throw new Error(`untyped error for ${JSON.stringify(expr)}: ${String(e)}`);
    expect(e.code).toMatch(/^E_/);
    expect(e.message.length).toBeGreaterThan(0);
    return e.code;
  }
}

describe('compileFilter robustness', () => {
  test('token soup on several link types', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }), fc.constantFrom('EN10MB', 'RAW', 'IEEE802_11_RADIO', 'LINUX_SLL2', 'NULL', 'PPI'), (words, lt) => {
        outcome(words.join(' '), lt);
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  test('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        outcome(s, 'EN10MB');
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
