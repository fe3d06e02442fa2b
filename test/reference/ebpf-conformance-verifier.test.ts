/** The bpf_conformance negative files against the verifier: every file that assembles is rejected by `verify`, not only by the VM. */

import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/util/index.js';
import { ProgType, assembleConformance, decodeProgram, type Insn } from '../../src/ebpf/index.js';
import { VerifierError, verify } from '../../src/ebpf/verifier/index.js';
import { loadConformanceDir, type ConformanceCase } from '../helpers/bpf-conformance-data.js';
import { skipReason } from '../helpers/reference.js';

/** The program of a case (`raw` wins over `asm`, as in the runner); undefined when it does not assemble. */
function programOf(c: ConformanceCase): Insn[] | undefined {
  try {
    if (c.raw) {
      const bytesForm = c.raw.length > 0 && c.raw.every((t) => /^[0-9a-f]{2}$/i.test(t));
      const bytes = bytesForm ? new Uint8Array(c.raw.map((t) => parseInt(t, 16))) : new Uint8Array(c.raw.length * 8);
      if (!bytesForm) {
        const v = new DataView(bytes.buffer);
        c.raw.forEach((w, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(w)), true));
      }
      return decodeProgram(bytes);
    }
    return assembleConformance(c.asm ?? '');
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

describe.skipIf(skipReason('bpf_conformance negative (verifier)', { corpus: 'bpf-conformance/negative' }))('bpf_conformance negative/*.data: the verifier rejects them', () => {
  it('rejects every negative file that assembles, with a VerifierError at an instruction', () => {
    const cases = loadConformanceDir('negative');
    let checked = 0;
    for (const c of cases) {
      const insns = programOf(c);
      if (!insns) continue; // an assembler error: nothing reaches the verifier
      let err: unknown;
      try {
        verify({ name: c.name, type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' });
      } catch (e) {
        err = e;
      }
      expect(err, c.name).toBeInstanceOf(VerifierError);
      expect((err as VerifierError).insn, c.name).toBeGreaterThanOrEqual(0);
      checked++;
    }
    // 45 unused-field files, error.data and the empty programs.
    expect(checked).toBeGreaterThanOrEqual(48);
  });
});
