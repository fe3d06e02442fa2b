/**
 * fast-check generators of kernel-style programs for the verifier differential test: each family builds an
 * accepted-looking program and mutates it (moves a bound, drops a null check, shifts an offset, changes a size,
 * a type, a license), so that about half the programs are rejected, for varied reasons.
 */

import fc from 'fast-check';
import { MapType, ProgType } from '../../../src/ebpf/index.js';
import type { Insn, MapSpec, ProgramSpec } from '../../../src/ebpf/index.js';
import { DW, H, W, B, call, exit, ins, jmp, ldMap, ldx, lddw, movImm, movReg, st, stx } from './asm.js';

/** One generated case: the spec and a short description of how it was made. */
export interface VCase {
  family: string;
  spec: ProgramSpec;
}

const T = ProgType;
/** Program types of the test and their expected attach types. */
export const TYPES: readonly { type: number; name: string; attach?: number }[] = [
  { type: T.BPF_PROG_TYPE_SOCKET_FILTER, name: 'socket_filter' },
  { type: T.BPF_PROG_TYPE_SCHED_CLS, name: 'sched_cls' },
  { type: T.BPF_PROG_TYPE_XDP, name: 'xdp' },
  { type: T.BPF_PROG_TYPE_CGROUP_SKB, name: 'cgroup_skb' },
  { type: T.BPF_PROG_TYPE_KPROBE, name: 'kprobe' },
  { type: T.BPF_PROG_TYPE_TRACEPOINT, name: 'tracepoint' },
  { type: T.BPF_PROG_TYPE_SK_LOOKUP, name: 'sk_lookup', attach: 36 },
];
const typeArb = fc.constantFrom(...TYPES);
const sizeArb = fc.constantFrom(B, H, W, DW);
const SZ: Record<number, number> = { [B]: 1, [H]: 2, [W]: 4, [DW]: 8 };

function spec(family: string, t: { type: number; attach?: number }, insns: Insn[], maps: MapSpec[] = [], license = 'GPL'): VCase {
  return { family, spec: { name: `vd_${family}`.slice(0, 15), type: t.type as ProgType, insns, license, maps, expectedAttachType: t.attach } };
}

const hashMap = (valueSize: number, flags = 0, type: MapType = MapType.BPF_MAP_TYPE_HASH): MapSpec => ({ name: 'm', type, keySize: 4, valueSize, maxEntries: 4, flags });

/** data / data_end offsets in the context of packet types. */
function pktFields(type: number): [number, number] {
  return type === T.BPF_PROG_TYPE_XDP ? [0, 4] : [76, 80];
}

/** Packet access guarded by a data_end comparison. */
const pktArb = fc.record({
  t: fc.constantFrom(...TYPES.filter((x) => ['xdp', 'sched_cls', 'cgroup_skb', 'socket_filter'].includes(x.name))),
  n: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(14)),
  k: fc.integer({ min: -2, max: 40 }),
  size: sizeArb,
  cmp: fc.constantFrom('gt', 'ge', 'lt', 'le', 'rgt', 'rlt', 'rge', 'rle'),
  drop: fc.integer({ min: 0, max: 19 }).map((x) => x < 3),
  write: fc.boolean(),
  base4: fc.boolean(),
  varOff: fc.constantFrom(0, 0, 0, 1, 2),
}).map((p) => {
  const [d, e] = pktFields(p.t.type);
  const insns: Insn[] = [ldx(W, 2, 1, d), ldx(W, 3, 1, e)];
  if (p.varOff) {
    // A bounded variable offset (or an unbounded one) added before the check.
    insns.push(ldx(W, 5, 1, p.t.type === T.BPF_PROG_TYPE_XDP ? 12 : 0));
    if (p.varOff === 1) insns.push(ins(0x57, 5, 0, 0, 0xf));
    insns.push(ins(0x0f, 2, 5));
  }
  insns.push(movReg(4, 2), ins(0x07, 4, 0, 0, p.n));
  // Jump to the exit path (+2: over the access and the exit) when the packet is too short.
  const skip = 3;
  const bad: Record<string, Insn> = {
    gt: jmp(0x2d, 4, 3, skip), ge: jmp(0x3d, 4, 3, skip), rlt: jmp(0xad, 3, 4, skip), rle: jmp(0xbd, 3, 4, skip),
  };
  // "Good" comparisons jump to the access; the fall-through exits.
  const good: Record<string, Insn> = { lt: jmp(0xad, 4, 3, 2), le: jmp(0xbd, 4, 3, 2), rgt: jmp(0x2d, 3, 4, 2), rge: jmp(0x3d, 3, 4, 2) };
  const base = p.base4 ? 4 : 2;
  const access = p.write ? stx(p.size, base, 0, p.k) : ldx(p.size, 0, base, p.k);
  if (bad[p.cmp]) {
    if (!p.drop) insns.push(bad[p.cmp]);
    insns.push(movImm(0, 0), access, movImm(0, 1), exit(), movImm(0, 0), exit());
  } else {
    if (!p.drop) insns.push(good[p.cmp]); else insns.push(jmp(0x05, 0, 0, 2));
    insns.push(movImm(0, 0), exit(), movImm(0, 0), access, movImm(0, 1), exit());
  }
  return spec('pkt', p.t, insns);
});

/** Map lookup, null check, value access (fixed or bounded variable offset). */
const mapArb = fc.record({
  t: typeArb,
  mapType: fc.constantFrom(MapType.BPF_MAP_TYPE_HASH, MapType.BPF_MAP_TYPE_ARRAY, MapType.BPF_MAP_TYPE_PERCPU_ARRAY),
  vs: fc.constantFrom(4, 8, 16, 48),
  keyInit: fc.constantFrom('st0', 'st5', 'reg', 'none', 'st0', 'st0', 'off'),
  check: fc.constantFrom('jne', 'jeq', 'none', 'wrong', 'jne', 'jne'),
  k: fc.integer({ min: -4, max: 50 }),
  size: sizeArb,
  write: fc.boolean(),
  varIdx: fc.constantFrom('none', 'none', 'and', 'jgt', 'unbounded', 'jsgt'),
  bound: fc.integer({ min: 0, max: 60 }),
  ro: fc.constantFrom(0, 0, 0, 0x80),
  retPtr: fc.integer({ min: 0, max: 9 }).map((x) => x < 1),
}).map((p) => {
  const insns: Insn[] = [movReg(6, 1)];
  if (p.keyInit === 'st0') insns.push(st(W, 10, -4, 0));
  else if (p.keyInit === 'st5') insns.push(st(W, 10, -8, 1));
  else if (p.keyInit === 'reg') insns.push(movImm(1, 2), stx(W, 10, 1, -4));
  else if (p.keyInit === 'off') insns.push(st(W, 10, -2, 0));
  insns.push(movReg(2, 10), ins(0x07, 2, 0, 0, p.keyInit === 'st5' ? -8 : -4), ldMap(1, 'm'), call(1));
  const body: Insn[] = [];
  if (p.varIdx !== 'none') {
    body.push(ldx(W, 1, 6, p.t.type === T.BPF_PROG_TYPE_XDP ? 12 : p.t.type === T.BPF_PROG_TYPE_KPROBE ? 0 : 0));
    if (p.t.type === T.BPF_PROG_TYPE_TRACEPOINT || p.t.type === T.BPF_PROG_TYPE_SK_LOOKUP) body[body.length - 1] = ldx(W, 1, 6, 8);
    if (p.varIdx === 'and') body.push(ins(0x57, 1, 0, 0, p.bound));
    else if (p.varIdx === 'jgt') body.push(jmp(0x25, 1, 0, 3, p.bound));
    else if (p.varIdx === 'jsgt') body.push(ins(0x67, 1, 0, 0, 32), ins(0xc7, 1, 0, 0, 32), jmp(0x65, 1, 0, 3, p.bound));
    if (p.varIdx === 'jgt' || p.varIdx === 'jsgt') {
      body.push(ins(0x0f, 0, 1));
      body.push(p.write ? st(p.size, 0, p.k, 7) : ldx(p.size, 2, 0, p.k));
      body.push(jmp(0x05, 0, 0, 0));
    } else {
      body.push(ins(0x0f, 0, 1));
      body.push(p.write ? st(p.size, 0, p.k, 7) : ldx(p.size, 2, 0, p.k));
    }
  } else body.push(p.write ? st(p.size, 0, p.k, 7) : ldx(p.size, 2, 0, p.k));
  const tail = p.retPtr ? [exit()] : [movImm(0, 0), exit()];
  if (p.check === 'none') insns.push(...body, ...tail);
  else if (p.check === 'jne') insns.push(jmp(0x55, 0, 0, 2), movImm(0, 0), exit(), ...body, ...tail);
  else if (p.check === 'jeq') insns.push(jmp(0x15, 0, 0, body.length), ...body, ...tail);
  else insns.push(movImm(3, 0), jmp(0x15, 3, 0, body.length), ...body, ...tail);
  return spec('map', p.t, insns, [hashMap(p.vs, p.ro, p.mapType)]);
});

/** Most offsets are rounded to the access size (85%): drawn, not Math.random, so that a seed replays a run. */
const alignedArb = fc.integer({ min: 0, max: 99 }).map((x) => x < 85);

/** Stack stores and loads at varied offsets and sizes, spills and fills of pointers. */
const stackOp = fc.oneof(
  fc.record({ k: fc.constant('st' as const), size: sizeArb, off: fc.integer({ min: -520, max: 8 }), imm: fc.constantFrom(0, 1, -1), aligned: alignedArb }),
  fc.record({ k: fc.constant('stx' as const), size: sizeArb, off: fc.integer({ min: -64, max: 0 }), src: fc.constantFrom(0, 1, 10), aligned: alignedArb }),
  fc.record({ k: fc.constant('ldx' as const), size: sizeArb, off: fc.integer({ min: -64, max: 0 }), aligned: alignedArb }),
  fc.record({ k: fc.constant('fillctx' as const), off: fc.constantFrom(-8, -16, -4) }),
);
const stackArb = fc.record({ t: typeArb, ops: fc.array(stackOp, { minLength: 1, maxLength: 5 }) }).map((p) => {
  const insns: Insn[] = [movImm(0, 0)];
  for (const o of p.ops) {
    const al = (x: number, s: number, aligned: boolean): number => (aligned ? Math.floor(x / s) * s : x);
    if (o.k === 'st') insns.push(st(o.size, 10, al(o.off, SZ[o.size], o.aligned), o.imm));
    else if (o.k === 'stx') insns.push(stx(o.size, 10, o.src, al(o.off, SZ[o.size], o.aligned)));
    else if (o.k === 'ldx') insns.push(ldx(o.size, 2, 10, al(o.off, SZ[o.size], o.aligned)), ins(0x0f, 0, 2));
    else insns.push(stx(DW, 10, 1, o.off), ldx(DW, 3, 10, o.off), ldx(W, 4, 3, p.t.type === T.BPF_PROG_TYPE_TRACEPOINT ? 8 : 0));
  }
  insns.push(movImm(0, 0), exit());
  return spec('stack', p.t, insns);
});

/** Context loads and stores at varied offsets and sizes. */
const ctxArb = fc.record({
  t: typeArb,
  off: fc.oneof(fc.integer({ min: -4, max: 200 }), fc.constantFrom(0, 4, 8, 12, 16, 48, 52, 64, 68, 76, 80, 140, 152, 168, 184)),
  size: sizeArb,
  write: fc.constantFrom(0, 0, 1, 2),
  aligned: fc.integer({ min: 0, max: 9 }).map((x) => x < 8),
}).map((p) => {
  const off = p.aligned ? Math.floor(p.off / SZ[p.size]) * SZ[p.size] : p.off;
  const insns: Insn[] = [movImm(2, 1)];
  if (p.write === 1) insns.push(stx(p.size, 1, 2, off));
  else if (p.write === 2) insns.push(st(p.size, 1, off, 1));
  else insns.push(ldx(p.size, 0, 1, off));
  insns.push(movImm(0, 0), exit());
  return spec('ctx', p.t, insns);
});

/** Arithmetic on pointers: which ops, widths and pointer types are allowed, and what dereferencing the result does. */
const ptrArb = fc.record({
  t: typeArb,
  base: fc.constantFrom('ctx', 'stack', 'map', 'mapnull'),
  op: fc.constantFrom(0x07, 0x0f, 0x17, 0x1f, 0x27, 0x47, 0x57, 0xa7, 0x04, 0x87, 0xbc, 0xdc, 0x0f),
  imm: fc.constantFrom(0, 4, 8, -8, 1 << 29, -(1 << 29), 3),
  deref: fc.constantFrom('none', 'ld', 'ret', 'cmp'),
}).map((p) => {
  const insns: Insn[] = [movReg(6, 1)];
  const maps: MapSpec[] = [];
  if (p.base === 'ctx') insns.push(movReg(2, 1));
  else if (p.base === 'stack') insns.push(st(DW, 10, -8, 0), st(DW, 10, -16, 0), movReg(2, 10), ins(0x07, 2, 0, 0, -8));
  else {
    maps.push(hashMap(16, 0, MapType.BPF_MAP_TYPE_HASH));
    insns.push(st(W, 10, -4, 0), movReg(2, 10), ins(0x07, 2, 0, 0, -4), ldMap(1, 'm'), call(1), movReg(2, 0));
    if (p.base === 'map') insns.push(jmp(0x55, 2, 0, 2), movImm(0, 0), exit());
  }
  insns.push(movImm(3, 8));
  const x = (p.op & 8) !== 0;
  insns.push(ins(p.op, 2, x ? 3 : 0, 0, p.op === 0xdc ? 64 : p.imm));
  if (p.deref === 'ld') insns.push(ldx(W, 0, 2, 0), movImm(0, 0), exit());
  else if (p.deref === 'ret') insns.push(movReg(0, 2), exit());
  else if (p.deref === 'cmp') insns.push(movImm(0, 0), jmp(0x2d, 2, 6, 1), movImm(0, 1), exit());
  else insns.push(movImm(0, 0), exit());
  return spec('ptr', p.t, insns, maps);
});

/** Helper calls with arguments made for their prototype, one of them possibly wrong; GPL or not. */
const HELPER_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 16, 23, 25, 26, 28, 44, 45, 51, 68, 87, 88, 112, 113, 114, 115, 125, 130, 160];
const helperArb = fc.record({
  t: typeArb,
  id: fc.constantFrom(...HELPER_IDS),
  license: fc.constantFrom('GPL', 'GPL', 'MIT'),
  size: fc.constantFrom(0, 4, 8, 16, 600),
  wrong: fc.constantFrom(-1, -1, -1, 1, 2, 3, 4, 5),
  mapType: fc.constantFrom(MapType.BPF_MAP_TYPE_HASH, MapType.BPF_MAP_TYPE_ARRAY, MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, MapType.BPF_MAP_TYPE_QUEUE, MapType.BPF_MAP_TYPE_DEVMAP, MapType.BPF_MAP_TYPE_PROG_ARRAY),
}).map((p) => {
  const insns: Insn[] = [movReg(6, 1), st(DW, 10, -8, 0), st(DW, 10, -16, 0)];
  // Typical arguments by position for the helpers above: ctx, map, stack pointers, sizes.
  const ctxFirst = [9, 12, 23, 25, 26, 44, 68].includes(p.id);
  const mapFirst = [1, 2, 3, 51, 87, 88, 130].includes(p.id);
  const memFirst = [4, 6, 16, 45, 112, 113, 114, 115].includes(p.id);
  const set = (r: number, what: string): void => {
    if (p.wrong === r) { insns.push(movImm(r, 1)); return; }
    if (what === 'ctx') insns.push(movReg(r, 6));
    else if (what === 'map') insns.push(ldMap(r, 'm'));
    else if (what === 'fp') insns.push(movReg(r, 10), ins(0x07, r, 0, 0, -16));
    else if (what === 'size') insns.push(movImm(r, p.size));
    else insns.push(movImm(r, 0));
  };
  const plan: Record<number, string[]> = {
    1: ['map', 'fp'], 2: ['map', 'fp', 'fp', 'k'], 3: ['map', 'fp'], 87: ['map', 'fp', 'k'], 88: ['map', 'fp'], 51: ['map', 'k', 'k'],
    130: ['map', 'fp', 'size', 'k'], 12: ['ctx', 'map', 'k'], 25: ['ctx', 'map', 'k', 'fp', 'size'], 9: ['ctx', 'k', 'fp', 'size', 'k'],
    26: ['ctx', 'k', 'fp', 'size'], 68: ['ctx', 'k', 'fp', 'size', 'k'], 23: ['k', 'k'], 44: ['ctx', 'k'], 28: ['fp', 'size', 'fp', 'size', 'k'],
  };
  const args = plan[p.id] ?? (memFirst ? ['fp', 'size', 'k'] : ctxFirst ? ['ctx'] : mapFirst ? ['map'] : []);
  args.forEach((a, i) => set(i + 1, a));
  insns.push(call(p.id), movImm(0, 0), exit());
  const needsMap = args.includes('map');
  return spec('helper', p.t, insns, needsMap ? [{ name: 'm', type: p.mapType, keySize: p.mapType === MapType.BPF_MAP_TYPE_QUEUE ? 0 : 4, valueSize: p.mapType === MapType.BPF_MAP_TYPE_PROG_ARRAY || p.mapType === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY || p.mapType === MapType.BPF_MAP_TYPE_DEVMAP ? 4 : 16, maxEntries: 4 }] : [], p.license);
});

/** Ring buffer reserve/submit: null checks, sizes, leaks, double release. */
const ringArb = fc.record({
  t: typeArb,
  size: fc.constantFrom(8, 16, 4, 0),
  varSize: fc.integer({ min: 0, max: 9 }).map((x) => x < 1),
  check: fc.constantFrom(true, true, false),
  k: fc.integer({ min: -2, max: 20 }),
  end: fc.constantFrom('submit', 'discard', 'none', 'twice', 'submit'),
}).map((p) => {
  const insns: Insn[] = [ldMap(1, 'rb')];
  if (p.varSize) insns.push(ldx(W, 2, 1, 0)); else insns.push(movImm(2, p.size));
  insns.push(movImm(3, 0), call(131));
  const body: Insn[] = [st(DW, 0, p.k, 1), movReg(1, 0), movImm(2, 0), call(p.end === 'discard' ? 133 : 132)];
  if (p.end === 'none') body.splice(1);
  if (p.end === 'twice') body.push(movReg(1, 6), movImm(2, 0), call(132));
  if (p.end === 'twice') body.splice(1, 0, movReg(6, 0));
  if (p.check) insns.push(jmp(0x15, 0, 0, body.length));
  insns.push(...body, movImm(0, 0), exit());
  return spec('ringbuf', p.t, insns, [{ name: 'rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }]);
});

/** Loops: bounded counters, loops without progress, large bounds, bpf_loop callbacks. */
const loopArb = fc.record({
  t: typeArb,
  bound: fc.constantFrom(1, 5, 30, 200, 2000),
  step: fc.constantFrom(1, 1, 2, 0),
  // jne with step 2 runs into the 1,000,000-instruction budget on odd bounds: rare, it is slow to verify.
  cmp: fc.constantFrom(0xa5, 0xb5, 0x25, 0xa5, 0xb5, 0x25, 0x55),
  cb: fc.constantFrom('none', 'none', 'ok', 'ret2', 'nocb'),
}).map((p) => {
  if (p.cmp === 0x55 && p.step !== 1) p = { ...p, step: 1 };
  if (p.cb !== 'none') {
    // bpf_loop(nr, cb, ctx, 0); cb: r0 = 0 or 2; exit.
    const insns: Insn[] = [movImm(1, p.bound), { code: 0x18, dst: 2, src: p.cb === 'nocb' ? 0 : 4, off: 0, imm: 6, imm64: 6n }, movImm(3, 0), movImm(4, 0), call(181), movImm(0, 0), exit(), movImm(0, p.cb === 'ret2' ? 2 : 0), exit()];
    return spec('loop', p.t, insns);
  }
  const insns: Insn[] = [movImm(1, 0), movImm(0, 0), ins(0x07, 1, 0, 0, p.step), ins(0x07, 0, 0, 0, 3)];
  const back = -(insns.length - 2) - 1;
  if (p.cmp === 0x25) insns.push(jmp(0x25, 1, 0, 1, p.bound), jmp(0x05, 0, 0, back - 1));
  else insns.push(jmp(p.cmp, 1, 0, back, p.bound));
  insns.push(movImm(0, 0), exit());
  return spec('loop', p.t, insns);
});

/** BPF-to-BPF calls: chains of functions with stack use, stack pointers passed down. */
const callsArb = fc.record({
  t: typeArb,
  depth: fc.integer({ min: 1, max: 9 }),
  stack: fc.constantFrom(8, 64, 128, 256),
  passFp: fc.boolean(),
  r0: fc.constantFrom('set', 'set', 'unset'),
}).map((p) => {
  // Function i stores to its stack and calls function i+1; the last returns.
  const insns: Insn[] = [];
  const bodyLen = 6;
  for (let i = 0; i < p.depth; i++) {
    const last = i === p.depth - 1;
    insns.push(st(DW, 10, -p.stack, 1));
    if (p.passFp && i > 0) insns.push(ldx(DW, 3, 1, 0)); else insns.push(movImm(3, 0));
    insns.push(movReg(1, 10), ins(0x07, 1, 0, 0, -p.stack));
    if (last) insns.push(p.r0 === 'set' ? movImm(0, 0) : movImm(2, 0), exit());
    else insns.push(ins(0x85, 0, 1, 0, 1), exit());
  }
  void bodyLen;
  return spec('calls', p.t, insns);
});

/** Return values of types that check them. */
const retArb = fc.record({
  t: fc.constantFrom(...TYPES.filter((x) => ['cgroup_skb', 'sk_lookup', 'xdp', 'socket_filter'].includes(x.name)), { type: T.BPF_PROG_TYPE_CGROUP_SKB, name: 'cgroup_skb_egress', attach: 1 }),
  v: fc.constantFrom(0, 1, 2, 3, -1, 4),
  masked: fc.constantFrom(0, 0, 1, 3, 7),
  ptr: fc.integer({ min: 0, max: 9 }).map((x) => x < 1),
}).map((p) => {
  const insns: Insn[] = [];
  if (p.masked) insns.push(ldx(W, 0, 1, p.t.type === T.BPF_PROG_TYPE_XDP ? 12 : p.t.type === T.BPF_PROG_TYPE_SK_LOOKUP ? 8 : 0), ins(0x57, 0, 0, 0, p.masked));
  else if (p.ptr) insns.push(movReg(0, 10));
  else insns.push(movImm(0, p.v));
  insns.push(exit());
  return spec('retval', p.t, insns);
});

/** Legacy packet loads. */
const ldAbsArb = fc.record({
  t: typeArb,
  ind: fc.boolean(),
  size: fc.constantFrom(B, H, W, DW),
  r6: fc.constantFrom('ctx', 'ctx', 'none', 'stack'),
  imm: fc.constantFrom(0, 12, 14, -1, 0x7fffffff),
}).map((p) => {
  const insns: Insn[] = [];
  if (p.r6 === 'ctx') insns.push(movReg(6, 1)); else if (p.r6 === 'stack') insns.push(movReg(6, 10));
  if (p.ind) insns.push(movImm(2, 2), ins(0x40 | p.size, 0, 2, 0, p.imm)); else insns.push(ins(0x20 | p.size, 0, 0, 0, p.imm));
  insns.push(exit());
  return spec('ldabs', p.t, insns);
});

/** Random instruction sequences from a pool of well-formed encodings (mostly rejected, for many reasons). */
const POOL_CODES = [0x07, 0x0f, 0x17, 0x1f, 0x27, 0x37, 0x47, 0x57, 0x67, 0x77, 0x87, 0x97, 0xa7, 0xb7, 0xbf, 0xc7, 0x04, 0x0c, 0xb4, 0xbc, 0x61, 0x69, 0x71, 0x79, 0x62, 0x63, 0x7b, 0x15, 0x55, 0x25, 0xa5, 0x2d, 0x05, 0xdc];
const randomArb = fc.record({
  t: typeArb,
  body: fc.array(fc.record({ code: fc.constantFrom(...POOL_CODES), dst: fc.integer({ min: 0, max: 10 }), src: fc.integer({ min: 0, max: 10 }), off: fc.integer({ min: -16, max: 16 }), imm: fc.integer({ min: -8, max: 64 }) }), { minLength: 1, maxLength: 8 }),
}).map((p) => {
  const insns: Insn[] = [movImm(0, 0), movImm(2, 0), movImm(3, 8)];
  for (const b of p.body) {
    const code = b.code;
    const cls = code & 7;
    let { dst, off, imm } = b;
    const src = b.src;
    if (cls === 5) off = Math.max(0, Math.min(off, 2)); // forward jumps only, to stay inside
    if (code === 0xdc) imm = 32;
    if ((code & 0xf0) === 0x60 || (code & 0xf0) === 0x70 || (code & 0xf0) === 0xc0) imm &= 31;
    if (dst === 10 && cls !== 2 && cls !== 3 && cls !== 5) dst = 0;
    insns.push(ins(code, dst, src, off, imm));
  }
  insns.push(movImm(0, 0), movImm(0, 0), movImm(0, 0), exit());
  return spec('random', p.t, insns);
});

/** Every family, weighted. */
export const vcaseArb: fc.Arbitrary<VCase> = fc.oneof(
  { arbitrary: pktArb, weight: 5 },
  { arbitrary: mapArb, weight: 5 },
  { arbitrary: stackArb, weight: 3 },
  { arbitrary: ctxArb, weight: 4 },
  { arbitrary: ptrArb, weight: 3 },
  { arbitrary: helperArb, weight: 3 },
  { arbitrary: ringArb, weight: 2 },
  { arbitrary: loopArb, weight: 2 },
  { arbitrary: callsArb, weight: 2 },
  { arbitrary: retArb, weight: 2 },
  { arbitrary: ldAbsArb, weight: 2 },
  { arbitrary: randomArb, weight: 3 },
);

export { lddw };
