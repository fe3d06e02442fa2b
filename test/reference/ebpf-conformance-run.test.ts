// Runs every bpf_conformance vector (corpusDir/bpf-conformance) on both VM engines; the expected r0 comes from the corpus.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeProgram } from '../../src/ebpf/encoding.js';
import { ProgType } from '../../src/ebpf/spec.js';
import { UNWIND_HELPER, load } from '../../src/ebpf/vm/index.js';
import { fromHex } from '../../src/util/index.js';
import { corpusDir, skipReason } from '../helpers/reference.js';

interface Vector {
  words: string[];
  mem: string;
  result: string;
}

const skip = skipReason('bpf_conformance vectors', { corpus: 'bpf-conformance/expected-bytecode.json' });
const vectors: [string, Vector][] = skip
  ? []
  : Object.entries(JSON.parse(readFileSync(path.join(corpusDir, 'bpf-conformance/expected-bytecode.json'), 'utf8')) as Record<string, Vector>);

function programBytes(words: readonly string[]): Uint8Array {
  const out = new Uint8Array(words.length * 8);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, BigInt(w), true));
  return out;
}

describe.skipIf(skip !== undefined)('bpf_conformance vectors on the VM', () => {
  it('has all 313 vectors', () => {
    expect(vectors.length).toBe(313);
  });
  for (const engine of ['interp', 'jit'] as const) {
    it(`every vector gives the expected r0 (${engine})`, () => {
      const failures: string[] = [];
      for (const [name, v] of vectors) {
        try {
          const insns = decodeProgram(programBytes(v.words));
          const prog = load({ name, type: ProgType.BPF_PROG_TYPE_UNSPEC, insns, license: 'MIT' }, { engine, helpers: [UNWIND_HELPER], budget: 1_000_000 });
          const mem = v.mem.trim() ? fromHex(v.mem) : new Uint8Array(0);
          const r = prog.run({ mem });
          const want = BigInt.asUintN(64, BigInt(v.result));
          if (r.r0 !== want) failures.push(`${name}: got 0x${r.r0.toString(16)}, want 0x${want.toString(16)}`);
        } catch (e) {
          failures.push(`${name}: ${(e as Error).message}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
