/** `bpfkit obj inspect` and `bpfkit obj disasm`: what a clang object holds, and its programs as linked, with source lines from line info. */

import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import { flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import { UsageError } from '../util/index.js';
import { formatInsnLlvm, slotOffsets } from '../ebpf/index.js';
import { formatObjectInfo, inspectObject, loadCollectionSpec, sourceLine } from '../elf/index.js';

/** Reads an object file; a missing file is a usage error naming it. */
export function readObject(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError('E_FILE', `cannot read ${path}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`, { position: { file: path } });
  }
}

function oneFile(positionals: string[], cmd: string): string {
  if (positionals.length !== 1) throw new UsageError('E_USAGE', `${cmd} takes one FILE.o`);
  return positionals[0];
}

const INSPECT_FLAGS: FlagSpec[] = [{ names: ['--json', '-j'], key: 'json' }];

/** `bpfkit obj inspect FILE.o [--json]`. */
export const objInspectCommand: Command = {
  name: ['obj', 'inspect'],
  summary: 'list a clang object: sections, programs and attach points, maps, BTF, CO-RE relocations',
  help: `usage: bpfkit obj inspect [--json] FILE.o

Lists what a clang \`-target bpf\` object holds without loading it: its ELF sections,
each program with its type, section and attach point, each map (type, sizes, flags,
pinning, initial values), the BTF's types by kind and the CO-RE relocations.`,
  async run(argv, io) {
    const args = parseArgs(argv, INSPECT_FLAGS);
    const info = inspectObject(readObject(oneFile(args.positionals, 'obj inspect')));
    io.stdout(flagSet(args, 'json') ? `${JSON.stringify(info, null, 2)}\n` : formatObjectInfo(info));
    return 0;
  },
};

const DISASM_FLAGS: FlagSpec[] = [{ names: ['--section', '-s'], key: 'section', value: true }];

/** `bpfkit obj disasm FILE.o [--section S]`. */
export const objDisasmCommand: Command = {
  name: ['obj', 'disasm'],
  summary: 'disassemble the programs of a clang object, linked, with their source lines',
  help: `usage: bpfkit obj disasm [--section S] FILE.o

Prints every program of the object (or those of section S) as the loader links it
(subprograms appended, map references named), in llvm-objdump's syntax, with the
source line that line info gives before the first instruction it covers
(\`bpftool prog dump xlated linum\`).`,
  async run(argv, io) {
    const args = parseArgs(argv, DISASM_FLAGS);
    const spec = loadCollectionSpec(readObject(oneFile(args.positionals, 'obj disasm')));
    const section = flagString(args, 'section');
    const progs = [...spec.programs.values()].filter((p) => section === undefined || p.sectionName === section);
    if (progs.length === 0) throw new UsageError('E_USAGE', section === undefined ? 'the object has no programs' : `no program in section "${section}"`);
    for (const p of progs) {
      io.stdout(`${p.name}: (section ${p.sectionName})\n`);
      const offs = slotOffsets(p.insns);
      let last = '';
      p.insns.forEach((insn, i) => {
        const src = sourceLine(p, offs[i]);
        const at = src && `${src.fileName}:${src.lineNum}`;
        if (src && at !== last && src.line.trim()) io.stdout(`; ${src.line.trim()} // ${src.fileName.slice(src.fileName.lastIndexOf('/') + 1)}:${src.lineNum}\n`);
        if (at) last = at;
        const lines = formatInsnLlvm(insn, { helperNames: true });
        io.stdout(`${String(offs[i]).padStart(5)}: ${lines.join('\n       ')}\n`);
      });
      io.stdout('\n');
    }
    return 0;
  },
};
