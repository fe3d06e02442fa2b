// The VM's socket-filter test run matches the kernel's bpf_prog_test_run_skb: L2 header zeroed in data out, skb->protocol as eth_type_trans sets it.

import { describe, expect, it } from 'vitest';
import { ProgType, jitAvailable, vm } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';

const engines = jitAvailable() ? (['interp', 'jit'] as const) : (['interp'] as const);

/** r0 = skb->protocol (the u32 ctx field at offset 16, which reads the big-endian __be16 in host order). */
const readProtocol = (type: ProgType): ProgramSpec => ({ name: 'proto', type, license: 'GPL', insns: [{ code: 0x61, dst: 0, src: 1, off: 16, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] });

function frame(typeOrLength: number, payload: number[] = []): Uint8Array {
  const f = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);
  f[12] = typeOrLength >> 8;
  f[13] = typeOrLength & 0xff;
  f.set(payload, 14);
  return f;
}

describe('VM socket-filter test run, as the kernel does it', () => {
  for (const engine of engines) {
    it(`${engine}: data out has the 14-byte Ethernet header zeroed, the rest untouched; the input is not modified`, () => {
      const spec: ProgramSpec = { name: 'sf', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL', insns: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0xffff }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] };
      using prog = vm.load(spec, { engine });
      const input = frame(0x0800);
      const copy = input.slice();
      const r = prog.testRun({ data: input });
      expect(r.retval).toBe(0xffff);
      expect([...r.dataOut.subarray(0, 14)]).toEqual(new Array(14).fill(0));
      expect([...r.dataOut.subarray(14)]).toEqual([...input.subarray(14)]);
      expect(input).toEqual(copy);
    });

    it(`${engine}: skb->protocol is the Ethernet II type, htons(ETH_P_802_3) for 802.3 with a 0xFFFF payload, else htons(ETH_P_802_2)`, () => {
      using prog = vm.load(readProtocol(ProgType.BPF_PROG_TYPE_SOCKET_FILTER), { engine });
      // Values as a little-endian load of the network-order field: htons(0x0800) reads 0x0008.
      expect(prog.testRun({ data: frame(0x0800) }).retval).toBe(0x0008);
      expect(prog.testRun({ data: frame(0x86dd) }).retval).toBe(0xdd86);
      expect(prog.testRun({ data: frame(0x0600) }).retval).toBe(0x0006);
      expect(prog.testRun({ data: frame(0x05ff, [0x42, 0x42]) }).retval).toBe(0x0400);
      expect(prog.testRun({ data: frame(0x0032, [0xff, 0xff]) }).retval).toBe(0x0100);
      expect(prog.testRun({ data: frame(0x0000, [0xff, 0xfe]) }).retval).toBe(0x0400);
    });
  }

  it('tc (sched_cls) programs see the same skb->protocol, and keep their L2 header in data out', () => {
    using prog = vm.load(readProtocol(ProgType.BPF_PROG_TYPE_SCHED_CLS));
    const f = frame(0x0032, [0xff, 0xff]);
    const r = prog.testRun({ data: f });
    expect(r.retval).toBe(0x0100);
    expect([...r.dataOut]).toEqual([...f]);
  });
});

describe('VM skb test runs refuse what bpf_prog_test_run_skb refuses (EINVAL)', () => {
  const ret0 = (type: ProgType): ProgramSpec => ({ name: 'r0', type, license: 'GPL', insns: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] });
  const errnoOf = (f: () => unknown): number | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as { errno?: number }).errno;
    }
  };
  for (const type of [ProgType.BPF_PROG_TYPE_SOCKET_FILTER, ProgType.BPF_PROG_TYPE_SCHED_CLS]) {
    it(`type ${type}: more than 3712 bytes, or an IPv4/IPv6 frame too short for its network header; XDP takes both`, () => {
      using prog = vm.load(ret0(type));
      const sized = (ethertype: number, len: number): Uint8Array => {
        const d = new Uint8Array(len);
        d[12] = ethertype >> 8;
        d[13] = ethertype & 0xff;
        return d;
      };
      expect(errnoOf(() => prog.testRun({ data: sized(0, 3712) }))).toBeUndefined();
      expect(errnoOf(() => prog.testRun({ data: sized(0, 3713) }))).toBe(22);
      expect(errnoOf(() => prog.testRun({ data: sized(0x0800, 33) }))).toBe(22);
      expect(errnoOf(() => prog.testRun({ data: sized(0x0800, 34) }))).toBeUndefined();
      expect(errnoOf(() => prog.testRun({ data: sized(0x86dd, 53) }))).toBe(22);
      expect(errnoOf(() => prog.testRun({ data: sized(0x86dd, 54) }))).toBeUndefined();
      expect(errnoOf(() => prog.testRun({ data: sized(0x0806, 14) }))).toBeUndefined();
    });
  }
  it('XDP takes a 9000-byte frame and a 15-byte IPv4 one', () => {
    using prog = vm.load(ret0(ProgType.BPF_PROG_TYPE_XDP));
    expect(prog.testRun({ data: new Uint8Array(9000) }).retval).toBe(0);
    expect(prog.testRun({ data: frame(0x0800).slice(0, 15) }).retval).toBe(0);
  });
});
