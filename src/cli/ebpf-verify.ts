/** `bpfkit ebpf verify`: runs the verifier on a program and prints the verdict, the kernel-style log and the explanation of a rejection. */

import type { Command } from './command.js';
import { flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import { UsageError } from '../util/index.js';
import { MapType, ProgType, type MapSpec, type ProgramSpec } from '../ebpf/index.js';
import { VerifierError, verify } from '../ebpf/verifier/index.js';
import { loadCollectionSpec } from '../elf/index.js';
import { AttachType, type VerifierExplanation } from '../kernel/index.js';
import { loadProgramFile } from './ebpf-input.js';

const FLAGS: FlagSpec[] = [
  { names: ['--type', '-t'], key: 'type', value: true },
  { names: ['--attach-type'], key: 'attach', value: true },
  { names: ['--unpriv'], key: 'unpriv' },
  { names: ['--strict-alignment'], key: 'strict' },
  { names: ['--any-alignment'], key: 'any' },
  { names: ['--sleepable'], key: 'sleepable' },
  { names: ['--log-level'], key: 'log', value: true, choices: ['0', '1', '2'] },
  { names: ['--json'], key: 'json' },
  { names: ['--section'], key: 'section', value: true },
  { names: ['--license'], key: 'license', value: true },
  { names: ['--kernel'], key: 'kernel' },
];

/** Map flags by their kernel names (`rdonly_prog` = BPF_F_RDONLY_PROG...). */
const MAP_FLAGS: Readonly<Record<string, number>> = {
  no_prealloc: 0x1, no_common_lru: 0x2, numa_node: 0x4, rdonly: 0x8, wronly: 0x10, stack_build_id: 0x20, zero_seed: 0x40,
  rdonly_prog: 0x80, wronly_prog: 0x100, clone: 0x200, mmapable: 0x400, preserve_elems: 0x800, inner_map: 0x1000,
};

/** A kernel enum name, case-insensitive, with or without its prefix (`xdp`, `BPF_PROG_TYPE_XDP`). */
function byKernelName<T extends Record<string, number>>(table: T, prefix: string, name: string, what: string): number {
  const n = name.toUpperCase().replace(/-/g, '_');
  const v = table[n] ?? table[prefix + n];
  if (v === undefined) throw new UsageError('E_USAGE', `unknown ${what} "${name}"`);
  return v;
}

/** `--map TYPE:KEYSIZE:VALUESIZE:MAXENTRIES[:FLAG,...]`. */
export function parseMapFlag(text: string, index: number): MapSpec {
  const parts = text.split(':');
  if (parts.length < 4 || parts.length > 5) throw new UsageError('E_USAGE', `--map "${text}": expected TYPE:KEYSIZE:VALUESIZE:MAXENTRIES[:FLAG,...]`);
  const type = byKernelName(MapType, 'BPF_MAP_TYPE_', parts[0], 'map type') as MapType;
  const num = (s: string, what: string): number => {
    if (!/^\d+$/.test(s)) throw new UsageError('E_USAGE', `--map "${text}": ${what} "${s}" is not a number`);
    return Number(s);
  };
  let flags = 0;
  for (const f of parts[4] ? parts[4].split(',') : []) {
    const v = MAP_FLAGS[f.toLowerCase().replace(/^bpf_f_/, '')];
    if (v === undefined) throw new UsageError('E_USAGE', `--map "${text}": unknown flag "${f}"`);
    flags |= v;
  }
  return { name: `map${index}`, type, keySize: num(parts[1], 'key size'), valueSize: num(parts[2], 'value size'), maxEntries: num(parts[3], 'max entries'), flags };
}

/** lddw with src 1 (map fd) or 2 (map value) and imm k, as raw programs write them, named for the loader: the k-th map. */
function nameMapRefs(spec: ProgramSpec): ProgramSpec {
  const maps = spec.maps ?? [];
  const insns = spec.insns.map((insn, i) => {
    if (insn.code !== 0x18 || insn.ref !== undefined || (insn.src !== 1 && insn.src !== 2)) return insn;
    const m = maps[insn.imm];
    if (!m) throw new UsageError('E_USAGE', `instruction ${i}: lddw refers to map ${insn.imm}, but only ${maps.length} --map were given`);
    return { ...insn, ref: m.name };
  });
  return { ...spec, insns };
}

/** `--kernel`: the kernel's verdict, with its log and bpfkit's explanation side by side when it refuses. */
async function verifyInKernel(spec: ProgramSpec, json: boolean, io: Parameters<Command['run']>[1]): Promise<number> {
  const { openKernel, VerifierError: KernelVerifierError } = await import('../kernel/index.js');
  const kernel = await openKernel();
  const jsonOf = (x: VerifierExplanation | undefined): unknown =>
    x?.verdict === 'rejected' ? { accepted: false, error: x.error.toJSON() } : x ? { accepted: true } : null;
  try {
    kernel.load(nameMapRefs(spec), { logLevel: 1 }).close();
  } catch (e) {
    if (!(e instanceof KernelVerifierError)) throw e;
    // The loader has run bpfkit's verifier on the refused program already (e.explanation).
    if (json) io.stdout(JSON.stringify({ kernel: { accepted: false, errno: e.errno, log: e.log }, bpfkit: jsonOf(e.explanation) }) + '\n');
    else io.stderr(`bpfkit ebpf verify: the kernel rejects it\n${e.explain()}\n`);
    return 1;
  }
  let ours: VerifierExplanation;
  let processed = 0;
  try {
    processed = verify(spec, { maps: spec.maps }).processed;
    ours = { verdict: 'accepted' };
  } catch (e) {
    if (!(e instanceof VerifierError)) throw e;
    ours = { verdict: 'rejected', error: e };
  }
  if (json) io.stdout(JSON.stringify({ kernel: { accepted: true }, bpfkit: ours.verdict === 'accepted' ? { accepted: true, processed } : jsonOf(ours) }) + '\n');
  else {
    io.stdout('kernel: accepted\n');
    io.stdout(ours.verdict === 'accepted' ? `bpfkit: accepted (processed ${processed} insns)\n` : `bpfkit: rejected (a difference from the kernel: please report it)\n${ours.error.explain()}\n`);
  }
  return 0;
}

/** `bpfkit ebpf verify`. */
export const ebpfVerifyCommand: Command = {
  name: ['ebpf', 'verify'],
  summary: 'verify an eBPF program as the kernel verifier would, and explain a rejection',
  help: `usage: bpfkit ebpf verify [--type TYPE] [--attach-type NAME] [--unpriv] [--strict-alignment]
       [--any-alignment] [--sleepable] [--map TYPE:KEYSIZE:VALUESIZE:MAXENTRIES[:FLAG,...]]...
       [--log-level 0|1|2] [--json] [--kernel] [--section NAME] PROGRAM

Runs bpfkit's verifier (the kernel's rules, no root needed) on PROGRAM: raw 8-byte
instruction slots, hex, llvm or bpf_conformance assembly, or an ELF object (--section
picks the program; its maps come from the object).

  --type         program type by its kernel name, with or without BPF_PROG_TYPE_
                 (socket_filter, sched_cls, xdp, cgroup_skb, kprobe, tracepoint, sk_lookup...);
                 default socket_filter, or the ELF section's type
  --attach-type  expected attach type by its kernel name, with or without BPF_
  --unpriv       verify as an unprivileged user: no pointer leaks, no loops, no uninitialized stack
  --strict-alignment / --any-alignment   BPF_F_STRICT_ALIGNMENT / BPF_F_ANY_ALIGNMENT
  --sleepable    BPF_F_SLEEPABLE
  --map          the k-th --map is the map an lddw with src 1 (map fd) or 2 (map value) and imm k
                 names; flags by kernel name: rdonly_prog, wronly_prog, no_prealloc...
  --log-level    1: the kernel-style log of every path; 2: with the state after every instruction
  --json         print the verdict as JSON
  --kernel       also load it into the running kernel (root): print both verdicts, and when the
                 kernel refuses, its log beside bpfkit's explanation; the exit status is the kernel's

Exit status: 0 accepted, 1 rejected (the reason on stderr), 2 usage error.`,
  async run(argv, io) {
    // --map repeats: take them out before the single-valued parser.
    const maps: MapSpec[] = [];
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--map') {
        if (argv[i + 1] === undefined) throw new UsageError('E_USAGE', 'option --map needs a value');
        maps.push(parseMapFlag(argv[++i], maps.length));
      } else if (a.startsWith('--map=')) maps.push(parseMapFlag(a.slice(6), maps.length));
      else rest.push(a);
    }
    const args = parseArgs(rest, FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'ebpf verify takes exactly one PROGRAM');
    if (flagSet(args, 'strict') && flagSet(args, 'any')) throw new UsageError('E_USAGE', '--strict-alignment and --any-alignment exclude each other');
    const file = args.positionals[0];
    const section = flagString(args, 'section');
    const prog = loadProgramFile(file, section ? { section } : {});
    let spec: ProgramSpec;
    if (prog.format === 'elf') {
      const coll = loadCollectionSpec(new Uint8Array((await import('node:fs')).readFileSync(file)));
      const all = [...coll.programs.values()];
      const pick = section ? all.find((p) => p.sectionName === section || p.name === section) : all[0];
      if (!pick) throw new UsageError('E_USAGE', `no program "${section}" in ${file}`);
      spec = { ...pick, maps: maps.length ? maps : pick.maps };
    } else {
      spec = { name: 'prog', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: prog.insns, license: flagString(args, 'license') ?? 'GPL', maps };
    }
    const typeName = flagString(args, 'type');
    const type = typeName ? byKernelName(ProgType, 'BPF_PROG_TYPE_', typeName === 'tc' ? 'sched_cls' : typeName, 'program type') : spec.type;
    const attachName = flagString(args, 'attach');
    const attach = attachName ? byKernelName(AttachType, 'BPF_', attachName, 'attach type') : spec.expectedAttachType;
    const logLevel = Number(flagString(args, 'log') ?? '0') as 0 | 1 | 2;
    const json = flagSet(args, 'json');
    if (flagSet(args, 'kernel')) {
      if (flagSet(args, 'unpriv') || flagSet(args, 'strict') || flagSet(args, 'any') || flagSet(args, 'sleepable')) {
        throw new UsageError('E_USAGE', '--kernel loads as root with default flags: drop --unpriv, --strict-alignment, --any-alignment and --sleepable');
      }
      return verifyInKernel({ ...spec, type: type as ProgType, ...(attach !== undefined ? { expectedAttachType: attach } : {}) }, json, io);
    }
    try {
      const r = verify(spec, {
        type, expectedAttachType: attach, unprivileged: flagSet(args, 'unpriv'), sleepable: flagSet(args, 'sleepable'),
        alignment: flagSet(args, 'strict') ? 'strict' : flagSet(args, 'any') ? 'any' : 'default', logLevel, maps: spec.maps,
      });
      if (json) io.stdout(JSON.stringify({ accepted: true, processed: r.processed, totalStates: r.totalStates, peakStates: r.peakStates, log: logLevel ? r.log : undefined }) + '\n');
      else {
        if (logLevel) io.stdout(r.log);
        io.stdout(`accepted: processed ${r.processed} insns, ${r.totalStates} states\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof VerifierError)) throw e;
      if (json) io.stdout(JSON.stringify({ accepted: false, error: e.toJSON(), log: logLevel ? e.log : undefined }) + '\n');
      else if (logLevel) io.stdout(e.log);
      io.stderr(`bpfkit ebpf verify: rejected (${e.code})\n${e.explain()}\n`);
      return 1;
    }
  },
};
