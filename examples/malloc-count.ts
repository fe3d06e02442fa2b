/**
 * Counts malloc() calls per process with a uprobe on libc's malloc (the seed's malloc counter).
 *
 *   sudo npx tsx examples/malloc-count.ts [--pid PID] [--duration SECONDS] [--lib PATH]
 *
 * Prints "attached" once the probe is in place, then on Ctrl-C (or after the duration) a
 * table of PID, COMM and MALLOCS, busiest first. Try it on a python3 process.
 */

import { parseArgs } from 'node:util';
import { BPF_NOEXIST, MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R10 } from '../src/ebpf/index.js';
import type { ProgramSpec } from '../src/ebpf/index.js';
import { Kernel, attachUprobe, resolveBinary } from '../src/kernel/index.js';
import { commOf, runUntilStopped, u32, u64 } from './lib/common.js';

/** counts[tgid] += 1 on every call. */
function mallocCountSpec(): ProgramSpec {
  const insns = new ProgramBuilder()
    .call('get_current_pid_tgid').rsh64(R0, 32).stw(R10, -4, R0)
    .ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jne(R0, 0, 'bump')
    // First call from this process: insert 1 (NOEXIST, so a racing insert on another CPU is not lost twice).
    .stdw(R10, -16, 1).ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -4).mov64(R3, R10).add64(R3, -16).mov64(R4, BPF_NOEXIST)
    .call('map_update_elem').ja('out')
    .label('bump').mov64(R1, 1).atomic('add', 64, R0, 0, R1)
    .label('out').mov64(R0, 0).exit()
    .build();
  return {
    name: 'malloc_count', type: ProgType.BPF_PROG_TYPE_KPROBE, license: 'GPL', insns,
    maps: [{ name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 10240 }],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pid: { type: 'string' }, duration: { type: 'string' }, lib: { type: 'string' } } });
  const pid = values.pid !== undefined ? Number(values.pid) : undefined;
  const kernel = await Kernel.open();
  const lib = await resolveBinary(values.lib ?? 'libc.so.6', pid);
  using prog = kernel.load(mallocCountSpec());
  {
    using _link = await attachUprobe(kernel.sys, prog, lib, 'malloc', { pid });
    const stopped = runUntilStopped(values.duration !== undefined ? Number(values.duration) : undefined);
    console.log(`attached to malloc in ${lib}${pid !== undefined ? ` for pid ${pid}` : ''}`);
    await stopped;
  }
  const rows: [number, bigint][] = [];
  for await (const [k, v] of prog.maps.get('counts')!.entries()) rows.push([u32(k), u64(v)]);
  rows.sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  console.log(`${'PID'.padStart(7)} ${'COMM'.padEnd(16)} MALLOCS`);
  for (const [p, n] of rows) console.log(`${String(p).padStart(7)} ${commOf(p).padEnd(16)} ${n}`);
}

await main();
