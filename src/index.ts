/** bpfkit's public API: one namespace per layer. */
export * from './util/index.js';
