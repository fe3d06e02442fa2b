/** The filter parser: qualifiers, implied qualifiers, and/or/not, arithmetic binding and syntax errors. */

import { describe, expect, test } from 'vitest';
import { parseFilter, type Arith, type Expr } from '../../src/filter/index.js';

/** A compact rendering of a tree, to compare against hand-written expectations. */
function show(e: Expr | undefined): string {
  if (!e) return '<all>';
  switch (e.kind) {
    case 'and': case 'or': return `(${show(e.left)} ${e.kind} ${show(e.right)})`;
    case 'not': return `!${show(e.operand)}`;
    case 'id': {
      const v = e.value;
      const val = 'text' in v ? v.text : 'value' in v ? String(v.value) : '?';
      return `[${e.qual.proto} ${e.qual.dir} ${e.qual.addr} ${val}]`;
    }
    case 'abbrev': return e.proto;
    case 'relation': return `{${arith(e.left)} ${e.op} ${arith(e.right)}}`;
    case 'primitive': return `<${e.name}${e.args.length ? ' ' + e.args.join(',') : ''}>`;
  }
}
function arith(a: Arith): string {
  switch (a.kind) {
    case 'num': return String(a.value);
    case 'len': return 'len';
    case 'neg': return `-(${arith(a.operand)})`;
    case 'load': return `${a.proto}[${arith(a.index)}:${a.size}]`;
    case 'binary': return `(${arith(a.left)}${a.op}${arith(a.right)})`;
  }
}
const p = (s: string): string => show(parseFilter(s).expr);

describe('parseFilter', () => {
  test('qualified primitives', () => {
    expect(p('tcp dst port 80')).toBe('[tcp dst port 80]');
    expect(p('src or dst host 1.2.3.4')).toBe('[default src or dst host 1.2.3.4]');
    expect(p('ether proto \\ip')).toBe('[link default proto ip]');
    expect(p('net 10.0.0.0/8')).toBe('[default default net 10.0.0.0]');
    expect(p('')).toBe('<all>');
  });

  test('implied qualifiers carry to the next bare id', () => {
    expect(p('host a or b')).toBe('([default default host a] or [default default host b])');
    expect(p('tcp port 80 or 443 and not 8080')).toBe('(([tcp default port 80] or [tcp default port 443]) and ![tcp default port 8080])');
    expect(p('tcp port (80 or 443)')).toBe('([tcp default port 80] or [tcp default port 443])');
  });

  test('and/or have equal precedence and group left; not binds tighter', () => {
    expect(p('ip or arp and udp')).toBe('((ip or arp) and udp)');
    expect(p('not ip and not arp')).toBe('(!ip and !arp)');
    expect(p('!(ip or arp)')).toBe('!(ip or arp)');
  });

  test('arithmetic follows grammar.y precedence; % and ^ take everything to their right', () => {
    expect(p('1 + 2 * 3 = 7')).toBe('{(1+(2*3)) = 7}');
    expect(p('1 | 2 & 3 = 3')).toBe('{(1|(2&3)) = 3}');
    expect(p('1 - 2 - 3 = 0')).toBe('{((1-2)-3) = 0}');
    expect(p('1 * 2 % 3 + 4 = 0')).toBe('{(1*(2%(3+4))) = 0}');
    expect(p('-1 + 2 = 1')).toBe('{(-(1)+2) = 1}');
    expect(p('ip[2:2] - len < 0x40')).toBe('{(ip[2:2]-len) < 64}');
    expect(p('tcp[tcpflags] & tcp-syn != 0')).toBe('{(tcp[13:1]&2) != 0}');
  });

  test('other primitives', () => {
    expect(p('vlan 10 and less 100')).toBe('(<vlan 10> and <less 100>)');
    expect(p('ether broadcast or ip multicast')).toBe('(<broadcast> or <multicast>)');
    expect(p('mpls')).toBe('<mpls>');
  });

  test('syntax errors name the column of the offending token', () => {
    const err = (s: string): { code: string; column: number | undefined; message: string } => {
      try {
        parseFilter(s);
      } catch (e) {
        const x = e as { code: string; position?: { column?: number }; message: string };
        return { code: x.code, column: x.position?.column, message: x.message };
      }
      throw new Error('no error');
    };
    expect(err('tcp port 80 and')).toMatchObject({ code: 'E_FILTER_SYNTAX', column: 16 });
    expect(err('host')).toMatchObject({ code: 'E_FILTER_SYNTAX', column: 5 });
    expect(err('(tcp')).toMatchObject({ code: 'E_FILTER_SYNTAX', column: 5 });
    expect(err('port 1.2.3.4').message).toContain("'port' qualifier applied to IPv4 address");
    expect(err('tcp port 80 )').message).toContain("can't parse filter expression: syntax error");
  });
});
