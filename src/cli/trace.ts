/** `bpfkit trace`: runs a bpftrace-language program (compiled by bpfkit, loaded into the kernel) with bpftrace's flags. */

import type { Command } from './command.js';

const HELP = `usage: bpfkit trace [options] [-e PROGRAM | FILE] [ARGS...]

Compiles a bpftrace program to eBPF with bpfkit's own compiler, attaches it and
prints what it prints, as bpftrace does.

  -e PROGRAM      the program text
  FILE            a program file ('-' reads stdin)
  -l [PATTERN]    list probes (with -v, their arguments)
  -v              verbose
  -c CMD          run CMD and trace until it exits
  -p PID          probes (uprobes, profile) in this process only
  -f text|json    output format
  -o FILE         write output to FILE
  -q              quiet (no "Attached N probes")
  --unsafe        allow unsafe functions (system(), signal())
  -k              warn at run time when a map read finds no element
  -d              print the generated eBPF and the maps
  --dry-run       compile and load, attach nothing`;

interface TraceArgs {
  program?: string;
  file?: string;
  positional: string[];
  named: Map<string, string | true>;
  list?: string | true;
  verbose: boolean;
  command?: string;
  pid?: string;
  format: string;
  outFile?: string;
  quiet: boolean;
  unsafe: boolean;
  helperErrors?: boolean;
  debug: boolean;
  dryRun: boolean;
  probeFilter?: string;
  noWarnings: boolean;
}

class ArgError extends Error {}

function parseTraceArgs(argv: string[]): TraceArgs {
  const a: TraceArgs = { positional: [], named: new Map(), verbose: false, format: 'text', quiet: false, unsafe: false, debug: false, dryRun: false, noWarnings: false };
  const rest: string[] = [];
  const need = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) throw new ArgError(`option requires an argument -- '${flag.replace(/^-+/, '')}'`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') {
      // After `--`: `--name[=value]` are program options (getopt), the rest positional parameters.
      for (const x of argv.slice(i + 1)) {
        const m = /^--([^=]+)(?:=(.*))?$/.exec(x);
        if (m) a.named.set(m[1], m[2] ?? true);
        else rest.push(x);
      }
      break;
    }
    if (rest.length && a.program === undefined && !t.startsWith('-')) { rest.push(t); continue; }
    switch (t) {
      case '-e': a.program = need(++i, t); continue;
      case '-l': case '-lv': case '-vl':
        if (t !== '-l') a.verbose = true;
        a.list = argv[i + 1] !== undefined && !argv[i + 1].startsWith('-') ? argv[++i] : true;
        continue;
      case '-v': a.verbose = true; continue;
      case '-c': a.command = need(++i, t); continue;
      case '-p': a.pid = need(++i, t); continue;
      case '-f': a.format = need(++i, t); continue;
      case '-o': case '--output': a.outFile = need(++i, t); continue;
      case '-q': a.quiet = true; continue;
      case '--unsafe': a.unsafe = true; continue;
      case '-d': case '-dd':
        a.debug = true;
        if (argv[i + 1] !== undefined && /^(all|ast|codegen|codegen-opt|dis|libbpf|verifier|types|parse|semantic)$/.test(argv[i + 1])) i++;
        continue;
      case '--dry-run': a.dryRun = true; continue;
      case '--no-warnings': a.noWarnings = true; continue;
      case '-k': case '-kk': a.helperErrors = true; continue;
      case '--verify-llvm-ir': case '-V': continue;
      case '--probe-filter': a.probeFilter = need(++i, t); continue;
      case '-B': case '--include': case '-I': need(++i, t); continue;
      default:
        if (t.startsWith('-') && t !== '-' && !/^-[0-9]/.test(t)) {
          if (t.startsWith('-f')) { a.format = t.slice(2); continue; }
          if (t.startsWith('-p')) { a.pid = t.slice(2); continue; }
          if (t.startsWith('-o')) { a.outFile = t.slice(2); continue; }
          throw new ArgError(`unrecognized option '${t}'`);
        }
        rest.push(t);
    }
  }
  if (a.program === undefined && a.list === undefined) {
    a.file = rest.shift();
  }
  a.positional = rest;
  return a;
}

/** `bpfkit trace`. */
export const traceCommand: Command = {
  name: ['trace'],
  summary: 'run a bpftrace program (compiled by bpfkit, no LLVM)',
  help: HELP,
  async run(argv, io) {
    let args: TraceArgs;
    try {
      args = parseTraceArgs(argv);
    } catch (e) {
      if (e instanceof ArgError) {
        io.stderr(`ERROR: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const fs = await import('node:fs');
    let pid: number | undefined;
    if (args.pid !== undefined) {
      const p = args.pid;
      if (!/^[0-9]/.test(p)) {
        io.stderr(`ERROR: Failed to parse pid: invalid integer: ${p}\n`);
        return 1;
      }
      if (!/^[0-9]+$/.test(p)) {
        io.stderr(`ERROR: Failed to parse pid: invalid trailing bytes: ${p}\n`);
        return 1;
      }
      pid = Number(p);
      if (pid > 4194304) {
        io.stderr(`ERROR: Pid out of range: ${p}\n`);
        return 1;
      }
    }
    if (args.format !== 'text' && args.format !== 'json') {
      io.stderr(`ERROR: Invalid output format "${args.format}"\nValid formats: 'text', 'json'\n`);
      return 1;
    }
    let out = io.stdout;
    let closeOut: (() => void) | undefined;
    if (args.outFile) {
      let fd: number;
      try {
        fd = fs.openSync(args.outFile, 'w');
      } catch (e) {
        io.stderr(`ERROR: Failed to open output file: ${args.outFile}: ${(e as Error).message}\n`);
        return 1;
      }
      let open = true;
      out = (t) => {
        if (open) fs.writeSync(fd, t);
      };
      closeOut = () => {
        open = false;
        fs.closeSync(fd);
      };
    }
    if (args.list !== undefined) {
      const { listProbesCli } = await import('../trace/list.js');
      const status = await listProbesCli(args.list === true ? undefined : args.list, args.verbose, out, io.stderr);
      closeOut?.();
      return status;
    }
    let source: string;
    let fileName = 'stdin';
    if (args.program !== undefined) source = args.program;
    else if (args.file !== undefined) {
      try {
        source = args.file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(args.file, 'utf8');
        if (args.file !== '-') fileName = args.file;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        io.stderr(`ERROR: failed to open file '${args.file}': ${code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`);
        return 1;
      }
    } else {
      io.stderr(`${HELP}\n`);
      return 1;
    }
    const { runTrace } = await import('../trace/runtime.js');
    try {
      return await runTrace({
        source, fileName, positional: args.positional, named: args.named, format: args.format as 'text' | 'json', quiet: args.quiet, unsafe: args.unsafe, helperErrors: args.helperErrors,
        dryRun: args.dryRun, debug: args.debug, command: args.command, pid, probeFilter: args.probeFilter, noWarnings: args.noWarnings,
        notifyAttached: process.env.__BPFTRACE_NOTIFY_PROBES_ATTACHED !== undefined,
        out, err: io.stderr,
      });
    } finally {
      closeOut?.();
    }
  },
};
