// The VM memory model: separate regions, checked accesses, faults naming the instruction; on both engines.
import { describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/spec.js';
import { helperName } from '../../src/ebpf/opcodes.js';
import { HELPERS_BY_ID } from '../../src/ebpf/vm/helpers.js';
import { load, type EngineKind } from '../../src/ebpf/vm/index.js';
import { RuntimeFault, ValidationError } from '../../src/util/index.js';
import { asm } from './vm-support.js';

const ENGINES: EngineKind[] = ['interp', 'jit'];

function prog(text: string, engine: EngineKind, type: number = ProgType.BPF_PROG_TYPE_UNSPEC) {
  return load({ name: 't', type: type as ProgType, insns: asm(text), license: 'GPL' }, { engine, budget: 100_000 });
}

function fault(f: () => unknown): RuntimeFault {
  try {
    f();
  } catch (e) {
    if (e instanceof RuntimeFault) return e;
    throw e;
  }
  throw new Error('no fault');
}

describe.each(ENGINES)('memory model (%s)', (engine) => {
  it('reads and writes the private copy of mem; r2 is its length', () => {
    const p = prog(`
      r0 = *(u32 *)(r1 + 0)
      r0 += r2
      *(u16 *)(r1 + 2) = 0x1234
      exit`, engine);
    const r = p.run({ mem: new Uint8Array([1, 0, 0, 0, 9]) });
    expect(r.r0).toBe(6n);
    expect([...r.memOut!]).toEqual([1, 0, 0x34, 0x12, 9]);
  });

  it('a read past the end of mem faults with the instruction index', () => {
    const p = prog(`
      r0 = 0
      r0 = *(u32 *)(r1 + 2)
      exit`, engine);
    const f = fault(() => p.run({ mem: new Uint8Array(5) }));
    expect(f.code).toBe('E_VM_OUT_OF_BOUNDS');
    expect(f.position?.insn).toBe(1);
    expect(f.message).toContain('mem+2');
  });

  it('a negative offset below the region faults too', () => {
    const p = prog('r0 = *(u8 *)(r1 - 1)\nexit', engine);
    expect(fault(() => p.run({ mem: new Uint8Array(4) })).code).toBe('E_VM_OUT_OF_BOUNDS');
  });

  it('dereferencing a scalar faults', () => {
    const p = prog('r1 = 4096\nr0 = *(u64 *)(r1 + 0)\nexit', engine);
    const f = fault(() => p.run({ mem: new Uint8Array(4) }));
    expect(f.code).toBe('E_VM_BAD_POINTER');
    expect(f.position?.insn).toBe(1);
  });

  it('the stack is 512 bytes below r10 and nothing above it', () => {
    const ok = prog('*(u64 *)(r10 - 512) = 7\nr0 = *(u64 *)(r10 - 512)\nexit', engine);
    expect(ok.run().r0).toBe(7n);
    const below = prog('r0 = *(u8 *)(r10 - 513)\nexit', engine);
    expect(fault(() => below.run()).code).toBe('E_VM_OUT_OF_BOUNDS');
    const above = prog('r0 = *(u8 *)(r10 + 0)\nexit', engine);
    expect(fault(() => above.run()).code).toBe('E_VM_OUT_OF_BOUNDS');
  });

  it('the stack starts zeroed on every run', () => {
    const p = prog('r0 = *(u64 *)(r10 - 8)\n*(u64 *)(r10 - 8) = 99\nexit', engine);
    expect(p.run().r0).toBe(0n);
    expect(p.run().r0).toBe(0n);
  });

  it('pointer arithmetic and comparison work on pointers', () => {
    const p = prog(`
      r3 = r1
      r3 += r2
      r4 = r1
      r4 += 4
      r0 = 1
      if r4 > r3 goto +1
      r0 = 2
      exit`, engine);
    expect(p.run({ mem: new Uint8Array(8) }).r0).toBe(2n);
    expect(p.run({ mem: new Uint8Array(3) }).r0).toBe(1n);
  });

  it('a BPF-to-BPF call gets its own stack frame and keeps r6..r9', () => {
    const p = prog(`
      r6 = 5
      *(u64 *)(r10 - 8) = 11
      call sub
      r1 = *(u64 *)(r10 - 8)
      r0 += r1
      r0 += r6
      exit
    sub:
      r6 = 100
      r0 = *(u64 *)(r10 - 8)
      *(u64 *)(r10 - 8) = 1
      r0 += 20
      exit`, engine);
    expect(p.run().r0).toBe(20n + 11n + 5n);
  });

  it('runaway recursion faults on call depth', () => {
    const p = prog('call self\nexit\nself:\ncall self\nexit', engine);
    expect(fault(() => p.run()).code).toBe('E_VM_CALL_DEPTH');
  });

  it('an endless loop faults on the instruction budget', () => {
    const p = prog('r0 = 0\nloop:\nr0 += 1\ngoto loop\nexit', engine);
    expect(fault(() => p.run()).code).toBe('E_VM_BUDGET');
  });

  it('an unknown helper is rejected at load, naming it and the instruction', () => {
    // A helper the kernel has and the VM does not (picked from the tables, so new VM helpers don't break the test).
    const unimplemented = Array.from({ length: 200 }, (_, i) => i + 1).find((id) => helperName(id) !== undefined && !HELPERS_BY_ID.has(id));
    let err: unknown;
    try {
      prog(`r0 = 0\ncall ${unimplemented}\nexit`, engine);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/helper bpf_\w+ not available in the VM/);
    expect((err as ValidationError).position?.insn).toBe(1);
  });
});
