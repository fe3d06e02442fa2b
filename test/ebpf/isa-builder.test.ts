/** The program builder: each method against the assembler's encoding of the same text, labels, and its errors. */

import { describe, expect, it } from 'vitest';
import {
  ProgramBuilder, R0, R1, R2, R3, R10, assembleLlvm, checkProgram, encodeProgram, type Insn,
} from '../../src/ebpf/index.js';
import { UsageError, toHex } from '../../src/util/index.js';

const same = (built: Insn[], text: string): void => {
  expect(toHex(encodeProgram(built), ' ')).toBe(toHex(encodeProgram(assembleLlvm(text)), ' '));
};

describe('ProgramBuilder', () => {
  it('builds the example from the brief with labels instead of offsets', () => {
    const insns = new ProgramBuilder().mov64(R0, 0).ldxw(R1, R1, 4).jeq(R1, 2, 'out').mov64(R0, 1).label('out').exit().build();
    same(insns, 'r0 = 0\nr1 = *(u32 *)(r1 + 4)\nif r1 == 2 goto +1\nr0 = 1\nexit');
    expect(() => checkProgram(insns)).not.toThrow();
  });

  it('tells registers from immediates', () => {
    same(new ProgramBuilder().mov64(R0, R1).mov64(R0, 1).add32(R2, R3).add32(R2, -3).build(), 'r0 = r1\nr0 = 1\nw2 += w3\nw2 += -3');
  });

  it('covers every family', () => {
    const b = new ProgramBuilder()
      .sdiv64(R1, R2).smod32(R1, 7).movsx64(R1, R2, 32).movsx32(R1, R2, 8).neg64(R3).neg32(R3)
      .be(R1, 16).le(R1, 64).bswap(R1, 32)
      .ldxs(16, R0, R1, 2).ldxdw(R0, R10, -8).stw(R10, -4, 5).stdw(R10, -8, R1)
      .atomic('add', 64, R1, 0, R2).atomic('or', 32, R1, 4, R2, true).atomic('xchg', 64, R1, 8, R0).atomic('cmpxchg', 32, R1, 0, R2)
      .loadAcquire(32, R0, R1, 0).storeRelease(64, R1, 8, R2)
      .lddw(R1, 0x1122334455667788n).ldAbs(8, 4).ldInd(16, R1, 0)
      .call('map_lookup_elem').kfunc(77).callx(R3)
      .ja('end').gotol('end').mayGoto('end').jset32(R1, R2, 'end').jsle(R1, -1, 'end')
      .label('end').exit();
    same(
      b.build(),
      `r1 s/= r2
w1 s%= 7
r1 = (s32)r2
w1 = (s8)w2
r3 = -r3
w3 = -w3
r1 = be16 r1
r1 = le64 r1
r1 = bswap32 r1
r0 = *(s16 *)(r1 + 2)
r0 = *(u64 *)(r10 - 8)
*(u32 *)(r10 - 4) = 5
*(u64 *)(r10 - 8) = r1
lock *(u64 *)(r1 + 0) += r2
w2 = atomic_fetch_or((u32 *)(r1 + 4), w2)
r0 = xchg_64(r1 + 8, r0)
w0 = cmpxchg32_32(r1 + 0, w0, w2)
w0 = load_acquire((u32 *)(r1 + 0))
store_release((u64 *)(r1 + 8), r2)
r1 = 0x1122334455667788 ll
r0 = *(u8 *)skb[4]
r0 = *(u16 *)skb[r1]
call 1
call kfunc#77
callx r3
goto +4
gotol +3
may_goto +2
if w1 & w2 goto +1
if r1 s<= -1 goto +0
exit`,
    );
  });

  it('binds maps by name', () => {
    const [m, v] = new ProgramBuilder().ldMap(R1, 'counts').ldMapValue(R2, 'cfg', 8).exit().build();
    expect(m).toMatchObject({ code: 0x18, src: 1, ref: 'counts', imm64: 0n });
    expect(v).toMatchObject({ code: 0x18, src: 2, ref: 'cfg', imm64: 8n << 32n });
  });

  it('counts lddw as two slots for labels, and local calls use imm', () => {
    const insns = new ProgramBuilder().callLocal('f').ja('end').label('f').lddw(R0, 1).exit().label('end').exit().build();
    expect(insns[0]).toMatchObject({ src: 1, imm: 1 });
    expect(insns[1].off).toBe(3);
  });

  it('rejects unknown and duplicate labels, unknown helpers and far labels', () => {
    expect(() => new ProgramBuilder().ja('nowhere').exit().build()).toThrow(UsageError);
    expect(() => new ProgramBuilder().label('a').label('a')).toThrow(/duplicate label/);
    expect(() => new ProgramBuilder().call('no_such')).toThrow(/unknown helper/);
    const far = new ProgramBuilder().ja('far');
    for (let i = 0; i < 40000; i++) far.mov64(R0, 0);
    expect(() => far.label('far').exit().build()).toThrow(/too far/);
  });
});

describe('ProgramBuilder immediates', () => {
  it('takes 32-bit immediates as signed values or bit patterns, and rejects the rest', () => {
    const [a, b] = new ProgramBuilder().mov32(R0, 0xffffffff).mov64(R0, -1).build();
    expect(a.imm).toBe(-1);
    expect(b.imm).toBe(-1);
    expect(() => new ProgramBuilder().mov64(R0, 2 ** 32)).toThrow(/does not fit 32 bits/);
    expect(() => new ProgramBuilder().jeq(R1, 1.5, 'x')).toThrow(UsageError);
    expect(() => new ProgramBuilder().lddw(R1, 2 ** 60)).toThrow(/pass a bigint/);
  });
});
