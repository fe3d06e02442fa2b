/** The CLI entry: picks a command from the table in commands.ts and runs it. */

// Direct modules, not the ../node barrel: start-up then loads only what every command needs.
import { installStopSignals } from '../node/interrupt.js';
import { FdSink, OutputClosedError, stdoutFdSink } from '../node/output-sink.js';
import { BpfkitError } from '../util/index.js';
import type { Io } from './command.js';
import { commands, type CommandEntry } from './commands.js';

function helpText(): string {
  const lines = ['usage: bpfkit COMMAND [ARGS...]', '', 'commands:'];
  const width = Math.max(...commands.map((c) => c.name.join(' ').length));
  for (const c of commands) lines.push(`  ${c.name.join(' ').padEnd(width)}  ${c.summary}`);
  lines.push('', 'Run `bpfkit COMMAND --help` for the options of a command.');
  return lines.join('\n') + '\n';
}

/** Finds the command with the longest name that prefixes argv. */
function findCommand(argv: readonly string[]): CommandEntry | undefined {
  let best: CommandEntry | undefined;
  for (const c of commands) {
    if (c.name.every((w, i) => argv[i] === w) && (!best || c.name.length > best.name.length)) best = c;
  }
  return best;
}

/** Runs the CLI with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(helpText());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    io.stdout('bpfkit 0.1.0\n');
    return 0;
  }
  const entry = findCommand(argv);
  if (!entry) {
    const group = commands.filter((c) => c.name[0] === argv[0]);
    if (group.length) {
      io.stderr(`bpfkit ${argv[0]}: choose one of: ${group.map((c) => c.name.slice(1).join(' ')).join(', ')}\n`);
    } else {
      io.stderr(`bpfkit: unknown command "${argv[0]}" (see bpfkit --help)\n`);
    }
    return 2;
  }
  const cmd = await entry.load();
  const rest = argv.slice(cmd.name.length);
  // Arguments after `--` belong to the command's own input (bpfkit trace passes them to the program).
  const own = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (!cmd.ownHelp && (own.includes('--help') || own.includes('-h'))) {
    io.stdout(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    // The reader of our output went away (`| head`): stop quietly, as tcpdump does.
    if (e instanceof OutputClosedError) return 0;
    if (e instanceof BpfkitError) {
      // One line per error, the hint included: scripts read stderr line by line.
      const line = `${e.message}${e.hint ? `; hint: ${e.hint}` : ''}`.replace(/\s*\n\s*/g, ' ');
      io.stderr(`bpfkit ${cmd.name.join(' ')}: ${line}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}

/** The process-level entry used by bin/bpfkit. */
export async function runProcess(): Promise<void> {
  // A pipe is written in non-blocking mode (see stdoutFdSink): our writes then return EAGAIN
  // instead of blocking, the sink waits on the event loop, and signals still arrive.
  const out = stdoutFdSink();
  const err = new FdSink(2, 'standard error');
  const io: Io = {
    stdout: (t) => out.write(t),
    stdoutBytes: (b) => out.write(b),
    drain: () => (out.pendingBytes > 0 ? out.drain() : Promise.resolve()),
    stderr: (t) => {
      try {
        err.write(t);
      } catch (e) {
        // Nobody reads our errors any more: nothing to tell them.
        if (!(e instanceof OutputClosedError)) throw e;
      }
    },
    // Asked only by commands that draw progress: process.stderr on a pipe loads net and stream (~3 ms of start-up).
    get isTTY() {
      return Boolean(process.stderr.isTTY);
    },
  };
  installStopSignals();
  let status: number;
  try {
    status = await main(process.argv.slice(2), io);
  } catch (e) {
    if (!(e instanceof OutputClosedError)) throw e;
    status = 0;
  }
  out.drainSync();
  err.drainSync();
  // Exit now: a read still pending on a pipe whose writer stalls must not keep the process alive.
  process.exit(status);
}
