/** Classic BPF: the instruction model, text formats, validator, interpreter and JIT. */
export * from './opcodes.js';
export * from './insn.js';
export * from './table.js';
export * from './bytes.js';
export * from './text/format.js';
export * from './text/parse.js';
export * from './validate.js';
export * from './aux.js';
export * from './interpret.js';
export * from './jit.js';
export * from './seccomp.js';
