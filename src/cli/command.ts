/** The shape of one CLI command: a name, a help text, and a run function over argv. */

/** Where a command writes; tests pass their own sinks. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress bars only then). */
  isTTY: boolean;
  /** Bytes to standard output (`-w -`), in order with `stdout`; standard output itself when absent. */
  stdoutBytes?: (bytes: Uint8Array) => void;
  /**
   * Resolves once what was written to standard output has reached its reader; commands await
   * it after each bounded piece of output, so a slow reader holds them back (back-pressure)
   * instead of output piling up in memory. Rejects with OutputClosedError when the reader left.
   */
  drain?: () => Promise<void>;
}

/** One CLI command. `run` returns the exit status. */
export interface Command {
  /** Words that select the command, e.g. `['cbpf', 'run']`. */
  name: readonly string[];
  summary: string;
  /** Full `--help` text (usage line first). */
  help: string;
  /** The command answers `--help` itself (`bpfkit tools NAME --help` is the tool's own help). */
  ownHelp?: boolean;
  run(argv: string[], io: Io): Promise<number>;
}
