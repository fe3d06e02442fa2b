/**
 * disksnoop: a block I/O latency histogram (the seed's disksnoop) from the `block:block_rq_issue`
 * and `block:block_rq_complete` tracepoints, keyed by device and sector. (Kernels with kprobes
 * could hook blk_mq_start_request instead; this one has none, and the tracepoints need no BTF.)
 *
 *   sudo npx tsx examples/disksnoop.ts [--duration SECONDS]
 *
 * Prints "attached", then on Ctrl-C (or after the duration) the histogram in microseconds.
 */

import { parseArgs } from 'node:util';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, R10 } from '../src/ebpf/index.js';
import type { MapSpec, ProgramSpec } from '../src/ebpf/index.js';
import { Kernel, attachTracepoint } from '../src/kernel/index.js';
import { openTracefs, runUntilStopped, u32Key, u64 } from './lib/common.js';

/** Both tracepoints have `dev_t dev` at 8 and `sector_t sector` at 16 (their tracefs formats). */
const FIELD = { dev: 8, sector: 16 } as const;
const BUCKETS = 32;

const maps: MapSpec[] = [
  { name: 'start', type: MapType.BPF_MAP_TYPE_HASH, keySize: 16, valueSize: 8, maxEntries: 10240 },
  { name: 'hist', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: BUCKETS },
];

/** Writes the request key {u32 dev, u32 0, u64 sector} at r10-16 from the context in r6. */
function requestKey(b: ProgramBuilder): ProgramBuilder {
  return b.ldxw(R1, R6, FIELD.dev).stdw(R10, -16, 0).stw(R10, -16, R1).ldxdw(R1, R6, FIELD.sector).stdw(R10, -8, R1);
}

/** On issue: start[request] = now. */
function issueSpec(): ProgramSpec {
  const b = requestKey(new ProgramBuilder().mov64(R6, R1))
    .call('ktime_get_ns').stdw(R10, -24, R0)
    .ldMap(R1, 'start').mov64(R2, R10).add64(R2, -16).mov64(R3, R10).add64(R3, -24).mov64(R4, 0).call('map_update_elem')
    .mov64(R0, 0).exit();
  return { name: 'rq_issue', type: ProgType.BPF_PROG_TYPE_TRACEPOINT, license: 'GPL', insns: b.build(), maps };
}

/** On completion: hist[log2((now - start[request]) / 1000)] += 1, and the start entry is removed. */
function completeSpec(): ProgramSpec {
  const b = requestKey(new ProgramBuilder().mov64(R6, R1))
    .ldMap(R1, 'start').mov64(R2, R10).add64(R2, -16).call('map_lookup_elem').jeq(R0, 0, 'out')
    .ldxdw(R7, R0, 0).call('ktime_get_ns').sub64(R0, R7).div64(R0, 1000)
    // floor(log2(usecs)) without loops: a binary search over the bit position.
    .mov64(R7, 0);
  for (const bits of [16, 8, 4, 2, 1]) {
    b.jlt(R0, 2 ** bits, `lt${bits}`).rsh64(R0, bits).add64(R7, bits).label(`lt${bits}`);
  }
  b.jlt(R7, BUCKETS, 'ok').mov64(R7, BUCKETS - 1).label('ok')
    .stw(R10, -20, R7).ldMap(R1, 'hist').mov64(R2, R10).add64(R2, -20).call('map_lookup_elem').jeq(R0, 0, 'del')
    .mov64(R1, 1).atomic('add', 64, R0, 0, R1)
    .label('del').ldMap(R1, 'start').mov64(R2, R10).add64(R2, -16).call('map_delete_elem')
    .label('out').mov64(R0, 0).exit();
  return { name: 'rq_complete', type: ProgType.BPF_PROG_TYPE_TRACEPOINT, license: 'GPL', insns: b.build(), maps };
}

/** bcc-style log2 histogram lines. */
function printHistogram(counts: bigint[]): void {
  const last = counts.reduce((m, c, i) => (c > 0n ? i : m), -1);
  const max = counts.reduce((m, c) => (c > m ? c : m), 0n);
  console.log(`${'usecs'.padStart(24)} : count    distribution`);
  for (let i = 0; i <= last; i++) {
    const lo = i === 0 ? 0 : 2 ** i;
    const hi = 2 ** (i + 1) - 1;
    const stars = max > 0n ? Number((counts[i] * 40n) / max) : 0;
    console.log(`${String(lo).padStart(10)} -> ${String(hi).padEnd(10)} : ${String(counts[i]).padEnd(8)} |${'*'.repeat(stars).padEnd(40)}|`);
  }
  console.log(`total ${counts.reduce((s, c) => s + c, 0n)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string' } } });
  const kernel = await Kernel.open();
  const tracefs = openTracefs();
  try {
    using issue = kernel.load(issueSpec());
    using complete = kernel.load(completeSpec(), { maps: issue.maps });
    {
      using _a = await attachTracepoint(kernel.sys, issue, 'block', 'block_rq_issue', tracefs.dirs);
      using _b = await attachTracepoint(kernel.sys, complete, 'block', 'block_rq_complete', tracefs.dirs);
      const stopped = runUntilStopped(values.duration !== undefined ? Number(values.duration) : undefined);
      console.log('attached');
      await stopped;
    }
    const hist = issue.maps.get('hist')!;
    printHistogram(Array.from({ length: BUCKETS }, (_, i) => u64(hist.get(u32Key(i))!)));
  } finally {
    tracefs.cleanup();
  }
}

await main();
