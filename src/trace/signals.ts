/** Linux signal numbers by name (x86-64 and the generic ABI), as `signal()` and the tools name them. */

/** Index = signal number: `SIGNALS[9] === 'SIGKILL'`. */
export const SIGNALS: readonly string[] = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV',
  'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU',
  'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

/** The number of a signal named with or without its `SIG` prefix (`"KILL"`, `"SIGKILL"`); undefined when unknown. */
export function signalNumber(name: string): number | undefined {
  const n = SIGNALS.indexOf(name.startsWith('SIG') ? name : `SIG${name}`);
  return n > 0 ? n : undefined;
}
