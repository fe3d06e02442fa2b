/** The object's BTF made loadable by the kernel (BPF_BTF_LOAD): DATASEC sizes and variable offsets filled in from the ELF, as libbpf does. */

import { FormatError } from '../util/index.js';
import { BtfKind, btfTypeOffsets, parseBtf } from './btf.js';
import { readElf, STT_SECTION } from './elf.js';

/**
 * Returns a copy of an object's `.BTF` with every DATASEC's size set to its ELF section's
 * size and every variable's offset to its symbol's value (clang leaves both for the loader).
 * Throws a FormatError (`E_ELF_NO_BTF`) when the object has no `.BTF`.
 */
export function kernelBtf(object: Uint8Array): Uint8Array {
  const elf = readElf(object);
  const sec = elf.section('.BTF');
  if (!sec) throw new FormatError('E_ELF_NO_BTF', 'object has no .BTF section');
  const out = sec.data.slice();
  const btf = parseBtf(out);
  const offsets = btfTypeOffsets(out);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const le = btf.littleEndian;
  for (const t of btf.types) {
    if (t.kind !== BtfKind.DATASEC) continue;
    const es = elf.section(t.name);
    if (!es) continue; // an extern section (.kconfig, .ksyms): left as clang wrote it
    v.setUint32(offsets[t.id] + 8, es.size, le);
    t.secinfos?.forEach((si, i) => {
      const name = btf.types[si.type]?.name;
      const sym = elf.symbols.find((y) => y.shndx === es.index && y.type !== STT_SECTION && y.name === name);
      if (sym) v.setUint32(offsets[t.id] + 12 + i * 12 + 4, sym.value, le);
    });
  }
  return out;
}
