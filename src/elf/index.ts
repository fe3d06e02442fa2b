/** ELF64 + BTF + BTF.ext reading and the loader that turns a clang `-target bpf` object into specs. */
export * from './elf.js';
export * from './symbols.js';
export * from './btf.js';
export * from './btf-lazy.js';
export * from './btf-ext.js';
export * from './section-defs.js';
export * from './core.js';
export * from './loader.js';
export * from './btf-fixup.js';
export * from './collection.js';
export * from './inspect.js';
export * from './gen-types.js';
export * from './open-collection.js';
export * from './elf-error.js';
