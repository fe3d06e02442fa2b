// The verifier's rules one by one: a program per rule and the verdict and kernel wording the kernel gives it
// (verdicts checked against Linux 6.18 by test/kernel/verifier-diff.test.ts; unprivileged rules only here).

import { describe, expect, it } from 'vitest';
import { MapType, ProgType, assembleLlvm, type Insn, type MapSpec } from '../../src/ebpf/index.js';
import { HELPERS } from '../../src/ebpf/vm/index.js';
import { HELPER_PROTOS_BY_ID, VerifierError, verify, type VerifyOptions } from '../../src/ebpf/verifier/index.js';

const T = ProgType;
const HASH: MapSpec = { name: 'h', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 16, maxEntries: 8 };
const ARRAY: MapSpec = { name: 'a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 16, maxEntries: 8 };
const RINGBUF: MapSpec = { name: 'rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };

interface Case {
  rule: string;
  type?: number;
  src: string | Insn[];
  maps?: MapSpec[];
  opts?: VerifyOptions;
  license?: string;
  /** 'ok', or the kernel's wording the first line must match. */
  want: 'ok' | RegExp;
  code?: string;
}

const PKT = (n: number, k: number, size = 'u8', skb = false) => `
  r2 = *(u32 *)(r1 + ${skb ? 76 : 0})
  r3 = *(u32 *)(r1 + ${skb ? 80 : 4})
  r4 = r2
  r4 += ${n}
  if r4 > r3 goto out
  r0 = *(${size} *)(r2 + ${k})
out:
  r0 = 0
  exit`;

const LOOKUP = (after: string, map = 'h') => `
  *(u32 *)(r10 - 4) = 0
  r2 = r10
  r2 += -4
  r1 = map[${map}]
  call 1
${after}`;

const CASES: Case[] = [
  // Registers.
  { rule: 'r0 must be set before exit', src: 'exit', want: /^R0 !read_ok$/, code: 'E_VERIFIER_UNINIT' },
  { rule: 'reading an unwritten register', src: 'r0 = r5\nexit', want: /^R5 !read_ok$/ },
  // check_mtu's *mtu_len: a 4-byte aligned u32 (MEM_WRITE | MEM_ALIGNED), not the 8 bytes of strtol's result.
  { rule: 'check_mtu takes a u32 at the top of the stack', type: T.BPF_PROG_TYPE_SCHED_CLS, src: '*(u32 *)(r10 - 4) = 0\nr2 = 0\nr3 = r10\nr3 += -4\nr4 = 0\nr5 = 0\ncall 163\nr0 = 0\nexit', want: 'ok' },
  { rule: 'check_mtu refuses a misaligned u32', type: T.BPF_PROG_TYPE_SCHED_CLS, src: '*(u64 *)(r10 - 8) = 0\nr2 = 0\nr3 = r10\nr3 += -6\nr4 = 0\nr5 = 0\ncall 163\nr0 = 0\nexit', want: /^misaligned stack access off .*\+-6\+0 size 4$/ },
  { rule: 'writing r10 on a path', src: 'r0 = 0\nr10 = 1\nexit', want: /^frame pointer is read only$/ },
  // check_reg_arg runs in do_check: a write no path reaches is dead code, which the kernel loads.
  { rule: 'writing r10 in dead code', src: 'r0 = 0\nif r0 == 0 goto +1\nr10 = 1\nexit', want: 'ok' },
  // Unprivileged, the kernel walks the branch it knows is not taken too (sanitize_speculative_path).
  { rule: 'writing r10 in dead code, unprivileged', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: 'r0 = 0\nif r0 == 0 goto +1\nr10 = 1\nexit', opts: { unprivileged: true }, want: /^frame pointer is read only$/ },
  { rule: 'or of two pointers (the issue’s example)', src: 'r0 = r10\nr0 |= r10\nexit', want: /^R0 pointer \|= pointer prohibited$/ },
  { rule: 'bitwise op on a pointer', src: 'r0 = r10\nr0 &= 7\nexit', want: /^R0 bitwise operator &= on pointer prohibited$/ },
  { rule: '32-bit pointer arithmetic', src: 'r1 = r10\nw1 += 4\nr0 = 0\nexit', want: /^R1 32-bit pointer arithmetic prohibited$/ },
  { rule: 'pointer minus pointer is a scalar (privileged)', src: 'r0 = r10\nr0 -= r10\nexit', want: 'ok' },
  { rule: 'scalar minus pointer', src: 'r0 = 1\nr0 -= r10\nexit', want: /^R0 tried to subtract pointer from scalar$/ },
  { rule: 'returning a pointer is allowed to root', type: T.BPF_PROG_TYPE_XDP, src: 'r0 = r10\nexit', want: 'ok' },
  { rule: 'returning a pointer leaks it (unprivileged)', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: 'r0 = r10\nexit', opts: { unprivileged: true }, want: /^R0 leaks addr as return value$/ },
  { rule: 'division by constant zero', src: 'r0 = 1\nr0 /= 0\nexit', want: /^div by zero$/ },
  { rule: 'shift by too much', src: 'r0 = 1\nr0 <<= 64\nexit', want: /^invalid shift 64$/ },
  // Stack.
  { rule: 'stack write below the frame', src: 'r0 = 0\n*(u64 *)(r10 - 520) = r0\nexit', want: /^invalid write to stack R10 off=-520 size=8$/ },
  { rule: 'misaligned stack access', src: 'r0 = 0\n*(u32 *)(r10 - 6) = r0\nexit', want: /^misaligned stack access off \(0x0; 0x0\)\+0\+-6 size 4$/ },
  { rule: 'uninitialized stack read (root may)', src: 'r0 = *(u64 *)(r10 - 8)\nexit', want: 'ok' },
  { rule: 'uninitialized stack read (unprivileged)', src: 'r0 = *(u64 *)(r10 - 8)\nexit', opts: { unprivileged: true }, want: /^invalid read from stack off -8\+0 size 8$/ },
  { rule: 'spill and fill keep the pointer type', type: T.BPF_PROG_TYPE_XDP, src: '*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 12)\nexit', want: 'ok' },
  { rule: 'a pointer spill must be 8 bytes', src: '*(u32 *)(r10 - 8) = r1\nr0 = 0\nexit', want: /^invalid size of register spill$/ },
  { rule: 'spilled constants keep their value', type: T.BPF_PROG_TYPE_XDP, src: 'r3 = 4\n*(u64 *)(r10 - 8) = r3\nr3 = *(u64 *)(r10 - 8)\nr2 = r10\nr2 += -16\nr2 += r3\n*(u32 *)(r2 + 0) = r3\nr0 = 0\nexit', want: 'ok' },
  // Packet.
  { rule: 'packet read inside the checked range', type: T.BPF_PROG_TYPE_XDP, src: PKT(14, 13), want: 'ok' },
  { rule: 'packet read past the checked range', type: T.BPF_PROG_TYPE_XDP, src: PKT(14, 22), want: /^invalid access to packet, off=22 size=1, R2\(id=0,off=22,r=14\)$/, code: 'E_VERIFIER_PKT' },
  { rule: 'packet read without a check', type: T.BPF_PROG_TYPE_XDP, src: 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit', want: /^invalid access to packet, off=0 size=1, R2\(id=0,off=0,r=0\)$/ },
  { rule: 'packet end is not readable', type: T.BPF_PROG_TYPE_XDP, src: 'r3 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r3 + 0)\nexit', want: /^R3 invalid mem access 'pkt_end'$/ },
  { rule: 'cgroup_skb may not write the packet', type: T.BPF_PROG_TYPE_CGROUP_SKB, src: PKT(14, 0, 'u8', true).replace('r0 = *(u8 *)(r2 + 0)', '*(u8 *)(r2 + 0) = r4'), want: /^cannot write into packet$/ },
  { rule: 'a packet-changing helper invalidates packet pointers', type: T.BPF_PROG_TYPE_XDP, src: 'r6 = r1\nr7 = *(u32 *)(r1 + 0)\nr2 = 0\ncall 44\nr0 = *(u8 *)(r7 + 0)\nexit', want: /^R7 invalid mem access 'scalar'$/ },
  // Context.
  { rule: 'xdp_md fields are 4 bytes', type: T.BPF_PROG_TYPE_XDP, src: 'r0 = *(u64 *)(r1 + 0)\nexit', want: /^invalid bpf_context access off=0 size=8$/ },
  { rule: 'socket filters may write cb[] only', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit', want: /^invalid bpf_context access off=8 size=4$/ },
  { rule: 'tc may write mark', type: T.BPF_PROG_TYPE_SCHED_CLS, src: 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit', want: 'ok' },
  { rule: 'BPF_ST into the context (allowed since 6.3)', type: T.BPF_PROG_TYPE_SCHED_CLS, src: '*(u32 *)(r1 + 8) = 1\nr0 = 0\nexit', want: 'ok' },
  { rule: 'reserved fields are refused only where a path goes (a branch decided by value skips them)', src: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x15, dst: 0, src: 0, off: 1, imm: 0 }, { code: 0x04, dst: 0, src: 9, off: 0, imm: 1 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: 'ok' },
  { rule: 'reserved fields on a path', src: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x04, dst: 0, src: 9, off: 0, imm: 1 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: /^BPF_ALU uses reserved fields$/ },
  { rule: 'a strict data_end comparison proves one more byte', type: T.BPF_PROG_TYPE_XDP, src: 'r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 < r3 goto ok\nr0 = 0\nexit\nok:\nr0 = *(u8 *)(r2 + 14)\nexit', want: 'ok' },
  { rule: 'IPv6 address words are read whole', type: T.BPF_PROG_TYPE_CGROUP_SKB, src: 'r0 = *(u16 *)(r1 + 116)\nr0 = 0\nexit', want: /^invalid bpf_context access off=116 size=2$/ },
  { rule: 'modified context pointer', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: 'r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit', want: /^dereference of modified ctx ptr R1 off=4 disallowed$/ },
  { rule: 'tracepoint common fields are not readable', type: T.BPF_PROG_TYPE_TRACEPOINT, src: 'r0 = *(u64 *)(r1 + 0)\nexit', want: /^invalid bpf_context access off=0 size=8$/ },
  { rule: 'kprobe reads pt_regs', type: T.BPF_PROG_TYPE_KPROBE, src: 'r0 = *(u64 *)(r1 + 112)\nexit', want: 'ok' },
  // Maps and null checks.
  { rule: 'map value used without a null check', src: LOOKUP('r0 = *(u32 *)(r0 + 0)\nexit'), maps: [HASH], want: /^R0 invalid mem access 'map_value_or_null'$/ },
  { rule: 'map value after a null check', src: LOOKUP('if r0 == 0 goto out\nr0 = *(u32 *)(r0 + 12)\nout:\nr0 = 0\nexit'), maps: [HASH], want: 'ok' },
  { rule: 'a null check on a copy applies to the original', src: LOOKUP('r6 = r0\nif r6 == 0 goto out\nr0 = *(u32 *)(r0 + 0)\nout:\nr0 = 0\nexit'), maps: [HASH], want: 'ok' },
  { rule: 'map value read past its end', src: LOOKUP('if r0 == 0 goto out\nr0 = *(u32 *)(r0 + 14)\nout:\nr0 = 0\nexit'), maps: [HASH], want: /^invalid access to map value, value_size=16 off=14 size=4$/ },
  { rule: 'array lookup with a constant in-range key needs no null check (6.14+)', src: LOOKUP('r0 = *(u32 *)(r0 + 0)\nr0 = 0\nexit', 'a'), maps: [ARRAY], want: 'ok' },
  { rule: 'variable map offset without a bound', src: LOOKUP('if r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 0\nexit'), maps: [HASH], want: /^R0 unbounded memory access, make sure to bounds check any such access$/ },
  { rule: 'variable map offset with a bound', src: LOOKUP('if r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 15 goto out\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 0\nexit'), maps: [HASH], want: 'ok' },
  { rule: 'pointer arithmetic on a possibly-null pointer', src: LOOKUP('r0 += 4\nr0 = 0\nexit'), maps: [HASH], want: /^R0 pointer arithmetic on map_value_or_null prohibited, null-check it first$/ },
  { rule: 'writing a read-only map', src: LOOKUP('if r0 == 0 goto out\n*(u32 *)(r0 + 0) = 1\nout:\nr0 = 0\nexit'), maps: [{ ...HASH, flags: 0x80 }], want: /^write into map forbidden, value_size=16 off=0 size=4$/ },
  { rule: 'an unknown map index', src: 'r1 = map[fd:3]\nr0 = 0\nexit', maps: [HASH], want: /^fd 3 is not pointing to valid bpf_map$/ },
  { rule: 'storing a pointer into a map (unprivileged)', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: LOOKUP('if r0 == 0 goto out\n*(u64 *)(r0 + 0) = r10\nout:\nr0 = 0\nexit'), maps: [HASH], opts: { unprivileged: true }, want: /^R10 leaks addr into map$/ },
  // Helpers.
  { rule: 'a helper this program type lacks', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: 'r1 = r1\nr2 = 0\ncall 44\nr0 = 0\nexit', want: /^program of this type cannot use helper bpf_xdp_adjust_head#44$/ },
  { rule: 'an unknown helper id', src: 'call 999\nr0 = 0\nexit', want: /^invalid func unknown#999$/ },
  { rule: 'a GPL-only helper from a non-GPL program', src: 'r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit', type: T.BPF_PROG_TYPE_KPROBE, license: 'MIT', want: /^cannot call GPL-restricted function from non-GPL compatible program$/ },
  { rule: 'wrong argument type', src: 'r1 = 0\nr2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit', want: /^R1 type=scalar expected=map_ptr$/ },
  { rule: 'a helper on the wrong kind of map', src: 'r1 = map[rb]\nr2 = r10\nr2 += -4\n*(u32 *)(r10 - 4) = 0\ncall 1\nr0 = 0\nexit', maps: [RINGBUF], want: /^cannot pass map_type 27 into func bpf_map_lookup_elem#1$/ },
  { rule: 'helper memory beyond the stack', type: T.BPF_PROG_TYPE_KPROBE, src: 'r1 = r10\nr1 += -8\nr2 = 16\nr3 = 0\ncall 113\nr0 = 0\nexit', want: /^invalid indirect access to stack R1 off=-8 size=16$/ },
  // References.
  { rule: 'ringbuf reserve, null check, submit', src: 'r1 = map[rb]\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto out\n*(u64 *)(r0 + 0) = 1\nr1 = r0\nr2 = 0\ncall 132\nout:\nr0 = 0\nexit', maps: [RINGBUF], want: 'ok' },
  { rule: 'ringbuf record leaked', src: 'r1 = map[rb]\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr0 = 0\nexit\nout:\nr0 = 0\nexit', maps: [RINGBUF], want: /^Unreleased reference id=\d+ alloc_insn=4$/, code: 'E_VERIFIER_REF_LEAK' },
  { rule: 'ringbuf record written past its size', src: 'r1 = map[rb]\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto out\n*(u64 *)(r0 + 4) = 1\nr1 = r0\nr2 = 0\ncall 132\nout:\nr0 = 0\nexit', maps: [RINGBUF], want: /^invalid access to memory, mem_size=8 off=4 size=8$/ },
  // Control flow.
  { rule: 'unreachable code', src: 'r0 = 0\nexit\nr0 = 1\nexit', want: /^unreachable insn 2$/ },
  { rule: 'jump out of the program', src: [{ code: 0x05, dst: 0, src: 0, off: 5, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: /^jump out of range from insn 0 to 6$/ },
  { rule: 'a bounded loop (privileged)', src: 'r1 = 0\nr0 = 0\nl:\nr0 += r1\nr1 += 1\nif r1 < 100 goto l\nexit', want: 'ok' },
  { rule: 'subtraction from a stack pointer', src: 'r1 = r10\nr1 -= 8\nr0 = 0\nexit', want: /^R1 subtraction from stack pointer prohibited$/ },
  { rule: 'tracepoint: negative context offsets pass the kernel’s unsigned check', type: T.BPF_PROG_TYPE_TRACEPOINT, src: 'r0 = *(u32 *)(r1 - 4)\nexit', want: 'ok' },
  { rule: 'a callback without BTF func_info', src: [{ code: 0xb7, dst: 1, src: 0, off: 0, imm: 4 }, { code: 0x18, dst: 2, src: 4, off: 0, imm: 6, imm64: 6n }, { code: 0xb7, dst: 3, src: 0, off: 0, imm: 0 }, { code: 0xb7, dst: 4, src: 0, off: 0, imm: 0 }, { code: 0x85, dst: 0, src: 0, off: 0, imm: 181 }, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: /^missing btf func_info$/ },
  { rule: 'a loop that never changes', src: 'r1 = 0\nl:\nif r1 < 10 goto l\nr0 = 0\nexit', want: /^infinite loop detected at insn 1$/ },
  { rule: 'loops are refused to unprivileged programs', src: 'r1 = 0\nl:\nr1 += 1\nif r1 < 10 goto l\nr0 = 0\nexit', opts: { unprivileged: true }, want: /^back-edge from insn 2 to 1$/ },
  { rule: 'the processed-instruction budget', src: 'r1 = 0\nl:\nr1 += 1\nif r1 != 0 goto l\nr0 = 0\nexit', opts: { maxInsns: 5000 }, want: /^BPF program is too large\. Processed 5001 insn$/ },
  { rule: 'a bpf-to-bpf call returns r0', src: 'r1 = 5\ncall f\nexit\nf:\nr0 = r1\nexit', want: 'ok' },
  { rule: 'a callee may not return its stack pointer', src: 'call f\nr0 = 0\nexit\nf:\nr0 = r10\nexit', want: /^cannot return stack pointer to the caller$/ },
  { rule: 'callee-saved registers are not passed to the callee', src: 'r6 = 1\ncall f\nexit\nf:\nr0 = r6\nexit', want: /^R6 !read_ok$/ },
  { rule: 'r1-r5 are clobbered by a call', src: 'r1 = 1\ncall f\nr0 = r1\nexit\nf:\nr0 = 0\nexit', want: /^R1 !read_ok$/ },
  // Return values.
  { rule: 'cgroup_skb returns 0 or 1', type: T.BPF_PROG_TYPE_CGROUP_SKB, src: 'r0 = 2\nexit', want: /^At program exit the register R0 has smin=2 smax=2 should have been in \[0, 1\]$/ },
  { rule: 'cgroup_skb egress may return 0..3', type: T.BPF_PROG_TYPE_CGROUP_SKB, opts: { expectedAttachType: 1 }, src: 'r0 = 3\nexit', want: 'ok' },
  // Legacy packet loads.
  { rule: 'ld_abs needs r6 = ctx', type: T.BPF_PROG_TYPE_SOCKET_FILTER, src: [{ code: 0x30, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: /^R6 !read_ok$/ },
  { rule: 'ld_abs is for skb programs', type: T.BPF_PROG_TYPE_XDP, src: [{ code: 0xbf, dst: 6, src: 1, off: 0, imm: 0 }, { code: 0x30, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], want: /^BPF_LD_\[ABS\|IND\] instructions not allowed for this program type$/ },
  // Alignment.
  { rule: 'strict alignment: misaligned packet read', type: T.BPF_PROG_TYPE_XDP, src: PKT(14, 1, 'u32'), opts: { alignment: 'strict' }, want: /^misaligned packet access/ },
  { rule: 'default alignment: the same read is fine', type: T.BPF_PROG_TYPE_XDP, src: PKT(14, 1, 'u32'), want: 'ok' },
];

function run(c: Case): VerifierError | undefined {
  const insns = typeof c.src === 'string' ? assembleLlvm(c.src) : c.src;
  try {
    verify({ name: 't', type: (c.type ?? T.BPF_PROG_TYPE_SOCKET_FILTER) as ProgType, insns, license: c.license ?? 'GPL', maps: c.maps ?? [] }, c.opts);
    return undefined;
  } catch (e) {
    if (e instanceof VerifierError) return e;
    throw e;
  }
}

describe('verifier rules: one program each, the kernel’s verdict and wording', () => {
  for (const c of CASES) {
    it(c.rule, () => {
      const e = run(c);
      if (c.want === 'ok') expect(e?.explain()).toBeUndefined();
      else {
        expect(e, 'expected a rejection').toBeDefined();
        expect(e!.kernelMessage).toMatch(c.want);
        if (c.code) expect(e!.code).toBe(c.code);
      }
    });
  }
});

describe('verifier errors explain themselves', () => {
  it('a packet rejection names the instruction, slices the registers that made it, and hints at the fix', () => {
    const e = run({ rule: '', type: T.BPF_PROG_TYPE_XDP, src: PKT(14, 22), want: /./ })!;
    expect(e.insn).toBe(5);
    expect(e.kernelDetail).toEqual(['R2 offset is outside of the packet']);
    expect(e.why.map((w) => w.insn)).toEqual([0, 5]);
    expect(e.why.at(-1)!.state).toBe('R2=pkt(r=14)');
    expect(e.hint).toBe('compare data + 23 with data_end before this access');
    expect(e.explain()).toContain('why:');
  });

  it('on a long path the slice follows a register back through the newest 400 register writes, and no further', () => {
    // r9 is made at insns 0-1, then r0 is written n times, then r9 (a modified ctx pointer) is read through.
    const src = (n: number): string => `r9 = r1\nr9 += 55\nr0 = 0\n${'r0 += 1\n'.repeat(n)}r0 = *(u8 *)(r9 + 0)\nexit`;
    const near = run({ rule: '', src: src(390), want: /./ })!;
    expect(near.kernelMessage).toBe('dereference of modified ctx ptr R9 off=55 disallowed');
    expect(near.why.map((w) => w.insn)).toEqual([0, 1, 393]);
    expect(near.why[1].state).toBe('R9=ctx(off=55)');
    // The write of insn 1 is the 452nd newest: past the window, only the failing instruction is left.
    const far = run({ rule: '', src: src(450), want: /./ })!;
    expect(far.why.map((w) => w.insn)).toEqual([453]);
  });

  it('the slice of a path that went through many branches follows the writes of that path', () => {
    // A loop that forks at every round (the packet check); the failing read uses r2, last written in the final round.
    const src = `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r6 = 0
    again:
      r4 = r2
      r4 += 2
      if r4 > r3 goto out
      r2 = r4
      r6 += 1
      if r6 < 100 goto again
      r0 = *(u8 *)(r2 + 0)
    out:
      r0 = 0
      exit`;
    const e = run({ rule: '', type: T.BPF_PROG_TYPE_XDP, src, want: /./ })!;
    expect(e.kernelMessage).toMatch(/^invalid access to packet, off=200 size=1, R2/);
    // Newest first: r2 = r4 (insn 6), r4 += 2 (4), r4 = r2 (3) of the last round, then of the round before (six steps
    // at most), and the failing read.
    expect(e.why.map((w) => w.insn)).toEqual([3, 4, 6, 3, 4, 6, 9]);
    expect(e.why[2].state).toBe('R2=pkt(off=198,r=198)');
    expect(e.why[5].state).toBe('R2=pkt(off=200,r=200)');
  });

  it('log level 2 prints every instruction with its state and the kernel’s statistics line', () => {
    const r = verify({ name: 't', type: T.BPF_PROG_TYPE_XDP, insns: assembleLlvm(PKT(14, 13)), license: 'GPL' }, { logLevel: 2 });
    expect(r.log).toMatch(/^0: \(61\) r2 = \*\(u32 \*\)\(r1 \+ 0\)\t; R1=ctx\(\) R2=pkt\(r=0\) R10=fp0$/m);
    expect(r.log).toMatch(/^processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0$/m);
    expect(r.processed).toBeGreaterThan(0);
  });
});

describe('the helper table is one table', () => {
  it('every helper the VM implements has a verifier prototype with the same id and name', () => {
    for (const h of HELPERS) {
      const p = HELPER_PROTOS_BY_ID.get(h.id);
      expect(p?.name, `helper ${h.id}`).toBe(h.name);
      expect(p?.args, `prototype of ${h.name}`).toBeDefined();
    }
  });
});
