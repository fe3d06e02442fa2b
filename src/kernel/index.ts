/** The Linux backend: bpf() and friends through one FFI seam, kernel maps and programs, probes, sockets, seccomp. */
export * from './sys.js';
export * from './fake-sys.js';
export * from './attr.js';
export * from './attach-type.js';
export * from './map.js';
export * from './program.js';
export * from './verifier-error.js';
export * from './probe.js';
export * from './kernel.js';
export * from './socket-filter.js';
export * from './capture.js';
export * from './syscalls.js';
export * from './seccomp.js';
export * from './ringbuf.js';
export * from './perfbuf.js';
export * from './links/index.js';
export * from './usdt-notes.js';
