/** eBPF: the instruction set, assembler/disassembler, verifier, interpreter, WebAssembly JIT, maps and helpers. */
export * from './insn.js';
export * from './spec.js';
export * from './opcodes.js';
export * from './encoding.js';
export * from './forms.js';
export * from './check.js';
export { slotWord, wordSlot } from './asm-common.js';
export * from './llvm-syntax.js';
export * from './conformance-syntax.js';
export * from './builder.js';
export * from './maps/index.js';
export * from './vm/index.js';
export {
  verify, VerifierError, HELPER_PROTOS, HELPER_PROTOS_BY_ID,
  type VerifyOptions, type VerifyResult, type WhyStep, type HelperProto,
} from './verifier/index.js';
