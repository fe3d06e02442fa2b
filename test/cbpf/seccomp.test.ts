/** Seccomp filters run on struct seccomp_data: word layout, 64-bit arguments, ld #len. */

import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_X86_64, parseProgram, runSeccomp, seccompPacket, validate } from '../../src/cbpf/index.js';

// A typical filter: kill on a foreign arch, EPERM for mkdir (83), allow the rest.
const filter = parseProgram(`
  ld [4]
  jne #0xc000003e, kill
  ld [0]
  jeq #83, eperm
  ret #0x7fff0000
eperm: ret #0x00050001
kill: ret #0
`);

describe('runSeccomp', () => {
  it('is a valid seccomp filter', () => {
    expect(() => validate(filter, { mode: 'seccomp' })).not.toThrow();
  });
  it('decides by arch and syscall number', () => {
    expect(runSeccomp(filter, { nr: 83, arch: AUDIT_ARCH_X86_64 })).toBe(0x00050001);
    expect(runSeccomp(filter, { nr: 59, arch: AUDIT_ARCH_X86_64 })).toBe(0x7fff0000);
    expect(runSeccomp(filter, { nr: 83, arch: 0x40000003 })).toBe(0);
  });
  it('reads 64-bit arguments as low word first, then high word', () => {
    const prog = parseProgram('ld [16]\ntax\nld [20]\nadd x\nret a');
    expect(runSeccomp(prog, { nr: 0, arch: 0, args: [0x0000000500000007n] })).toBe(12);
    expect(Array.from(seccompPacket({ nr: 1, arch: 2 }).slice(0, 8))).toEqual([0, 0, 0, 1, 0, 0, 0, 2]);
  });
  it('ld #len is the size of struct seccomp_data', () => {
    expect(runSeccomp(parseProgram('ld #len\nret a'), { nr: 0, arch: 0 })).toBe(64);
  });
});
