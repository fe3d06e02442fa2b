/** fast-check generators for classic BPF: random valid programs, packets and Linux metadata. */

import fc from 'fast-check';
import { OPCODES, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF, insn, type AuxData, type Insn } from '../../src/cbpf/index.js';

/** Opcodes a libpcap-valid program may hold (every one libpcap's bpf_filter executes). */
const BODY = OPCODES.filter((o) => o.form !== 'a' && o.code !== 0x06);

/** A `k` for an opcode of the given form: small packet offsets mostly, sometimes anything. */
function kFor(form: string, code: number): fc.Arbitrary<number> {
  const any32 = fc.integer({ min: 0, max: 0xffffffff });
  switch (form) {
    case 'mem':
      return fc.integer({ min: 0, max: 15 });
    case 'abs':
      // A narrow range too, so that the same load repeats (the JIT caches repeated loads).
      return fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 6 }) },
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 70 }) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 15 }).map((i) => (SKF_AD_OFF + 4 * i) >>> 0) },
        // Linux header-relative offsets (SKF_NET_OFF, SKF_LL_OFF), read only with metadata.
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(SKF_NET_OFF, SKF_LL_OFF), fc.integer({ min: -2, max: 40 })).map(([b, d]) => (b + d) >>> 0) },
        { weight: 1, arbitrary: any32 },
      );
    case 'ind':
    case 'msh':
      return fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 4, arbitrary: fc.integer({ min: 0, max: 70 }) }, { weight: 1, arbitrary: any32 });
    case 'kdec':
    case 'khex':
    case 'imm':
    case 'jk':
      // Division and modulo by a constant zero are rejected by every validator.
      if (code === 0x34 || code === 0x94) return fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 0xffffffff }));
      return fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), any32);
    default:
      // Forms that print no k (x, none, len, a) get the canonical 0 every text format keeps.
      return fc.constant(0);
  }
}

/** One instruction at index `i` of a program of length `n` (not the last). */
function bodyInsn(i: number, n: number): fc.Arbitrary<Insn> {
  const reach = Math.min(255, n - 2 - i);
  return fc.constantFrom(...BODY).chain((o) => {
    const jt = fc.integer({ min: 0, max: reach });
    const jf = fc.integer({ min: 0, max: reach });
    if (o.form === 'ja') return fc.integer({ min: 0, max: n - 2 - i }).map((k) => insn(o.code, k));
    if (o.form === 'jk' || o.form === 'jx') return fc.tuple(kFor(o.form, o.code), jt, jf).map(([k, t, f]) => insn(o.code, k, t, f));
    // A return in the middle, sometimes.
    return fc.oneof(
      { weight: 12, arbitrary: kFor(o.form, o.code).map((k) => insn(o.code, k)) },
      { weight: 1, arbitrary: fc.constantFrom(insn(0x16), insn(0x06, 7)) },
    );
  });
}

/** Random programs that every libpcap-mode validator accepts, with forward jumps only. */
export function arbProgram(maxLen = 40): fc.Arbitrary<Insn[]> {
  return fc.integer({ min: 1, max: maxLen }).chain((n) => {
    const body = Array.from({ length: n - 1 }, (_, i) => bodyInsn(i, n));
    const last = fc.oneof(fc.constant(insn(0x16)), fc.integer({ min: 0, max: 0xffffffff }).map((k) => insn(0x06, k)));
    return fc.tuple(...body, last).map((xs) => xs as Insn[]);
  });
}

/** Packets of 0..80 bytes. */
export const arbPacket = fc.uint8Array({ minLength: 0, maxLength: 80 });

/** Linux metadata with every field sometimes present. */
export const arbAux: fc.Arbitrary<AuxData> = fc.record(
  {
    protocol: fc.integer({ min: 0, max: 0xffff }),
    pktType: fc.integer({ min: 0, max: 7 }),
    ifindex: fc.integer({ min: 0, max: 0xffffffff }),
    mark: fc.integer({ min: 0, max: 0xffffffff }),
    queue: fc.integer({ min: 0, max: 0xffff }),
    hatype: fc.integer({ min: 0, max: 0xffff }),
    rxhash: fc.integer({ min: 0, max: 0xffffffff }),
    cpu: fc.integer({ min: 0, max: 255 }),
    vlanTci: fc.integer({ min: 0, max: 0xffff }),
    vlanPresent: fc.boolean(),
    vlanTpid: fc.constantFrom(0x8100, 0x88a8),
    payOffset: fc.integer({ min: 0, max: 100 }),
    random: fc.integer({ min: 0, max: 0xffffffff }),
    networkOffset: fc.integer({ min: 0, max: 30 }),
  },
  { requiredKeys: [] },
);
