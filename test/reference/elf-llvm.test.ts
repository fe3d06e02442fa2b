// The ELF loader against llvm-readelf-19 / llvm-objdump-19: programs per symbol, instruction bytes, relocations to maps/data/functions, CO-RE records.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeProgram, slots, type ProgramSpec } from '../../src/ebpf/index.js';
import { BtfKind, CoreReloKind, kernelBtf, loadCollectionSpec, parseBtf, matchSection, type BtfCoreRelo, type CollectionSpec } from '../../src/elf/index.js';
import { skipReason } from '../helpers/reference.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';

interface Sym { value: number; size: number; type: string; bind: string; ndx: string; name: string }
interface ObjInsn { section: string; slot: number; bytes: string; relocs: string[] }

function readelf(path: string, flag: string): string {
  return execFileSync('llvm-readelf-19', [flag, '--wide', path], { encoding: 'utf8' });
}

function symbols(path: string): Sym[] {
  const out: Sym[] = [];
  for (const m of readelf(path, '-s').matchAll(/^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s*(\S*)$/gm)) {
    out.push({ value: parseInt(m[1], 16), size: Number(m[2]), type: m[3], bind: m[4], ndx: m[5], name: m[6] });
  }
  return out;
}

function sectionNames(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readelf(path, '-S').matchAll(/^\s*\[\s*(\d+)\]\s+(\S+)/gm)) out.set(m[1], m[2]);
  return out;
}

/** `llvm-objdump -d -r`: each instruction's bytes and the relocation lines under it, by section. */
function objdump(path: string): ObjInsn[] {
  const out: ObjInsn[] = [];
  let section = '';
  for (const line of execFileSync('llvm-objdump-19', ['-d', '-r', path], { encoding: 'utf8' }).split('\n')) {
    const s = /^Disassembly of section (.*):$/.exec(line);
    if (s) { section = s[1]; continue; }
    const i = /^\s+(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)/.exec(line);
    if (i) { out.push({ section, slot: Number(i[1]), bytes: i[2].trim(), relocs: [] }); continue; }
    const r = /^\t\t[0-9a-f]+:\s+(.*)$/.exec(line);
    if (r && out.length) out[out.length - 1].relocs.push(r[1].trim());
  }
  return out;
}

// Our program's slots as hex, one string per instruction start.
function slotBytes(spec: ProgramSpec): Map<number, string> {
  const m = new Map<number, string>();
  let slot = 0;
  for (const ins of spec.insns) {
    const b = encodeProgram([ins]);
    m.set(slot, [...b].map((x) => x.toString(16).padStart(2, '0')).join(' '));
    slot += slots(ins);
  }
  return m;
}

function insnAt(spec: ProgramSpec, slot: number): ProgramSpec['insns'][number] | undefined {
  let s = 0;
  for (const ins of spec.insns) {
    if (s === slot) return ins;
    s += slots(ins);
  }
  return undefined;
}

const CORE_KIND_NAMES: Record<string, number> = {
  byte_off: CoreReloKind.FIELD_BYTE_OFFSET, byte_sz: CoreReloKind.FIELD_BYTE_SIZE, field_exists: CoreReloKind.FIELD_EXISTS,
  signed: CoreReloKind.FIELD_SIGNED, lshift_u64: CoreReloKind.FIELD_LSHIFT_U64, rshift_u64: CoreReloKind.FIELD_RSHIFT_U64,
  local_type_id: CoreReloKind.TYPE_ID_LOCAL, target_type_id: CoreReloKind.TYPE_ID_TARGET, type_exists: CoreReloKind.TYPE_EXISTS,
  type_size: CoreReloKind.TYPE_SIZE, enumval_exists: CoreReloKind.ENUMVAL_EXISTS, enumval_value: CoreReloKind.ENUMVAL_VALUE,
  type_matches: CoreReloKind.TYPE_MATCHES,
};

const skip = clangSkip('elf loader vs llvm-objdump-19') ?? skipReason('elf loader vs llvm-objdump-19', { commands: ['llvm-objdump-19', 'llvm-readelf-19'] });

describe.skipIf(skip)('loadCollectionSpec vs llvm-readelf-19 / llvm-objdump-19', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());

  for (const name of ['elf-xdp', 'elf-core', 'elf-callbacks', 'elf-sections']) {
    it(`${name}.o: a program per global function of a program section, bytes equal outside relocations`, () => {
      const o = b.build(name);
      const coll: CollectionSpec = loadCollectionSpec(o.bytes);
      const secs = sectionNames(o.path);
      const syms = symbols(o.path);
      const mains = syms.filter((s) => s.type === 'FUNC' && s.bind === 'GLOBAL' && matchSection(secs.get(s.ndx) ?? '') !== undefined);
      expect([...coll.programs.keys()].sort()).toEqual(mains.map((s) => s.name).sort());
      const dump = objdump(o.path);
      const coreOffsets = new Set<string>();
      const checked = { map: 0, data: 0, call: 0 };
      for (const main of mains) {
        const spec = coll.programs.get(main.name)!;
        const ours = slotBytes(spec);
        const sec = secs.get(main.ndx)!;
        const first = main.value / 8;
        for (const ins of dump.filter((x) => x.section === sec && x.slot >= first && x.slot < first + main.size / 8)) {
          const at = ins.slot - first;
          if (ins.relocs.some((r) => r.startsWith('CO-RE'))) { coreOffsets.add(`${sec}:${ins.slot}`); continue; }
          const q = insnAt(spec, at)!;
          const landsOn = (callee: Sym | undefined, landed: number): void => {
            const fi = spec.funcInfo!.find((f) => f.insn === landed);
            expect(fi, `${main.name} slot ${at} lands on a function start`).toBeDefined();
            expect(coll.btf!.types[fi!.typeId].name).toBe(callee?.name);
            checked.call++;
          };
          const immOf = (): number => new DataView(new Uint8Array(ins.bytes.split(' ').slice(4, 8).map((x) => parseInt(x, 16))).buffer).getInt32(0, true);
          if (ins.relocs.length === 0 && ins.bytes.startsWith('85 10')) {
            // A pc-relative call inside the section: objdump's target is slot + imm + 1.
            const tslot = ins.slot + immOf() + 1;
            landsOn(syms.find((s) => s.type === 'FUNC' && s.ndx === main.ndx && s.value / 8 === tslot), at + 1 + q.imm);
            continue;
          }
          if (ins.relocs.length === 0) { expect(ours.get(at), `${main.name} slot ${at}`).toBe(ins.bytes); continue; }
          const rel = /^(R_BPF_\w+)\s+(\S+)$/.exec(ins.relocs[0])!;
          const target = syms.find((s) => s.name === rel[2] && s.type !== 'SECTION') ?? syms.find((s) => s.type === 'SECTION' && s.name === rel[2]);
          const targetSec = target ? secs.get(target.ndx) : undefined;
          if (rel[1] === 'R_BPF_64_64' && targetSec === '.text') {
            // A function pointer: imm is the byte offset into .text; ours is BPF_PSEUDO_FUNC, relative like a call.
            expect(q.src).toBe(4);
            landsOn(syms.find((s) => s.type === 'FUNC' && s.ndx === target?.ndx && s.value === immOf()), at + 1 + q.imm);
          } else if (rel[1] === 'R_BPF_64_64' && (targetSec === '.maps' || targetSec === 'maps')) {
            expect(q.ref, `${main.name} slot ${at}`).toBe(rel[2]);
            expect(q.src).toBe(1);
            checked.map++;
          } else if (rel[1] === 'R_BPF_64_64') {
            expect(q.ref, `${main.name} slot ${at}`).toBe(targetSec ?? rel[2]);
            expect(q.src).toBe(2);
            checked.data++;
          } else if (rel[1] === 'R_BPF_64_32') {
            // The call lands on the start of the function objdump's relocation names (or the .text function at imm + 1).
            const tslot = (target && target.type !== 'SECTION' ? target.value / 8 : 0) + immOf() + 1;
            landsOn(syms.find((s) => s.type === 'FUNC' && s.ndx === target?.ndx && s.value / 8 === tslot), at + 1 + q.imm);
          }
        }
      }
      // Every CO-RE line of objdump is one of our records: offset, kind, type id, access string.
      const fromDump = dump.flatMap((x) => x.relocs.filter((r) => r.startsWith('CO-RE')).map((r) => {
        // Field kinds end in the access string "(0:1)"; enum kinds name the enumerator ("enum e::NAME = 4"); type kinds have "0".
        const m = /^CO-RE <(\w+)> \[(\d+)\] .*?(?:\(([\d:]+)\)|::(\w+) = -?\d+)?$/.exec(r)!;
        return `${x.section}:${x.slot * 8}:${CORE_KIND_NAMES[m[1]]}:${m[2]}:${m[3] ?? m[4] ?? '0'}`;
      })).sort();
      const enumKinds = new Set<number>([CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE]);
      const fromUs = [...(coll.btfExt?.coreRelos ?? new Map<string, BtfCoreRelo[]>()).entries()].flatMap(([sec, list]) => list.map((r) => `${sec}:${r.insnOff}:${r.kind}:${r.typeId}:${enumKinds.has(r.kind) ? coll.btf!.types[r.typeId].enumValues![Number(r.accessStr)].name : r.accessStr}`)).sort();
      expect(fromUs).toEqual(fromDump);
      if (name === 'elf-core') expect(fromUs.length).toBeGreaterThan(5);
      if (name === 'elf-callbacks') expect(checked).toEqual({ map: 0, data: 0, call: 3 }); // bpf_loop callback, twice, plus_one
      if (name === 'elf-xdp') expect(checked).toEqual({ map: 2, data: 3, call: 4 }); // the relocations in main functions, counted by hand in objdump's listing
    });
  }

  it('kernelBtf: DATASEC sizes are the section sizes and variable offsets the symbol values llvm-readelf-19 lists', () => {
    const o = b.build('elf-xdp');
    const btf = parseBtf(kernelBtf(o.bytes));
    const sizes = new Map<string, number>();
    for (const m of readelf(o.path, '-S').matchAll(/^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/gm)) sizes.set(m[1], parseInt(m[2], 16));
    const syms = symbols(o.path);
    let vars = 0;
    for (const t of btf.types.filter((x) => x.kind === BtfKind.DATASEC)) {
      expect(t.size, t.name).toBe(sizes.get(t.name));
      for (const si of t.secinfos ?? []) {
        expect(si.offset, btf.types[si.type].name).toBe(syms.find((y) => y.name === btf.types[si.type].name)?.value);
        vars++;
      }
    }
    expect(vars).toBe(9); // seen, drop_len, static_count, by_len, counters, outer, bonus, LICENSE, legacy
  });

  it('initialRefs: one per R_BPF_64_ABS64 in .rel.maps, at the slot its offset names', () => {
    const o = b.build('elf-mapinit');
    const coll = loadCollectionSpec(o.bytes);
    const syms = symbols(o.path);
    const rels = [...execFileSync('llvm-readelf-19', ['-r', o.path], { encoding: 'utf8' }).split("Relocation section '.rel.maps'")[1].split('Relocation section')[0]
      .matchAll(/^([0-9a-f]{16})\s+[0-9a-f]+\s+(R_BPF_\w+)\s+[0-9a-f]+\s+(\S+)$/gm)];
    expect(rels.length).toBe(3);
    const ours = [...coll.maps.values()].flatMap((m) => (m.initialRefs ?? []).map((r) => ({ map: m.name, ...r })));
    expect(ours).toHaveLength(rels.length);
    for (const r of rels) {
      const off = parseInt(r[1], 16);
      const owner = syms.find((y) => y.type === 'OBJECT' && off >= y.value && off < y.value + y.size)!;
      const hit = ours.find((x) => x.map === owner.name && x.ref === r[3]);
      expect(hit, `${owner.name} <- ${r[3]}`).toBeDefined();
      // values[] is the last member: its slot i sits at owner + size - 8 * (max_entries - i).
      expect(owner.value + owner.size - 8 * (coll.maps.get(owner.name)!.maxEntries - hit!.index)).toBe(off);
    }
  });
});
