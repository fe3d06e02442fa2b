/** Loading a ProgramSpec into the VM (`vm.load`) and running it: the run's memory, context and packet set-up, hooks, tail calls, test runs. */

import { BpfkitError, UnsupportedError, UsageError, ValidationError } from '../../util/index.js';
import { checkProgram } from '../check.js';
import { describeInsn } from '../forms.js';
import type { Insn } from '../insn.js';
import { createMap, handleOf, releaseHandle } from '../maps/index.js';
import { helperName } from '../opcodes.js';
import type { BpfProgram, MapSpec, ProgramSpec, TestRunOptions, TestRunResult } from '../spec.js';
import { prepareCode, type VmCode } from './code.js';
import type { Engine, RunHooks } from './engine.js';
import { testRunSock } from './helpers-net.js';
import { HELPERS, HELPERS_BY_ID, type HelperDef, type HelperEnv, type PacketState, type VmHost, type VmMapLike } from './helpers.js';
import { Interpreter, type StepHook } from './interpreter.js';
import { writesFrame } from './range.js';
import { verify as runVerifier, type VerifierFacts, type VerifyOptions } from '../verifier/index.js';
import { compileJit, jitAvailable, newWasmMemory, type JitModule } from './jit-wasm.js';
import {
  CTX_REGION, FaultKind, Layout, VmMemory, makeFault, offsetOf, pointer,
} from './memory.js';
import { PROGRAM_TYPES_BY_ID, SKB, XDP_MD, type CtxField, type ProgramTypeInfo } from './program-types.js';
import { checkTestRun, skbCtxOut, xdpCtxOut } from './test-run-checks.js';

/** Which engine runs a program. */
export type EngineKind = 'interp' | 'jit';

/** Options of {@link load}. */
export interface VmLoadOptions {
  /** `'jit'` (WebAssembly, the default where WebAssembly exists) or `'interp'`. */
  engine?: EngineKind;
  /** Maps by name: every map the spec names must be here unless `createMap` can make it. */
  maps?: Readonly<Record<string, VmMapLike>> | ReadonlyMap<string, VmMapLike>;
  /** Makes a map the spec declares and `maps` lacks (default: the maps area's `createMap`). */
  createMap?(spec: MapSpec): VmMapLike;
  /** Task, clocks, probe memory, output sinks. */
  host?: VmHost;
  /** Helpers to add or replace (by id), e.g. {@link UNWIND_HELPER} for the bpf_conformance model. */
  helpers?: readonly HelperDef[];
  /** Instructions one run may execute before it faults (default 50,000,000). */
  budget?: number;
  /** Bytes of VM memory (default 4 MiB; grows for large packets). */
  memorySize?: number;
  /**
   * Run the verifier first and refuse what it rejects (default true). `false` loads any well-formed
   * program, for experiments. Programs of BPF_PROG_TYPE_UNSPEC (the bpf_conformance model: r1 = a
   * memory block, r2 = its length, a contract no kernel program type has) get the structural checks only.
   */
  verify?: boolean | Omit<VerifyOptions, 'maps' | 'type'>;
}

/** Input of {@link VmProgram.run}. */
export interface VmRunOptions {
  /** Packet bytes (socket filter, tc, XDP). */
  data?: Uint8Array;
  /** Context bytes: `__sk_buff`/`xdp_md` fields in, or the whole context of a tracing program. */
  ctx?: Uint8Array;
  /** The bpf_conformance model: r1 = a private copy of `mem` (0 when absent or empty), r2 = its length. */
  mem?: Uint8Array;
  /** Registers r1..r5 at entry, when neither `ctx` nor `mem` decides them. */
  args?: readonly bigint[];
}

/** Output of {@link VmProgram.run}. */
export interface VmRunResult {
  /** r0 at exit, 64 bits. */
  r0: bigint;
  /** Packet bytes after the run (metadata included for XDP, as the kernel's test run returns). */
  dataOut: Uint8Array;
  /** Context after the run, when the type has one. */
  ctxOut?: Uint8Array;
  /** `mem` after the run (the conformance model). */
  memOut?: Uint8Array;
  /** `bpf_trace_printk` lines. */
  trace: string[];
  /** Where `bpf_redirect*` sent the packet. */
  redirect?: { ifindex: number; flags: number; map?: string };
}

const NO_ARGS: readonly bigint[] = [];
/** r1 = the converted context, for every packet program's run. */
const CTX_ARGS: readonly bigint[] = [pointer(CTX_REGION, 0)];
const EMPTY = new Uint8Array(0);
const XDP_HEADROOM = 256;
/**
 * A test run's skb headroom (NET_SKB_PAD + NET_IP_ALIGN on x86-64): the kernel's skb data sits 64 bytes into
 * a size-aligned buffer, so a packet pointer's low bits are 0x40 + offset there, which programs that store one see.
 */
const SKB_HEADROOM = 64;
/** `__sk_buff.tstamp` (u64) and `tstamp_type` (u8, then padding to hwtstamp). */
const SKB_TSTAMP = 152, SKB_TSTAMP_TYPE = 180;
const XDP_TAILROOM = 320;
/** MAX_TAIL_CALL_CNT. */
const MAX_TAIL_CALLS = 33;


/**
 * Where a run's packet region starts in its buffer: XDP's at the metadata (pointers count from it, as
 * `xdp_md` offsets do), an skb's at the buffer (pointers then carry the kernel's headroom in their low bits).
 */
const regionStart = (p: PacketState): number => (p.xdp ? p.meta : 0);

/** One run's packet (a class, not a literal with a closure: it is made on every run). */
class RunPacket implements PacketState {
  meta: number;
  start: number;
  end: number;
  netOffset = 14;
  dataAt = 0;
  redirect?: { ifindex: number; flags: number; map?: string };
  constructor(private readonly runner: Runner, private readonly base: number, private readonly writable: boolean, readonly buf: Uint8Array, head: number, len: number, readonly xdp: boolean) {
    this.meta = head;
    this.start = head;
    this.end = head + len;
  }

  changed(): void {
    this.runner.repointPacket(this.base, this, this.writable);
  }

  /** skb runs: `skb->pkt_type`, kept in the converted context's pkt_type (bpf_skb_change_type). */
  readonly pktType = {
    get: (): number => this.runner.ctxU32(SKB.pkt_type),
    set: (t: number): void => this.runner.setCtxU32(SKB.pkt_type, t),
  };

  /** skb runs: `skb->tstamp` and its clock, kept in the converted context's tstamp (152) and tstamp_type (180). */
  readonly tstamp = {
    set: (ns: bigint, type: number): void => {
      this.runner.setCtxU32(SKB_TSTAMP, Number(ns & 0xffffffffn));
      this.runner.setCtxU32(SKB_TSTAMP + 4, Number((ns >> 32n) & 0xffffffffn));
      this.runner.setCtxU32(SKB_TSTAMP_TYPE, type);
    },
  };

  /** skb runs: the VLAN tag lives in the context's vlan_present/vlan_tci/vlan_proto, as the kernel converts it. */
  readonly vlan = {
    get: (): { present: boolean; tci: number; proto: number } => ({
      present: this.runner.ctxU32(SKB.vlan_present) !== 0, tci: this.runner.ctxU32(24), proto: this.runner.ctxU32(28),
    }),
    set: (t: { present: boolean; tci: number; proto: number }): void => {
      this.runner.setCtxU32(SKB.vlan_present, t.present ? 1 : 0);
      this.runner.setCtxU32(24, t.tci);
      this.runner.setCtxU32(28, t.proto);
    },
    setProtocol: (ethertype: number): void => this.runner.setCtxU32(SKB.protocol, ((ethertype >> 8) | ((ethertype & 0xff) << 8)) >>> 0),
    protocol: (): number => {
      const v = this.runner.ctxU32(SKB.protocol);
      return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
    },
  };
}

/** The per-program run state: memory, hooks for the engines, helpers' environment. */
class Runner implements RunHooks {
  readonly mem: VmMemory;
  readonly ctxConverted: boolean;
  readonly wasmMemory: unknown;
  readonly env: HelperEnv & { pc: number };
  current: VmProgram;
  packet: PacketState | undefined;
  private pktRegion = 0;
  /** This run's `skb->sk` (made when a program first reads it). */
  private skPtr: bigint | undefined;
  private ctxBase = 0;
  private pendingTail: VmProgram | undefined;
  private tailCount = 0;
  private readonly engines = new Map<VmProgram, Engine>();
  private mapValues: bigint[] = [];
  private readonly budgetLo: number;
  private readonly budgetHi: number;
  /** True when the first stack frame is still zero from the last reset (the last run could not write it). */
  private stackClean = false;
  private lastBuf: Uint8Array | undefined;
  /** True when a resize let the last run reach the packet's head- or tailroom (they need zeroing again). */
  private roomTouched = false;
  private memLen = 0;
  private memLenBig = 0n;
  private readonly memArgs: bigint[] = [0n, 0n];

  constructor(readonly owner: VmProgram, size: number, private readonly stepHook?: StepHook) {
    // Only the JIT needs WebAssembly memory (a stepped run always interprets).
    const wm = owner.engine === 'jit' && !stepHook ? newWasmMemory(size) : undefined;
    this.wasmMemory = wm?.memory;
    this.mem = new VmMemory(wm ? wm.buffer : new ArrayBuffer(size));
    this.current = owner;
    this.ctxConverted = owner.type.fields !== undefined;
    this.budgetLo = owner.budget % 2 ** 32;
    this.budgetHi = Math.floor(owner.budget / 2 ** 32);
    const runner = (): Runner => this;
    this.env = {
      mem: this.mem,
      get maps() { return runner().current.mapList; },
      get host() { return runner().current.host; },
      get engine() { return runner().engineFor(runner().current); },
      get packet() { return runner().packet; },
      pc: 0,
      trace: [],
      records: new Map(),
      skStorage: new Map(),
      tailCall: (map, index) => this.tailCall(map, index),
    };
  }

  engineFor(p: VmProgram): Engine {
    let e = this.engines.get(p);
    if (!e) {
      e = this.stepHook ? new Interpreter(p.code, this, this.stepHook)
        : this.owner.engine === 'jit' && this.wasmMemory ? p.jitModule().instantiate(this, this.wasmMemory) : new Interpreter(p.code, this);
      this.engines.set(p, e);
    }
    return e;
  }

  helper(id: number, pc: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    const h = this.current.helperTable.get(id);
    if (!h) throw makeFault(FaultKind.HELPER, pc, BigInt(id));
    this.env.pc = pc;
    // Built-in helpers keep mirrored map values in step themselves (map_update, for_each);
    // a helper the user added may touch any map, so every mirrored value syncs around it.
    const builtin = HELPERS_BY_ID.get(id) === h;
    if (!builtin) this.mem.flush();
    const r = h.fn(this.env, r1, r2, r3, r4, r5);
    if (!builtin) this.mem.reload();
    return BigInt.asUintN(64, r);
  }

  private field(ptr: bigint, size: number, pc: number): CtxField {
    const off = offsetOf(ptr);
    const fields = this.current.type.fields ?? [];
    for (const f of fields) {
      if (off >= f.offset && off + size <= f.offset + f.size && (f.kind === 'plain' || (off === f.offset && size === f.size))) return f;
    }
    throw makeFault(FaultKind.CTX_ACCESS, pc, ptr, size);
  }

  /** A u32 of the converted context (helpers that change skb state the context shows). */
  ctxU32(off: number): number {
    return this.mem.dv.getUint32(this.ctxBase + off, true);
  }

  setCtxU32(off: number, v: number): void {
    this.mem.dv.setUint32(this.ctxBase + off, v >>> 0, true);
  }

  ctxLoad(ptr: bigint, size: number, pc: number): bigint {
    const f = this.field(ptr, size, pc);
    const p = this.packet;
    if (f.kind === 'sk' && p) {
      this.skPtr ??= this.mem.addBytes(testRunSock(p), false, 'bpf_sock', pc);
      return this.skPtr;
    }
    if (f.kind !== 'plain' && p) {
      const at = f.kind === 'data' ? p.start : f.kind === 'data_end' ? p.end : p.meta;
      return pointer(this.pktRegion, at - regionStart(p));
    }
    const a = this.ctxBase + offsetOf(ptr);
    const dv = this.mem.dv;
    return size === 8 ? dv.getBigUint64(a, true) : BigInt(size === 4 ? dv.getUint32(a, true) : size === 2 ? dv.getUint16(a, true) : dv.getUint8(a));
  }

  ctxStore(ptr: bigint, size: number, value: bigint, pc: number): void {
    const f = this.field(ptr, size, pc);
    if (!f.writable) throw makeFault(FaultKind.CTX_ACCESS, pc, ptr, size);
    const a = this.ctxBase + offsetOf(ptr);
    const dv = this.mem.dv;
    if (size === 8) dv.setBigUint64(a, BigInt.asUintN(64, value), true);
    else if (size === 4) dv.setUint32(a, Number(value & 0xffffffffn), true);
    else if (size === 2) dv.setUint16(a, Number(value & 0xffffn), true);
    else dv.setUint8(a, Number(value & 0xffn));
  }

  ldAbs(pc: number, offset: bigint, size: number): bigint {
    const p = this.packet;
    if (!p || !this.current.type.ldAbs) throw makeFault(FaultKind.BAD_INSN, pc);
    // skb->data is the network header for socket filters, the MAC header for tc; SKF_NET_OFF/SKF_LL_OFF select one.
    const dataAt = p.start + (this.current.type.l3Data ? p.netOffset : 0);
    let at: number;
    if (offset >= -0x200000n && offset < -0x100000n) at = p.start + Number(offset + 0x200000n);
    else if (offset >= -0x100000n && offset < 0n) at = p.start + p.netOffset + Number(offset + 0x100000n);
    else at = dataAt + Number(offset);
    if (offset < -0x200000n || at < p.start || at + size > p.end || offset > 0xffffffffn) {
      this.mem.dv.setInt32(Layout.STOP, 1, true);
      return 0n;
    }
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(p.buf[at + i]);
    return v;
  }

  mapValue(pc: number): bigint {
    const code = this.current.code;
    const m = this.current.mapList[code.ldMap[pc]];
    let base = this.mapValues[code.ldMap[pc]];
    if (base === undefined) {
      const view = m.lookupElem(new Uint8Array(m.spec.keySize));
      if (!view) throw makeFault(FaultKind.BAD_POINTER, pc);
      base = this.mem.mirror(view, ((m.spec.flags ?? 0) & 0x80) === 0, `map ${m.spec.name} value`, pc, code.ldMap[pc]);
      this.mapValues[code.ldMap[pc]] = base;
    }
    return base + code.wide[pc];
  }

  private tailCall(map: VmMapLike, index: number): boolean {
    if (this.tailCount >= MAX_TAIL_CALLS) return false;
    const target = map.program?.(index >>> 0);
    if (!(target instanceof VmProgram) || target.closed) return false;
    this.pendingTail = target;
    this.tailCount++;
    this.mem.dv.setInt32(Layout.STOP, 1, true);
    return true;
  }

  /** Runs once; the program's own code first, then any tail calls. `collect` false skips building the result (a test run's repeats). */
  run(opts: VmRunOptions, collect: false): undefined;
  run(opts: VmRunOptions, collect?: true): VmRunResult;
  run(opts: VmRunOptions, collect = true): VmRunResult | undefined {
    const mem = this.mem;
    const t = this.owner.type;
    mem.reset(this.stackClean);
    this.stackClean = false; // until this run ends without writing the frame
    this.current = this.owner;
    this.packet = undefined;
    this.skPtr = undefined;
    this.pendingTail = undefined;
    this.tailCount = 0;
    if (this.mapValues.length) this.mapValues = [];
    if (this.env.trace.length) this.env.trace.length = 0;
    if (this.env.records.size) this.env.records.clear();
    if (this.env.skStorage.size) this.env.skStorage.clear();
    // A stepped run's hook counts the budget (the interpreter calls it when the budget in memory runs out).
    mem.head[Layout.BUDGET >> 2] = this.stepHook ? 0 : this.budgetLo;
    mem.head[(Layout.BUDGET >> 2) + 1] = this.stepHook ? 0 : this.budgetHi;
    let args: readonly bigint[] = opts.args ?? NO_ARGS;
    let memPtr = 0n;
    let memRegion = 0;
    if (t.packet) {
      this.setupPacket(t, opts.data ?? new Uint8Array(0));
      this.setupCtx(t, opts.ctx);
      args = CTX_ARGS;
    } else if (opts.ctx) {
      args = [mem.addBytes(opts.ctx, false, 'ctx')];
    } else if (opts.mem !== undefined) {
      const len = opts.mem.length;
      memRegion = len ? mem.addBytesRegion(opts.mem, true, 'mem') : 0;
      memPtr = len ? pointer(memRegion, 0) : 0n;
      if (len !== this.memLen) { this.memLen = len; this.memLenBig = BigInt(len); }
      // One array reused per run (engines read it before they return).
      this.memArgs[0] = memPtr;
      this.memArgs[1] = this.memLenBig;
      args = this.memArgs;
    }
    const ctxArg = args[0] ?? 0n;
    let r0 = this.engineFor(this.current).exec(0, args, 0, args !== opts.args);
    while (this.pendingTail) {
      this.current = this.pendingTail;
      this.pendingTail = undefined;
      mem.dv.setInt32(Layout.STOP, 0, true);
      mem.u8.fill(0, Layout.STACKS, Layout.STACKS + 512);
      r0 = this.engineFor(this.current).exec(0, [ctxArg], 0, true);
    }
    // User-given arguments may be forged pointers into the frame: then zero it next time regardless.
    this.stackClean = this.tailCount === 0 && !this.owner.writesFrame && args !== opts.args;
    mem.flush();
    if (!collect) return undefined;
    const res: VmRunResult = { r0, dataOut: EMPTY, trace: this.env.trace.length ? [...this.env.trace] : [] };
    const p = this.packet as PacketState | undefined;
    if (p) {
      res.dataOut = p.buf.slice(t.packet === 'xdp' ? p.meta : p.start, p.end);
      res.ctxOut = this.ctxOut(t);
      if (p.redirect) res.redirect = p.redirect;
    }
    if (memRegion !== 0) res.memOut = mem.regionBytes(memRegion).slice();
    return res;
  }

  private setupPacket(t: ProgramTypeInfo, data: Uint8Array): void {
    const mem = this.mem;
    const head = t.packet === 'xdp' ? XDP_HEADROOM : SKB_HEADROOM;
    const tail = t.packet === 'xdp' ? XDP_TAILROOM : 0;
    const size = head + data.length + tail;
    const base = mem.alloc(size, -1, false);
    // The same place and size as the last run's packet (the usual repeat): keep its view, and
    // its head- and tailroom are still zero unless a resize exposed them to the program.
    let buf = this.lastBuf;
    const same = buf !== undefined && buf.byteOffset === base && buf.length === size && !this.roomTouched;
    if (!same) buf = this.lastBuf = mem.u8.subarray(base, base + size);
    // Only head- and tailroom need zeroing: the data is copied over the rest.
    if (!same && head) mem.u8.fill(0, base, base + head);
    if (!same && tail) mem.u8.fill(0, base + head + data.length, base + size);
    this.roomTouched = false;
    buf!.set(data, head);
    const pkt = new RunPacket(this, base, t.packetWritable, buf!, head, data.length, t.packet === 'xdp');
    if (t.l3Data) pkt.dataAt = Math.min(14, data.length);
    this.packet = pkt;
    this.pktRegion = mem.addRegion(base + regionStart(pkt), pkt.end - regionStart(pkt), t.packetWritable, 'packet');
  }

  /** Re-points packet pointers after a resize (see {@link RunPacket.changed}). */
  repointPacket(base: number, p: PacketState, writable: boolean): void {
    const mem = this.mem;
    this.roomTouched = true;
    // Old packet pointers stop working, as the verifier invalidates them after a resize.
    mem.setRegion(this.pktRegion, mem.table[this.pktRegion * 4], 0, 0);
    this.pktRegion = mem.addRegion(base + regionStart(p), p.end - regionStart(p), writable, 'packet');
    // skb->len follows the data (the context's len is read as the kernel reads the skb's).
    if (!p.xdp) this.setCtxU32(SKB.len, p.end - p.start - (p.dataAt ?? 0));
  }

  private setupCtx(t: ProgramTypeInfo, ctxIn: Uint8Array | undefined): void {
    const mem = this.mem;
    const base = mem.alloc(t.ctxSize);
    if (ctxIn) {
      if (ctxIn.length > t.ctxSize) throw new UsageError('E_VM_CTX_SIZE', `ctx has ${ctxIn.length} bytes, ${t.name} takes at most ${t.ctxSize}`);
      mem.u8.set(ctxIn, base);
    }
    this.ctxBase = base;
    // Lengths 0: no access reaches the context bytes directly; the engines route it through ctxLoad/ctxStore.
    mem.setRegion(CTX_REGION, base, 0, 0);
    const dv = mem.dv;
    const p = this.packet!;
    const len = p.end - p.start;
    if (t.packet === 'skb') {
      const d = p.buf.subarray(p.start, p.end);
      dv.setUint32(base + SKB.len, t.l3Data ? Math.max(0, len - 14) : len, true);
      // eth_type_trans: the test device is loopback (address 00:00:00:00:00:00).
      const dst = d.subarray(0, 6);
      const pktType = len < 14 ? 0 : dst[0] & 1 ? (dst.every((b) => b === 0xff) ? 1 : 2) : dst.every((b) => b === 0) ? 0 : 3;
      dv.setUint32(base + SKB.pkt_type, pktType, true);
      dv.setUint32(base + SKB.protocol, len >= 14 ? skbProtocol(d) : 0, true);
      if (!ctxIn) dv.setUint32(base + SKB.ifindex, 1, true);
      else if (dv.getUint32(base + SKB.ifindex, true) === 0) dv.setUint32(base + SKB.ifindex, 1, true);
      if (dv.getUint32(base + SKB.wire_len, true) === 0) dv.setUint32(base + SKB.wire_len, len, true);
      // With a ctx in, gso_segs is what it says (the kernel copies it over); without one, the skb's own 1.
      if (!ctxIn && dv.getUint32(base + SKB.gso_segs, true) === 0) dv.setUint32(base + SKB.gso_segs, 1, true);
    } else {
      if (dv.getUint32(base + XDP_MD.ingress_ifindex, true) === 0) dv.setUint32(base + XDP_MD.ingress_ifindex, 1, true);
    }
  }

  private ctxOut(t: ProgramTypeInfo): Uint8Array {
    const out = this.mem.u8.slice(this.ctxBase, this.ctxBase + t.ctxSize);
    const p = this.packet!;
    const dv = new DataView(out.buffer);
    if (t.packet === 'xdp') {
      dv.setUint32(XDP_MD.data, p.start - p.meta, true);
      dv.setUint32(XDP_MD.data_end, p.end - p.meta, true);
      dv.setUint32(XDP_MD.data_meta, 0, true);
    }
    return out;
  }
}

/** A program loaded into the VM: the same {@link BpfProgram} interface the kernel backend offers, plus {@link run}. */
export class VmProgram implements BpfProgram {
  readonly spec: ProgramSpec;
  readonly code: VmCode;
  readonly engine: EngineKind;
  readonly type: ProgramTypeInfo;
  /** Maps by the names the program's `lddw`s use, as a kernel program's `maps` (the same keys on both backends). */
  readonly maps: ReadonlyMap<string, VmMapLike>;
  /** The same maps in the order the code's map indexes refer to them. */
  readonly mapList: readonly VmMapLike[];
  readonly host: VmHost;
  readonly budget: number;
  /** The number a program array holds to name this program for `bpf_tail_call`. */
  readonly fd: number;
  readonly helperTable: ReadonlyMap<number, HelperDef>;
  /** False when no run can write the first stack frame (no store through r10, r10 never copied): it then stays zero between runs. */
  readonly writesFrame: boolean;
  /** What the verifier proved (undefined when the program was loaded unverified): the JIT drops the checks it makes redundant. */
  readonly facts: VerifierFacts | undefined;
  private runner: Runner | undefined;
  private jit: JitModule | undefined;
  private readonly memorySize: number;
  /** True after close(); a closed program is no tail-call target. */
  closed = false;

  /** Use {@link load}. */
  constructor(spec: ProgramSpec, code: VmCode, maps: VmMapLike[], helperTable: ReadonlyMap<number, HelperDef>, type: ProgramTypeInfo, options: VmLoadOptions, names: readonly string[] = [], facts?: VerifierFacts) {
    this.spec = spec;
    this.facts = facts;
    this.code = code;
    this.mapList = maps;
    this.maps = new Map(maps.map((m, i) => [names[i] ?? m.spec.name, m]));
    this.helperTable = helperTable;
    this.type = type;
    this.writesFrame = writesFrame(code);
    let engine = options.engine ?? (jitAvailable() ? 'jit' : 'interp');
    if (engine === 'jit') {
      try {
        this.jit = compileJit(code, type.fields !== undefined, type.fields, facts);
      } catch (e) {
        // Without an explicit choice, a program the JIT cannot take runs on the interpreter.
        if (options.engine === 'jit' || !(e instanceof UnsupportedError)) throw e;
        engine = 'interp';
      }
    }
    this.engine = engine;
    this.host = options.host ?? {};
    this.budget = options.budget ?? 50_000_000;
    this.memorySize = options.memorySize ?? 4 << 20;
    this.fd = handleOf(this);
  }

  /** The compiled WebAssembly module (compiled once, instantiated per memory). */
  jitModule(): JitModule {
    this.jit ??= compileJit(this.code, this.type.fields !== undefined, this.type.fields, this.facts);
    return this.jit;
  }

  /** Runs the program once and returns r0 (64 bits) with the packet, context and memory after the run. */
  run(options: VmRunOptions = {}): VmRunResult {
    return this.runnerFor(options).run(options);
  }

  /**
   * Runs once on the interpreter (whatever the engine), calling `step` before every
   * instruction with the live registers (`step` enforces {@link budget}: the run does not), and `memory` once with the run's memory before the
   * first instruction (a stack frame is 512 bytes at `Layout.STACKS + depth *
   * STACK_SIZE`). The seam under `traceRun`; a run of its own, not sharing {@link run}'s state.
   */
  runStepped(options: VmRunOptions, step: StepHook, memory?: (mem: VmMemory) => void): VmRunResult {
    if (this.closed) throw new UsageError('E_VM_CLOSED', `program "${this.spec.name}" is closed`);
    const runner = new Runner(this, this.memoryFor(options), step);
    memory?.(runner.mem);
    return runner.run(options);
  }

  private memoryFor(options: VmRunOptions): number {
    const need = Layout.HEAP + (options.data?.length ?? 0) + (options.mem?.length ?? 0) + (options.ctx?.length ?? 0) + (1 << 20);
    return Math.max(this.memorySize, need);
  }

  /** The run state, made (or grown) for the input's size. */
  private runnerFor(options: VmRunOptions): Runner {
    if (this.closed) throw new UsageError('E_VM_CLOSED', `program "${this.spec.name}" is closed`);
    const size = this.memoryFor(options);
    if (!this.runner || this.runner.mem.u8.length < size) this.runner = new Runner(this, size);
    return this.runner;
  }

  /** Like BPF_PROG_TEST_RUN: runs `repeat` times, returns the last result and the mean time per run. */
  testRun(options: TestRunOptions): TestRunResult {
    if (this.closed) throw new UsageError('E_VM_CLOSED', `program "${this.spec.name}" is closed`);
    checkTestRun(this.spec.name, this.type, options, this.spec.expectedAttachType, this.spec.insns);
    const repeat = Math.max(1, options.repeat ?? 1);
    const perf = (globalThis as { performance?: { now(): number } }).performance;
    const t0 = perf ? perf.now() : Date.now();
    let opts: VmRunOptions = { data: options.data, ctx: options.ctx };
    // As the kernel's repeat loop: every run executes, only the last one's output is kept.
    const runner = this.runnerFor(opts);
    // The kernel repeats an skb program on one skb: what a run writes to the packet and to
    // mark/priority/cb/... is what the next run starts from.
    const chain = this.type.packet === 'skb';
    for (let i = 1; i < repeat; i++) {
      if (!chain) {
        runner.run(opts, false);
        continue;
      }
      const mid = runner.run(opts);
      opts = { data: mid.dataOut, ctx: mid.ctxOut };
    }
    const r = runner.run(opts);
    const t1 = perf ? perf.now() : Date.now();
    // The kernel runs a socket filter past the L2 header and pushes that header back zeroed (bpf_prog_test_run_skb).
    const dataOut = this.type.l3Data && r!.dataOut.length > 0 ? r!.dataOut.slice() : r!.dataOut;
    if (dataOut !== r!.dataOut) dataOut.fill(0, 0, Math.min(14, dataOut.length));
    const out: TestRunResult = { retval: Number(r!.r0 & 0xffffffffn), dataOut, duration: Math.round(((t1 - t0) * 1e6) / repeat) };
    if (r!.ctxOut && options.ctx) {
      const v = new DataView(r!.ctxOut.buffer, r!.ctxOut.byteOffset);
      out.ctxOut = this.type.packet === 'skb' ? skbCtxOut(options.ctx, r!.ctxOut)
        : this.type.packet === 'xdp' ? xdpCtxOut(options.ctx, v.getUint32(XDP_MD.data, true), v.getUint32(XDP_MD.data_end, true)) : r!.ctxOut;
    }
    return out;
  }

  close(): void {
    this.closed = true;
    this.runner = undefined;
    releaseHandle(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * `skb->protocol` as eth_type_trans sets it, in the byte order the ctx field reads it (network order in memory):
 * the Ethernet II type, or for an 802.3 length field ETH_P_802_3 (raw IPX, payload starts 0xFFFF) else ETH_P_802_2.
 */
function skbProtocol(frame: Uint8Array): number {
  const type = (frame[12] << 8) | frame[13];
  const proto = type >= 0x600 ? type : frame.length >= 16 && frame[14] === 0xff && frame[15] === 0xff ? 0x0001 : 0x0004;
  return (proto >> 8) | ((proto & 0xff) << 8);
}

/**
 * The program with each instruction no path reaches that the engines cannot take (a write to r10, an unknown opcode,
 * a reserved field) replaced by `ja -1`, as the kernel's sanitize_dead_code does: the kernel loads such dead code.
 */
function sanitizeDeadCode(insns: readonly Insn[], reached: readonly boolean[]): readonly Insn[] {
  let out: Insn[] | undefined;
  let slot = 0;
  insns.forEach((insn, i) => {
    const info = describeInsn(insn);
    if (!reached[slot] && (info.kind === undefined || info.problems.length > 0 || (insn.dst === 10 && info.writesDst))) {
      out ??= insns.slice();
      out[i] = insn.code === 0x18 ? { code: 0x18, dst: 0, src: 0, off: 0, imm: 0, imm64: 0n } : { code: 0x05, dst: 0, src: 0, off: -1, imm: 0 };
    }
    slot += insn.code === 0x18 ? 2 : 1;
  });
  return out ?? insns;
}

/**
 * Loads a spec into the VM: checks its structure, binds maps by name, checks every
 * helper exists, and compiles it for the chosen engine.
 *
 * @example
 * const prog = vm.load({ name: 'xdp_pass', type: ProgType.BPF_PROG_TYPE_XDP, insns, license: 'GPL' }, { engine: 'jit' });
 * const { retval, dataOut } = prog.testRun({ data: frame }); // as BPF_PROG_TEST_RUN
 */
export function load(spec: ProgramSpec, options: VmLoadOptions = {}): VmProgram {
  try {
    const type = PROGRAM_TYPES_BY_ID.get(spec.type);
    if (!type) throw new ValidationError('E_VM_PROG_TYPE', `program type ${spec.type} not available in the VM`);
    if (options.engine === 'jit' && !jitAvailable()) throw new ValidationError('E_VM_NO_WASM', 'WebAssembly is not available for the jit engine');
    const verifying = options.verify !== false && spec.type !== 0;
    // With the verifier, a write to r10, an unknown opcode or a reserved field is refused where a path reaches it (dead
    // code is replaced below); without, everywhere (the engines take r10 as read-only and decode only valid forms).
    checkProgram(spec.insns, { frameWrites: !verifying, fields: !verifying });
    const given = options.maps instanceof Map ? options.maps : new Map(Object.entries(options.maps ?? {}));
    const maps: VmMapLike[] = [];
    const names: string[] = [];
    for (const ms of spec.maps ?? []) {
      const m = given.get(ms.name) ?? (options.createMap ?? createMap)(ms);
      maps.push(m);
      names.push(ms.name);
    }
    for (const [name, m] of given) if (!names.includes(name)) { maps.push(m); names.push(name); }
    let facts: VerifierFacts | undefined;
    let insns: readonly Insn[] = spec.insns;
    if (verifying) {
      const vopts = typeof options.verify === 'object' ? options.verify : {};
      const v = runVerifier(spec, { ...vopts, maps: maps.map((m, i) => ({ ...m.spec, name: names[i] })) });
      facts = v.facts;
      insns = sanitizeDeadCode(spec.insns, v.reached);
    }
    const table = new Map<number, HelperDef>(HELPERS.map((h) => [h.id, h]));
    for (const h of options.helpers ?? []) table.set(h.id, h);
    const code = prepareCode(insns, {
      mapIndex: (ref, imm) => (ref !== undefined ? (names.indexOf(ref) >= 0 ? names.indexOf(ref) : undefined) : imm >= 0 && imm < maps.length ? imm : undefined),
      hasHelper: (id) => table.has(id),
      helperName: (id) => (table.get(id)?.name ? `bpf_${table.get(id)!.name}` : helperName(id) ?? `#${id}`),
    });
    return new VmProgram(spec, code, maps, table, type, options, names, facts);
  } catch (e) {
    if (e instanceof BpfkitError) throw e.withContext(`load program "${spec.name}"`);
    throw e;
  }
}

/** The VM backend: `vm.load(spec, options)`, the counterpart of the kernel backend's load. */
export const vm = { load } as const;
