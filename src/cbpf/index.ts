/** Classic BPF: the instruction model, text formats, validator, interpreter and JIT. */
export * from './opcodes.js';
export * from './insn.js';
