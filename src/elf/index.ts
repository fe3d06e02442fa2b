/** ELF64 reading for eBPF objects: sections, symbols, relocations (BTF and the full loader come later). */
export * from './elf.js';
export * from './symbols.js';
