/** bpfkit's public API: one namespace per layer. The kernel backend is `bpfkit/kernel` (Linux, Node). */
export * from './util/index.js';
export * as pcap from './pcap/index.js';
export * as cbpf from './cbpf/index.js';
export * as filter from './filter/index.js';
export * as decode from './decode/index.js';
export * as ebpf from './ebpf/index.js';
export * as elf from './elf/index.js';
export { compileFilter, type CompileFilterOptions, type FilterProgram } from './filter/index.js';
