/** USDT probes: `.note.stapsdt` notes of an ELF binary (provider, name, pc, semaphore, argument specs), x86-64 argument specs parsed, and eBPF that reads an argument from `pt_regs`. */

import { readSectionHeaders, readSegments, vaddrToOffset } from '../elf/index.js';
import type { ProgramBuilder, Reg } from '../ebpf/index.js';
import { R1, R2, R3, R10 } from '../ebpf/index.js';
import { FormatError, UsageError } from '../util/index.js';

/** NT_STAPSDT: the note type of a SystemTap/USDT probe. */
export const NT_STAPSDT = 3;

/** One probe site as its note states it, with addresses already turned into file offsets. */
export interface UsdtProbe {
  provider: string;
  name: string;
  /** The probe site's address (adjusted for prelink through `.stapsdt.base`). */
  pc: number;
  /** Where the site is in the file: what a uprobe needs. */
  offset: number;
  /** The semaphore's address (0 when the probe has none). */
  semaphore: number;
  /** The semaphore's file offset (what the kernel's uprobe ref_ctr_offset takes); 0 when none. */
  semaphoreOffset: number;
  /** The raw argument string, e.g. `-4@%edi 8@-8(%rbp)`. */
  argsText: string;
  args: UsdtArg[];
}

/** A probe argument: where it lives and how wide it is. */
export type UsdtArg =
  | { kind: 'const'; size: number; signed: boolean; value: bigint }
  | { kind: 'reg'; size: number; signed: boolean; reg: string; regOffset: number }
  | { kind: 'mem'; size: number; signed: boolean; reg: string; regOffset: number; offset: number };

/** x86-64 `struct pt_regs` offsets by register name, with the 32/16/8-bit names of each register. */
const X64_REGS: Record<string, number> = {};
for (const [off, names] of [
  [80, 'rax eax ax al'], [40, 'rbx ebx bx bl'], [88, 'rcx ecx cx cl'], [96, 'rdx edx dx dl'], [104, 'rsi esi si sil'],
  [112, 'rdi edi di dil'], [32, 'rbp ebp bp bpl'], [152, 'rsp esp sp spl'], [128, 'rip eip'],
  [72, 'r8 r8d r8w r8b'], [64, 'r9 r9d r9w r9b'], [56, 'r10 r10d r10w r10b'], [48, 'r11 r11d r11w r11b'],
  [24, 'r12 r12d r12w r12b'], [16, 'r13 r13d r13w r13b'], [8, 'r14 r14d r14w r14b'], [0, 'r15 r15d r15w r15b'],
] as const) {
  for (const n of names.split(' ')) X64_REGS[n] = off;
}

function regOffset(reg: string, spec: string, index: number): number {
  const off = X64_REGS[reg];
  if (off === undefined) throw new UsageError('E_USDT_ARG', `usdt argument ${index} "${spec}": unknown register %${reg}`, { position: { column: index } });
  return off;
}

/**
 * Parses one x86-64 argument spec (`-4@%edi`, `8@-8(%rbp)`, `4@$5`). A negative size means
 * signed. Forms we cannot read (`sym(%rip)`, indexed addressing) are a UsageError `E_USDT_ARG`.
 */
export function parseUsdtArg(spec: string, index = 0): UsdtArg {
  const m = /^(-?)(1|2|4|8)@(.+)$/.exec(spec);
  if (!m) throw new UsageError('E_USDT_ARG', `usdt argument ${index} "${spec}": expected SIZE@LOCATION`, { position: { column: index } });
  const signed = m[1] === '-';
  const size = Number(m[2]);
  const loc = m[3];
  let r: RegExpExecArray | null;
  if ((r = /^\$(-?(?:0x[0-9a-f]+|\d+))$/i.exec(loc))) {
    const neg = r[1].startsWith('-');
    const mag = BigInt(neg ? r[1].slice(1) : r[1]);
    return { kind: 'const', size, signed, value: neg ? -mag : mag };
  }
  if ((r = /^%(\w+)$/.exec(loc))) return { kind: 'reg', size, signed, reg: r[1], regOffset: regOffset(r[1], spec, index) };
  if ((r = /^(-?(?:0x[0-9a-f]+|\d+))?\(%(\w+)\)$/i.exec(loc))) {
    const text = r[1] ?? '0';
    const offset = text.startsWith('-') ? -Number(text.slice(1)) : Number(text);
    return { kind: 'mem', size, signed, reg: r[2], regOffset: regOffset(r[2], spec, index), offset };
  }
  throw new UsageError('E_USDT_ARG', `usdt argument ${index} "${spec}": unsupported location "${loc}"`, { position: { column: index } });
}

/** Parses a note's whole argument string (space-separated specs). */
export function parseUsdtArgs(text: string): UsdtArg[] {
  return text.trim() === '' ? [] : text.trim().split(/\s+/).map((s, i) => parseUsdtArg(s, i));
}

function cStr(b: Uint8Array, at: number, end: number): { text: string; next: number } {
  let e = at;
  while (e < end && b[e] !== 0) e++;
  if (e >= end) throw new FormatError('E_USDT_NOTE', 'usdt note string not terminated', { position: { offset: at } });
  return { text: String.fromCharCode(...b.subarray(at, e)), next: e + 1 };
}

/**
 * Every USDT probe in an ELF executable or shared object (`.note.stapsdt`). Addresses are
 * adjusted by `.stapsdt.base` as SystemTap defines, then turned into file offsets. A probe
 * whose argument string we cannot parse keeps `args` empty and its `argsText`.
 */
export function readUsdtProbes(bytes: Uint8Array): UsdtProbe[] {
  const sections = readSectionHeaders(bytes);
  const notes = sections.find((s) => s.name === '.note.stapsdt');
  if (!notes) return [];
  const baseSec = sections.find((s) => s.name === '.stapsdt.base');
  const segments = readSegments(bytes);
  const d = notes.data;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const le = bytes[5] === 1;
  const out: UsdtProbe[] = [];
  const align4 = (n: number): number => (n + 3) & ~3;
  for (let at = 0; at + 12 <= d.length; ) {
    const namesz = v.getUint32(at, le);
    const descsz = v.getUint32(at + 4, le);
    const type = v.getUint32(at + 8, le);
    const descAt = at + 12 + align4(namesz);
    const next = descAt + align4(descsz);
    if (next > d.length) throw new FormatError('E_USDT_NOTE', 'usdt note past end of .note.stapsdt', { position: { offset: notes.offset + at } });
    const owner = String.fromCharCode(...d.subarray(at + 12, at + 12 + Math.max(0, namesz - 1)));
    if (type === NT_STAPSDT && owner === 'stapsdt' && descsz >= 24) {
      const end = descAt + descsz;
      let pc = Number(v.getBigUint64(descAt, le));
      const base = Number(v.getBigUint64(descAt + 8, le));
      let semaphore = Number(v.getBigUint64(descAt + 16, le));
      // Prelinked binaries moved .stapsdt.base: shift pc and the semaphore by the same amount.
      const actualBase = baseSec?.addr;
      if (actualBase !== undefined && base !== 0) {
        pc += actualBase - base;
        if (semaphore) semaphore += actualBase - base;
      }
      const provider = cStr(d, descAt + 24, end);
      const name = cStr(d, provider.next, end);
      const argsText = name.next < end ? cStr(d, name.next, end).text : '';
      let args: UsdtArg[] = [];
      try {
        args = parseUsdtArgs(argsText);
      } catch {
        // an unsupported argument form: the probe can still be attached, its arguments read by hand
      }
      const offset = vaddrToOffset(segments, pc);
      if (offset === undefined) throw new FormatError('E_USDT_NOTE', `usdt probe ${provider.text}:${name.text} at 0x${pc.toString(16)} is in no loadable segment`, { position: { offset: notes.offset + at } });
      out.push({ provider: provider.text, name: name.text, pc, offset, semaphore, semaphoreOffset: semaphore ? (vaddrToOffset(segments, semaphore) ?? 0) : 0, argsText, args });
    }
    at = next;
  }
  return out;
}

/** BPF_FUNC_probe_read_user. */
const PROBE_READ_USER = 112;

/**
 * Appends to `b` the instructions that put USDT argument `arg` into register `dst`, sign- or
 * zero-extended from its size, reading `pt_regs` at `ctx` (a register the helper call does not
 * clobber: r6..r9). Memory arguments are read with bpf_probe_read_user through the 8 stack
 * bytes at `r10 + stackOff` (r1..r5 are clobbered then).
 */
export function emitUsdtArg(b: ProgramBuilder, arg: UsdtArg, regs: { ctx: Reg; dst: Reg; stackOff?: number }): ProgramBuilder {
  const { ctx, dst } = regs;
  if (arg.kind === 'const') return b.lddw(dst, arg.value);
  if (arg.kind === 'reg') {
    b.ldxdw(dst, ctx, arg.regOffset);
  } else {
    const off = regs.stackOff ?? -8;
    b.stdw(R10, off, 0)
      .ldxdw(R3, ctx, arg.regOffset).add64(R3, arg.offset)
      .mov64(R1, R10).add64(R1, off).mov64(R2, arg.size).call(PROBE_READ_USER)
      .ldxdw(dst, R10, off);
  }
  if (arg.size < 8) {
    const shift = 64 - arg.size * 8;
    b.lsh64(dst, shift);
    if (arg.signed) b.arsh64(dst, shift);
    else b.rsh64(dst, shift);
  }
  return b;
}
