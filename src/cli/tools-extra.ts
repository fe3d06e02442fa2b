/** The rest of libbpf-tools' everyday set for `bpfkit tools` (statsnoop, biosnoop, tcplife, cpudist, ...): flags, columns and output as there. */

import { UsageError, and, hhmmss, log2Hist, lpad, num, pad } from './tools-lib.js';
import type { Opts, Tool } from './tools-lib.js';

const pidFilter = (o: Opts): string | undefined => (o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined);

/** Seconds since the first event, as libbpf-tools' snoops print `-t` (`%-14.9f`). */
function sinceFirst(state: Map<string, unknown>, ns: bigint): string {
  const first = (state.get('t0') as bigint | undefined) ?? ns;
  state.set('t0', first);
  return (Number(ns - first) / 1e9).toFixed(9);
}

export const EXTRA_TOOLS: Record<string, Tool> = {
  statsnoop: {
    summary: 'trace stat syscalls',
    usage: 'statsnoop [-t] [-x] [-p PID]',
    flags: [
      { short: 'p', long: 'pid', value: true, help: 'Process ID to trace' },
      { short: 't', long: 'timestamp', help: 'Include timestamp on output' },
      { short: 'x', long: 'failed', help: 'Only show failed stats' },
    ],
    template: (o) => ({ FILTER: and(pidFilter(o)) }),
    header: (o) => `${o.has('timestamp') ? pad('TIME(s)', 14) + ' ' : ''}${pad('PID', 7)} ${pad('COMM', 20)} ${pad('RET', 4)} ${pad('ERR', 4)} PATH\n`,
    onEvent(e, o, out, state) {
      if (e.type !== 'printf') return;
      const [ts, pid, ret, comm, path] = e.args;
      const r = Number(ret);
      if (o.has('failed') && r >= 0) return;
      out(`${o.has('timestamp') ? pad(sinceFirst(state, ts as bigint), 14) + ' ' : ''}${pad(String(pid), 7)} ${pad(String(comm), 20)} ${pad(r >= 0 ? r : -1, 4)} ${pad(r >= 0 ? 0 : -r, 4)} ${String(path)}\n`);
    },
  },
};

export { UsageError, hhmmss, log2Hist, lpad };
