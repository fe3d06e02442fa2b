/** The reference eBPF interpreter: one switch over opcodes, 64-bit registers as BigInt, every access checked by the memory model. */

import { Cls, LdKind, type VmCode } from './code.js';
import type { Engine, RunHooks } from './engine.js';
import { CTX_REGION, FaultKind, Layout, MAX_CALL_DEPTH, REGION_SHIFT, STACK_REGION, STACK_SIZE, makeFault, pointer } from './memory.js';

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

/** The same on 32-bit operands (already truncated); the caller zero-extends the result. */
function alu32(op: number, off: number, a: bigint, b: bigint): bigint {
  switch (op) {
    case 0x30:
      if (b === 0n) return 0n;
      return off === 1 ? BigInt.asIntN(32, a) / BigInt.asIntN(32, b) : a / b;
    case 0x60: return a << (b & 31n);
    case 0x70: return a >> (b & 31n);
    case 0x90:
      if (b === 0n) return a;
      return off === 1 ? BigInt.asIntN(32, a) % BigInt.asIntN(32, b) : a % b;
    case 0xb0: return off === 0 ? b : BigInt.asIntN(off, b);
    case 0xc0: return BigInt.asIntN(32, a) >> (b & 31n);
    default: return alu64(op, off, a, b);
  }
}

/** Evaluates a conditional jump (the 0xf0 bits) on operands of `bits` width. */
function cond(op: number, a: bigint, b: bigint, bits: 32 | 64): boolean {
  switch (op) {
    case 0x10: return a === b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) !== 0n;
    case 0x50: return a !== b;
    case 0x60: return BigInt.asIntN(bits, a) > BigInt.asIntN(bits, b);
    case 0x70: return BigInt.asIntN(bits, a) >= BigInt.asIntN(bits, b);
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return BigInt.asIntN(bits, a) < BigInt.asIntN(bits, b);
    default: return BigInt.asIntN(bits, a) <= BigInt.asIntN(bits, b); // 0xd0
  }
}

const SIZE_OF: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** An {@link Engine} that interprets a {@link VmCode}: clear first, the reference the JIT is tested against. */
export class Interpreter implements Engine {
  readonly kind = 'interp' as const;
  private readonly immU64: BigUint64Array;
  private readonly immU32: BigUint64Array;

  constructor(private readonly code: VmCode, private readonly hooks: RunHooks) {
    this.immU64 = new BigUint64Array(code.slots);
    this.immU32 = new BigUint64Array(code.slots);
    for (let i = 0; i < code.slots; i++) {
      this.immU64[i] = BigInt(code.imm[i]);
      this.immU32[i] = BigInt(code.imm[i] >>> 0);
    }
  }

  exec(entry: number, args: readonly bigint[], depth: number): bigint {
    const { op: ops, dst: dsts, src: srcs, off: offs, blockLen } = this.code;
    const { immU64, immU32, hooks } = this;
    const mem = hooks.mem;
    const dv = mem.dv;
    const R = new BigUint64Array(11);
    for (let i = 0; i < 5 && i < args.length; i++) R[i + 1] = args[i];
    const base = depth;
    R[10] = pointer(STACK_REGION + depth, STACK_SIZE);
    let budget = dv.getBigInt64(Layout.BUDGET, true);
    let pc = entry;
    // Address of `size` bytes at r[reg]+off; the converted context goes through the hooks instead (-1).
    const ea = (ptr: bigint, size: number, write: boolean): number => {
      if (Number(ptr >> REGION_SHIFT) === CTX_REGION) return -1;
      return mem.resolve(ptr, size, write, pc);
    };
    const callHook = (f: () => bigint): bigint => {
      dv.setBigInt64(Layout.BUDGET, budget, true);
      dv.setInt32(Layout.DEPTH, depth, true);
      const r = f();
      budget = dv.getBigInt64(Layout.BUDGET, true);
      return r;
    };
    for (;;) {
      const bl = blockLen[pc];
      if (bl !== 0) {
        budget -= BigInt(bl);
        if (budget < 0n) throw makeFault(FaultKind.BUDGET, pc);
      }
      const op = ops[pc], d = dsts[pc], s = srcs[pc], off = offs[pc];
      const cls = op & 7;
      switch (cls) {
        case Cls.ALU64: {
          const o = op & 0xf0;
          if (o === 0xd0) { R[d] = byteSwap(R[d], Number(immU32[pc])); break; }
          R[d] = alu64(o, off, R[d], op & 8 ? R[s] : immU64[pc]);
          break;
        }
        case Cls.ALU: {
          const o = op & 0xf0;
          if (o === 0xd0) {
            const w = Number(immU32[pc]);
            R[d] = op & 8 ? byteSwap(R[d], w) : w === 64 ? R[d] : BigInt.asUintN(w, R[d]);
            break;
          }
          R[d] = alu32(o, off, R[d] & M32, op & 8 ? R[s] & M32 : immU32[pc]) & M32;
          break;
        }
        case Cls.JMP: case Cls.JMP32: {
          const o = op & 0xf0;
          if (o === 0x00) { pc += 1 + (cls === Cls.JMP ? off : Number(BigInt.asIntN(32, immU32[pc]))); continue; }
          if (o === 0x90) { // exit
            if (depth === base) { dv.setBigInt64(Layout.BUDGET, budget, true); return R[0]; }
            depth--;
            const fr = Layout.FRAMES + depth * 48;
            for (let r = 6; r <= 9; r++) R[r] = dv.getBigUint64(fr + (r - 6) * 8, true);
            pc = dv.getInt32(fr + 32, true);
            R[10] = pointer(STACK_REGION + depth, STACK_SIZE);
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
              R[10] = pointer(STACK_REGION + depth, STACK_SIZE);
              pc = pc + 1 + Number(BigInt.asIntN(32, immU32[pc]));
              continue;
            }
            const id = op === 0x8d ? Number(BigInt.asIntN(32, R[d] & M32)) : Number(BigInt.asIntN(32, immU32[pc]));
            const at = pc;
            R[0] = callHook(() => hooks.helper(id, at, R[1], R[2], R[3], R[4], R[5]));
            if (dv.getInt32(Layout.STOP, true) !== 0) return R[0];
            break;
          }
          const a = cls === Cls.JMP ? R[d] : R[d] & M32;
          const b = op & 8 ? (cls === Cls.JMP ? R[s] : R[s] & M32) : cls === Cls.JMP ? immU64[pc] : immU32[pc];
          if (cond(o, a, b, cls === Cls.JMP ? 64 : 32)) { pc += 1 + off; continue; }
          break;
        }
        case Cls.LDX: {
          const size = SIZE_OF[op & 0x18];
          const ptr = BigInt.asUintN(64, R[s] + BigInt(off));
          const a = ea(ptr, size, false);
          let v: bigint;
          if (a < 0) v = callHook(() => hooks.ctxLoad(ptr, size, pc));
          else if ((op & 0xe0) === 0x80) { // ldxs*: sign-extending
            v = BigInt(size === 4 ? dv.getInt32(a, true) : size === 2 ? dv.getInt16(a, true) : dv.getInt8(a));
          } else {
            v = size === 8 ? dv.getBigUint64(a, true) : BigInt(size === 4 ? dv.getUint32(a, true) : size === 2 ? dv.getUint16(a, true) : dv.getUint8(a));
          }
          R[d] = v;
          break;
        }
        case Cls.ST: case Cls.STX: {
          const size = SIZE_OF[op & 0x18];
          const ptr = BigInt.asUintN(64, R[d] + BigInt(off));
          if ((op & 0xe0) === 0xc0) { this.atomic(pc, s, ptr, size, R); break; }
          const v = cls === Cls.STX ? R[s] : immU64[pc];
          const a = ea(ptr, size, true);
          if (a < 0) { callHook(() => { hooks.ctxStore(ptr, size, v, pc); return 0n; }); break; }
          if (size === 8) dv.setBigUint64(a, v, true);
          else if (size === 4) dv.setUint32(a, Number(v & M32), true);
          else if (size === 2) dv.setUint16(a, Number(v & 0xffffn), true);
          else dv.setUint8(a, Number(v & 0xffn));
          break;
        }
        default: { // LD: lddw, or legacy ld_abs / ld_ind
          if (op === 0x18) {
            R[d] = this.code.ldKind[pc] === LdKind.CONST ? this.code.wide[pc] : hooks.mapValue(pc);
            pc += 2;
            continue;
          }
          const size = SIZE_OF[op & 0x18];
          const offset = (op & 0xe0) === 0x40 ? BigInt.asIntN(32, R[s] & M32) + BigInt(this.code.imm[pc]) : BigInt(this.code.imm[pc]);
          R[0] = callHook(() => hooks.ldAbs(pc, offset, size));
          if (dv.getInt32(Layout.STOP, true) !== 0) return R[0];
        }
      }
      pc++;
    }
  }

  private atomic(pc: number, s: number, ptr: bigint, size: number, R: BigUint64Array): void {
    const mem = this.hooks.mem;
    const dv = mem.dv;
    const imm = this.code.imm[pc];
    const a = Number(ptr >> REGION_SHIFT) === CTX_REGION ? -1 : mem.resolve(ptr, size, true, pc);
    if (a < 0) throw makeFault(FaultKind.CTX_ACCESS, pc, ptr, size);
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
