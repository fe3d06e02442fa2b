/** eBPF maps for the portable VM: `createMap` and one class per map family, with the kernel's semantics and errnos. */
export { MapErrno, MapError, errnoNameOf, negErrno, type MapErrnoName } from './errno.js';
export { BPF_F_ACCESS_MASK, MapFlags, VmMapBase, type ForEachCallback, type MapOptions, type VmMap } from './common.js';
export { handleOf, objectOfHandle, releaseHandle } from './handles.js';
export { jhash, jhash2 } from './jhash.js';
export { ArrayMap, arrayKey, arrayIndex } from './array.js';
export { HashMap } from './hash.js';
export { LpmTrieMap, lpmKey } from './lpm-trie.js';
export { QueueStackMap } from './queue-stack.js';
export { BloomFilterMap } from './bloom-filter.js';
export {
  BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ,
  RingbufMap, RingbufQuery, type RingbufRecord,
} from './ringbuf.js';
export {
  ArrayOfMapsMap, HashOfMapsMap, PerfEventArrayMap, PerfEventBuffer, ProgArrayMap, innerMapCompatible,
  BPF_F_CURRENT_CPU, BPF_F_CTXLEN_MASK, BPF_F_INDEX_MASK, type PerfSample, type TailCallTarget,
} from './fd-maps.js';
export { createMap, VM_MAP_TYPES } from './create.js';
