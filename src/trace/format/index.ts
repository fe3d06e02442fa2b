/** bpftrace's output, byte for byte: printf, values, maps and histograms, JSON, times, symbols, addresses (core layer: no Node APIs). */
export * from './value.js';
export * from './context.js';
export * from './printf.js';
export * from './print-value.js';
export * from './maps.js';
export * from './hist.js';
export * from './time.js';
export * from './net.js';
export * from './symbols.js';
export * from './output.js';
export * from './errno.js';
export * from './gfp.js';
