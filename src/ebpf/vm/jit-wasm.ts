/** The WebAssembly JIT: compiles a prepared eBPF program into one wasm function (registers in i64 locals, blocks without per-instruction dispatch). */

import { Cls, LdKind, type VmCode } from './code.js';
import type { Engine, RunHooks } from './engine.js';
import { CTX_REGION, FaultKind, Layout, MAX_CALL_DEPTH, MAX_REGIONS, OFFSET_BIAS, STACK_REGION, STACK_SIZE, makeFault, offsetOf } from './memory.js';
import type { CtxField } from './program-types.js';
import { analyzeRanges, type RangeInfo } from './range.js';
import type { VerifierFacts } from '../verifier/verifier.js';
import { ByteWriter, T, W } from './wasm-writer.js';
import { Interpreter } from './interpreter.js';
import { UnsupportedError } from '../../util/index.js';

/** The part of the WebAssembly JS API the JIT uses (the core compiles without DOM or Node types). */
interface WasmMemoryObject {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemoryObject;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

/** True when this platform has WebAssembly. */
export function jitAvailable(): boolean {
  return wasmApi() !== undefined;
}

/** A WebAssembly memory of at least `size` bytes, or undefined without WebAssembly. */
export function newWasmMemory(size: number): { memory: unknown; buffer: ArrayBuffer } | undefined {
  const api = wasmApi();
  if (!api) return undefined;
  const pages = Math.ceil(size / 65536);
  const memory = new api.Memory({ initial: pages, maximum: pages });
  return { memory, buffer: memory.buffer };
}

// Function indices: imports first, then our functions.
const F_FAULT = 0, F_HELPER = 1, F_CTX_LOAD = 2, F_CTX_STORE = 3, F_LD_ABS = 4, F_MAP_VALUE = 5, F_RESUME = 6;
const F_EXEC = 7, F_BSWAP32 = 9, F_BSWAP64 = 10;
// Locals of exec: params entry, depth; r0..r10; scratch t, t2; pc, id; budget; base.
const L_ENTRY = 0, L_DEPTH = 1, L_R0 = 2, L_T = 13, L_T2 = 14, L_PC = 15, L_ID = 16, L_BUDGET = 17, L_BASE = 18, L_OFF = 19, L_FP = 20;
// The per-register access cache (r0..r9): linear address of the register's pointer, and bytes readable / writable from it.
const L_LIN = 21, L_RREM = 31, L_WREM = 41;
/** The packet start's linear base minus the pointer bias: a proven load's address is the pointer's low word plus this. */
const L_PKTK = 51;
/** Fault kinds the JS side classifies itself from the pointer (exactly as the interpreter's checks say). */
const MEM_READ = -1, MEM_WRITE = -2;

const reg = (r: number): number => L_R0 + r;

/** Emits the body of `exec`. */
class Emitter {
  readonly w = new ByteWriter();
  private readonly blockOf: Int32Array;
  private readonly nb: number;
  /** The index of the block being emitted, and how many `if`s are open inside it. */
  private cur = 0;
  private nest = 0;
  /**
   * Registers whose pointer has been resolved in this extended block (straight-line code entered
   * only by falling through): their region's linear address and remaining bytes sit in locals, so
   * a further access costs one compare. Any write to the register, any call out, and any block
   * that a jump can enter forgets them.
   */
  private readonly cached = new Array<boolean>(10).fill(false);
  /** Slots that a jump, call, return or callback can enter (the cache does not survive them). */
  private readonly entered = new Set<number>();

  constructor(private readonly code: VmCode, private readonly ctxConverted: boolean, private readonly ranges?: RangeInfo, private readonly memEntry = false) {
    this.blockOf = new Int32Array(code.slots).fill(-1);
    code.blockStarts.forEach((s, i) => { this.blockOf[s] = i; });
    this.nb = code.blockStarts.length;
    this.entered.add(0);
    for (const f of code.funcEntries) this.entered.add(f);
    for (let pc = 0; pc < code.slots; pc++) {
      const op = code.op[pc], cls = op & 7, o = op & 0xf0;
      if (cls !== Cls.JMP && cls !== Cls.JMP32) continue;
      if (o === 0x80 && code.src[pc] === 1 && op === 0x85) { this.entered.add(pc + 1 + code.imm[pc]); this.entered.add(pc + 1); }
      else if (o === 0x00) this.entered.add(pc + 1 + (cls === Cls.JMP ? code.off[pc] : code.imm[pc]));
      else if (o !== 0x80 && o !== 0x90) this.entered.add(pc + 1 + code.off[pc]);
    }
    const nb = this.nb;
    this.charge = new Uint8Array(nb);
    this.need = new Float64Array(nb);
    this.rest = new Float64Array(nb);
    // Charge points: where the dispatcher can enter (entry, callbacks, calls, returns) and loop headers.
    const mark = (slot: number): void => { if (slot >= 0 && slot < code.slots && this.blockOf[slot] >= 0) this.charge[this.blockOf[slot]] = 1; };
    mark(0);
    for (const f of code.funcEntries) mark(f);
    const succ: number[][] = [];
    for (let b = 0; b < nb; b++) {
      const start = code.blockStarts[b];
      let last = start;
      for (let k = 1; k < code.blockLen[start]; k++) last += code.op[last] === 0x18 ? 2 : 1;
      const op = code.op[last], cls = op & 7, o = op & 0xf0, next = last + (op === 0x18 ? 2 : 1);
      const out: number[] = [];
      if (cls === Cls.JMP || cls === Cls.JMP32) {
        if (o === 0x90) { /* exit */ } else if (op === 0x85 && code.src[last] === 1) { mark(last + 1 + code.imm[last]); mark(next); }
        else if (o === 0x80) out.push(next);
        else {
          const t = last + 1 + (op === 0x06 ? code.imm[last] : code.off[last]);
          if (t <= last) mark(t); else out.push(t);
          if (o !== 0x00) out.push(next);
        }
      } else out.push(next);
      succ.push(out);
    }
    // need[b]: the most instructions from b's start to the next charge point (forward edges only, so one pass backwards).
    for (let b = nb - 1; b >= 0; b--) {
      let most = 0;
      for (const t of succ[b]) {
        const m = t < code.slots ? this.blockOf[t] : -1;
        if (m > b && !this.charge[m]) most = Math.max(most, this.need[m]);
      }
      this.rest[b] = most;
      this.need[b] = code.blockLen[code.blockStarts[b]] + most;
    }
  }
  /** Blocks that check the budget. */
  private readonly charge: Uint8Array;
  /** Per block: instructions its region may run from its start (its own included), and after it. */
  private readonly need: Float64Array;
  private readonly rest: Float64Array;

  private op(...bs: number[]): this { this.w.bytes(bs); return this; }
  private get(l: number): this { return this.op(W.local_get).u(l); }
  private set(l: number): this { return this.op(W.local_set).u(l); }
  private tee(l: number): this { return this.op(W.local_tee).u(l); }
  private u(v: number): this { this.w.u32(v); return this; }
  private i32(v: number): this { this.op(W.i32_const); this.w.s32(v); return this; }
  private i64(v: bigint | number): this { this.op(W.i64_const); this.w.s64(BigInt(v)); return this; }
  private mem(opcode: number, offset = 0): this { return this.op(opcode, 0).u(offset); }
  private if(type: number = T.void): this { this.nest++; return this.op(W.if, type); }
  private else(): this { return this.op(W.else); }
  private end(): this { this.nest--; return this.op(W.end); }
  private call(f: number): this { return this.op(W.call).u(f); }

  /** fault(kind, pc, t, size); the import throws. */
  private fault(kind: number, pc: number, ptrLocal = -1, size = 0): this {
    this.i32(kind).i32(pc);
    if (ptrLocal >= 0) this.get(ptrLocal); else this.i64(0);
    return this.i32(size).call(F_FAULT).op(W.unreachable);
  }

  /** Saves the budget and depth where helpers (and nested runs) see them. */
  private sync(): this {
    this.i32(0).get(L_BUDGET).mem(W.i64_store, Layout.BUDGET);
    return this.i32(0).get(L_DEPTH).mem(W.i32_store, Layout.DEPTH);
  }

  private ret(): this {
    this.i32(0).get(L_BUDGET).mem(W.i64_store, Layout.BUDGET);
    return this.get(reg(0)).op(W.return);
  }

  /**
   * After a hook at `pc`: reload the budget (callbacks spend it); return at once when the hook
   * set STOP; hand over to the interpreter when the rest of the region might exhaust the budget.
   */
  private afterHook(pc: number): this {
    this.i32(0).mem(W.i64_load, Layout.BUDGET).set(L_BUDGET);
    this.i32(0).mem(W.i32_load, Layout.STOP).if();
    this.ret();
    this.end();
    this.get(L_BUDGET).i64(this.rest[this.cur]).op(W.i64_lt_s).if();
    this.resume(pc + 1);
    return this.end();
  }

  /** Continues the run in the interpreter at slot `pc` with this frame's registers, and returns its r0. */
  private resume(pc: number): this {
    // Through memory: registers passed as call arguments stay live on the hot path too (slower loops).
    for (let r = 0; r < 10; r++) this.i32(0).get(reg(r)).mem(W.i64_store, Layout.SPILL + r * 8);
    this.sync().i32(pc).get(L_DEPTH).get(L_BASE);
    return this.call(F_RESUME).op(W.return);
  }

  /** r10 = pointer to the top of the current frame's stack; L_FP = its linear address. */
  private frameReg(): this {
    this.get(L_DEPTH).i32(STACK_SIZE).op(W.i32_mul).i32(Layout.STACKS + STACK_SIZE).op(W.i32_add).set(L_FP);
    this.get(L_DEPTH).op(W.i64_extend_i32_u).i64(STACK_REGION).op(W.i64_add).i64(32).op(W.i64_shl).i64(OFFSET_BIAS + STACK_SIZE).op(W.i64_add);
    return this.set(reg(10));
  }

  /** Jumps to slot `target`: a direct `br` forward, through the dispatcher backward. */
  private jump(target: number): this {
    const m = this.blockOf[target];
    if (m > this.cur) return this.op(W.br).u(m - this.cur - 1 + this.nest);
    this.i32(target).set(L_PC);
    return this.op(W.br).u(this.nb - this.cur + this.nest);
  }

  /** Jumps when the i32 on the stack is non-zero. */
  private jumpIf(target: number): this {
    const m = this.blockOf[target];
    if (m > this.cur) return this.op(W.br_if).u(m - this.cur - 1 + this.nest);
    this.if();
    this.jump(target);
    return this.end();
  }

  /**
   * Emits a checked access of `size` bytes at r[base]+off: computes the linear address and
   * runs `fast` with it on the stack. When the region is the converted context, `ctx` runs
   * instead (it sees the pointer in L_T). `result` is the block type both leave.
   */
  private access(base: number, off: number, size: number, write: boolean, pc: number, ctx: (() => void) | undefined, result: number, fast: (offset?: number) => void): void {
    // Proven by the range analysis: inside the packet, whatever the run's values.
    if (!write && this.ranges?.proven[pc]) {
      this.get(reg(base)).op(W.i32_wrap_i64).get(L_PKTK).op(W.i32_add);
      if (off < 0) this.i32(off).op(W.i32_add);
      fast(Math.max(off, 0));
      return;
    }
    // r10 is read-only: [r10 + off] lies in the current frame exactly when the constant offset says so.
    if (base === 10 && off >= -STACK_SIZE && off + size <= 0) {
      this.get(L_FP).i32(off).op(W.i32_add);
      fast();
      return;
    }
    if (base < 10 && off >= 0) {
      // Cached: fault-free when off + size fits in the bytes left from the register's position;
      // anything else (context, a bad pointer, out of bounds) takes the full path below.
      if (!this.cached[base]) this.fillCache(base);
      this.get((write ? L_WREM : L_RREM) + base).i64(off + size).op(W.i64_lt_s).if(result);
      this.checkedAccess(base, off, size, write, pc, ctx, result, fast);
      this.else();
      this.get(L_LIN + base);
      fast(off);
      this.end();
      return;
    }
    this.checkedAccess(base, off, size, write, pc, ctx, result, fast);
  }

  /** L_PKTK from the packet pointer in r[r]: its region's linear base minus the bias (the region id masked, so a garbage value cannot trap). */
  private packetBase(r: number): this {
    this.get(reg(r)).i64(32).op(W.i64_shr_u).op(W.i32_wrap_i64).i32(MAX_REGIONS - 1).op(W.i32_and).i32(4).op(W.i32_shl);
    return this.mem(W.i32_load, Layout.TABLE).i32(OFFSET_BIAS | 0).op(W.i32_sub).set(L_PKTK);
  }

  /** Resolves r[base] once: its linear address and the bytes readable and writable from it (negative when unusable). */
  private fillCache(base: number): void {
    this.cached[base] = true;
    this.get(reg(base)).i64(32).op(W.i64_shr_u).tee(L_T2).i64(MAX_REGIONS).op(W.i64_ge_u).if();
    this.i64(-1).set(L_RREM + base).i64(-1).set(L_WREM + base);
    this.else();
    this.get(L_T2).op(W.i32_wrap_i64).i32(4).op(W.i32_shl).set(L_ID);
    this.get(reg(base)).op(W.i32_wrap_i64).i32(OFFSET_BIAS | 0).op(W.i32_xor).set(L_OFF);
    this.get(L_ID).mem(W.i32_load, Layout.TABLE).get(L_OFF).op(W.i32_add).set(L_LIN + base);
    this.get(L_ID).mem(W.i64_load32_u, Layout.TABLE + 4).get(L_OFF).op(W.i64_extend_i32_u).op(W.i64_sub).set(L_RREM + base);
    this.get(L_ID).mem(W.i64_load32_u, Layout.TABLE + 8).get(L_OFF).op(W.i64_extend_i32_u).op(W.i64_sub).set(L_WREM + base);
    this.end();
  }

  /** Forgets cached registers: one (it was written) or all (a call out may move regions). */
  private forget(r?: number): void {
    if (r === undefined) this.cached.fill(false);
    else if (r < 10) this.cached[r] = false;
  }

  /** The full access: region id, context, bounds; see {@link access}. */
  private checkedAccess(base: number, off: number, size: number, write: boolean, pc: number, ctx: (() => void) | undefined, result: number, fast: (offset?: number) => void): void {
    this.get(reg(base)).i64(off).op(W.i64_add).tee(L_T).i64(32).op(W.i64_shr_u).tee(L_T2);
    this.i64(MAX_REGIONS).op(W.i64_ge_u).if();
    this.fault(write ? MEM_WRITE : MEM_READ, pc, L_T, size);
    this.end();
    this.get(L_T2).op(W.i32_wrap_i64).i32(4).op(W.i32_shl).set(L_ID);
    const useCtx = ctx !== undefined && this.ctxConverted;
    if (useCtx) {
      this.get(L_ID).i32(CTX_REGION * 16).op(W.i32_eq).if(result);
      ctx();
      this.else();
    }
    // Offset in the region as u32 (>= 2^31 below the region); offset + size > length faults.
    this.get(L_T).op(W.i32_wrap_i64).i32(OFFSET_BIAS | 0).op(W.i32_xor).tee(L_OFF).op(W.i64_extend_i32_u).i64(size).op(W.i64_add);
    this.get(L_ID).mem(W.i64_load32_u, Layout.TABLE + (write ? 8 : 4)).op(W.i64_gt_u).if();
    this.fault(write ? MEM_WRITE : MEM_READ, pc, L_T, size);
    this.end();
    this.get(L_ID).mem(W.i32_load, Layout.TABLE).get(L_OFF).op(W.i32_add);
    fast();
    if (useCtx) this.end();
  }

  emit(): Uint8Array {
    const { code } = this;
    const w = this.w;
    // Locals: 13 i64 (r0..r10, t, t2), 2 i32 (pc, id), 1 i64 (budget), 3 i32 (base, off, fp), 10 i32 + 20 i64 (access cache).
    w.u32(7).u32(13).byte(T.i64).u32(2).byte(T.i32).u32(1).byte(T.i64).u32(3).byte(T.i32).u32(10).byte(T.i32).u32(20).byte(T.i64).u32(1).byte(T.i32);
    for (let r = 1; r <= 5; r++) this.i32(0).mem(W.i64_load, Layout.ARGS + (r - 1) * 8).set(reg(r));
    if (this.memEntry && this.ranges?.any) this.packetBase(1);
    this.frameReg();
    this.i32(0).mem(W.i64_load, Layout.BUDGET).set(L_BUDGET);
    this.get(L_DEPTH).set(L_BASE);
    this.get(L_ENTRY).set(L_PC);
    this.op(W.loop, T.void);
    this.op(W.block, T.void); // $out
    for (let i = this.nb - 1; i >= 0; i--) this.op(W.block, T.void);
    // Dispatch: slot -> block, only for the blocks it can enter (entries, loop headers, return
    // sites: the charge points); fewer merge points let V8 keep values in registers across blocks.
    this.get(L_PC).op(W.br_table).u(code.slots);
    for (let s = 0; s < code.slots; s++) this.u(this.blockOf[s] >= 0 && this.charge[this.blockOf[s]] ? this.blockOf[s] : this.nb);
    this.u(this.nb);
    for (let b = 0; b < this.nb; b++) {
      this.op(W.end);
      this.cur = b;
      this.nest = 0;
      this.emitBlock(code.blockStarts[b]);
    }
    this.op(W.end); // $out
    const last = code.blockStarts[this.nb - 1];
    let endPc = last;
    for (let k = 0; k < code.blockLen[last]; k++) endPc += code.op[endPc] === 0x18 ? 2 : 1;
    this.fault(FaultKind.FELL_OFF, Math.max(0, endPc - 1));
    this.op(W.end); // loop
    this.op(W.unreachable, W.end);
    return w.finish();
  }

  private emitBlock(start: number): void {
    const code = this.code;
    const len = code.blockLen[start];
    if (this.entered.has(start)) this.forget();
    // The budget: a charge point checks that the longest way to the next one fits, else the
    // interpreter takes over (it faults at the very block the per-block rule says); blocks
    // in between only subtract.
    if (this.charge[this.cur]) {
      this.get(L_BUDGET).i64(this.need[this.cur]).op(W.i64_lt_s).if();
      this.resume(start);
      this.end();
    }
    this.get(L_BUDGET).i64(len).op(W.i64_sub).set(L_BUDGET);
    let pc = start;
    for (let k = 0; k < len; k++) {
      this.emitInsn(pc);
      this.forgetWritten(pc);
      pc += code.op[pc] === 0x18 ? 2 : 1;
    }
  }

  /** Drops the cache entries instruction `pc` invalidates: the registers it writes, or all after a call out. */
  private forgetWritten(pc: number): void {
    const c = this.code;
    const op = c.op[pc], cls = op & 7;
    switch (cls) {
      case Cls.ALU: case Cls.ALU64: case Cls.LDX: this.forget(c.dst[pc]); return;
      case Cls.JMP: case Cls.JMP32: if ((op & 0xf0) === 0x80) this.forget(); return;
      case Cls.ST: case Cls.STX:
        if ((op & 0xe0) === 0xc0) { this.forget(0); this.forget(c.src[pc]); }
        return;
      default:
        if (op === 0x18) this.forget(c.dst[pc]);
        else this.forget(); // ld_abs / ld_ind call out
    }
  }

  private emitInsn(pc: number): void {
    const c = this.code;
    const op = c.op[pc], d = c.dst[pc], s = c.src[pc], off = c.off[pc], imm = c.imm[pc];
    const cls = op & 7;
    switch (cls) {
      case Cls.ALU64: return this.alu64(op, d, s, off, imm);
      case Cls.ALU: return this.alu32(op, d, s, off, imm);
      case Cls.JMP: case Cls.JMP32: return this.jmp(pc, op, d, s, off, imm);
      case Cls.LDX: {
        const size = SIZE_OF[op & 0x18];
        const sx = (op & 0xe0) === 0x80;
        this.access(s, off, size, false, pc, () => { this.get(L_T).i32(size).i32(pc).call(F_CTX_LOAD); }, T.i64, (o = 0) => { this.mem(sx ? LOAD_SX[size] : LOAD_ZX[size], o); });
        this.set(reg(d));
        if (this.ranges && this.ranges.any && this.ranges.rootReg[pc] === d) this.packetBase(d);
        return;
      }
      case Cls.ST: case Cls.STX: {
        const size = SIZE_OF[op & 0x18];
        if ((op & 0xe0) === 0xc0) return this.atomic(pc, d, s, off, imm, size);
        const value = (): void => { if (cls === Cls.STX) this.get(reg(s)); else this.i64(imm); };
        this.access(d, off, size, true, pc, () => {
          this.get(L_T).i32(size); value(); this.i32(pc).call(F_CTX_STORE);
        }, T.void, (o = 0) => { value(); this.mem(STORE[size], o); });
        return;
      }
      default: {
        if (op === 0x18) {
          if (c.ldKind[pc] === LdKind.CONST) this.i64(c.wide[pc]);
          else { this.sync().i32(pc).call(F_MAP_VALUE); }
          this.set(reg(d));
          return;
        }
        const size = SIZE_OF[op & 0x18];
        this.sync().i32(pc);
        if ((op & 0xe0) === 0x40) this.get(reg(s)).op(W.i32_wrap_i64, W.i64_extend_i32_s).i64(imm).op(W.i64_add);
        else this.i64(imm);
        this.i32(size).call(F_LD_ABS).set(reg(0));
        this.afterHook(pc);
      }
    }
  }

  /** D = byte swap of its low `width` bits; the 16-bit form inline (packet parsers use it per field), the others through a function. */
  private bswap(D: number, width: number): void {
    if (width === 16) {
      this.get(D).i64(0xff).op(W.i64_and).i64(8).op(W.i64_shl);
      this.get(D).i64(8).op(W.i64_shr_u).i64(0xff).op(W.i64_and).op(W.i64_or).set(D);
      return;
    }
    this.get(D).call(width === 32 ? F_BSWAP32 : F_BSWAP64).set(D);
  }

  private operand64(op: number, s: number, imm: number): this {
    return op & 8 ? this.get(reg(s)) : this.i64(imm);
  }

  private alu64(op: number, d: number, s: number, off: number, imm: number): void {
    const a = op & 0xf0, x = (op & 8) !== 0;
    const D = reg(d), S = reg(s);
    switch (a) {
      case 0xd0: // bswap
        this.bswap(D, imm);
        return;
      case 0x80: this.i64(0).get(D).op(W.i64_sub).set(D); return;
      case 0xb0:
        this.operand64(op, s, imm);
        if (off === 8) this.op(W.i64_extend8_s); else if (off === 16) this.op(W.i64_extend16_s); else if (off === 32) this.op(W.i64_extend32_s);
        this.set(D);
        return;
      case 0x30: case 0x90: {
        const div = a === 0x30, signed = off === 1;
        if (!x) {
          if (imm === 0) { if (div) this.i64(0).set(D); return; }
          if (signed && imm === -1) { if (div) this.i64(0).get(D).op(W.i64_sub).set(D); else this.i64(0).set(D); return; }
          this.get(D).i64(imm).op(div ? (signed ? W.i64_div_s : W.i64_div_u) : signed ? W.i64_rem_s : W.i64_rem_u).set(D);
          return;
        }
        this.get(S).op(W.i64_eqz).if(T.i64);
        if (div) this.i64(0); else this.get(D);
        this.else();
        if (signed) {
          this.get(S).i64(-1).op(W.i64_eq).if(T.i64);
          if (div) this.i64(0).get(D).op(W.i64_sub); else this.i64(0);
          this.else().get(D).get(S).op(div ? W.i64_div_s : W.i64_rem_s).end();
        } else this.get(D).get(S).op(div ? W.i64_div_u : W.i64_rem_u);
        this.end().set(D);
        return;
      }
      default:
        this.get(D);
        this.operand64(op, s, imm);
        this.op(ALU64_OP[a]).set(D);
    }
  }

  private alu32(op: number, d: number, s: number, off: number, imm: number): void {
    const a = op & 0xf0, x = (op & 8) !== 0;
    const D = reg(d), S = reg(s);
    const src = (): this => (x ? this.get(S).op(W.i32_wrap_i64) : this.i32(imm));
    switch (a) {
      case 0xd0: // le: truncate; be: swap
        if (x) this.bswap(D, imm);
        else if (imm === 16) this.get(D).i64(0xffff).op(W.i64_and).set(D);
        else if (imm === 32) this.get(D).i64(0xffffffff).op(W.i64_and).set(D);
        return;
      case 0x80: this.i32(0).get(D).op(W.i32_wrap_i64).op(W.i32_sub).op(W.i64_extend_i32_u).set(D); return;
      case 0xb0:
        src();
        if (off === 8) this.op(W.i32_extend8_s); else if (off === 16) this.op(W.i32_extend16_s);
        this.op(W.i64_extend_i32_u).set(D);
        return;
      case 0x30: case 0x90: {
        const div = a === 0x30, signed = off === 1;
        const dst = (): this => this.get(D).op(W.i32_wrap_i64);
        if (!x) {
          if (imm === 0) { if (div) this.i64(0).set(D); else this.get(D).i64(0xffffffff).op(W.i64_and).set(D); return; }
          if (signed && imm === -1) {
            if (div) this.i32(0).get(D).op(W.i32_wrap_i64).op(W.i32_sub).op(W.i64_extend_i32_u).set(D); else this.i64(0).set(D);
            return;
          }
          dst().i32(imm).op(div ? (signed ? W.i32_div_s : W.i32_div_u) : signed ? W.i32_rem_s : W.i32_rem_u).op(W.i64_extend_i32_u).set(D);
          return;
        }
        src().op(W.i32_eqz).if(T.i32);
        if (div) this.i32(0); else dst();
        this.else();
        if (signed) {
          src().i32(-1).op(W.i32_eq).if(T.i32);
          if (div) this.i32(0).get(D).op(W.i32_wrap_i64).op(W.i32_sub); else this.i32(0);
          this.else();
          dst(); src(); this.op(div ? W.i32_div_s : W.i32_rem_s).end();
        } else { dst(); src(); this.op(div ? W.i32_div_u : W.i32_rem_u); }
        this.end().op(W.i64_extend_i32_u).set(D);
        return;
      }
      default:
        this.get(D).op(W.i32_wrap_i64);
        src();
        this.op(ALU32_OP[a]).op(W.i64_extend_i32_u).set(D);
    }
  }

  private jmp(pc: number, op: number, d: number, s: number, off: number, imm: number): void {
    const a = op & 0xf0, is64 = (op & 7) === Cls.JMP;
    if (a === 0x00) { this.jump(pc + 1 + (is64 ? off : imm)); return; }
    if (a === 0x90) { // exit
      this.get(L_DEPTH).get(L_BASE).op(W.i32_eq).if();
      this.ret();
      this.end();
      this.get(L_DEPTH).i32(1).op(W.i32_sub).set(L_DEPTH);
      this.get(L_DEPTH).i32(48).op(W.i32_mul).set(L_ID);
      for (let r = 6; r <= 9; r++) this.get(L_ID).mem(W.i64_load, Layout.FRAMES + (r - 6) * 8).set(reg(r));
      this.get(L_ID).mem(W.i32_load, Layout.FRAMES + 32).set(L_PC);
      this.frameReg();
      this.op(W.br).u(this.nb - this.cur + this.nest);
      return;
    }
    if (a === 0x80) {
      if (op === 0x85 && s === 1) { // BPF-to-BPF call
        this.get(L_DEPTH).i32(MAX_CALL_DEPTH - 1).op(W.i32_ge_s).if();
        this.fault(FaultKind.CALL_DEPTH, pc);
        this.end();
        this.get(L_DEPTH).i32(48).op(W.i32_mul).set(L_ID);
        for (let r = 6; r <= 9; r++) this.get(L_ID).get(reg(r)).mem(W.i64_store, Layout.FRAMES + (r - 6) * 8);
        this.get(L_ID).i32(pc + 1).mem(W.i32_store, Layout.FRAMES + 32);
        this.get(L_DEPTH).i32(1).op(W.i32_add).set(L_DEPTH);
        // memory.fill(STACKS + depth * 512, 0, 512): each frame starts zeroed, as the interpreter's do.
        this.get(L_DEPTH).i32(STACK_SIZE).op(W.i32_mul).i32(Layout.STACKS).op(W.i32_add).i32(0).i32(STACK_SIZE).op(0xfc).u(11).u(0);
        this.frameReg();
        this.jump(pc + 1 + imm);
        return;
      }
      this.sync();
      if (op === 0x8d) this.get(reg(d)).op(W.i32_wrap_i64); else this.i32(imm);
      this.i32(pc);
      for (let r = 1; r <= 5; r++) this.get(reg(r));
      this.call(F_HELPER).set(reg(0));
      this.afterHook(pc);
      return;
    }
    const cond = COND[a];
    if (is64) {
      this.get(reg(d));
      if (op & 8) this.get(reg(s)); else this.i64(imm);
      if (a === 0x40) this.op(W.i64_and).i64(0).op(W.i64_ne); else this.op(cond[1]);
    } else {
      this.get(reg(d)).op(W.i32_wrap_i64);
      if (op & 8) this.get(reg(s)).op(W.i32_wrap_i64); else this.i32(imm);
      this.op(a === 0x40 ? W.i32_and : cond[0]);
    }
    this.jumpIf(pc + 1 + off);
  }

  private atomic(pc: number, d: number, s: number, off: number, imm: number, size: number): void {
    const S = reg(s);
    const wide = size === 8;
    const o = imm & 0xf0;
    this.access(d, off, size, true, pc, () => { this.fault(FaultKind.CTX_ACCESS, pc, L_T, size); }, T.void, (at = 0) => {
      if (at) this.i32(at).op(W.i32_add);
      this.set(L_ID); // the linear address
      this.get(L_ID).mem(wide ? W.i64_load : W.i64_load32_u).set(L_T2); // old value
      this.get(L_ID);
      if (o === 0xe0) this.get(S);
      else if (o === 0xf0) {
        this.get(L_T2).get(reg(0));
        if (!wide) this.i64(0xffffffff).op(W.i64_and);
        this.op(W.i64_eq).if(T.i64).get(S).else().get(L_T2).end();
      } else this.get(L_T2).get(S).op(o === 0x00 ? W.i64_add : o === 0x40 ? W.i64_or : o === 0x50 ? W.i64_and : W.i64_xor);
      this.mem(wide ? W.i64_store : W.i64_store32);
    });
    if (o === 0xf0) this.get(L_T2).set(reg(0));
    else if (imm & 1) this.get(L_T2).set(S);
  }
}

const SIZE_OF: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
const LOAD_ZX: Record<number, number> = { 1: W.i64_load8_u, 2: W.i64_load16_u, 4: W.i64_load32_u, 8: W.i64_load };
const LOAD_SX: Record<number, number> = { 1: W.i64_load8_s, 2: W.i64_load16_s, 4: W.i64_load32_s, 8: W.i64_load };
const STORE: Record<number, number> = { 1: W.i64_store8, 2: W.i64_store16, 4: W.i64_store32, 8: W.i64_store };
const ALU64_OP: Record<number, number> = {
  0x00: W.i64_add, 0x10: W.i64_sub, 0x20: W.i64_mul, 0x40: W.i64_or, 0x50: W.i64_and, 0x60: W.i64_shl,
  0x70: W.i64_shr_u, 0xa0: W.i64_xor, 0xc0: W.i64_shr_s,
};
const ALU32_OP: Record<number, number> = {
  0x00: W.i32_add, 0x10: W.i32_sub, 0x20: W.i32_mul, 0x40: W.i32_or, 0x50: W.i32_and, 0x60: W.i32_shl,
  0x70: W.i32_shr_u, 0xa0: W.i32_xor, 0xc0: W.i32_shr_s,
};
/** Jump conditions: [i32 form, i64 form]. */
const COND: Record<number, [number, number]> = {
  0x10: [W.i32_eq, W.i64_eq], 0x20: [W.i32_gt_u, W.i64_gt_u], 0x30: [W.i32_ge_u, W.i64_ge_u], 0x50: [W.i32_ne, W.i64_ne],
  0x60: [W.i32_gt_s, W.i64_gt_s], 0x70: [W.i32_ge_s, W.i64_ge_s], 0xa0: [W.i32_lt_u, W.i64_lt_u], 0xb0: [W.i32_le_u, W.i64_le_u],
  0xc0: [W.i32_lt_s, W.i64_lt_s], 0xd0: [W.i32_le_s, W.i64_le_s], 0x40: [W.i32_and, W.i64_and],
};

/** The bodies of the byte-swap functions (param x: i64, result i64). */
function bswapBodies(): Uint8Array[] {
  const b16 = new ByteWriter().u32(0)
    .bytes([W.local_get, 0, W.i64_const, 0xff, 0x01, W.i64_and, W.i64_const, 8, W.i64_shl])
    .bytes([W.local_get, 0, W.i64_const, 8, W.i64_shr_u, W.i64_const, 0xff, 0x01, W.i64_and, W.i64_or, W.end]);
  // 32: ((x & 0x00ff00ff) << 8 | (x >> 8) & 0x00ff00ff) rotated by 16, on the low word.
  const b32 = new ByteWriter().u32(1).u32(1).byte(T.i32)
    .bytes([W.local_get, 0, W.i32_wrap_i64, W.local_set, 1])
    .bytes([W.local_get, 1]).byte(W.i32_const).s32(0x00ff00ff).bytes([W.i32_and, W.i32_const, 8, W.i32_shl])
    .bytes([W.local_get, 1, W.i32_const, 8, W.i32_shr_u]).byte(W.i32_const).s32(0x00ff00ff).bytes([W.i32_and, W.i32_or])
    .bytes([W.i32_const, 16, W.i32_rotl, W.i64_extend_i32_u, W.end]);
  const b64 = new ByteWriter().u32(0)
    .bytes([W.local_get, 0, W.call, F_BSWAP32, W.i64_const, 32, W.i64_shl])
    .bytes([W.local_get, 0, W.i64_const, 32, W.i64_shr_u, W.call, F_BSWAP32, W.i64_or, W.end]);
  return [b16.finish(), b32.finish(), b64.finish()];
}

function funcType(w: ByteWriter, params: number[], results: number[]): void {
  w.byte(T.func).u32(params.length).bytes(params).u32(results.length).bytes(results);
}

/** Builds the whole module's bytes for a program. */
export function emitModule(code: VmCode, ctxConverted = true, ranges?: RangeInfo, memEntry = false): Uint8Array {
  const { i32, i64 } = T;
  const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const section = (id: number, body: ByteWriter): void => { out.byte(id).sized(body); };
  const types = new ByteWriter().u32(9);
  funcType(types, [i32, i32, i64, i32], []); // 0 fault
  funcType(types, [i32, i32, i64, i64, i64, i64, i64], [i64]); // 1 helper
  funcType(types, [i64, i32, i32], [i64]); // 2 ctxLoad
  funcType(types, [i64, i32, i64, i32], []); // 3 ctxStore
  funcType(types, [i32, i64, i32], [i64]); // 4 ldAbs
  funcType(types, [i32], [i64]); // 5 mapValue
  funcType(types, [i32, i32], [i64]); // 6 exec
  funcType(types, [i64], [i64]); // 7 bswap
  funcType(types, [i32, i32, i32], [i64]); // 8 resume
  section(1, types);
  const imports = new ByteWriter().u32(8);
  imports.name('env').name('mem').byte(0x02).byte(0x00).u32(1);
  ['fault', 'helper', 'ctxLoad', 'ctxStore', 'ldAbs', 'mapValue'].forEach((n, i) => imports.name('env').name(n).byte(0x00).u32(i));
  imports.name('env').name('resume').byte(0x00).u32(8);
  section(2, imports);
  section(3, new ByteWriter().u32(4).u32(6).u32(7).u32(7).u32(7));
  section(7, new ByteWriter().u32(1).name('exec').byte(0x00).u32(F_EXEC));
  const bodies = [new Emitter(code, ctxConverted, ranges, memEntry).emit(), ...bswapBodies()];
  const codeSec = new ByteWriter().u32(bodies.length);
  for (const b of bodies) codeSec.u32(b.length).bytes(b);
  section(10, codeSec);
  return out.finish();
}

/**
 * The verifier's facts as the emitter's {@link RangeInfo}: its proven packet loads, and the loads after which the packet's
 * base is known again. Nothing is proven without facts, or when some load makes a packet pointer on one path only
 * (the base could then be missing at a proven load).
 */
export function rangesFromFacts(code: VmCode, facts: VerifierFacts | undefined): RangeInfo {
  const proven = new Uint8Array(code.slots);
  const rootReg = new Int8Array(code.slots).fill(-1);
  if (!facts || !facts.rootsExact || facts.pktLoad.length !== code.slots) return { proven, rootReg, any: false };
  let any = false;
  for (let pc = 0; pc < code.slots; pc++) {
    rootReg[pc] = facts.pktRoot[pc];
    if (facts.pktLoad[pc]) { proven[pc] = 1; any = true; }
  }
  return { proven, rootReg, any };
}

/** A compiled program: instantiate it over a run's memory to get an {@link Engine}. */
export interface JitModule {
  readonly bytes: Uint8Array;
  instantiate(hooks: RunHooks, memory: unknown): Engine;
}

/**
 * Compiles a prepared program to a WebAssembly module. `ctxConverted` says whether region
 * {@link CTX_REGION} is a converted context (skb, XDP) whose accesses go through the hooks;
 * `fields` are its fields, so the range analysis knows where `data` and `data_end` come from.
 */
export function compileJit(code: VmCode, ctxConverted = true, fields?: readonly CtxField[], facts?: VerifierFacts): JitModule {
  const api = wasmApi();
  if (!api) throw new UnsupportedError('E_VM_NO_WASM', 'webassembly is not available for the jit engine');
  // Without a converted context, r1/r2 at entry may be the (memory, length) pair, a contract of the VM's
  // that no kernel program type has: range.ts's analysis assumes so, and each run checks it (a run with
  // other arguments takes the plain module). With a converted context (skb, XDP), the packet loads the
  // verifier proved skip their checks; an unverified program keeps every check.
  const memEntry = !ctxConverted;
  const ranges = memEntry ? analyzeRanges(code, { fields: undefined, memEntry }) : rangesFromFacts(code, facts);
  const guarded = memEntry && ranges.any;
  const compile = (r: RangeInfo | undefined): { bytes: Uint8Array; module: object } => {
    const bytes = emitModule(code, ctxConverted, r, memEntry);
    try {
      return { bytes, module: new api.Module(bytes) };
    } catch (e) {
      // The engine's limits (function size, br_table entries) bound how large a program the JIT takes.
      throw new UnsupportedError('E_VM_JIT_LIMIT', `program of ${code.slots} slots is too large for the webassembly jit`, { cause: e, hint: 'use the interp engine' });
    }
  };
  const main = compile(ranges.any ? ranges : undefined);
  let plain: object | undefined;
  return {
    bytes: main.bytes,
    instantiate(hooks: RunHooks, memory: unknown): Engine {
      const mem = hooks.mem;
      const u = (v: bigint): bigint => BigInt.asUintN(64, v);
      const env = {
        mem: memory,
        fault(kind: number, pc: number, ptr: bigint, size: number): void {
          if (kind === MEM_READ || kind === MEM_WRITE) mem.resolve(u(ptr), size, kind === MEM_WRITE, pc);
          throw makeFault(kind < 0 ? FaultKind.BAD_INSN : kind, pc, u(ptr), size, mem.names);
        },
        helper: (id: number, pc: number, a: bigint, b: bigint, c: bigint, d: bigint, e: bigint): bigint => hooks.helper(id, pc, u(a), u(b), u(c), u(d), u(e)),
        ctxLoad: (ptr: bigint, size: number, pc: number): bigint => hooks.ctxLoad(u(ptr), size, pc),
        ctxStore: (ptr: bigint, size: number, v: bigint, pc: number): void => hooks.ctxStore(u(ptr), size, u(v), pc),
        ldAbs: (pc: number, off: bigint, size: number): bigint => hooks.ldAbs(pc, off, size),
        mapValue: (pc: number): bigint => hooks.mapValue(pc),
        resume: (pc: number, depth: number, base: number): bigint => {
          interp ??= new Interpreter(code, hooks);
          const regs: bigint[] = [];
          for (let r = 0; r < 10; r++) regs.push(mem.dv.getBigUint64(Layout.SPILL + r * 8, true));
          return interp.resume(pc, depth, base, regs);
        },
      };
      let interp: Interpreter | undefined;
      const exec = new api.Instance(main.module, { env }).exports.exec as (entry: number, depth: number) => bigint;
      let plainExec: ((entry: number, depth: number) => bigint) | undefined;
      /** The analysis' entry assumption: r2 is 0, or r1 starts a region with at least r2 readable bytes. */
      const entryHolds = (args: readonly bigint[]): boolean => {
        const len = args.length > 1 ? u(args[1]) : 0n;
        if (len === 0n) return true;
        const r1 = args[0];
        return len < 0x40000000n && offsetOf(r1) === 0 && mem.readableFrom(r1) >= Number(len);
      };
      const dv = mem.dv;
      const head = mem.head;
      const A = Layout.ARGS >> 2;
      return {
        kind: 'jit',
        exec(entry: number, args: readonly bigint[], depth: number, memModel = false): bigint {
          // A callback entry that no lddw names (a forged function pointer): the interpreter runs
          // it, as the compiled code (its analysis, its budget checks) only knows the real entries.
          if (entry !== 0 && !code.funcEntries.has(entry)) {
            interp ??= new Interpreter(code, hooks);
            return interp.exec(entry, args, depth);
          }
          // Zero arguments are the common case; u32 stores cost less than DataView's BigInt one.
          for (let i = 0; i < 5; i++) {
            const v = i < args.length ? args[i] : 0n;
            if (v === 0n) { head[A + 2 * i] = 0; head[A + 2 * i + 1] = 0; } else dv.setBigUint64(Layout.ARGS + i * 8, v, true);
          }
          if (guarded && entry === 0 && !memModel && !entryHolds(args)) {
            plain ??= compile(undefined).module;
            plainExec ??= new api.Instance(plain, { env }).exports.exec as (entry: number, depth: number) => bigint;
            return BigInt.asUintN(64, plainExec(entry, depth));
          }
          const r0 = exec(entry, depth);
          return r0 < 0n ? BigInt.asUintN(64, r0) : r0;
        },
      };
    },
  };
}
