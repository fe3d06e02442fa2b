/** Running seccomp filters: `struct seccomp_data` as the packet that classic BPF loads read. */

import { interpret } from './interpret.js';
import type { Program } from './insn.js';
import { SECCOMP_DATA_SIZE } from './validate.js';

/** What a seccomp filter sees: the system call number, the audit arch, the instruction pointer and six arguments. */
export interface SeccompData {
  nr: number;
  /** AUDIT_ARCH_*, e.g. 0xc000003e for x86_64. */
  arch: number;
  instructionPointer?: bigint;
  args?: readonly bigint[];
}

/** AUDIT_ARCH_X86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;

/**
 * The 64 bytes to hand to {@link interpret} so that `ld [k]` reads each 32-bit word of
 * `struct seccomp_data` as the kernel does on a little-endian host (x86_64, arm64): the kernel
 * loads words in host order, classic BPF packet loads are big-endian, so each word is stored
 * big-endian here. 64-bit fields keep their low word at the lower offset.
 */
export function seccompPacket(data: SeccompData): Uint8Array {
  const out = new Uint8Array(SECCOMP_DATA_SIZE);
  const dv = new DataView(out.buffer);
  const u64 = (off: number, v: bigint): void => {
    dv.setUint32(off, Number(BigInt.asUintN(64, v) & 0xffffffffn));
    dv.setUint32(off + 4, Number(BigInt.asUintN(64, v) >> 32n));
  };
  dv.setUint32(0, data.nr >>> 0);
  dv.setUint32(4, data.arch >>> 0);
  u64(8, data.instructionPointer ?? 0n);
  (data.args ?? []).slice(0, 6).forEach((a, i) => u64(16 + 8 * i, a));
  return out;
}

/**
 * Runs a seccomp filter on one system call and returns its action word (SECCOMP_RET_*).
 * `ld #len` reads 64, as in the kernel. Check the filter first with `validate(prog, { mode: 'seccomp' })`.
 *
 * @example runSeccomp(prog, { nr: 59, arch: AUDIT_ARCH_X86_64 }) === 0x7fff0000 // SECCOMP_RET_ALLOW
 */
export function runSeccomp(prog: Program, data: SeccompData): number {
  return interpret(prog, seccompPacket(data), SECCOMP_DATA_SIZE);
}
