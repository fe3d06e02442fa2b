/** The pcap-filter language: expressions to optimized classic BPF. */
export type * from './cfg.js';
export { emit, conversionOrder, isGoto } from './emit.js';
export { cfgFromProgram, gotoTerm } from './cfg-from-program.js';
