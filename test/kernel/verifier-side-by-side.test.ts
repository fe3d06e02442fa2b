// When the kernel refuses a program, the loader runs bpfkit's verifier on it too: the kernel's log and our
// explanation are read side by side (library: VerifierError.explanation / explain(); CLI: `ebpf verify --kernel`).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleLlvm, ProgType, type ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, VerifierError } from '../../src/kernel/index.js';
import { runCli } from '../helpers/cli.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('verifier side by side (kernel log and bpfkit explanation)');
const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-vsbs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tc program that reads byte 20 of the packet without a bounds check. */
const unchecked = ['r2 = *(u32 *)(r1 + 76)', 'r3 = *(u32 *)(r1 + 80)', 'r0 = *(u8 *)(r2 + 20)', 'exit'].join('\n');

describe.skipIf(why !== undefined)('kernel rejections explained by bpfkit', () => {
  it('Kernel.load: the kernel error carries our explanation at the same instruction, with the same first line', async () => {
    const k = await Kernel.open();
    const spec: ProgramSpec = { name: 'unchecked', type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: assembleLlvm(unchecked), license: 'GPL' };
    const err = (() => {
      try {
        k.load(spec).close();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.message).toContain('R2 offset is outside of the packet');
    expect(v.log).toContain('invalid access to packet, off=20 size=1');
    expect(v.explanation?.verdict).toBe('rejected');
    if (v.explanation?.verdict !== 'rejected') return;
    expect(v.explanation.error.insn).toBe(2);
    expect(v.log).toContain(v.explanation.error.kernelMessage);
    const text = v.explain();
    expect(text).toMatch(/^kernel verifier \(errno 13\):/);
    expect(text).toContain('bpfkit verifier:');
    expect(text).toContain('hint: compare data + 21 with data_end');
  });

  it('with explain: false the loader leaves the kernel error alone', async () => {
    const k = await Kernel.open();
    const spec: ProgramSpec = { name: 'uninit', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: assembleLlvm('r0 = r2\nexit'), license: 'GPL' };
    let caught: unknown;
    try {
      k.load(spec, { explain: false }).close();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(VerifierError);
    expect((caught as VerifierError).explanation).toBeUndefined();
  });

  it('ebpf verify --kernel: exit 1 with both verdicts for a rejected program, 0 and both accepted for a good one', async () => {
    const bad = path.join(dir, 'bad.s');
    writeFileSync(bad, unchecked);
    const r = await runCli(['ebpf', 'verify', '--kernel', '--type', 'sched_cls', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the kernel rejects it');
    expect(r.stderr).toContain('R2 offset is outside of the packet');
    expect(r.stderr).toMatch(/bpfkit verifier:\n {2}2: invalid access to packet/);

    const good = path.join(dir, 'good.s');
    // A map lookup through the first --map, checked for NULL: both accept it.
    writeFileSync(good, ['r1 = map[fd:0]', 'r2 = r10', 'r2 += -4', 'r3 = 0', '*(u32 *)(r10 - 4) = r3', 'call 1', 'if r0 == 0 goto +1', 'r0 = *(u64 *)(r0 + 0)', 'r0 = 0', 'exit'].join('\n'));
    const g = await runCli(['ebpf', 'verify', '--kernel', '--map', 'array:4:8:1', good]);
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    expect(g.stdout).toBe('kernel: accepted\nbpfkit: accepted (processed 10 insns)\n');
  });
});
