/** compileFilter end to end: hand-checked programs, packet verdicts on hand-built frames, options and errors. */

import { describe, expect, test } from 'vitest';
import { formatProgram } from '../../src/cbpf/index.js';
import { compileFilter, resolverFromTables } from '../../src/filter/index.js';

/** An Ethernet + IPv4 + TCP/UDP frame built byte by byte. */
function ipv4Frame(opts: { proto?: number; src?: number[]; dst?: number[]; sport?: number; dport?: number; frag?: number; ethertype?: number; vlan?: number } = {}): Uint8Array {
  const eth = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  if (opts.vlan !== undefined) eth.push(0x81, 0x00, opts.vlan >> 8, opts.vlan & 0xff);
  const et = opts.ethertype ?? 0x0800;
  eth.push(et >> 8, et & 0xff);
  const frag = opts.frag ?? 0;
  const ip = [0x45, 0, 0, 40, 0, 0, frag >> 8, frag & 0xff, 64, opts.proto ?? 6, 0, 0, ...(opts.src ?? [10, 0, 0, 1]), ...(opts.dst ?? [10, 0, 0, 2])];
  const sp = opts.sport ?? 1234;
  const dp = opts.dport ?? 80;
  const l4 = [sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([...eth, ...ip, ...l4]);
}

const lines = (expr: string, o: Parameters<typeof compileFilter>[1] = {}): string[] =>
  formatProgram(compileFilter(expr, o).insns, 'd').trimEnd().split('\n').map((l) => l.trimEnd());

describe('compileFilter', () => {
  test('ip on Ethernet is one EtherType test (the libpcap program)', () => {
    expect(lines('ip')).toEqual(['(000) ldh      [12]', '(001) jeq      #0x800           jt 2\tjf 3', '(002) ret      #262144', '(003) ret      #0']);
  });

  test('snaplen is the accept value; the empty filter accepts everything', () => {
    expect(lines('', { snaplen: 96 })).toEqual(['(000) ret      #96']);
    expect(lines('ip', { snaplen: 65535 })[2]).toBe('(002) ret      #65535');
  });

  test('RAW tests the version nibble; IPV4 needs no test', () => {
    expect(lines('ip', { linkType: 'RAW', optimize: false })).toEqual([
      '(000) ldb      [0]', '(001) and      #0xf0', '(002) jeq      #0x40            jt 3\tjf 4', '(003) ret      #262144', '(004) ret      #0',
    ]);
    // A constant-true test stays a real block when it is the whole filter, as in libpcap.
    expect(lines('ip', { linkType: 'IPV4', optimize: false })).toEqual([
      '(000) ld       #0x0', '(001) jeq      #0x0             jt 2\tjf 3', '(002) ret      #262144', '(003) ret      #0',
    ]);
  });

  test('tcp port 80 matches by port, protocol and fragment offset', () => {
    const f = compileFilter('tcp port 80');
    expect(f.match(ipv4Frame())).toBe(262144);
    expect(f.match(ipv4Frame({ dport: 81, sport: 80 }))).toBe(262144);
    expect(f.match(ipv4Frame({ dport: 81 }))).toBe(0);
    expect(f.match(ipv4Frame({ proto: 17 }))).toBe(0);
    expect(f.match(ipv4Frame({ frag: 5 }))).toBe(0);
    expect(f.interpret(ipv4Frame())).toBe(262144);
  });

  test('host, net and not', () => {
    const host = compileFilter('host 10.0.0.2');
    expect(host.match(ipv4Frame())).toBe(262144);
    expect(host.match(ipv4Frame({ dst: [10, 0, 0, 3] }))).toBe(0);
    const net = compileFilter('src net 10.0.0.0/24 and not dst net 192.168');
    expect(net.match(ipv4Frame())).toBe(262144);
    expect(net.match(ipv4Frame({ dst: [192, 168, 1, 1] }))).toBe(0);
    expect(net.match(ipv4Frame({ src: [10, 0, 1, 1] }))).toBe(0);
  });

  test('vlan shifts the offsets of what follows it', () => {
    const f = compileFilter('vlan 5 and tcp dst port 80');
    expect(f.match(ipv4Frame({ vlan: 5 }))).toBe(262144);
    expect(f.match(ipv4Frame({ vlan: 6 }))).toBe(0);
    expect(f.match(ipv4Frame())).toBe(0);
  });

  test('arithmetic and packet loads', () => {
    const f = compileFilter('ip[9] = 6 and tcp[13] & tcp-syn != 0 and len >= 54');
    expect(f.match(ipv4Frame())).toBe(262144);
    expect(compileFilter('len - 14 = 40').match(ipv4Frame())).toBe(262144);
    // `%` has no precedence in grammar.y, so it binds `2 % 4` first: 14 / 2 = 7.
    expect(compileFilter('(5 * 3 - 1) / 2 % 4 = 7').match(ipv4Frame())).toBe(262144);
  });

  test('names come through the resolver', () => {
    const resolver = resolverFromTables({ hosts: [{ name: 'web.example', addr: '10.0.0.2' }], networks: [{ name: 'lab', net: '10.0' }] });
    expect(compileFilter('host web.example', { resolver }).match(ipv4Frame())).toBe(262144);
    expect(compileFilter('tcp port http').match(ipv4Frame())).toBe(262144);
    expect(() => compileFilter('host web.example')).toThrow("unknown host 'web.example'");
  });

  test('errors have codes and columns', () => {
    const e = (expr: string, o = {}): { code: string; column?: number; message: string } => {
      try {
        compileFilter(expr, o);
      } catch (x) {
        const y = x as { code: string; position?: { column?: number }; message: string };
        return { code: y.code, column: y.position?.column, message: y.message };
      }
      throw new Error('compiled');
    };
    expect(e('tcp port 80 and udp port 99999')).toMatchObject({ code: 'E_FILTER_SEMANTIC', column: 26 });
    expect(e('tcp port 99999').message).toContain('port number 99999 greater than maximum 65535');
    expect(e('ip broadcast').message).toContain("netmask not known, so 'ip broadcast' not supported");
    expect(e('vlan', { linkType: 'RAW' }).message).toContain("'vlan' not supported on DLT_RAW");
    expect(e('1 / 0 = 1').message).toContain('division by zero');
    expect(e('ip and not ip').code).toBe('E_FILTER_REJECTS_ALL');
    expect(e('ip', { linkType: 'NO_SUCH_DLT' }).code).toBe('E_USAGE');
  });
});

describe('compileFilter limits', () => {
  test('a thousand-term filter compiles; nesting beyond the stack is a typed error, not a crash', () => {
    const expr = Array.from({ length: 1000 }, (_, i) => `host 10.0.${i >> 8}.${i & 255}`).join(' or ');
    const f = compileFilter(expr, { optimize: false });
    expect(f.match(ipv4Frame({ dst: [10, 0, 3, 231] }))).toBe(262144);
    expect(f.match(ipv4Frame({ src: [10, 9, 9, 9], dst: [10, 9, 9, 8] }))).toBe(0);
    expect(() => compileFilter('('.repeat(20000) + 'ip' + ')'.repeat(20000))).toThrow('expression too complex');
    expect(() => compileFilter('not '.repeat(50000) + 'ip')).toThrow('expression too complex');
  });
});
