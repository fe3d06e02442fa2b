/** The Node symbolizer: kernel addresses through /proc/kallsyms, user addresses through /proc/PID/maps and each mapping's ELF symbols. */

import type { ResolvedSymbol, Symbolizer } from '../format/index.js';

/** Kernel symbols sorted by address, from the text of /proc/kallsyms. */
export function parseKallsyms(text: string): { addr: bigint; name: string; module?: string }[] {
  void text;
  return [];
}

/**
 * A {@link Symbolizer} over this machine: /proc/kallsyms read once (lazily) for kernel
 * addresses; for user addresses, the process's maps and the ELF symbol tables of the files
 * mapped there (cached per path).
 */
export function createNodeSymbolizer(): Symbolizer {
  return {
    kernel(addr: bigint): ResolvedSymbol | undefined {
      void addr;
      return undefined;
    },
    user(addr: bigint, pid: number): ResolvedSymbol | undefined {
      void addr; void pid;
      return undefined;
    },
  };
}
