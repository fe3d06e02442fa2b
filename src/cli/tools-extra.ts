/** The rest of libbpf-tools' everyday set for `bpfkit tools` (statsnoop, biosnoop, tcplife, cpudist, ...): flags, columns and output as there. */

import { UsageError, and, diskName, hhmmss, log2Hist, lpad, num, pad, require_fs } from './tools-lib.js';
import type { Opts, Tool } from './tools-lib.js';

const pidFilter = (o: Opts): string | undefined => (o.has('pid') ? `pid == ${num(o.get('pid'), 'pid')}` : undefined);

/** Seconds since the first event, as libbpf-tools' snoops print `-t` (`%-14.9f`). */
function sinceFirst(state: Map<string, unknown>, ns: bigint): string {
  const first = (state.get('t0') as bigint | undefined) ?? ns;
  state.set('t0', first);
  return (Number(ns - first) / 1e9).toFixed(9);
}

/** A disk's dev_t (the kernel's 12:20 encoding) from its name, through /sys/class/block/NAME/dev. */
function diskDev(name: string): number {
  let text: string;
  try {
    text = require_fs().readFileSync(`/sys/class/block/${name}/dev`, 'utf8');
  } catch {
    throw new UsageError(`invaild partition name: not exist`);
  }
  const [major, minor] = text.trim().split(':').map(Number);
  return major * 2 ** 20 + minor;
}

/** An optional positional `[duration]` in seconds. */
const durationArg = (pos: string[]): number | undefined => (pos[0] !== undefined ? num(pos[0], 'duration') * 1000 : undefined);

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
  biosnoop: {
    summary: 'trace block I/O',
    usage: 'biosnoop [-d DISK] [-Q] [duration]',
    flags: [
      { short: 'd', long: 'disk', value: true, help: 'Trace this disk only' },
      { short: 'Q', long: 'queued', help: 'Include OS queued time in I/O time' },
    ],
    template: (o) => ({
      FILTER: and(typeof o.get('disk') === 'string' ? `args.dev == ${diskDev(o.get('disk') as string)}` : undefined),
      QUEUED: o.has('queued') ? '' : '// ',
    }),
    stopAfter: (_o, pos) => durationArg(pos),
    header: (o) => `${pad('TIME(s)', 11)} ${pad('COMM', 14)} ${pad('PID', 7)} ${pad('DISK', 7)} ${pad('T', 4)} ${pad('SECTOR', 10)} ${pad('BYTES', 7)} ${o.has('queued') ? lpad('QUE(ms)', 7) + ' ' : ''}${lpad('LAT(ms)', 7)}\n`,
    onEvent(e, o, out, state) {
      if (e.type !== 'printf') return;
      const [ts, pid, dev, rwbs, sector, len, q, lat, comm] = e.args;
      const first = (state.get('t0') as bigint | undefined) ?? (ts as bigint);
      state.set('t0', first);
      const queued = o.has('queued') ? `${lpad(Number(q) === -1 ? '-1.000' : (Number(q) / 1e6).toFixed(3), 7)} ` : '';
      out(`${pad((Number((ts as bigint) - first) / 1e9).toFixed(6), 11)} ${pad(String(comm).slice(0, 14), 14)} ${pad(String(pid), 7)} ${pad(diskName(Number(dev)), 7)} ${pad(String(rwbs), 4)} ${pad(String(sector), 10)} ${pad(String(len), 7)} ${queued}${lpad((Number(lat) / 1e6).toFixed(3), 7)}\n`);
    },
  },
  bitesize: {
    summary: 'summarize block device I/O size as a histogram',
    usage: 'bitesize [-T] [-c COMM] [-d DISK] [interval] [count]',
    flags: [
      { short: 'c', long: 'comm', value: true, help: 'Trace this comm only' },
      { short: 'd', long: 'disk', value: true, help: 'Trace this disk only' },
      { short: 'T', long: 'timestamp', help: 'Include timestamp on output' },
    ],
    template: (o) => {
      const comm = o.get('comm');
      // libbpf-tools compares the first characters only (a prefix of at most 16).
      const c = typeof comm === 'string' ? comm.slice(0, 16) : undefined;
      if (c !== undefined && !/^[\x20-\x7e]*$/.test(c)) throw new UsageError(`invalid comm: ${c}`);
      return {
        FILTER: and(typeof o.get('disk') === 'string' ? `args.dev == ${diskDev(o.get('disk') as string)}` : undefined,
          c ? `strncmp(comm, "${c.replace(/["\\]/g, '\\$&')}", ${c.length}) == 0` : undefined),
      };
    },
    header: () => 'Tracing block device I/O... Hit Ctrl-C to end.\n',
    interval: (_o, pos) => ({ ms: pos[0] !== undefined ? num(pos[0], 'interval') * 1000 : 0, count: pos[1] !== undefined ? num(pos[1], 'count') : 0 }),
    async summary_(t, o, out) {
      out('\n');
      if (o.has('timestamp')) out(`${pad(hhmmss(), 8)}\n`);
      for (const e of await t.maps.get('@sizes').entries()) {
        out(`\nProcess Name = ${String(e.key[0])}\n`);
        out(log2Hist(e, 'Kbytes'));
      }
      await t.maps.get('@sizes').clear();
    },
  },
};

export { UsageError, hhmmss, log2Hist, lpad };
