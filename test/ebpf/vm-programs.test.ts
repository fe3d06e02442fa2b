// Program types in the VM: kernel-layout contexts (__sk_buff, xdp_md, pt_regs), packet pointers, ld_abs, test runs; on both engines.
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/spec.js';
import { PT_REGS, PT_REGS_SIZE, SKB, XDP_MD, load, type EngineKind } from '../../src/ebpf/vm/index.js';
import { RuntimeFault } from '../../src/util/index.js';
import { asm } from './vm-support.js';

const ENGINES: EngineKind[] = ['interp', 'jit'];

/** An Ethernet + IPv4 + TCP frame built here (no capture needed). */
function tcpFrame(dport: number, syn: boolean, dst = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]): Uint8Array {
  const f = new Uint8Array(54);
  f.set(dst, 0);
  f.set([0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb], 6);
  f[12] = 0x08; f[13] = 0x00;
  f[14] = 0x45; f[16] = 0; f[17] = 40; f[22] = 64; f[23] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  f[34] = 0x9c; f[35] = 0x40; f[36] = dport >> 8; f[37] = dport & 0xff;
  f[46] = 0x50; f[47] = syn ? 0x02 : 0x10;
  return f;
}

const XDP_PARSE = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r0 = 2
  r4 = r2
  r4 += 54
  if r4 > r3 goto out
  r5 = *(u16 *)(r2 + 12)
  if r5 != 0x8 goto out
  r5 = *(u8 *)(r2 + 23)
  if r5 != 6 goto out
  r5 = *(u16 *)(r2 + 36)
  r5 = be16 r5
  if r5 != 80 goto out
  r0 = 1
out:
  exit`;

function fault(f: () => unknown): RuntimeFault {
  try { f(); } catch (e) { if (e instanceof RuntimeFault) return e; throw e; }
  throw new Error('no fault');
}

describe.each(ENGINES)('program types (%s)', (engine) => {
  const mk = (type: ProgType, text: string) => load({ name: 't', type, insns: asm(text), license: 'GPL' }, { engine });
  // Programs the verifier rejects on purpose: they show the VM's own run-time checks.
  const mkUnverified = (type: ProgType, text: string) => load({ name: 't', type, insns: asm(text), license: 'GPL' }, { engine, verify: false });

  it('XDP: data/data_end are packet pointers; the bounds check decides', () => {
    const p = mk(ProgType.BPF_PROG_TYPE_XDP, XDP_PARSE);
    expect(p.testRun({ data: tcpFrame(80, true) }).retval).toBe(1);
    expect(p.testRun({ data: tcpFrame(443, true) }).retval).toBe(2);
    expect(p.testRun({ data: tcpFrame(80, true).subarray(0, 40) }).retval).toBe(2);
  });

  it('XDP: reading past data_end without a check faults', () => {
    const p = mkUnverified(ProgType.BPF_PROG_TYPE_XDP, 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 60)\nexit');
    expect(fault(() => p.testRun({ data: tcpFrame(80, true) })).code).toBe('E_VM_OUT_OF_BOUNDS');
  });

  it('XDP: xdp_md fields and the ctx that comes back', () => {
    const ctx = new Uint8Array(XDP_MD.size);
    new DataView(ctx.buffer).setUint32(XDP_MD.rx_queue_index, 3, true);
    const p = mk(ProgType.BPF_PROG_TYPE_XDP, 'r0 = *(u32 *)(r1 + 16)\nr2 = *(u32 *)(r1 + 12)\nr0 <<= 8\nr0 |= r2\nexit');
    const r = p.testRun({ data: tcpFrame(80, true), ctx });
    expect(r.retval).toBe((3 << 8) | 1); // ingress_ifindex defaults to loopback (1)
    expect(new DataView(r.ctxOut!.buffer).getUint32(XDP_MD.data_end, true)).toBe(54);
  });

  it('XDP: bpf_xdp_adjust_head grows the packet at the front', () => {
    const p = mk(ProgType.BPF_PROG_TYPE_XDP, `
      r6 = r1
      r2 = -4
      call 44
      if r0 != 0 goto out
      r2 = *(u32 *)(r6 + 0)
      r3 = *(u32 *)(r6 + 4)
      r4 = r2
      r4 += 4
      if r4 > r3 goto out
      *(u32 *)(r2 + 0) = 0x04030201
      r0 = 2
    out:
      exit`);
    const data = tcpFrame(80, true);
    const r = p.testRun({ data });
    expect(r.retval).toBe(2);
    expect([...r.dataOut.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect([...r.dataOut.subarray(4)]).toEqual([...data]);
  });

  it('socket filter: ld_abs reads from the network header; out of bounds exits with 0', () => {
    const proto = mk(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r6 = r1\nr0 = *(u8 *)skb[9]\nexit');
    expect(proto.testRun({ data: tcpFrame(80, true) }).retval).toBe(6);
    const oob = mk(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r6 = r1\nr0 = *(u32 *)skb[1000]\nr0 = 7\nexit');
    expect(oob.testRun({ data: tcpFrame(80, true) }).retval).toBe(0);
    const ind = mk(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r6 = r1\nr7 = 20\nr0 = *(u16 *)skb[r7 + 2]\nexit');
    expect(ind.testRun({ data: tcpFrame(8080, true) }).retval).toBe(8080);
  });

  it('socket filter: __sk_buff len, protocol, pkt_type; cb is writable, mark is not', () => {
    const p = mk(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, `
      r0 = *(u32 *)(r1 + ${SKB.len})
      r2 = *(u32 *)(r1 + ${SKB.protocol})
      r2 <<= 16
      r0 |= r2
      r2 = *(u32 *)(r1 + ${SKB.pkt_type})
      r2 <<= 32
      r0 |= r2
      exit`);
    // len counts from the network header in a socket filter test run; protocol is the big-endian ethertype.
    expect(p.run({ data: tcpFrame(80, true) }).r0).toBe((3n << 32n) | (0x0008n << 16n) | 40n);
    expect(p.run({ data: tcpFrame(80, true, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }).r0 >> 32n).toBe(1n);
    const cb = mk(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r2 = 5\n*(u32 *)(r1 + 48) = r2\nr0 = *(u32 *)(r1 + 48)\nexit');
    expect(cb.testRun({ data: tcpFrame(80, true) }).retval).toBe(5);
    const mark = mkUnverified(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r2 = 5\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit');
    const f = fault(() => mark.testRun({ data: tcpFrame(80, true) }));
    expect(f.code).toBe('E_VM_CTX_ACCESS');
    expect(f.position?.insn).toBe(1);
    const data = mkUnverified(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, 'r0 = *(u32 *)(r1 + 76)\nexit');
    expect(fault(() => data.testRun({ data: tcpFrame(80, true) })).code).toBe('E_VM_CTX_ACCESS');
  });

  it('tc: direct packet access from the MAC header, mark written back in ctxOut', () => {
    const p = mk(ProgType.BPF_PROG_TYPE_SCHED_CLS, `
      r2 = *(u32 *)(r1 + ${SKB.data})
      r3 = *(u32 *)(r1 + ${SKB.data_end})
      r5 = 0x2a
      *(u32 *)(r1 + ${SKB.mark}) = r5
      r0 = 0
      r4 = r2
      r4 += 14
      if r4 > r3 goto out
      r0 = *(u8 *)(r2 + 13)
      r4 = *(u32 *)(r1 + ${SKB.len})
      r0 += r4
    out:
      exit`);
    const r = p.testRun({ data: tcpFrame(80, true), ctx: new Uint8Array(SKB.size) });
    expect(r.retval).toBe(54);
    expect(new DataView(r.ctxOut!.buffer).getUint32(SKB.mark, true)).toBe(0x2a);
  });

  it('kprobe: pt_regs in the x86-64 layout, read-only', () => {
    const regs = new Uint8Array(PT_REGS_SIZE);
    new DataView(regs.buffer).setBigUint64(PT_REGS.di, 1234n, true);
    new DataView(regs.buffer).setBigUint64(PT_REGS.si, 5n, true);
    const p = mk(ProgType.BPF_PROG_TYPE_KPROBE, `r0 = *(u64 *)(r1 + ${PT_REGS.di})\nr2 = *(u64 *)(r1 + ${PT_REGS.si})\nr0 *= r2\nexit`);
    expect(p.run({ ctx: regs }).r0).toBe(6170n);
    const w = mkUnverified(ProgType.BPF_PROG_TYPE_KPROBE, `*(u64 *)(r1 + ${PT_REGS.di}) = 0\nr0 = 0\nexit`);
    expect(fault(() => w.run({ ctx: regs })).code).toBe('E_VM_READ_ONLY');
  });

  it('raw tracepoint: the args array is the context', () => {
    const args = new Uint8Array(16);
    new DataView(args.buffer).setBigUint64(8, 257n, true);
    const p = mk(ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, 'r0 = *(u64 *)(r1 + 8)\nexit');
    expect(p.run({ ctx: args }).r0).toBe(257n);
  });
});

/** The IPv4 header checksum of `frame` (Ethernet at 0): 0 when the stored checksum is right. */
function ipChecksumResidue(frame: Uint8Array): number {
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (frame[i] << 8) | frame[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

describe.each(ENGINES)('packet rewriting helpers (%s)', (engine) => {
  it('skb_store_bytes + l3_csum_replace keep the IPv4 checksum valid', () => {
    const frame = tcpFrame(80, true);
    const c = ipChecksumResidue(frame); // with a zero checksum field this is the checksum itself
    frame[24] = c >> 8; frame[25] = c & 0xff;
    expect(ipChecksumResidue(frame)).toBe(0);
    const p = load({ name: 't', type: ProgType.BPF_PROG_TYPE_SCHED_CLS, license: 'GPL', insns: asm(`
      r6 = r1
      r1 = r6
      r2 = 30
      r3 = r10
      r3 += -4
      r4 = 4
      call 26
      *(u32 *)(r10 - 8) = 0x6300000a
      r1 = r6
      r2 = 30
      r3 = r10
      r3 += -8
      r4 = 4
      r5 = 0
      call 9
      r1 = r6
      r2 = 24
      r3 = *(u32 *)(r10 - 4)
      r4 = *(u32 *)(r10 - 8)
      r5 = 4
      call 10
      exit`) }, { engine });
    const r = p.testRun({ data: frame });
    expect(r.retval).toBe(0);
    expect([...r.dataOut.subarray(30, 34)]).toEqual([10, 0, 0, 99]);
    expect(ipChecksumResidue(r.dataOut)).toBe(0);
  });

  it('bpf_redirect returns XDP_REDIRECT and records the target', () => {
    const p = load({ name: 't', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns: asm('r1 = 7\nr2 = 0\ncall 23\nexit') }, { engine });
    const r = p.run({ data: tcpFrame(80, true) });
    expect(r.r0).toBe(4n);
    expect(r.redirect).toEqual({ ifindex: 7, flags: 0 });
  });
});
