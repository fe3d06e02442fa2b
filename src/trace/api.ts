/**
 * `bpfkit/trace`: trace-language programs from TypeScript, bcc-style — attach to the kernel, wait,
 * read maps as typed data, iterate over printf/print output, or run the same program in the VM.
 */

import { BPF_EXIST, createMap, load } from '../ebpf/index.js';
import type { BpfMap, VmHost, VmMap, VmProgram } from '../ebpf/index.js';
import type { Kernel, KernelLink, KernelMap, KernelProgram } from '../kernel/index.js';
import { BpfkitError } from '../util/index.js';
import { callbackStarts, loadWithCallbacks } from './btf-loader.js';
import { CGROUP_FILTER_MAP, STACK_MAP, compileAst } from './compiler.js';
import type { CompiledProgram, EventDesc, MapInfo, ResolvedProbe, TypeProvider } from './compiler.js';
import { TraceError, renderDiagnostic } from './errors.js';
import { formatMapText, formatPrintf, formatValue, histBucketIndex, sortMapEntries } from './format/index.js';
import type { FormatContext, MapDump } from './format/index.js';
import { dumpMap, enumNames, eventDecoder, resolveStacks, symbolize } from './map-dump.js';
import { parseProgram } from './parser.js';
import { attachProbe, createNodeSymbolizer, expandProbe, parseTracepointFormat } from './probes/index.js';
import type { CatalogOptions, ConcreteProbe, TracefsEnv } from './probes/index.js';
import { decodeValue, readInt } from './types.js';
import type { AggValue, TraceType, Value } from './types.js';


/** Options for {@link compile} and {@link attach}. */
export interface TraceOptions {
  /** Positional parameters `$1…`. */
  args?: readonly string[];
  /** Restrict uprobes/profile to this process (`-p PID`). */
  pid?: number;
  /** Allow unsafe functions (`system()`). */
  unsafe?: boolean;
  /**
   * A cgroup v2 directory: every probe but BEGIN/END sees only tasks in it or below (libbpf-tools' `-c CG`, through
   * bpf_current_task_under_cgroup).
   */
  cgroup?: string;
  /**
   * Tracepoint formats as tracefs prints them (`events/CAT/NAME/format`), by `CAT:NAME`: with
   * these the program compiles without tracefs (for {@link vm} on any machine).
   */
  tracepoints?: Readonly<Record<string, string>>;
}

/** A plain JavaScript value of a map key or value. */
export type Plain = bigint | string | boolean | null | Uint8Array | Plain[] | { [field: string]: Plain };

/** One bucket of a histogram: `low <= v < high` (undefined bounds are open). */
export interface HistBucket {
  low?: bigint;
  high?: bigint;
  count: bigint;
}

/** A hist()/lhist() value as data: its non-empty buckets in order. */
export interface HistogramData {
  kind: 'hist' | 'lhist';
  buckets: HistBucket[];
}

/** Whether a map value is a histogram. */
export function isHistogram(v: MapValue | undefined): v is HistogramData {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && (v.kind === 'hist' || v.kind === 'lhist') && Array.isArray(v.buckets);
}

/** A map value as data: a number, a string, a histogram's buckets, or avg/stats. */
export type MapValue =
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | Plain[]
  | { [field: string]: Plain }
  | HistogramData
  | { kind: 'stats'; count: bigint; total: bigint; average: bigint }
  /** A `tseries()` value: each interval's start (boot-clock nanoseconds) and value, oldest first. */
  | { kind: 'tseries'; intervalNs: bigint; points: { startNs: bigint; value: bigint }[] };

/** One map entry as data: the key's parts (empty for a scalar map) and the value. */
export interface MapEntryData {
  key: Plain[];
  value: MapValue;
}

/** Something the program sent to user space, in order. */
export type TraceEvent =
  | { type: 'printf'; text: string; args: Plain[]; level?: 'warn' | 'error' }
  | { type: 'print'; text: string; value: Plain }
  | { type: 'map'; name: string; text: string; entries: MapEntryData[] }
  | { type: 'text'; text: string; /** join(): the strings joined. */ parts?: string[] }
  | { type: 'exit'; code: number };

/** A language value as plain data (stacks and symbols as text, resolved through `ctx` when given). */
export function plain(v: Value, ctx: FormatContext = {}): Plain {
  switch (v.kind) {
    case 'none': return null;
    case 'int': return v.value;
    case 'bool': return v.value;
    case 'string': case 'text': return v.value;
    case 'buffer': return v.bytes;
    case 'tuple': case 'array': return v.elems.map((e) => plain(e, ctx));
    case 'record': return Object.fromEntries(v.fields.map((f) => [f.name, plain(f.value, ctx)]));
    case 'agg': {
      const m = aggValue(v.agg);
      return typeof m === 'object' && m !== null && 'kind' in m ? formatValue(v, ctx) : (m as Plain);
    }
    default: return formatValue(v, ctx);
  }
}

/** The smallest value `hist(v, k)` counts in bucket `i` (undefined: bucket 0, the negatives). */
function histLow(i: number, k: number): bigint | undefined {
  if (i === 0) return undefined;
  const j = i - 1;
  if (j < 1 << k) return BigInt(j);
  const l = BigInt((j >> k) - 1);
  const x = BigInt(j & ((1 << k) - 1));
  return ((1n << BigInt(k)) | x) << l;
}

function aggValue(a: AggValue): MapValue {
  switch (a.agg) {
    case 'count': case 'sum': case 'min': case 'max': return a.value;
    case 'avg': case 'stats': return { kind: 'stats', count: a.count, total: a.sum, average: a.count ? a.sum / a.count : 0n };
    case 'hist': {
      const idx = [...a.buckets.keys()].sort((x, y) => x - y);
      return { kind: 'hist', buckets: idx.map((i) => ({ low: histLow(i, a.bits), high: histLow(i + 1, a.bits), count: a.buckets.get(i)! })) };
    }
    case 'lhist': {
      const last = Number((a.max - a.min) / a.step) + 1;
      const idx = [...a.buckets.keys()].sort((x, y) => x - y);
      return {
        kind: 'lhist',
        buckets: idx.map((i) => ({
          low: i === 0 ? undefined : i === last ? a.max : a.min + BigInt(i - 1) * a.step,
          high: i === 0 ? a.min : i === last ? undefined : a.min + BigInt(i) * a.step,
          count: a.buckets.get(i)!,
        })),
      };
    }
    case 'tseries':
      return {
        kind: 'tseries',
        intervalNs: a.args.intervalNs,
        points: [...a.points].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([e, v]) => ({ startNs: e * a.args.intervalNs, value: a.signed ? BigInt.asIntN(64, v) : v })),
      };
  }
}

function entryData(d: MapDump, ctx: FormatContext = {}): MapEntryData[] {
  return sortMapEntries(d).map((e) => {
    const v = e.value as Value;
    return { key: e.key.map((k) => plain(k, ctx)), value: v.kind === 'agg' ? aggValue(v.agg) : (plain(v, ctx) as MapValue) };
  });
}

function sameKey(a: Plain[], b: Plain[]): boolean {
  return a.length === b.length && a.every((x, i) => String(x) === String(b[i]));
}

/** One language map (`@name`), read from the kernel or the VM. */
export class TraceMap {
  /** @internal */
  constructor(readonly name: string, private readonly info: MapInfo, private readonly map: BpfMap, private readonly ncpus: number, private readonly enums: CompiledProgram['enums'], private readonly stacks?: StackSource) {}

  /** The map as bpftrace's formatters see it (kstack/ustack values with their frames, on the kernel). */
  async dump(): Promise<MapDump> {
    const d = await dumpMap(this.info, this.map, this.ncpus);
    const s = this.stacks;
    if (!s) return d;
    const fill = (v: Value): Value => resolveStacks(v, (id) => s.lookup(id));
    return { ...d, entries: d.entries.map((e) => ({ key: e.key.map(fill), value: fill(e.value as Value) })) };
  }

  /** Every entry as data, in bpftrace's print order (stacks and symbols as bpftrace prints them). */
  async entries(): Promise<MapEntryData[]> {
    return entryData(await this.dump(), this.stacks?.ctx);
  }

  /** The value under `key` (nothing for a scalar map), or undefined when absent. */
  async get(...key: (bigint | number | string)[]): Promise<MapValue | undefined> {
    const want = key.map((k) => (typeof k === 'number' ? BigInt(k) : k));
    return (await this.entries()).find((e) => sameKey(e.key, want))?.value;
  }

  /** The histogram under `key`, or undefined (absent, or not a histogram). */
  async histogram(...key: (bigint | number | string)[]): Promise<HistogramData | undefined> {
    const v = await this.get(...key);
    return isHistogram(v) ? v : undefined;
  }

  /** Deletes every entry (an array-backed map, whose entries cannot be deleted, is zeroed). */
  async clear(): Promise<void> {
    const keys: Uint8Array[] = [];
    for await (const k of this.map.keys()) keys.push(k);
    for (const k of keys) {
      try {
        this.map.delete(k);
      } catch (e) {
        // The programs deleted it meanwhile: done. An array refuses deletes (EINVAL): zeroed instead.
        if (e instanceof BpfkitError && e.code === 'ENOENT') continue;
        this.zeroEntry(k);
      }
    }
  }

  /** Sets every entry to zero, keeping its key (bpftrace's zero()). */
  async zero(): Promise<void> {
    for await (const k of this.map.keys()) this.zeroEntry(k);
  }

  /** One entry set to zero if it still exists (BPF_EXIST: a key the programs deleted meanwhile stays deleted). */
  private zeroEntry(k: Uint8Array): void {
    try {
      this.map.set(k, new Uint8Array(this.map.spec.valueSize * (this.info.percpu ? this.ncpus : 1)), BPF_EXIST);
    } catch (e) {
      if (!(e instanceof BpfkitError && e.code === 'ENOENT')) throw e;
    }
  }

  /** The map as bpftrace prints it at exit (histograms drawn with `@` bars). */
  async format(): Promise<string> {
    const d = await this.dump();
    return formatMapText({ ...d, entries: d.entries.map((e) => ({ key: e.key.map((k) => symbolize(k, this.enums)), value: symbolize(e.value as Value, this.enums) })) });
  }
}

/** Where a kernel trace's stack ids resolve (the stack map) and how addresses become symbols. */
interface StackSource {
  lookup(id: number): Uint8Array | undefined;
  ctx: FormatContext;
}

/** The maps of a program by `@name`. */
export class TraceMaps {
  /** @internal */
  constructor(private readonly compiled: CompiledProgram, private readonly bpf: ReadonlyMap<string, BpfMap>, private readonly ncpus: number, private readonly stacks?: StackSource) {}

  /** The language map `name` (`@x`, or `@` for the unnamed one); throws on an unknown name. */
  get(name: string): TraceMap {
    const n = name.startsWith('@') ? name : `@${name}`;
    const info = this.compiled.mapInfo.get(n);
    if (!info) throw new TraceApiError('E_TRACE_NO_MAP', `no map ${n} in this program (maps: ${this.names().join(', ') || 'none'})`);
    return new TraceMap(n, info, this.bpf.get(info.bpfName)!, this.ncpus, this.compiled.enums, this.stacks);
  }

  /** Map names in the order the program first uses them. */
  names(): string[] {
    return this.compiled.mapOrder.filter((n) => this.compiled.mapInfo.has(n));
  }
}

/** A misuse of the API (an unknown map, a program already stopped). */
export class TraceApiError extends BpfkitError {}

/** Events in arrival order, readable as an async iterator until the program ends. */
class EventQueue implements AsyncIterable<TraceEvent> {
  private readonly items: TraceEvent[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  push(e: TraceEvent): void {
    this.items.push(e);
    this.waiter?.();
  }

  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TraceEvent> {
    for (;;) {
      const e = this.items.shift();
      if (e) {
        yield e;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = undefined;
    }
  }
}

/** Turns ring buffer records into events; map actions (print(@m), clear(@m)) go through `maps`. */
function eventHandler(compiled: CompiledProgram, maps: () => TraceMaps, push: (e: TraceEvent) => void, pending: Promise<unknown>[], onExit: () => void): (bytes: Uint8Array) => void {
  const decode = eventDecoder(compiled.events);
  return (record) => {
    const ev = decode(record);
    if (!ev) return;
    const { bytes } = ev;
    const desc: EventDesc = ev.desc;
    const argValues = (args: { type: TraceType; offset: number }[]): Value[] => args.map((a) => decodeValue(a.type, bytes, a.offset));
    switch (desc.kind) {
      case 'printf': {
        const vals = argValues(desc.args);
        const text = formatPrintf(desc.fmt, enumNames(desc.fmt, vals, desc.args, compiled.enums));
        push({ type: 'printf', text, args: vals.map((a) => plain(a)), ...(desc.level ? { level: desc.level } : {}) });
        return;
      }
      case 'print': {
        const v = decodeValue(desc.type, bytes, desc.offset);
        push({ type: 'print', text: `${formatValue(symbolize(v, compiled.enums))}\n`, value: plain(v) });
        return;
      }
      case 'printMap': {
        const m = maps().get(desc.map);
        pending.push(Promise.all([m.format(), m.entries()]).then(([text, entries]) => push({ type: 'map', name: desc.map, text, entries })));
        return;
      }
      case 'clear':
        pending.push(maps().get(desc.map).clear());
        return;
      case 'zero':
        pending.push(maps().get(desc.map).zero());
        return;
      case 'join': {
        const parts: string[] = [];
        for (let i = 0; i < desc.count; i++) {
          const v = decodeValue({ kind: 'string', size: desc.size }, bytes, desc.offset + i * desc.size);
          if (v.kind !== 'string' || v.value === '') break;
          parts.push(v.value);
        }
        push({ type: 'text', text: `${parts.join(desc.sep)}\n`, parts });
        return;
      }
      case 'exit':
        push({ type: 'exit', code: bytes.length >= 16 ? Number(readInt(bytes, 8, 64, true)) & 0xff : 0 });
        onExit();
        return;
      default:
    }
  };
}

/** A TracefsEnv serving only the given formats (for compiling without tracefs). */
function formatsEnv(formats: Readonly<Record<string, string>>): TracefsEnv {
  const byPath = new Map(Object.entries(formats).map(([k, v]) => [`/tracefs/events/${k.replace(':', '/')}/format`, v]));
  return {
    readFile: async (p) => {
      if (p === '/tracefs/available_events') return Object.keys(formats).join('\n');
      const t = byPath.get(p);
      if (t === undefined) throw new Error(`no format for ${p}`);
      return t;
    },
    exists: async () => true,
  };
}

/** A compiled program: attach it to the kernel, or run it in the VM. */
export class TraceProgram {
  /** @internal */
  constructor(readonly source: string, readonly compiled: CompiledProgram, private readonly options: TraceOptions) {}

  /** Loads and attaches every probe (Linux, root); runs BEGIN. */
  async attach(): Promise<Trace> {
    return Trace.start(this, this.options);
  }

  /** The same program in bpfkit's VM, BEGIN already run; fire probes with synthetic events. */
  vm(host: VmHost = {}): TraceVm {
    return new TraceVm(this.compiled, host);
  }
}

/** Compiles a trace-language program (probes resolved through tracefs/BTF, or `options.tracepoints`). */
export async function compile(source: string, options: TraceOptions = {}): Promise<TraceProgram> {
  try {
    const ast = parseProgram(source);
    const resolved = new Map<string, ResolvedProbe[]>();
    const catalog: CatalogOptions = { pid: options.pid, unsafe: options.unsafe, ...(options.tracepoints ? { tracefs: '/tracefs', tracefsEnv: formatsEnv(options.tracepoints) } : {}) };
    for (const p of ast.probes) {
      for (const s of p.probes) {
        if (resolved.has(s.text)) continue;
        const text = s.text.replace(/\$([0-9]+)/g, (_, n: string) => options.args?.[Number(n) - 1] ?? '');
        let concrete: ConcreteProbe[];
        try {
          concrete = await expandProbe(text, catalog);
        } catch (e) {
          if (e instanceof BpfkitError) throw new TraceError(e.code, e.detail, s.loc, e.hint);
          throw e;
        }
        if (!concrete.length) throw new TraceError('E_PROBE_NOT_FOUND', `No probes matched: ${text}`, s.loc);
        resolved.set(s.text, concrete.map((cp) => ({
          provider: cp.provider, name: cp.name, concrete: cp,
          ...(cp.provider === 'tracepoint' ? { fields: cp.fields } : {}),
          ...(cp.provider === 'rawtracepoint' ? { args: cp.args.map((a) => ({ name: a.name, type: a.typeName })) } : {}),
        })));
      }
    }
    // Kernel BTF only when the program may reach C structs, read on the first struct the compiler
    // looks up (as the CLI does); none in the VM off Linux.
    let types: TypeProvider | undefined;
    if (!options.tracepoints && /struct |union |curtask|->|\(\s*\w+\s*\*\s*\)/.test(source)) {
      try {
        const [{ kernelTypes }, fs] = await Promise.all([import('./runtime.js'), import('node:fs')]);
        types = kernelTypes(fs.readFileSync);
      } catch {
        types = undefined;
      }
    }
    // On the kernel (not with synthetic tracepoints), pid and tid count in the tracer's pid namespace, as bpftrace's.
    let pidNs: { dev: number; ino: number } | undefined;
    if (!options.tracepoints && typeof process !== 'undefined' && process.platform === 'linux') {
      const [{ tracerPidNamespace }, fs] = await Promise.all([import('./runtime.js'), import('node:fs')]);
      pidNs = tracerPidNamespace(fs.statSync);
    }
    const compiled = compileAst(ast, {
      positional: options.args ?? [], pid: options.pid, unsafe: options.unsafe, ncpus: await cpuCount(),
      resolveProbe: (t) => resolved.get(t) ?? [],
      ...(types ? { types } : {}),
      ...(pidNs ? { pidNs } : {}),
      ...(options.cgroup !== undefined ? { cgroupFilter: true } : {}),
    });
    return new TraceProgram(source, compiled, options);
  } catch (e) {
    if (e instanceof TraceError) throw new TraceApiError(e.code, renderDiagnostic(source, 'program', e.detail, e.loc).trimEnd());
    throw e;
  }
}

/** Puts the fd of the cgroup directory `path` at key 0 of the filter's cgroup array (the map keeps the cgroup). */
async function setCgroupFilter(map: KernelMap, path: string): Promise<void> {
  const fs = await import('node:fs');
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (e) {
    throw new TraceApiError('E_TRACE_CGROUP', `cgroup ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  try {
    const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
    map.set(u32(0), u32(fd));
  } catch (e) {
    // The kernel takes only a cgroup v2 directory's fd (EBADF otherwise).
    throw e instanceof BpfkitError ? new TraceApiError('E_TRACE_CGROUP', `cgroup ${path}: not a cgroup v2 directory (${e.code})`) : e;
  } finally {
    fs.closeSync(fd);
  }
}

async function cpuCount(): Promise<number> {
  if (typeof process === 'undefined') return 1;
  const os = await import('node:os');
  return os.cpus().length;
}

/** What ends {@link Trace.until}: milliseconds, an AbortSignal, a child process, a signal name, or any promise. */
export type StopCondition = number | AbortSignal | NodeJS.Signals | { once(event: 'exit', cb: () => void): unknown; exitCode: number | null } | PromiseLike<unknown>;

/** A program attached to the kernel. Dispose it (`await using`) to detach and free everything. */
export class Trace implements AsyncDisposable {
  readonly maps: TraceMaps;
  private readonly queue = new EventQueue();
  private readonly links: KernelLink[] = [];
  private stopped = false;
  private exited = false;
  private wake: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly pending: Promise<unknown>[] = [];
  private readonly watcher: { close(): void };
  private readonly ring: { consume(cb: (r: Uint8Array) => void): number; close(): void };
  private readonly handle: (r: Uint8Array) => void;

  private constructor(
    readonly program: TraceProgram,
    private readonly kernel: Kernel,
    private readonly bpfMaps: Map<string, KernelMap>,
    private readonly progs: { probe: ResolvedProbe; prog: KernelProgram }[],
    ring: { consume(cb: (r: Uint8Array) => void): number; close(): void },
  ) {
    this.ring = ring;
    const stackMap = bpfMaps.get(STACK_MAP);
    const stacks = stackMap && {
      lookup: (id: number): Uint8Array | undefined => {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, id, true);
        return stackMap.get(key);
      },
      ctx: { symbolizer: createNodeSymbolizer() },
    };
    this.maps = new TraceMaps(program.compiled, bpfMaps, kernel.possibleCpus, stacks);
    this.handle = eventHandler(program.compiled, () => this.maps, (e) => this.queue.push(e), this.pending, () => {
      this.exited = true;
      this.wake?.();
    });
    this.watcher = kernel.sys.poll(bpfMaps.get(program.compiled.ringbuf)!.fd, { readable: true }, () => void this.drain());
  }

  /** @internal */
  static async start(program: TraceProgram, options: TraceOptions): Promise<Trace> {
    // The defining modules, not the kernel barrel: see runtime.ts.
    const [{ openKernel }, { RingBufferReader }] = await Promise.all([import('../kernel/kernel.js'), import('../kernel/ringbuf.js')]);
    const kernel = await openKernel();
    const maps = new Map<string, KernelMap>();
    const progs: { probe: ResolvedProbe; prog: KernelProgram }[] = [];
    const free = (): void => {
      for (const p of progs) p.prog.close();
      for (const m of maps.values()) m.close();
    };
    let t: Trace;
    try {
      for (const ms of program.compiled.maps) maps.set(ms.name, kernel.createMap(ms));
      if (options.cgroup !== undefined) await setCgroupFilter(maps.get(CGROUP_FILTER_MAP)!, options.cgroup);
      for (const p of program.compiled.probes) {
        progs.push({ probe: p.probe, prog: callbackStarts(p.spec.insns).length ? loadWithCallbacks(kernel.sys, p.spec, maps) : kernel.load(p.spec, { maps }) });
      }
      t = new Trace(program, kernel, maps, progs, new RingBufferReader(kernel.sys, maps.get(program.compiled.ringbuf)!));
    } catch (e) {
      free();
      throw e;
    }
    try {
      await t.runProbes('begin');
      const isU = (p: { probe: ResolvedProbe }): boolean => p.probe.provider === 'uprobe' || p.probe.provider === 'uretprobe';
      const attachable = progs.filter((p) => p.probe.provider !== 'begin' && p.probe.provider !== 'end');
      // uprobes in reverse: the kernel runs the last-attached handler first, so this keeps program order.
      for (const p of [...attachable.filter((x) => !isU(x)), ...attachable.filter(isU).reverse()]) {
        t.links.push(await attachProbe(kernel, p.prog, p.probe.concrete as ConcreteProbe, options.pid !== undefined ? { pid: options.pid } : {}));
      }
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  /** Number of probes attached (BEGIN/END excluded). */
  get attached(): number {
    return this.links.length;
  }

  private drain(): Promise<void> {
    this.chain = this.chain.then(async () => {
      this.ring.consume(this.handle);
      while (this.pending.length) await this.pending.shift();
    });
    return this.chain;
  }

  private async runProbes(provider: 'begin' | 'end'): Promise<void> {
    const { BpfCmd, testRunAttr } = await import('../kernel/attr.js');
    for (const p of this.progs) {
      if (p.probe.provider !== provider) continue;
      const ctx = new Uint8Array(8);
      this.kernel.sys.bpf(BpfCmd.BPF_PROG_TEST_RUN, testRunAttr({ progFd: p.prog.fd, dataSizeIn: 0, dataSizeOut: 0, dataIn: 0n, dataOut: 0n, ctxIn: this.kernel.sys.addressOf(ctx), ctxSizeIn: 8, repeat: 0 }));
      await this.drain();
    }
  }

  /** printf/print/exit output as typed events, until the trace stops. */
  events(): AsyncIterable<TraceEvent> {
    return this.queue;
  }

  /**
   * Traces until the first of `conditions` (or the program's exit()), then detaches the probes and
   * runs END. Maps stay readable until the trace is disposed. Returns what stopped it.
   */
  async until(...conditions: StopCondition[]): Promise<'exit' | 'timeout' | 'signal' | 'abort' | 'child' | 'promise'> {
    const cleanups: (() => void)[] = [];
    let reason: 'exit' | 'timeout' | 'signal' | 'abort' | 'child' | 'promise' = 'exit';
    await new Promise<void>((resolve) => {
      const stop = (why: typeof reason) => (): void => {
        reason = why;
        resolve();
      };
      this.wake = stop('exit');
      if (this.exited) resolve();
      for (const c of conditions) {
        if (typeof c === 'number') {
          const timer = setTimeout(stop('timeout'), c);
          cleanups.push(() => clearTimeout(timer));
        } else if (typeof c === 'string') {
          const h = stop('signal');
          process.once(c, h);
          cleanups.push(() => process.off(c, h));
        } else if (typeof AbortSignal !== 'undefined' && c instanceof AbortSignal) {
          if (c.aborted) stop('abort')();
          c.addEventListener('abort', stop('abort'), { once: true });
        } else if ('once' in c && 'exitCode' in c) {
          if (c.exitCode !== null) stop('child')();
          c.once('exit', stop('child'));
        } else void Promise.resolve(c).then(stop('promise'), stop('promise'));
      }
    });
    for (const f of cleanups) f();
    this.wake = undefined;
    await this.stop();
    return reason;
  }

  /** Detaches the probes, reads what is left in the ring buffer and runs END (once). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of this.links.splice(0)) l.close();
    await this.drain();
    await this.runProbes('end');
    this.watcher.close();
    this.queue.end();
  }

  /** The same compiled program in the VM (fresh maps), for comparing with synthetic events. */
  vm(host: VmHost = {}): TraceVm {
    return this.program.vm(host);
  }

  /** Stops (if running) and frees the programs, maps and ring buffer. */
  async close(): Promise<void> {
    await this.stop();
    this.ring.close();
    for (const p of this.progs) p.prog.close();
    for (const m of this.bpfMaps.values()) m.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Field values of a synthetic tracepoint record, by field name (strings for char arrays). */
export type FieldValues = Readonly<Record<string, bigint | number | string>>;

/** A synthetic task and clock for one firing in the VM. */
export interface SyntheticContext {
  pid?: number;
  tid?: number;
  comm?: string;
  uid?: number;
  gid?: number;
  /** `nsecs` for this firing. */
  nsecs?: bigint;
  cpu?: number;
}

/** A compiled program in bpfkit's VM: fire its probes with synthetic events, read maps and events. */
export class TraceVm {
  readonly maps: TraceMaps;
  /** Everything the program sent, in order. */
  readonly events: TraceEvent[] = [];
  private readonly bpf = new Map<string, VmMap>();
  private readonly pending: Promise<unknown>[] = [];
  private readonly handle: (r: Uint8Array) => void;
  private exited = false;

  /** @internal */
  constructor(private readonly compiled: CompiledProgram, private readonly host: VmHost) {
    for (const ms of compiled.maps) this.bpf.set(ms.name, createMap(ms));
    const first = [...this.bpf.values()][0];
    this.maps = new TraceMaps(compiled, this.bpf, first?.cpus ?? 1);
    this.handle = eventHandler(compiled, () => this.maps, (e) => this.events.push(e), this.pending, () => {
      this.exited = true;
    });
    for (const p of compiled.probes) if (p.probe.provider === 'begin') this.program(p.spec, {}).run({ ctx: new Uint8Array(8) });
  }

  private program(spec: CompiledProgram['probes'][number]['spec'], ctx: SyntheticContext): VmProgram {
    const base = this.host.task ?? { pid: 1, tgid: 1, uid: 0, gid: 0, comm: 'synthetic' };
    const task = { ...base, ...(ctx.tid !== undefined || ctx.pid !== undefined ? { pid: ctx.tid ?? ctx.pid!, tgid: ctx.pid ?? ctx.tid! } : {}), ...(ctx.comm !== undefined ? { comm: ctx.comm } : {}), ...(ctx.uid !== undefined ? { uid: ctx.uid } : {}), ...(ctx.gid !== undefined ? { gid: ctx.gid } : {}) };
    const now = ctx.nsecs;
    return load(spec, { maps: this.bpf, engine: 'interp', host: { ...this.host, task, ...(now !== undefined ? { now: () => now } : {}), ...(ctx.cpu !== undefined ? { cpu: ctx.cpu } : {}) } });
  }

  /** The record bytes of a tracepoint from field values, laid out as its format says. */
  private record(probe: ResolvedProbe, values: FieldValues): Uint8Array {
    const fields = probe.fields ?? [];
    const size = fields.reduce((n, f) => Math.max(n, f.offset + f.size), 8);
    const bytes = new Uint8Array(size);
    const dv = new DataView(bytes.buffer);
    for (const [name, v] of Object.entries(values)) {
      const f = fields.find((x) => x.name === name);
      if (!f) throw new TraceApiError('E_TRACE_FIELD', `${probe.name} has no field ${name} (fields: ${fields.map((x) => x.name).join(', ')})`);
      if (typeof v === 'string') {
        bytes.set(new TextEncoder().encode(v).subarray(0, f.size - 1), f.offset);
        continue;
      }
      const n = BigInt.asUintN(64, BigInt(v));
      if (f.size === 8) dv.setBigUint64(f.offset, n, true);
      else if (f.size === 4) dv.setUint32(f.offset, Number(n & 0xffffffffn), true);
      else if (f.size === 2) dv.setUint16(f.offset, Number(n & 0xffffn), true);
      else if (f.size === 1) dv.setUint8(f.offset, Number(n & 0xffn));
    }
    return bytes;
  }

  /**
   * Fires probe `name` (its canonical name, `tracepoint:block:block_rq_issue`) once: with a
   * tracepoint's field values or raw context bytes, as task `ctx` at time `ctx.nsecs`.
   */
  async fire(name: string, data: FieldValues | Uint8Array = {}, ctx: SyntheticContext = {}): Promise<void> {
    const matching = this.compiled.probes.filter((p) => p.probe.name === name);
    if (!matching.length) throw new TraceApiError('E_TRACE_NO_PROBE', `no probe ${name} in this program (probes: ${this.compiled.probes.map((p) => p.probe.name).join(', ')})`);
    for (const p of matching) {
      if (this.exited) return;
      const bytes = data instanceof Uint8Array ? data : this.record(p.probe, data);
      this.program(p.spec, ctx).run({ ctx: bytes });
      await this.drain();
    }
  }

  private async drain(): Promise<void> {
    const ring = this.bpf.get(this.compiled.ringbuf) as unknown as { consume(cb: (r: { data: Uint8Array }) => void): number };
    ring.consume(({ data }) => this.handle(data));
    while (this.pending.length) await this.pending.shift();
  }

  /** Runs END. */
  async end(): Promise<void> {
    for (const p of this.compiled.probes) if (p.probe.provider === 'end') this.program(p.spec, {}).run({ ctx: new Uint8Array(8) });
    await this.drain();
  }
}

/** Compiles and attaches `source` (bcc's `BPF(text=…)`): `await using t = await attach(src)`. */
export async function attach(source: string, options: TraceOptions = {}): Promise<Trace> {
  return (await compile(source, options)).attach();
}

/** Compiles `source` and returns it running in the VM (no kernel, no root): tracepoints need `options.tracepoints` off Linux. */
export async function vm(source: string, options: TraceOptions = {}, host: VmHost = {}): Promise<TraceVm> {
  return (await compile(source, options)).vm(host);
}

export { parseTracepointFormat, histBucketIndex };
