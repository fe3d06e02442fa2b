/** Test-local stand-ins until src/cbpf has them: a parser for `tcpdump -d` listings and a tiny reference interpreter. */

import type { Insn } from '../../src/cbpf/index.js';

// Mnemonic + operand shape -> opcode, written from libpcap's bpf_image formats.
const LOADS: Record<string, number> = { ld: 0x00, ldh: 0x08, ldb: 0x10 };
const ALU: Record<string, number> = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, mod: 0x90, xor: 0xa0 };
const JMP: Record<string, number> = { jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40 };
const ANC: Record<string, number> = { proto: 0, type: 4, ifidx: 8, nla: 12, nlan: 16, mark: 20, queue: 24, hatype: 28, rxhash: 32, cpu: 36, xor_x: 40, vlan_tci: 44, vlanp: 48, poff: 52, random: 56, vlan_tpid: 60 };

function num(s: string): number {
  return Number(s) >>> 0;
}

/** Parses one `(NNN) op operand [jt N jf N]` line; jump targets are absolute in the listing. */
export function parseListingLine(line: string): Insn {
  const m = /^\((\d+)\)\s+(\S+)\s*(.*?)\s*(?:;.*)?$/.exec(line.trimEnd());
  if (!m) throw new Error(`bad listing line: ${line}`);
  const n = Number(m[1]);
  const op = m[2];
  let rest = m[3].trim();
  let jt = 0;
  let jf = 0;
  const j = /^(.*?)\s+jt (\d+)\s+jf (\d+)$/.exec(rest);
  if (j) {
    rest = j[1].trim();
    jt = Number(j[2]) - n - 1;
    jf = Number(j[3]) - n - 1;
  }
  const mk = (code: number, k = 0): Insn => ({ code, k: k >>> 0, jt, jf });
  if (op === 'ret') return rest === '' ? mk(0x16) : mk(0x06, num(rest.slice(1)));
  if (op === 'tax') return mk(0x07);
  if (op === 'txa') return mk(0x87);
  if (op === 'neg') return mk(0x84);
  if (op === 'ja') return { code: 0x05, k: (Number(rest) - n - 1) >>> 0, jt: 0, jf: 0 };
  if (op === 'st' || op === 'stx') return mk(op === 'st' ? 0x02 : 0x03, Number(/M\[(\d+)\]/.exec(rest)![1]));
  if (op === 'ldxb') return mk(0xb1, Number(/\[(-?\d+)\]/.exec(rest)![1]));
  if (op === 'ldx') {
    if (rest === '#pktlen') return mk(0x81);
    if (rest.startsWith('M[')) return mk(0x61, Number(rest.slice(2, -1)));
    return mk(0x01, num(rest.slice(1)));
  }
  if (op in LOADS) {
    const size = LOADS[op];
    if (rest === '#pktlen') return mk(0x80);
    if (rest.startsWith('#')) return mk(0x00, num(rest.slice(1)));
    if (rest.startsWith('M[')) return mk(0x60, Number(rest.slice(2, -1)));
    const ind = /^\[x \+ (-?\d+)\]$/.exec(rest);
    if (ind) return mk(0x40 | size, Number(ind[1]));
    const abs = /^\[(.+)\]$/.exec(rest);
    if (abs) {
      const a = abs[1];
      const k = a in ANC ? -0x1000 + ANC[a] : Number(a);
      return mk(0x20 | size, k);
    }
  }
  if (op in ALU) return rest === 'x' ? mk(0x0c | ALU[op]) : mk(0x04 | ALU[op], num(rest.slice(1)));
  if (op in JMP) return rest === 'x' ? mk(0x0d | JMP[op]) : mk(0x05 | JMP[op], num(rest.slice(1)));
  throw new Error(`unknown mnemonic in: ${line}`);
}

/** Parses a whole `tcpdump -d` listing. */
export function parseListing(lines: readonly string[]): Insn[] {
  return lines.map(parseListingLine);
}

/**
 * Runs a classic BPF program as libpcap's bpf_filter does: out-of-range loads and division
 * by a zero X return 0, `len` is the wire length. Ancillary loads (negative offsets) read as
 * out of range unless `aux` gives their values (keyed by SKF_AD_* offset). Returns the accept value.
 */
export function runCbpf(p: readonly Insn[], pkt: Uint8Array, wirelen = pkt.length, aux?: Readonly<Record<number, number>>): number {
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  const n = pkt.length;
  const load = (k: number, size: number): number | undefined => {
    if (k < 0 || k > n - size) return undefined;
    if (size === 4) return ((pkt[k] << 24) | (pkt[k + 1] << 16) | (pkt[k + 2] << 8) | pkt[k + 3]) >>> 0;
    if (size === 2) return (pkt[k] << 8) | pkt[k + 1];
    return pkt[k];
  };
  const SIZES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1 };
  for (let pc = 0, steps = 0; pc < p.length && steps < 100000; pc++, steps++) {
    const { code, k, jt, jf } = p[pc];
    const cls = code & 7;
    switch (cls) {
      case 0: {
        const mode = code & 0xe0;
        if (mode === 0x00) A = k;
        else if (mode === 0x80) A = wirelen;
        else if (mode === 0x60) A = M[k & 15];
        else {
          if (aux && mode === 0x20 && k >= 0xfffff000) {
            // Linux ancillary data (SKF_AD_OFF + n), when the caller models a live socket.
            A = aux[k - 0xfffff000] ?? 0;
            break;
          }
          const off = mode === 0x20 ? k | 0 : (X + k) >>> 0;
          const v = load(mode === 0x20 ? off : off > 0x7fffffff ? -1 : off, SIZES[code & 0x18]);
          if (v === undefined) return 0;
          A = v;
        }
        break;
      }
      case 1: {
        const mode = code & 0xe0;
        if (mode === 0x00) X = k;
        else if (mode === 0x80) X = wirelen;
        else if (mode === 0x60) X = M[k & 15];
        else if (mode === 0xa0) {
          const v = load(k | 0, 1);
          if (v === undefined) return 0;
          X = (v & 0xf) * 4;
        }
        break;
      }
      case 2:
        M[k & 15] = A;
        break;
      case 3:
        M[k & 15] = X;
        break;
      case 4: {
        const op = code & 0xf0;
        const v = code & 8 ? X : k;
        switch (op) {
          case 0x00: A = (A + v) >>> 0; break;
          case 0x10: A = (A - v) >>> 0; break;
          case 0x20: A = Math.imul(A, v) >>> 0; break;
          case 0x30: if (v === 0) return 0; A = Math.floor(A / v) >>> 0; break;
          case 0x90: if (v === 0) return 0; A = (A % v) >>> 0; break;
          case 0x40: A = (A | v) >>> 0; break;
          case 0x50: A = (A & v) >>> 0; break;
          case 0xa0: A = (A ^ v) >>> 0; break;
          case 0x60: A = v >= 32 ? 0 : (A << v) >>> 0; break;
          case 0x70: A = v >= 32 ? 0 : A >>> v; break;
          case 0x80: A = -A >>> 0; break;
          default: return 0;
        }
        break;
      }
      case 5: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const v = code & 8 ? X : k;
        const r = op === 0x10 ? A === v : op === 0x20 ? A > v : op === 0x30 ? A >= v : (A & v) !== 0;
        pc += r ? jt : jf;
        break;
      }
      case 6:
        return (code & 0x18) === 0x10 ? A : k;
      case 7:
        if (code & 0x80) A = X;
        else X = A;
        break;
    }
  }
  return 0;
}
