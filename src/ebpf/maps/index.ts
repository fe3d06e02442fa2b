/** eBPF maps for the portable VM: `createMap` and one class per map family, with the kernel's semantics and errnos. */
export * from './errno.js';
export * from './common.js';
export * from './handles.js';
export * from './jhash.js';
export { ArrayMap, arrayKey, arrayIndex } from './array.js';
export { HashMap } from './hash.js';
export { LpmTrieMap, lpmKey } from './lpm-trie.js';
export { QueueStackMap } from './queue-stack.js';
export { BloomFilterMap } from './bloom-filter.js';
export * from './ringbuf.js';
export {
  ArrayOfMapsMap, HashOfMapsMap, PerfEventArrayMap, PerfEventBuffer, ProgArrayMap, innerMapCompatible,
  BPF_F_CURRENT_CPU, BPF_F_CTXLEN_MASK, BPF_F_INDEX_MASK, type PerfSample, type TailCallTarget,
} from './fd-maps.js';
export { createMap, VM_MAP_TYPES } from './create.js';
