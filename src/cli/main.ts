/** The CLI entry: picks a command from the table in commands.ts and runs it. */

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
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof BpfkitError) {
      io.stderr(`bpfkit ${cmd.name.join(' ')}: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}\n`);
      return e.code === 'E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}

/** The process-level entry used by bin/bpfkit. */
export async function runProcess(): Promise<void> {
  const io: Io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
  };
  // A closed pipe (`bpfkit filter ... | head`) ends quietly, like tcpdump.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const status = await main(process.argv.slice(2), io);
  process.exitCode = status;
}
