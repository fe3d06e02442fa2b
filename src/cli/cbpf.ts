/** The `bpfkit cbpf run|fmt|check` commands: classic BPF programs from any text format, run over a capture, reprinted, or validated. */

import { readFileSync } from 'node:fs';
import { compileJit, formatProgram, interpret, parseProgram, validate, type Insn, type ProgramFormat, type ValidateMode } from '../cbpf/index.js';
import { openCaptureFileSync } from '../node/index.js';
import { BpfkitError, ParseError, UsageError } from '../util/index.js';
import { flagSet, flagString, parseArgs } from './args.js';
import type { Command, Io } from './command.js';

/** Reads a program file in any of the four text formats; parse errors name the file. */
function readProgram(file: string): Insn[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError('E_USAGE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parseProgram(text);
  } catch (e) {
    if (e instanceof ParseError) throw new ParseError(e.code, e.detail, { position: { ...e.position, file }, hint: e.hint });
    throw e;
  }
}

function positionals(args: { positionals: string[] }, n: number, usage: string): string[] {
  if (args.positionals.length !== n) throw new UsageError('E_USAGE', `expected ${n === 1 ? 'one argument' : `${n} arguments`}; usage: ${usage}`);
  return args.positionals;
}

const RUN_USAGE = 'bpfkit cbpf run [--engine jit|interp] PROGRAM CAPTURE';

/** `bpfkit cbpf run`: one return value per packet. */
export const cbpfRunCommand: Command = {
  name: ['cbpf', 'run'],
  summary: 'run a classic BPF program over each packet of a capture',
  help: `usage: ${RUN_USAGE}

Runs PROGRAM (a file in tcpdump -d, -dd, -ddd or bpf_asm syntax; the format is detected)
over every packet of CAPTURE (pcap or pcapng) and prints each packet's return value, one
per line (0 = rejected). Semantics are libpcap's bpf_filter.

options:
  --engine jit|interp   the JavaScript JIT (default) or the interpreter
`,
  async run(argv: string[], io: Io): Promise<number> {
    const args = parseArgs(argv, [{ names: ['--engine', '-e'], key: 'engine', value: true, choices: ['jit', 'interp'] }]);
    const [progFile, capFile] = positionals(args, 2, RUN_USAGE);
    const prog = readProgram(progFile);
    const run = flagString(args, 'engine') === 'interp' ? (p: Uint8Array, w: number): number => interpret(prog, p, w) : compileJit(prog);
    let cap;
    try {
      cap = openCaptureFileSync(capFile);
    } catch (e) {
      if (e instanceof BpfkitError) throw e;
      throw new UsageError('E_USAGE', `cannot read ${capFile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      for (const batch of cap.batches()) {
        let out = '';
        for (const pkt of batch) out += `${run(pkt.data, pkt.origLen)}\n`;
        io.stdout(out);
      }
    } finally {
      cap.close();
    }
    return 0;
  },
};

const FMT_USAGE = 'bpfkit cbpf fmt [-d|-dd|-ddd|--asm] PROGRAM';

/** `bpfkit cbpf fmt`: reprints a program in another format. */
export const cbpfFmtCommand: Command = {
  name: ['cbpf', 'fmt'],
  summary: 'print a classic BPF program as tcpdump -d/-dd/-ddd or bpf_asm',
  help: `usage: ${FMT_USAGE}

Reads PROGRAM in any classic BPF text format and prints it as
  -d     tcpdump -d listing (default)
  -dd    C array (tcpdump -dd)
  -ddd   decimal numbers (tcpdump -ddd)
  --asm  Linux bpf_asm source
`,
  async run(argv: string[], io: Io): Promise<number> {
    const args = parseArgs(argv, [
      { names: ['-d'], key: 'd' },
      { names: ['-dd'], key: 'dd' },
      { names: ['-ddd'], key: 'ddd' },
      { names: ['--asm'], key: 'asm' },
    ]);
    const chosen = (['d', 'dd', 'ddd', 'asm'] as const).filter((f) => flagSet(args, f));
    if (chosen.length > 1) throw new UsageError('E_USAGE', `choose one output format, not ${chosen.map((f) => (f === 'asm' ? '--asm' : '-' + f)).join(' and ')}`);
    const format: ProgramFormat = chosen[0] ?? 'd';
    const [file] = positionals(args, 1, FMT_USAGE);
    io.stdout(formatProgram(readProgram(file), format));
    return 0;
  },
};

const CHECK_USAGE = 'bpfkit cbpf check [--mode libpcap|kernel|seccomp] PROGRAM';

/** `bpfkit cbpf check`: validates a program. */
export const cbpfCheckCommand: Command = {
  name: ['cbpf', 'check'],
  summary: "check a classic BPF program against libpcap's, the kernel's or seccomp's rules",
  help: `usage: ${CHECK_USAGE}

Validates PROGRAM as libpcap's bpf_validate (default), the Linux kernel's
SO_ATTACH_FILTER check, or seccomp's filter check. Prints "ok" and exits 0, or names
the first offending instruction and exits 1.
`,
  async run(argv: string[], io: Io): Promise<number> {
    const args = parseArgs(argv, [{ names: ['--mode', '-m'], key: 'mode', value: true, choices: ['libpcap', 'kernel', 'seccomp'] }]);
    const [file] = positionals(args, 1, CHECK_USAGE);
    const prog = readProgram(file);
    const mode = (flagString(args, 'mode') ?? 'libpcap') as ValidateMode;
    validate(prog, { mode });
    io.stdout(`ok: ${prog.length} instructions valid for ${mode}\n`);
    return 0;
  },
};

/** The classic BPF commands, for the table in commands.ts. */
