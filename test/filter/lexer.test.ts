/** The filter lexer: flex's longest-match rules, keywords, named numbers and number bases. */

import { describe, expect, test } from 'vitest';
import { tokenize } from '../../src/filter/index.js';

const kinds = (s: string): string[] => tokenize(s).slice(0, -1).map((t) => `${t.kind}:${t.value}`);

describe('tokenize', () => {
  test('keywords, ids and punctuation', () => {
    expect(kinds('tcp port 80 and not host foo')).toEqual(['kw:tcp', 'kw:port', 'num:80', 'kw:and', 'punct:!', 'kw:host', 'id:foo']);
    expect(kinds('a && b || !c')).toEqual(['id:a', 'kw:and', 'id:b', 'kw:or', 'punct:!', 'id:c']);
    expect(kinds('ether fddi tr wlan ppp slip')).toEqual(['kw:link', 'kw:link', 'kw:link', 'kw:link', 'kw:link', 'kw:link']);
  });

  test('longest match: a keyword prefix inside a longer word is an id', () => {
    expect(kinds('tcpdump hosts')).toEqual(['id:tcpdump', 'id:hosts']);
    expect(kinds('TCP')).toEqual(['id:TCP']);
  });

  test('named numbers are numbers', () => {
    const t = tokenize('icmp-echo tcp-syn tcpflags icmp6-echo');
    expect(t.slice(0, 4).map((x) => [x.kind, x.num])).toEqual([['num', 8], ['num', 2], ['num', 13], ['num', 128]]);
  });

  test('numbers in three bases', () => {
    expect(tokenize('0x1F 017 42')[0].num).toBe(31);
    expect(tokenize('017')[0].num).toBe(15);
    expect(tokenize('4294967295')[0].num).toBe(0xffffffff);
    expect(() => tokenize('4294967296')).toThrow('decimal number 4294967296 overflows 32 bits');
    expect(() => tokenize('0x100000000')).toThrow('hexadecimal number 0x100000000 overflows 32 bits');
    expect(() => tokenize('08')).toThrow('number 08 contains non-octal digit');
  });

  test('addresses: IPv4 (partial too), IPv6, MAC in three spellings, ARCnet', () => {
    expect(kinds('10.1 1.2.3.4')).toEqual(['hid:10.1', 'hid:1.2.3.4']);
    expect(kinds('::1 fe80::1/64')).toEqual(['hid6:::1', 'hid6:fe80::1', 'punct:/', 'num:64']);
    expect(kinds('aa:bb:cc:dd:ee:ff aa-bb-cc-dd-ee-ff aabb.ccdd.eeff')).toEqual(['eid:aa:bb:cc:dd:ee:ff', 'eid:aa-bb-cc-dd-ee-ff', 'eid:aabb.ccdd.eeff']);
    expect(kinds('$1f')).toEqual(['aid:$1f']);
    // Five dotted parts are no IPv4 address: the longer id rule wins.
    expect(kinds('1.2.3.4.5')).toEqual(['id:1.2.3.4.5']);
  });

  test('relational operators and escapes', () => {
    expect(kinds('a >= 1 <= 2 != 3 == 4 << 5 >> 6')).toEqual(['id:a', 'punct:>=', 'num:1', 'punct:<=', 'num:2', 'punct:!=', 'num:3', 'punct:=', 'num:4', 'punct:<<', 'num:5', 'punct:>>', 'num:6']);
    expect(kinds('proto \\tcp')).toEqual(['kw:proto', 'id:tcp']);
  });

  test('errors carry the column', () => {
    try {
      tokenize('tcp $$');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_FILTER_SYNTAX');
      expect((e as { position: { column: number } }).position.column).toBe(5);
    }
    expect(() => tokenize('fe80::1.2.3.256')).toThrow('invalid IPv6 address fe80::1.2.3.256');
    expect(() => tokenize('1:2:3:4:5:6:7')).toThrow('invalid Ethernet address');
  });
});
