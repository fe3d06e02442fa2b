/** Attach mechanisms, one file each: raw tracepoints, tracepoints, XDP and tcx. */
export * from './link.js';
export * from './raw-tracepoint.js';
export * from './tracepoint.js';
export * from './netdev.js';
export * from './perf-event.js';
export * from './uprobe.js';
export * from './kprobe.js';
export * from './fentry.js';
export * from './cgroup.js';
export * from './usdt.js';
export * from './tp-btf.js';
