/** Benchmark: events/s through the ring buffer and perf buffer readers, records produced in the kernel by BPF_PROG_TEST_RUN of an XDP program that emits one 8-byte record per run. */

import { MapType, ProgType } from '../src/ebpf/index.js';
import type { Insn, ProgramSpec } from '../src/ebpf/index.js';
import { Kernel, PerfBufferReader, RingBufferReader } from '../src/kernel/index.js';

/** Records per test run batch (repeat), and batches per reader. */
const BATCH = 100_000;
const BATCHES = 10;

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const ldMap = (dst: number, ref: string): Insn => ({ code: 0x18, dst, src: 1, off: 0, imm: 0, imm64: 0n, ref });
const lddw = (dst: number, v: bigint): Insn => ({ code: 0x18, dst, src: 0, off: 0, imm: Number(BigInt.asIntN(32, v)), imm64: v });

/** XDP_PASS after writing the boot-time clock (8 bytes) as one record, by ring buffer or perf buffer. */
function emitter(kind: 'ringbuf' | 'perfbuf', cpus: number): ProgramSpec {
  const out: Insn[] =
    kind === 'ringbuf'
      ? [ldMap(1, 'events'), ins(0xbf, 2, 10), ins(0x07, 2, 0, 0, -8), ins(0xb7, 3, 0, 0, 8), ins(0xb7, 4, 0, 0, 0), ins(0x85, 0, 0, 0, 130)] // bpf_ringbuf_output
      : [ins(0xbf, 1, 6), ldMap(2, 'events'), lddw(3, 0xffffffffn), ins(0xbf, 4, 10), ins(0x07, 4, 0, 0, -8), ins(0xb7, 5, 0, 0, 8), ins(0x85, 0, 0, 0, 25)]; // bpf_perf_event_output
  return {
    name: `bench_${kind}`, type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL',
    insns: [ins(0xbf, 6, 1), ins(0x85, 0, 0, 0, 5) /* bpf_ktime_get_ns */, ins(0x7b, 10, 0, -8), ...out, ins(0xb7, 0, 0, 0, 2), ins(0x95)],
    maps: [
      kind === 'ringbuf'
        ? { name: 'events', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4 << 20 }
        : { name: 'events', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: cpus },
    ],
  };
}

const kernel = await Kernel.open();
const frame = new Uint8Array(64);

function report(label: string, records: number, lost: number, produceNs: number, consumeNs: number): void {
  const rate = (n: number, ns: number) => `${((n / ns) * 1e3).toFixed(2)} M/s`.padStart(11);
  console.log(`${label.padEnd(14)} ${String(records).padStart(9)} records (${lost} lost)  read: ${rate(records, consumeNs)}  end to end: ${rate(records, produceNs + consumeNs)}`);
}

for (const kind of ['ringbuf', 'perfbuf'] as const) {
  using prog = kernel.load(emitter(kind, kernel.possibleCpus));
  const map = prog.maps.get('events')!;
  let records = 0;
  let produceNs = 0;
  let consumeNs = 0;
  let lost = 0;
  // 4 MiB ring / 16-byte records, or 1024 pages per CPU / 24-byte records: one batch fits without loss.
  const reader = kind === 'ringbuf' ? new RingBufferReader(kernel.sys, map) : new PerfBufferReader(kernel.sys, map, { pageCount: 1024, wakeupEvents: 1 << 20 });
  try {
    for (let b = 0; b < BATCHES; b++) {
      const t0 = process.hrtime.bigint();
      prog.testRun({ data: frame, repeat: BATCH });
      const t1 = process.hrtime.bigint();
      const n = reader instanceof RingBufferReader ? reader.consume(() => undefined) : reader.consume(() => undefined);
      const t2 = process.hrtime.bigint();
      records += n;
      produceNs += Number(t1 - t0);
      consumeNs += Number(t2 - t1);
    }
    if (reader instanceof PerfBufferReader) lost = reader.lost;
    else lost = BATCH * BATCHES - records;
  } finally {
    reader.close();
  }
  report(kind, records, lost, produceNs, consumeNs);
}
