/** The classic BPF JIT: compiles a program once into one JavaScript function with the interpreter's exact results. */

import { RuntimeFault } from '../util/index.js';
import { ancillaryValue, kernelLoad, type AuxData } from './aux.js';
import type { Insn, Program } from './insn.js';
import { opcodeInfo } from './table.js';

/** A compiled filter: same arguments and result as {@link interpret} without the program. */
export type CbpfFunction = (packet: Uint8Array, wirelen?: number, aux?: AuxData) => number;

/** Forward-only programs with more jump targets than this use the loop form (nesting depth of labelled blocks). */
const MAX_BLOCK_NESTING = 800;
const SKF_AD_BASE = 0xfffff000;

/** The values generated code calls into; passed once at compile time, never allocated per packet. */
interface Runtime {
  anc: (off: number, aux: AuxData, p: Uint8Array, a: number, x: number) => number | undefined;
  load: (p: Uint8Array, off: number, size: number, aux: AuxData) => number | undefined;
  fault: (code: string, message: string, insn: number) => RuntimeFault;
}

const runtime: Runtime = {
  anc: ancillaryValue,
  load: kernelLoad,
  fault: (code, message, insn) => new RuntimeFault(code, message, { position: { insn } }),
};

const pcFault = (t: number | string): string => `throw rt.fault('E_CBPF_PC', 'execution left the program', ${t});`;

/**
 * What a failed bounds check does: 0 for libpcap; with `aux`, the kernel's load (32-bit X + k,
 * header-relative negative offsets), whose value `w` the statement `assign` stores.
 */
function slowLoad(kernel: boolean, off: string, size: number, assign: string): string {
  if (!kernel) return 'return 0;';
  return `{ const w = rt.load(p, ${off}, ${size}, aux); if (w === undefined) return 0; ${assign} }`;
}

/** Big-endian reads of 4, 2 or 1 bytes at the JS expression `o`; A, X and scratch hold int32 bit patterns (unboxed in V8). */
function read(size: number, o: string): string {
  if (size === 4) return `(p[${o}] << 24) | (p[${o} + 1] << 16) | (p[${o} + 2] << 8) | p[${o} + 3]`;
  if (size === 2) return `(p[${o}] << 8) | p[${o} + 1]`;
  return `p[${o}]`;
}

/** Statements for everything but jumps and returns; `''` when the opcode is a jump or return. */
function body(ins: Insn, i: number, kernel: boolean): string {
  const k = ins.k >>> 0;
  const size = { 0x20: 4, 0x28: 2, 0x30: 1, 0x40: 4, 0x48: 2, 0x50: 1 }[ins.code as 0x20] ?? 0;
  switch (ins.code) {
    case 0x20:
    case 0x28:
    case 0x30:
      if (k >= SKF_AD_BASE) {
        // Only Linux metadata can be read this far out; without aux the load is past the packet.
        return kernel ? `{ const v = rt.anc(${k - SKF_AD_BASE}, aux, p, A >>> 0, X >>> 0); if (v === undefined) return 0; A = v | 0; }` : 'return 0;';
      }
      return `if (len < ${k + size}) ${slowLoad(kernel, String(k), size, 'A = w;')} else A = ${read(size, String(k))};`;
    case 0x40:
    case 0x48:
    case 0x50:
      return `o = (X >>> 0) + ${k}; if (len < o + ${size}) ${slowLoad(kernel, 'o', size, 'A = w;')} else { o = o | 0; A = ${read(size, 'o')}; }`;
    case 0x80:
      return 'A = wl;';
    case 0x81:
      return 'X = wl;';
    case 0xb1:
      return `if (len <= ${k}) ${slowLoad(kernel, String(k), 1, 'X = (w & 15) << 2;')} else X = (p[${k}] & 15) << 2;`;
    case 0x00:
      return `A = ${k | 0};`;
    case 0x01:
      return `X = ${k | 0};`;
    case 0x60:
      return `A = m${k & 15};`;
    case 0x61:
      return `X = m${k & 15};`;
    case 0x02:
      return `m${k & 15} = A;`;
    case 0x03:
      return `m${k & 15} = X;`;
    case 0x0c:
      return 'A = (A + X) | 0;';
    case 0x1c:
      return 'A = (A - X) | 0;';
    case 0x2c:
      return 'A = Math.imul(A, X);';
    case 0x3c:
      return 'if (X === 0) return 0; A = ((A >>> 0) / (X >>> 0)) | 0;';
    case 0x9c:
      return 'if (X === 0) return 0; A = ((A >>> 0) % (X >>> 0)) | 0;';
    case 0x5c:
      return 'A &= X;';
    case 0x4c:
      return 'A |= X;';
    case 0xac:
      return 'A ^= X;';
    case 0x6c:
      return 'A = X >>> 0 < 32 ? A << X : 0;';
    case 0x7c:
      return 'A = X >>> 0 < 32 ? (A >>> X) | 0 : 0;';
    case 0x04:
      return `A = (A + ${k | 0}) | 0;`;
    case 0x14:
      return `A = (A - ${k | 0}) | 0;`;
    case 0x24:
      return `A = Math.imul(A, ${k | 0});`;
    case 0x34:
      return k === 0 ? 'return 0;' : `A = ((A >>> 0) / ${k}) | 0;`;
    case 0x94:
      return k === 0 ? 'return 0;' : `A = ((A >>> 0) % ${k}) | 0;`;
    case 0x54:
      return `A &= ${k | 0};`;
    case 0x44:
      return `A |= ${k | 0};`;
    case 0xa4:
      return `A ^= ${k | 0};`;
    case 0x64:
      return `A <<= ${k & 31};`;
    case 0x74:
      return `A = (A >>> ${k & 31}) | 0;`;
    case 0x84:
      return 'A = -A | 0;';
    case 0x07:
      return 'X = A;';
    case 0x87:
      return 'A = X;';
    case 0x06:
      return `return ${k};`;
    case 0x16:
      return 'return A >>> 0;';
    default:
      if (opcodeInfo(ins.code)) return '';
      return `throw rt.fault('E_CBPF_OPCODE', 'unknown opcode 0x${ins.code.toString(16)}', ${i});`;
  }
}

/** The condition of a conditional jump, as a JS expression. */
function condition(ins: Insn): string | undefined {
  const k = ins.k >>> 0;
  switch (ins.code) {
    case 0x15:
      return `A === ${k | 0}`;
    case 0x25:
      return `A >>> 0 > ${k}`;
    case 0x35:
      return `A >>> 0 >= ${k}`;
    case 0x45:
      return `(A & ${k | 0}) !== 0`;
    case 0x1d:
      return 'A === X';
    case 0x2d:
      return 'A >>> 0 > X >>> 0';
    case 0x3d:
      return 'A >>> 0 >= X >>> 0';
    case 0x4d:
      return '(A & X) !== 0';
    default:
      return undefined;
  }
}

/** True when every jump goes forward, so the program compiles to nested labelled blocks. */
function forwardOnly(prog: Program): boolean {
  return prog.every((ins) => ins.code !== 0x05 || (ins.k | 0) >= 0);
}

function usedScratch(prog: Program): number[] {
  const used = new Set<number>();
  for (const ins of prog) if ([0x02, 0x03, 0x60, 0x61].includes(ins.code)) used.add(ins.k & 15);
  return [...used].sort((a, b) => a - b);
}

function prologue(prog: Program, temps: readonly string[]): string {
  const vars = ['A = 0', 'X = 0', 'o = 0', ...usedScratch(prog).map((m) => `m${m} = 0`), ...temps.map((t) => `${t} = 0`)];
  // The wire length matters only to `ld #len` / `ldx #len`.
  const usesLen = prog.some((ins) => ins.code === 0x80 || ins.code === 0x81);
  return ['const len = p.length;', usesLen ? 'wl = wl === undefined ? len : wl | 0;' : '', `let ${vars.join(', ')};`, 'void o;'].join('\n');
}

/** What holds on entry to an instruction on every path to it: a proven minimum packet length, and loads whose values sit in temporaries. */
interface Facts {
  minLen: number;
  /** Keys of loads (`a2_12`, `i2_14`, `m_14`) whose temporary holds their value. */
  avail: Set<string>;
}

function meet(a: Facts | undefined, b: Facts): Facts {
  if (!a) return { minLen: b.minLen, avail: new Set(b.avail) };
  return { minLen: Math.min(a.minLen, b.minLen), avail: new Set([...a.avail].filter((k) => b.avail.has(k))) };
}

const SIZES: Record<number, number> = { 0x20: 4, 0x28: 2, 0x30: 1, 0x40: 4, 0x48: 2, 0x50: 1 };
/** Opcodes that write X, which makes every cached X-relative load stale. */
const WRITES_X = new Set([0x01, 0x61, 0x81, 0xb1, 0x07]);

/** The cache key of a packet load, or undefined for anything else (ancillary loads are not cached). */
function loadKey(ins: Insn): string | undefined {
  const k = ins.k >>> 0;
  if (ins.code === 0x20 || ins.code === 0x28 || ins.code === 0x30) return k >= SKF_AD_BASE ? undefined : `a${SIZES[ins.code]}_${k}`;
  if (ins.code === 0x40 || ins.code === 0x48 || ins.code === 0x50) return `i${SIZES[ins.code]}_${k}`;
  if (ins.code === 0xb1) return `m_${k}`;
  return undefined;
}

/**
 * The captured bytes a load proves present when it succeeds. With Linux semantics (`kernel`)
 * only absolute offsets below 2^31 count: negative offsets address headers and X + k wraps,
 * so X-relative loads and offsets past 2^31 prove nothing about the length.
 */
function loadNeeds(ins: Insn, kernel: boolean): number {
  const k = ins.k >>> 0;
  const size = SIZES[ins.code];
  if (kernel) {
    if (k >= 0x80000000 || ins.code >= 0x40) return ins.code === 0xb1 && k < 0x80000000 ? k + 1 : 0;
    return size === undefined ? 0 : k + size;
  }
  // libpcap: X + k never wraps, so an X-relative load proves at least its constant part.
  if (size !== undefined) return k + size;
  return ins.code === 0xb1 ? k + 1 : 0;
}

/**
 * The captured length below which a forward-only program can only return 0: the largest L such
 * that every path to a result other than 0 (any `ret` but `ret #0`, or a fault) passes a load
 * needing L bytes. A failed load returns 0 too, so checking `len < L` once on entry gives the
 * same results and spares the later loads their checks. Infinity when no path can return non-zero.
 */
function requiredLength(prog: Program, kernel: boolean): number {
  const n = prog.length;
  const need = new Array<number>(n + 1).fill(0);
  const at = (t: number): number => (t >= 0 && t <= n ? need[t] : 0);
  for (let i = n - 1; i >= 0; i--) {
    const ins = prog[i];
    const info = opcodeInfo(ins.code);
    let after: number;
    if (ins.code === 0x06) after = ins.k === 0 ? Infinity : 0;
    else if (ins.code === 0x16 || !info) after = 0;
    else if ((ins.code === 0x34 || ins.code === 0x94) && ins.k === 0) after = Infinity;
    else if (info.form === 'ja') after = at(i + 1 + (ins.k | 0));
    else if (info.form === 'jk' || info.form === 'jx') after = Math.min(at(i + 1 + ins.jt), at(i + 1 + ins.jf));
    else after = at(i + 1);
    need[i] = Math.max(loadNeeds(ins, kernel), after);
  }
  return need[0];
}

/**
 * Straight-line code: instruction t is preceded by the end of block `L<t>`, so `break L<t>` jumps
 * to it. Because every jump goes forward, facts flow in index order: a bounds check that an
 * earlier check on every path already proved is left out, and a packet load repeated on every
 * path reuses the temporary that holds its value (loads never change the packet).
 */
function blockSource(prog: Program, kernel: boolean): { code: string; temps: string[] } | undefined {
  const n = prog.length;
  const targets = new Set<number>();
  const jumpTo = (from: number, t: number): string => {
    if (t === from + 1) return '';
    if (t >= n) return pcFault(t);
    targets.add(t);
    return `break L${t};`;
  };
  // Only loads that occur more than once are worth a temporary.
  const seen = new Map<string, number>();
  for (const ins of prog) {
    const key = loadKey(ins);
    if (key) seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const temps = new Set<string>();
  const entryLen = requiredLength(prog, kernel);
  const facts: (Facts | undefined)[] = new Array(n + 1);
  facts[0] = { minLen: entryLen === Infinity ? 0 : entryLen, avail: new Set() };
  const flow = (t: number, f: Facts): void => {
    if (t <= n) facts[t] = meet(facts[t], f);
  };
  const lines: string[] = [];
  prog.forEach((ins, i) => {
    const f: Facts = facts[i] ?? { minLen: 0, avail: new Set() };
    const out: Facts = { minLen: f.minLen, avail: new Set(f.avail) };
    const key = loadKey(ins);
    const cache = key !== undefined && (seen.get(key) ?? 0) > 1;
    const k = ins.k >>> 0;
    let code: string;
    if (key !== undefined && cache && f.avail.has(key)) {
      code = `${ins.code === 0xb1 ? 'X' : 'A'} = t_${key};`;
    } else if (key !== undefined && key.startsWith('a')) {
      const size = SIZES[ins.code];
      const t = cache ? `t_${key} = ` : '';
      const fast = `A = ${t}${read(size, String(k))};`;
      code = f.minLen >= k + size ? fast : `if (len < ${k + size}) ${slowLoad(kernel, String(k), size, `A = ${t}w;`)} else ${fast}`;
      out.minLen = Math.max(out.minLen, loadNeeds(ins, kernel));
    } else if (key !== undefined && key.startsWith('i')) {
      const size = SIZES[ins.code];
      const t = cache ? `t_${key} = ` : '';
      code = `o = (X >>> 0) + ${k}; if (len < o + ${size}) ${slowLoad(kernel, 'o', size, `A = ${t}w;`)} else { o = o | 0; A = ${t}${read(size, 'o')}; }`;
      out.minLen = Math.max(out.minLen, loadNeeds(ins, kernel));
    } else if (key !== undefined) {
      const t = cache ? `t_${key} = ` : '';
      const fast = `X = ${t}(p[${k}] & 15) << 2;`;
      code = f.minLen > k ? fast : `if (len <= ${k}) ${slowLoad(kernel, String(k), 1, `X = ${t}(w & 15) << 2;`)} else ${fast}`;
      out.minLen = Math.max(out.minLen, loadNeeds(ins, kernel));
    } else {
      code = body(ins, i, kernel);
    }
    if (cache && key !== undefined) {
      temps.add(`t_${key}`);
      out.avail.add(key);
    }
    if (WRITES_X.has(ins.code)) for (const a of [...out.avail]) if (a.startsWith('i')) out.avail.delete(a);
    const cond = condition(ins);
    lines.push(`// ${i}`);
    if (ins.code === 0x05) {
      const t = i + 1 + (ins.k | 0);
      lines.push(jumpTo(i, t));
      flow(t, out);
    } else if (cond !== undefined) {
      const t = i + 1 + ins.jt;
      const e = i + 1 + ins.jf;
      if (t === e) lines.push(jumpTo(i, t));
      else if (ins.jf === 0) lines.push(`if (${cond}) { ${jumpTo(i, t)} }`);
      else if (ins.jt === 0) lines.push(`if (!(${cond})) { ${jumpTo(i, e)} }`);
      else lines.push(`if (${cond}) { ${jumpTo(i, t)} } else { ${jumpTo(i, e)} }`);
      flow(t, out);
      flow(e, out);
    } else {
      lines.push(code);
      // Returns, faults and division by a constant zero end the path here.
      if (!/^(return|throw)\b/.test(code)) flow(i + 1, out);
    }
  });
  if (targets.size > MAX_BLOCK_NESTING) return undefined;
  const sorted = [...targets].sort((a, b) => b - a);
  // One check up front replaces the absolute loads' own checks (see requiredLength).
  let out = entryLen === Infinity ? 'return 0;\n' : entryLen > 0 ? `if (len < ${entryLen}) return 0;\n` : '';
  out += sorted.map((t) => `L${t}: {`).join(' ') + '\n';
  let line = 0;
  for (let i = 0; i < n; i++) {
    if (targets.has(i)) out += '}\n';
    out += lines[line++] + '\n' + lines[line++] + '\n';
  }
  out += pcFault(n) + '\n';
  return { code: out, temps: [...temps] };
}

/** A `switch` inside a loop: handles backward jumps, counting steps as the interpreter does. */
function loopSource(prog: Program, kernel: boolean): string {
  // The interpreter's stepBudget, inlined: the program length times the captured bytes plus one.
  let out = `let pc = 0, steps = 0;\nconst budget = ${prog.length} * (len + 1);\nfor (;;) {\n`;
  // Checked in the interpreter's order: leaving the program first, then the budget.
  out += `if (pc < 0 || pc >= ${prog.length}) ${pcFault('pc')}\n`;
  out += "if (++steps > budget) throw rt.fault('E_CBPF_STEPS', 'program ran past its budget of ' + budget + ' instructions', pc);\n";
  out += 'switch (pc) {\n';
  prog.forEach((ins, i) => {
    const cond = condition(ins);
    out += `case ${i}: `;
    if (ins.code === 0x05) out += `pc = ${i + 1 + (ins.k | 0)}; continue;\n`;
    else if (cond !== undefined) out += `pc = (${cond}) ? ${i + 1 + ins.jt} : ${i + 1 + ins.jf}; continue;\n`;
    else out += `${body(ins, i, kernel)} pc = ${i + 1}; continue;\n`;
  });
  out += "default: throw rt.fault('E_CBPF_PC', 'execution left the program', pc);\n}\n}\n";
  return out;
}

/** The JavaScript source {@link compileJit} builds for `prog` (for reading and debugging). */
export function jitSource(prog: Program, kernel = false): string {
  const blocks = forwardOnly(prog) ? blockSource(prog, kernel) : undefined;
  if (blocks) return `${prologue(prog, blocks.temps)}\n${blocks.code}`;
  return `${prologue(prog, [])}\n${loopSource(prog, kernel)}`;
}

/**
 * Compiles `prog` into JavaScript (built once with `new Function`): straight-line code with
 * constant offsets and inline bounds checks, no allocation per packet. It returns what
 * {@link interpret} returns, and throws the same {@link RuntimeFault}s, on every input.
 * Two bodies are built: libpcap's semantics, and Linux's for calls that pass `aux`, so that the
 * common path carries no code for metadata.
 *
 * @example const f = compileJit(parseProgram('ldh [12]\njeq #0x800, l1, l2\nl1: ret #65535\nl2: ret #0')); f(frame)
 */
export function compileJit(prog: Program): CbpfFunction {
  const src = [
    "'use strict';",
    `const kernel = function cbpfFilterLinux(p, wl, aux) {\n${jitSource(prog, true)}\n};`,
    `return function cbpfFilter(p, wl, aux) {\nif (aux !== undefined) return kernel(p, wl, aux);\n${jitSource(prog, false)}\n};`,
  ].join('\n');
  const make = new Function('rt', src) as (rt: Runtime) => CbpfFunction;
  return make(runtime);
}

/**
 * A compiled filter over a packet that lies inside a larger buffer: `caplen` bytes from `offset`
 * of `buf`, `wirelen` long on the wire. It returns what {@link interpret} returns on
 * `buf.subarray(offset, offset + caplen)` (libpcap semantics, no metadata), without making that view.
 */
export type CbpfRangeFunction = (buf: Uint8Array, offset: number, caplen: number, wirelen: number) => number;

/**
 * Like {@link compileJit}, for packets read straight out of a capture buffer: a reader that
 * scans millions of records pays neither a view nor a call per packet beyond this one.
 */
export function compileJitRange(prog: Program): CbpfRangeFunction {
  const make = new Function('rt', jitRangeSource(prog)) as (rt: Runtime) => CbpfRangeFunction;
  return make(runtime);
}

/**
 * The body of the factory {@link compileJitRange} builds: `new Function('rt', source)(rt)` returns
 * the range filter. A worker thread builds it from this text, without loading the compiler; its
 * `rt` needs only `fault(code, message, insn)` (the libpcap body never calls the kernel hooks).
 */
export function jitRangeSource(prog: Program): string {
  // The generated code reads the packet only as `p[...]` and its length only as `len`.
  const body = jitSource(prog, false)
    .replace('const len = p.length;', '')
    .replace(/\bp\[/g, 'p[b + ');
  return `'use strict';\nreturn function cbpfFilterRange(p, b, len, wl) {\n${body}\n};`;
}
