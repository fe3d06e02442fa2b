/** What an object holds, as `bpftool`/`llvm-objdump` would list it: sections, programs with type and attach point, maps, BTF kinds, CO-RE relocations. */

import { MapType, ProgType, type ProgramSpec } from '../ebpf/index.js';
import { BTF_KIND_NAMES } from './btf.js';
import { CoreReloKind } from './btf-ext.js';
import { readElf } from './elf.js';
import { loadCollectionSpec, type CollectionSpec } from './loader.js';

/** The description {@link inspectObject} gives (plain data, ready for `--json`). */
export interface ObjectInfo {
  license: string;
  endianness: 'little' | 'big';
  sections: { name: string; size: number; type: number; flags: number }[];
  programs: { name: string; section: string; type: string; attachType?: number; attachTo: string; insns: number; lines: number; funcs: number }[];
  maps: { name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: number; pinning: boolean; inner?: string; initialised: number }[];
  btf?: { types: number; byKind: Record<string, number> };
  coreRelocations: { section: string; insn: number; kind: string; type: number; access: string }[];
}

const nameOf = (table: Record<string, number>, v: number, prefix: string): string =>
  (Object.entries(table).find(([, n]) => n === v)?.[0] ?? `${prefix}${v}`).replace(prefix, '').toLowerCase();

const programRow = (p: ProgramSpec): ObjectInfo['programs'][number] => ({
  name: p.name, section: p.sectionName ?? '', type: nameOf(ProgType, p.type, 'BPF_PROG_TYPE_'),
  ...(p.expectedAttachType !== undefined ? { attachType: p.expectedAttachType } : {}),
  attachTo: p.attachTo ?? '', insns: p.insns.length, lines: p.lineInfo?.length ?? 0, funcs: p.funcInfo?.length ?? 0,
});

/**
 * Describes a clang object without loading it: every ELF section, each program with its
 * type and attach point, each map, the BTF's kinds and the CO-RE relocations.
 * Throws what {@link loadCollectionSpec} throws for a bad object.
 */
export function inspectObject(bytes: Uint8Array, spec: CollectionSpec = loadCollectionSpec(bytes)): ObjectInfo {
  const elf = readElf(bytes);
  const info: ObjectInfo = {
    license: spec.license,
    endianness: elf.littleEndian ? 'little' : 'big',
    sections: elf.sections.filter((s) => s.name !== '').map((s) => ({ name: s.name, size: s.size, type: s.type, flags: s.flags })),
    programs: [...spec.programs.values()].map(programRow),
    maps: [...spec.maps.values()].map((m) => ({
      name: m.name, type: nameOf(MapType, m.type, 'BPF_MAP_TYPE_'), keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries,
      flags: m.flags ?? 0, pinning: m.pinning === 1, ...(m.innerMap ? { inner: nameOf(MapType, m.innerMap.type, 'BPF_MAP_TYPE_') } : {}),
      initialised: m.initialRefs?.length ?? (m.initialValue ? 1 : 0),
    })),
    coreRelocations: [],
  };
  if (spec.btf) {
    const byKind: Record<string, number> = {};
    for (const t of spec.btf.types.slice(1)) {
      const k = (BTF_KIND_NAMES[t.kind] ?? `kind${t.kind}`).toLowerCase();
      byKind[k] = (byKind[k] ?? 0) + 1;
    }
    info.btf = { types: spec.btf.types.length - 1, byKind };
  }
  for (const [section, relos] of spec.btfExt?.coreRelos ?? []) {
    for (const r of relos) {
      info.coreRelocations.push({ section, insn: r.insnOff / 8, kind: nameOf(CoreReloKind, r.kind, ''), type: r.typeId, access: r.accessStr });
    }
  }
  return info;
}

/** The text `bpfkit obj inspect` prints: one block per kind, one line per thing, bpftool-like. */
export function formatObjectInfo(o: ObjectInfo): string {
  const out: string[] = [`license ${JSON.stringify(o.license)}  ${o.endianness}-endian`, '', 'sections:'];
  for (const s of o.sections) out.push(`  ${s.name.padEnd(32)} size ${s.size}`);
  out.push('', 'programs:');
  for (const p of o.programs) {
    out.push(`  ${p.name}: ${p.type}  section ${p.section}${p.attachTo ? `  attach ${p.attachTo}` : ''}  insns ${p.insns}${p.lines ? `  lines ${p.lines}` : ''}${p.funcs > 1 ? `  funcs ${p.funcs}` : ''}`);
  }
  out.push('', 'maps:');
  for (const m of o.maps) {
    out.push(`  ${m.name}: ${m.type}  key ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}  flags 0x${m.flags.toString(16)}${m.pinning ? '  pinned by name' : ''}${m.inner ? `  inner ${m.inner}` : ''}${m.initialised ? `  initialised ${m.initialised}` : ''}`);
  }
  if (o.btf) out.push('', `btf: ${o.btf.types} types (${Object.entries(o.btf.byKind).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  if (o.coreRelocations.length) {
    out.push('', 'co-re relocations:');
    for (const r of o.coreRelocations) out.push(`  ${r.section}+${r.insn}: ${r.kind} type ${r.type} access ${r.access}`);
  }
  return `${out.join('\n')}\n`;
}
