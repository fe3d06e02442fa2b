/** Signal descriptions as glibc's strsignal() gives them on Linux x86-64 (bpftrace's `signal_name()`). */

const DESCRIPTIONS: readonly string[] = [
  'Unknown signal 0', 'Hangup', 'Interrupt', 'Quit', 'Illegal instruction', 'Trace/breakpoint trap', 'Aborted', 'Bus error',
  'Floating point exception', 'Killed', 'User defined signal 1', 'Segmentation fault', 'User defined signal 2', 'Broken pipe',
  'Alarm clock', 'Terminated', 'Stack fault', 'Child exited', 'Continued', 'Stopped (signal)', 'Stopped', 'Stopped (tty input)',
  'Stopped (tty output)', 'Urgent I/O condition', 'CPU time limit exceeded', 'File size limit exceeded', 'Virtual timer expired',
  'Profiling timer expired', 'Window changed', 'I/O possible', 'Power failure', 'Bad system call',
];

/** glibc reserves signals 32 and 33 for its threads; 34..64 are the real-time ones it numbers from 0. */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** strsignal(sig): the description, `Real-time signal N`, `Unknown signal N` for 32/33, `N/A` outside 0..64 (as bpftrace). */
export function strsignal(sig: number): string {
  if (sig >= 0 && sig < DESCRIPTIONS.length) return DESCRIPTIONS[sig];
  if (sig >= DESCRIPTIONS.length && sig < SIGRTMIN) return `Unknown signal ${sig}`;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return `Real-time signal ${sig - SIGRTMIN}`;
  return 'N/A';
}
