/** Utilities every layer may use: typed errors and byte helpers. */
export * from './errors.js';
export * from './bytes.js';
