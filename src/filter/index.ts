/** The pcap-filter language: expressions to optimized classic BPF. */
export type * from './cfg.js';
