/**
 * The trace runtime (Linux): resolve probes, compile, load into the kernel, attach, run
 * BEGIN/END, read events from the ring buffer and print them, print maps at exit.
 */

import { BPF_EXIST, MapType } from '../ebpf/index.js';
import type { Kernel, KernelLink, KernelMap, KernelProgram } from '../kernel/index.js';
import { BpfkitError } from '../util/index.js';
import type { Loc } from './ast.js';
import { callbackStarts, loadWithCallbacks } from './btf-loader.js';
import { STACK_MAP, compileAst } from './compiler.js';
import type { CompiledProgram, ResolvedProbe, TypeProvider } from './compiler.js';
import { TraceError, renderDiagnostic } from './errors.js';
import { TraceOutput, formatPrintf } from './format/index.js';
import type { MapDump, OutputMode } from './format/index.js';
import { OrderedEvents } from './ordered-events.js';
import { dumpMap, enumNames, eventDecoder, resolveStacks, symbolize, zeroValue } from './map-dump.js';
import { parseProgram } from './parser.js';
import { attachProbe, expandProbe, findAggregate, kernelBtfSync, structFields, typeInfo } from './probes/index.js';
import type { BtfSource } from './probes/index.js';
import type { ConcreteProbe } from './probes/index.js';
import { decodeValue, readInt, sizeOf } from './types.js';
import type { TraceType, Value } from './types.js';

export interface RunOptions {
  source: string;
  /** `stdin` for -e programs, else the file name (used in diagnostics). */
  fileName: string;
  positional: string[];
  /** Program options after `--` (`--aa=1`, `--dd`). */
  named: Map<string, string | true>;
  format: OutputMode;
  quiet: boolean;
  unsafe: boolean;
  /** `-k`: warn at run time when a map read finds no element. */
  helperErrors?: boolean;
  dryRun: boolean;
  debug: boolean;
  command?: string;
  pid?: number;
  /** `--probe-filter REGEX`: attach only probes whose name matches (begin/end always run). */
  probeFilter?: string;
  /** `--no-warnings`. */
  noWarnings?: boolean;
  /** Print `__BPFTRACE_NOTIFY_PROBES_ATTACHED` once attached. */
  notifyAttached: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}


/** Expands one probe spec to concrete probes through the probe catalog (src/trace/probes). */
async function resolveSpec(text: string, loc: Loc, pid: number | undefined, unsafe: boolean): Promise<ResolvedProbe[]> {
  let concrete: ConcreteProbe[];
  try {
    concrete = await expandProbe(text, { pid, unsafe });
  } catch (e) {
    if (e instanceof BpfkitError) {
      // bpftrace words a raw tracepoint without a module this way.
      const noAttach = /^(rawtracepoint|rt):[^:]*$/.test(text) && e.code === 'E_PROBE_NOT_FOUND';
      // bpftrace reports an address outside every function without a source position.
      const unplaced = /^Could not resolve address: /.test(e.detail);
      throw new TraceError(e.code, noAttach ? 'Probe has no valid attach points.' : e.detail, unplaced ? undefined : loc, e.hint);
    }
    throw e;
  }
  if (!concrete.length) {
    throw new TraceError('E_PROBE_NOT_FOUND', /^(rawtracepoint|rt):/.test(text) ? 'Probe has no valid attach points.' : `No probes matched: ${text}`, loc);
  }
  return concrete.map((cp) => ({
    provider: cp.provider,
    name: cp.name,
    ...(cp.provider === 'tracepoint' ? { fields: cp.fields } : {}),
    ...(cp.provider === 'rawtracepoint' ? { args: cp.args.map((a) => ({ name: a.name, type: a.typeName })) } : {}),
    concrete: cp,
  }));
}

/** Online CPUs (bpftrace's ncpus): the sysfs list, cheaper than os.cpus() (which reads and parses /proc/cpuinfo and /proc/stat). */
async function onlineCpus(): Promise<number> {
  const [fs, { parseCpuList }] = await Promise.all([import('node:fs'), import('../kernel/kernel.js')]);
  try {
    return parseCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8'));
  } catch {
    const os = await import('node:os');
    return os.cpus().length;
  }
}

/**
 * A lookup of kernel symbol addresses by name in /proc/kallsyms, read on the first lookup only:
 * the file is ~5 MB and only kaddr() needs it, so most programs never pay for it.
 */
function kallsyms(readText: (path: string) => string): { get(name: string): bigint | undefined } {
  const out = new Map<string, bigint>();
  let text: string | undefined;
  return {
    get: (name: string): bigint | undefined => {
      if (out.has(name)) return out.get(name);
      if (text === undefined) {
        try {
          text = readText('/proc/kallsyms');
        } catch {
          text = '';
        }
      }
      const i = text.search(new RegExp(`^[0-9a-f]+ \\w ${name.replace(/[^\w.]/g, '')}(\\s|$)`, 'm'));
      if (i < 0) return undefined;
      const v = BigInt(`0x${text.slice(i, text.indexOf(' ', i))}`);
      out.set(name, v);
      return v;
    },
  };
}

/** A BTF type id as a language type (structs by name only: their members are looked up when used). */
function btfToType(btf: BtfSource, id: number, depth = 0): TraceType {
  const ti = typeInfo(btf, id);
  const bits = (n: number): 8 | 16 | 32 | 64 => (n === 1 ? 8 : n === 2 ? 16 : n === 4 ? 32 : 64);
  switch (ti.kind) {
    case 'int': case 'enum': case 'bool': return { kind: 'int', bits: bits(ti.size), signed: !!ti.signed };
    case 'pointer': return { kind: 'pointer', to: ti.elementTypeId && depth < 4 ? btfToType(btf, ti.elementTypeId, depth + 1) : { kind: 'int', bits: 8, signed: false } };
    case 'array': {
      const el = typeInfo(btf, ti.elementTypeId ?? 0);
      if (el.kind === 'int' && el.size === 1) return { kind: 'string', size: Math.max(1, ti.length ?? 0) };
      return { kind: 'array', elem: btfToType(btf, ti.elementTypeId ?? 0, depth + 1), count: ti.length ?? 0 };
    }
    case 'struct': case 'union': return { kind: 'record', name: `${ti.kind} ${ti.name ?? ''}`, fields: [], size: ti.size };
    default: return { kind: 'int', bits: 64, signed: false };
  }
}

/** Struct layouts from kernel BTF for the compiler. */
export function btfTypes(btf: BtfSource): TypeProvider {
  const cache = new Map<string, { size: number; fields: import('./types.js').Field[] } | undefined>();
  return {
    record(name) {
      if (cache.has(name)) return cache.get(name);
      const t = findAggregate(btf, name);
      const r = t ? {
        size: t.size,
        fields: structFields(btf, t.id).map((f) => ({ name: f.name, offset: f.offset, type: btfToType(btf, f.typeId), ...(f.bitfield ? { bitfield: f.bitfield } : {}) })),
      } : undefined;
      cache.set(name, r);
      return r;
    },
  };
}

/** PROC_PID_INIT_INO: the initial pid namespace's inode number. */
const INIT_PID_NS_INO = 0xeffffffc;

/** The tracer's own pid namespace when it is not the initial one (a container): pid and tid are then counted in it. */
export function tracerPidNamespace(statSync: (path: string) => { dev: number; ino: number }): { dev: number; ino: number } | undefined {
  try {
    const st = statSync('/proc/self/ns/pid');
    return st.ino === INIT_PID_NS_INO ? undefined : { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/**
 * Struct layouts from the running kernel's BTF, read (~5 MB) when the compiler first asks for a
 * struct the program does not declare: most programs never do. No BTF: no kernel structs.
 */
export function kernelTypes(readFileSync: (path: string) => Uint8Array): TypeProvider {
  let kernel: TypeProvider | null | undefined;
  return {
    record(name) {
      if (kernel === undefined) {
        try {
          kernel = btfTypes(kernelBtfSync((p) => {
            const b = readFileSync(p);
            return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
          }));
        } catch {
          kernel = null;
        }
      }
      return kernel?.record(name);
    },
  };
}

/** system() runs its command through the shell; cat() prints a file. */
async function runSideEffect(kind: 'system' | 'cat', text: string, output: TraceOutput): Promise<void> {
  if (kind === 'system') {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('/bin/sh', ['-c', text], { encoding: 'utf8' });
    output.syscall(output.mode === 'json' ? (r.stdout ?? '') : (r.stdout ?? '').replace(/\n$/, ''));
    return;
  }
  const fs = await import('node:fs/promises');
  try {
    const max = Number(process.env.BPFTRACE_MAX_CAT_BYTES ?? 10240);
    output.cat((await fs.readFile(text, 'utf8')).slice(0, Number.isFinite(max) && max > 0 ? max : 10240));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    output.cat(`ERROR: failed to open file '${text}' (${code === 'ENOENT' ? 'No such file or directory' : (e as Error).message})\n`);
  }
}

/** Boot time on the wall clock and the local UTC offset, for strftime/time. */
async function formatContext(): Promise<import('./format/index.js').FormatContext> {
  const fs = await import('node:fs');
  let bootTimeNs = 0n;
  try {
    const up = fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0];
    const [sec, frac = '0'] = up.split('.');
    const upNs = BigInt(sec) * 1000000000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
    bootTimeNs = BigInt(Date.now()) * 1000000n - upNs;
  } catch {
    // no /proc: times print relative to the epoch
  }
  const { createNodeSymbolizer } = await import('./probes/symbolizer.js');
  return { bootTimeNs, utcOffsetMinutes: -new Date().getTimezoneOffset(), symbolizer: createNodeSymbolizer() };
}

function describeLoc(source: string, fileName: string, loc: Loc): { filename: string; line: number; column: number; text: string } {
  void source;
  return { filename: fileName, line: loc.line, column: loc.col, text: `${fileName}:${loc.line}:${loc.col}-${loc.endCol}` };
}

/** Runs a trace program until exit()/END/signal; returns the process exit status. */
export async function runTrace(opts: RunOptions): Promise<number> {
  const diag = (e: unknown): number => {
    if (e instanceof TraceError) {
      opts.err(renderDiagnostic(opts.source, opts.fileName, e.detail, e.loc));
      return 1;
    }
    if (e instanceof BpfkitError) {
      opts.err(`ERROR: ${e.message}\n`);
      return 1;
    }
    throw e;
  };
  let compiled: CompiledProgram;
  const startNs = process.hrtime.bigint();
  const ncpus = await onlineCpus();
  try {
    const ast = parseProgram(opts.source);
    const resolved = new Map<string, ResolvedProbe[]>();
    const withParams = (t: string): string => t.replace(/\$([0-9]+)/g, (_, n: string) => opts.positional[Number(n) - 1] ?? '');
    const missing = ast.config.find((c) => c.key === 'missing_probes')?.value;
    const warnMissing = missing !== undefined && ((missing.kind === 'builtin' && missing.name === 'warn') || (missing.kind === 'str' && missing.value === 'warn'));
    const filter = opts.probeFilter !== undefined ? new RegExp(opts.probeFilter) : undefined;
    for (const p of ast.probes) {
      for (const s of p.probes) {
        if (resolved.has(s.text)) continue;
        let list: ResolvedProbe[];
        try {
          list = await resolveSpec(withParams(s.text), s.loc, opts.pid, opts.unsafe);
        } catch (e) {
          if (!(warnMissing && e instanceof TraceError && e.code === 'E_PROBE_NOT_FOUND')) throw e;
          if (!opts.noWarnings) opts.err(renderDiagnostic(opts.source, opts.fileName, `${e.detail} Skipping.`, e.loc, 'WARNING'));
          list = [];
        }
        if (filter) list = list.filter((r) => r.provider === 'begin' || r.provider === 'end' || filter.test(r.name));
        resolved.set(s.text, list);
      }
    }
    const { readFileSync, statSync } = await import('node:fs');
    const ksyms = kallsyms((p) => readFileSync(p, 'utf8'));
    const pidNs = tracerPidNamespace(statSync);
    const types = kernelTypes(readFileSync);
    compiled = compileAst(ast, {
      positional: opts.positional, ncpus, startNs, unsafe: opts.unsafe, pid: opts.pid, named: opts.named, helperErrors: opts.helperErrors,
      ...(pidNs ? { pidNs } : {}),
      resolveProbe: (t) => resolved.get(t) ?? [],
      kaddr: (name) => ksyms.get(name),
      types,
    });
    if (!opts.noWarnings) for (const w of compiled.warnings) opts.err(renderDiagnostic(opts.source, opts.fileName, w.message, w.loc, 'WARNING'));
    const expected = [...compiled.getopts.keys()].map((k) => `--${k}`).join(', ');
    if (opts.named.has('help')) {
      opts.err(`HINT: expected program options:\n${[...compiled.getopts].reverse().map(([k, d]) => `  --${k}${d ? `: ${d}` : ''}`).join('\n')}\n`);
      return 1;
    }
    const unexpected = [...opts.named.keys()].filter((k) => !compiled.getopts.has(k));
    if (unexpected.length) {
      opts.err(`ERROR: unexpected program command line options: ${unexpected.map((k) => `--${k}`).join(', ')}\nHINT: expected program options: ${expected}\n`);
      return 1;
    }
  } catch (e) {
    return diag(e);
  }
  if (opts.debug) {
    const { disassembleLlvm } = await import('../ebpf/llvm-syntax.js');
    for (const p of compiled.probes) {
      opts.out(`${p.probe.name} (${p.spec.insns.length} insns):\n${disassembleLlvm(p.spec.insns)}\n`);
    }
    for (const m of compiled.maps) opts.out(`map ${m.name}: type ${m.type} key ${m.keySize} value ${m.valueSize} entries ${m.maxEntries}\n`);
  }
  // The defining modules, not the barrels: a dynamic import keeps every export of what it names
  // alive in the bundled CLI, and the kernel barrel reaches the VM, the verifier and capture.
  const [{ openKernel }, { RingBufferReader }] = await Promise.all([import('../kernel/kernel.js'), import('../kernel/ringbuf.js')]);
  let kernel: Kernel;
  try {
    kernel = await openKernel();
  } catch (e) {
    return diag(e);
  }
  const maps = new Map<string, KernelMap>();
  const programs: { probe: ResolvedProbe; prog: KernelProgram }[] = [];
  const links: KernelLink[] = [];
  const cleanup = (): void => {
    for (const l of links) l.close();
    for (const p of programs) p.prog.close();
    for (const m of maps.values()) m.close();
  };
  try {
    for (const ms of compiled.maps) maps.set(ms.name, kernel.createMap(ms));
    for (const p of compiled.probes) {
      const prog = callbackStarts(p.spec.insns).length ? loadWithCallbacks(kernel.sys, p.spec, maps) : kernel.load(p.spec, { maps });
      programs.push({ probe: p.probe, prog });
    }
  } catch (e) {
    cleanup();
    return diag(e);
  }
  if (opts.dryRun) {
    cleanup();
    return 0;
  }
  const stackMap = maps.get(STACK_MAP);
  const stacks = (v: Value): Value => (stackMap ? resolveStacks(v, (id) => {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, id, true);
    return stackMap.get(key);
  }) : v);
  const symbolizeDump = (d: MapDump): MapDump => ({
    ...d,
    entries: d.entries.map((e) => ({
      key: e.key.map((k) => stacks(opts.format === 'text' ? symbolize(k, compiled.enums) : k)),
      value: stacks(opts.format === 'text' ? symbolize(e.value as Value, compiled.enums) : (e.value as Value)),
    })),
  });
  const fctx = await formatContext();
  const output = new TraceOutput(opts.format, { out: opts.out, err: opts.err }, fctx);
  let exitRequested = false;
  let exitCode = 0;
  let wake: (() => void) | undefined;
  const requestExit = (): void => {
    exitRequested = true;
    wake?.();
  };
  const ringMap = maps.get(compiled.ringbuf)!;
  const ring = new RingBufferReader(kernel.sys, ringMap);
  const decode = eventDecoder(compiled.events);
  // After exit() the rest of what probes sent is dropped, until END runs.
  let dropping = false;
  const handle = (record: Uint8Array): void | Promise<void> => {
    const ev = decode(record);
    if (!ev || dropping) return;
    const { desc, bytes } = ev;
    const argValues = (args: { type: TraceType; offset: number }[]): Value[] => args.map((a) => decodeValue(a.type, bytes, a.offset));
    switch (desc.kind) {
      case 'system': case 'cat': {
        const text = formatPrintf(desc.fmt, argValues(desc.args).map(stacks), fctx);
        return runSideEffect(desc.kind, text, output).then(() => undefined);
      }
      case 'printf': {
        const text = formatPrintf(desc.fmt, enumNames(desc.fmt, argValues(desc.args), desc.args, compiled.enums).map(stacks), fctx);
        if (desc.level === 'warn' && opts.noWarnings) return;
        if (desc.level) {
          output.diagnostic(desc.level === 'error' ? 'error' : 'warning', text, describeLoc(opts.source, opts.fileName, desc.loc));
          // A call inside a macro also names where the macro was used.
          if (opts.format === 'text' && desc.loc.expandedFrom) opts.err(renderDiagnostic(opts.source, opts.fileName, 'expanded from', desc.loc.expandedFrom, desc.level === 'error' ? 'ERROR' : 'WARNING'));
        }
        else output.printf(text);
        return;
      }
      case 'print': {
        const v = decodeValue(desc.type, bytes, desc.offset);
        output.value(stacks(opts.format === 'text' ? symbolize(v, compiled.enums) : v));
        return;
      }
      case 'printMap': {
        const info = compiled.mapInfo.get(desc.map)!;
        return dumpMap(info, maps.get(info.bpfName)!, kernel.possibleCpus).then((d) => {
          // print() of an unset scalar map prints the type's zero.
          const dump = !d.keyed && !d.entries.length ? { ...d, entries: [{ key: [], value: zeroValue(info) }] } : d;
          output.map(symbolizeDump(dump), { top: desc.top, div: desc.div === undefined ? undefined : BigInt(desc.div) });
        });
      }
      case 'clear': case 'zero': {
        const info = compiled.mapInfo.get(desc.map)!;
        const m = maps.get(info.bpfName)!;
        return (async () => {
          // The programs keep running meanwhile: a key they deleted since it was listed is gone, not an error (and
          // zeroing with BPF_EXIST does not bring it back).
          const gone = (f: () => void): void => {
            try {
              f();
            } catch (e) {
              if (!(e instanceof BpfkitError && e.code === 'ENOENT')) throw e;
            }
          };
          if (info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY || desc.kind === 'zero') {
            for await (const k of m.keys()) gone(() => m.set(k, new Uint8Array(m.valueBytes), BPF_EXIST));
          } else {
            const keys: Uint8Array[] = [];
            for await (const k of m.keys()) keys.push(k);
            for (const k of keys) gone(() => m.delete(k));
          }
        })();
      }
      case 'join': {
        const parts: string[] = [];
        for (let i = 0; i < desc.count; i++) {
          const v = decodeValue({ kind: 'string', size: desc.size }, bytes, desc.offset + i * desc.size);
          if (v.kind !== 'string' || v.value === '') break;
          parts.push(v.value);
        }
        output.join(parts.join(desc.sep));
        return;
      }
      case 'warning':
        if (!opts.noWarnings) opts.err(`WARNING: ${desc.message}\n`);
        return;
      case 'runtimeError':
        if (opts.noWarnings) return;
        opts.err(renderDiagnostic(opts.source, opts.fileName, desc.message, desc.loc, 'WARNING'));
        return;
      case 'exit':
        if (bytes.length >= 16) exitCode = Number(readInt(bytes, 8, 64, true)) & 0xff;
        dropping = true;
        requestExit();
        return;
      case 'time': {
        const d = new Date();
        const pad = (n: number): string => String(n).padStart(2, '0');
        const fmt = desc.fmt ?? '%H:%M:%S\n';
        output.time(fmt.replace('%H', pad(d.getHours())).replace('%M', pad(d.getMinutes())).replace('%S', pad(d.getSeconds())));
        return;
      }
      default:
    }
  };
  const events = new OrderedEvents(handle);
  // Drains run one after another (poll callbacks and the main loop both start them), so output
  // keeps the ring's order and nothing is written after the run ends.
  let chain: Promise<void> = Promise.resolve();
  // The first error of an event's handling (a map operation that failed): the run ends and reports it, rather than
  // rejecting a drain the poll callback started, which nothing awaits.
  let failure: unknown;
  const drain = (): Promise<void> => {
    chain = chain.then(async () => {
      ring.consume((r) => events.push(r));
      await events.settle();
    }).catch((e: unknown) => {
      failure ??= e;
      requestExit();
    });
    return chain;
  };
  const runProbes = async (provider: string, drainEach = true): Promise<void> => {
    for (const p of programs) {
      if (p.probe.provider !== provider) continue;
      // BPF_PROG_TEST_RUN of a raw tracepoint program takes only a context (no data, no repeat).
      const ctx = new Uint8Array(new ArrayBuffer(8));
      const { BpfCmd, testRunAttr } = await import('../kernel/attr.js');
      kernel.sys.bpf(BpfCmd.BPF_PROG_TEST_RUN, testRunAttr({ progFd: p.prog.fd, dataSizeIn: 0, dataSizeOut: 0, dataIn: 0n, dataOut: 0n, ctxIn: kernel.sys.addressOf(ctx), ctxSizeIn: 8, repeat: 0 }));
      if (drainEach) await drain();
    }
  };
  const onSignal = (): void => requestExit();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let child: import('node:child_process').ChildProcess | undefined;
  try {
    const attachable = programs.filter((p) => p.probe.provider !== 'begin' && p.probe.provider !== 'end');
    // BEGIN runs before the other probes attach (as in bpftrace); its output is read after the attach marker.
    await runProbes('begin', false);
    try {
      // uprobes in reverse: the kernel runs the last-attached handler of a uprobe first, so this keeps program order.
      const isU = (p: { probe: ResolvedProbe }): boolean => p.probe.provider === 'uprobe' || p.probe.provider === 'uretprobe';
      for (const p of [...attachable.filter((x) => !isU(x)), ...attachable.filter(isU).reverse()]) links.push(await attachProbe(kernel, p.prog, p.probe.concrete as ConcreteProbe, opts.pid !== undefined ? { pid: opts.pid } : {}));
    } catch (e) {
      return diag(e);
    }
    if (!opts.quiet || opts.format === 'json') {
      if (!opts.quiet) output.attachedProbes(programs.filter((p) => p.probe.provider !== 'end' || true).length);
    }
    if (opts.notifyAttached) opts.out('__BPFTRACE_NOTIFY_PROBES_ATTACHED\n');
    await drain();
    if (opts.command && !exitRequested) {
      const { spawn } = await import('node:child_process');
      const argv = splitCommand(opts.command);
      child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
      child.on('exit', () => requestExit());
      child.on('error', (e) => {
        opts.err(`ERROR: failed to run command '${opts.command}': ${e.message}\n`);
        exitCode = 1;
        requestExit();
      });
    }
    if (!attachable.length && !opts.command) exitRequested = true;
    const watcher = kernel.sys.poll(ringMap.fd, { readable: true }, () => {
      void drain().then(() => {
        if (exitRequested) wake?.();
      });
    });
    while (!exitRequested) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (exitRequested) resolve();
      });
      await drain();
    }
    watcher.close();
    for (const l of links.splice(0)) l.close();
    await drain();
    if (failure !== undefined) return diag(failure);
    const hadExitEvent = exitRequested;
    void hadExitEvent;
    dropping = false;
    await runProbes('end');
    await drain();
    if (failure !== undefined) return diag(failure);
    if (opts.format === 'text') output.end();
    const printMaps = compiled.config.get('print_maps_on_exit');
    for (const name of printMaps === 0n || printMaps === 'false' ? [] : compiled.mapOrder) {
      const info = compiled.mapInfo.get(name);
      if (!info) continue;
      const m = maps.get(info.bpfName)!;
      output.map(symbolizeDump(await dumpMap(info, m, kernel.possibleCpus)));
    }
  } catch (e) {
    return diag(e);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    ring.close();
    cleanup();
    if (child && child.exitCode === null) child.kill('SIGTERM');
  }
  return exitCode;
}

/** Splits a command line as a shell would (quotes and backslashes respected, no expansion). */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: string | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i];
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") { q = c; has = true; continue; }
    if (c === '\\' && i + 1 < cmd.length) { cur += cmd[++i]; has = true; continue; }
    if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (has) out.push(cur);
  return out;
}

export { sizeOf };
