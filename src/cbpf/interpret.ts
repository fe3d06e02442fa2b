/** The classic BPF interpreter: libpcap's bpf_filter semantics, plus Linux ancillary loads when metadata is given. */

import { RuntimeFault } from '../util/index.js';
import { ancillaryValue, kernelLoad, type AuxData } from './aux.js';
import type { Program } from './insn.js';

/**
 * The step budget of one run: a forward-only program runs each instruction at most once, so
 * only a loop (libpcap's protochain, or a wrapping `ja`) can reach it. Protochain's loop moves
 * at least one byte through the packet per pass, so `length × (captured bytes + 1)` bounds every
 * run that terminates, and keeps the work of any run linear in its input.
 */
export function stepBudget(programLength: number, capturedBytes: number): number {
  return programLength * (capturedBytes + 1);
}

const SKF_AD_BASE = 0xfffff000;

/**
 * A load of `size` bytes at `off` past the captured bytes: fails (undefined) without `aux`, as in
 * libpcap; with it, Linux reads negative offsets (an X + k sum taken in 32 bits) relative to the
 * network or link header. Kept out of the interpreter loop: only the slow path pays the call.
 */
function outsideLoad(p: Uint8Array, off: number, size: number, aux: AuxData | undefined): number | undefined {
  return aux === undefined ? undefined : kernelLoad(p, off, size, aux);
}

/**
 * An absolute `ld` at `k` that {@link outsideLoad} serves, except that with `aux` an offset
 * `k` >= SKF_AD_OFF reads Linux ancillary data (undefined for one the kernel does not know).
 */
function absoluteLoad(p: Uint8Array, k: number, size: number, aux: AuxData | undefined, a: number, x: number): number | undefined {
  if (aux !== undefined && k >= SKF_AD_BASE) return ancillaryValue(k - SKF_AD_BASE, aux, p, a >>> 0, x >>> 0);
  return outsideLoad(p, k, size, aux);
}

/**
 * Runs `prog` on one packet, as libpcap's `bpf_filter` does, and returns the `ret` value
 * (0 = drop). `packet` holds the captured bytes; `wirelen` is the length on the wire
 * (what `ld #len` reads). A load past the captured bytes, or a division or modulo by a zero
 * X, ends the program with 0. Scratch memory starts zeroed. With `aux`, loads follow the Linux
 * kernel instead: `ld [SKF_AD_OFF+n]` reads socket-buffer metadata, X + k wraps in 32 bits, and
 * negative offsets (`SKF_NET_OFF`, `SKF_LL_OFF`) address the network and link headers.
 *
 * Programs that libpcap would abort on (an unknown opcode, a jump out of the program) throw a
 * {@link RuntimeFault} naming the instruction; so does a run past its {@link stepBudget}.
 */
export function interpret(prog: Program, packet: Uint8Array, wirelen: number = packet.length, aux?: AuxData): number {
  const p = packet;
  const buflen = p.length;
  const n = prog.length;
  // A, X and scratch memory hold int32 bit patterns (numbers V8 keeps unboxed); unsigned
  // views are taken only where the meaning differs: comparisons, division, offsets, the result.
  let mem: Int32Array | undefined;
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  const budget = stepBudget(n, buflen);
  for (;;) {
    if (pc < 0 || pc >= n) throw new RuntimeFault('E_CBPF_PC', 'execution left the program', { position: { insn: pc } });
    if (++steps > budget) throw new RuntimeFault('E_CBPF_STEPS', `program ran past its budget of ${budget} instructions`, { position: { insn: pc } });
    const ins = prog[pc];
    // `| 0` keeps the switch a jump table even when the fields were stored as doubles (say, parsed from JSON).
    switch (ins.code | 0) {
      case 0x06: // ret #k
        return ins.k >>> 0;
      case 0x16: // ret a
        return A >>> 0;
      case 0x20: {
        const k = ins.k >>> 0;
        if (k >= SKF_AD_BASE || k + 4 > buflen) {
          const v = absoluteLoad(p, k, 4, aux, A, X);
          if (v === undefined) return 0;
          A = v | 0;
          break;
        }
        const i = k | 0; // in range now; an int32 index keeps element access on V8's fast path
        A = (p[i] << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3];
        break;
      }
      case 0x28: {
        const k = ins.k >>> 0;
        if (k >= SKF_AD_BASE || k + 2 > buflen) {
          const v = absoluteLoad(p, k, 2, aux, A, X);
          if (v === undefined) return 0;
          A = v | 0;
          break;
        }
        const i = k | 0;
        A = (p[i] << 8) | p[i + 1];
        break;
      }
      case 0x30: {
        const k = ins.k >>> 0;
        if (k >= SKF_AD_BASE || k >= buflen) {
          const v = absoluteLoad(p, k, 1, aux, A, X);
          if (v === undefined) return 0;
          A = v | 0;
          break;
        }
        A = p[k | 0];
        break;
      }
      case 0x80:
        A = wirelen | 0;
        break;
      case 0x81:
        X = wirelen | 0;
        break;
      case 0x40: {
        const o = (X >>> 0) + (ins.k >>> 0);
        if (o + 4 > buflen) {
          const w = outsideLoad(p, o, 4, aux);
          if (w === undefined) return 0;
          A = w;
          break;
        }
        const i = o | 0;
        A = (p[i] << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3];
        break;
      }
      case 0x48: {
        const o = (X >>> 0) + (ins.k >>> 0);
        if (o + 2 > buflen) {
          const w = outsideLoad(p, o, 2, aux);
          if (w === undefined) return 0;
          A = w;
          break;
        }
        const i = o | 0;
        A = (p[i] << 8) | p[i + 1];
        break;
      }
      case 0x50: {
        const o = (X >>> 0) + (ins.k >>> 0);
        if (o >= buflen) {
          const w = outsideLoad(p, o, 1, aux);
          if (w === undefined) return 0;
          A = w;
          break;
        }
        A = p[o | 0];
        break;
      }
      case 0xb1: {
        const k = ins.k >>> 0;
        if (k >= buflen) {
          const w = outsideLoad(p, k, 1, aux);
          if (w === undefined) return 0;
          X = (w & 0xf) << 2;
          break;
        }
        X = (p[k | 0] & 0xf) << 2;
        break;
      }
      case 0x00:
        A = ins.k | 0;
        break;
      case 0x01:
        X = ins.k | 0;
        break;
      case 0x60:
        A = mem === undefined ? 0 : mem[ins.k & 15];
        break;
      case 0x61:
        X = mem === undefined ? 0 : mem[ins.k & 15];
        break;
      case 0x02:
        (mem ??= new Int32Array(16))[ins.k & 15] = A;
        break;
      case 0x03:
        (mem ??= new Int32Array(16))[ins.k & 15] = X;
        break;
      case 0x05:
        pc += ins.k | 0;
        break;
      case 0x15:
        pc += A === (ins.k | 0) ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x25:
        pc += A >>> 0 > ins.k >>> 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x35:
        pc += A >>> 0 >= ins.k >>> 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x45:
        pc += (A & ins.k) !== 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x1d:
        pc += A === X ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x2d:
        pc += A >>> 0 > X >>> 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x3d:
        pc += A >>> 0 >= X >>> 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x4d:
        pc += (A & X) !== 0 ? ins.jt | 0 : ins.jf | 0;
        break;
      case 0x0c:
        A = (A + X) | 0;
        break;
      case 0x1c:
        A = (A - X) | 0;
        break;
      case 0x2c:
        A = Math.imul(A, X);
        break;
      case 0x3c:
        if (X === 0) return 0;
        A = (A >>> 0) / (X >>> 0) | 0;
        break;
      case 0x9c:
        if (X === 0) return 0;
        A = (A >>> 0) % (X >>> 0) | 0;
        break;
      case 0x5c:
        A &= X;
        break;
      case 0x4c:
        A |= X;
        break;
      case 0xac:
        A ^= X;
        break;
      case 0x6c:
        A = X >>> 0 < 32 ? A << X : 0;
        break;
      case 0x7c:
        A = X >>> 0 < 32 ? (A >>> X) | 0 : 0;
        break;
      case 0x04:
        A = (A + ins.k) | 0;
        break;
      case 0x14:
        A = (A - ins.k) | 0;
        break;
      case 0x24:
        A = Math.imul(A, ins.k);
        break;
      case 0x34:
        if (ins.k === 0) return 0;
        A = (A >>> 0) / (ins.k >>> 0) | 0;
        break;
      case 0x94:
        if (ins.k === 0) return 0;
        A = (A >>> 0) % (ins.k >>> 0) | 0;
        break;
      case 0x54:
        A &= ins.k;
        break;
      case 0x44:
        A |= ins.k;
        break;
      case 0xa4:
        A ^= ins.k;
        break;
      // A constant shift count is taken modulo 32, as the x86 shift instruction in compiled libpcap does.
      case 0x64:
        A <<= ins.k;
        break;
      case 0x74:
        A = (A >>> ins.k) | 0;
        break;
      case 0x84:
        A = -A | 0;
        break;
      case 0x07:
        X = A;
        break;
      case 0x87:
        A = X;
        break;
      default:
        throw new RuntimeFault('E_CBPF_OPCODE', `unknown opcode 0x${ins.code.toString(16)}`, { position: { insn: pc } });
    }
    pc++;
  }
}
