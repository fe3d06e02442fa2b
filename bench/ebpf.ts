// eBPF engines on the same programs (../shared/bench-programs): ns/insn and ns/parse per engine, and the ratio to uBPF's figures.
// Run: npx tsx bench/ebpf.ts [--engines interp,jit] [--iter N]. Other engines (the kernel JIT) plug in through `EXTRA_ENGINES`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleConformance } from '../src/ebpf/conformance-syntax.js';
import { ProgType, type ProgramSpec } from '../src/ebpf/spec.js';
import { load } from '../src/ebpf/vm/index.js';
import { fromHex } from '../src/util/index.js';

/**
 * One benchmark case in both shapes: `spec` for a (memory, length) runner (r1 = mem, r2 = length;
 * the VM's conformance model) and `xdpSpec`, the same program with the XDP prolog and type, for
 * engines that run through BPF_PROG_TEST_RUN (`mem` is then the packet).
 */
export interface BenchCase {
  name: string;
  spec: ProgramSpec;
  xdpSpec: ProgramSpec;
  mem: Uint8Array;
  repeat: number;
}

/** One engine under test: mean CPU nanoseconds per run of a case, and r0 of the last run. */
export interface BenchEngine {
  name: string;
  /** Whether the engine's figures compare with uBPF's interpreter or its JIT. */
  kind: 'interp' | 'jit';
  time(c: BenchCase): { ns: number; r0: bigint };
}

/**
 * CPU time of this process in ns. The benchmark machines are shared, so wall time mostly
 * measures the neighbours; CPU time is steadier (it still includes GC threads).
 */
function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const programsDir = process.env.BPFKIT_BENCH_PROGRAMS ?? path.resolve(here, '../../shared/bench-programs');

function vmEngine(kind: 'interp' | 'jit'): BenchEngine {
  return {
    name: kind === 'jit' ? 'vm wasm jit' : 'vm interpreter',
    kind,
    time({ spec, mem, repeat }) {
      const prog = load(spec, { engine: kind, budget: 2 ** 52 });
      let r0 = 0n;
      // Warm up: V8 optimizes the interpreter loop and the wasm code (baseline tier first) only once they are hot.
      for (let i = 0; i < Math.max(20, repeat); i++) r0 = prog.run({ mem }).r0;
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const t0 = cpuNs();
        for (let i = 0; i < repeat; i++) r0 = prog.run({ mem }).r0;
        best = Math.min(best, (cpuNs() - t0) / repeat);
      }
      return { ns: best, r0 };
    },
  };
}

/** Engines other areas add (the kernel engineer's BPF_PROG_TEST_RUN engine goes here). */
export const EXTRA_ENGINES: BenchEngine[] = [];

function asm(name: string, iter?: number): string {
  const text = readFileSync(path.join(programsDir, name), 'utf8');
  return iter === undefined ? text : text.replace(/\bITER\b/g, String(iter));
}

const MEM_PROLOG = 'mov %r3, %r1\nadd %r3, %r2\nmov %r2, %r1\n';
const XDP_PROLOG = 'ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n';

/** A case from program text; `packet` programs get the prolog that sets r2/r3 to the packet bounds. */
function benchCase(name: string, text: string, mem: Uint8Array, repeat: number, packet: boolean): BenchCase {
  const mk = (prolog: string, type: ProgType): ProgramSpec => ({ name, type, insns: assembleConformance((packet ? prolog : '') + text), license: 'GPL' });
  return { name, spec: mk(MEM_PROLOG, ProgType.BPF_PROG_TYPE_UNSPEC), xdpSpec: mk(XDP_PROLOG, ProgType.BPF_PROG_TYPE_XDP), mem, repeat };
}

/** Drops the last `exit` line of pkt_parse.asm so the loop tail follows the `out:` label. */
function withoutFinalExit(text: string): string {
  const lines = text.trimEnd().split('\n');
  const i = lines.map((l) => l.replace(/#.*/, '').trim()).lastIndexOf('exit');
  lines.splice(i, 1);
  return lines.join('\n') + '\n';
}

const UBPF = { interpInsn: [3.9, 5.6], jitInsn: [0.19, 0.33], interpParse: [229, 255], jitParse: [2.0, 2.1], kernelInsn: [0.2, 0.23], kernelParse: [2.1, 2.6] };

function main(): void {
  const args = process.argv.slice(2);
  const pick = args.includes('--engines') ? args[args.indexOf('--engines') + 1].split(',') : ['interp', 'jit'];
  const engines = [...pick.filter((e) => e === 'interp' || e === 'jit').map((e) => vmEngine(e as 'interp' | 'jit')), ...EXTRA_ENGINES];
  const packet = fromHex(readFileSync(path.join(programsDir, 'packet64.hex'), 'utf8'));
  const rows: string[] = [];
  for (const e of engines) {
    const isInterp = e.kind === 'interp';
    const aluIter = isInterp ? 20_000 : 2_000_000;
    const alu = e.time(benchCase('alu_loop', asm('alu_loop.asm', aluIter), new Uint8Array(0), isInterp ? 3 : 5, false));
    const aluNs = alu.ns / (9 * aluIter + 5);
    const parseIter = isInterp ? 200 : 20_000;
    const loopText = asm('pkt_parse_loop.head.asm', parseIter) + withoutFinalExit(asm('pkt_parse.asm')) + asm('pkt_parse_loop.tail.asm');
    const loop = e.time(benchCase('pkt_parse_loop', loopText, packet, isInterp ? 20 : 50, true));
    const parseNs = loop.ns / parseIter;
    const empty = e.time(benchCase('empty', asm('empty.asm'), new Uint8Array(0), isInterp ? 2000 : 20000, false));
    const single = e.time(benchCase('pkt_parse', asm('pkt_parse.asm'), packet, isInterp ? 500 : 20000, true));
    const ref = isInterp ? [UBPF.interpInsn, UBPF.interpParse] : [UBPF.jitInsn, UBPF.jitParse];
    const mid = (r: number[]): number => (r[0] + r[1]) / 2;
    rows.push(
      `${e.name.padEnd(16)} alu ${aluNs.toFixed(3).padStart(8)} ns/insn (x${(aluNs / mid(ref[0])).toFixed(2)} uBPF ${e.kind}, x${(aluNs / mid(UBPF.kernelInsn)).toFixed(2)} kernel jit)` +
        `  parse ${parseNs.toFixed(1).padStart(7)} ns/parse (x${(parseNs / mid(ref[1])).toFixed(2)} uBPF, x${(parseNs / mid(UBPF.kernelParse)).toFixed(2)} kernel)` +
        `  empty ${empty.ns.toFixed(0)} ns/call  single parse ${single.ns.toFixed(0)} ns/call (r0=${single.r0}, loop r0=${loop.r0})`,
    );
  }
  console.log(`eBPF engines on ${programsDir}, CPU time (process.cpuUsage) (uBPF interp ${UBPF.interpInsn.join('-')} ns/insn, jit ${UBPF.jitInsn.join('-')}; kernel jit ${UBPF.kernelInsn.join('-')})`);
  for (const r of rows) console.log(r);
  // Per-call overhead the way the kernel's figure is taken: BPF_PROG_TEST_RUN's repeat loop (testRun), XDP, empty program.
  const emptyXdp = benchCase('empty', asm('empty.asm'), packet, 1, false).xdpSpec;
  for (const kind of pick.filter((e) => e === 'interp' || e === 'jit') as ('interp' | 'jit')[]) {
    const prog = load(emptyXdp, { engine: kind });
    const repeat = 200_000;
    prog.testRun({ data: packet, repeat });
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = cpuNs();
      prog.testRun({ data: packet, repeat });
      best = Math.min(best, (cpuNs() - t0) / repeat);
    }
    console.log(`${(kind === 'jit' ? 'vm wasm jit' : 'vm interpreter').padEnd(16)} empty xdp testRun(repeat ${repeat}) ${best.toFixed(0)} ns/call (kernel xdp 5-7)`);
  }
}

main();
