/**
 * fast-check generators of eBPF programs the kernel verifier accepts, for the VM-vs-kernel parity suite.
 * A recipe (plain data, shrinkable) becomes an XDP ProgramSpec whose every scalar register ends up in map "out".
 */

import fc from 'fast-check';
import { MapType, ProgType } from '../../../src/ebpf/index.js';
import type { Insn, MapSpec, ProgramSpec } from '../../../src/ebpf/index.js';
import { DW, W, call, exit, ins, jmp, ldMap, ldx, lddw, movImm, movReg, st, stx } from './asm.js';

export type Family = 'alu' | 'jump' | 'stack' | 'packet' | 'map' | 'skb';

/** Registers each family may compute with (the rest hold pointers or are clobbered by helper calls). */
export const POOL: Record<Family, readonly number[]> = {
  alu: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  jump: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  stack: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  packet: [0, 1, 2, 3, 4, 5, 8, 9], // r6 = data, r7 = data_end
  map: [0, 6, 7, 8, 9], // r1-r5 are clobbered by helper calls
  skb: [0, 7, 8, 9], // r6 = ctx for LD_ABS/LD_IND, which clobber r1-r5
};

/** Bytes of packet the packet family may touch after its bounds check. */
export const PKT_N = 48;

export type Op =
  | { k: 'alu'; code: number; dst: number; src: number; off: number; imm: number }
  | { k: 'jmp'; code: number; dst: number; src: number; imm: number; skip: number }
  | { k: 'stx'; size: number; off: number; src: number }
  | { k: 'st'; size: number; off: number; imm: number }
  | { k: 'ldx'; size: number; off: number; dst: number; sx: boolean }
  | { k: 'atomic'; dw: boolean; off: number; src: number; aop: number }
  | { k: 'pkt-ld'; size: number; off: number; dst: number }
  | { k: 'pkt-st'; size: number; off: number; src: number }
  | { k: 'map-update'; key: number; src: number; flags: number; acc: number }
  | { k: 'map-lookup'; key: number; dst: number; src: number; write: boolean }
  | { k: 'map-delete'; key: number; acc: number }
  | { k: 'ld-abs'; size: number; imm: number }
  | { k: 'ld-ind'; size: number; src: number; imm: number }
  | { k: 'ctx-ld'; dst: number; field: number };

export interface Recipe {
  family: Family;
  /** Initial values of the pool registers. */
  init: bigint[];
  ops: Op[];
  /** Pool index whose value is returned in r0. */
  ret: number;
  packet: Uint8Array;
  dataMap: 'hash' | 'array';
}

const SIZES = [0x10, 0x08, 0x00, 0x18]; // B, H, W, DW
const SIZE_BYTES: Record<number, number> = { 0x10: 1, 0x08: 2, 0x00: 4, 0x18: 8 };

const interesting64 = fc.constantFrom(0n, 1n, -1n, 0x7fffffffn, -0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, -0x8000000000000000n, 31n, 32n, 63n, 64n);
const any64 = fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), interesting64, fc.bigInt({ min: -300n, max: 300n }));
const imm32 = fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(0, 1, -1, 0x7fffffff, -0x80000000, 31, 32, 63, 64, 0xff, 0xffff), fc.integer({ min: -40, max: 40 }));

// ALU operation codes (high nibble).
const ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70, NEG = 0x80, MOD = 0x90, XOR = 0xa0, MOV = 0xb0, ARSH = 0xc0, END = 0xd0;

function aluArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool);
  return fc.record({
    wide: fc.boolean(),
    op: fc.constantFrom(ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH, END),
    x: fc.boolean(),
    dst: reg,
    src: reg,
    imm: imm32,
    variant: fc.integer({ min: 0, max: 5 }),
  }).map(({ wide, op, x, dst, src, imm, variant }): Op => {
    const cls = wide ? 0x07 : 0x04;
    const width = wide ? 64 : 32;
    if (op === NEG) return { k: 'alu', code: cls | NEG, dst, src: 0, off: 0, imm: 0 };
    if (op === END) {
      const bits = [16, 32, 64][variant % 3];
      // ALU64 END is the unconditional bswap (v4); ALU END picks le (K) or be (X).
      return wide ? { k: 'alu', code: 0x07 | END, dst, src: 0, off: 0, imm: bits } : { k: 'alu', code: 0x04 | END | (x ? 0x08 : 0), dst, src: 0, off: 0, imm: bits };
    }
    // Signed div/mod (off 1) and sign-extending mov (off 8/16/32) are the v4 variants.
    let off = 0;
    if ((op === DIV || op === MOD) && variant >= 3) off = 1;
    if (op === MOV && x && variant >= 3) off = wide ? [8, 16, 32][variant - 3] : [8, 16, 8][variant - 3];
    if (x) return { k: 'alu', code: cls | op | 0x08, dst, src, off, imm: 0 };
    let k = imm;
    // Constant shifts must be in range and constant divisors non-zero, or the verifier refuses.
    if (op === LSH || op === RSH || op === ARSH) k = ((k % width) + width) % width;
    if ((op === DIV || op === MOD) && k === 0) k = 1;
    return { k: 'alu', code: cls | op, dst, src: 0, off, imm: k };
  });
}

const JOPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]; // JEQ JGT JGE JSET JNE JSGT JSGE JLT JLE JSLT JSLE

function jmpArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool);
  return fc.record({ wide: fc.boolean(), op: fc.constantFrom(...JOPS), x: fc.boolean(), dst: reg, src: reg, imm: imm32, skip: fc.integer({ min: 0, max: 6 }) })
    .map(({ wide, op, x, dst, src, imm, skip }): Op => ({ k: 'jmp', code: (wide ? 0x05 : 0x06) | op | (x ? 0x08 : 0), dst, src: x ? src : 0, imm: x ? 0 : imm, skip }));
}

/** Aligned offsets in the zeroed stack area r10-64 .. r10-1. */
const stackOff = (size: number) => fc.integer({ min: 1, max: 64 / SIZE_BYTES[size] }).map((i) => -i * SIZE_BYTES[size]);

function stackArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool);
  const size = fc.constantFrom(...SIZES);
  return fc.oneof(
    size.chain((s) => fc.record({ off: stackOff(s), src: reg }).map(({ off, src }): Op => ({ k: 'stx', size: s, off, src }))),
    size.chain((s) => fc.record({ off: stackOff(s), imm: imm32 }).map(({ off, imm }): Op => ({ k: 'st', size: s, off, imm }))),
    size.chain((s) => fc.record({ off: stackOff(s), dst: reg, sx: fc.boolean() }).map(({ off, dst, sx }): Op => ({ k: 'ldx', size: s, off, dst, sx: sx && s !== 0x18 }))),
    fc.boolean().chain((dw) => fc.record({
      off: stackOff(dw ? 0x18 : 0x00), src: reg,
      aop: fc.constantFrom(0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1),
    }).map(({ off, src, aop }): Op => ({ k: 'atomic', dw, off, src, aop }))),
  );
}

function packetArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool);
  const size = fc.constantFrom(...SIZES);
  const off = (s: number) => fc.integer({ min: 0, max: PKT_N - SIZE_BYTES[s] });
  return fc.oneof(
    size.chain((s) => fc.record({ off: off(s), dst: reg }).map(({ off: o, dst }): Op => ({ k: 'pkt-ld', size: s, off: o, dst }))),
    size.chain((s) => fc.record({ off: off(s), src: reg }).map(({ off: o, src }): Op => ({ k: 'pkt-st', size: s, off: o, src }))),
  );
}

function mapArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool.filter((r) => r !== 0));
  const key = fc.constantFrom(0, 1, 2, 3, 5);
  return fc.oneof(
    fc.record({ key, src: reg, flags: fc.integer({ min: 0, max: 2 }), acc: reg }).map((o): Op => ({ k: 'map-update', ...o })),
    fc.record({ key, dst: reg, src: reg, write: fc.boolean() }).map((o): Op => ({ k: 'map-lookup', ...o })),
    fc.record({ key, acc: reg }).map((o): Op => ({ k: 'map-delete', ...o })),
  );
}

/** `__sk_buff` fields a socket filter may read, by offset: len, pkt_type, mark, queue_mapping, protocol, priority, cb[0..4]. */
export const SKB_FIELDS = [0, 4, 8, 12, 16, 32, 48, 52, 56, 60, 64];

function skbArb(pool: readonly number[]): fc.Arbitrary<Op> {
  const reg = fc.constantFrom(...pool);
  const size = fc.constantFrom(0x10, 0x08, 0x00);
  // Offsets around the end of a 64-byte packet, so some loads fall off it (which ends the program with r0 = 0).
  const off = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(-1, 0x7fffffff, 1 << 20));
  return fc.oneof(
    fc.record({ size, imm: off }).map((o): Op => ({ k: 'ld-abs', ...o })),
    fc.record({ size, src: reg, imm: off }).map((o): Op => ({ k: 'ld-ind', ...o })),
    fc.record({ dst: reg, field: fc.constantFrom(...SKB_FIELDS) }).map((o): Op => ({ k: 'ctx-ld', ...o })),
    // Small values so LD_IND often lands inside the packet.
    fc.record({ dst: reg, imm: fc.integer({ min: 0, max: 40 }) }).map(({ dst, imm }): Op => ({ k: 'alu', code: 0xb7, dst, src: 0, off: 0, imm })),
  );
}

/** A recipe for one program of a family. */
export function recipeArb(family: Family): fc.Arbitrary<Recipe> {
  const pool = POOL[family];
  const kinds: fc.Arbitrary<Op>[] = [aluArb(pool)];
  if (family !== 'alu') kinds.push(jmpArb(pool));
  if (family === 'stack' || family === 'packet' || family === 'map') kinds.push(stackArb(pool));
  if (family === 'packet') kinds.push(packetArb(pool), packetArb(pool));
  if (family === 'map') kinds.push(mapArb(pool), mapArb(pool));
  if (family === 'skb') kinds.push(skbArb(pool), skbArb(pool));
  return fc.record({
    family: fc.constant(family),
    init: fc.array(any64, { minLength: pool.length, maxLength: pool.length }),
    ops: fc.array(fc.oneof(...kinds), { minLength: 1, maxLength: 40 }),
    ret: fc.integer({ min: 0, max: pool.length - 1 }),
    // The packet family sometimes gets a packet too short for its bounds check.
    packet: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 14, maxLength: PKT_N - 1 })),
    dataMap: fc.constantFrom('hash' as const, 'array' as const),
  }).map((r) => (r.family === 'skb' ? { ...r, packet: withEthertype(r.packet) } : r));
}

/**
 * Socket-filter packets are 64 bytes or more. The type/length field stays random: 802.3 length fields
 * (< 0x600) exercise the VM's eth_type_trans (skb->protocol = ETH_P_802_2/802_3), and a quarter of the
 * packets get a 0xFFFF payload start so that ETH_P_802_3 comes up too.
 */
function withEthertype(p: Uint8Array): Uint8Array {
  // At least 64 bytes: the kernel refuses a test run whose IPv4/IPv6 ethertype comes without a whole IP header.
  const q = new Uint8Array(Math.max(64, p.length));
  q.set(p);
  if (q[12] < 0x06 && (q[16] & 3) === 0) q[14] = q[15] = 0xff;
  return q;
}

/** The maps every generated program uses: "out" for the final registers, "data" for the map family. */
export function recipeMaps(r: Recipe): MapSpec[] {
  const maps: MapSpec[] = [{ name: 'out', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 80, maxEntries: 1 }];
  if (r.family === 'map') {
    maps.push(r.dataMap === 'hash'
      ? { name: 'data', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 3 }
      : { name: 'data', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
  }
  return maps;
}

// Stack layout: -64..-1 scratch the ops use; -72 map key; -80 map value; -168..-89 saved registers.
const KEY_OFF = -72;
const VAL_OFF = -80;
const saveOff = (reg: number) => -96 - 8 * reg;

/** Expands a recipe into instructions. Jumps skip whole ops, so they never land inside a macro. */
export function buildProgram(r: Recipe, name = 'parity'): ProgramSpec {
  const pool = POOL[r.family];
  const pro: Insn[] = [];
  const exits: number[] = []; // indexes of jumps to the "short packet" exit
  if (r.family === 'packet') {
    pro.push(ldx(W, 6, 1, 0), ldx(W, 7, 1, 4), movReg(8, 6), ins(0x07, 8, 0, 0, PKT_N));
    exits.push(pro.length);
    pro.push(jmp(0x2d, 8, 7, 0)); // if r8 > r7 goto short (patched below)
  }
  if (r.family === 'skb') pro.push(movReg(6, 1));
  for (let off = -8; off >= -64; off -= 8) pro.push(st(DW, 10, off, 0));
  pool.forEach((reg, i) => pro.push(lddw(reg, r.init[i])));

  const chunks: Insn[][] = r.ops.map((op) => expand(op));
  const starts: number[] = [];
  let at = pro.length;
  for (const c of chunks) {
    starts.push(at);
    at += c.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0);
  }
  const bodyEnd = at;
  // Resolve jump skips to slot offsets from the jump's own slot.
  chunks.forEach((c, i) => {
    const op = r.ops[i];
    if (op.k !== 'jmp') return;
    const target = i + 1 + op.skip < chunks.length ? starts[i + 1 + op.skip] : bodyEnd;
    c[0] = { ...c[0], off: target - starts[i] - 1 };
  });

  const epi: Insn[] = [];
  for (const reg of pool) epi.push(stx(DW, 10, reg, saveOff(reg)));
  epi.push(st(W, 10, KEY_OFF, 0), ldMap(1, 'out'), movReg(2, 10), ins(0x07, 2, 0, 0, KEY_OFF), call(1));
  epi.push(jmp(0x15, 0, 0, pool.length * 2));
  for (const reg of pool) epi.push(ldx(DW, 1, 10, saveOff(reg)), stx(DW, 0, 1, 8 * reg));
  epi.push(ldx(DW, 0, 10, saveOff(pool[r.ret])), exit());
  const shortExit = [movImm(0, 77), exit()];

  const insns = [...pro, ...chunks.flat(), ...epi, ...(r.family === 'packet' ? shortExit : [])];
  if (r.family === 'packet') {
    // Slot of the short exit minus (slot of the jump + 1); every lddw before it is two slots.
    const slotOf = (idx: number) => insns.slice(0, idx).reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0);
    const shortAt = slotOf(insns.length - 2);
    for (const j of exits) insns[j] = { ...insns[j], off: shortAt - slotOf(j) - 1 };
  }
  const type = r.family === 'skb' ? ProgType.BPF_PROG_TYPE_SOCKET_FILTER : ProgType.BPF_PROG_TYPE_XDP;
  return { name, type, license: 'GPL', insns, maps: recipeMaps(r) };
}

function expand(op: Op): Insn[] {
  switch (op.k) {
    case 'alu':
      return [ins(op.code, op.dst, op.src, op.off, op.imm)];
    case 'jmp':
      return [ins(op.code, op.dst, op.src, 0, op.imm)];
    case 'stx':
      return [stx(op.size, 10, op.src, op.off)];
    case 'st':
      return [st(op.size, 10, op.off, op.imm)];
    case 'ldx':
      // BPF_MEMSX (0x80) sign-extends B/H/W loads (v4).
      return [ins(op.sx ? 0x81 | op.size : 0x61 | op.size, op.dst, 10, op.off)];
    case 'atomic':
      // The bare instruction, 32-bit cmpxchg included: r0's zero-extension is part of what VM and kernel must agree on.
      return [ins(op.dw ? 0xdb : 0xc3, 10, op.src, op.off, op.aop)];
    case 'pkt-ld':
      return [ldx(op.size, op.dst, 6, op.off)];
    case 'pkt-st':
      return [stx(op.size, 6, op.src, op.off)];
    case 'map-update':
      return [
        st(W, 10, KEY_OFF, op.key), stx(DW, 10, op.src, VAL_OFF),
        ldMap(1, 'data'), movReg(2, 10), ins(0x07, 2, 0, 0, KEY_OFF), movReg(3, 10), ins(0x07, 3, 0, 0, VAL_OFF), movImm(4, op.flags),
        call(2), ins(0x0f, op.acc, 0), // r_acc += r0 (the helper's result)
      ];
    case 'map-lookup': {
      const body = op.write ? [ldx(DW, op.dst, 0, 0), stx(DW, 0, op.src, 0)] : [ldx(DW, op.dst, 0, 0)];
      return [
        st(W, 10, KEY_OFF, op.key), ldMap(1, 'data'), movReg(2, 10), ins(0x07, 2, 0, 0, KEY_OFF), call(1),
        jmp(0x15, 0, 0, body.length), ...body, movImm(0, 0),
      ];
    }
    case 'map-delete':
      return [st(W, 10, KEY_OFF, op.key), ldMap(1, 'data'), movReg(2, 10), ins(0x07, 2, 0, 0, KEY_OFF), call(3), ins(0x0f, op.acc, 0)];
    case 'ld-abs':
      return [ins(0x20 | op.size, 0, 0, 0, op.imm)];
    case 'ld-ind':
      return [ins(0x40 | op.size, 0, op.src, 0, op.imm)];
    case 'ctx-ld':
      return [ldx(W, op.dst, 6, op.field)];
  }
}
