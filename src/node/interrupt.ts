/** SIGINT, SIGTERM and SIGHUP as one request to stop: a command that writes finishes its file and prints its counts, as tcpdump does. */

import { abortAllWriters } from './atomic-file-writer.js';

/** The signals that ask bpfkit to stop (tcpdump's cleanup handler takes the same three). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const handlers = new Set<() => void>();
let installed = false;
/** True once a stop was asked of the commands listening now; a second signal then ends the process. */
let stopAsked = false;

/**
 * Calls `fn` on SIGINT, SIGTERM or SIGHUP while registered; returns the function that
 * unregisters it. Installs the process-wide handlers on first use.
 */
export function onStop(fn: () => void): () => void {
  installStopSignals();
  handlers.add(fn);
  return () => {
    handlers.delete(fn);
    if (handlers.size === 0) stopAsked = false;
  };
}

/**
 * Installs the process-wide handlers. A signal with a command listening asks it to stop (it
 * completes its output); a signal with nobody listening, or a second one, ends the process at
 * once, killed by that signal, after deleting every unfinished temporary file.
 */
export function installStopSignals(): void {
  if (installed) return;
  installed = true;
  for (const sig of STOP_SIGNALS) {
    const handler = (): void => {
      if (handlers.size > 0 && !stopAsked) {
        stopAsked = true;
        for (const h of [...handlers]) h();
        return;
      }
      abortAllWriters();
      // Someone else in this process also handles the signal (a test runner): theirs to act on.
      if (process.listenerCount(sig) > 1) return;
      // Die of the signal itself (the shell then reports 128 + its number): process.exit() would
      // wait for a thread-pool read or open that a stalled FIFO never completes.
      process.off(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}
