/** Fuzzing the ELF, BTF and BTF.ext readers and the loader on mutated clang objects: only typed, one-line, positioned errors, and vm.load of whatever loads. */

import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMap, MapError, vm, type VmMapLike } from '../../src/ebpf/index.js';
import {
  ElfError, functionSymbols, kernelBtf, loadCollectionSpec, parseBtf, parseBtfExt, programSections, readElf, readSectionHeaders, readSegments,
  type CollectionSpec,
} from '../../src/elf/index.js';
import { BpfkitError } from '../../src/util/index.js';
import { repoRoot } from '../helpers/reference.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { arbMutated, expectTypedFailure, fuzzParams } from './fuzz-helpers.js';

const skip = clangSkip('fuzz elf on clang objects');

/** Everything a user can do with an object's bytes: read it, load its collection, run the loader's outputs through vm.load. */
function useObject(bytes: Uint8Array): void {
  const elf = readElf(bytes);
  programSections(elf);
  const btfSec = elf.section('.BTF');
  if (btfSec) {
    const btf = parseBtf(btfSec.data);
    for (const t of btf.types) {
      if (t.id === 0) continue;
      try {
        btf.sizeOf(t.id);
      } catch (e) {
        // A type without a size is a typed answer; anything else must be typed too (checked by the caller).
        if (!(e instanceof Error) || !('code' in e)) throw e;
      }
    }
    const ext = elf.section('.BTF.ext');
    if (ext) parseBtfExt(ext.data, btf);
    kernelBtf(bytes);
  }
  const coll: CollectionSpec = loadCollectionSpec(bytes);
  for (const spec of coll.programs.values()) {
    const maps = new Map<string, VmMapLike>();
    try {
      for (const m of spec.maps ?? []) maps.set(m.name, createMap(m));
    } catch (e) {
      // The loader passes map types and sizes through (the kernel may know more than the VM); the map layer's errno error is the answer.
      if (e instanceof MapError) continue;
      throw e;
    }
    try {
      vm.load(spec, { maps });
    } catch (e) {
      // A program type the VM does not run says nothing about the object.
      if (!(e instanceof BpfkitError && e.code === 'E_VM_PROG_TYPE')) throw e;
    }
  }
}

describe.skipIf(skip)('elf, btf and the loader under mutation (seeded from clang objects of test/fixtures-src)', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());
  const names = skip ? [] : readdirSync(path.join(repoRoot, 'test/fixtures-src')).filter((f) => f.endsWith('.c')).map((f) => f.replace(/\.c$/, ''));
  const seeds = names.map((n) => b.build(n).bytes);

  it('the unmutated objects load', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(5);
    for (const s of seeds) expect(expectTypedFailure(() => loadCollectionSpec(s))).toBeUndefined();
  });

  it('the issue\'s cases: a code section of 8n+1 bytes, a relocation past its section, a symbol in no section, a dangling BTF type id', () => {
    const obj = seeds[names.indexOf('elf-xdp')];
    const elf = readElf(obj);
    const le = elf.littleEndian;
    const shoff = Number(new DataView(obj.buffer, obj.byteOffset).getBigUint64(0x28, le));
    const header = (s: { index: number }): number => shoff + s.index * 64;
    const code = elf.sections.find((s) => s.name === 'xdp')!;
    const odd = obj.slice();
    new DataView(odd.buffer).setBigUint64(header(code) + 0x20, BigInt(code.size - 7), le);
    for (const f of [() => loadCollectionSpec(odd), () => programSections(readElf(odd))]) {
      const e = expectTypedFailure(f, [ElfError]);
      expect(e?.code).toBe('E_ELF_CODE_SIZE');
      expect(e?.message).toBe(`section "xdp": code size ${code.size - 7} is not a multiple of 8 (at offset ${code.offset})`);
    }
    const rel = elf.sections.find((s) => s.name === '.relxdp')!;
    const farReloc = obj.slice();
    new DataView(farReloc.buffer).setBigUint64(rel.offset, BigInt(code.size + 8), le);
    expect(expectTypedFailure(() => readElf(farReloc), [ElfError])?.message).toBe(`section ".relxdp": relocation at offset ${code.size + 8} outside xdp (${code.size} bytes) (at offset ${rel.offset})`);
    const symtab = elf.sections.find((s) => s.name === '.symtab')!;
    const noSection = obj.slice();
    new DataView(noSection.buffer).setUint16(symtab.offset + 24 + 6, 0x7000, le);
    expect(expectTypedFailure(() => readElf(noSection), [ElfError])?.code).toBe('E_ELF_SYMBOL');
    const btf = elf.section('.BTF')!;
    const dangling = obj.slice();
    // The first type's `type` field (a PTR or similar in clang's output, or an INT's size): point it past the last type.
    new DataView(dangling.buffer).setUint32(btf.offset + 24 + 8, 0x00ffffff, le);
    const e = expectTypedFailure(() => loadCollectionSpec(dangling), [ElfError]);
    expect(e === undefined || (e as ElfError).section === ".BTF").toBe(true);
  });

  it('readElf, programSections, BTF, BTF.ext, the loader and vm.load: only typed one-line errors with a position', () => {
    fc.assert(fc.property(arbMutated(seeds, 4), (bytes) => { expectTypedFailure(() => useObject(bytes)); }), fuzzParams(6));
  });

  it('the same with edits aimed at the headers (section table, symbols, relocations, BTF headers)', () => {
    // Edits land where the tables are: the section headers at the end of a clang object, and the first bytes of each section.
    const aimed = fc.tuple(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.boolean()).map(([i, edits, tail]) => {
      const c = seeds[i].slice();
      const elf = readElf(c);
      for (const [at, v] of edits) {
        const sec = elf.sections[at % elf.sections.length];
        const where = tail ? c.length - 1 - (at % Math.min(c.length, 64 * elf.sections.length)) : sec.offset + (at % Math.max(1, Math.min(sec.size, 48)));
        if (where >= 0 && where < c.length) c[where] = v;
      }
      return c;
    });
    fc.assert(fc.property(aimed, (bytes) => { expectTypedFailure(() => useObject(bytes)); }), fuzzParams(6));
  });

  it('BTF and BTF.ext alone: mutated sections parse or fail typed, and type lookups never loop', () => {
    const btfs = seeds.map((s) => readElf(s).section('.BTF')!.data.slice());
    fc.assert(
      fc.property(arbMutated(btfs, 4), (bytes) => {
        expectTypedFailure(() => {
          const btf = parseBtf(bytes);
          for (const t of btf.types) {
            try {
              btf.resolve(t.id);
              btf.sizeOf(t.id);
            } catch (e) {
              if (!(e instanceof Error) || !('code' in e)) throw e;
            }
          }
        });
      }),
      fuzzParams(4),
    );
  });

  it('section headers, segments and symbols of linked binaries (readSectionHeaders, readSegments, functionSymbols)', () => {
    fc.assert(fc.property(arbMutated(seeds, 4), (bytes) => { expectTypedFailure(() => { readSectionHeaders(bytes); readSegments(bytes); functionSymbols(bytes); }); }), fuzzParams(2));
  });
});
