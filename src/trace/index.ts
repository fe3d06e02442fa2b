/** `bpfkit/trace`: the trace language from TypeScript (attach, typed maps and events, the VM). */
export * from './api.js';
