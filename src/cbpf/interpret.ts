/** The classic BPF interpreter: libpcap's bpf_filter semantics, plus Linux ancillary loads when metadata is given. */

import { RuntimeFault } from '../util/index.js';
import { ancillaryValue, type AuxData } from './aux.js';
import type { Program } from './insn.js';

/** Runs past this many instructions only in a looping program (libpcap allows backward `ja`); then a {@link RuntimeFault}. */
export const MAX_STEPS = 1 << 24;

const SKF_AD_BASE = 0xfffff000;

/**
 * An absolute load at `k`: with `aux`, offsets SKF_AD_OFF+n are Linux ancillary data;
 * otherwise (and for unknown n) they are ordinary offsets far past the packet.
 */
function ancillary(k: number, aux: AuxData | undefined, p: Uint8Array, a: number, x: number): number | undefined {
  if (aux === undefined || k < SKF_AD_BASE) return undefined;
  return ancillaryValue(k - SKF_AD_BASE, aux, p, a, x);
}

/**
 * Runs `prog` on one packet, as libpcap's `bpf_filter` does, and returns the `ret` value
 * (0 = drop). `packet` holds the captured bytes; `wirelen` is the length on the wire
 * (what `ld #len` reads). A load past the captured bytes, or a division or modulo by a zero
 * X, ends the program with 0. Scratch memory starts zeroed. With `aux`, `ld [SKF_AD_OFF+n]`
 * reads Linux socket-buffer metadata instead.
 *
 * Programs that libpcap would abort on (an unknown opcode, a jump out of the program) throw a
 * {@link RuntimeFault} naming the instruction; so does a loop that runs {@link MAX_STEPS} steps.
 */
export function interpret(prog: Program, packet: Uint8Array, wirelen: number = packet.length, aux?: AuxData): number {
  const p = packet;
  const buflen = p.length;
  const n = prog.length;
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    if (pc < 0 || pc >= n) throw new RuntimeFault('E_CBPF_PC', 'execution left the program', { position: { insn: pc } });
    if (++steps > MAX_STEPS) throw new RuntimeFault('E_CBPF_STEPS', `program ran more than ${MAX_STEPS} instructions`, { position: { insn: pc } });
    const ins = prog[pc];
    const k = ins.k >>> 0;
    switch (ins.code) {
      case 0x06: // ret #k
        return k;
      case 0x16: // ret a
        return A;
      case 0x20: {
        const v = ancillary(k, aux, p, A, X);
        if (v !== undefined) A = v;
        else {
          if (k + 4 > buflen) return 0;
          A = ((p[k] << 24) | (p[k + 1] << 16) | (p[k + 2] << 8) | p[k + 3]) >>> 0;
        }
        break;
      }
      case 0x28: {
        const v = ancillary(k, aux, p, A, X);
        if (v !== undefined) A = v;
        else {
          if (k + 2 > buflen) return 0;
          A = (p[k] << 8) | p[k + 1];
        }
        break;
      }
      case 0x30: {
        const v = ancillary(k, aux, p, A, X);
        if (v !== undefined) A = v;
        else {
          if (k >= buflen) return 0;
          A = p[k];
        }
        break;
      }
      case 0x80:
        A = wirelen >>> 0;
        break;
      case 0x81:
        X = wirelen >>> 0;
        break;
      case 0x40: {
        const o = X + k;
        if (o + 4 > buflen) return 0;
        A = ((p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3]) >>> 0;
        break;
      }
      case 0x48: {
        const o = X + k;
        if (o + 2 > buflen) return 0;
        A = (p[o] << 8) | p[o + 1];
        break;
      }
      case 0x50: {
        const o = X + k;
        if (o >= buflen) return 0;
        A = p[o];
        break;
      }
      case 0xb1:
        if (k >= buflen) return 0;
        X = (p[k] & 0xf) << 2;
        break;
      case 0x00:
        A = k;
        break;
      case 0x01:
        X = k;
        break;
      case 0x60:
        A = mem[k & 15];
        break;
      case 0x61:
        X = mem[k & 15];
        break;
      case 0x02:
        mem[k & 15] = A;
        break;
      case 0x03:
        mem[k & 15] = X;
        break;
      case 0x05:
        pc += k | 0;
        break;
      case 0x15:
        pc += A === k ? ins.jt : ins.jf;
        break;
      case 0x25:
        pc += A > k ? ins.jt : ins.jf;
        break;
      case 0x35:
        pc += A >= k ? ins.jt : ins.jf;
        break;
      case 0x45:
        pc += (A & k) !== 0 ? ins.jt : ins.jf;
        break;
      case 0x1d:
        pc += A === X ? ins.jt : ins.jf;
        break;
      case 0x2d:
        pc += A > X ? ins.jt : ins.jf;
        break;
      case 0x3d:
        pc += A >= X ? ins.jt : ins.jf;
        break;
      case 0x4d:
        pc += (A & X) !== 0 ? ins.jt : ins.jf;
        break;
      case 0x0c:
        A = (A + X) >>> 0;
        break;
      case 0x1c:
        A = (A - X) >>> 0;
        break;
      case 0x2c:
        A = Math.imul(A, X) >>> 0;
        break;
      case 0x3c:
        if (X === 0) return 0;
        A = (A / X) >>> 0;
        break;
      case 0x9c:
        if (X === 0) return 0;
        A = A % X;
        break;
      case 0x5c:
        A = (A & X) >>> 0;
        break;
      case 0x4c:
        A = (A | X) >>> 0;
        break;
      case 0xac:
        A = (A ^ X) >>> 0;
        break;
      case 0x6c:
        A = X < 32 ? (A << X) >>> 0 : 0;
        break;
      case 0x7c:
        A = X < 32 ? A >>> X : 0;
        break;
      case 0x04:
        A = (A + k) >>> 0;
        break;
      case 0x14:
        A = (A - k) >>> 0;
        break;
      case 0x24:
        A = Math.imul(A, k) >>> 0;
        break;
      case 0x34:
        if (k === 0) return 0;
        A = (A / k) >>> 0;
        break;
      case 0x94:
        if (k === 0) return 0;
        A = A % k;
        break;
      case 0x54:
        A = (A & k) >>> 0;
        break;
      case 0x44:
        A = (A | k) >>> 0;
        break;
      case 0xa4:
        A = (A ^ k) >>> 0;
        break;
      // A constant shift count is taken modulo 32, as the x86 shift instruction in compiled libpcap does.
      case 0x64:
        A = (A << k) >>> 0;
        break;
      case 0x74:
        A = A >>> k;
        break;
      case 0x84:
        A = -A >>> 0;
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
