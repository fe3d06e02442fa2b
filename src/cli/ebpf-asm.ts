/** `bpfkit ebpf asm` and `bpfkit ebpf disasm`: thin commands over the eBPF assemblers, disassemblers and ELF reader. */

import { AtomicFileWriter } from '../node/index.js';
import type { Command } from './command.js';
import { flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import { UsageError, toHex } from '../util/index.js';
import {
  checkProgram, disassembleConformance, disassembleLlvm, encodeProgram, formatInsnConformance, formatInsnLlvm, slotOffsets,
  type Insn, type LlvmFormatOptions,
} from '../ebpf/index.js';
import { loadProgramFile, type AsmSyntax } from './ebpf-input.js';

const SYNTAX: FlagSpec = { names: ['--syntax', '-s'], key: 'syntax', value: true, choices: ['llvm', 'conformance'] };

const ASM_FLAGS: FlagSpec[] = [
  SYNTAX,
  { names: ['-o', '--output'], key: 'output', value: true },
  { names: ['--hex'], key: 'hex' },
  { names: ['--big-endian'], key: 'bigEndian' },
  { names: ['--no-check'], key: 'noCheck' },
];

/** `bpfkit ebpf asm`: assembly text to bytes. */
export const ebpfAsmCommand: Command = {
  name: ['ebpf', 'asm'],
  summary: 'assemble eBPF (llvm or bpf_conformance syntax) to bytes',
  help: `usage: bpfkit ebpf asm [--syntax llvm|conformance] [-o OUT] [--hex] [--big-endian] [--no-check] FILE

Assembles FILE (\`-\` for stdin). The syntax is guessed when not given: \`%r1\`
registers mean bpf_conformance syntax, otherwise llvm/kernel syntax. With -o the
raw bytes go to OUT (hex text with --hex; \`-\` is stdout; a regular file is replaced
atomically, a device written in place); without -o hex goes to stdout. The
program is checked structurally unless --no-check.`,
  async run(argv, io) {
    const args = parseArgs(argv, ASM_FLAGS);
    const file = onlyFile(args.positionals, 'ebpf asm');
    const syntax = flagString(args, 'syntax') as AsmSyntax | undefined;
    const prog = loadProgramFile(file, syntax ? { syntax } : {});
    if (!flagSet(args, 'noCheck')) checkProgram(prog.insns);
    const bytes = encodeProgram(prog.insns, { bigEndian: flagSet(args, 'bigEndian') });
    const out = flagString(args, 'output');
    const hex = (): string => hexLines(bytes);
    if (out === undefined) io.stdout(hex());
    else {
      // Through the one writer: atomic for a file, in place for a device, \`-\` for stdout, typed errors.
      const w = new AtomicFileWriter(out, io.stdoutBytes ? { stdout: io.stdoutBytes } : {});
      try {
        w.write(flagSet(args, 'hex') ? new TextEncoder().encode(hex()) : bytes);
        w.commit();
      } finally {
        w.abort();
      }
    }
    return 0;
  },
};

const DISASM_FLAGS: FlagSpec[] = [
  SYNTAX,
  { names: ['--helper-names'], key: 'helperNames' },
  { names: ['--decimal'], key: 'decimal' },
  { names: ['--labels'], key: 'labels' },
  { names: ['--section'], key: 'section', value: true },
  { names: ['--big-endian'], key: 'bigEndian' },
];

/** `bpfkit ebpf disasm`: bytes, hex or an ELF object to assembly text. */
export const ebpfDisasmCommand: Command = {
  name: ['ebpf', 'disasm'],
  summary: 'disassemble eBPF bytes, hex or an ELF object',
  help: `usage: bpfkit ebpf disasm [--syntax llvm|conformance] [--helper-names] [--decimal] [--labels] [--section NAME] FILE

FILE (\`-\` for stdin) holds raw eBPF bytes, hex text, assembly, or a clang
\`-target bpf\` ELF object (then every program section is printed, or only
--section NAME). llvm syntax prints as \`llvm-objdump -d\` does; the output
reassembles with \`bpfkit ebpf asm\` to the same bytes.`,
  async run(argv, io) {
    const args = parseArgs(argv, DISASM_FLAGS);
    const file = onlyFile(args.positionals, 'ebpf disasm');
    const syntax = (flagString(args, 'syntax') ?? 'llvm') as AsmSyntax;
    const section = flagString(args, 'section');
    const prog = loadProgramFile(file, { ...(section !== undefined ? { section } : {}), bigEndian: flagSet(args, 'bigEndian') });
    const opts: LlvmFormatOptions = { helperNames: flagSet(args, 'helperNames'), decimal: flagSet(args, 'decimal'), labels: flagSet(args, 'labels') };
    const show = (insns: Insn[]): string => (syntax === 'conformance' ? disassembleConformance(insns) : disassembleLlvm(insns, opts));
    if (!prog.sections) {
      io.stdout(show(prog.insns));
      return 0;
    }
    // Per section: function symbols become labels, relocations trail their instruction as comments,
    // so the listing reads like llvm-objdump -dr and still reassembles to the section's bytes.
    const comment = syntax === 'conformance' ? '#' : ';';
    const one = (insn: Insn): string[] => (syntax === 'conformance' ? formatInsnConformance(insn) : formatInsnLlvm(insn, opts));
    for (const s of prog.sections) {
      if (section !== undefined && s.section.name !== section) continue;
      io.stdout(`${comment} section ${s.section.name}\n`);
      const offs = slotOffsets(s.insns);
      const labels = new Map<number, string[]>();
      for (const sym of s.symbols) if (/^[A-Za-z_.$][\w.$]*$/.test(sym.name)) labels.set(sym.value / 8, [...(labels.get(sym.value / 8) ?? []), sym.name]);
      const relocs = new Map<number, string[]>();
      for (const r of s.relocations) relocs.set(r.slot, [...(relocs.get(r.slot) ?? []), r.symbol]);
      s.insns.forEach((insn, i) => {
        for (const l of labels.get(offs[i]) ?? []) io.stdout(`${l}:\n`);
        const lines = one(insn);
        const rel = relocs.get(offs[i]);
        if (rel) lines[0] += `\t${comment} relocation: ${rel.join(', ')}`;
        io.stdout(lines.map((l) => (syntax === 'conformance' ? l : `\t${l}`)).join('\n') + '\n');
      });
    }
    return 0;
  },
};

function onlyFile(positionals: string[], cmd: string): string {
  if (positionals.length !== 1) throw new UsageError('E_USAGE', `${cmd} takes one FILE`);
  return positionals[0];
}

function hexLines(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8) s += toHex(bytes.subarray(i, i + 8), ' ') + '\n';
  return s;
}
