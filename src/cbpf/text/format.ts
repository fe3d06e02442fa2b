/** Printers for classic BPF: tcpdump's `-d`/`-dd`/`-ddd` listings (libpcap's bpf_image/bpf_dump) and Linux bpf_asm source. */

import type { Insn, Program } from '../insn.js';
import { BPF_CLASS, BPF_JA, BPF_JMP, BPF_OP } from '../opcodes.js';
import { ancillaryOf, opcodeInfo } from '../table.js';

/** The text formats: `d` = `tcpdump -d`, `dd` = `-dd`, `ddd` = `-ddd`, `asm` = bpf_asm. */
export type ProgramFormat = 'd' | 'dd' | 'ddd' | 'asm';

const hex = (k: number): string => '0x' + (k >>> 0).toString(16);
const signed = (k: number): number => k | 0;

/** bpf_image's operand text (without the jump targets). */
function imageOperand(p: Insn, n: number): [string, string] {
  const info = opcodeInfo(p.code);
  if (!info || !info.inImage) return ['unimp', hex(p.code)];
  const k = p.k;
  switch (info.form) {
    case 'abs': {
      const anc = ancillaryOf(k);
      return [info.name, anc ? `[${anc.libpcap}]` : `[${signed(k)}]`];
    }
    case 'ind':
      return [info.name, `[x + ${signed(k)}]`];
    case 'mem':
      return [info.name, `M[${signed(k)}]`];
    case 'msh':
      return [info.name, `4*([${signed(k)}]&0xf)`];
    case 'imm':
    case 'khex':
    case 'jk':
      return [info.name, `#${hex(k)}`];
    case 'kdec':
      return [info.name, `#${signed(k)}`];
    case 'len':
      return [info.name, '#pktlen'];
    case 'x':
    case 'jx':
      return [info.name, 'x'];
    case 'ja':
      return [info.name, String(signed(n + 1 + k))];
    case 'a':
    case 'none':
      return [info.name, ''];
  }
}

/**
 * One line of `tcpdump -d`, exactly as libpcap's `bpf_image(p, n)` writes it (including the
 * blanks that follow operand-less instructions such as `tax`).
 */
export function formatInsnImage(p: Insn, n: number): string {
  const [op, operand] = imageOperand(p, n);
  const idx = String(n).padStart(3, '0');
  if (BPF_CLASS(p.code) === BPF_JMP && BPF_OP(p.code) !== BPF_JA) {
    return `(${idx}) ${op.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + p.jt}\tjf ${n + 1 + p.jf}`;
  }
  return `(${idx}) ${op.padEnd(8)} ${operand}`;
}

/** bpf_asm's operand for one instruction; `label` names a jump target. */
function asmLine(p: Insn, n: number, label: (target: number) => string): string {
  const info = opcodeInfo(p.code);
  if (!info) return `.insn ${hex(p.code)}, ${p.jt}, ${p.jf}, ${hex(p.k)}`;
  const k = p.k;
  switch (info.form) {
    case 'abs': {
      const anc = ancillaryOf(k);
      return anc?.asm ? `${info.name} ${anc.asm}` : `${info.name} [${signed(k) < 0 ? signed(k) : k}]`;
    }
    case 'ind':
      return `${info.name} [x + ${k}]`;
    case 'mem':
      return `${info.name} M[${k}]`;
    case 'msh':
      return `ldx 4*([${k}]&0xf)`;
    case 'imm':
    case 'khex':
      return `${info.name} #${hex(k)}`;
    case 'kdec':
      return `${info.name} #${k}`;
    case 'len':
      return `${info.name} #len`;
    case 'x':
      return `${info.name} x`;
    case 'a':
      return `${info.name} a`;
    case 'none':
      return info.name;
    case 'ja':
      return `ja ${label(n + 1 + signed(k))}`;
    case 'jk':
    case 'jx': {
      const operand = info.form === 'jk' ? `#${hex(k)}` : 'x';
      const t = n + 1 + p.jt;
      const f = n + 1 + p.jf;
      if (p.jf === 0) return `${info.name} ${operand}, ${label(t)}`;
      const inverse = INVERSE[info.name];
      if (p.jt === 0 && inverse) return `${inverse} ${operand}, ${label(f)}`;
      return `${info.name} ${operand}, ${label(t)}, ${label(f)}`;
    }
  }
}

/** Two-operand jump forms that jump when the condition is false (bpf_asm's `jne`, `jlt`, `jle`). */
const INVERSE: Record<string, string | undefined> = { jeq: 'jne', jge: 'jlt', jgt: 'jle' };

/** Indices that some jump targets, for bpf_asm labels. */
function jumpTargets(prog: Program): Set<number> {
  const targets = new Set<number>();
  prog.forEach((p, n) => {
    const info = opcodeInfo(p.code);
    if (jumpsOutside(p, n, prog.length)) return;
    if (info?.form === 'ja') targets.add(n + 1 + signed(p.k));
    else if (info?.form === 'jk' || info?.form === 'jx') {
      // Only the labels that asmLine prints: a zero offset is written as fall-through.
      if (p.jf === 0) targets.add(n + 1 + p.jt);
      else if (p.jt === 0 && INVERSE[info.name]) targets.add(n + 1 + p.jf);
      else {
        targets.add(n + 1 + p.jt);
        targets.add(n + 1 + p.jf);
      }
    }
  });
  return targets;
}

/** True when a jump of `p` at index `n` lands outside the program (only invalid programs do). */
function jumpsOutside(p: Insn, n: number, len: number): boolean {
  const form = opcodeInfo(p.code)?.form;
  const inside = (t: number): boolean => t >= 0 && t < len;
  if (form === 'ja') return !inside(n + 1 + signed(p.k));
  if (form === 'jk' || form === 'jx') return !inside(n + 1 + p.jt) || !inside(n + 1 + p.jf);
  return false;
}

function formatAsm(prog: Program): string {
  const targets = jumpTargets(prog);
  const label = (t: number): string => `l${t}`;
  let out = '';
  prog.forEach((p, n) => {
    if (targets.has(n)) out += `${label(n)}:\n`;
    // A jump with no label to name its target is written raw, so that the text still reads back.
    const line = jumpsOutside(p, n, prog.length) ? `.insn ${hex(p.code)}, ${p.jt}, ${p.jf}, ${hex(p.k)}` : asmLine(p, n, label);
    out += `\t${line}\n`;
  });
  return out;
}

/**
 * Prints a program. `d`, `dd` and `ddd` are byte-identical to `tcpdump -d`, `-dd`, `-ddd`
 * (libpcap 1.10's `bpf_dump`); `asm` is Linux bpf_asm source with `l<N>:` labels, which
 * {@link parseProgram} reads back.
 *
 * @example formatProgram([stmt(BPF_RET | BPF_K, 65535)], 'd') // "(000) ret      #65535\n"
 */
export function formatProgram(prog: Program, format: ProgramFormat): string {
  switch (format) {
    case 'd':
      return prog.map((p, n) => formatInsnImage(p, n) + '\n').join('');
    case 'dd':
      return prog.map((p) => `{ ${hex(p.code)}, ${p.jt}, ${p.jf}, 0x${(p.k >>> 0).toString(16).padStart(8, '0')} },\n`).join('');
    case 'ddd':
      return `${prog.length}\n` + prog.map((p) => `${p.code} ${p.jt} ${p.jf} ${p.k >>> 0}\n`).join('');
    case 'asm':
      return formatAsm(prog);
  }
}
