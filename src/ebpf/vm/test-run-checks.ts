/** What BPF_PROG_TEST_RUN refuses before it runs a program (per program type), and which `__sk_buff` fields it copies back into ctx_out. */

import { slotOffsets } from '../encoding.js';
import type { Insn } from '../insn.js';
import { MapError } from '../maps/index.js';
import { ProgType, type TestRunOptions } from '../spec.js';
import { SKB, XDP_MD, type ProgramTypeInfo } from './program-types.js';

/** ETH_HLEN: bpf_test_init refuses smaller packets. */
const ETH_HLEN = 14;
/**
 * bpf_test_init: PAGE_SIZE less the skb's headroom (NET_SKB_PAD + NET_IP_ALIGN, 64 on x86) and tailroom
 * (SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), 320): the largest packet an skb test run takes.
 */
const SKB_MAX_DATA = 4096 - 64 - 320;
/** bpf_prog_test_run_skb: an IPv4 or IPv6 packet must hold its network header after the Ethernet header. */
const L3_MIN: ReadonlyMap<number, number> = new Map([[0x0800, 20], [0x86dd, 40]]);
/** MAX_BPF_FUNC_ARGS * sizeof(u64): the most a raw tracepoint's ctx_in may hold. */
const RAW_TP_MAX_CTX = 12 * 8;

/**
 * `__sk_buff` bytes a test run may be given non-zero (convert___skb_to_skb): mark, priority,
 * ingress_ifindex, ifindex, cb[], tstamp, wire_len, gso_segs, gso_size, hwtstamp. These are also
 * the fields copied back into ctx_out (convert_skb_to___skb); every other byte is returned as passed.
 */
export const SKB_CTX_IO: readonly (readonly [offset: number, size: number])[] = [
  [8, 4], [32, 4], [36, 4], [40, 4], [48, 20], [152, 8], [160, 4], [164, 4], [176, 4], [184, 8],
];

function refuse(name: string, errno: 'EINVAL' | 'E2BIG' | 'ENOTSUPP' | 'EFAULT', why: string): never {
  throw new MapError(errno, `test run program "${name}"`, why);
}

function nonZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < Math.min(to, b.length); i++) if (b[i] !== 0) return true;
  return false;
}

/** bpf_ctx_init: a ctx longer than the type's struct is accepted only when the extra bytes are zero (else E2BIG). */
function checkCtxTail(name: string, ctx: Uint8Array, size: number): void {
  if (ctx.length > size && nonZero(ctx, size, ctx.length)) refuse(name, 'E2BIG', `ctx has non-zero bytes past the ${size} the program type takes`);
}

function checkSkbCtx(name: string, ctx: Uint8Array): void {
  checkCtxTail(name, ctx, SKB.size);
  let at = 0;
  for (const [off, size] of SKB_CTX_IO) {
    if (nonZero(ctx, at, off)) refuse(name, 'EINVAL', `__sk_buff bytes ${at}..${off - 1} must be zero in ctx_in`);
    at = off + size;
  }
  if (nonZero(ctx, at, SKB.size)) refuse(name, 'EINVAL', `__sk_buff bytes ${at}..${SKB.size - 1} must be zero in ctx_in`);
}

function checkXdpCtx(name: string, ctx: Uint8Array, dataLen: number): void {
  checkCtxTail(name, ctx, XDP_MD.size);
  const c = new Uint8Array(XDP_MD.size);
  c.set(ctx.subarray(0, XDP_MD.size));
  const v = new DataView(c.buffer);
  const data = v.getUint32(XDP_MD.data, true), end = v.getUint32(XDP_MD.data_end, true);
  if (v.getUint32(XDP_MD.data_meta, true) !== 0) refuse(name, 'EINVAL', 'xdp_md.data_meta must be 0');
  if (end !== dataLen) refuse(name, 'EINVAL', `xdp_md.data_end (${end}) must equal the data size (${dataLen})`);
  if (data > end || data % 4 !== 0 || data > 32) refuse(name, 'EINVAL', `xdp_md.data (${data}) is no valid metadata length`);
  if (v.getUint32(XDP_MD.egress_ifindex, true) !== 0) refuse(name, 'EINVAL', 'xdp_md.egress_ifindex must be 0');
  // The test device (loopback, or the device ingress_ifindex names) is taken to have one rx queue.
  if (v.getUint32(XDP_MD.rx_queue_index, true) !== 0) refuse(name, 'EINVAL', 'xdp_md.rx_queue_index is past the device\'s rx queues');
}

/**
 * Throws the errno (as a {@link MapError}) BPF_PROG_TEST_RUN gives for this input before running:
 * packets shorter than an Ethernet header, `__sk_buff`/`xdp_md` fields it does not take, a raw
 * tracepoint run with data or repeat, program types the kernel has no test run for.
 */
export function checkTestRun(name: string, t: ProgramTypeInfo, o: TestRunOptions, expectedAttachType?: number, insns?: readonly Insn[]): void {
  if (t.packet) {
    // bpf_prog_test_run_xdp: programs for devmap/cpumap entries have no test run.
    if (t.packet === 'xdp' && XDP_MAP_ATTACH.has(expectedAttachType ?? -1)) refuse(name, 'EINVAL', 'xdp programs for devmap or cpumap entries have no test run');
    const len = o.data?.length ?? 0;
    if (len < ETH_HLEN) refuse(name, 'EINVAL', `packet of ${len} bytes is shorter than an ethernet header`);
    if (t.packet === 'skb') {
      if (len > SKB_MAX_DATA) refuse(name, 'EINVAL', `packet of ${len} bytes is larger than the ${SKB_MAX_DATA} an skb test run takes`);
      const ethertype = (o.data![12] << 8) | o.data![13];
      const l3 = L3_MIN.get(ethertype);
      if (l3 !== undefined && len - ETH_HLEN < l3) refuse(name, 'EINVAL', `ethertype 0x${ethertype.toString(16)} packet of ${len} bytes has no room for its ${l3}-byte network header`);
    }
    if (o.ctx && t.packet === 'skb') checkSkbCtx(name, o.ctx);
    if (o.ctx && t.packet === 'xdp') checkXdpCtx(name, o.ctx, len);
    return;
  }
  if (t.type === ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT) {
    if (o.data?.length) refuse(name, 'EINVAL', 'a raw tracepoint run takes no data');
    const need = insns ? maxCtxRead(insns) : 0;
    if ((o.ctx?.length ?? 0) < need) refuse(name, 'EINVAL', `the program reads ${need} bytes of its context, ctx has ${o.ctx?.length ?? 0}`);
    if (o.repeat) refuse(name, 'EINVAL', 'a raw tracepoint run takes no repeat');
    if ((o.ctx?.length ?? 0) > RAW_TP_MAX_CTX) refuse(name, 'EINVAL', `a raw tracepoint's ctx holds at most ${RAW_TP_MAX_CTX} bytes`);
    return;
  }
  if (t.type === ProgType.BPF_PROG_TYPE_TRACING) {
    // bpf_prog_test_run_tracing calls the kernel's own bpf_fentry_test* functions for fentry/fexit/fmod_ret,
    // which the VM does not have; for every other attach type (tp_btf, iter) it gives EFAULT.
    if (FENTRY_LIKE.has(expectedAttachType ?? -1)) refuse(name, 'ENOTSUPP', 'fentry/fexit test runs call kernel test functions the vm lacks (use run())');
    refuse(name, 'EFAULT', 'the kernel has no test run for this tracing attach type (use run())');
  }
  // No test_run in the kernel's prog ops: bpf_prog_test_run gives ENOTSUPP.
  if (NO_TEST_RUN.has(t.type)) refuse(name, 'ENOTSUPP', `the kernel has no test run for ${t.name} programs (use run())`);
}

/** BPF_XDP_DEVMAP, BPF_XDP_CPUMAP. */
const XDP_MAP_ATTACH = new Set([33, 35]);
/** BPF_TRACE_FENTRY, BPF_TRACE_FEXIT, BPF_MODIFY_RETURN. */
const FENTRY_LIKE = new Set([24, 25, 26]);
/** Program types whose kernel ops have no test_run. */
const NO_TEST_RUN = new Set<number>([ProgType.BPF_PROG_TYPE_KPROBE, ProgType.BPF_PROG_TYPE_TRACEPOINT, ProgType.BPF_PROG_TYPE_PERF_EVENT]);

/** ctx_out of an skb test run: the ctx as passed in, with the fields the kernel copies back taken from the run. */
export function skbCtxOut(ctxIn: Uint8Array, after: Uint8Array): Uint8Array {
  const out = new Uint8Array(SKB.size);
  out.set(ctxIn.subarray(0, SKB.size));
  for (const [off, size] of SKB_CTX_IO) out.set(after.subarray(off, off + size), off);
  return out;
}

/** ctx_out of an XDP test run (xdp_convert_buff_to_md): the ctx as passed in, with data (the metadata length) and data_end from the run. */
export function xdpCtxOut(ctxIn: Uint8Array, data: number, dataEnd: number): Uint8Array {
  const out = new Uint8Array(XDP_MD.size);
  out.set(ctxIn.subarray(0, XDP_MD.size));
  const v = new DataView(out.buffer);
  v.setUint32(XDP_MD.data, data, true);
  v.setUint32(XDP_MD.data_end, dataEnd, true);
  return out;
}

const LDX_SIZE = [4, 2, 1, 8];
const maxCtxCache = new WeakMap<readonly Insn[], number>();

/**
 * The verifier's `max_ctx_offset`: the end of the furthest context read (`off + size` of a load
 * through a register that may hold r1's context pointer on some path). A dataflow over
 * "which registers may be the context", merged by union; spills to the stack and pointer
 * arithmetic are not followed.
 */
export function maxCtxRead(insns: readonly Insn[]): number {
  const hit = maxCtxCache.get(insns);
  if (hit !== undefined) return hit;
  const offs = slotOffsets(insns);
  const bySlot = new Map<number, number>();
  offs.forEach((slot, i) => bySlot.set(slot, i));
  const state = new Int32Array(insns.length).fill(-1);
  const work: number[] = [];
  const reach = (i: number | undefined, m: number): void => {
    if (i === undefined || i >= insns.length) return;
    const merged = state[i] < 0 ? m : state[i] | m;
    if (merged !== state[i]) {
      state[i] = merged;
      work.push(i);
    }
  };
  let max = 0;
  if (insns.length) reach(0, 1 << 1);
  while (work.length) {
    const i = work.pop()!;
    const ins = insns[i];
    let m = state[i];
    const cls = ins.code & 7, op = ins.code & 0xf0;
    const next = bySlot.get(offs[i + 1]);
    if (cls === 1) {
      if ((ins.code & 0xe0) === 0x60 || (ins.code & 0xe0) === 0x80) {
        if ((m >> ins.src) & 1) max = Math.max(max, ins.off + LDX_SIZE[(ins.code >> 3) & 3]);
      }
      m &= ~(1 << ins.dst);
    } else if (cls === 4 || cls === 7) {
      const movReg = cls === 7 && op === 0xb0 && (ins.code & 8) !== 0 && ins.off === 0;
      m = movReg && (m >> ins.src) & 1 ? m | (1 << ins.dst) : m & ~(1 << ins.dst);
    } else if (cls === 0) {
      m &= ins.code === 0x18 ? ~(1 << ins.dst) : ~0x3f;
    } else if (cls === 3 && (ins.code & 0xe0) === 0xc0 && ins.imm & 1) {
      m &= ~(1 << (ins.imm === 0xf1 ? 0 : ins.src)); // atomic fetch writes a register
    } else if (cls === 5 || cls === 6) {
      if (op === 0x90) continue; // exit
      if (op === 0x80) {
        reach(next, m & ~0x3f);
        continue;
      }
      const target = bySlot.get(offs[i] + 1 + (cls === 6 && op === 0x00 ? ins.imm : ins.off));
      reach(target, m);
      if (op === 0x00) continue; // ja
    }
    reach(next, m);
  }
  maxCtxCache.set(insns, max);
  return max;
}
