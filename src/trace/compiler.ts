/**
 * The trace compiler: semantic analysis (types of variables, maps and expressions) and code
 * generation to eBPF program and map specs with bpfkit's own builder (no LLVM).
 */

import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R5, R6, R8, R9, R10, BPF_NOEXIST } from '../ebpf/index.js';
import type { MapSpec, ProgramSpec, Reg } from '../ebpf/index.js';
import type { Expr, Loc, MacroDef, Probe, Program, Stmt, TypeSpec } from './ast.js';
import { TraceError } from './errors.js';
import { parseProgram } from './parser.js';
import { errnoNumber } from './errno.js';
import { parsePrintfFormat, printfArgClass, printfArgCountError } from './format/printf.js';
import { histBucketCount } from './format/hist.js';
import { pruneUnreachable } from './prune.js';
import { signalNumber } from './signals.js';
import { NSIG } from '../ebpf/vm/tracing-helpers.js';
import { DEFAULT_STRLEN, T, aggValueSize, sizeOf, tupleType, typeName } from './types.js';
import type { AggKind, Field, TSeriesAgg, TSeriesArgs, TraceType } from './types.js';

/** What the compiler knows about one attach point after probe expansion. */
export interface ResolvedProbe {
  provider: string;
  /** Canonical name (`tracepoint:syscalls:sys_enter_read`), what the `probe` builtin gives. */
  name: string;
  /** Tracepoint record fields (from tracefs), by name. */
  fields?: { name: string; offset: number; size: number; signed: boolean; type: string; dataLoc: boolean; arrayLength?: number; common?: boolean }[];
  /** Raw tracepoint arguments (from BTF). */
  args?: { name: string; type: string }[];
  /** The probe catalog's description, for attaching (opaque to the compiler). */
  concrete?: unknown;
}

export interface CompileOptions {
  /** Positional parameters `$1…`. */
  positional?: readonly string[];
  /** CPUs for `ncpus`. */
  ncpus?: number;
  /** CLOCK_MONOTONIC ns at start, for `elapsed`. */
  startNs?: bigint;
  /** Expands a probe spec to concrete probes; default handles begin/end and passes others through. */
  resolveProbe?: (text: string, loc: Loc) => ResolvedProbe[];
  unsafe?: boolean;
  /**
   * The tracer's pid namespace (`stat /proc/self/ns/pid`), when it is not the initial one: `pid` and `tid` are then the ids
   * in it, as bpftrace gives them (bpf_get_ns_current_pid_tgid); `pid(init)`/`tid(init)` stay the initial namespace's.
   */
  pidNs?: { dev: number; ino: number };
  /**
   * Every probe but BEGIN/END first returns unless the current task is in the cgroup (or below) whose fd the runtime puts
   * at key 0 of {@link CGROUP_FILTER_MAP} (bpf_current_task_under_cgroup, libbpf-tools' `-c CG`).
   */
  cgroupFilter?: boolean;
  /** `-k`: a warning at run time, with the source position, when a map read finds no element (bpftrace's helper error checks). */
  helperErrors?: boolean;
  /** `-p PID`. */
  pid?: number;
  /** Named program options after `--` (`--aa=1` → aa: "1"; `--dd` → dd: true). */
  named?: ReadonlyMap<string, string | true>;
  /** Kernel symbol addresses for kaddr(). */
  kaddr?: (name: string) => bigint | undefined;
  /** C struct/union layouts (kernel BTF), for member access through pointers. */
  types?: TypeProvider;
}

/** Where the compiler learns C struct layouts (the runtime reads them from kernel BTF). */
export interface TypeProvider {
  /** Size and members of `struct NAME`/`union NAME`, member types already as language types. */
  record(name: string): { size: number; fields: Field[] } | undefined;
}

/** How a language map is kept in a BPF map. */
export interface MapInfo {
  /** `@name`. */
  name: string;
  bpfName: string;
  /** undefined for a scalar map (`@x`). */
  keyType: TraceType | undefined;
  valueType: TraceType;
  /** Aggregation kind, when the map holds one. */
  agg?: AggKind;
  /** BPF map type. */
  mapType: number;
  percpu: boolean;
  /** hist/lhist store one entry per bucket: the key ends in a u64 bucket index (u32 index in an array). */
  bucketed: boolean;
  lhist?: { min: bigint; max: bigint; step: bigint };
  /** `hist(x, k)`: each power of two split in 2^k buckets (0: plain log2). */
  histBits?: number;
  /** tseries stores one entry per interval slot (interval number % num_intervals), like a histogram's buckets. */
  tseries?: TSeriesArgs;
  /** Declared with `let @m = hash(N)` and such. */
  declared?: string;
  maxEntries: number;
}

/** An event the programs send to user space: what its bytes mean. */
export type EventDesc =
  | { kind: 'printf'; fmt: string; args: { type: TraceType; offset: number }[]; loc: Loc; level?: 'error' | 'warn' }
  | { kind: 'print'; type: TraceType; offset: number }
  | { kind: 'printMap'; map: string; top?: number; div?: number }
  | { kind: 'clear' | 'zero'; map: string }
  | { kind: 'exit'; code?: boolean }
  | { kind: 'time'; fmt?: string }
  | { kind: 'system' | 'cat'; fmt: string; args: { type: TraceType; offset: number }[] }
  | { kind: 'join'; sep: string; offset: number; size: number; count: number }
  | { kind: 'runtimeError'; message: string; loc: Loc }
  | { kind: 'warning'; message: string };

export interface CompiledProbe {
  probe: ResolvedProbe;
  spec: ProgramSpec;
}

export interface CompiledProgram {
  probes: CompiledProbe[];
  maps: MapSpec[];
  mapInfo: Map<string, MapInfo>;
  events: EventDesc[];
  /** The event ring buffer's BPF map name. */
  ringbuf: string;
  config: Map<string, bigint | string>;
  /** Names in `@` order of first appearance. */
  mapOrder: string[];
  /** Enumerator names by enum and value, for printing `%s` of enum values. */
  enums: Map<string, Map<bigint, string>>;
  /** Program options declared with getopt(), with their descriptions. */
  getopts: Map<string, string | undefined>;
  /** Compile-time warnings (printed as bpftrace does). */
  warnings: { message: string; loc?: Loc }[];
}

const EVENT_RINGBUF = 'events';
/** The stack map kstack/ustack ids refer to. */
export const STACK_MAP = 'stacks';
/** The cgroup array of {@link CompileOptions.cgroupFilter}: the cgroup's fd at key 0, written by the runtime. */
export const CGROUP_FILTER_MAP = 'cgroup_filter';
const RINGBUF_SIZE = 1 << 20;
const SCRATCH_LIMIT = 32 * 1024;
const DEFAULT_MAX_ENTRIES = 4096;
/** pt_regs offsets on x86-64: arg registers, ip, sp, ax. */
const PT_REGS_ARGS = [112, 104, 96, 88, 72, 64];
const PT_REGS = { ip: 128, sp: 152, ax: 80 };

const BUILTIN_TYPES: Record<string, TraceType> = {
  pid: T.u32, tid: T.u32, uid: T.u32, gid: T.u32, cpu: T.u32, ncpus: T.u32, nsecs: T.u64, elapsed: T.u64,
  jiffies: T.u64, cgroup: T.u64, curtask: { kind: 'pointer', to: { kind: 'record', name: 'struct task_struct', fields: [], size: 0 } },
  kstack: { kind: 'kstack', frames: 127 }, ustack: { kind: 'ustack', frames: 127 },
  rand: T.u32, comm: T.string(16), ctx: { kind: 'pointer', to: T.u8 }, retval: T.s64, func: { kind: 'usym' }, username: T.string(64),
  __builtin_pid: T.u32, numaid: T.u32, usermode: T.u8,
};

const MAP_DECL_TYPES: Record<string, number> = {
  hash: MapType.BPF_MAP_TYPE_HASH, lruhash: MapType.BPF_MAP_TYPE_LRU_HASH, percpuhash: MapType.BPF_MAP_TYPE_PERCPU_HASH,
  percpulruhash: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, percpuarray: MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
};

/** A hidden variable: set when `return` runs inside a map walk's callback. */
const RET_FLAG = '$__return';

/** Functions and builtins of the language that a macro of another arity does not shadow. */
const BUILTIN_FUNCS = new Set(['cpu', 'pid', 'tid', 'comm', 'nsecs', 'str', 'buf', 'print', 'printf', 'count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist', 'len', 'strlen', 'delete', 'has_key', 'ksym', 'usym', 'kaddr', 'uaddr', 'ntop', 'pton', 'strftime', 'time', 'exit', 'clear', 'zero', 'tseries']);

/** Functions that are statements (no value). */
/** Statement functions whose first argument is a whole map. */
const MAP_STATEMENT_FUNCS = new Set(['print', 'clear', 'zero', 'delete']);
/** Functions whose first argument may be a whole map rather than a value of it. */
const WHOLE_MAP_FUNCS = new Set([...MAP_STATEMENT_FUNCS, 'has_key', 'len']);
const STATEMENT_FUNCS = new Set(['printf', 'errorf', 'warnf', 'system', 'cat', 'print', 'clear', 'zero', 'delete', 'exit', 'time', 'join', 'debugf', 'signal']);

/** Probe types whose programs may not call bpf_send_signal (no task to signal, or a context bpftrace refuses). */
const NO_SIGNAL_PROVIDERS: Readonly<Record<string, string>> = { begin: 'BEGIN', end: 'END', interval: 'interval', software: 'software', hardware: 'hardware', watchpoint: 'watchpoint' };
/** join(): how many argv strings it reads, and how long each may be. */
const JOIN_ARGS = 16;
const JOIN_STRLEN = 256;


const AGG_FUNCS = new Set(['count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist', 'tseries']);
const TSERIES_AGGS: ReadonlySet<string> = new Set(['avg', 'max', 'min', 'sum']);

function isMem(t: TraceType): boolean {
  return t.kind === 'string' || t.kind === 'tuple' || t.kind === 'record' || t.kind === 'buffer' || t.kind === 'array' || t.kind === 'inet' || t.kind === 'macaddr';
}


function int64(signed: boolean): TraceType {
  return { kind: 'int', bits: 64, signed };
}

/** A type widened so values of `a` and `b` fit (strings to the longer, ints to 64 bits). */
function mergeTypes(a: TraceType | undefined, b: TraceType): TraceType {
  if (!a) return b;
  if (a.kind === 'string' && b.kind === 'string') return a.size >= b.size ? a : b;
  if (a.kind === 'buffer' && b.kind === 'buffer') return a.size >= b.size ? a : b;
  if (a.kind === 'int' && b.kind === 'int') return a.bits >= b.bits && (a.signed || !b.signed) ? a : { kind: 'int', bits: Math.max(a.bits, b.bits) as 8 | 16 | 32 | 64, signed: a.signed || b.signed };
  if (a.kind === 'tuple' && b.kind === 'tuple' && a.elems.length === b.elems.length) return tupleType(a.elems.map((e, i) => mergeTypes(e, b.elems[i])));
  return a;
}

/** Storage type of a value kept in a map or used as a key: ints widen to 64 bits. */
function storageType(t: TraceType): TraceType {
  if (t.kind === 'int') return t.enumName !== undefined ? { kind: 'int', bits: 64, signed: t.signed, enumName: t.enumName } : int64(t.signed);
  return t;
}

function sameShape(a: TraceType, b: TraceType): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tuple' && b.kind === 'tuple') return a.elems.length === b.elems.length && a.elems.every((e, i) => sameShape(e, b.elems[i]));
  return true;
}

interface VarSlot {
  type: TraceType;
  /** Scalars: offset from the frame base register r8 (negative); memory values: offset in scratch. */
  off: number;
}

interface LoopCtx {
  breakLabel: string;
  continueLabel: string;
  /** Inside a for-map callback: break/continue return from the callback. */
  callback: boolean;
}

/** Scope of one probe's compilation. */
class ProbeCodegen {
  readonly b = new ProgramBuilder();
  private labelN = 0;
  /** Stack: -8 holds a zero u32 key; variables from -16 down; temporaries below them. */
  private tempTop: number;
  private tempBase: number;
  private scratchTop = 0;
  scratchMax = 0;
  private readonly vars = new Map<string, VarSlot>();
  private readonly loops: LoopCtx[] = [];
  private readonly deferred: (() => void)[] = [];
  private inCallback = false;
  readonly scratchMap: string;

  constructor(
    private readonly c: Compiler,
    readonly probe: ResolvedProbe,
    private readonly varTypes: Map<string, TraceType>,
    index: number,
  ) {
    this.scratchMap = `scratch${index}`;
    let off = -8;
    varTypes.set(RET_FLAG, T.u64);
    for (const [name, t] of varTypes) {
      if (isMem(t)) continue;
      off -= 8;
      this.vars.set(name, { type: t, off });
    }
    this.tempBase = this.tempTop = off;
    for (const [name, t] of varTypes) {
      if (!isMem(t)) continue;
      this.vars.set(name, { type: t, off: this.allocScratchPermanent(sizeOf(t)) });
    }
  }

  label(prefix: string): string {
    return `${prefix}_${this.labelN++}`;
  }

  private allocScratchPermanent(size: number): number {
    const off = this.scratchTop;
    this.scratchTop += Math.ceil(Math.max(size, 1) / 8) * 8;
    this.scratchMax = Math.max(this.scratchMax, this.scratchTop);
    return off;
  }

  /** Scratch memory for a temporary value; freed at the end of the statement. */
  scratch(size: number, loc: Loc): number {
    const off = this.allocScratchPermanent(size);
    if (this.scratchTop > SCRATCH_LIMIT) throw new TraceError('E_TRACE_LIMIT', `program needs more than ${SCRATCH_LIMIT} bytes of scratch memory`, loc);
    return off;
  }

  /** An 8-byte stack slot for a temporary scalar. */
  tempSlot(loc: Loc): number {
    this.tempTop -= 8;
    if (this.tempTop < -512) throw new TraceError('E_TRACE_LIMIT', 'expression too complex: out of stack slots', loc);
    return this.tempTop;
  }

  emitPrologue(): void {
    const b = this.b;
    b.mov64(R6, R1);
    b.st(32, R10, -8, 0);
    b.mov64(R2, R10).add64(R2, -8);
    b.ldMap(R1, this.scratchMap);
    b.call('map_lookup_elem');
    b.jne(R0, 0, 'scratch_ok');
    b.mov64(R0, 0).exit();
    b.label('scratch_ok');
    b.mov64(R9, R0);
    b.mov64(R8, R10);
    // Variables start at zero, as bpftrace's do.
    for (const v of this.vars.values()) {
      if (isMem(v.type)) this.zeroMem(v.off, sizeOf(v.type));
      else b.st(64, R8, v.off, 0);
    }
  }

  compileBody(stmts: Stmt[], predicate: Expr | undefined): void {
    this.emitPrologue();
    if (this.c.options.cgroupFilter && this.probe.provider !== 'begin' && this.probe.provider !== 'end') {
      // 1: under the cgroup; 0: not; negative: no cgroup set. Only 1 goes on.
      this.b.ldMap(R1, CGROUP_FILTER_MAP).mov64(R2, 0).call('current_task_under_cgroup');
      this.b.jne(R0, 1, 'prog_exit');
    }
    if (predicate) {
      this.withStatement(() => {
        this.scalar(predicate);
        this.b.jeq(R0, 0, 'prog_exit');
      });
    }
    this.stmts(stmts);
    this.b.label('prog_exit');
    this.b.mov64(R0, 0).exit();
    while (this.deferred.length) this.deferred.shift()!();
  }

  private withStatement(fn: () => void): void {
    const s = this.scratchTop;
    const t = this.tempTop;
    fn();
    this.scratchTop = s;
    this.tempTop = t;
  }

  stmts(list: Stmt[]): void {
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      this.withStatement(() => this.stmt(s));
      if (i + 1 < list.length && endsFlow(s)) {
        this.c.warnings.push({ message: 'Unreachable statement', loc: list[i + 1].loc });
        return;
      }
    }
  }

  // ---- statements -------------------------------------------------------------------

  private stmt(s: Stmt): void {
    const b = this.b;
    switch (s.kind) {
      case 'expr':
        this.exprStmt(s.expr);
        return;
      case 'let':
        if (s.value) this.assignVar(s.name, s.value, '=', s.loc);
        else {
          const v = this.vars.get(s.name);
          if (v && isMem(v.type)) this.zeroMem(v.off, sizeOf(v.type));
          else if (v) b.st(64, R8, v.off, 0);
        }
        return;
      case 'assign':
        this.assign(s.target, s.op, s.value, s.loc);
        return;
      case 'block':
        this.stmts(s.body);
        return;
      case 'if': {
        const elseL = this.label('else');
        const endL = this.label('endif');
        this.cond(s.cond, elseL);
        this.stmts(s.then);
        if (s.else) b.ja(endL);
        b.label(elseL);
        if (s.else) {
          this.stmts(s.else);
          b.label(endL);
        }
        return;
      }
      case 'while': {
        const top = this.label('while');
        const end = this.label('wend');
        b.label(top);
        this.withStatement(() => this.cond(s.cond, end));
        this.loops.push({ breakLabel: end, continueLabel: top, callback: false });
        this.stmts(s.body);
        this.loops.pop();
        b.ja(top);
        b.label(end);
        return;
      }
      case 'unroll': {
        const n = this.c.constInt(s.count);
        if (n === undefined) throw new TraceError('E_TRACE_TYPE', 'unroll count must be a positive integer literal', s.count.loc);
        if (n > 100n) throw new TraceError('E_TRACE_TYPE', 'unroll maximum value is 100', s.count.loc);
        if (n < 1n) throw new TraceError('E_TRACE_TYPE', 'unroll minimum value is 1', s.count.loc);
        for (let i = 0n; i < n; i++) this.stmts(s.body);
        return;
      }
      case 'forRange': {
        const v = this.vars.get(s.var)!;
        if (this.c.constInt(s.from) === undefined || this.c.constInt(s.to) === undefined) {
          this.forRangeLoop(s);
          return;
        }
        const endSlot = this.tempSlot(s.loc);
        this.scalar(s.to);
        b.st(64, R10, endSlot, R0);
        this.scalar(s.from);
        b.st(64, R8, v.off, R0);
        const top = this.label('for');
        const cont = this.label('fcont');
        const end = this.label('fend');
        b.label(top);
        b.ldx(64, R0, R8, v.off);
        b.ldx(64, R1, R10, endSlot);
        b.jsge(R0, R1, end);
        this.loops.push({ breakLabel: end, continueLabel: cont, callback: false });
        this.stmts(s.body);
        this.loops.pop();
        b.label(cont);
        b.ldx(64, R0, R8, v.off);
        b.add64(R0, 1);
        b.st(64, R8, v.off, R0);
        b.ja(top);
        b.label(end);
        return;
      }
      case 'forMap':
        this.forMap(s);
        return;
      case 'break':
      case 'continue': {
        const loop = this.loops[this.loops.length - 1];
        if (!loop) throw new TraceError('E_TRACE_TYPE', `${s.kind} statement is not allowed outside of a loop`, s.loc);
        if (loop.callback) {
          b.mov64(R0, s.kind === 'break' ? 1 : 0).exit();
          return;
        }
        b.ja(s.kind === 'break' ? loop.breakLabel : loop.continueLabel);
        return;
      }
      case 'return':
        if (this.inCallback) {
          // Leave the map walk; the flag in the caller's frame makes the probe return after it.
          b.st(64, R8, this.vars.get(RET_FLAG)!.off, 1);
          b.mov64(R0, 1).exit();
          return;
        }
        b.mov64(R0, 0).exit();
        return;
    }
  }

  private forMap(s: Extract<Stmt, { kind: 'forMap' }>): void {
    const b = this.b;
    if (s.map.kind !== 'map') throw new TraceError('E_TRACE_TYPE', 'for loop over a non-map expression', s.map.loc);
    const info = this.c.mapFor(s.map, s.map.loc);
    const cb = this.label('formap_cb');
    const v = this.vars.get(s.var)!;
    const ret = this.vars.get(RET_FLAG)!;
    b.st(64, R8, ret.off, 0);
    b.ldMap(R1, info.bpfName);
    this.b.ldFunc(R2, cb);
    b.mov64(R3, R8);
    b.mov64(R4, 0);
    b.call('for_each_map_elem');
    b.ldx(64, R0, R8, ret.off);
    const cont = this.label('fm_cont');
    b.jeq(R0, 0, cont);
    if (this.inCallback) b.mov64(R0, 1).exit();
    else b.ja('prog_exit');
    b.label(cont);
    this.deferLoopCallback(cb, -24, () => {
      // r1 map, r2 key, r3 value, r4 ctx (the caller's frame pointer).
      b.mov64(R8, R4);
      b.st(64, R10, -16, R2);
      b.st(64, R10, -24, R3);
    }, () => {
      const kv = v.type as Extract<TraceType, { kind: 'tuple' }>;
      b.ldx(64, R2, R10, -16);
      this.copyFromPtr(R2, kv.elems[0], v.off + kv.offsets[0], info.keyType ?? T.u64);
      b.ldx(64, R3, R10, -24);
      this.copyAggValueFromPtr(R3, info, kv.elems[1], v.off + kv.offsets[1]);
    }, s.body);
  }

  /**
   * A loop body as a callback subprogram (bpf_loop, for_each_map_elem), emitted after the program:
   * `frame` takes the helper's arguments (r8 = the caller's frame pointer, stack below `tempTop`),
   * then r9 = the scratch map and `bind` sets the loop variables. `break`/`return` end it with 1.
   */
  private deferLoopCallback(label: string, tempTop: number, frame: () => void, bind: () => void, body: Stmt[]): void {
    const b = this.b;
    this.deferred.push(() => {
      const outerInCb = this.inCallback;
      const outerTemp = this.tempTop;
      this.inCallback = true;
      b.label(label);
      frame();
      b.st(32, R10, -8, 0);
      b.mov64(R2, R10).add64(R2, -8);
      b.ldMap(R1, this.scratchMap);
      b.call('map_lookup_elem');
      const ok = this.label('cb_ok');
      b.jne(R0, 0, ok);
      b.mov64(R0, 1).exit();
      b.label(ok);
      b.mov64(R9, R0);
      this.tempTop = tempTop;
      bind();
      this.loops.push({ breakLabel: '', continueLabel: '', callback: true });
      this.stmts(body);
      this.loops.pop();
      b.mov64(R0, 0).exit();
      this.inCallback = outerInCb;
      this.tempTop = outerTemp;
    });
  }

  /** A range whose bounds are known only at run time: bpf_loop with the body as its callback (the verifier checks it once). */
  private forRangeLoop(s: Extract<Stmt, { kind: 'forRange' }>): void {
    const b = this.b;
    const v = this.vars.get(s.var)!;
    const base = this.vars.get(`${s.var}__base`)!;
    const ret = this.vars.get(RET_FLAG)!;
    const endSlot = this.tempSlot(s.loc);
    this.scalar(s.to);
    b.st(64, R10, endSlot, R0);
    this.scalar(s.from);
    b.st(64, R8, base.off, R0);
    b.ldx(64, R1, R10, endSlot);
    b.sub64(R1, R0);
    const skip = this.label('range_skip');
    b.jsle(R1, 0, skip);
    const within = this.label('range_within');
    b.jle(R1, 1 << 23, within);
    b.mov64(R1, 1 << 23);
    b.label(within);
    b.st(64, R8, ret.off, 0);
    const cb = this.label('range_cb');
    this.b.ldFunc(R2, cb);
    b.mov64(R3, R8);
    b.mov64(R4, 0);
    b.call('loop');
    b.ldx(64, R0, R8, ret.off);
    b.jeq(R0, 0, skip);
    if (this.inCallback) b.mov64(R0, 1).exit();
    else b.ja('prog_exit');
    b.label(skip);
    this.deferLoopCallback(cb, -8, () => {
      // r1 index, r2 ctx (the caller's frame pointer).
      b.mov64(R8, R2);
      b.ldx(64, R0, R8, base.off);
      b.add64(R0, R1);
      b.st(64, R8, v.off, R0);
    }, () => undefined, s.body);
  }

  /** Copies a value of type `src` at pointer `ptr` into scratch `dstOff` as type `dst`. */
  private copyFromPtr(ptr: Reg, src: TraceType, dstOff: number, _declared: TraceType): void {
    this.b.mov64(R1, ptr);
    this.convertMem(R1, 0, src, R9, dstOff, src);
  }

  private copyAggValueFromPtr(ptr: Reg, info: MapInfo, dst: TraceType, dstOff: number): void {
    const b = this.b;
    b.mov64(R1, ptr);
    if (info.agg === 'avg') {
      const skip = this.label('avg0');
      b.ldx(64, R2, R1, 8);
      b.mov64(R0, 0);
      b.jeq(R2, 0, skip);
      b.ldx(64, R0, R1, 0);
      b.sdiv64(R0, R2);
      b.label(skip);
      b.st(64, R9, dstOff, R0);
      return;
    }
    if (info.agg) {
      b.ldx(64, R0, R1, 0);
      b.st(64, R9, dstOff, R0);
      return;
    }
    this.convertMem(R1, 0, info.valueType, R9, dstOff, dst);
  }

  private exprStmt(e: Expr): void {
    if (e.kind === 'call') {
      this.callStmt(e);
      return;
    }
    if (e.kind === 'incdec') {
      this.incdec(e);
      return;
    }
    const t = this.c.typeOf(e, this.varTypes, this.probe);
    if (isMem(t)) this.mem(e);
    else this.scalar(e);
  }

  // ---- assignment ---------------------------------------------------------------------

  private assign(target: Expr, op: string, value: Expr, loc: Loc): void {
    if (target.kind === 'builtin' && target.name === '_') {
      this.exprStmt(value);
      return;
    }
    if (target.kind === 'var') {
      this.assignVar(target.name, value, op, loc);
      return;
    }
    if (target.kind === 'map') {
      this.assignMap(target, value, op, loc);
      return;
    }
    throw new TraceError('E_TRACE_TYPE', 'assignment to this expression is not supported', target.loc);
  }

  private assignVar(name: string, value: Expr, op: string, loc: Loc): void {
    const v = this.vars.get(name)!;
    if (isMem(v.type)) {
      if (op !== '=') throw new TraceError('E_TRACE_TYPE', `operator ${op} does not apply to ${typeName(v.type)}`, loc);
      const src = this.mem(value);
      this.convertMem(R9, src.off, src.type, R9, v.off, v.type);
      return;
    }
    if (op === '=') {
      this.scalar(value);
      this.storeVar(v);
      return;
    }
    this.scalar(value);
    this.b.mov64(R1, R0);
    this.b.ldx(64, R0, R8, v.off);
    this.binop(op.slice(0, -1), v.type, loc);
    this.storeVar(v);
  }

  private storeVar(v: VarSlot): void {
    this.normalize(v.type);
    this.b.st(64, R8, v.off, R0);
  }

  /** Truncates/extends r0 to a type's width. */
  private normalize(t: TraceType): void {
    if (t.kind === 'bool') {
      const l = this.label('b');
      this.b.jeq(R0, 0, l).mov64(R0, 1).label(l);
      return;
    }
    if (t.kind !== 'int' || t.bits === 64) return;
    if (t.signed) this.b.movsx64(R0, R0, t.bits);
    else this.b.and64(R0, t.bits === 32 ? R0 : (1 << t.bits) - 1).mov32(R0, R0);
    if (!t.signed && t.bits === 32) return;
  }

  /** Builds the key of `@m[...]` in scratch; returns its offset (the u32/u64 zero key for scalar maps). */
  private mapKey(m: Extract<Expr, { kind: 'map' }>, info: MapInfo, extraBucket = false): number {
    const keySize = this.c.bpfKeySize(info);
    const off = this.scratch(keySize, m.loc);
    if (!info.keyType) {
      this.zeroMem(off, keySize);
      return off;
    }
    const keys = m.keys ?? [];
    if (info.keyType.kind === 'tuple' && keys.length > 1) {
      this.zeroMem(off, sizeOf(info.keyType));
      keys.forEach((k, i) => this.storeInto(k, info.keyType as Extract<TraceType, { kind: 'tuple' }>, i, off));
    } else {
      this.storeValue(keys[0], info.keyType, off);
    }
    void extraBucket;
    return off;
  }

  private storeInto(e: Expr, tuple: Extract<TraceType, { kind: 'tuple' }>, i: number, base: number): void {
    this.storeValue(e, tuple.elems[i], base + tuple.offsets[i]);
  }

  /** Evaluates `e` and stores it as type `t` at scratch offset `off`. */
  storeValue(e: Expr, t: TraceType, off: number): void {
    if (isMem(t)) {
      const src = this.mem(e);
      this.convertMem(R9, src.off, src.type, R9, off, t);
      return;
    }
    this.scalar(e);
    this.storeScalar(t, R9, off, R0);
  }

  private storeScalar(t: TraceType, base: Reg, off: number, src: Reg): void {
    const size = sizeOf(t);
    const bits = (size === 1 ? 8 : size === 2 ? 16 : size === 4 ? 32 : 64) as 8 | 16 | 32 | 64;
    this.b.st(bits, base, off, src);
  }

  private loadScalar(t: TraceType, dst: Reg, base: Reg, off: number): void {
    const size = sizeOf(t);
    const bits = (size === 1 ? 8 : size === 2 ? 16 : size === 4 ? 32 : 64) as 8 | 16 | 32 | 64;
    if (t.kind === 'int' && t.signed && bits < 64) this.b.ldxs(bits as 8 | 16 | 32, dst, base, off);
    else this.b.ldx(bits, dst, base, off);
  }

  /** Copies a value of type `st` at (sb + so) into (db + doff) as type `dt` (same shape; strings truncate/pad). */
  convertMem(sb: Reg, so: number, st: TraceType, db: Reg, doff: number, dt: TraceType): void {
    if (dt.kind === 'record' && st.kind === 'record' && dt.fields.length && st.fields.length) {
      // Records match by field name, whatever order the literal wrote them in.
      for (const f of dt.fields) {
        const from = st.fields.find((x) => x.name === f.name);
        if (from) this.convertMem(sb, so + from.offset, from.type, db, doff + f.offset, f.type);
      }
      return;
    }
    if (dt.kind === 'tuple' && st.kind === 'tuple') {
      dt.elems.forEach((e, i) => this.convertMem(sb, so + st.offsets[i], st.elems[i], db, doff + dt.offsets[i], e));
      if (sizeOf(dt) !== sizeOf(st) || dt.offsets.some((o, i) => o !== st.offsets[i])) {
        // Padding between elements stays zero so keys compare equal.
        this.zeroPadding(dt, db, doff);
      }
      return;
    }
    if (isMem(dt) || isMem(st)) {
      const n = Math.min(sizeOf(st), sizeOf(dt));
      this.copyBytes(sb, so, db, doff, n);
      if (sizeOf(dt) > n) this.zeroBytes(db, doff + n, sizeOf(dt) - n);
      return;
    }
    this.loadScalar(st, R0, sb, so);
    this.storeScalar(dt, db, doff, R0);
  }

  private zeroPadding(t: Extract<TraceType, { kind: 'tuple' }>, base: Reg, off: number): void {
    let at = 0;
    t.elems.forEach((e, i) => {
      if (t.offsets[i] > at) this.zeroBytes(base, off + at, t.offsets[i] - at);
      at = t.offsets[i] + sizeOf(e);
    });
    if (t.size > at) this.zeroBytes(base, off + at, t.size - at);
  }

  copyBytes(sb: Reg, so: number, db: Reg, doff: number, n: number): void {
    let i = 0;
    while (i < n) {
      const w = n - i >= 8 && (so + i) % 8 === 0 && (doff + i) % 8 === 0 ? 8 : n - i >= 4 && (so + i) % 4 === 0 && (doff + i) % 4 === 0 ? 4 : 1;
      const bits = (w * 8) as 8 | 32 | 64;
      this.b.ldx(bits, R0, sb, so + i);
      this.b.st(bits, db, doff + i, R0);
      i += w;
    }
  }

  zeroBytes(base: Reg, off: number, n: number): void {
    let i = 0;
    while (i < n) {
      const w = n - i >= 8 && (off + i) % 8 === 0 ? 8 : n - i >= 4 && (off + i) % 4 === 0 ? 4 : 1;
      this.b.st((w * 8) as 8 | 32 | 64, base, off + i, 0);
      i += w;
    }
  }

  zeroMem(off: number, n: number): void {
    this.zeroBytes(R9, off, n);
  }

  private assignMap(m: Extract<Expr, { kind: 'map' }>, value: Expr, op: string, loc: Loc): void {
    const b = this.b;
    const info = this.c.mapFor(m, loc);
    if (value.kind === 'call' && AGG_FUNCS.has(value.name) && op === '=') {
      this.aggregate(m, info, value);
      return;
    }
    if (value.kind === 'block' && value.value.kind === 'call' && AGG_FUNCS.has(value.value.name) && op === '=') {
      this.stmts(value.stmts);
      this.aggregate(m, info, value.value);
      return;
    }
    if (info.agg) throw new TraceError('E_TRACE_TYPE', `map ${info.name} holds ${info.agg}() values: assign an aggregation`, loc);
    const keyOff = this.mapKey(m, info);
    const valOff = this.scratch(sizeOf(info.valueType), loc);
    if (op === '=') {
      this.storeValue(value, info.valueType, valOff);
    } else {
      // Read, combine, write.
      this.lookupInto(info, keyOff, valOff);
      this.scalar(value);
      b.mov64(R1, R0);
      b.ldx(64, R0, R9, valOff);
      this.binop(op.slice(0, -1), info.valueType, loc);
      b.st(64, R9, valOff, R0);
    }
    this.update(info, keyOff, valOff);
  }

  private update(info: MapInfo, keyOff: number, valOff: number, flags = 0): void {
    const b = this.b;
    b.ldMap(R1, info.bpfName);
    b.mov64(R2, R9).add64(R2, keyOff);
    b.mov64(R3, R9).add64(R3, valOff);
    b.mov64(R4, flags);
    b.call('map_update_elem');
    if (flags === 0) {
      const ok = this.label('upd_ok');
      b.jne(R0, -7, ok);
      this.mapFullWarning();
      b.label(ok);
    }
  }

  /** bpftrace's warning when an update fails with E2BIG (a full hash map). */
  private mapFullWarning(): void {
    this.emitEvent({ kind: 'warning', message: "Map full; can't update element" }, [], { line: 0, col: 0, endLine: 0, endCol: 0 });
  }

  /** Copies the map value for the key at `keyOff` into scratch `valOff`, zeros when absent. */
  private lookupInto(info: MapInfo, keyOff: number, valOff: number): void {
    const b = this.b;
    const size = sizeOf(info.valueType);
    b.ldMap(R1, info.bpfName);
    b.mov64(R2, R9).add64(R2, keyOff);
    b.call('map_lookup_elem');
    const miss = this.label('miss');
    const done = this.label('got');
    b.jeq(R0, 0, miss);
    b.mov64(R1, R0);
    this.copyBytes(R1, 0, R9, valOff, size);
    b.ja(done);
    b.label(miss);
    this.zeroMem(valOff, size);
    b.label(done);
  }

  private aggregate(m: Extract<Expr, { kind: 'map' }>, info: MapInfo, call: Extract<Expr, { kind: 'call' }>): void {
    const b = this.b;
    const agg = call.name as AggKind;
    if (agg === 'tseries') {
      this.tseriesUpdate(m, info, call);
      return;
    }
    // The increment (r7-free: kept in a stack slot across the key build and the lookup).
    const incSlot = this.tempSlot(call.loc);
    if (agg === 'count') b.mov64(R0, 1);
    else if (agg === 'hist' || agg === 'lhist') {
      this.scalar(call.args[0]);
      if (agg === 'hist') this.histBucket(info.histBits ?? 0);
      else this.lhistBucket(info.lhist!);
    } else {
      if (!call.args[0]) throw new TraceError('E_TRACE_TYPE', `${agg}() requires one argument`, call.loc);
      this.scalar(call.args[0]);
    }
    b.st(64, R10, incSlot, R0);
    let keyOff: number;
    if (info.bucketed) {
      keyOff = this.bucketKey(m, info, incSlot);
      b.mov64(R0, 1);
      b.st(64, R10, incSlot, R0);
    } else {
      keyOff = this.mapKey(m, info);
    }
    b.ldMap(R1, info.bpfName);
    b.mov64(R2, R9).add64(R2, keyOff);
    b.call('map_lookup_elem');
    const miss = this.label('aggmiss');
    const done = this.label('aggdone');
    b.jeq(R0, 0, miss);
    b.ldx(64, R1, R10, incSlot);
    this.aggApply(agg, info, false);
    b.ja(done);
    b.label(miss);
    // First value for this key: write the initial value (percpu arrays never miss).
    const valOff = this.scratch(16, m.loc);
    b.ldx(64, R1, R10, incSlot);
    switch (agg) {
      case 'min': case 'max':
        b.st(64, R9, valOff, R1);
        b.st(64, R9, valOff + 8, 1);
        break;
      case 'avg': case 'stats':
        b.st(64, R9, valOff, R1);
        b.st(64, R9, valOff + 8, 1);
        break;
      default:
        b.st(64, R9, valOff, R1);
    }
    this.update(info, keyOff, valOff, BPF_NOEXIST);
    // Lost a race with another CPU creating the entry: add to it.
    b.jeq(R0, 0, done);
    b.ldMap(R1, info.bpfName);
    b.mov64(R2, R9).add64(R2, keyOff);
    b.call('map_lookup_elem');
    const found = this.label('aggfound');
    b.jne(R0, 0, found);
    this.mapFullWarning();
    b.ja(done);
    b.label(found);
    b.ldx(64, R1, R10, incSlot);
    this.aggApply(agg, info, false);
    b.label(done);
  }

  /**
   * The key of a bucketed map's entry (hist, lhist, tseries) in scratch: the map key followed by the u64 bucket
   * number kept in stack slot `bucketSlot`, or for an unkeyed map the u32 index of its per-CPU array.
   */
  private bucketKey(m: Extract<Expr, { kind: 'map' }>, info: MapInfo, bucketSlot: number): number {
    const b = this.b;
    if (!info.keyType) {
      const keyOff = this.scratch(8, m.loc);
      b.ldx(64, R0, R10, bucketSlot);
      b.st(32, R9, keyOff, R0);
      return keyOff;
    }
    const keySize = this.c.bpfKeySize(info);
    const keyOff = this.scratch(keySize, m.loc);
    const inner = this.mapKey(m, info);
    this.copyBytes(R9, inner, R9, keyOff, sizeOf(info.keyType));
    b.ldx(64, R0, R10, bucketSlot);
    b.st(64, R9, keyOff + keySize - 8, R0);
    return keyOff;
  }

  /** r0 = value pointer, r1 = increment/value: updates the aggregation in place. */
  private aggApply(agg: AggKind, info: MapInfo, _unused: boolean): void {
    const b = this.b;
    const atomic = !info.percpu;
    switch (agg) {
      case 'count': case 'sum': case 'hist': case 'lhist':
        if (atomic) b.atomic('add', 64, R0, 0, R1);
        else b.ldx(64, R2, R0, 0).add64(R2, R1).st(64, R0, 0, R2);
        return;
      case 'avg': case 'stats':
        if (atomic) {
          b.atomic('add', 64, R0, 0, R1);
          b.mov64(R1, 1);
          b.atomic('add', 64, R0, 8, R1);
        } else {
          b.ldx(64, R2, R0, 0).add64(R2, R1).st(64, R0, 0, R2);
          b.ldx(64, R2, R0, 8).add64(R2, 1).st(64, R0, 8, R2);
        }
        return;
      case 'min': case 'max': {
        const skip = this.label('mm');
        const set = this.label('mmset');
        b.ldx(64, R2, R0, 8);
        b.jeq(R2, 0, set);
        b.ldx(64, R2, R0, 0);
        const signed = info.valueType.kind === 'agg' && info.valueType.signed;
        const keep = agg === 'min' ? (signed ? 'jsle' : 'jle') : signed ? 'jsge' : 'jge';
        b[keep](R2, R1, skip);
        b.label(set);
        b.st(64, R0, 0, R1);
        b.st(64, R0, 8, 1);
        b.label(skip);
        return;
      }
      default:
        throw new TraceError('E_TRACE_TYPE', `aggregation ${agg} is not supported`);
    }
  }

  /**
   * `@m[k] = tseries(v, interval, n[, agg])`: the slot of interval number e = now / interval is e % n; a slot that
   * holds an older interval starts over. Per-CPU map, so plain loads and stores; user space reduces the CPUs.
   * Value: { value, meta, interval number + 1 } with meta the write time (last value wins), the count (avg) or "set" (min/max).
   */
  private tseriesUpdate(m: Extract<Expr, { kind: 'map' }>, info: MapInfo, call: Extract<Expr, { kind: 'call' }>): void {
    const b = this.b;
    const ts = info.tseries!;
    const valSlot = this.tempSlot(call.loc);
    const nowSlot = this.tempSlot(call.loc);
    const epochSlot = this.tempSlot(call.loc);
    this.scalar(call.args[0]);
    b.st(64, R10, valSlot, R0);
    // The boot clock: user space turns interval numbers back into wall-clock times with the boot time.
    b.call('ktime_get_boot_ns');
    b.st(64, R10, nowSlot, R0);
    b.lddw(R1, ts.intervalNs);
    b.div64(R0, R1);
    // Interval numbers are stored plus one: 0 marks a slot never written (interval 0 is real on the boot clock).
    b.add64(R0, 1);
    b.st(64, R10, epochSlot, R0);
    b.lddw(R1, BigInt(ts.numIntervals));
    b.mod64(R0, R1);
    // The slot number waits on the stack while the key is built.
    const slotSlot = this.tempSlot(call.loc);
    b.st(64, R10, slotSlot, R0);
    const keyOff = this.bucketKey(m, info, slotSlot);
    b.ldMap(R1, info.bpfName);
    b.mov64(R2, R9).add64(R2, keyOff);
    b.call('map_lookup_elem');
    const have = this.label('tshave');
    const apply = this.label('tsapply');
    const done = this.label('tsdone');
    b.jne(R0, 0, have);
    // No entry yet (keyed maps): write a fresh one.
    const valOff = this.scratch(24, m.loc);
    b.ldx(64, R1, R10, valSlot);
    b.st(64, R9, valOff, R1);
    if (ts.agg === 'none') b.ldx(64, R1, R10, nowSlot);
    else b.mov64(R1, 1);
    b.st(64, R9, valOff + 8, R1);
    b.ldx(64, R1, R10, epochSlot);
    b.st(64, R9, valOff + 16, R1);
    this.update(info, keyOff, valOff);
    b.ja(done);
    b.label(have);
    // A slot that holds an older interval starts over.
    b.ldx(64, R1, R0, 16);
    b.ldx(64, R2, R10, epochSlot);
    b.jeq(R1, R2, apply);
    b.st(64, R0, 16, R2);
    b.st(64, R0, 0, 0);
    b.st(64, R0, 8, 0);
    b.label(apply);
    b.ldx(64, R1, R10, valSlot);
    const signed = info.valueType.kind === 'agg' && info.valueType.signed;
    switch (ts.agg) {
      case 'none':
        b.st(64, R0, 0, R1);
        b.ldx(64, R2, R10, nowSlot);
        b.st(64, R0, 8, R2);
        break;
      case 'sum':
        b.ldx(64, R2, R0, 0).add64(R2, R1).st(64, R0, 0, R2);
        break;
      case 'avg':
        b.ldx(64, R2, R0, 0).add64(R2, R1).st(64, R0, 0, R2);
        b.ldx(64, R2, R0, 8).add64(R2, 1).st(64, R0, 8, R2);
        break;
      case 'min': case 'max': {
        const set = this.label('tsset');
        b.ldx(64, R2, R0, 8);
        b.jeq(R2, 0, set);
        b.ldx(64, R2, R0, 0);
        const keep = ts.agg === 'min' ? (signed ? 'jsle' : 'jle') : signed ? 'jsge' : 'jge';
        b[keep](R2, R1, done);
        b.label(set);
        b.st(64, R0, 0, R1);
        b.st(64, R0, 8, 1);
        break;
      }
    }
    b.label(done);
  }

  /** r0 = value → r0 = bpftrace's hist bucket (0: negative, 1: zero, 2 + floor(log2 v)). */
  /** R0 = the bucket of R0 in `hist(x, k)` (histBucketIndex's numbering): 0 below zero, x + 1 below 2^k, else by log2. */
  private histBucket(k: number): void {
    const b = this.b;
    const done = this.label('hdone');
    const big = this.label('hbig');
    const mask = (1 << k) - 1;
    b.mov64(R1, R0);
    b.mov64(R0, 0);
    b.jslt(R1, 0, done);
    b.jgt(R1, mask, big);
    b.mov64(R0, R1).add64(R0, 1);
    b.ja(done);
    b.label(big);
    b.mov64(R3, R1);
    b.mov64(R0, 0);
    for (const shift of [32, 16, 8, 4, 2, 1]) {
      const l = this.label('hs');
      b.mov64(R2, R1).rsh64(R2, shift);
      b.jeq(R2, 0, l);
      b.mov64(R1, R2).add64(R0, shift);
      b.label(l);
    }
    // R0 = log2(x); with l = log2(x) - k, the bucket is ((l + 1) << k) + the k bits after the leading one, + 1.
    if (k > 0) {
      b.sub64(R0, k);
      b.mov64(R1, R3).rsh64(R1, R0).and64(R1, mask);
      b.add64(R0, 1).lsh64(R0, k).add64(R0, R1).add64(R0, 1);
    } else {
      b.add64(R0, 2);
    }
    b.label(done);
  }

  private lhistBucket(l: { min: bigint; max: bigint; step: bigint }): void {
    const b = this.b;
    const done = this.label('ldone');
    const nb = (l.max - l.min) / l.step;
    b.mov64(R1, R0);
    b.mov64(R0, 0);
    b.lddw(R2, l.min);
    b.jslt(R1, R2, done);
    b.lddw(R0, nb + 1n);
    b.lddw(R2, l.max);
    b.jsge(R1, R2, done);
    b.lddw(R2, l.min);
    b.sub64(R1, R2);
    b.lddw(R2, l.step);
    b.div64(R1, R2);
    b.mov64(R0, R1).add64(R0, 1);
    b.label(done);
  }

  // ---- calls as statements ---------------------------------------------------------------

  private emitEvent(desc: EventDesc, args: { e: Expr; type: TraceType }[], loc: Loc): void {
    const b = this.b;
    const id = this.c.events.length;
    this.c.events.push(desc);
    let size = 8;
    const layout: { type: TraceType; offset: number }[] = [];
    for (const a of args) {
      layout.push({ type: a.type, offset: size });
      size += Math.ceil(sizeOf(a.type) / 8) * 8;
    }
    if ('args' in desc) desc.args = layout;
    if (desc.kind === 'print') desc.offset = 8;
    const off = this.scratch(size, loc);
    args.forEach((a, i) => this.storeValue(a.e, a.type, off + layout[i].offset));
    b.lddw(R0, BigInt(id));
    b.st(64, R9, off, R0);
    b.ldMap(R1, EVENT_RINGBUF);
    b.mov64(R2, R9).add64(R2, off);
    b.mov64(R3, size);
    b.mov64(R4, 0);
    b.call('ringbuf_output');
  }

  private printfArgs(args: Expr[]): { e: Expr; type: TraceType }[] {
    return args.map((e) => {
      const t = this.c.typeOf(e, this.varTypes, this.probe);
      return { e, type: isMem(t) ? t : t.kind === 'int' ? t : t };
    });
  }

  private callStmt(e: Extract<Expr, { kind: 'call' }>): void {
    const b = this.b;
    switch (e.name) {
      case 'printf': case 'errorf': case 'warnf': case 'system': case 'cat': {
        const fmt = e.args[0];
        if (!fmt || fmt.kind !== 'str') throw new TraceError('E_TRACE_TYPE', `${e.name}() expects a string literal as the first argument`, e.loc);
        if (e.name === 'system' && !this.c.options.unsafe) {
          throw new TraceError('E_TRACE_UNSAFE', `${e.name}() is an unsafe function being used in safe mode`, e.loc);
        }
        const desc: EventDesc = e.name === 'system' || e.name === 'cat'
          ? { kind: e.name, fmt: fmt.value, args: [] }
          : { kind: 'printf', fmt: fmt.value, args: [], loc: e.loc, ...(e.name === 'errorf' ? { level: 'error' as const } : e.name === 'warnf' ? { level: 'warn' as const } : {}) };
        const args = this.printfArgs(e.args.slice(1));
        if (desc.kind === 'printf') checkPrintfArgs(e.name, fmt.value, args.map((a) => a.type), e.loc);
        this.emitEvent(desc, args, e.loc);
        return;
      }
      case 'print': {
        const a = e.args[0];
        if (!a) throw new TraceError('E_TRACE_TYPE', 'print() requires at least one argument', e.loc);
        if (a.kind === 'map' && !a.keys) {
          const info = this.c.mapFor(a, a.loc);
          const top = e.args[1] ? Number(this.c.constInt(e.args[1]) ?? 0n) : undefined;
          const div = e.args[2] ? Number(this.c.constInt(e.args[2]) ?? 1n) : undefined;
          this.emitEvent({ kind: 'printMap', map: info.name, top, div }, [], e.loc);
          return;
        }
        const t = this.c.typeOf(a, this.varTypes, this.probe);
        this.emitEvent({ kind: 'print', type: this.c.displayType(t), offset: 8 }, [{ e: a, type: t }], e.loc);
        return;
      }
      case 'clear': case 'zero': {
        const a = e.args[0];
        if (!a || a.kind !== 'map') throw new TraceError('E_TRACE_TYPE', `${e.name}() expects a map argument`, e.loc);
        const info = this.c.mapFor(a, a.loc);
        this.emitEvent({ kind: e.name, map: info.name }, [], e.loc);
        return;
      }
      case 'delete': {
        const a = e.args[0];
        if (!a || a.kind !== 'map') throw new TraceError('E_TRACE_TYPE', 'delete() expects a map argument', e.loc);
        const info = this.c.mapFor(a, a.loc);
        const m: Extract<Expr, { kind: 'map' }> = e.args.length > 1 ? { ...a, keys: e.args.slice(1) } : a;
        if (info.bucketed) throw new TraceError('E_TRACE_TYPE', 'delete() of a histogram entry is not supported', e.loc);
        const keyOff = this.mapKey(m, info);
        b.ldMap(R1, info.bpfName);
        b.mov64(R2, R9).add64(R2, keyOff);
        b.call('map_delete_elem');
        return;
      }
      case 'signal': {
        this.signal(e);
        return;
      }
      case 'exit': {
        this.emitEvent({ kind: 'exit' }, e.args[0] ? [{ e: e.args[0], type: T.s64 }] : [], e.loc);
        b.mov64(R0, 0).exit();
        return;
      }
      case 'join': {
        // Reads a user-space char** (argv) into 16 strings; user space joins the non-empty prefix.
        const sep = e.args[1] && e.args[1].kind === 'str' ? e.args[1].value : ' ';
        const n = JOIN_ARGS;
        const size = JOIN_STRLEN;
        const id = this.c.events.length;
        this.c.events.push({ kind: 'join', sep, offset: 8, size, count: n });
        const off = this.scratch(8 + n * size + 8, e.loc);
        const ptrSlot = this.tempSlot(e.loc);
        const baseSlot = this.tempSlot(e.loc);
        this.scalar(e.args[0]);
        b.st(64, R10, baseSlot, R0);
        const done = this.label('join_done');
        for (let i = 0; i < n; i++) {
          b.st(8, R9, off + 8 + i * size, 0);
        }
        for (let i = 0; i < n; i++) {
          b.mov64(R1, R10).add64(R1, ptrSlot);
          b.mov64(R2, 8);
          b.ldx(64, R3, R10, baseSlot);
          b.add64(R3, i * 8);
          b.call('probe_read_user');
          b.jne(R0, 0, done);
          b.ldx(64, R3, R10, ptrSlot);
          b.jeq(R3, 0, done);
          b.mov64(R1, R9).add64(R1, off + 8 + i * size);
          b.mov64(R2, size);
          b.call('probe_read_user_str');
        }
        b.label(done);
        b.lddw(R0, BigInt(id));
        b.st(64, R9, off, R0);
        b.ldMap(R1, EVENT_RINGBUF);
        b.mov64(R2, R9).add64(R2, off);
        b.mov64(R3, 8 + n * size);
        b.mov64(R4, 0);
        b.call('ringbuf_output');
        return;
      }
      case 'debugf': {
        const fmt = e.args[0];
        if (!fmt || fmt.kind !== 'str') throw new TraceError('E_TRACE_TYPE', 'debugf() expects a string literal format', e.loc);
        if (e.args.length > 4) throw new TraceError('E_TRACE_TYPE', 'debugf() takes at most 3 arguments after the format', e.loc);
        const bytes = new TextEncoder().encode(fmt.value);
        const fmtOff = this.scratch(bytes.length + 1, e.loc);
        bytes.forEach((x, i) => b.st(8, R9, fmtOff + i, x));
        b.st(8, R9, fmtOff + bytes.length, 0);
        const slots = e.args.slice(1).map((a) => {
          const slot = this.tempSlot(a.loc);
          const t = this.c.typeOf(a, this.varTypes, this.probe);
          if (isMem(t)) {
            const m = this.mem(a);
            b.mov64(R0, R9).add64(R0, m.off);
          } else this.scalar(a);
          b.st(64, R10, slot, R0);
          return slot;
        });
        const regs = [R3, R4, R5];
        slots.forEach((slot, i) => b.ldx(64, regs[i], R10, slot));
        b.mov64(R1, R9).add64(R1, fmtOff);
        b.mov64(R2, bytes.length + 1);
        b.call('trace_printk');
        return;
      }
      case 'time': {
        const f = e.args[0];
        this.emitEvent({ kind: 'time', fmt: f && f.kind === 'str' ? f.value : undefined }, [], e.loc);
        return;
      }
      default: {
        const t = this.c.typeOf(e, this.varTypes, this.probe);
        if (t.kind === 'none' && !STATEMENT_FUNCS.has(e.name)) throw new TraceError('E_TRACE_TYPE', `Unknown function: '${e.name}'`, e.loc);
        if (isMem(t)) this.mem(e);
        else this.scalar(e);
      }
    }
  }

  // ---- expressions -------------------------------------------------------------------

  /** Jumps to `falseLabel` when `e` is false. */
  private cond(e: Expr, falseLabel: string): void {
    this.scalar(e);
    this.b.jeq(R0, 0, falseLabel);
  }

  private incdec(e: Extract<Expr, { kind: 'incdec' }>): void {
    const b = this.b;
    const tt = this.c.typeOf(e.target, this.varTypes, this.probe);
    const delta = (e.op === '++' ? 1 : -1) * (tt.kind === 'pointer' ? Math.max(1, this.c.sizeOfType(tt.to, e.loc)) : 1);
    const t = e.target;
    if (t.kind === 'var') {
      const v = this.vars.get(t.name)!;
      b.ldx(64, R0, R8, v.off);
      b.mov64(R1, R0).add64(R1, delta);
      b.st(64, R8, v.off, R1);
      if (e.prefix) b.mov64(R0, R1);
      return;
    }
    if (t.kind === 'map') {
      const info = this.c.mapFor(t, t.loc);
      const keyOff = this.mapKey(t, info);
      const valOff = this.scratch(8, e.loc);
      this.lookupInto(info, keyOff, valOff);
      const save = this.tempSlot(e.loc);
      b.ldx(64, R0, R9, valOff);
      b.st(64, R10, save, R0);
      b.add64(R0, delta);
      b.st(64, R9, valOff, R0);
      this.update(info, keyOff, valOff);
      b.ldx(64, R0, R10, save);
      if (e.prefix) b.add64(R0, delta);
      return;
    }
    throw new TraceError('E_TRACE_TYPE', 'the operand of ++/-- must be a variable or a map', e.loc);
  }

  /** r0 = left (op) r1. */
  private binop(op: string, t: TraceType, loc: Loc): void {
    const b = this.b;
    const signed = t.kind === 'int' ? t.signed : false;
    if (t.kind === 'pointer' && (op === '+' || op === '-')) {
      const size = this.c.sizeOfType(t.to, loc);
      if (size > 1) b.mul64(R1, size);
    }
    switch (op) {
      case '+': b.add64(R0, R1); return;
      case '-': b.sub64(R0, R1); return;
      case '*': b.mul64(R0, R1); return;
      case '/': case '%': {
        // As bpftrace: a zero divisor gives 1, with a warning at run time.
        const ok = this.label('divok');
        const done = this.label('divdone');
        b.jne(R1, 0, ok);
        this.emitEvent({ kind: 'runtimeError', message: 'Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as the result.', loc }, [], loc);
        b.mov64(R0, 1);
        b.ja(done);
        b.label(ok);
        if (signed) {
          if (op === '/') b.sdiv64(R0, R1);
          else b.smod64(R0, R1);
        } else if (op === '/') b.div64(R0, R1);
        else b.mod64(R0, R1);
        b.label(done);
        return;
      }
      case '&': b.and64(R0, R1); return;
      case '|': b.or64(R0, R1); return;
      case '^': b.xor64(R0, R1); return;
      case '<<': b.lsh64(R0, R1); return;
      case '>>':
        if (signed) b.arsh64(R0, R1);
        else b.rsh64(R0, R1);
        return;
      default: {
        const cmp: Record<string, [string, string]> = { '==': ['jeq', 'jeq'], '!=': ['jne', 'jne'], '<': ['jlt', 'jslt'], '<=': ['jle', 'jsle'], '>': ['jgt', 'jsgt'], '>=': ['jge', 'jsge'] };
        const j = cmp[op];
        if (!j) throw new TraceError('E_TRACE_TYPE', `unknown operator ${op}`, loc);
        const yes = this.label('cmp');
        const name = (signed ? j[1] : j[0]) as 'jeq';
        b.mov64(R2, R0);
        b.mov64(R0, 1);
        b[name](R2, R1, yes);
        b.mov64(R0, 0);
        b.label(yes);
      }
    }
  }

  /** Compiles a scalar-typed expression into r0. */
  scalar(e: Expr): void {
    const b = this.b;
    const c = this.c;
    switch (e.kind) {
      case 'int': b.lddw(R0, BigInt.asUintN(64, e.value)); return;
      case 'bool': b.mov64(R0, e.value ? 1 : 0); return;
      case 'var': {
        const v = this.vars.get(e.name);
        if (!v) throw new TraceError('E_TRACE_TYPE', `Undefined or undeclared variable: ${e.name}`, e.loc);
        if (isMem(v.type)) throw new TraceError('E_TRACE_TYPE', `${e.name} is a ${typeName(v.type)}, not a scalar`, e.loc);
        b.ldx(64, R0, R8, v.off);
        return;
      }
      case 'positional': {
        const v = c.positionalInt(e);
        b.lddw(R0, v);
        return;
      }
      case 'positionalCount': b.mov64(R0, c.options.positional?.length ?? 0); return;
      case 'map': {
        const info = c.mapFor(e, e.loc);
        if (isMem(info.valueType)) throw new TraceError('E_TRACE_TYPE', `${info.name} holds ${typeName(info.valueType)}`, e.loc);
        if (info.bucketed) throw new TraceError('E_TRACE_TYPE', `${info.name} is a histogram and has no value to read`, e.loc);
        const keyOff = this.mapKey(e, info);
        b.ldMap(R1, info.bpfName);
        b.mov64(R2, R9).add64(R2, keyOff);
        b.call('map_lookup_elem');
        const miss = this.label('rmiss');
        if (c.options.helperErrors) this.lookupMissWarning(e.loc);
        b.jeq(R0, 0, miss);
        if (info.agg === 'avg') {
          const z = this.label('avgz');
          b.ldx(64, R1, R0, 8);
          b.ldx(64, R0, R0, 0);
          b.jeq(R1, 0, z);
          b.sdiv64(R0, R1);
          b.ja(miss);
          b.label(z);
          b.mov64(R0, 0);
        } else {
          this.loadScalar(info.agg ? T.s64 : info.valueType, R0, R0, 0);
        }
        b.label(miss);
        return;
      }
      case 'builtin':
        this.builtin(e);
        return;
      case 'unary': {
        if (e.op === '&') {
          // The address of a variable: its stack slot (scalars) or its scratch memory (strings, tuples).
          if (e.operand.kind !== 'var') throw new TraceError('E_TRACE_TYPE', 'the address-of operator applies to variables', e.loc);
          const v = this.vars.get(e.operand.name);
          if (!v) throw new TraceError('E_TRACE_TYPE', `Undefined or undeclared variable: ${e.operand.name}`, e.loc);
          if (isMem(v.type)) b.mov64(R0, R9).add64(R0, v.off);
          else b.mov64(R0, R8).add64(R0, v.off);
          return;
        }
        if (e.op === '*') {
          this.scalar(e.operand);
          const t = c.typeOf(e, this.varTypes, this.probe);
          const pt = c.typeOf(e.operand, this.varTypes, this.probe);
          // A cast integer has no address space: bpftrace's probe_read reads it as the probe's own (user memory in uprobes).
          const cast = e.operand.kind === 'cast' && pt.kind === 'pointer' && pt.space === undefined && this.addrSpaceUser(e.operand);
          this.probeRead(t, cast ? { ...pt, space: 'user' } : pt);
          return;
        }
        this.scalar(e.operand);
        if (e.op === '!') {
          const l = this.label('not');
          b.mov64(R1, R0).mov64(R0, 1).jeq(R1, 0, l).mov64(R0, 0).label(l);
        } else if (e.op === '~') b.xor64(R0, -1);
        else if (e.op === '-') b.neg64(R0);
        return;
      }
      case 'binary': {
        if (e.op === '&&' || e.op === '||') {
          const end = this.label('sc');
          this.scalar(e.left);
          b.mov64(R1, R0);
          b.mov64(R0, e.op === '&&' ? 0 : 1);
          if (e.op === '&&') b.jeq(R1, 0, end);
          else b.jne(R1, 0, end);
          this.scalar(e.right);
          const l = this.label('bool');
          b.mov64(R1, R0).mov64(R0, 1).jne(R1, 0, l).mov64(R0, 0).label(l);
          b.label(end);
          return;
        }
        const lt = c.typeOf(e.left, this.varTypes, this.probe);
        const rt = c.typeOf(e.right, this.varTypes, this.probe);
        if ((e.op === '==' || e.op === '!=') && isMem(lt) && isMem(rt)) {
          this.memEqual(e.left, e.right, e.op === '!=');
          return;
        }
        if (isMem(lt) || isMem(rt)) throw new TraceError('E_TRACE_TYPE', `Type mismatch for '${e.op}': comparing ${typeName(lt)} with ${typeName(rt)}`, e.loc);
        const slot = this.tempSlot(e.loc);
        this.scalar(e.left);
        b.st(64, R10, slot, R0);
        this.scalar(e.right);
        b.mov64(R1, R0);
        b.ldx(64, R0, R10, slot);
        const signed = (lt.kind === 'int' && lt.signed) && (rt.kind !== 'int' || rt.signed || e.right.kind === 'int');
        const signedL = (rt.kind === 'int' && rt.signed) && e.left.kind === 'int';
        this.binop(e.op, lt.kind === 'pointer' ? lt : { kind: 'int', bits: 64, signed: signed || signedL }, e.loc);
        return;
      }
      case 'ternary': {
        const t = c.typeOf(e, this.varTypes, this.probe);
        if (isMem(t)) throw new TraceError('E_TRACE_TYPE', 'internal: memory ternary in scalar context', e.loc);
        const els = this.label('telse');
        const end = this.label('tend');
        this.cond(e.cond, els);
        this.scalar(e.then);
        b.ja(end);
        b.label(els);
        this.scalar(e.else);
        b.label(end);
        return;
      }
      case 'incdec':
        this.incdec(e);
        return;
      case 'cast': {
        const t = c.typeOf(e, this.varTypes, this.probe);
        const from = c.typeOf(e.operand, this.varTypes, this.probe);
        if (isMem(from)) throw new TraceError('E_TRACE_TYPE', `Cannot cast from "${typeName(from)}" to "${typeName(t)}"`, e.loc);
        this.scalar(e.operand);
        this.normalize(t);
        return;
      }
      case 'sizeof': {
        const t = e.type ? c.resolveTypeSpec(e.type, this.varTypes, this.probe) : c.typeOf(e.expr!, this.varTypes, this.probe);
        b.mov64(R0, c.sizeOfType(t, e.loc));
        return;
      }
      case 'offsetof': {
        let t = c.resolveTypeSpec(e.type, this.varTypes, this.probe);
        let off = 0;
        for (const f of e.fields) {
          const kf = c.kernelField(t, f, e.loc);
          if (!kf) throw new TraceError('E_TRACE_TYPE', `offsetof() of a field of ${typeName(t)}`, e.loc);
          off += kf.offset;
          t = kf.type;
        }
        b.mov64(R0, off);
        return;
      }
      case 'field': {
        const bt = c.typeOf(e.base, this.varTypes, this.probe);
        if (e.base.kind === 'builtin' && e.base.name === 'args') {
          this.tracepointArg(e.field, e.loc);
          return;
        }
        const kf = c.kernelField(bt, e.field, e.loc);
        if (kf) {
          this.fieldAddr(e);
          const ft = kf.type;
          if (kf.bitfield) {
            const unit: TraceType = { kind: 'int', bits: (Math.max(1, sizeOf(ft)) * 8) as 8 | 16 | 32 | 64, signed: false };
            this.probeRead(unit, this.rootPointer(e));
            if (kf.bitfield.bitOffset) b.rsh64(R0, kf.bitfield.bitOffset);
            if (kf.bitfield.bits < 64) b.lddw(R1, (1n << BigInt(kf.bitfield.bits)) - 1n).and64(R0, R1);
            return;
          }
          if (isMem(ft) || ft.kind === 'record') throw new TraceError('E_TRACE_TYPE', `Can not use a ${typeName(ft)} as a scalar`, e.loc);
          this.probeRead(ft, this.rootPointer(e));
          return;
        }
        if (isMem(bt)) {
          const m = this.mem(e);
          this.loadScalar(m.type, R0, R9, m.off);
          return;
        }
        throw new TraceError('E_TRACE_TYPE', `Can not access field '${e.field}' on type '${typeName(bt)}'`, e.loc);
      }
      case 'index': {
        const m = this.mem(e);
        this.loadScalar(m.type, R0, R9, m.off);
        return;
      }
      case 'call':
        this.callScalar(e);
        return;
      case 'block':
        this.stmts(e.stmts);
        this.scalar(e.value);
        return;
      case 'typeof':
        throw new TraceError('E_TRACE_TYPE', 'typeof() is a type, not a value', e.loc);
      default: {
        // A memory-typed expression reports its own error there; mem()'s fallback comes back here for scalars.
        if (isMem(c.typeOf(e, this.varTypes, this.probe))) this.mem(e);
        throw new TraceError('E_TRACE_TYPE', 'expected a scalar expression', e.loc);
      }
    }
  }

  /** r0 = a stack map id (low half) and, for user stacks, the pid (high half). */
  private stackId(user: boolean): void {
    const b = this.b;
    this.c.usesStacks = true;
    b.mov64(R1, R6);
    b.ldMap(R2, STACK_MAP);
    b.mov64(R3, user ? 256 : 0); // BPF_F_USER_STACK
    b.call('get_stackid');
    b.mov32(R0, R0);
    if (!user) return;
    const slot = this.tempSlot({ line: 0, col: 0, endLine: 0, endCol: 0 });
    b.st(64, R10, slot, R0);
    b.call('get_current_pid_tgid');
    b.rsh64(R0, 32).lsh64(R0, 32);
    b.ldx(64, R1, R10, slot);
    b.or64(R0, R1);
  }

  /** r0 = the address of a C struct member (through pointers and embedded structs). */
  private fieldAddr(e: Expr): void {
    const c = this.c;
    if (e.kind === 'field') {
      const bt = c.typeOf(e.base, this.varTypes, this.probe);
      const kf = c.kernelField(bt, e.field, e.loc)!;
      if (bt.kind === 'pointer') this.scalar(e.base);
      else this.fieldAddr(e.base);
      if (kf.offset) this.b.add64(R0, kf.offset);
      return;
    }
    if (e.kind === 'unary' && e.op === '*') {
      this.scalar(e.operand);
      return;
    }
    // A struct held in a variable (`$t = *curtask; $t.pid`): its members are read where the variable keeps it.
    if (e.kind === 'var' && isMem(c.typeOf(e, this.varTypes, this.probe))) {
      this.scalar({ kind: 'unary', op: '&', operand: e, loc: e.loc });
      return;
    }
    if (e.kind === 'cast' || e.kind === 'var' || e.kind === 'builtin' || e.kind === 'map') {
      this.scalar(e);
      return;
    }
    throw new TraceError('E_TRACE_TYPE', 'cannot take the address of this expression', e.loc);
  }

  /** The pointer type a member access chain starts from (its address space decides probe_read_user). */
  private rootPointer(e: Expr): TraceType {
    let cur: Expr = e;
    for (;;) {
      if (cur.kind !== 'field' && !(cur.kind === 'unary' && cur.op === '*')) return this.c.typeOf(cur, this.varTypes, this.probe);
      const base = cur.kind === 'field' ? cur.base : (cur as Extract<Expr, { kind: 'unary' }>).operand;
      const bt = this.c.typeOf(base, this.varTypes, this.probe);
      if (bt.kind === 'pointer') return bt;
      cur = base;
    }
  }

  /** r0 = pointer → r0 = the pointee of type `t` read with probe_read. */
  private probeRead(t: TraceType, ptrType: TraceType): void {
    const b = this.b;
    const off = this.scratch(8, { line: 0, col: 0, endLine: 0, endCol: 0 });
    const user = ptrType.kind === 'pointer' && ptrType.space === 'user';
    b.mov64(R3, R0);
    b.mov64(R1, R9).add64(R1, off);
    b.mov64(R2, sizeOf(t));
    b.call(user ? 'probe_read_user' : 'probe_read_kernel');
    this.loadScalar(t, R0, R9, off);
  }

  private builtin(e: Extract<Expr, { kind: 'builtin' }>): void {
    const b = this.b;
    const p = this.probe;
    const en = this.c.enumConsts.get(e.name);
    if (en) {
      b.lddw(R0, BigInt.asUintN(64, en.value));
      return;
    }
    const errno = errnoNumber(e.name);
    if (errno !== undefined) {
      b.mov64(R0, errno);
      return;
    }
    switch (e.name) {
      case 'pid': case 'tid': this.pidTid(e.name, 'curr_ns', e.loc); return;
      case 'uid': b.call('get_current_uid_gid').mov32(R0, R0); return;
      case 'gid': b.call('get_current_uid_gid').rsh64(R0, 32); return;
      case 'cpu': b.call('get_smp_processor_id'); return;
      case 'ncpus': b.mov64(R0, this.c.options.ncpus ?? 1); return;
      case 'nsecs': b.call('ktime_get_ns'); return;
      case 'elapsed': b.call('ktime_get_ns').lddw(R1, this.c.options.startNs ?? 0n).sub64(R0, R1); return;
      case 'jiffies': b.call('jiffies64'); return;
      case 'cgroup': b.call('get_current_cgroup_id'); return;
      case 'curtask': b.call('get_current_task'); return;
      case 'rand': b.call('get_prandom_u32'); return;
      case 'ctx': b.mov64(R0, R6); return;
      case 'usermode': {
        // BEGIN/END run on behalf of the user process; probes with pt_regs check the CPL bits of cs.
        if (p.provider === 'begin' || p.provider === 'end') { b.mov64(R0, 1); return; }
        if (['uprobe', 'uretprobe', 'usdt', 'profile', 'interval', 'software'].includes(p.provider)) {
          const l = this.label('um');
          b.ldx(64, R1, R6, 136).and64(R1, 3);
          b.mov64(R0, 0).jne(R1, 3, l).mov64(R0, 1).label(l);
          return;
        }
        b.mov64(R0, 0);
        return;
      }
      case 'kstack': case 'ustack': this.stackId(e.name === 'ustack'); return;
      case 'numaid': b.call('get_numa_node_id'); return;
      case 'retval':
        if (p.provider === 'uretprobe') { b.ldx(64, R0, R6, PT_REGS.ax); return; }
        if (p.provider === 'tracepoint') { this.tracepointArg('ret', e.loc); return; }
        throw new TraceError('E_TRACE_TYPE', 'The retval builtin can only be used with \'kretprobe\' and \'uretprobe\' and \'fexit\' probes', e.loc);
      case 'func':
        if (p.provider === 'uprobe' || p.provider === 'uretprobe') { b.ldx(64, R0, R6, PT_REGS.ip); return; }
        b.mov64(R0, 0);
        return;
      default: {
        const m = /^arg([0-9]+)$/.exec(e.name);
        if (m) {
          const n = Number(m[1]);
          if (p.provider === 'uprobe' || p.provider === 'uretprobe' || p.provider === 'usdt') {
            if (n >= PT_REGS_ARGS.length) throw new TraceError('E_TRACE_TYPE', `${e.name} is out of range`, e.loc);
            b.ldx(64, R0, R6, PT_REGS_ARGS[n]);
            return;
          }
          if (p.provider === 'rawtracepoint') { b.ldx(64, R0, R6, 8 * n); return; }
          throw new TraceError('E_TRACE_TYPE', `The ${e.name} builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes`, e.loc);
        }
        if (this.c.typeOf(e, this.varTypes, p).kind === 'string') throw new TraceError('E_TRACE_TYPE', 'internal: string builtin in scalar context', e.loc);
        throw new TraceError('E_TRACE_TYPE', `Unknown identifier: '${e.name}'`, e.loc);
      }
    }
  }

  private tracepointArg(name: string, loc: Loc): void {
    const p = this.probe;
    if (p.provider === 'rawtracepoint') {
      const i = p.args?.findIndex((a) => a.name === name) ?? -1;
      if (i < 0) throw new TraceError('E_TRACE_TYPE', `Can't find argument '${name}' in ${p.name}`, loc);
      this.b.ldx(64, R0, R6, 8 * i);
      return;
    }
    const f = p.fields?.find((x) => x.name === name);
    if (!f) throw new TraceError('E_TRACE_TYPE', `Can't find field '${name}' in ${p.name}`, loc);
    const t = this.c.fieldType(f, p);
    if (isMem(t)) throw new TraceError('E_TRACE_TYPE', 'internal: memory field in scalar context', loc);
    this.loadScalar(t, R0, R6, f.offset);
  }

  private callScalar(e: Extract<Expr, { kind: 'call' }>): void {
    const b = this.b;
    const c = this.c;
    switch (e.name) {
      case 'has_key': {
        const a = e.args[0];
        if (!a || a.kind !== 'map') throw new TraceError('E_TRACE_TYPE', 'has_key() expects a map argument', e.loc);
        const info = c.mapFor(a, a.loc);
        if (!info.keyType) throw new TraceError('E_TRACE_TYPE', 'call to has_key() expects a map with explicit keys (non-scalar map)', e.loc);
        const keyOff = this.mapKey({ ...a, keys: e.args.slice(1) }, info);
        b.ldMap(R1, info.bpfName);
        b.mov64(R2, R9).add64(R2, keyOff);
        b.call('map_lookup_elem');
        const l = this.label('hk');
        b.jeq(R0, 0, l).mov64(R0, 1).label(l);
        return;
      }
      case 'len': {
        const a = e.args[0];
        const t = a ? c.typeOf(a, this.varTypes, this.probe) : T.none;
        if (a && a.kind === 'map') {
          const info = c.mapFor(a, a.loc);
          if (!info.keyType) throw new TraceError('E_TRACE_TYPE', 'call to len() expects a map with explicit keys (non-scalar map)', e.loc);
          // Count entries with a callback that adds one per element to a scratch slot (map memory,
          // so the verifier sees an unknown count and the callback's states converge).
          const cb = this.label('len_cb');
          const off = this.scratch(8, e.loc);
          b.st(64, R9, off, 0);
          b.ldMap(R1, info.bpfName);
          this.b.ldFunc(R2, cb);
          b.mov64(R3, 0);
          b.mov64(R4, 0);
          b.call('for_each_map_elem');
          b.ldx(64, R0, R9, off);
          const scratchMap = this.scratchMap;
          this.deferred.push(() => {
            b.label(cb);
            b.st(32, R10, -8, 0);
            b.mov64(R2, R10).add64(R2, -8);
            b.ldMap(R1, scratchMap);
            b.call('map_lookup_elem');
            const l = this.label('len_null');
            b.jeq(R0, 0, l);
            b.ldx(64, R1, R0, off).add64(R1, 1).st(64, R0, off, R1);
            b.label(l);
            b.mov64(R0, 0).exit();
          });
          return;
        }
        if (t.kind === 'string') {
          const m = this.mem(a!);
          this.strlen(m.off, t.size);
          return;
        }
        throw new TraceError('E_TRACE_TYPE', 'len() expects a map or a string', e.loc);
      }
      case 'strncmp': case 'strcontains': {
        if (e.name === 'strncmp') {
          const n = c.constInt(e.args[2]);
          if (n === undefined) throw new TraceError('E_TRACE_TYPE', 'strncmp() expects a constant length', e.loc);
          this.memEqual(e.args[0], e.args[1], true, Number(n));
          return;
        }
        this.strcontains(e.args[0], e.args[1], e.loc);
        return;
      }
      case 'exit': this.callStmt(e); return;
      case 'delete':
        // delete() yields whether the key was there.
        this.callStmt(e);
        {
          const l = this.label('deleted');
          b.mov64(R1, R0).mov64(R0, 1).jeq(R1, 0, l).mov64(R0, 0).label(l);
        }
        return;
      case 'kstack': case 'ustack':
        this.stackId(e.name === 'ustack');
        return;
      case 'strlen': {
        const a = e.args[0];
        const t = a ? c.typeOf(a, this.varTypes, this.probe) : T.none;
        if (!a || t.kind !== 'string') throw new TraceError('E_TRACE_TYPE', 'strlen() expects a string', e.loc);
        const m = this.mem(a);
        this.strlen(m.off, t.size);
        return;
      }
      case 'ksym': case 'usym': case 'uaddr': case 'cgroupid': case 'reg':
        if (e.args[0]) this.scalar(e.args[0]);
        else b.mov64(R0, 0);
        return;
      case 'sizeof':
        b.mov64(R0, 8);
        return;
      case 'pid': case 'tid': {
        const a = e.args[0];
        const ns = a && a.kind === 'builtin' ? a.name : '';
        if (ns !== 'curr_ns' && ns !== 'init') throw new TraceError('E_TRACE_TYPE', `${e.name}() only accepts curr_ns or init as the argument`, e.loc);
        this.pidTid(e.name, ns, e.loc);
        return;
      }
      case 'nsecs': {
        const a = e.args[0];
        const mode = a && a.kind === 'builtin' ? a.name : 'monotonic';
        const helper: Record<string, string> = { monotonic: 'ktime_get_ns', boot: 'ktime_get_boot_ns', tai: 'ktime_get_tai_ns', sw_tai: 'ktime_get_tai_ns' };
        if (!helper[mode]) throw new TraceError('E_TRACE_TYPE', `Invalid timestamp mode: ${mode}`, e.loc);
        b.call(helper[mode]);
        return;
      }
      case 'bswap': {
        const t = c.typeOf(e, this.varTypes, this.probe);
        this.scalar(e.args[0]);
        const bits = t.kind === 'int' ? t.bits : 64;
        if (bits > 8) b.bswap(R0, bits as 16 | 32 | 64);
        return;
      }
      case 'strftime': {
        this.scalar(e.args[1]);
        return;
      }
      case 'strerror': case 'signal_name':
        this.scalar(e.args[0]);
        return;
      case 'getopt': {
        const g = c.getopt(e);
        if (typeof g.value === 'string') throw new TraceError('E_TRACE_TYPE', 'internal: string option in scalar context', e.loc);
        b.lddw(R0, typeof g.value === 'boolean' ? (g.value ? 1n : 0n) : BigInt.asUintN(64, g.value));
        return;
      }
      case 'kaddr': {
        const a = e.args[0];
        const inner = a && a.kind === 'call' && a.name === 'str' ? a.args[0] : a;
        const name = inner && inner.kind === 'str' ? inner.value : c.positionalText(inner);
        if (name === undefined) throw new TraceError('E_TRACE_TYPE', 'kaddr() expects a string literal', e.loc);
        const addr = c.options.kaddr?.(name);
        if (addr === undefined) throw new TraceError('E_TRACE_KSYM', `Failed to resolve kernel symbol: ${name}`, e.loc);
        b.lddw(R0, addr);
        return;
      }
      default: {
        if (!e.args.length && BUILTIN_TYPES[e.name]) {
          this.scalar({ kind: 'builtin', name: e.name, loc: e.loc });
          return;
        }
        if (AGG_FUNCS.has(e.name)) throw new TraceError('E_TRACE_TYPE', `${e.name}() should be directly assigned to a map`, e.loc);
        if (!STATEMENT_FUNCS.has(e.name)) throw new TraceError('E_TRACE_TYPE', `Unknown function: '${e.name}'`, e.loc);
        this.callStmt(e);
        b.mov64(R0, 0);
      }
    }
  }

  /**
   * r0 = the task's process or thread id, in the tracer's pid namespace (`curr_ns`) or the initial one. Outside the
   * initial namespace, bpf_get_ns_current_pid_tgid; a task outside the tracer's namespace has no id there (0).
   */
  private pidTid(which: 'pid' | 'tid', ns: 'curr_ns' | 'init', loc: Loc): void {
    const b = this.b;
    const pidNs = this.c.options.pidNs;
    if (ns === 'init' || !pidNs) {
      b.call('get_current_pid_tgid');
      if (which === 'pid') b.rsh64(R0, 32); else b.mov32(R0, R0);
      return;
    }
    // struct bpf_pidns_info { u32 pid; u32 tgid; }, zeroed by the helper when the task is not in that namespace.
    const off = this.scratch(8, loc);
    b.lddw(R1, BigInt(pidNs.dev)).lddw(R2, BigInt(pidNs.ino));
    b.mov64(R3, R9).add64(R3, off).mov64(R4, 8);
    b.call('get_ns_current_pid_tgid');
    b.ldx(32, R0, R9, off + (which === 'pid' ? 4 : 0));
  }

  /** -k: when the lookup in r0 found nothing, a run-time warning at `loc` (r0 stays NULL for the caller's test). */
  private lookupMissWarning(loc: Loc): void {
    const found = this.label('lkfound');
    this.b.jne(R0, 0, found);
    this.emitEvent({ kind: 'runtimeError', message: "Can't lookup map element because it does not exist.\nAdditional Info - helper: map_lookup_elem, retcode: 0", loc }, [], loc);
    this.b.mov64(R0, 0);
    this.b.label(found);
  }

  /** signal(SIG): bpf_send_signal to the current process; unsafe, and only where there is a task to signal. */
  private signal(e: Extract<Expr, { kind: 'call' }>): void {
    if (!this.c.options.unsafe) throw new TraceError('E_TRACE_UNSAFE', 'signal() is an unsafe function being used in safe mode', e.loc);
    const refused = NO_SIGNAL_PROVIDERS[this.probe.provider];
    if (refused) throw new TraceError('E_TRACE_TYPE', `signal can not be used with "${refused}" probes`, e.loc);
    if (e.args.length !== 1) throw new TraceError('E_TRACE_TYPE', `signal() takes up to one argument (${e.args.length} provided)`, e.loc);
    const a = e.args[0];
    if (a.kind === 'str') {
      const n = signalNumber(a.value);
      if (n === undefined) throw new TraceError('E_TRACE_TYPE', `${a.value} is not a valid signal`, e.loc);
      this.b.mov64(R1, n);
    } else {
      const k = this.c.constInt(a);
      // The helper's own bound (_NSIG), as bpftrace checks it at compile time.
      if (k !== undefined && (k < 1n || k > NSIG)) throw new TraceError('E_TRACE_TYPE', `${k} is not a valid signal, allowed range: [1,${NSIG}]`, e.loc);
      const t = this.c.typeOf(a, this.varTypes, this.probe);
      if (t.kind !== 'int') throw new TraceError('E_TRACE_TYPE', `signal() only accepts a string literal or an integer (${typeName(t)} provided)`, e.loc);
      this.scalar(a);
      this.b.mov64(R1, R0);
    }
    this.b.call('send_signal');
  }

  private strlen(off: number, size: number): void {
    const b = this.b;
    const done = this.label('sl');
    b.mov64(R0, 0);
    for (let i = 0; i < size; i++) {
      b.ldx(8, R1, R9, off + i);
      b.jeq(R1, 0, done);
      b.mov64(R0, i + 1);
    }
    b.label(done);
  }

  /** r0 = (a == b) for strings/tuples/buffers (`negate`: a != b); `limit` compares at most that many bytes (strncmp: 0 when equal). */
  private memEqual(a: Expr, bx: Expr, negate: boolean, limit?: number): void {
    const b = this.b;
    const ma = this.mem(a);
    const mb = this.mem(bx);
    const notEq = this.label('ne');
    const done = this.label('eqd');
    if (ma.type.kind === 'string' && mb.type.kind === 'string') {
      const n = Math.min(limit ?? Infinity, Math.max(ma.type.size, mb.type.size));
      for (let i = 0; i < n; i++) {
        const aHas = i < ma.type.size;
        const bHas = i < mb.type.size;
        if (aHas) b.ldx(8, R1, R9, ma.off + i); else b.mov64(R1, 0);
        if (bHas) b.ldx(8, R2, R9, mb.off + i); else b.mov64(R2, 0);
        b.jne(R1, R2, notEq);
        b.jeq(R1, 0, done);
      }
    } else {
      const n = Math.min(sizeOf(ma.type), sizeOf(mb.type));
      for (let i = 0; i < n; i++) {
        b.ldx(8, R1, R9, ma.off + i);
        b.ldx(8, R2, R9, mb.off + i);
        b.jne(R1, R2, notEq);
      }
    }
    b.label(done);
    b.mov64(R0, negate ? 0 : 1);
    const end = this.label('eqe');
    b.ja(end);
    b.label(notEq);
    b.mov64(R0, negate ? 1 : 0);
    b.label(end);
  }

  private strcontains(hay: Expr, needle: Expr, loc: Loc): void {
    const b = this.b;
    const h = this.mem(hay);
    const n = this.mem(needle);
    if (h.type.kind !== 'string' || n.type.kind !== 'string') throw new TraceError('E_TRACE_TYPE', 'strcontains() expects string arguments', loc);
    const found = this.label('scf');
    const end = this.label('sce');
    const hs = h.type.size;
    const ns = n.type.size;
    // For each start i: compare needle bytes until the needle's NUL (found) or a mismatch.
    for (let i = 0; i < hs; i++) {
      const next = this.label('scn');
      for (let j = 0; j < ns; j++) {
        b.ldx(8, R2, R9, n.off + j);
        b.jeq(R2, 0, found);
        if (i + j >= hs) { b.ja(next); break; }
        b.ldx(8, R1, R9, h.off + i + j);
        b.jne(R1, R2, next);
      }
      b.label(next);
      b.ldx(8, R1, R9, h.off + i);
      const notEnd = this.label('scx');
      b.jne(R1, 0, notEnd);
      b.mov64(R0, 0).ja(end);
      b.label(notEnd);
    }
    b.mov64(R0, 0).ja(end);
    b.label(found);
    b.mov64(R0, 1);
    b.label(end);
  }

  /** Compiles a memory-typed expression into scratch; returns where and its type. */
  mem(e: Expr): { off: number; type: TraceType } {
    const b = this.b;
    const c = this.c;
    const t = c.typeOf(e, this.varTypes, this.probe);
    switch (e.kind) {
      case 'str': {
        const off = this.scratch(t.kind === 'string' ? t.size : 1, e.loc);
        const bytes = new TextEncoder().encode(e.value);
        const size = sizeOf(t);
        for (let i = 0; i < size; i += 8) {
          let v = 0n;
          for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(bytes[i + k] ?? 0);
          if (size - i >= 8) {
            b.lddw(R0, v);
            b.st(64, R9, off + i, R0);
          } else {
            for (let k = 0; k < size - i; k++) b.st(8, R9, off + i + k, bytes[i + k] ?? 0);
          }
        }
        return { off, type: t };
      }
      case 'var': {
        const v = this.vars.get(e.name);
        if (!v) throw new TraceError('E_TRACE_TYPE', `Undefined or undeclared variable: ${e.name}`, e.loc);
        return { off: v.off, type: v.type };
      }
      case 'positional': {
        const s = c.options.positional?.[e.index - 1] ?? '';
        return this.mem({ kind: 'str', value: s, loc: e.loc });
      }
      case 'map': {
        const info = c.mapFor(e, e.loc);
        const keyOff = this.mapKey(e, info);
        const off = this.scratch(sizeOf(info.valueType), e.loc);
        this.lookupInto(info, keyOff, off);
        return { off, type: info.valueType };
      }
      case 'builtin': {
        if (e.name === 'comm') {
          const off = this.scratch(16, e.loc);
          b.mov64(R1, R9).add64(R1, off);
          b.mov64(R2, 16);
          b.call('get_current_comm');
          return { off, type: t };
        }
        if (e.name === 'probe') return this.mem({ kind: 'str', value: this.probe.name, loc: e.loc });
        if (e.name === 'username') {
          const off = this.scratch(sizeOf(t), e.loc);
          this.zeroMem(off, sizeOf(t));
          return { off, type: t };
        }
        throw new TraceError('E_TRACE_TYPE', `Unknown identifier: '${e.name}'`, e.loc);
      }
      case 'tuple': case 'record': {
        const off = this.scratch(sizeOf(t), e.loc);
        this.zeroMem(off, sizeOf(t));
        const elems = e.kind === 'tuple' ? e.elems : e.fields.map((f) => f.value);
        const tt = t.kind === 'record' ? t.fields.map((f) => ({ type: f.type, offset: f.offset })) : (t as Extract<TraceType, { kind: 'tuple' }>).elems.map((x, i) => ({ type: x, offset: (t as Extract<TraceType, { kind: 'tuple' }>).offsets[i] }));
        elems.forEach((x, i) => this.storeValue(x, tt[i].type, off + tt[i].offset));
        return { off, type: t };
      }
      case 'field': {
        if (e.base.kind === 'builtin' && e.base.name === 'args') {
          return this.tracepointArgMem(e.field, t, e.loc);
        }
        const kbt = c.typeOf(e.base, this.varTypes, this.probe);
        const kf = c.kernelField(kbt, e.field, e.loc);
        if (kf) {
          const off = this.scratch(sizeOf(kf.type), e.loc);
          this.fieldAddr(e);
          const rp = this.rootPointer(e);
          b.mov64(R3, R0);
          b.mov64(R1, R9).add64(R1, off);
          b.mov64(R2, sizeOf(kf.type));
          b.call(rp.kind === 'pointer' && rp.space === 'user' ? 'probe_read_user' : 'probe_read_kernel');
          return { off, type: kf.type };
        }
        const base = this.mem(e.base);
        if (base.type.kind === 'tuple') {
          const i = Number(e.field);
          if (!Number.isInteger(i) || i < 0 || i >= base.type.elems.length) throw new TraceError('E_TRACE_TYPE', `Invalid tuple index: ${e.field}`, e.loc);
          return { off: base.off + base.type.offsets[i], type: base.type.elems[i] };
        }
        if (base.type.kind === 'record') {
          const f = base.type.fields.find((x) => x.name === e.field);
          if (!f) throw new TraceError('E_TRACE_TYPE', `record has no field named ${e.field}`, e.loc);
          return { off: base.off + f.offset, type: f.type };
        }
        throw new TraceError('E_TRACE_TYPE', `Can not access field '${e.field}' on type '${typeName(base.type)}'`, e.loc);
      }
      case 'index': {
        const base = this.mem(e.base);
        const i = c.constInt(e.index);
        if (base.type.kind === 'array' && i !== undefined) return { off: base.off + Number(i) * sizeOf(base.type.elem), type: base.type.elem };
        if (base.type.kind === 'string' && i !== undefined) return { off: base.off + Number(i), type: T.u8 };
        if (base.type.kind === 'tuple' && i !== undefined && i >= 0n && i < BigInt(base.type.elems.length)) return { off: base.off + base.type.offsets[Number(i)], type: base.type.elems[Number(i)] };
        if (base.type.kind === 'string' || base.type.kind === 'array') {
          // A run-time index: bounds-checked, 0 when outside.
          const et = base.type.kind === 'string' ? T.u8 : base.type.elem;
          const n = base.type.kind === 'string' ? base.type.size : base.type.count;
          const es = sizeOf(et);
          const off = this.scratch(8, e.loc);
          b.st(64, R9, off, 0);
          this.scalar(e.index);
          const out = this.label('idx_out');
          b.jge(R0, n, out);
          if (es > 1) b.mul64(R0, es);
          b.mov64(R1, R9).add64(R1, base.off);
          b.add64(R1, R0);
          this.loadScalar(et, R0, R1, 0);
          this.storeScalar(et, R9, off, R0);
          b.label(out);
          return { off, type: et };
        }
        throw new TraceError('E_TRACE_TYPE', 'The array index operator [] can only be used on arrays with a constant index', e.loc);
      }
      case 'unary': {
        if (e.op === '*' && isMem(t)) {
          const off = this.scratch(sizeOf(t), e.loc);
          this.scalar(e.operand);
          b.mov64(R3, R0);
          b.mov64(R1, R9).add64(R1, off);
          b.mov64(R2, sizeOf(t));
          b.call('probe_read_kernel');
          return { off, type: t };
        }
        const off = this.scratch(8, e.loc);
        this.scalar(e);
        this.storeScalar(t, R9, off, R0);
        return { off, type: t };
      }
      case 'ternary': {
        const off = this.scratch(sizeOf(t), e.loc);
        const els = this.label('mte');
        const end = this.label('mtd');
        this.cond(e.cond, els);
        this.storeValue(e.then, t, off);
        b.ja(end);
        b.label(els);
        this.storeValue(e.else, t, off);
        b.label(end);
        return { off, type: t };
      }
      case 'call':
        return this.callMem(e, t);
      case 'block':
        this.stmts(e.stmts);
        return this.mem(e.value);
      default: {
        // A scalar where memory is wanted: spill it.
        const off = this.scratch(8, e.loc);
        this.scalar(e);
        this.storeScalar(t, R9, off, R0);
        return { off, type: t };
      }
    }
  }

  private tracepointArgMem(name: string, t: TraceType, loc: Loc): { off: number; type: TraceType } {
    const b = this.b;
    const f = this.probe.fields?.find((x) => x.name === name);
    if (!f) throw new TraceError('E_TRACE_TYPE', `Can't find field '${name}' in ${this.probe.name}`, loc);
    const off = this.scratch(sizeOf(t), loc);
    if (f.dataLoc) {
      b.ldx(32, R3, R6, f.offset);
      b.and64(R3, 0xffff);
      b.add64(R3, R6);
      b.mov64(R1, R9).add64(R1, off);
      b.mov64(R2, sizeOf(t));
      b.call('probe_read_kernel_str');
      return { off, type: t };
    }
    this.copyBytes(R6, f.offset, R9, off, Math.min(f.size, sizeOf(t)));
    return { off, type: t };
  }

  private callMem(e: Extract<Expr, { kind: 'call' }>, t: TraceType): { off: number; type: TraceType } {
    const b = this.b;
    const c = this.c;
    switch (e.name) {
      case 'str': {
        const lit = c.positionalText(e.args[0]);
        if (lit !== undefined) return this.mem({ kind: 'str', value: lit.slice(0, e.args[1] ? Number(c.constInt(e.args[1]) ?? BigInt(lit.length)) : lit.length), loc: e.loc });
        const a = e.args[0];
        const at = c.typeOf(a, this.varTypes, this.probe);
        if (at.kind === 'string') {
          const m = this.mem(a);
          if (e.args[1]) {
            const off = this.scratch(sizeOf(t), e.loc);
            this.convertMem(R9, m.off, m.type, R9, off, t);
            return { off, type: t };
          }
          return m;
        }
        const off = this.scratch(sizeOf(t), e.loc);
        const lenSlot = this.tempSlot(e.loc);
        if (e.args[1]) {
          this.scalar(e.args[1]);
          b.add64(R0, 1);
          const ok = this.label('sl');
          b.jle(R0, sizeOf(t), ok);
          b.mov64(R0, sizeOf(t));
          b.label(ok);
          b.st(64, R10, lenSlot, R0);
        }
        this.scalar(a);
        b.mov64(R3, R0);
        b.mov64(R1, R9).add64(R1, off);
        if (e.args[1]) {
          b.ldx(64, R2, R10, lenSlot);
          const nz = this.label('slnz');
          b.jgt(R2, 0, nz);
          b.mov64(R2, 1);
          b.label(nz);
        } else b.mov64(R2, sizeOf(t));
        const user = this.addrSpaceUser(a);
        b.call(user ? 'probe_read_user_str' : 'probe_read_kernel_str');
        return { off, type: t };
      }
      case 'buf': {
        const off = this.scratch(sizeOf(t), e.loc);
        const a = e.args[0];
        const at = c.typeOf(a, this.varTypes, this.probe);
        const n = sizeOf(t) - 1;
        b.st(8, R9, off, n);
        if (isMem(at)) {
          const m = this.mem(a);
          this.copyBytes(R9, m.off, R9, off + 1, Math.min(n, sizeOf(m.type)));
        } else {
          this.scalar(a);
          b.mov64(R3, R0);
          b.mov64(R1, R9).add64(R1, off + 1);
          b.mov64(R2, n);
          b.call(this.addrSpaceUser(a) ? 'probe_read_user' : 'probe_read_kernel');
        }
        return { off, type: t };
      }
      case 'ntop': {
        // inet layout: u32 family at 0, the address bytes from 8.
        const off = this.scratch(24, e.loc);
        this.zeroMem(off, 24);
        const addr = e.args.length > 1 ? e.args[1] : e.args[0];
        const at = c.typeOf(addr, this.varTypes, this.probe);
        if (e.args.length > 1) {
          this.scalar(e.args[0]);
          b.st(32, R9, off, R0);
        } else {
          b.st(32, R9, off, at.kind === 'array' && at.count === 16 ? 10 : 2);
        }
        if (isMem(at)) {
          const m = this.mem(addr);
          this.copyBytes(R9, m.off, R9, off + 8, Math.min(16, sizeOf(m.type)));
        } else {
          this.scalar(addr);
          b.st(32, R9, off + 8, R0);
        }
        return { off, type: t };
      }
      case 'getopt': {
        const g = c.getopt(e);
        return this.mem({ kind: 'str', value: String(g.value), loc: e.loc });
      }
      case 'pton': {
        const a = e.args[0];
        if (!a || a.kind !== 'str') throw new TraceError('E_TRACE_TYPE', 'pton() expects a string literal argument', e.loc);
        const bytes = parseAddress(a.value);
        if (!bytes) throw new TraceError('E_TRACE_TYPE', `pton() expects a valid IPv4 or IPv6 address, got ${a.value}`, e.loc);
        const off = this.scratch(bytes.length, e.loc);
        bytes.forEach((x, i) => b.st(8, R9, off + i, x));
        return { off, type: t };
      }
      default: {
        if (!e.args.length && BUILTIN_TYPES[e.name]) return this.mem({ kind: 'builtin', name: e.name, loc: e.loc });
        const off = this.scratch(sizeOf(t), e.loc);
        this.zeroMem(off, sizeOf(t));
        if (isMem(t)) return { off, type: t };
        this.callScalar(e);
        this.storeScalar(t, R9, off, R0);
        return { off, type: t };
      }
    }
  }

  private addrSpaceUser(e: Expr): boolean {
    const p = this.probe;
    if (p.provider === 'uprobe' || p.provider === 'uretprobe' || p.provider === 'usdt') return true;
    if (p.provider === 'tracepoint' && p.name.startsWith('tracepoint:syscalls:')) return true;
    const t = this.c.typeOf(e, this.varTypes, p);
    return t.kind === 'pointer' && t.space === 'user';
  }
}

/** Whole-program state: maps, events, macro expansion, type inference. */
export class Compiler {
  readonly events: EventDesc[] = [];
  readonly maps = new Map<string, MapInfo>();
  private readonly mapTypes = new Map<string, { key?: TraceType; value?: TraceType; agg?: AggKind; lhist?: MapInfo['lhist']; histBits?: number; tseries?: TSeriesArgs; tseriesSigned?: boolean; keyless: boolean; assigned?: boolean; firstUse?: Loc; scalarUse?: boolean }>();
  private readonly macros = new Map<string, MacroDef>();
  readonly mapOrder: string[] = [];

  readonly enumConsts = new Map<string, { value: bigint; enumName: string }>();

  constructor(readonly prog: Program, readonly options: CompileOptions) {
    for (const m of prog.macros) this.macros.set(m.name, m);
    for (const e of prog.enums) this.enumConsts.set(e.name, e);
  }

  constInt(e: Expr | undefined): bigint | undefined {
    if (!e) return undefined;
    if (e.kind === 'int') return e.value;
    if (e.kind === 'positional') {
      try {
        return this.positionalInt(e);
      } catch {
        return undefined;
      }
    }
    if (e.kind === 'unary' && e.op === '-') {
      const v = this.constInt(e.operand);
      return v === undefined ? undefined : -v;
    }
    if (e.kind === 'binary') {
      const a = this.constInt(e.left);
      const b = this.constInt(e.right);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return b === 0n ? undefined : a / b;
        default: return undefined;
      }
    }
    return undefined;
  }

  readonly warnings: { message: string; loc?: Loc }[] = [];
  /** Whether a program takes stacks (the stack map is then created). */
  usesStacks = false;
  /** True during the first inference pass, when maps used before their assignment are not typed yet. */
  firstPass = true;

  /** Declared program options (getopt), for --help and unknown-option checks. */
  readonly getopts = new Map<string, string | undefined>();

  /** `getopt("name"[, default[, description]])`: the option's type and value from the command line. */
  getopt(e: Extract<Expr, { kind: 'call' }>): { type: TraceType; value: bigint | string | boolean } {
    const n = e.args[0];
    if (!n || n.kind !== 'str') throw new TraceError('E_TRACE_TYPE', 'getopt() expects a string literal name', e.loc);
    const def = e.args[1];
    const desc = e.args[2];
    this.getopts.set(n.value, desc && desc.kind === 'str' ? desc.value : undefined);
    const given = this.options.named?.get(n.value);
    const defInt = def ? this.constInt(def) : undefined;
    if (!def || def.kind === 'bool') {
      const v = given === undefined ? (def?.kind === 'bool' ? def.value : false) : given === true ? true : !/^(false|0|no|off)$/i.test(given);
      return { type: T.bool, value: v };
    }
    if (def.kind === 'str') return { type: T.string(new TextEncoder().encode(typeof given === 'string' ? given : def.value).length + 1), value: typeof given === 'string' ? given : def.value };
    if (defInt !== undefined) {
      if (given === undefined) return { type: T.s64, value: defInt };
      const v = given === true ? undefined : parseIntLiteral(given);
      if (v === undefined) throw new TraceError('E_TRACE_OPTION', `program command line option --${n.value} invalid integer (value: ${given === true ? '' : given})`);
      return { type: v > 0x7fffffffffffffffn ? T.u64 : T.s64, value: v };
    }
    throw new TraceError('E_TRACE_TYPE', 'getopt() default must be an integer, a string or a boolean literal', def.loc);
  }

  /** Structs and unions defined in the program text, laid out as C does. */
  private userStructs: Map<string, { size: number; fields: Field[] }> | undefined;

  /** A C struct/union by name: the program's own definitions first, then the type provider (kernel BTF). */
  record(name: string): { size: number; fields: Field[] } | undefined {
    if (!this.userStructs) {
      this.userStructs = new Map();
      for (const st of this.prog.structs) {
        if (!/^(struct|union) /.test(st.name)) continue;
        const r = layoutCStruct(st.text, st.name.startsWith('union'), (n) => this.record(n), (n, layout) => this.userStructs?.set(n, layout));
        if (r) this.userStructs.set(st.name, r);
      }
    }
    return this.userStructs.get(name) ?? this.options.types?.record(name);
  }

  /** A cast names a C struct or union: it must exist (in the program or, when there is one, the type provider's BTF). */
  checkRecordKnown(ts: TypeSpec, loc: Loc): void {
    if (!this.options.types || !/^(struct|union) /.test(ts.name)) return;
    if (!this.record(ts.name)) throw new TraceError('E_TRACE_TYPE', `Unknown struct/union: '${ts.name}'`, loc);
  }

  /** A C struct or union value (`*p`) takes its size from its layout, so that it is copied whole; other types as they are. */
  sizedRecord(t: TraceType): TraceType {
    if (t.kind !== 'record' || t.fields.length || t.size || !/^(struct|union) /.test(t.name)) return t;
    const r = this.record(t.name);
    return r ? { ...t, size: r.size } : t;
  }

  /**
   * The type a C struct value is printed as: its members, nested structs included (to a depth), bitfields with their
   * bits, as bpftrace prints `{ .a = 1, .b = { .c = 2 } }`. The layout in memory is the struct's own.
   */
  displayType(t: TraceType, depth = 0): TraceType {
    if (t.kind === 'array') return { ...t, elem: this.displayType(t.elem, depth) };
    if (t.kind !== 'record' || t.fields.length || !/^(struct|union) /.test(t.name) || depth > 4) return t;
    const r = this.record(t.name);
    if (!r) return t;
    return { kind: 'record', name: t.name, size: r.size, fields: r.fields.map((f) => ({ ...f, type: this.displayType(f.type, depth + 1) })) };
  }

  /** sizeof: C structs through the type provider. */
  sizeOfType(t: TraceType, loc: Loc): number {
    if (t.kind === 'record' && !t.fields.length && /^(struct|union) /.test(t.name)) {
      const r = this.record(t.name);
      if (!r) throw new TraceError('E_TRACE_TYPE', `Unknown struct/union: '${t.name}'`, loc);
      return r.size;
    }
    return sizeOf(t);
  }

  /** A member of a C struct reached through a pointer (or an embedded struct), from the type provider. */
  kernelField(base: TraceType, field: string, loc: Loc): Field | undefined {
    const rec = base.kind === 'pointer' ? base.to : base;
    if (rec.kind !== 'record' || rec.fields.length || !/^(struct|union) /.test(rec.name)) return undefined;
    const layout = this.record(rec.name);
    if (!layout) throw new TraceError('E_TRACE_TYPE', `Unknown struct/union: '${rec.name}'`, loc);
    const f = layout.fields.find((x) => x.name === field);
    if (!f) throw new TraceError('E_TRACE_TYPE', `Struct/union of type '${rec.name}' does not contain a field named '${field}'`, loc);
    return f;
  }

  /** The text of `$N` (or `$N + k`, a suffix) when `e` is a positional parameter used as a string. */
  positionalText(e: Expr | undefined): string | undefined {
    if (!e) return undefined;
    if (e.kind === 'positional') return this.options.positional?.[e.index - 1] ?? '';
    if (e.kind === 'binary' && e.op === '+' && e.left.kind === 'positional') {
      const s = this.options.positional?.[e.left.index - 1] ?? '';
      const k = this.constInt(e.right);
      if (parseIntLiteral(s) === undefined && k !== undefined) return s.slice(Number(k));
    }
    return undefined;
  }

  positionalInt(e: Extract<Expr, { kind: 'positional' }>): bigint {
    const s = this.options.positional?.[e.index - 1];
    if (s === undefined) return 0n;
    const v = parseIntLiteral(s);
    if (v === undefined) throw new TraceError('E_TRACE_TYPE', `$${e.index} used numerically but given "${s}"`, e.loc);
    return v;
  }

  resolveTypeSpec(ts: TypeSpec, vars?: Map<string, TraceType>, probe?: ResolvedProbe): TraceType {
    if (ts.pointer > 0) return { kind: 'pointer', to: this.resolveTypeSpec({ ...ts, pointer: 0 }, vars, probe) };
    if (ts.of) {
      // typeof(EXPR): the expression's type, in the scope where the type is used.
      if (!vars || !probe) throw new TraceError('E_TRACE_TYPE', 'typeof() of an expression is not supported here', ts.loc);
      const t = this.typeOf(ts.of, vars, probe);
      return ts.array !== undefined ? { kind: 'array', elem: t, count: ts.array } : t;
    }
    const base: Record<string, TraceType> = {
      int8: T.s8, int16: T.s16, int32: T.s32, int64: T.s64, uint8: T.u8, uint16: T.u16, uint32: T.u32, uint64: T.u64,
      s8: T.s8, s16: T.s16, s32: T.s32, s64: T.s64, u8: T.u8, u16: T.u16, u32: T.u32, u64: T.u64,
      char: T.s8, short: T.s16, int: T.s32, long: T.s64, 'unsigned int': T.u32, 'unsigned char': T.u8, 'unsigned long': T.u64,
      'unsigned short': T.u16, unsigned: T.u32, bool: T.bool, string: T.string(DEFAULT_STRLEN), void: T.u8,
    };
    const t = base[ts.name] ?? (ts.name.startsWith('enum ') ? { kind: 'int', bits: 64, signed: false, enumName: ts.name.slice(5) } : { kind: 'record', name: ts.name, fields: [], size: 0 });
    if (ts.array !== undefined) return { kind: 'array', elem: t, count: ts.array };
    return t;
  }

  /** The language type of a tracepoint field. */
  fieldType(f: NonNullable<ResolvedProbe['fields']>[number], p: ResolvedProbe): TraceType {
    if (f.dataLoc) return T.string(DEFAULT_STRLEN);
    if (/char\s*\[/.test(f.type) || (f.arrayLength !== undefined && /char/.test(f.type))) return T.string(f.size);
    if (f.arrayLength !== undefined) {
      const elemSize = f.size / f.arrayLength;
      const bits = (elemSize * 8) as 8 | 16 | 32 | 64;
      return { kind: 'array', elem: { kind: 'int', bits, signed: f.signed }, count: f.arrayLength };
    }
    const sp = /^(?:const\s+)?(struct|union)\s+(\w+)\s*\*$/.exec(f.type.trim());
    const space = p.name.startsWith('tracepoint:syscalls:') ? 'user' : 'kernel';
    if (sp) return { kind: 'pointer', to: { kind: 'record', name: `${sp[1]} ${sp[2]}`, fields: [], size: 0 }, space };
    if (/\*/.test(f.type)) return { kind: 'pointer', to: /char/.test(f.type) ? T.s8 : T.u8, space };
    const size = [1, 2, 4, 8].includes(f.size) ? f.size : 8;
    return { kind: 'int', bits: (size * 8) as 8 | 16 | 32 | 64, signed: f.signed };
  }

  /** The type of an expression (variables from `vars`). */
  typeOf(e: Expr, vars: Map<string, TraceType>, probe: ResolvedProbe): TraceType {
    switch (e.kind) {
      case 'int': return e.value > 0x7fffffffffffffffn ? T.u64 : T.s64;
      case 'str': return T.string(new TextEncoder().encode(e.value).length + 1);
      case 'bool': return T.bool;
      case 'var': return vars.get(e.name) ?? T.s64;
      case 'positional': {
        const s = this.options.positional?.[e.index - 1];
        if (s === undefined) return T.s64;
        const v = parseIntLiteral(s);
        return v !== undefined ? (v > 0x7fffffffffffffffn ? T.u64 : T.s64) : T.string(new TextEncoder().encode(s).length + 1);
      }
      case 'positionalCount': return T.s64;
      case 'map': {
        const mt = this.mapTypes.get(e.name);
        if (mt?.agg) {
          if (mt.agg === 'count') return T.u64;
          return T.s64;
        }
        return mt?.value ?? T.s64;
      }
      case 'builtin': {
        const en = this.enumConsts.get(e.name);
        if (en) return { kind: 'int', bits: 64, signed: false, enumName: en.enumName };
        if (errnoNumber(e.name) !== undefined) return T.s64;
        if (e.name === 'probe') return T.string(probe.name.length + 1);
        if (/^arg[0-9]+$/.test(e.name)) return T.u64;
        if (e.name === 'args') return { kind: 'record', name: 'args', fields: [], size: 0 };
        return BUILTIN_TYPES[e.name] ?? T.s64;
      }
      case 'binary':
        if (['==', '!=', '<', '>', '<=', '>=', '&&', '||'].includes(e.op)) return T.bool;
        {
          const l = this.typeOf(e.left, vars, probe);
          const r = this.typeOf(e.right, vars, probe);
          const signed = (l.kind === 'int' && l.signed) || (r.kind === 'int' && r.signed);
          if (l.kind === 'pointer') return l;
          return int64(signed && !((l.kind === 'int' && !l.signed && e.right.kind === 'int') || (r.kind === 'int' && !r.signed && e.left.kind === 'int')));
        }
      case 'unary':
        if (e.op === '!') return T.bool;
        if (e.op === '*') {
          const t = this.typeOf(e.operand, vars, probe);
          return t.kind === 'pointer' ? this.sizedRecord(t.to) : T.u64;
        }
        if (e.op === '&') return { kind: 'pointer', to: storageType(this.typeOf(e.operand, vars, probe)) };
        {
          const t = this.typeOf(e.operand, vars, probe);
          return e.op === '-' ? int64(true) : t.kind === 'int' ? int64(t.signed) : T.s64;
        }
      case 'incdec': return this.typeOf(e.target, vars, probe);
      case 'ternary': {
        const a = this.typeOf(e.then, vars, probe);
        const b = this.typeOf(e.else, vars, probe);
        return mergeTypes(a, b);
      }
      case 'field': {
        if (e.base.kind === 'builtin' && e.base.name === 'args') {
          if (probe.provider === 'rawtracepoint') return T.u64;
          const f = probe.fields?.find((x) => x.name === e.field);
          if (!f) return T.u64;
          return this.fieldType(f, probe);
        }
        const bt = this.typeOf(e.base, vars, probe);
        const kf = this.kernelField(bt, e.field, e.loc);
        if (kf) return kf.type;
        if (bt.kind === 'tuple') return bt.elems[Number(e.field)] ?? T.s64;
        if (bt.kind === 'record') return bt.fields.find((f) => f.name === e.field)?.type ?? T.s64;
        return T.s64;
      }
      case 'index': {
        const bt = this.typeOf(e.base, vars, probe);
        if (bt.kind === 'array') return bt.elem;
        if (bt.kind === 'string') return T.u8;
        if (bt.kind === 'tuple') return bt.elems[Number(this.constInt(e.index) ?? 0n)] ?? T.s64;
        if (bt.kind === 'pointer') return bt.to;
        return T.s64;
      }
      case 'tuple': return tupleType(e.elems.map((x) => this.typeOf(x, vars, probe)));
      case 'record': {
        const tt = tupleType(e.fields.map((f) => this.typeOf(f.value, vars, probe)));
        if (tt.kind !== 'tuple') return tt;
        const fields: Field[] = e.fields.map((f, i) => ({ name: f.name, type: tt.elems[i], offset: tt.offsets[i] }));
        return { kind: 'record', name: 'record', fields, size: tt.size };
      }
      case 'cast': return this.resolveTypeSpec(e.type, vars, probe);
      case 'typeof': return this.resolveTypeSpec(e.type, vars, probe);
      case 'sizeof': case 'offsetof': return T.u64;
      case 'block': return this.typeOf(e.value, vars, probe);
      case 'call': return this.callType(e, vars, probe);
    }
  }

  private callType(e: Extract<Expr, { kind: 'call' }>, vars: Map<string, TraceType>, probe: ResolvedProbe): TraceType {
    switch (e.name) {
      case 'str': {
        const lit = this.positionalText(e.args[0]);
        if (lit !== undefined) {
          const n = this.constInt(e.args[1]);
          return T.string(new TextEncoder().encode(n !== undefined ? lit.slice(0, Number(n)) : lit).length + 1);
        }
        const n = this.constInt(e.args[1]);
        const at = e.args[0] ? this.typeOf(e.args[0], vars, probe) : T.none;
        if (at.kind === 'string' && n === undefined) return at;
        return T.string(n !== undefined ? Math.min(Number(n) + 1, DEFAULT_STRLEN) : DEFAULT_STRLEN);
      }
      case 'buf': {
        const n = this.constInt(e.args[1]);
        const at = e.args[0] ? this.typeOf(e.args[0], vars, probe) : T.none;
        const size = n !== undefined ? Number(n) : isMem(at) ? sizeOf(at) : 64;
        return { kind: 'buffer', size: size + 1 };
      }
      case 'has_key': case 'strncmp': case 'strcontains': return e.name === 'strncmp' ? T.s64 : T.bool;
      case 'delete': return T.bool;
      case 'kstack': case 'ustack': {
        const mode = e.args.find((a) => a.kind === 'builtin');
        const n = e.args.map((a) => this.constInt(a)).find((x) => x !== undefined);
        const m = mode && mode.kind === 'builtin' && ['raw', 'perf', 'bpftrace'].includes(mode.name) ? (mode.name as 'raw' | 'perf' | 'bpftrace') : undefined;
        return { kind: e.name, frames: n !== undefined ? Number(n) : 127, ...(m ? { mode: m } : {}) };
      }
      case 'strlen': return T.s64;
      case 'len': return T.s64;
      case 'ksym': return { kind: 'ksym' };
      case 'usym': return { kind: 'usym' };
      case 'kaddr': case 'uaddr': case 'cgroupid': return T.u64;
      case 'nsecs': return T.u64;
      case 'pid': case 'tid': return BUILTIN_TYPES[e.name];
      case 'bswap': {
        const at = e.args[0] ? this.typeOf(e.args[0], vars, probe) : T.u64;
        return at.kind === 'int' ? { kind: 'int', bits: at.bits, signed: false } : T.u64;
      }
      case 'strftime': {
        const f = e.args[0];
        return { kind: 'timestamp', mode: 'boot', format: f && f.kind === 'str' ? f.value : '' };
      }
      case 'ntop': return { kind: 'inet' };
      case 'pton': {
        const a = e.args[0];
        const v6 = a && a.kind === 'str' && a.value.includes(':');
        return { kind: 'array', elem: T.u8, count: v6 ? 16 : 4 };
      }
      case 'strerror': return { kind: 'strerror' };
      // Resolved in user space, as strerror: the program keeps the number.
      case 'signal_name': return { kind: 'signal_name' };
      case 'getopt': {
        const g = this.getopt(e);
        return g.type;
      }
      default:
        // `cpu()`, `pid()`: builtins may be called like functions.
        if (!e.args.length && BUILTIN_TYPES[e.name]) return BUILTIN_TYPES[e.name];
        return T.none;
    }
  }

  /** The map's info; created on first use from the inferred types. */
  mapFor(m: Extract<Expr, { kind: 'map' }>, loc: Loc): MapInfo {
    const got = this.maps.get(m.name);
    if (got) return got;
    const mt = this.mapTypes.get(m.name);
    if (!mt) throw new TraceError('E_TRACE_TYPE', `Undefined map: ${m.name}`, loc);
    const decl = this.prog.mapDecls.find((d) => d.name === m.name);
    const agg = mt.agg;
    const keyType = mt.keyless ? undefined : mt.key;
    const bucketed = agg === 'hist' || agg === 'lhist' || agg === 'tseries';
    const valueType: TraceType = agg
      ? { kind: 'agg', agg, signed: mt.tseriesSigned ?? true, ...(mt.lhist ? { lhist: mt.lhist } : {}), ...(mt.histBits ? { histBits: mt.histBits } : {}), ...(mt.tseries ? { tseries: mt.tseries } : {}) }
      : storageType(mt.value ?? T.s64);
    let mapType: number;
    let percpu = false;
    let maxEntries = DEFAULT_MAX_ENTRIES;
    if (decl) {
      const t = MAP_DECL_TYPES[decl.type];
      if (t === undefined) throw new TraceError('E_TRACE_TYPE', `Invalid bpf map type: ${decl.type}`, decl.loc);
      mapType = t;
      percpu = t === MapType.BPF_MAP_TYPE_PERCPU_HASH || t === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH || t === MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
      maxEntries = Number(decl.maxEntries);
    } else if (agg && !keyType && !bucketed) {
      mapType = MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
      percpu = true;
      maxEntries = 1;
    } else if (bucketed && !keyType) {
      mapType = MapType.BPF_MAP_TYPE_PERCPU_ARRAY;
      percpu = true;
      maxEntries = agg === 'hist' ? histBucketCount(mt.histBits ?? 0) : agg === 'tseries' ? mt.tseries!.numIntervals : Number((mt.lhist!.max - mt.lhist!.min) / mt.lhist!.step) + 2;
    } else if (agg === 'min' || agg === 'max' || agg === 'tseries') {
      mapType = MapType.BPF_MAP_TYPE_PERCPU_HASH;
      percpu = true;
    } else {
      mapType = MapType.BPF_MAP_TYPE_HASH;
    }
    const info: MapInfo = {
      name: m.name, bpfName: `m${this.maps.size}`, keyType, valueType, agg, mapType, percpu, bucketed,
      lhist: mt.lhist, ...(mt.histBits ? { histBits: mt.histBits } : {}), ...(mt.tseries ? { tseries: mt.tseries } : {}), declared: decl?.type, maxEntries,
    };
    this.maps.set(m.name, info);
    return info;
  }

  bpfKeySize(info: MapInfo): number {
    if (info.mapType === MapType.BPF_MAP_TYPE_PERCPU_ARRAY) return 4;
    if (!info.keyType) return 8;
    return sizeOf(info.keyType) + (info.bucketed ? 8 : 0);
  }

  bpfValueSize(info: MapInfo): number {
    if (info.agg) return aggValueSize(info.agg);
    return Math.max(1, sizeOf(info.valueType));
  }

  // ---- inference pre-pass ----------------------------------------------------------------

  /** After inference: a map only read, never assigned (nor declared), has no type, and bpftrace refuses it. */
  checkMapsDefined(): void {
    for (const [name, mt] of this.mapTypes) {
      if (!mt.assigned && !this.prog.mapDecls.some((d) => d.name === name)) throw new TraceError('E_TRACE_TYPE', `Undefined map: ${name}`, mt.firstUse ?? this.prog.probes[0].loc);
    }
  }

  noteMap(m: Extract<Expr, { kind: 'map' }>, vars: Map<string, TraceType>, probe: ResolvedProbe, value?: Expr, useLoc?: Loc, wholeMap = false): void {
    let mt = this.mapTypes.get(m.name);
    if (!mt) {
      mt = { keyless: m.keys === undefined || m.keys.length === 0, firstUse: useLoc ?? m.loc };
      this.mapTypes.set(m.name, mt);
      this.mapOrder.push(m.name);
    }
    if (!wholeMap) this.checkMapShape(m, vars, probe);
    if (m.keys && m.keys.length) {
      m.keys.forEach(valueNotStatement);
      const kt = this.mapKeyType(m.keys, vars, probe);
      if (mt.key && !mt.keyless && !sameShape(mt.key, kt)) {
        throw new TraceError('E_TRACE_TYPE', `Argument mismatch for ${m.name}: trying to access with arguments: [${typeName(kt)}] when map expects arguments: [${typeName(mt.key)}]`, m.loc);
      }
      mt.key = mergeTypes(mt.key, kt);
      mt.keyless = false;
    }
    if (value && value.kind === 'block' && value.value.kind === 'call' && AGG_FUNCS.has(value.value.name)) value = value.value;
    if (value) valueNotStatement(value);
    if (value) mt.assigned = true;
    if (value) {
      if (value.kind === 'call' && AGG_FUNCS.has(value.name)) {
        mt.agg = value.name as AggKind;
        if (value.name === 'hist' && value.args[1]) {
          const k = this.constInt(value.args[1]);
          if (k === undefined) throw new TraceError('E_TRACE_TYPE', 'hist() expects a constant number of bits as its second argument', value.args[1].loc);
          if (k < 0n || k > 5n) throw new TraceError('E_TRACE_TYPE', `hist() bits must be between 0 and 5 (${k} given)`, value.args[1].loc);
          if (mt.histBits !== undefined && mt.histBits !== Number(k)) throw new TraceError('E_TRACE_TYPE', `Different bits in a single hist, had ${mt.histBits} now have ${k}`, value.loc);
          mt.histBits = Number(k);
        }
        if (value.name === 'lhist') {
          const [, a, b, c] = value.args.map((x) => this.constInt(x));
          if (a === undefined || b === undefined || c === undefined) throw new TraceError('E_TRACE_TYPE', 'lhist() expects constant min, max and step', value.loc);
          if (c <= 0n) throw new TraceError('E_TRACE_TYPE', 'lhist() step must be >= 1', value.loc);
          mt.lhist = { min: a, max: b, step: c };
        }
        if (value.name === 'tseries') {
          mt.tseries = this.tseriesArgs(value);
          const vt = value.args[0] ? this.typeOf(value.args[0], vars, probe) : T.none;
          mt.tseriesSigned = vt.kind !== 'int' || vt.signed;
        }
      } else {
        const vt = this.typeOf(value, vars, probe);
        if (vt.kind === 'none') throw new TraceError('E_TRACE_TYPE', `Value of ${m.name} has no type (a function that returns nothing?)`, value.loc);
        if (mt.value && !sameShape(storageType(mt.value), storageType(vt))) {
          throw new TraceError('E_TRACE_TYPE', `Type mismatch for ${m.name}: trying to assign value of type '${typeName(vt)}' when map already contains a value of type '${typeName(mt.value)}'`, value.loc);
        }
        mt.value = mergeTypes(mt.value, storageType(vt));
      }
    }
  }

  /** tseries()'s constant arguments, checked as bpftrace checks them. */
  private tseriesArgs(call: Extract<Expr, { kind: 'call' }>): TSeriesArgs {
    if (call.args.length < 3 || call.args.length > 4) throw new TraceError('E_TRACE_TYPE', 'tseries() requires 3 or 4 arguments (value, interval_ns, num_intervals[, agg])', call.loc);
    const interval = this.constInt(call.args[1]);
    const n = this.constInt(call.args[2]);
    if (interval === undefined) throw new TraceError('E_TRACE_TYPE', 'tseries: invalid interval_ns value (must be non-negative literal)', call.args[1].loc);
    if (n === undefined) throw new TraceError('E_TRACE_TYPE', 'tseries: invalid num_intervals value (must be non-negative literal)', call.args[2].loc);
    if (interval <= 0n) throw new TraceError('E_TRACE_TYPE', `tseries() interval_ns must be >= 1 (${interval} provided)`, call.loc);
    if (n <= 0n) throw new TraceError('E_TRACE_TYPE', `tseries() num_intervals must be >= 1 (${n} provided)`, call.loc);
    if (n > 1000000n) throw new TraceError('E_TRACE_TYPE', `tseries() num_intervals must be < 1000000 (${n} provided)`, call.loc);
    const a = call.args[3];
    let agg: TSeriesAgg = 'none';
    if (a) {
      if (a.kind !== 'str' || !TSERIES_AGGS.has(a.value)) {
        const given = a.kind === 'str' ? a.value : '';
        throw new TraceError('E_TRACE_TYPE', `tseries() expects one of the following aggregation functions: avg, max, min, sum ("${given}" provided)`, a.loc);
      }
      agg = a.value as TSeriesAgg;
    }
    return { intervalNs: interval, numIntervals: Number(n), agg };
  }

  private keyElemType(t: TraceType): TraceType {
    return t.kind === 'int' && t.bits < 64 ? t : storageType(t);
  }

  private mapKeyType(keys: readonly Expr[], vars: Map<string, TraceType>, probe: ResolvedProbe): TraceType {
    return keys.length === 1 ? storageType(this.typeOf(keys[0], vars, probe)) : tupleType(keys.map((k) => this.keyElemType(this.typeOf(k, vars, probe))));
  }

  /**
   * A map is either keyed or a single value: a value access without keys (`@x`, `@x = 1`) of a keyed map, or with keys
   * of a keyless one, is bpftrace's argument mismatch (and was an internal crash in code generation).
   */
  checkMapShape(m: Extract<Expr, { kind: 'map' }>, vars: Map<string, TraceType>, probe: ResolvedProbe): void {
    const mt = this.mapTypes.get(m.name);
    if (!mt) return;
    if (m.keys && m.keys.length) {
      if (mt.scalarUse) throw new TraceError('E_TRACE_TYPE', `Argument mismatch for ${m.name}: trying to access with arguments: [${typeName(this.mapKeyType(m.keys, vars, probe))}] when map expects arguments: []`, m.loc);
      return;
    }
    if (mt.key && !mt.keyless) throw new TraceError('E_TRACE_TYPE', `Argument mismatch for ${m.name}: trying to access with arguments: [] when map expects arguments: [${typeName(mt.key)}]`, m.loc);
    mt.scalarUse = true;
  }

  /** Walks statements, inferring variable and map types. */
  infer(body: Stmt[], vars: Map<string, TraceType>, probe: ResolvedProbe): void {
    const noteVar = (name: string, t: TraceType, loc: Loc): void => {
      const old = vars.get(name);
      if (old && isMem(old) !== isMem(t)) throw new TraceError('E_TRACE_TYPE', `Type mismatch for ${name}: trying to assign value of type '${typeName(t)}' when variable already contains a value of type '${typeName(old)}'`, loc);
      if (t.kind === 'none') throw new TraceError('E_TRACE_TYPE', `Value for ${name} has no type`, loc);
      vars.set(name, isMem(t) ? mergeTypes(old, t) : old ?? storageType(t));
    };
    // `$x++` and `$x += 1` read $x: it must have been assigned before (in the text: the first pass walks in order).
    const mustBeDefined = (name: string, loc: Loc): void => {
      if (this.firstPass && !vars.has(name)) throw new TraceError('E_TRACE_TYPE', `Undefined or undeclared variable: ${name}`, loc);
    };
    const expr = (e: Expr | undefined): void => {
      if (!e) return;
      switch (e.kind) {
        case 'map':
          e.keys?.forEach(expr);
          if (!this.mapTypes.has(e.name)) this.noteMap(e, vars, probe);
          else this.checkMapShape(e, vars, probe);
          return;
        case 'call': {
          checkArity(e);
          const m0 = e.args[0];
          // A whole map (print(@x), len(@x)...) is neither a keyed nor a keyless access; bpftrace points an undefined
          // map of a statement function at the whole call.
          // delete(@x) alone deletes the value of a keyless map: a value access.
          const whole = WHOLE_MAP_FUNCS.has(e.name) && m0?.kind === 'map' && !m0.keys?.length && (e.name !== 'delete' || e.args.length > 1);
          if (whole && !this.mapTypes.has(m0.name)) this.noteMap(m0, vars, probe, undefined, MAP_STATEMENT_FUNCS.has(e.name) ? e.loc : m0.loc, true);
          (whole ? e.args.slice(1) : e.args).forEach(expr);
          if ((e.name === 'delete' || e.name === 'has_key') && e.args[0]?.kind === 'map' && e.args.length > 1) {
            const m = e.args[0];
            const known = this.mapTypes.get(m.name);
            if (!m.keys && (!known || !known.keyless)) this.noteMap({ ...m, keys: e.args.slice(1) }, vars, probe);
          }
          if (e.name === 'write_user' && !this.options.unsafe) throw new TraceError('E_TRACE_UNSAFE', 'write_user() is unsafe. To use you need the --unsafe flag', e.loc);
          return;
        }
        case 'binary': expr(e.left); expr(e.right); return;
        case 'unary': expr(e.operand); return;
        case 'incdec':
          if (e.target.kind === 'var') mustBeDefined(e.target.name, e.target.loc);
          expr(e.target);
          if (e.target.kind === 'map') this.noteMap(e.target, vars, probe, this.mapTypes.get(e.target.name)?.value ? undefined : { kind: 'int', value: 0n, loc: e.loc });
          return;
        case 'ternary': expr(e.cond); expr(e.then); expr(e.else); return;
        case 'field': expr(e.base); return;
        case 'index': expr(e.base); expr(e.index); return;
        case 'tuple': e.elems.forEach(expr); return;
        case 'record': e.fields.forEach((f) => expr(f.value)); return;
        case 'cast': this.checkRecordKnown(e.type, e.loc); expr(e.operand); return;
        case 'block': stmts(e.stmts); expr(e.value); return;
        default:
      }
    };
    const stmts = (list: Stmt[]): void => {
      for (const s of list) {
        switch (s.kind) {
          case 'expr': expr(s.expr); break;
          case 'let':
            if (s.value) valueNotStatement(s.value);
            expr(s.value);
            if (s.value) noteVar(s.name, this.typeOf(s.value, vars, probe), s.loc);
            else if (s.type) noteVar(s.name, this.resolveTypeSpec(s.type, vars, probe), s.loc);
            else if (!vars.has(s.name)) vars.set(s.name, T.s64);
            break;
          case 'assign':
            valueNotStatement(s.value);
            if (s.target.kind === 'var' && s.op !== '=') mustBeDefined(s.target.name, s.target.loc);
            expr(s.value);
            if (s.target.kind === 'var') noteVar(s.target.name, this.typeOf(s.value, vars, probe), s.loc);
            else if (s.target.kind === 'map') {
              s.target.keys?.forEach(expr);
              const known = this.mapTypes.get(s.target.name)?.value;
              this.noteMap(s.target, vars, probe, s.op === '=' ? s.value : known ? undefined : { kind: 'int', value: 0n, loc: s.loc });
            } else expr(s.target);
            break;
          case 'if': expr(s.cond); stmts(s.then); if (s.else) stmts(s.else); break;
          case 'while': expr(s.cond); stmts(s.body); break;
          case 'unroll': stmts(s.body); break;
          case 'forRange':
            expr(s.from); expr(s.to);
            noteVar(s.var, T.s64, s.loc);
            noteVar(`${s.var}__base`, T.s64, s.loc);
            stmts(s.body);
            break;
          case 'forMap': {
            if (s.map.kind !== 'map') throw new TraceError('E_TRACE_TYPE', 'Loop expression must be a map', s.map.loc);
            const mt = this.mapTypes.get(s.map.name);
            if (!mt && this.firstPass) {
              // The map may be assigned later in the program: its type is known in the next pass.
              stmts(s.body);
              break;
            }
            if (!mt) throw new TraceError('E_TRACE_TYPE', `Undefined map: ${s.map.name}`, s.map.loc);
            if (mt.keyless) throw new TraceError('E_TRACE_TYPE', `Maps used as for-loop expressions must have keys to iterate over`, s.map.loc);
            const vt = mt.agg ? (mt.agg === 'count' ? T.u64 : T.s64) : mt.value ?? T.s64;
            noteVar(s.var, tupleType([mt.key ?? T.s64, vt]), s.loc);
            stmts(s.body);
            break;
          }
          case 'block': stmts(s.body); break;
          case 'return': expr(s.value); break;
          default:
        }
      }
    };
    stmts(body);
  }
}

/** A statement function (printf, exit, clear, signal...) returns nothing: it cannot be a value or a key, as bpftrace says. */
function valueNotStatement(e: Expr): void {
  // delete() is the one that returns a value (whether the key was there), as in bpftrace since 0.21.
  if (e.kind === 'call' && STATEMENT_FUNCS.has(e.name) && e.name !== 'delete') throw new TraceError('E_TRACE_TYPE', `${e.name}() should not be used in an assignment or as a map key`, e.loc);
}

// ---- macro expansion ---------------------------------------------------------------------

/**
 * A type whose `typeof(EXPR)` went through `f` (macro renaming and expansion). A macro argument that is itself a
 * `typeof(...)` stands for its type: `typeof(x)` of it is that type.
 */
function typeWith(ts: TypeSpec, f: (e: Expr) => Expr): TypeSpec {
  if (!ts.of) return ts;
  const of = f(ts.of);
  if (of.kind !== 'typeof') return { ...ts, of };
  return { ...of.type, pointer: of.type.pointer + ts.pointer, array: ts.array ?? of.type.array, loc: ts.loc };
}

function renameExpr(e: Expr, map: Map<string, Expr>, hyg: string, callLoc: Loc): Expr {
  const r = (x: Expr): Expr => renameExpr(x, map, hyg, callLoc);
  const withLoc = <X extends { loc: Loc }>(x: X): X => ({ ...x, loc: { ...x.loc, expandedFrom: callLoc } });
  switch (e.kind) {
    case 'var': {
      const sub = map.get(e.name);
      if (sub) return sub;
      return withLoc({ ...e, name: `${e.name}${hyg}` });
    }
    case 'builtin': {
      const sub = map.get(e.name);
      return sub ?? withLoc(e);
    }
    case 'map': {
      const sub = map.get(e.name);
      const name = sub && sub.kind === 'map' ? sub.name : e.name;
      return withLoc({ ...e, name, keys: e.keys?.map(r) });
    }
    case 'call': return withLoc({ ...e, args: e.args.map(r) });
    case 'binary': return withLoc({ ...e, left: r(e.left), right: r(e.right) });
    case 'unary': return withLoc({ ...e, operand: r(e.operand) });
    case 'incdec': return withLoc({ ...e, target: r(e.target) });
    case 'ternary': return withLoc({ ...e, cond: r(e.cond), then: r(e.then), else: r(e.else) });
    case 'field': return withLoc({ ...e, base: r(e.base) });
    case 'index': return withLoc({ ...e, base: r(e.base), index: r(e.index) });
    case 'tuple': return withLoc({ ...e, elems: e.elems.map(r) });
    case 'record': return withLoc({ ...e, fields: e.fields.map((f) => ({ name: f.name, value: r(f.value) })) });
    case 'cast': return withLoc({ ...e, type: typeWith(e.type, r), operand: r(e.operand) });
    case 'sizeof': return withLoc({ ...e, type: e.type ? typeWith(e.type, r) : undefined, expr: e.expr ? r(e.expr) : undefined });
    case 'typeof': return withLoc({ ...e, type: typeWith(e.type, r) });
    case 'block': return withLoc({ ...e, stmts: e.stmts.map((s) => renameStmt(s, map, hyg, callLoc)), value: r(e.value) });
    default: return withLoc(e);
  }
}

function renameStmt(s: Stmt, map: Map<string, Expr>, hyg: string, callLoc: Loc): Stmt {
  const r = (x: Expr): Expr => renameExpr(x, map, hyg, callLoc);
  const rs = (l: Stmt[]): Stmt[] => l.map((x) => renameStmt(x, map, hyg, callLoc));
  const varName = (n: string): string => {
    const sub = map.get(n);
    return sub && sub.kind === 'var' ? sub.name : `${n}${hyg}`;
  };
  switch (s.kind) {
    case 'expr': return { ...s, expr: r(s.expr) };
    case 'assign': return { ...s, target: r(s.target), value: r(s.value) };
    case 'let': return { ...s, name: varName(s.name), type: s.type ? typeWith(s.type, r) : undefined, value: s.value ? r(s.value) : undefined };
    case 'if': return { ...s, cond: r(s.cond), then: rs(s.then), else: s.else ? rs(s.else) : undefined };
    case 'while': return { ...s, cond: r(s.cond), body: rs(s.body) };
    case 'forMap': return { ...s, var: varName(s.var), map: r(s.map), body: rs(s.body) };
    case 'forRange': return { ...s, var: varName(s.var), from: r(s.from), to: r(s.to), body: rs(s.body) };
    case 'unroll': return { ...s, count: r(s.count), body: rs(s.body) };
    case 'block': return { ...s, body: rs(s.body) };
    case 'return': return { ...s, value: s.value ? r(s.value) : undefined };
    default: return s;
  }
}

/** Inlines macro calls (expression and statement macros), depth-limited against recursion. */
function expandMacros(prog: Program): void {
  const macros = new Map(prog.macros.map((m) => [m.name, m]));
  let counter = 0;
  const expandE = (e: Expr, depth: number): Expr => {
    const sub = (x: Expr): Expr => expandE(x, depth);
    switch (e.kind) {
      case 'builtin': {
        const m = macros.get(e.name);
        if (!m || m.params.length) return e;
        return expandE({ kind: 'call', name: e.name, args: [], loc: e.loc }, depth);
      }
      case 'call': {
        const args = e.args.map(sub);
        // bpftrace's stdlib macro ppid(task): the parent's tgid.
        if (e.name === 'ppid' && args.length === 1 && !macros.has('ppid')) {
          const parent: Expr = { kind: 'field', base: args[0], field: 'real_parent', arrow: true, loc: e.loc };
          return { kind: 'field', base: parent, field: 'tgid', arrow: true, loc: e.loc };
        }
        const m = macros.get(e.name);
        // A macro named like a builtin function only replaces calls with its own arity.
        if (!m || (m.params.length !== args.length && BUILTIN_FUNCS.has(e.name))) return { ...e, args };
        if (depth > 50) throw new TraceError('E_TRACE_MACRO', `Recursive macro call detected. Call chain: ${e.name}`, e.loc);
        if (m.params.length !== args.length) throw new TraceError('E_TRACE_MACRO', `Call to ${e.name}() has the wrong number of arguments`, e.loc);
        const map = new Map<string, Expr>();
        m.params.forEach((p, i) => {
          const a = args[i];
          if (p.name.startsWith('$') && a.kind !== 'var') throw new TraceError('E_TRACE_MACRO', `Mismatched arg. ${e.name}() expects a variable for arg ${p.name} but got an expression`, a.loc);
          if (p.isMap && a.kind !== 'map') throw new TraceError('E_TRACE_MACRO', `Mismatched arg. ${e.name}() expects a map for arg ${p.name} but got an expression`, a.loc);
          map.set(p.name, a);
        });
        const hyg = `__m${counter++}`;
        const stmts = m.body.map((s) => renameStmt(s, map, hyg, e.loc)).map((s) => expandS(s, depth + 1));
        const value = m.value ? expandE(renameExpr(m.value, map, hyg, e.loc), depth + 1) : ({ kind: 'int', value: 0n, loc: e.loc } as Expr);
        if (!stmts.length) return value;
        return { kind: 'block', stmts, value, loc: e.loc };
      }
      case 'binary': return { ...e, left: sub(e.left), right: sub(e.right) };
      case 'unary': return { ...e, operand: sub(e.operand) };
      case 'incdec': return { ...e, target: sub(e.target) };
      case 'ternary': return { ...e, cond: sub(e.cond), then: sub(e.then), else: sub(e.else) };
      case 'field': return { ...e, base: sub(e.base) };
      case 'index': return { ...e, base: sub(e.base), index: sub(e.index) };
      case 'tuple': return { ...e, elems: e.elems.map(sub) };
      case 'record': return { ...e, fields: e.fields.map((f) => ({ name: f.name, value: sub(f.value) })) };
      case 'cast': return { ...e, type: typeWith(e.type, sub), operand: sub(e.operand) };
      case 'sizeof': return { ...e, type: e.type ? typeWith(e.type, sub) : undefined, expr: e.expr ? sub(e.expr) : undefined };
      case 'typeof': return { ...e, type: typeWith(e.type, sub) };
      case 'map': return { ...e, keys: e.keys?.map(sub) };
      case 'block': return { ...e, stmts: e.stmts.map((s) => expandS(s, depth)), value: sub(e.value) };
      default: return e;
    }
  };
  const expandS = (s: Stmt, depth: number): Stmt => {
    const x = (e: Expr): Expr => expandE(e, depth);
    const xs = (l: Stmt[]): Stmt[] => l.map((y) => expandS(y, depth));
    switch (s.kind) {
      case 'expr': {
        const e = x(s.expr);
        if (e.kind === 'block') return { kind: 'block', body: [...e.stmts, { kind: 'expr', expr: e.value, loc: e.value.loc }], loc: s.loc };
        return { ...s, expr: e };
      }
      case 'assign': return { ...s, target: x(s.target), value: x(s.value) };
      case 'let': return { ...s, type: s.type ? typeWith(s.type, x) : undefined, value: s.value ? x(s.value) : undefined };
      case 'if': return { ...s, cond: x(s.cond), then: xs(s.then), else: s.else ? xs(s.else) : undefined };
      case 'while': return { ...s, cond: x(s.cond), body: xs(s.body) };
      case 'forMap': return { ...s, map: x(s.map), body: xs(s.body) };
      case 'forRange': return { ...s, from: x(s.from), to: x(s.to), body: xs(s.body) };
      case 'unroll': return { ...s, count: x(s.count), body: xs(s.body) };
      case 'block': return { ...s, body: xs(s.body) };
      case 'return': return { ...s, value: s.value ? x(s.value) : undefined };
      default: return s;
    }
  };
  for (const p of prog.probes) {
    p.body = p.body.map((s) => expandS(s, 0));
    if (p.predicate) p.predicate = expandE(p.predicate, 0);
  }
}

/** A positional parameter as an integer (decimal, 0x hex, 0 octal), or undefined when it is not one. */
export function parseIntLiteral(text: string): bigint | undefined {
  const t = text.trim();
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]+|[0-9]+)$/i.exec(t);
  if (!m) return undefined;
  const body = /^0[0-7]+$/.test(m[2]) ? `0o${m[2].slice(1)}` : m[2];
  const v = BigInt(body);
  return m[1] ? -v : v;
}

const C_INTS: Record<string, [number, boolean]> = {
  char: [1, true], 'signed char': [1, true], 'unsigned char': [1, false], short: [2, true], 'unsigned short': [2, false],
  int: [4, true], 'unsigned int': [4, false], unsigned: [4, false], long: [8, true], 'unsigned long': [8, false], 'long long': [8, true],
  'unsigned long long': [8, false], bool: [1, false], _Bool: [1, false], int8_t: [1, true], uint8_t: [1, false], int16_t: [2, true],
  uint16_t: [2, false], int32_t: [4, true], uint32_t: [4, false], int64_t: [8, true], uint64_t: [8, false], u8: [1, false],
  u16: [2, false], u32: [4, false], u64: [8, false], s8: [1, true], s16: [2, true], s32: [4, true], s64: [8, true],
  __u8: [1, false], __u16: [2, false], __u32: [4, false], __u64: [8, false], size_t: [8, false], pid_t: [4, true],
};

/** Lays out a struct/union body written in the program (`{ int x; char c[4]; struct y *p; }`) with C's alignment rules. */
function layoutCStruct(
  text: string,
  isUnion: boolean,
  lookup: (name: string) => { size: number; fields: Field[]; align?: number } | undefined,
  define: (name: string, layout: { size: number; fields: Field[]; align: number }) => void = () => {},
): { size: number; fields: Field[]; align: number } | undefined {
  const packed = text.includes('__packed__');
  const body = text.replace(/__packed__/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim().replace(/^\{|\}$/g, '');
  const fields: Field[] = [];
  let off = 0;
  let bitPos = 0;
  let align = 1;
  let size = 0;
  for (const raw of topLevelDecls(body)) {
    let decl = raw.trim();
    if (!decl) continue;
    // A member whose type is defined in place (`struct Bar { int x; } bar`): the definition is a struct of its own.
    const inner = /^(struct|union)\s+(\w+)\s*(\{[\s\S]*\})\s*([\s\S]*)$/.exec(decl);
    if (inner) {
      const layout = layoutCStruct(inner[3], inner[1] === 'union', lookup, define);
      if (!layout) return undefined;
      define(`${inner[1]} ${inner[2]}`, layout);
      decl = `${inner[1]} ${inner[2]} ${inner[4]}`.trim();
    }
    const m = /^(.*?)(\**)\s*([A-Za-z_]\w*)\s*(?:\[(\d*)\])?\s*(?::\s*(\d+))?$/.exec(decl);
    if (!m) return undefined;
    const base = m[1].trim().replace(/\s+/g, ' ').replace(/^(const|volatile) /, '');
    const ptr = m[2].length > 0 || /\*$/.test(base);
    const count = m[4] !== undefined ? Number(m[4] || 0) : undefined;
    let t: TraceType;
    let elemAlign: number;
    if (ptr) {
      const sm = /^(struct|union) (\w+)/.exec(base);
      t = { kind: 'pointer', to: sm ? { kind: 'record', name: `${sm[1]} ${sm[2]}`, fields: [], size: 0 } : T.u8 };
      elemAlign = 8;
    } else if (C_INTS[base]) {
      const [n, signed] = C_INTS[base];
      t = { kind: 'int', bits: (n * 8) as 8 | 16 | 32 | 64, signed };
      elemAlign = n;
    } else if (/^(struct|union) \w+$/.test(base)) {
      const r = lookup(base);
      if (!r) return undefined;
      t = { kind: 'record', name: base, fields: [], size: r.size };
      elemAlign = r.align ?? recordAlign(r.fields);
    } else return undefined;
    const elemSize = t.kind === 'record' ? t.size : sizeOf(t);
    if (count !== undefined) t = t.kind === 'int' && elemSize === 1 ? T.string(count) : { kind: 'array', elem: t, count };
    const fsize = count !== undefined ? elemSize * count : elemSize;
    const a = packed ? 1 : elemAlign;
    align = Math.max(align, a);
    if (m[5] !== undefined) {
      // Bitfield: packed into storage units of the declared type.
      const bits = Number(m[5]);
      const unitBits = elemSize * 8;
      const start = isUnion ? 0 : off * 8 + bitPos;
      const unitStart = Math.floor(start / unitBits) * (unitBits / 8);
      const bitOffset = start - unitStart * 8;
      fields.push({ name: m[3], type: t, offset: unitStart, bitfield: { bitOffset, bits } });
      if (!isUnion) {
        const end = start + bits;
        off = Math.floor(end / 8);
        bitPos = end % 8;
      }
      size = Math.max(size, unitStart + elemSize);
      continue;
    }
    if (bitPos) {
      off++;
      bitPos = 0;
    }
    const at = isUnion ? 0 : Math.ceil(off / a) * a;
    fields.push({ name: m[3], type: t, offset: at });
    if (!isUnion) off = at + fsize;
    size = Math.max(size, at + fsize);
  }
  if (bitPos) off++;
  size = Math.max(size, off);
  return { size: Math.ceil(size / align) * align, fields, align };
}

/** A record's alignment in C: its most aligned member's (a record from BTF carries no alignment of its own). */
function recordAlign(fields: readonly Field[]): number {
  let a = 1;
  for (const f of fields) {
    let t = f.type;
    while (t.kind === 'array') t = t.elem;
    a = Math.max(a, t.kind === 'int' ? t.bits / 8 : t.kind === 'pointer' ? 8 : t.kind === 'record' ? Math.min(8, Math.max(1, t.size & -t.size)) : 1);
  }
  return a;
}

/** The `;`-separated declarations of a struct body, with the semicolons inside nested braces kept in their declaration. */
function topLevelDecls(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === ';' && depth === 0) {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out;
}

/** Whether control never continues after this statement (exit(), return, break, continue). */
function endsFlow(s: Stmt): boolean {
  if (s.kind === 'return' || s.kind === 'break' || s.kind === 'continue') return true;
  return s.kind === 'expr' && s.expr.kind === 'call' && s.expr.name === 'exit';
}

/** IPv4 dotted quad or IPv6 text as bytes. */
function parseAddress(text: string): number[] | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
    const parts = text.split('.').map(Number);
    return parts.every((x) => x <= 255) ? parts : undefined;
  }
  if (!text.includes(':')) return undefined;
  const [head, tail] = text.split('::');
  const words = (s: string | undefined): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  if (text.split('::').length > 2 || [...h, ...t].some((w) => !(w >= 0 && w <= 0xffff))) return undefined;
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8) return undefined;
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

function programTypeFor(provider: string): number {
  switch (provider) {
    case 'tracepoint': return ProgType.BPF_PROG_TYPE_TRACEPOINT;
    case 'uprobe': case 'uretprobe': case 'usdt': case 'kprobe': case 'kretprobe': return ProgType.BPF_PROG_TYPE_KPROBE;
    case 'profile': case 'interval': case 'software': case 'hardware': return ProgType.BPF_PROG_TYPE_PERF_EVENT;
    default: return ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT;
  }
}

const DEFAULT_PROVIDERS: Record<string, string> = { BEGIN: 'begin', begin: 'begin', END: 'end', end: 'end' };

function defaultResolve(text: string): ResolvedProbe[] {
  const head = text.split(':')[0];
  const provider = DEFAULT_PROVIDERS[head] ?? head;
  return [{ provider, name: provider === 'begin' || provider === 'end' ? provider : text }];
}

/** Parses and compiles a trace program. */
export function compileTrace(source: string, options: CompileOptions = {}): CompiledProgram {
  const prog = parseProgram(source);
  return compileAst(prog, options);
}

/** Compiles a parsed program. */
/** Gives each loop's variable a name of its own, so two loops may use `$kv` for different types. */
function scopeLoopVariables(prog: Program): void {
  let n = 0;
  const rename = (node: unknown, from: string, to: string): void => {
    if (Array.isArray(node)) {
      for (const x of node) rename(x, from, to);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.kind === 'var' && o.name === from) o.name = to;
    if (o.kind === 'let' && o.name === from) o.name = to;
    if ((o.kind === 'forMap' || o.kind === 'forRange') && o.var === from) o.var = to;
    for (const [k, v] of Object.entries(o)) if (k !== 'loc' && typeof v === 'object') rename(v, from, to);
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if ((o.kind === 'forMap' || o.kind === 'forRange') && typeof o.var === 'string') {
      const to = `${o.var}__loop${n++}`;
      rename(o.body, o.var, to);
      o.var = to;
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'loc' && typeof v === 'object') visit(v);
  };
  for (const p of prog.probes) visit(p.body);
}

export function compileAst(prog: Program, options: CompileOptions = {}): CompiledProgram {
  const config = new Map<string, bigint | string>();
  for (const cfg of prog.config) {
    if (!CONFIG_KEYS.has(cfg.key)) throw new TraceError('E_TRACE_CONFIG', `${cfg.key}: not a known configuration option`, cfg.loc);
    const v = cfg.value.kind === 'str' ? cfg.value.value : cfg.value.kind === 'builtin' ? cfg.value.name : cfg.value.kind === 'bool' ? BigInt(cfg.value.value) : constIntOf(cfg.value);
    if (cfg.key === 'license' && !LICENSES.includes(String(v))) {
      throw new TraceError('E_TRACE_CONFIG', `Invalid value for license. Found: ${String(v)}. Valid values: ${LICENSES.join(', ')}`, cfg.loc);
    }
    config.set(cfg.key, v ?? 0n);
  }
  expandMacros(prog);
  scopeLoopVariables(prog);
  const c = new Compiler(prog, options);
  for (const d of prog.mapDecls) {
    if (!mapUsed(prog, d.name)) c.warnings.push({ message: `Unused map: ${d.name}`, loc: d.loc });
  }
  const resolve = options.resolveProbe ?? ((t: string) => defaultResolve(t));
  const units: { probe: ResolvedProbe; block: Probe; vars: Map<string, TraceType> }[] = [];
  for (const block of prog.probes) {
    for (const spec of block.probes) {
      for (const probe of resolve(spec.text, spec.loc)) units.push({ probe, block, vars: new Map() });
    }
  }
  // Types flow between probes through maps: two passes reach a fixed point for the usual programs.
  for (let pass = 0; pass < 2; pass++) {
    c.firstPass = pass === 0;
    for (const u of units) {
      if (u.block.predicate) c.infer([{ kind: 'expr', expr: u.block.predicate, loc: u.block.predicate.loc }], u.vars, u.probe);
      c.infer(u.block.body, u.vars, u.probe);
    }
  }
  // A map that is only read, never assigned anywhere, has no type: bpftrace refuses it.
  c.checkMapsDefined();
  const probes: CompiledProbe[] = [];
  const scratchMaps: MapSpec[] = [];
  units.forEach((u, i) => {
    const g = new ProbeCodegen(c, u.probe, u.vars, i);
    g.compileBody(u.block.body, u.block.predicate);
    const insns = pruneUnreachable(g.b.build());
    scratchMaps.push({ name: g.scratchMap, type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: Math.max(8, Math.ceil(g.scratchMax / 8) * 8), maxEntries: 1 });
    probes.push({
      probe: u.probe,
      spec: { name: `p${i}`, type: programTypeFor(u.probe.provider) as ProgramSpec['type'], insns, license: 'GPL', maps: [] },
    });
  });
  // Maps only read (never written) still exist.
  const maps: MapSpec[] = [{ name: EVENT_RINGBUF, type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: RINGBUF_SIZE }];
  for (const info of c.maps.values()) {
    maps.push({ name: info.bpfName, type: info.mapType as MapSpec['type'], keySize: c.bpfKeySize(info), valueSize: c.bpfValueSize(info), maxEntries: info.maxEntries });
  }
  maps.push(...scratchMaps);
  if (c.usesStacks) maps.push({ name: STACK_MAP, type: MapType.BPF_MAP_TYPE_STACK_TRACE, keySize: 4, valueSize: 127 * 8, maxEntries: 4096 });
  if (options.cgroupFilter) maps.push({ name: CGROUP_FILTER_MAP, type: MapType.BPF_MAP_TYPE_CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  for (const p of probes) p.spec.maps = maps.filter((m) => p.spec.insns.some((x) => x.ref === m.name));
  const enums = new Map<string, Map<bigint, string>>();
  for (const e of prog.enums) {
    if (!enums.has(e.enumName)) enums.set(e.enumName, new Map());
    enums.get(e.enumName)!.set(BigInt.asUintN(64, e.value), e.name);
  }
  return { probes, maps, mapInfo: c.maps, events: c.events, ringbuf: EVENT_RINGBUF, config, mapOrder: c.mapOrder, enums, getopts: c.getopts, warnings: c.warnings };
}

/** bpftrace's configuration options (`config = { … }`). */
const CONFIG_KEYS = new Set([
  'cache_user_symbols', 'cpp_demangle', 'lazy_symbolication', 'log_size', 'max_bpf_progs', 'max_cat_bytes', 'max_map_keys',
  'max_probes', 'max_strlen', 'max_type_res_iterations', 'on_stack_limit', 'perf_rb_pages', 'print_maps_on_exit', 'stack_mode',
  'str_trunc_trailer', 'symbol_source', 'show_debug_info', 'unstable_macro', 'unstable_map_decl', 'unstable_import', 'license',
  'missing_probes', 'use_blazesym', 'unstable_tseries', 'unstable_addrspace', 'print_maps_on_exit', 'verify_llvm_ir', 'show_insns',
]);
const LICENSES = ['Dual MIT/GPL', 'Dual BSD/GPL', 'Dual MPL/GPL', 'GPL and additional rights', 'GPL v2', 'GPL'];

function constIntOf(e: Expr): bigint | undefined {
  if (e.kind === 'int') return e.value;
  if (e.kind === 'unary' && e.op === '-' && e.operand.kind === 'int') return -e.operand.value;
  return undefined;
}

/** Whether a declared map is used anywhere in the program's probes. */
function mapUsed(prog: Program, name: string): boolean {
  const text = JSON.stringify(prog.probes, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return text.includes(`"name":"${name}"`);
}

export { isMem, mergeTypes };

/** What a printf argument of this type can be printed as, as bpftrace's format check sees it (symbols and addresses print as strings; pointers and enums as integers too). */
function printfArgKinds(t: TraceType): { integer: boolean; buffer: boolean; name: string } {
  switch (t.kind) {
    case 'int': case 'bool': case 'pointer': case 'agg': return { integer: true, buffer: false, name: 'integer' };
    case 'buffer': return { integer: false, buffer: true, name: 'buffer' };
    case 'string': return { integer: false, buffer: false, name: 'string' };
    case 'none': return { integer: false, buffer: false, name: 'none' };
    default: return { integer: false, buffer: false, name: typeName(t) };
  }
}

/** bpftrace's compile-time check of a printf: argument count, known conversions, and integers where `%d`-like conversions need them. */
function checkPrintfArgs(func: string, fmt: string, types: readonly TraceType[], loc: Loc): void {
  const format = parsePrintfFormat(fmt);
  const count = printfArgCountError(format, types.length);
  if (count) throw new TraceError('E_TRACE_TYPE', `${func}: ${count[0].toUpperCase()}${count.slice(1)}`, loc);
  format.specs.forEach((spec, i) => {
    const cls = printfArgClass(spec.specifier);
    const token = `${spec.length}${spec.specifier}`;
    if (!cls) throw new TraceError('E_TRACE_TYPE', `${func}: Unknown format string token: %${token}`, loc);
    const kinds = printfArgKinds(types[i]);
    if (cls === 'integer' && !kinds.integer) throw new TraceError('E_TRACE_TYPE', `${func}: %${token} specifier expects a value of type integer (${kinds.name} supplied)`, loc);
    if (cls === 'buffer' && !kinds.buffer) throw new TraceError('E_TRACE_TYPE', `${func}: %${token} specifier expects a value of type buffer (${kinds.name} supplied)`, loc);
  });
}

/**
 * How many arguments each function takes, [fewest, most] (hist's second is its bits per power of two; tseries and
 * signal check their own). Checked before anything reads an argument: a missing one was an internal crash.
 */
const FUNC_ARITY: Readonly<Record<string, readonly [number, number]>> = {
  count: [0, 0], sum: [1, 1], min: [1, 1], max: [1, 1], avg: [1, 1], stats: [1, 1], hist: [1, 2], lhist: [4, 4],
  str: [1, 2], buf: [1, 2], ksym: [1, 1], usym: [1, 1], kaddr: [1, 1], uaddr: [1, 1], ntop: [1, 2], pton: [1, 1],
  strftime: [2, 2], strerror: [1, 1], time: [0, 1], print: [1, 3], clear: [1, 1], zero: [1, 1], delete: [1, 2],
  exit: [0, 1], join: [1, 2], strncmp: [3, 3], strcontains: [2, 2], strlen: [1, 1], len: [1, 1], has_key: [2, 2],
  kstack: [0, 2], ustack: [0, 2], cgroupid: [1, 1], bswap: [1, 1], signal_name: [1, 1], getopt: [1, 3],
  printf: [1, Infinity], errorf: [1, Infinity], warnf: [1, Infinity], debugf: [1, Infinity], cat: [1, Infinity], system: [1, Infinity],
};

const argWords = (k: number): string => (k === 0 ? 'no arguments' : k === 1 ? 'one argument' : `${k} arguments`);

/** bpftrace's arity errors: `count() requires no arguments (1 provided)`, `str() takes up to 2 arguments (3 provided)`. */
function checkArity(call: Extract<Expr, { kind: 'call' }>): void {
  const arity = FUNC_ARITY[call.name];
  if (!arity) return;
  const [lo, hi] = arity;
  const n = call.args.length;
  if (n >= lo && n <= hi) return;
  const why = lo === hi ? `requires ${argWords(lo)}` : n < lo ? `requires at least ${argWords(lo)}` : `takes up to ${argWords(hi)}`;
  throw new TraceError('E_TRACE_TYPE', `${call.name}() ${why} (${n} provided)`, call.loc);
}
