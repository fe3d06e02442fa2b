/** The table of classic BPF opcodes: mnemonic and operand form of each, read by the printers, the parser and the validators. */

import { SKF_AD_OFF } from './opcodes.js';

/**
 * How an instruction's operand is written. `abs` `[k]`, `ind` `[x + k]`, `mem` `M[k]`,
 * `msh` `4*([k]&0xf)`, `imm` `#0x..`, `kdec` `#k` (decimal), `khex` `#0x..`, `len` `#pktlen`,
 * `x` the X register, `a` the accumulator, `none` nothing, `ja` a jump target,
 * `jk`/`jx` a conditional jump on k / on X.
 */
export type OperandForm = 'abs' | 'ind' | 'mem' | 'msh' | 'imm' | 'kdec' | 'khex' | 'len' | 'x' | 'a' | 'none' | 'ja' | 'jk' | 'jx';

/** One known opcode. */
export interface OpcodeInfo {
  code: number;
  /** libpcap's `bpf_image` mnemonic (also the bpf_asm one, except `ldx 4*(...)`). */
  name: string;
  form: OperandForm;
  /** False for opcodes that libpcap 1.10's `bpf_image` prints as `unimp`. */
  inImage: boolean;
  /** Accepted by the Linux kernel's `bpf_check_classic` (`chk_code_allowed`). */
  kernel: boolean;
  /** Accepted by `seccomp_check_filter` (after the kernel's check). */
  seccomp: boolean;
}

const rows: [number, string, OperandForm, string][] = [
  // code, mnemonic, form, flags: i = in bpf_image, k = kernel, s = seccomp
  [0x00, 'ld', 'imm', 'iks'],
  [0x20, 'ld', 'abs', 'iks'],
  [0x28, 'ldh', 'abs', 'ik'],
  [0x30, 'ldb', 'abs', 'ik'],
  [0x40, 'ld', 'ind', 'ik'],
  [0x48, 'ldh', 'ind', 'ik'],
  [0x50, 'ldb', 'ind', 'ik'],
  [0x60, 'ld', 'mem', 'iks'],
  [0x80, 'ld', 'len', 'iks'],
  [0x01, 'ldx', 'imm', 'iks'],
  [0x61, 'ldx', 'mem', 'iks'],
  [0x81, 'ldx', 'len', 'ks'],
  [0xb1, 'ldxb', 'msh', 'ik'],
  [0x02, 'st', 'mem', 'iks'],
  [0x03, 'stx', 'mem', 'iks'],
  [0x04, 'add', 'kdec', 'iks'],
  [0x14, 'sub', 'kdec', 'iks'],
  [0x24, 'mul', 'kdec', 'iks'],
  [0x34, 'div', 'kdec', 'iks'],
  [0x94, 'mod', 'kdec', 'ik'],
  [0x44, 'or', 'khex', 'iks'],
  [0x54, 'and', 'khex', 'iks'],
  [0xa4, 'xor', 'khex', 'iks'],
  [0x64, 'lsh', 'kdec', 'iks'],
  [0x74, 'rsh', 'kdec', 'iks'],
  [0x0c, 'add', 'x', 'iks'],
  [0x1c, 'sub', 'x', 'iks'],
  [0x2c, 'mul', 'x', 'iks'],
  [0x3c, 'div', 'x', 'iks'],
  [0x9c, 'mod', 'x', 'ik'],
  [0x4c, 'or', 'x', 'iks'],
  [0x5c, 'and', 'x', 'iks'],
  [0xac, 'xor', 'x', 'iks'],
  [0x6c, 'lsh', 'x', 'iks'],
  [0x7c, 'rsh', 'x', 'iks'],
  [0x84, 'neg', 'none', 'iks'],
  [0x05, 'ja', 'ja', 'iks'],
  [0x15, 'jeq', 'jk', 'iks'],
  [0x25, 'jgt', 'jk', 'iks'],
  [0x35, 'jge', 'jk', 'iks'],
  [0x45, 'jset', 'jk', 'iks'],
  [0x1d, 'jeq', 'jx', 'iks'],
  [0x2d, 'jgt', 'jx', 'iks'],
  [0x3d, 'jge', 'jx', 'iks'],
  [0x4d, 'jset', 'jx', 'iks'],
  [0x06, 'ret', 'kdec', 'iks'],
  [0x16, 'ret', 'a', 'iks'],
  [0x07, 'tax', 'none', 'iks'],
  [0x87, 'txa', 'none', 'iks'],
];

/** Every opcode that libpcap or Linux executes, in a stable order. */
export const OPCODES: readonly OpcodeInfo[] = rows.map(([code, name, form, flags]) => ({
  code,
  name,
  form,
  inImage: flags.includes('i'),
  kernel: flags.includes('k'),
  seccomp: flags.includes('s'),
}));

const byCode = new Map<number, OpcodeInfo>(OPCODES.map((o) => [o.code, o]));

/** The table row of `code`, or undefined for an encoding no engine runs. */
export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return byCode.get(code);
}

/**
 * Linux ancillary-data offsets (added to SKF_AD_OFF) with the names libpcap's `bpf_image`
 * prints (`libpcap`) and the names bpf_asm reads and writes (`asm`).
 */
export const ANCILLARY: readonly { offset: number; libpcap: string; asm: string | undefined; aliases: readonly string[] }[] = [
  { offset: 0, libpcap: 'proto', asm: 'proto', aliases: [] },
  { offset: 4, libpcap: 'type', asm: 'type', aliases: [] },
  { offset: 8, libpcap: 'ifidx', asm: 'ifidx', aliases: [] },
  { offset: 12, libpcap: 'nla', asm: 'nla', aliases: [] },
  { offset: 16, libpcap: 'nlan', asm: 'nlan', aliases: [] },
  { offset: 20, libpcap: 'mark', asm: 'mark', aliases: [] },
  { offset: 24, libpcap: 'queue', asm: 'queue', aliases: [] },
  { offset: 28, libpcap: 'hatype', asm: 'hatype', aliases: [] },
  { offset: 32, libpcap: 'rxhash', asm: 'rxhash', aliases: [] },
  { offset: 36, libpcap: 'cpu', asm: 'cpu', aliases: [] },
  { offset: 40, libpcap: 'xor_x', asm: undefined, aliases: [] },
  { offset: 44, libpcap: 'vlan_tci', asm: 'vlan_tci', aliases: [] },
  { offset: 48, libpcap: 'vlanp', asm: 'vlan_avail', aliases: ['vlan_pr'] },
  { offset: 52, libpcap: 'poff', asm: 'poff', aliases: [] },
  { offset: 56, libpcap: 'random', asm: 'rand', aliases: [] },
  { offset: 60, libpcap: 'vlan_tpid', asm: 'vlan_tpid', aliases: [] },
];

/** The ancillary row for an absolute-load `k`, if `k` names one. */
export function ancillaryOf(k: number): (typeof ANCILLARY)[number] | undefined {
  const off = (k - (SKF_AD_OFF >>> 0)) >>> 0;
  if (off >= 64 || (off & 3) !== 0) return undefined;
  return ANCILLARY[off >> 2];
}

/** Every spelling of every ancillary name, to its offset. */
export const ANCILLARY_BY_NAME: ReadonlyMap<string, number> = new Map(
  ANCILLARY.flatMap((a) => [a.libpcap, ...(a.asm ? [a.asm] : []), ...a.aliases].map((n) => [n, a.offset] as [string, number])),
);
