/** The running kernel's BTF, read with src/elf's lazy reader (types decoded on demand), and the BtfSource view the type functions of this folder take. */

import { BtfKind, LazyBtf } from '../../elf/index.js';
import type { Btf, BtfType } from '../../elf/index.js';
import { ProbeError } from './errors.js';

export { LazyBtf };

/** What the type functions of this folder need from BTF: types by id and by name. Both a parsed `Btf` and a {@link LazyBtf} provide it. */
export interface BtfSource {
  /** Number of types, void included (ids are 0 … count-1). */
  readonly count: number;
  /** The type with this id; a BpfkitError (`E_PROBE_BTF`, `E_BTF_TYPE_ID`) when out of range. */
  type(id: number): BtfType;
  /** Every type named `name` (optionally of one kind), by id. */
  byName(name: string, kind?: BtfKind): BtfType[];
  /** Every type id, in order (for listings that walk all types). */
  ids(): Iterable<number>;
  /** The kind of type `id`, without decoding the rest of it. */
  kindOf(id: number): BtfKind;
  /** The name of type `id`, without decoding the rest of it. */
  nameOf(id: number): string;
  /** Ids of the types (of `kind`) whose name starts with `prefix`, in id order, when the source can find them without decoding every name. */
  idsWithNamePrefix?(prefix: string, kind?: BtfKind): number[];
}

/** A {@link BtfSource} over a fully parsed `Btf` (object files, tests); a {@link LazyBtf} is one as it is. */
export function btfSource(btf: Btf): BtfSource {
  return {
    count: btf.types.length,
    type(id) {
      const t = btf.types[id];
      if (t === undefined) throw new ProbeError('E_PROBE_BTF', `btf type id ${id} out of range`);
      return t;
    },
    byName: (name, kind) => btf.byName(name, kind),
    ids: () => btf.types.keys(),
    kindOf: (id) => btf.types[id]?.kind ?? BtfKind.UNKN,
    nameOf: (id) => btf.types[id]?.name ?? '',
  };
}

/** Where the running kernel's BTF is. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

let vmlinux: LazyBtf | undefined;

/**
 * The running kernel's BTF, read with `readFile` (once per process for vmlinux). ProbeError
 * `E_PROBE_NO_BTF` when the kernel has none (built without CONFIG_DEBUG_INFO_BTF). Synchronous,
 * for the compiler's type lookups, which open it only when a program first needs a struct.
 */
export function kernelBtfSync(readFile: (path: string) => Uint8Array, path = VMLINUX_BTF_PATH): LazyBtf {
  if (path === VMLINUX_BTF_PATH && vmlinux) return vmlinux;
  let bytes: Uint8Array;
  try {
    bytes = readFile(path);
  } catch (cause) {
    throw new ProbeError('E_PROBE_NO_BTF', `this kernel exposes no btf at ${path}`, { cause, hint: 'the kernel needs CONFIG_DEBUG_INFO_BTF for struct types and raw tracepoint arguments' });
  }
  const btf = new LazyBtf(bytes);
  if (path === VMLINUX_BTF_PATH) vmlinux = btf;
  return btf;
}

/** The running kernel's BTF (read once per process), see {@link kernelBtfSync}. */
export async function kernelBtf(path = VMLINUX_BTF_PATH): Promise<LazyBtf> {
  const fs = await import('node:fs');
  // Synchronous and not copied: a sysfs file is generated in memory, and this one is ~5 MB.
  return kernelBtfSync((p) => {
    const b = fs.readFileSync(p);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }, path);
}
