/** The interpreter (and the JIT beside it) opcode by opcode: loads, bounds, ALU edge cases, jumps, scratch memory, Linux metadata. */

import { describe, expect, it } from 'vitest';
import { RuntimeFault } from '../../src/util/index.js';
import { compileJit, interpret, parseProgram, skbGetNlattr, skbGetNlattrNest, type AuxData, type Insn } from '../../src/cbpf/index.js';

/** Runs bpf_asm text on both engines, checks they agree, and returns the result. */
function run(asm: string, packet: number[] | Uint8Array = [], wirelen?: number, aux?: AuxData): number {
  const prog = parseProgram(asm);
  const p = packet instanceof Uint8Array ? packet : Uint8Array.from(packet);
  const a = interpret(prog, p, wirelen, aux);
  expect(compileJit(prog)(p, wirelen, aux)).toBe(a);
  return a;
}

const pkt = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x45, 0x0f];

describe('loads', () => {
  it('reads big-endian words, halves and bytes at absolute offsets', () => {
    expect(run('ld [0]\nret a', pkt)).toBe(0x12345678);
    expect(run('ld [4]\nret a', pkt)).toBe(0x9abcdef0);
    expect(run('ldh [2]\nret a', pkt)).toBe(0x5678);
    expect(run('ldb [5]\nret a', pkt)).toBe(0xbc);
  });
  it('returns 0 when a load passes the captured length (exactly at the edge still loads)', () => {
    expect(run('ld [6]\nret #1', pkt)).toBe(1);
    expect(run('ld [7]\nret #1', pkt)).toBe(0);
    expect(run('ldh [8]\nret #1', pkt)).toBe(1);
    expect(run('ldh [9]\nret #1', pkt)).toBe(0);
    expect(run('ldb [9]\nret #1', pkt)).toBe(1);
    expect(run('ldb [10]\nret #1', pkt)).toBe(0);
    expect(run('ld [4294967295]\nret #1', pkt)).toBe(0);
  });
  it('reads relative to X, with the same bounds, and without 32-bit wrap-around', () => {
    expect(run('ldx #2\nld [x + 2]\nret a', pkt)).toBe(0x9abcdef0);
    expect(run('ldx #3\nldh [x + 5]\nret a', pkt)).toBe(0x450f);
    expect(run('ldx #3\nldh [x + 6]\nret #1', pkt)).toBe(0);
    expect(run('ldx #9\nldb [x + 0]\nret a', pkt)).toBe(0x0f);
    expect(run('ldx #9\nldb [x + 1]\nret #1', pkt)).toBe(0);
    // X + k would wrap to 1 in 32 bits; libpcap checks both parts, so this is out of the packet.
    expect(run('ldx #0xffffffff\nldb [x + 2]\nret #1', pkt)).toBe(0);
  });
  it('ldx 4*([k]&0xf) loads the IPv4 header length', () => {
    expect(run('ldx 4*([8]&0xf)\ntxa\nret a', pkt)).toBe(20);
    expect(run('ldx 4*([10]&0xf)\nret #1', pkt)).toBe(0);
  });
  it('ld #len and ldx #len read the wire length, not the captured length', () => {
    expect(run('ld #len\nret a', pkt, 1500)).toBe(1500);
    expect(run('ldx #len\ntxa\nret a', pkt, 60)).toBe(60);
    expect(run('ld #len\nret a', pkt)).toBe(pkt.length);
  });
  it('immediates', () => {
    expect(run('ld #0xdeadbeef\nret a')).toBe(0xdeadbeef);
    expect(run('ldx #7\ntxa\nret a')).toBe(7);
  });
});

describe('scratch memory', () => {
  it('starts zeroed and keeps stores', () => {
    expect(run('ld M[3]\nret a')).toBe(0);
    expect(run('ld #5\nst M[15]\nld #0\nldx M[15]\ntxa\nret a')).toBe(5);
    expect(run('ldx #9\nstx M[0]\nld M[0]\nret a')).toBe(9);
  });
  it('is fresh on every run of the same compiled program', () => {
    const f = compileJit(parseProgram('ld M[1]\njeq #0, l1\nret #2\nl1: ldb [0]\nst M[1]\nret #1'));
    expect(f(Uint8Array.of(7))).toBe(1);
    expect(f(Uint8Array.of(7))).toBe(1);
  });
});

describe('alu', () => {
  it('wraps add, sub, mul and neg to 32 bits', () => {
    expect(run('ld #0xffffffff\nadd #2\nret a')).toBe(1);
    expect(run('ld #1\nsub #2\nret a')).toBe(0xffffffff);
    expect(run('ld #0x10000\nmul #0x10001\nret a')).toBe(0x10000);
    expect(run('ld #0x80000001\nldx #3\nmul x\nret a')).toBe(0x80000003);
    expect(run('ld #1\nneg\nret a')).toBe(0xffffffff);
    expect(run('ld #0\nneg\nret a')).toBe(0);
  });
  it('divides and takes modulo as unsigned numbers', () => {
    expect(run('ld #0xffffffff\ndiv #2\nret a')).toBe(0x7fffffff);
    expect(run('ld #17\nmod #5\nret a')).toBe(2);
    expect(run('ld #0xfffffff0\nldx #0x10\ndiv x\nret a')).toBe(0x0fffffff);
    expect(run('ld #0xfffffff1\nldx #0x10\nmod x\nret a')).toBe(1);
  });
  it('returns 0 on division or modulo by a zero X at run time', () => {
    expect(run('ld #5\nldx #0\ndiv x\nret #9')).toBe(0);
    expect(run('ld #5\nldx #0\nmod x\nret #9')).toBe(0);
  });
  it('and, or, xor', () => {
    expect(run('ld #0xf0f0\nand #0xff00\nret a')).toBe(0xf000);
    expect(run('ld #0xf0f0\nor #0x0f\nret a')).toBe(0xf0ff);
    expect(run('ld #0xffffffff\nxor #0x80000000\nret a')).toBe(0x7fffffff);
    expect(run('ld #6\nldx #3\nand x\nret a')).toBe(2);
    expect(run('ld #6\nldx #3\nor x\nret a')).toBe(7);
    expect(run('ld #6\nldx #3\nxor x\nret a')).toBe(5);
  });
  it('shifts: by X at or past 32 gives 0; a constant count is taken modulo 32 (as compiled libpcap on x86)', () => {
    expect(run('ld #1\nlsh #31\nret a')).toBe(0x80000000);
    expect(run('ld #0x80000000\nrsh #31\nret a')).toBe(1);
    expect(run('ld #3\nlsh #33\nret a')).toBe(6);
    expect(run('ld #3\nldx #32\nlsh x\nret a')).toBe(0);
    expect(run('ld #3\nldx #40\nrsh x\nret a')).toBe(0);
    expect(run('ld #0x80000000\nldx #4\nrsh x\nret a')).toBe(0x08000000);
  });
  it('tax and txa', () => {
    expect(run('ld #4\ntax\nld #0\ntxa\nret a')).toBe(4);
  });
});

describe('jumps and returns', () => {
  it('compares unsigned', () => {
    expect(run('ld #0x80000000\njgt #1, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(1);
    expect(run('ld #5\njge #5, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(1);
    expect(run('ld #5\njgt #5, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(2);
    expect(run('ld #5\njset #2, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(2);
    expect(run('ld #5\nldx #0xffffffff\njgt x, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(2);
    expect(run('ld #5\nldx #5\njeq x, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(1);
    expect(run('ld #5\nldx #4\njset x, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(1);
    expect(run('ld #5\nldx #6\njge x, l1, l2\nl1: ret #1\nl2: ret #2')).toBe(2);
  });
  it('jne/jlt/jle jump when the condition is false', () => {
    expect(run('ld #5\njne #5, l1\nret #1\nl1: ret #2')).toBe(1);
    expect(run('ld #4\njlt #5, l1\nret #1\nl1: ret #2')).toBe(2);
    expect(run('ld #6\njle #5, l1\nret #1\nl1: ret #2')).toBe(1);
  });
  it('ja skips forward', () => {
    expect(run('ja l1\nret #1\nl1: ret #2')).toBe(2);
  });
  it('ret a returns the accumulator, ret #k the constant (all 32 bits)', () => {
    expect(run('ret #4294967295')).toBe(0xffffffff);
    expect(run('ld #77\nret a')).toBe(77);
  });
  it('faults on what libpcap would abort on: an unknown opcode, running off the end', () => {
    const bad: Insn[] = [{ code: 0xff, jt: 0, jf: 0, k: 0 }];
    expect(() => interpret(bad, new Uint8Array())).toThrow(RuntimeFault);
    expect(() => interpret([{ code: 0x00, jt: 0, jf: 0, k: 1 }], new Uint8Array())).toThrow(/left the program/);
    expect(() => compileJit([{ code: 0x00, jt: 0, jf: 0, k: 1 }])(new Uint8Array())).toThrow(/left the program/);
  });
});

describe('Linux ancillary loads', () => {
  const aux: AuxData = {
    protocol: 0x86dd,
    pktType: 4,
    ifindex: 3,
    mark: 0xcafe,
    queue: 2,
    hatype: 1,
    rxhash: 0x12345678,
    cpu: 1,
    vlanTci: 0x0123,
    vlanPresent: true,
    vlanTpid: 0x88a8,
    payOffset: 54,
    random: 42,
  };
  it.each([
    ['proto', 0x86dd],
    ['type', 4],
    ['ifidx', 3],
    ['mark', 0xcafe],
    ['queue', 2],
    ['hatype', 1],
    ['rxhash', 0x12345678],
    ['cpu', 1],
    ['vlan_tci', 0x0123],
    ['vlan_avail', 1],
    ['vlan_tpid', 0x88a8],
    ['poff', 54],
    ['rand', 42],
  ])('ld %s', (name, value) => {
    expect(run(`ld ${name}\nret a`, pkt, undefined, aux)).toBe(value);
    expect(run(`ldb ${name}\nret a`, pkt, undefined, aux)).toBe(value);
  });
  it('without metadata they are loads past the packet (libpcap), so the filter returns 0', () => {
    expect(run('ld proto\nret #1', pkt)).toBe(0);
    expect(run('ldb vlan_avail\nret #1', pkt)).toBe(0);
  });
  it('absent fields read 0; a function supplies ld rand', () => {
    expect(run('ld mark\nret a', pkt, undefined, {})).toBe(0);
    expect(run('ld rand\nret a', pkt, undefined, { random: () => 7 })).toBe(7);
  });
  it('xor_x is A ^= X', () => {
    expect(run('ld #6\nldx #3\nld [-4056]\nret a', pkt, undefined, {})).toBe(5);
  });
  it('nla/nlan find netlink attributes (little-endian length and type)', () => {
    // nlmsg-like buffer: attr(len 8, type 1) at 0, attr(len 12, type 2) nesting attr(len 8, type 5) at 8.
    const nl = Uint8Array.of(8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd, 12, 0, 2, 0, 8, 0, 5, 0, 1, 2, 3, 4);
    expect(skbGetNlattr(nl, 0, 2)).toBe(8);
    expect(skbGetNlattr(nl, 0, 9)).toBe(0);
    expect(skbGetNlattrNest(nl, 8, 5)).toBe(12);
    expect(run('ld #0\nldx #2\nld nla\nret a', nl, undefined, {})).toBe(8);
    expect(run('ld #8\nldx #5\nld nlan\nret a', nl, undefined, {})).toBe(12);
  });
});

describe('Linux load semantics with metadata', () => {
  it('reads SKF_NET_OFF + k from the network header and SKF_LL_OFF + k from the link header', () => {
    const frame = [...new Array(14).fill(0), 0x45, 0x00, 0x00, 0x54];
    expect(run('ldb [-1048576]\nret a', frame, undefined, { networkOffset: 14 })).toBe(0x45);
    expect(run('ldh [-1048574]\nret a', frame, undefined, { networkOffset: 14 })).toBe(0x54);
    expect(run('ldb [-2097152]\nret #1', frame, undefined, {})).toBe(1);
    // Without a network offset, or without metadata at all (libpcap), these loads fail.
    expect(run('ldb [-1048576]\nret #1', frame, undefined, {})).toBe(0);
    expect(run('ldb [-2097152]\nret #1', frame)).toBe(0);
    expect(run('ldb [-2097153]\nret #1', frame, undefined, {})).toBe(0);
  });
  it('adds X + k in 32 bits, where libpcap does not wrap', () => {
    expect(run('ldx #0xffffffff\nldb [x + 2]\nret a', pkt, undefined, {})).toBe(0x34);
    expect(run('ldx #0xffffffff\nldb [x + 2]\nret #1', pkt)).toBe(0);
  });
});
