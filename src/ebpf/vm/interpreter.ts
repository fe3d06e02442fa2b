/** The reference eBPF interpreter: one switch over opcodes; registers kept as 64-bit words read as two u32 halves, BigInt only for the rare 64-bit ops. */

import { Cls, LdKind, type VmCode } from './code.js';
import type { Engine, RunHooks } from './engine.js';
import { CTX_REGION, FaultKind, Layout, MAX_CALL_DEPTH, MAX_REGIONS, OFFSET_BIAS, REGION_SHIFT, STACK_REGION, STACK_SIZE, makeFault, pointer } from './memory.js';

const M32 = 0xffffffffn;
const scratch = new DataView(new ArrayBuffer(8));

/** Reverses the low `width` bits' bytes of `x`. */
export function byteSwap(x: bigint, width: number): bigint {
  scratch.setBigUint64(0, BigInt.asUintN(64, x), true);
  if (width === 16) return BigInt(scratch.getUint16(0, false));
  if (width === 32) return BigInt(scratch.getUint32(0, false));
  return scratch.getBigUint64(0, false);
}

/** Applies ALU operation `op` (the 0xf0 bits) to 64-bit operands; `off` selects signed div/mod and movsx. */
function alu64(op: number, off: number, a: bigint, b: bigint): bigint {
  switch (op) {
    case 0x00: return a + b;
    case 0x10: return a - b;
    case 0x20: return a * b;
    case 0x30:
      if (b === 0n) return 0n;
      return off === 1 ? BigInt.asIntN(64, a) / BigInt.asIntN(64, b) : a / b;
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return a << (b & 63n);
    case 0x70: return a >> (b & 63n);
    case 0x80: return -a;
    case 0x90:
      if (b === 0n) return a;
      return off === 1 ? BigInt.asIntN(64, a) % BigInt.asIntN(64, b) : a % b;
    case 0xa0: return a ^ b;
    case 0xb0: return off === 0 ? b : BigInt.asIntN(off, b);
    default: return BigInt.asIntN(64, a) >> (b & 63n); // 0xc0 arsh
  }
}

/** A conditional jump (the 0xf0 bits) on 64-bit operands given as u32 halves. */
function cond64(op: number, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  switch (op) {
    case 0x10: return aLo === bLo && aHi === bHi;
    case 0x50: return aLo !== bLo || aHi !== bHi;
    case 0x40: return (aLo & bLo) !== 0 || (aHi & bHi) !== 0;
    case 0x20: return aHi > bHi || (aHi === bHi && aLo > bLo);
    case 0x30: return aHi > bHi || (aHi === bHi && aLo >= bLo);
    case 0xa0: return aHi < bHi || (aHi === bHi && aLo < bLo);
    case 0xb0: return aHi < bHi || (aHi === bHi && aLo <= bLo);
  }
  // Signed: the high halves decide as int32, the low halves as unsigned.
  const sa = aHi | 0, sb = bHi | 0;
  switch (op) {
    case 0x60: return sa > sb || (sa === sb && aLo > bLo);
    case 0x70: return sa > sb || (sa === sb && aLo >= bLo);
    case 0xc0: return sa < sb || (sa === sb && aLo < bLo);
    default: return sa < sb || (sa === sb && aLo <= bLo); // 0xd0
  }
}

/** A conditional jump on 32-bit operands (u32 values). */
function cond32(op: number, a: number, b: number): boolean {
  switch (op) {
    case 0x10: return a === b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) !== 0;
    case 0x50: return a !== b;
    case 0x60: return (a | 0) > (b | 0);
    case 0x70: return (a | 0) >= (b | 0);
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return (a | 0) < (b | 0);
    default: return (a | 0) <= (b | 0); // 0xd0
  }
}

/** A 32-bit ALU operation (the 0xf0 bits) on u32 values; the result is taken mod 2^32 by the caller. */
function alu32n(op: number, off: number, a: number, b: number): number {
  switch (op) {
    case 0x00: return a + b;
    case 0x10: return a - b;
    case 0x20: return Math.imul(a, b);
    case 0x30:
      if (b === 0) return 0;
      return off === 1 ? Math.trunc((a | 0) / (b | 0)) : Math.floor(a / b);
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return a << (b & 31);
    case 0x70: return a >>> (b & 31);
    case 0x80: return -a;
    case 0x90:
      if (b === 0) return a;
      return off === 1 ? (a | 0) % (b | 0) : a % b;
    case 0xa0: return a ^ b;
    case 0xb0: return off === 8 ? (b << 24) >> 24 : off === 16 ? (b << 16) >> 16 : b;
    default: return (a | 0) >> (b & 31); // 0xc0 arsh
  }
}

const SIZE_OF: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
const TWO32 = 0x100000000;

/**
 * Called before each instruction of a stepped run: slot `pc` is about to execute in call
 * frame `depth` with registers `regs` (r0..r10, the live file: copy what you keep). It may
 * throw to stop the run. See {@link Interpreter} and `traceRun`.
 */
export type StepHook = (pc: number, depth: number, regs: BigUint64Array) => void;

/** `code` with every instruction its own block, so the per-block path runs before each instruction (stepping). */
function perInstruction(code: VmCode): VmCode {
  const blockLen = new Int32Array(code.slots);
  for (let s = 0; s < code.slots; s += code.op[s] === 0x18 ? 2 : 1) blockLen[s] = 1;
  return { ...code, blockLen, blockStarts: Array.from(blockLen.keys()).filter((s) => blockLen[s] !== 0) };
}

/**
 * An {@link Engine} that interprets a {@link VmCode}: the reference the JIT is tested against.
 * Registers live in a BigUint64Array; the common operations read and write it as u32 halves
 * (no BigInt allocation), the rest (64-bit mul/div/mod, byte swaps, movsx) use BigInt.
 */
export class Interpreter implements Engine {
  readonly kind = 'interp' as const;
  private readonly immU64: BigUint64Array;
  /** The immediate sign-extended to 64 bits, as u32 halves. */
  private readonly immLo: Uint32Array;
  private readonly immHi: Uint32Array;
  /** Access width in bytes per slot (memory instructions). */
  private readonly sizes: Uint8Array;
  /** One register file per frame depth (exec is re-entrant for callbacks), with its u32 view. */
  private readonly files: BigUint64Array[] = [];
  private readonly halves: Uint32Array[] = [];
  /** r10 of each frame depth. */
  private readonly framePointers: BigUint64Array;

  /** Present only in a stepped run (`traceRun`). */
  private readonly stepHook: StepHook | undefined;
  private readonly code: VmCode;

  /**
   * `step`, when given, is called before every instruction: the interpreter then runs on a
   * copy of `code` where each instruction is a block of one, with the budget in memory at 0,
   * so every instruction takes the out-of-budget path, which calls the hook instead of
   * faulting (the hook enforces the real budget). The ordinary interpreter's hot path is
   * unchanged.
   */
  constructor(code: VmCode, private readonly hooks: RunHooks, step?: StepHook) {
    this.code = step ? perInstruction(code) : code;
    this.stepHook = step;
    const n = code.slots;
    this.immU64 = new BigUint64Array(n);
    this.immLo = new Uint32Array(n);
    this.immHi = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.immU64[i] = BigInt(code.imm[i]);
      this.immLo[i] = code.imm[i] >>> 0;
      this.immHi[i] = code.imm[i] < 0 ? 0xffffffff : 0;
    }
    this.sizes = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.sizes[i] = SIZE_OF[code.op[i] & 0x18];
    this.framePointers = new BigUint64Array(MAX_CALL_DEPTH);
    for (let d = 0; d < MAX_CALL_DEPTH; d++) {
      const f = new BigUint64Array(11);
      this.files.push(f);
      this.halves.push(new Uint32Array(f.buffer));
      this.framePointers[d] = pointer(STACK_REGION + d, STACK_SIZE);
    }
  }

  exec(entry: number, args: readonly bigint[], depth: number): bigint {
    const R = this.files[depth];
    this.halves[depth].fill(0);
    for (let i = 0; i < 5 && i < args.length; i++) R[i + 1] = args[i];
    return this.run(entry, depth, depth);
  }

  /**
   * Continues a run another engine started: at slot `pc` (a block start, or just after a
   * helper call), in frame `depth` of the run entered at frame `base`, with r0..r9 = `regs`
   * and the budget in memory. The JIT hands over here when the budget may run out.
   */
  resume(pc: number, depth: number, base: number, regs: readonly bigint[]): bigint {
    const R = this.files[base];
    for (let r = 0; r < 10; r++) R[r] = BigInt.asUintN(64, regs[r]);
    return this.run(pc, depth, base);
  }

  private run(entry: number, depth: number, base: number): bigint {
    const { op: ops, dst: dsts, src: srcs, off: offs, blockLen, imm: imms } = this.code;
    const { immU64, immLo, immHi, hooks, sizes, stepHook } = this;
    const mem = hooks.mem;
    const dv = mem.dv;
    const table = mem.table;
    const u8 = mem.u8;
    const ctxId = hooks.ctxConverted ? CTX_REGION : -1; // only a converted context takes the hook path
    const R = this.files[base];
    const H = this.halves[base]; // H[2r] = low half of r, H[2r + 1] = high half
    const fps = this.framePointers;
    R[10] = fps[depth];
    let budget = Number(dv.getBigInt64(Layout.BUDGET, true));
    let pc = entry;
    for (;;) {
      const bl = blockLen[pc];
      if (bl !== 0) {
        budget -= bl;
        if (budget < 0) {
          // A stepped run keeps the budget at 0 and each instruction a block of one, so it comes
          // here before every instruction; the hook counts the real budget. Others never return here.
          if (stepHook === undefined) throw makeFault(FaultKind.BUDGET, pc);
          stepHook(pc, depth, R);
          budget = 0;
        }
      }
      const op = ops[pc], d = dsts[pc], s = srcs[pc], off = offs[pc];
      const cls = op & 7;
      switch (cls) {
        case Cls.ALU64: {
          const o = op & 0xf0;
          const bLo = op & 8 ? H[2 * s] : immLo[pc];
          const bHi = op & 8 ? H[2 * s + 1] : immHi[pc];
          const aLo = H[2 * d], aHi = H[2 * d + 1];
          switch (o) {
            case 0x00: { const lo = aLo + bLo; H[2 * d] = lo; H[2 * d + 1] = aHi + bHi + (lo >= TWO32 ? 1 : 0); break; }
            case 0x10: { const lo = aLo - bLo; H[2 * d] = lo; H[2 * d + 1] = aHi - bHi - (lo < 0 ? 1 : 0); break; }
            case 0x40: H[2 * d] = aLo | bLo; H[2 * d + 1] = aHi | bHi; break;
            case 0x50: H[2 * d] = aLo & bLo; H[2 * d + 1] = aHi & bHi; break;
            case 0xa0: H[2 * d] = aLo ^ bLo; H[2 * d + 1] = aHi ^ bHi; break;
            case 0x60: case 0x70: case 0xc0: {
              const n = bLo & 63;
              if (n === 0) break;
              if (o === 0x60) {
                if (n < 32) { H[2 * d + 1] = (aHi << n) | (aLo >>> (32 - n)); H[2 * d] = aLo << n; } else { H[2 * d + 1] = aLo << (n - 32); H[2 * d] = 0; }
              } else if (o === 0x70) {
                if (n < 32) { H[2 * d] = (aLo >>> n) | (aHi << (32 - n)); H[2 * d + 1] = aHi >>> n; } else { H[2 * d] = aHi >>> (n - 32); H[2 * d + 1] = 0; }
              } else if (n < 32) { H[2 * d] = (aLo >>> n) | (aHi << (32 - n)); H[2 * d + 1] = (aHi | 0) >> n; } else { H[2 * d] = (aHi | 0) >> (n - 32); H[2 * d + 1] = (aHi | 0) >> 31; }
              break;
            }
            case 0xb0:
              if (off === 0) { H[2 * d] = bLo; H[2 * d + 1] = bHi; break; }
              R[d] = alu64(o, off, R[d], op & 8 ? R[s] : immU64[pc]);
              break;
            case 0xd0: R[d] = byteSwap(R[d], imms[pc]); break;
            default: R[d] = alu64(o, off, R[d], op & 8 ? R[s] : immU64[pc]); // mul, div, mod, neg
          }
          break;
        }
        case Cls.ALU: {
          const o = op & 0xf0;
          if (o === 0xd0) {
            const w = imms[pc];
            R[d] = op & 8 ? byteSwap(R[d], w) : w === 64 ? R[d] : BigInt.asUintN(w, R[d]);
            break;
          }
          H[2 * d] = alu32n(o, off, H[2 * d], op & 8 ? H[2 * s] : immLo[pc]);
          H[2 * d + 1] = 0;
          break;
        }
        case Cls.JMP: case Cls.JMP32: {
          const o = op & 0xf0;
          if (o === 0x00) { pc += 1 + (cls === Cls.JMP ? off : imms[pc]); continue; }
          if (o === 0x90) { // exit
            if (depth === base) { dv.setBigInt64(Layout.BUDGET, BigInt(budget), true); return R[0]; }
            depth--;
            const fr = Layout.FRAMES + depth * 48;
            for (let r = 6; r <= 9; r++) R[r] = dv.getBigUint64(fr + (r - 6) * 8, true);
            pc = dv.getInt32(fr + 32, true);
            R[10] = fps[depth];
            continue;
          }
          if (o === 0x80) {
            if (s === 1 && op === 0x85) { // BPF-to-BPF call
              if (depth + 1 >= MAX_CALL_DEPTH) throw makeFault(FaultKind.CALL_DEPTH, pc);
              const fr = Layout.FRAMES + depth * 48;
              for (let r = 6; r <= 9; r++) dv.setBigUint64(fr + (r - 6) * 8, R[r], true);
              dv.setInt32(fr + 32, pc + 1, true);
              depth++;
              mem.u8.fill(0, Layout.STACKS + depth * STACK_SIZE, Layout.STACKS + (depth + 1) * STACK_SIZE);
              R[10] = fps[depth];
              pc = pc + 1 + imms[pc];
              continue;
            }
            const id = op === 0x8d ? H[2 * d] | 0 : imms[pc];
            dv.setBigInt64(Layout.BUDGET, BigInt(budget), true);
            dv.setInt32(Layout.DEPTH, depth, true);
            R[0] = hooks.helper(id, pc, R[1], R[2], R[3], R[4], R[5]);
            budget = Number(dv.getBigInt64(Layout.BUDGET, true));
            if (dv.getInt32(Layout.STOP, true) !== 0) return R[0];
            break;
          }
          const taken = cls === Cls.JMP
            ? cond64(o, H[2 * d], H[2 * d + 1], op & 8 ? H[2 * s] : immLo[pc], op & 8 ? H[2 * s + 1] : immHi[pc])
            : cond32(o, H[2 * d], op & 8 ? H[2 * s] : immLo[pc]);
          if (taken) { pc += 1 + off; continue; }
          break;
        }
        case Cls.LDX: case Cls.ST: case Cls.STX: {
          const size = sizes[pc];
          const b = cls === Cls.LDX ? s : d;
          // The address as (region id, offset) without BigInt: low half + off, carrying into the high half.
          let lo = H[2 * b] + off, id = H[2 * b + 1];
          if (lo < 0) { lo += TWO32; id = (id - 1) >>> 0; } else if (lo >= TWO32) { lo -= TWO32; id = (id + 1) >>> 0; }
          const o = (lo ^ OFFSET_BIAS) >>> 0; // offset in the region as u32 (>= 2^31 below the region)
          const write = cls !== Cls.LDX;
          let a = -1;
          if (id < MAX_REGIONS && id !== ctxId && o + size <= table[id * 4 + (write ? 2 : 1)]) a = table[id * 4] + o;
          else if (id !== ctxId || (op & 0xe0) === 0xc0) {
            const ptr = (BigInt(id) << REGION_SHIFT) | BigInt(lo);
            if (id === ctxId) throw makeFault(FaultKind.CTX_ACCESS, pc, ptr, size);
            a = mem.resolve(ptr, size, write, pc); // throws the same fault the JIT reports
          }
          if (cls === Cls.LDX) {
            if (a < 0) {
              dv.setBigInt64(Layout.BUDGET, BigInt(budget), true);
              R[d] = hooks.ctxLoad((BigInt(id) << REGION_SHIFT) | BigInt(lo), size, pc);
            } else {
              // Little-endian bytes composed by hand: typed-array reads stay fast inside this big function.
              let lo32 = u8[a];
              if (size >= 2) lo32 |= u8[a + 1] << 8;
              if (size >= 4) lo32 |= (u8[a + 2] << 16) | (u8[a + 3] << 24);
              let hi32 = 0;
              if (size === 8) hi32 = u8[a + 4] | (u8[a + 5] << 8) | (u8[a + 6] << 16) | (u8[a + 7] << 24);
              else if ((op & 0xe0) === 0x80) { // ldxs*: sign-extending
                if (size === 1) lo32 = (lo32 << 24) >> 24;
                else if (size === 2) lo32 = (lo32 << 16) >> 16;
                hi32 = lo32 < 0 ? -1 : 0;
              }
              H[2 * d] = lo32;
              H[2 * d + 1] = hi32;
            }
            break;
          }
          if ((op & 0xe0) === 0xc0) { this.atomic(pc, s, a, size, R); break; }
          const vLo = cls === Cls.STX ? H[2 * s] : immLo[pc];
          if (a < 0) {
            const v = cls === Cls.STX ? R[s] : immU64[pc];
            hooks.ctxStore((BigInt(id) << REGION_SHIFT) | BigInt(lo), size, v, pc);
            break;
          }
          u8[a] = vLo;
          if (size >= 2) u8[a + 1] = vLo >>> 8;
          if (size >= 4) { u8[a + 2] = vLo >>> 16; u8[a + 3] = vLo >>> 24; }
          if (size === 8) {
            const vHi = cls === Cls.STX ? H[2 * s + 1] : immHi[pc];
            u8[a + 4] = vHi; u8[a + 5] = vHi >>> 8; u8[a + 6] = vHi >>> 16; u8[a + 7] = vHi >>> 24;
          }
          break;
        }
        default: { // LD: lddw, or legacy ld_abs / ld_ind
          if (op === 0x18) {
            R[d] = this.code.ldKind[pc] === LdKind.CONST ? this.code.wide[pc] : hooks.mapValue(pc);
            pc += 2;
            continue;
          }
          const size = SIZE_OF[op & 0x18];
          const offset = (op & 0xe0) === 0x40 ? BigInt((H[2 * s] | 0) + imms[pc]) : BigInt(imms[pc]);
          dv.setBigInt64(Layout.BUDGET, BigInt(budget), true);
          R[0] = hooks.ldAbs(pc, offset, size);
          if (dv.getInt32(Layout.STOP, true) !== 0) return R[0];
        }
      }
      pc++;
    }
  }

  /** An atomic read-modify-write at linear address `a` (already checked writable). */
  private atomic(pc: number, s: number, a: number, size: number, R: BigUint64Array): void {
    const dv = this.hooks.mem.dv;
    const imm = this.code.imm[pc];
    const old = size === 8 ? dv.getBigUint64(a, true) : BigInt(dv.getUint32(a, true));
    const mask = size === 8 ? 0xffffffffffffffffn : M32;
    const val = R[s] & mask;
    let next: bigint;
    switch (imm & 0xf0) {
      case 0x00: next = old + val; break;
      case 0x40: next = old | val; break;
      case 0x50: next = old & val; break;
      case 0xa0: next = old ^ val; break;
      case 0xe0: next = val; break;
      default: // cmpxchg
        next = old === (R[0] & mask) ? val : old;
        R[0] = old;
        break;
    }
    if ((imm & 1) && (imm & 0xf0) !== 0xf0) R[s] = old;
    if (size === 8) dv.setBigUint64(a, BigInt.asUintN(64, next), true);
    else dv.setUint32(a, Number(next & M32), true);
  }
}
