/**
 * opensnoop: every file opened (openat), with the pid and command that opened it, streamed from
 * the `syscalls:sys_enter_openat` tracepoint over a ring buffer.
 *
 *   sudo npx tsx examples/opensnoop.ts [--pid PID] [--duration SECONDS]
 *
 * Prints a header once attached, then one line per open: PID, COMM, FILE.
 */

import { parseArgs } from 'node:util';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R6, R7, R8 } from '../src/ebpf/index.js';
import type { ProgramSpec } from '../src/ebpf/index.js';
import { Kernel, RingBufferReader, attachTracepoint } from '../src/kernel/index.js';
import { cString, openTracefs, runUntilStopped, u32 } from './lib/common.js';

/** The record: u32 pid, i32 filename length (or -errno), char comm[16], char filename[256]. */
const RECORD = { pid: 0, len: 4, comm: 8, file: 24, size: 280 } as const;
/** sys_enter_openat's `filename` field (from its tracefs format). */
const FILENAME_FIELD = 24;

function opensnoopSpec(pid: number | undefined): ProgramSpec {
  const b = new ProgramBuilder().mov64(R6, R1).call('get_current_pid_tgid').rsh64(R0, 32).mov64(R7, R0);
  if (pid !== undefined) b.jne(R7, pid, 'out');
  b.ldMap(R1, 'events').mov64(R2, RECORD.size).mov64(R3, 0).call('ringbuf_reserve').jeq(R0, 0, 'out').mov64(R8, R0)
    .stw(R8, RECORD.pid, R7)
    .mov64(R1, R8).add64(R1, RECORD.comm).mov64(R2, 16).call('get_current_comm')
    .mov64(R1, R8).add64(R1, RECORD.file).mov64(R2, 256).ldxdw(R3, R6, FILENAME_FIELD).call('probe_read_user_str')
    .stw(R8, RECORD.len, R0)
    .mov64(R1, R8).mov64(R2, 0).call('ringbuf_submit')
    .label('out').mov64(R0, 0).exit();
  return {
    name: 'opensnoop', type: ProgType.BPF_PROG_TYPE_TRACEPOINT, license: 'GPL', insns: b.build(),
    maps: [{ name: 'events', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 256 * 1024 }],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pid: { type: 'string' }, duration: { type: 'string' } } });
  const kernel = await Kernel.open();
  const tracefs = openTracefs();
  try {
    using prog = kernel.load(opensnoopSpec(values.pid !== undefined ? Number(values.pid) : undefined));
    using rb = new RingBufferReader(kernel.sys, prog.maps.get('events')!);
    using _link = await attachTracepoint(kernel.sys, prog, 'syscalls', 'sys_enter_openat', tracefs.dirs);
    const print = (r: Uint8Array): void => {
      const len = new DataView(r.buffer, r.byteOffset).getInt32(RECORD.len, true);
      const file = len < 0 ? `<unreadable: ${len}>` : cString(r.subarray(RECORD.file));
      console.log(`${String(u32(r, RECORD.pid)).padStart(7)} ${cString(r.subarray(RECORD.comm, RECORD.comm + 16)).padEnd(16)} ${file}`);
    };
    // Listen for Ctrl-C before saying we are ready, so a stop right after the header is not missed.
    // On stop, what is still in the ring buffer is printed before the reader closes.
    void runUntilStopped(values.duration !== undefined ? Number(values.duration) : undefined).then(() => {
      rb.consume(print);
      rb.close();
    });
    console.log(`${'PID'.padStart(7)} ${'COMM'.padEnd(16)} FILE`);
    for await (const r of rb) print(r);
  } finally {
    tracefs.cleanup();
  }
}

await main();
