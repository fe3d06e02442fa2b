/** eBPF: the instruction set, assembler/disassembler, verifier, interpreter, WebAssembly JIT, maps and helpers. */
export * from './insn.js';
export * from './spec.js';
