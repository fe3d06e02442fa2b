/** `bpfkit prog load` and `bpfkit prog run`: a clang object loaded whole (libbpf's way) into the kernel or the VM, then pinned, attached or test-run. */

import { mkdirSync } from 'node:fs';
import type { Command } from './command.js';
import { flagInt, flagSet, flagString, parseArgs, type FlagSpec } from './args.js';
import { readBytes } from './ebpf-run.js';
import { readObject } from './obj.js';
import { UsageError, toHex } from '../util/index.js';
import { vmBackend, type BpfProgram, type EngineKind, type TestRunResult } from '../ebpf/index.js';
import { loadCollection, objectNameOf, type Collection } from '../elf/index.js';

const hexdump = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 16) s += `  ${i.toString(16).padStart(4, '0')}: ${toHex(b.subarray(i, i + 16), ' ')}\n`;
  return s;
};

/** The program to run: the one in section S (or named by --program). */
function pick(coll: Collection, section: string | undefined, name: string | undefined): BpfProgram {
  if (name !== undefined) return coll.program(name);
  const inSection = [...coll.programs.values()].filter((p) => p.spec.sectionName === section);
  if (inSection.length === 0) throw new UsageError('E_USAGE', `no program in section "${section}" (sections: ${[...new Set([...coll.programs.values()].map((p) => p.spec.sectionName))].join(', ')})`);
  if (inSection.length > 1) throw new UsageError('E_USAGE', `section "${section}" has ${inSection.length} programs (${inSection.map((p) => p.spec.name).join(', ')}): choose one with --program`);
  return inSection[0];
}

const RUN_FLAGS: FlagSpec[] = [
  { names: ['--section', '-s'], key: 'section', value: true },
  { names: ['--program', '-p'], key: 'program', value: true },
  { names: ['--data', '-d'], key: 'data', value: true },
  { names: ['--ctx'], key: 'ctx', value: true },
  { names: ['--repeat', '-r'], key: 'repeat', value: true },
  { names: ['--vm'], key: 'vm' },
  { names: ['--kernel'], key: 'kernel' },
  { names: ['--engine', '-e'], key: 'engine', value: true, choices: ['interp', 'jit'] },
  { names: ['--json', '-j'], key: 'json' },
];

/** `bpfkit prog run FILE.o --section S --data FILE [--ctx FILE] [--repeat N] [--vm | --kernel]`. */
export const progRunCommand: Command = {
  name: ['prog', 'run'],
  summary: 'load a clang object and test-run one of its programs (VM or kernel), as BPF_PROG_TEST_RUN',
  help: `usage: bpfkit prog run FILE.o --section S [--program NAME] [--data FILE] [--ctx FILE] [--repeat N] [--vm | --kernel] [--engine interp|jit] [--json]

Loads the whole object (maps, global data, prog arrays, as libbpf does) into the VM
(--vm, the default) or the running kernel (--kernel, needs root), runs the program of
section S once (or N times) with BPF_PROG_TEST_RUN's semantics, and prints its return
value, the packet and context after the run, and the mean duration per run.

  --data   packet bytes (raw, or hex text) for xdp, tc, socket and cgroup_skb programs
  --ctx    context bytes in (__sk_buff, xdp_md, raw tracepoint args)
  --engine the VM's engine (default jit)`,
  async run(argv, io) {
    const args = parseArgs(argv, RUN_FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'prog run takes one FILE.o');
    if (flagSet(args, 'vm') && flagSet(args, 'kernel')) throw new UsageError('E_USAGE', 'give --vm or --kernel, not both');
    const section = flagString(args, 'section');
    const name = flagString(args, 'program');
    if (section === undefined && name === undefined) throw new UsageError('E_USAGE', 'prog run needs --section S (or --program NAME)');
    const file = args.positionals[0];
    const bytes = readObject(file);
    const dataFile = flagString(args, 'data');
    const ctxFile = flagString(args, 'ctx');
    const input = { data: dataFile === undefined ? undefined : readBytes(dataFile), ctx: ctxFile === undefined ? undefined : readBytes(ctxFile), repeat: flagInt(args, 'repeat') };
    let r: TestRunResult;
    if (flagSet(args, 'kernel')) {
      const { Kernel } = await import('../kernel/kernel.js');
      using coll = loadCollection(bytes, await Kernel.open(), { name: objectNameOf(file) });
      r = await pick(coll as unknown as Collection, section, name).testRun(input);
    } else {
      using coll = loadCollection(bytes, vmBackend({ engine: flagString(args, 'engine') as EngineKind | undefined }), { name: objectNameOf(file) });
      r = await pick(coll as unknown as Collection, section, name).testRun(input);
    }
    if (flagSet(args, 'json')) {
      io.stdout(`${JSON.stringify({ retval: r.retval, duration: r.duration, dataOut: toHex(r.dataOut), ...(r.ctxOut ? { ctxOut: toHex(r.ctxOut) } : {}) })}\n`);
      return 0;
    }
    io.stdout(`retval: ${r.retval} (0x${(r.retval >>> 0).toString(16)})\nduration: ${r.duration} ns\n`);
    io.stdout(`data out: ${r.dataOut.length} bytes\n${hexdump(r.dataOut)}`);
    if (r.ctxOut) io.stdout(`ctx out: ${r.ctxOut.length} bytes\n${hexdump(r.ctxOut)}`);
    return 0;
  },
};

const LOAD_FLAGS: FlagSpec[] = [
  { names: ['--pin'], key: 'pin', value: true },
  { names: ['--attach'], key: 'attach' },
  { names: ['--interface', '-i'], key: 'interface', value: true },
  { names: ['--cgroup'], key: 'cgroup', value: true },
  { names: ['--pin-maps'], key: 'pinMaps', value: true },
];

/** `bpfkit prog load FILE.o [--pin DIR] [--attach]`. */
export const progLoadCommand: Command = {
  name: ['prog', 'load'],
  summary: 'load a clang object into the kernel (bpftool prog loadall): pin its programs, attach them by section',
  help: `usage: bpfkit prog load FILE.o [--pin DIR] [--pin-maps DIR] [--attach [--interface IF] [--cgroup DIR]]

Loads every map and program of the object into the running kernel as libbpf does
(needs root) and prints each program's id and each map's kernel name.

  --pin DIR       pin each program at DIR/NAME and each map at DIR/maps/NAME (DIR on bpffs;
                  dots become underscores, as libbpf pins them)
  --pin-maps DIR  directory for LIBBPF_PIN_BY_NAME maps (default /sys/fs/bpf)
  --attach        attach every program where its section says (xdp and tc need --interface,
                  cgroup_skb takes --cgroup), then stay until interrupted; ctrl-c detaches`,
  async run(argv, io) {
    const args = parseArgs(argv, LOAD_FLAGS);
    if (args.positionals.length !== 1) throw new UsageError('E_USAGE', 'prog load takes one FILE.o');
    const file = args.positionals[0];
    const [{ Kernel }, { autoAttach }] = await Promise.all([import('../kernel/kernel.js'), import('../kernel/auto-attach.js')]);
    const kernel = await Kernel.open();
    const pinMaps = flagString(args, 'pinMaps');
    using coll = loadCollection(readObject(file), kernel, { name: objectNameOf(file), ...(pinMaps ? { pinPath: pinMaps } : {}) });
    for (const [n, p] of coll.programs) io.stdout(`program ${n}: id ${p.info().id}, ${p.spec.sectionName}\n`);
    for (const [n, m] of coll.maps) io.stdout(`map ${n}: id ${m.info().id}, name ${m.info().name}\n`);
    const pin = flagString(args, 'pin');
    if (pin !== undefined) {
      mkdirSync(`${pin}/maps`, { recursive: true });
      for (const [n, p] of coll.programs) p.pin(`${pin}/${n}`);
      // bpffs refuses dots in names; libbpf's sanitize_pin_path makes them underscores (`.rodata` → `_rodata`).
      for (const [n, m] of coll.maps) m.pin(`${pin}/maps/${n.replace(/\./g, '_')}`);
      io.stdout(`pinned ${coll.programs.size} programs and ${coll.maps.size} maps under ${pin}\n`);
    }
    if (!flagSet(args, 'attach')) return 0;
    const iface = flagString(args, 'interface');
    const links = [];
    try {
      for (const p of coll.programs.values()) {
        const link = await autoAttach(kernel.sys, p, { ...(iface !== undefined ? { interface: iface } : {}), ...(flagString(args, 'cgroup') ? { cgroup: flagString(args, 'cgroup') } : {}) });
        links.push(link);
        io.stdout(`attached ${p.spec.name} to ${link.target}\n`);
      }
      io.stdout('attached; interrupt (ctrl-c) to detach\n');
      // Signal handlers do not keep node's event loop alive: a timer does, until the signal comes.
      const alive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(alive);
    } finally {
      for (const l of links) l.close();
    }
    return 0;
  },
};
