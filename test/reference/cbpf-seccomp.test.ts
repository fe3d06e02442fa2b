/** Differential test of runSeccomp against Linux: random seccomp filters installed in a child process decide a real system call. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_ARCH_X86_64, insn, runSeccomp, validationError, type Insn } from '../../src/cbpf/index.js';
import { kernelSeccompMany, libpcapMissing } from '../helpers/libpcap.js';
import { expectFloor, skipReason } from '../helpers/reference.js';

const why = skipReason('runSeccomp vs Linux seccomp', { root: true, missing: libpcapMissing() ?? (process.arch === 'x64' ? undefined : 'needs x86_64') });

const SYS_getpid = 39;
const ALLOW = 0x7fff0000;
const ERRNO = 0x00050000;

/** Offsets a filter may read: nr, arch, and the twelve argument words (not the instruction pointer, which we cannot choose). */
const WORDS = [0, 4, ...Array.from({ length: 12 }, (_, i) => 16 + 4 * i)];

/** Random filters, mostly in seccomp's instruction set, that end in ALLOW or ERRNO|1..4095. */
function arbFilter(): fc.Arbitrary<Insn[]> {
  return fc.integer({ min: 2, max: 14 }).chain((n) => {
    const body = Array.from({ length: n - 1 }, (_, i) => {
      const reach = Math.min(255, n - 2 - i);
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...WORDS).map((k) => insn(0x20, k)) },
        { weight: 4, arbitrary: fc.tuple(fc.constantFrom(0x15, 0x25, 0x35, 0x45, 0x1d, 0x2d, 0x3d, 0x4d), fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff })), fc.integer({ min: 0, max: reach }), fc.integer({ min: 0, max: reach })).map(([c, k, t, f]) => insn(c, k, t, f)) },
        { weight: 3, arbitrary: fc.tuple(fc.constantFrom(0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0xa4), fc.integer({ min: 1, max: 31 })).map(([c, k]) => insn(c, k)) },
        { weight: 2, arbitrary: fc.constantFrom(insn(0x0c), insn(0x1c), insn(0x2c), insn(0x3c), insn(0x5c), insn(0x6c), insn(0x7c), insn(0x84), insn(0x07), insn(0x87), insn(0x80), insn(0x81)) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((k) => insn(0x01, k)) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 4095 }).map((e) => insn(0x06, ERRNO | e)) },
        // Sometimes what seccomp refuses (unaligned or outside loads, packet-only opcodes, division by zero, a wrapping ja): the kernel decides, not us.
        { weight: 1, arbitrary: fc.constantFrom(insn(0x20, 2), insn(0x20, 64), insn(0x28, 0), insn(0x30, 0), insn(0x40, 0), insn(0xb1, 0), insn(0x34, 0), insn(0x05, 0xfffffffe), insn(0x60, 16)) },
      );
    });
    const last = fc.oneof(fc.constant(insn(0x06, ALLOW)), fc.integer({ min: 1, max: 4095 }).map((e) => insn(0x06, ERRNO | e)));
    return fc.tuple(...body, last).map((xs) => xs as Insn[]);
  });
}

describe.skipIf(why !== undefined)('runSeccomp = Linux seccomp', () => {
  it('decides getpid(args...) as the kernel does for 400 random filters', () => {
    const arbArgs = fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { minLength: 6, maxLength: 6 });
    // Every filter goes to the kernel, whatever our validator says: the kernel's install verdict is compared with ours too.
    const all = fc.sample(fc.tuple(arbFilter(), arbArgs), { numRuns: 400, seed: 5 });
    const ref = kernelSeccompMany(all.map(([insns, args]) => ({ insns, nr: SYS_getpid, args })));
    const cases: typeof all = [];
    let refused = 0;
    all.forEach(([insns], i) => {
      const ours = validationError(insns, { mode: 'seccomp' });
      expect(ours === undefined, `install ${ref[i].install}, ours ${ours?.message}: ${JSON.stringify(insns)}`).toBe(ref[i].install === 0);
      if (ref[i].install === 0) cases.push(all[i]);
      else refused++;
    });
    const installed = new Map(all.map((c, i) => [c, ref[i]]));
    let denied = 0;
    cases.forEach((c) => {
      const [insns, args] = c;
      const r = installed.get(c)!;
      const action = runSeccomp(insns, { nr: SYS_getpid, arch: AUDIT_ARCH_X86_64, args });
      // 0 is SECCOMP_RET_KILL_THREAD (a division by zero returns it too).
      const errno = action === ALLOW ? -1 : action === 0 ? -2 : action & 0xfff;
      if (errno !== -1) denied++;
      expect(errno, JSON.stringify({ insns, args: args.map(String) })).toBe(r.errno);
    });
    console.log(`[cbpf-seccomp] ${all.length} filters sent: ${cases.length} installed, ${refused} refused by the kernel and by our validator alike`);
    expectFloor('cbpf-seccomp: refused by both', refused, 110);
    expectFloor('cbpf-seccomp: installed', cases.length, 260);
    expectFloor('cbpf-seccomp: denied', denied, 160);
    expectFloor('cbpf-seccomp: allowed', cases.length - denied, 100);
  });
});
