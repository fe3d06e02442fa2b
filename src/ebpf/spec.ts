/** Specs (plain data, no side effects) and the interface every backend's loaded objects share. */

import type { Insn } from './insn.js';

/** BPF_PROG_TYPE_* as in <linux/bpf.h>. */
export const ProgType = {
  BPF_PROG_TYPE_UNSPEC: 0, BPF_PROG_TYPE_SOCKET_FILTER: 1, BPF_PROG_TYPE_KPROBE: 2, BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4, BPF_PROG_TYPE_TRACEPOINT: 5, BPF_PROG_TYPE_XDP: 6, BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8, BPF_PROG_TYPE_CGROUP_SOCK: 9, BPF_PROG_TYPE_LWT_IN: 10, BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12, BPF_PROG_TYPE_SOCK_OPS: 13, BPF_PROG_TYPE_SK_SKB: 14, BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16, BPF_PROG_TYPE_RAW_TRACEPOINT: 17, BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19, BPF_PROG_TYPE_LIRC_MODE2: 20, BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22, BPF_PROG_TYPE_CGROUP_SYSCTL: 23, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25, BPF_PROG_TYPE_TRACING: 26, BPF_PROG_TYPE_STRUCT_OPS: 27, BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29, BPF_PROG_TYPE_SK_LOOKUP: 30, BPF_PROG_TYPE_SYSCALL: 31, BPF_PROG_TYPE_NETFILTER: 32,
} as const;
export type ProgType = (typeof ProgType)[keyof typeof ProgType];

/** BPF_MAP_TYPE_* as in <linux/bpf.h>. */
export const MapType = {
  BPF_MAP_TYPE_UNSPEC: 0, BPF_MAP_TYPE_HASH: 1, BPF_MAP_TYPE_ARRAY: 2, BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4, BPF_MAP_TYPE_PERCPU_HASH: 5, BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7, BPF_MAP_TYPE_CGROUP_ARRAY: 8, BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10, BPF_MAP_TYPE_LPM_TRIE: 11, BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13, BPF_MAP_TYPE_DEVMAP: 14, BPF_MAP_TYPE_SOCKMAP: 15, BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17, BPF_MAP_TYPE_SOCKHASH: 18, BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21, BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23, BPF_MAP_TYPE_SK_STORAGE: 24, BPF_MAP_TYPE_DEVMAP_HASH: 25, BPF_MAP_TYPE_STRUCT_OPS: 26,
  BPF_MAP_TYPE_RINGBUF: 27, BPF_MAP_TYPE_INODE_STORAGE: 28, BPF_MAP_TYPE_TASK_STORAGE: 29,
  BPF_MAP_TYPE_BLOOM_FILTER: 30, BPF_MAP_TYPE_USER_RINGBUF: 31, BPF_MAP_TYPE_CGRP_STORAGE: 32, BPF_MAP_TYPE_ARENA: 33,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

/** Map update flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** A map to be created: plain data. */
export interface MapSpec {
  name: string;
  type: MapType;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** For array/hash of maps: the spec every inner map must match. */
  innerMap?: MapSpec;
  /** `map_extra`: a bloom filter's number of hash functions (low 4 bits); 0 elsewhere. */
  mapExtra?: number;
  /** Initial value of key 0 (global data maps `.data`/`.rodata` from an ELF object); whoever creates the map writes it. */
  initialValue?: Uint8Array;
  /** BTF type ids of the key and value in the object's BTF (libbpf passes them with the BTF fd at map creation; the VM ignores them). */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** Pinning requested by the object (`LIBBPF_PIN_BY_NAME` = 1). */
  pinning?: number;
  /** Slots initialised by the object (`.values = { [i] = &x }`): the map (map-in-map) or program (prog array) named `ref` goes at key `index`; whoever creates the map fills them. */
  initialRefs?: { index: number; ref: string }[];
}

/**
 * A program to be loaded: plain data. An `lddw` whose `ref` names a map in `maps`
 * (pseudo map fd / map value forms) is bound to that map at load time by whichever
 * backend loads the spec.
 */
export interface ProgramSpec {
  name: string;
  type: ProgType;
  insns: Insn[];
  license: string;
  /** Maps the program refers to, by name. */
  maps?: MapSpec[];
  expectedAttachType?: number;
  /** ELF section the program came from (`xdp`, `tracepoint/syscalls/sys_enter_openat`...). */
  sectionName?: string;
  /** What to attach to, from the section name (`syscalls/sys_enter_openat`, a kernel function...); empty when none. */
  attachTo?: string;
  /** Source lines from BTF.ext line info, by instruction index (in slots, as jump offsets count). */
  lineInfo?: { insn: number; fileName: string; line: string; lineNum: number; column: number; fileNameOff?: number; lineOff?: number }[];
  /** BTF FUNC type ids of the functions in the program, by the slot where each starts. */
  funcInfo?: { insn: number; typeId: number }[];
  /** False for a program whose section starts with `?` (libbpf's convention): a collection loads it only when asked by name. */
  autoload?: boolean;
}

/** Input of a test run, as BPF_PROG_TEST_RUN takes it. */
export interface TestRunOptions {
  /** Packet data (socket filter, tc, XDP). */
  data?: Uint8Array;
  /** Context bytes (`__sk_buff`, `xdp_md`, raw args), when the program type takes one in. */
  ctx?: Uint8Array;
  /** Runs the program this many times; the result is from the last run. */
  repeat?: number;
}

/** Output of a test run. */
export interface TestRunResult {
  /** r0 at exit, as the kernel reports it (low 32 bits). */
  retval: number;
  /** Packet data after the run (programs may rewrite or resize it). */
  dataOut: Uint8Array;
  /** Context after the run, when one went in. */
  ctxOut?: Uint8Array;
  /** Mean nanoseconds per run. */
  duration: number;
}

/** A loaded map: the same interface in the VM and in the kernel. Keys and values are raw bytes. */
export interface BpfMap {
  readonly spec: MapSpec;
  get(key: Uint8Array): Uint8Array | undefined;
  set(key: Uint8Array, value: Uint8Array, flags?: number): void;
  delete(key: Uint8Array): void;
  /** The key after `key` (the first key when `key` is undefined), or undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined;
  keys(): AsyncIterableIterator<Uint8Array>;
  entries(): AsyncIterableIterator<[Uint8Array, Uint8Array]>;
  close(): void;
  [Symbol.dispose](): void;
}

/** A loaded program: the same interface in the VM and in the kernel. */
export interface BpfProgram {
  readonly spec: ProgramSpec;
  testRun(options: TestRunOptions): TestRunResult | Promise<TestRunResult>;
  close(): void;
  [Symbol.dispose](): void;
}
