/** `bpfkit ebpf run`: runs an eBPF program in the VM (interpreter or WebAssembly JIT) and prints r0. */

import { readFileSync } from 'node:fs';
import type { Command } from './command.js';
import { flagInt, flagString, parseArgs, type FlagSpec } from './args.js';
import { BpfkitError, UsageError, fromHex } from '../util/index.js';
import { ProgType } from '../ebpf/index.js';
import { UNWIND_HELPER, load, programTypeByName, PROGRAM_TYPES, type EngineKind } from '../ebpf/vm/index.js';
import { loadProgramFile, type AsmSyntax } from './ebpf-input.js';

const FLAGS: FlagSpec[] = [
  { names: ['--engine', '-e'], key: 'engine', value: true, choices: ['interp', 'jit'] },
  { names: ['--type', '-t'], key: 'type', value: true },
  { names: ['--mem', '-m'], key: 'mem', value: true },
  { names: ['--data', '-d'], key: 'data', value: true },
  { names: ['--ctx'], key: 'ctx', value: true },
  { names: ['--syntax', '-s'], key: 'syntax', value: true, choices: ['llvm', 'conformance'] },
  { names: ['--section'], key: 'section', value: true },
  { names: ['--repeat', '-r'], key: 'repeat', value: true },
];

/** Bytes of a file: hex text when it is only hex digits and separators, raw bytes otherwise. */
function readBytes(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError('E_FILE', `cannot read ${path}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`, { position: { file: path } });
  }
  const text = Buffer.from(bytes).toString('latin1');
  return /^[\s0-9a-fA-Fx,:]*$/.test(text) && /[0-9a-f]/i.test(text) ? hexIn(path, text) : bytes;
}

/** Hex bytes of a flag or file, an error naming where they came from (`--mem: odd number of hex digits in "1" (at column 1)`). */
function hexIn(where: string, text: string): Uint8Array {
  try {
    return fromHex(text);
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(where) : e;
  }
}

/** `bpfkit ebpf run`. */
export const ebpfRunCommand: Command = {
  name: ['ebpf', 'run'],
  summary: 'run an eBPF program in the VM and print r0',
  help: `usage: bpfkit ebpf run [--engine interp|jit] [--type TYPE] [--mem HEX | --data FILE] [--ctx FILE] [--repeat N] FILE

Runs FILE (llvm or bpf_conformance assembly, raw or hex bytes, a bpf_conformance
.data file, or an ELF object) in the portable VM and prints r0 in hex.

  --engine   interp (the reference interpreter) or jit (WebAssembly; default)
  --type     program type: ${PROGRAM_TYPES.map((t) => t.name).join(', ')} (also tc, socket);
             default unspec, the bpf_conformance model (r1 = mem, r2 = its length)
  --mem      input memory as hex bytes (unspec); a .data file brings its own
  --data     packet file (raw or hex) for socket_filter, sched_cls, xdp
  --ctx      context bytes file (__sk_buff, xdp_md, pt_regs, raw args)
  --repeat   run N times and print the mean time per run on stderr

bpf_trace_printk lines go to stderr.`,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'ebpf run takes exactly one FILE');
    const file = args.positionals[0];
    const syntax = flagString(args, 'syntax') as AsmSyntax | undefined;
    const section = flagString(args, 'section');
    const prog = loadProgramFile(file, { ...(syntax ? { syntax } : {}), ...(section ? { section } : {}) });
    const typeName = flagString(args, 'type') ?? 'unspec';
    const type = programTypeByName(typeName);
    if (!type) throw new UsageError('E_USAGE', `unknown program type "${typeName}"`);
    const memHex = flagString(args, 'mem');
    const dataFile = flagString(args, 'data');
    const ctxFile = flagString(args, 'ctx');
    if (memHex !== undefined && dataFile !== undefined) throw new UsageError('E_USAGE', 'give --mem or --data, not both');
    if (dataFile !== undefined && !type.packet) throw new UsageError('E_USAGE', `--data needs a packet program type (socket_filter, sched_cls, xdp), not ${type.name}`);
    const conformance = type.type === ProgType.BPF_PROG_TYPE_UNSPEC && (prog.format === 'conformance' || prog.format === 'conformance-data');
    const program = load(
      { name: file, type: type.type, insns: prog.insns, license: 'GPL' },
      { engine: flagString(args, 'engine') as EngineKind | undefined, helpers: conformance ? [UNWIND_HELPER] : [], host: { tracePrintk: (l) => io.stderr(l + '\n') } },
    );
    const repeat = flagInt(args, 'repeat') ?? 1;
    const input = {
      data: dataFile !== undefined ? readBytes(dataFile) : undefined,
      ctx: ctxFile !== undefined ? readBytes(ctxFile) : undefined,
      mem: memHex !== undefined ? hexIn('--mem', memHex) : prog.mem ?? (type.type === ProgType.BPF_PROG_TYPE_UNSPEC ? new Uint8Array(0) : undefined),
    };
    const t0 = performance.now();
    let r0 = 0n;
    for (let i = 0; i < Math.max(1, repeat); i++) r0 = program.run(input).r0;
    if (repeat > 1) io.stderr(`${(((performance.now() - t0) * 1e6) / repeat).toFixed(0)} ns per run (${program.engine})\n`);
    io.stdout(`0x${r0.toString(16)}\n`);
    program.close();
    return 0;
  },
};
