/** The probe side of `bpfkit trace`: probe specs and wildcards, tracefs formats, BTF types, uprobe targets, listings, attaching, symbols. */
export * from './errors.js';
export * from './spec.js';
export * from './tracefs.js';
export * from './kernel-btf.js';
export * from './btf-types.js';
export * from './catalog.js';
export * from './uprobe-targets.js';
export * from './symbolizer.js';
export * from './attach.js';
export * from './synthetic.js';
