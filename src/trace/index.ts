/** The trace language (bpftrace's), compiled by bpfkit: the browser-safe core, and bcc-style attach/until/maps over the kernel runtime (Node). */
export * from './core.js';
// bpfkit/trace's library API: compile/attach/until, typed maps and events, the same program in the VM.
export * from './api.js';
