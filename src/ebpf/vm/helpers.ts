/** The VM's helper functions: a table keyed by the kernel's helper id, each a small function over the run's memory, maps and host. */

import { handleOf, objectOfHandle } from '../maps/index.js';
import type { MapSpec } from '../spec.js';
import type { Engine } from './engine.js';
import { helperIdOf } from '../verifier/helper-protos.js';
import { FUNC_PTR_TAG, FaultKind, Layout, MAP_HANDLE_TAG, MAX_CALL_DEPTH, type VmMemory, makeFault, pointer } from './memory.js';
import { NET_HELPERS, isFullSock, type HostSocket, type SocketTuple } from './helpers-net.js';
import { TRACING_HELPERS } from './tracing-helpers.js';

/**
 * The program side of a VM map, as the maps area's `VmMap` offers it: lookups return a live
 * view of the stored value, updates return 0 or a negative errno. Ring buffers add
 * `output`/`reserve`/`submit`/...; program arrays hold programs for `bpf_tail_call`.
 */
export interface VmMapLike {
  readonly spec: MapSpec;
  lookupElem(key: Uint8Array, cpu?: number): Uint8Array | undefined;
  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu?: number): number;
  deleteElem(key: Uint8Array, cpu?: number): number;
  pushElem?(value: Uint8Array, flags: number): number;
  popElem?(out: Uint8Array): number;
  peekElem?(out: Uint8Array): number;
  forEachElem?(callback: (key: Uint8Array, value: Uint8Array) => number, flags?: number, cpu?: number): number;
  /** Ring buffer `bpf_ringbuf_output`, perf event array `bpf_perf_event_output` (with the CPU). */
  output?(data: Uint8Array, flags: number, cpu?: number): number;
  reserve?(size: number, flags: number): Uint8Array | undefined;
  submit?(record: Uint8Array, flags: number): void;
  discard?(record: Uint8Array, flags: number): void;
  query?(flags: number): bigint;
  /** Program arrays: the tail-call target at `index`. */
  program?(index: number): object | undefined;
  /** Arrays and hashes of maps: the inner map `bpf_map_lookup_elem` gives the program. */
  lookupInner?(key: Uint8Array): VmMapLike | undefined;
}

/** The task a tracing program sees as "current" (`bpf_get_current_*`). */
export interface VmTask {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  comm: string;
  /** The `struct task_struct *` `bpf_get_current_task` returns (memory behind it comes from `readMemory`). */
  taskAddr?: bigint;
  /** cgroup v2 id (`bpf_get_current_cgroup_id`), and ancestors' ids by level. */
  cgroupId?: bigint;
  cgroupAncestors?: readonly bigint[];
  /** A kernel thread: `bpf_send_signal`/`probe_write_user` refuse (-EPERM). */
  kernelThread?: boolean;
  /** The task's pid namespace (`bpf_get_ns_current_pid_tgid`): its device and inode, and the ids in it. */
  pidNamespace?: { dev: bigint; ino: bigint; pid: number; tgid: number };
}

/** What the host supplies to helpers; every field is optional and has a neutral default. */
export interface VmHost {
  task?: VmTask;
  /** Monotonic nanoseconds (`bpf_ktime_get_ns`); defaults to a clock from `performance.now()` or `Date.now()`. */
  now?(): bigint;
  /** Nanoseconds since boot (`bpf_ktime_get_boot_ns`); defaults to `now()`. */
  bootNow?(): bigint;
  /** A random u32 (`bpf_get_prandom_u32`); defaults to Math.random. */
  random?(): number;
  /** The CPU a run claims to be on. */
  cpu?: number;
  /** Memory that `bpf_probe_read_*` reads: `len` bytes at `address`, or undefined when unmapped (-EFAULT). */
  readMemory?(address: bigint, len: number, space: 'kernel' | 'user'): Uint8Array | undefined;
  /** A line of `bpf_trace_printk` output (without the trailing newline). */
  tracePrintk?(line: string): void;
  /** A record of `bpf_perf_event_output`. */
  perfOutput?(map: string, cpu: number, data: Uint8Array): void;
  /** `bpf_get_current_task`: the task's kernel address (default a fixed non-zero one); probe reads of it go to `readMemory`. */
  currentTask?: bigint;
  /** `bpf_sk_lookup_tcp/udp`, `bpf_skc_lookup_tcp`: the socket a tuple finds (`listeners`: skc lookups also return request/timewait sockets); none means NULL. */
  lookupSocket?(tuple: SocketTuple, how: { listeners: boolean }): HostSocket | undefined;
  /** Seed of `bpf_get_hash_recalc`'s flow hash (the kernel's is random per boot). */
  hashSeed?: number;
  /** `bpf_get_cgroup_classid`: the net_cls class id of the sending task's cgroup (default 0, as on cgroup v2). */
  cgroupClassid?: number;
  /** `bpf_probe_write_user`: store `bytes` at `address`; false when unmapped (-EFAULT). */
  writeMemory?(address: bigint, bytes: Uint8Array, space: 'user'): boolean;
  /** The stack `bpf_get_stack` walks, innermost frame first (kernel or user); undefined: none (-EFAULT). */
  stack?(user: boolean): readonly bigint[] | undefined;
  /** A signal sent by `bpf_send_signal` (process) or `bpf_send_signal_thread`. */
  sendSignal?(sig: number, thread: boolean): void;
  /** `bpf_jiffies64`; by default derived from the boot clock at `hz` (CONFIG_HZ, default 250). */
  jiffies?(): bigint;
  hz?: number;
  /** `bpf_ktime_get_tai_ns`; defaults to the boot clock. */
  taiNow?(): bigint;
  /** `bpf_get_numa_node_id` (default 0). */
  numaNode?: number;
  /** `bpf_get_func_ip`: the probed function's address. */
  funcIp?: bigint;
  /** `bpf_get_attach_cookie`. */
  attachCookie?: bigint;
}

/** Packet state of network program types (socket filter, tc, XDP): what packet helpers rewrite. */
export interface PacketState {
  /** Bytes before the data (headroom, XDP metadata) and the data; `data` starts at `start`, metadata at `meta`. */
  buf: Uint8Array;
  meta: number;
  start: number;
  end: number;
  /** Re-points packet pointers after a resize: a new packet region is made, as the kernel invalidates old pointers. */
  changed(): void;
  /** True for XDP (adjust_head/tail/meta), false for skb programs. */
  xdp: boolean;
  /** Bytes from `start` to where `skb->data` points in the run (14 for socket filters and cgroup_skb: the network header); 0 when absent. */
  dataAt?: number;
  /** Where the network header starts for `BPF_HDR_START_NET`. */
  netOffset: number;
  /** Redirect target chosen by `bpf_redirect`/`bpf_redirect_map`. */
  redirect?: { ifindex: number; flags: number; map?: string };
  /** skb programs: `skb->pkt_type` (PACKET_HOST, _BROADCAST, _MULTICAST, _OTHERHOST...). */
  pktType?: { get(): number; set(type: number): void };
  /** skb programs: `skb->tstamp` and its clock (`__sk_buff.tstamp`, `tstamp_type`). */
  tstamp?: { set(ns: bigint, type: number): void };
  /** skb programs: the hardware-accelerated VLAN tag (`__sk_buff.vlan_*`) and `skb->protocol`, for bpf_skb_vlan_push/pop. */
  vlan?: {
    get(): { present: boolean; tci: number; proto: number };
    set(tag: { present: boolean; tci: number; proto: number }): void;
    setProtocol(ethertype: number): void;
    /** skb->protocol as an ethertype. */
    protocol(): number;
  };
}

/** Everything a helper may touch during one run. */
export interface HelperEnv {
  readonly mem: VmMemory;
  readonly maps: readonly VmMapLike[];
  readonly host: VmHost;
  readonly engine: Engine;
  readonly packet: PacketState | undefined;
  /** The calling instruction's slot (for fault positions). */
  pc: number;
  /** Requests a tail call into program `index` of a program array; false when there is none (the call then falls through). */
  tailCall(map: VmMapLike, index: number): boolean;
  /** Trace lines printed so far in this run. */
  readonly trace: string[];
  /** Ring buffer records reserved and not yet submitted, by the pointer the program holds. */
  readonly records: Map<bigint, { map: VmMapLike; rec: Uint8Array }>;
  /** bpf_sk_storage_get's storage made in this run, by map handle and socket pointer (it lives as long as the run's sockets). */
  readonly skStorage: Map<string, bigint>;
}

/** A helper: r1..r5 in, r0 out. */
export type HelperFn = (env: HelperEnv, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint;

/** One entry of the helper table. */
export interface HelperDef {
  readonly id: number;
  readonly name: string;
  readonly fn: HelperFn;
}

/** sizeof(struct xdp_frame) on x86-64: headroom bpf_xdp_adjust_head must leave. */
const XDP_FRAME_SIZE = 40;
/** bpf_redirect_map's BPF_F_BROADCAST. */
const BPF_F_BROADCAST = 8n;
const EINVAL = -22n, ENOENT = -2n, EFAULT = -14n, E2BIG = -7n;

/**
 * Map handles with this bit name an inner map (from a map of maps) by its maps-area handle
 * rather than by its index in the program's maps: inner maps change between lookups.
 */
const INNER_MAP_BIT = 0x80000000n;

function mapOf(env: HelperEnv, handle: bigint): VmMapLike {
  const idx = Number(handle & 0x7fffffffn);
  if ((handle & ~0xffffffffn) === MAP_HANDLE_TAG && handle & INNER_MAP_BIT) {
    const inner = objectOfHandle(idx) as Partial<VmMapLike> | undefined;
    if (inner && typeof inner.lookupElem === 'function' && inner.spec) return inner as VmMapLike;
  } else if ((handle & ~0xffffffffn) === MAP_HANDLE_TAG && idx < env.maps.length) {
    return env.maps[idx];
  }
  throw makeFault(FaultKind.BAD_POINTER, env.pc, handle, 0, env.mem.names);
}

function mapName(m: VmMapLike): string {
  return `map ${m.spec.name}`;
}

function lookup(env: HelperEnv, r1: bigint, r2: bigint): bigint {
  const m = mapOf(env, r1);
  const key = env.mem.read(r2, m.spec.keySize, env.pc);
  if (m.lookupInner) {
    // A map of maps gives the inner map itself, which the program passes on to map helpers.
    const inner = m.lookupInner(key);
    return inner ? MAP_HANDLE_TAG | INNER_MAP_BIT | BigInt(handleOf(inner)) : 0n;
  }
  const view = m.lookupElem(key, env.host.cpu ?? 0);
  if (!view) return 0n;
  const ro = ((m.spec.flags ?? 0) & 0x80) !== 0; // BPF_F_RDONLY_PROG
  return env.mem.mirror(view, !ro, `${mapName(m)} value`, env.pc, env.maps.indexOf(m));
}

function negErr(n: number | bigint): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

let clockBase: bigint | undefined;
function defaultNow(): bigint {
  const perf = (globalThis as { performance?: { now(): number; timeOrigin?: number } }).performance;
  if (perf) {
    const ms = perf.now() + (perf.timeOrigin ?? 0);
    return BigInt(Math.floor(ms * 1e6));
  }
  clockBase ??= BigInt(Date.now()) * 1_000_000n;
  return clockBase;
}

/** Reads a NUL-terminated string at `ptr` (at most `max` bytes), without the NUL. */
function readCString(env: HelperEnv, ptr: bigint, max: number): Uint8Array {
  const n = Math.min(max, env.mem.readableFrom(ptr));
  const bytes = env.mem.read(ptr, n, env.pc);
  const z = bytes.indexOf(0);
  return z < 0 ? bytes : bytes.subarray(0, z);
}

/** Bytes to text, one char per byte (the core has no TextDecoder; BPF strings are ASCII). */
const text = { decode: (b: Uint8Array): string => { let s = ''; for (const c of b) s += String.fromCharCode(c); return s; } };
/** Text to bytes, one byte per char. */
function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Formats as the kernel's bstr_printf does for the subset BPF allows: %d %i %u %x %X %ld %lld %lu %llu %lx %llx %p %s %c %%. */
function format(env: HelperEnv, fmt: string, args: readonly bigint[]): string {
  let k = 0;
  return fmt.replace(/%(-?\d*)(l{0,2}|h{0,2}|z?)([diuxXpsc%])/g, (_m, width: string, len: string, conv: string) => {
    if (conv === '%') return '%';
    const a = args[k++] ?? 0n;
    let s: string;
    const wide = len === 'l' || len === 'll' || len === 'z';
    switch (conv) {
      case 'd': case 'i': s = (wide ? BigInt.asIntN(64, a) : BigInt.asIntN(32, a)).toString(); break;
      case 'u': s = (wide ? BigInt.asUintN(64, a) : BigInt.asUintN(32, a)).toString(); break;
      case 'x': s = (wide ? BigInt.asUintN(64, a) : BigInt.asUintN(32, a)).toString(16); break;
      case 'X': s = (wide ? BigInt.asUintN(64, a) : BigInt.asUintN(32, a)).toString(16).toUpperCase(); break;
      case 'p': s = '0x' + BigInt.asUintN(64, a).toString(16); break;
      case 'c': s = String.fromCharCode(Number(a & 0xffn)); break;
      default: s = text.decode(readCString(env, a, 4096)); break; // %s
    }
    const w = parseInt(width || '0', 10);
    return w < 0 ? s.padEnd(-w) : s.padStart(w);
  });
}

function probeRead(space: 'kernel' | 'user', str: boolean): HelperFn {
  return (env, dst, size, src) => {
    const n = Number(size & 0xffffffffn);
    // The program's own memory (its stack, map values) is kernel memory too: bpf_probe_read_kernel of it reads it.
    const own = space === 'kernel' ? env.mem.readableFrom(src) : 0;
    const got = env.host.readMemory?.(src, n, space) ?? (own >= n || (str && own > 0) ? env.mem.read(src, Math.min(n, own), env.pc) : undefined);
    if (!got) {
      env.mem.write(dst, new Uint8Array(n), env.pc);
      return EFAULT;
    }
    if (!str) {
      env.mem.write(dst, got.subarray(0, n), env.pc);
      return 0n;
    }
    if (n === 0) return 0n;
    const z = got.indexOf(0);
    const len = Math.min(z < 0 ? got.length : z, n - 1);
    const out = new Uint8Array(len + 1);
    out.set(got.subarray(0, len));
    env.mem.write(dst, out, env.pc);
    return BigInt(len + 1);
  };
}

function pkt(env: HelperEnv): PacketState {
  if (!env.packet) throw makeFault(FaultKind.HELPER, env.pc, 0n);
  return env.packet;
}

/** 32-bit ones'-complement addition (csum_add). */
function add32(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return (s > 0xffffffff ? s - 0xffffffff : s) >>> 0;
}

/** csum_fold: a 32-bit partial sum to the 16-bit checksum. */
function csumFold(sum: number): number {
  let s = sum >>> 0;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * `bpf_l3_csum_replace` / `bpf_l4_csum_replace` on an skb without checksum offload: the 16-bit
 * checksum at packet offset `off` is updated for `from` → `to` (csum_replace2/4), or by a
 * precomputed diff when the size is 0. Values are as the program loaded them (host order of
 * the packet bytes), as in the kernel.
 */
function csumReplace(env: HelperEnv, off: number, from: bigint, to: bigint, flags: number, l4: boolean): bigint {
  const p = pkt(env);
  const size = flags & 0xf;
  const at = p.start + off;
  if (off < 0 || at + 2 > p.end || (size !== 0 && size !== 2 && size !== 4)) return size > 4 ? EINVAL : EFAULT;
  const old = p.buf[at] | (p.buf[at + 1] << 8);
  // BPF_F_MARK_MANGLED_0: a zero UDP checksum means "none" and stays untouched.
  if (l4 && (flags & 0x20) && old === 0) return 0n;
  const f = Number(from & 0xffffffffn), t = Number(to & 0xffffffffn);
  let res: number;
  if (size === 0) res = csumFold(add32(t, ~old));
  else if (size === 4) res = csumFold(add32(add32(~old, ~f), t));
  else res = csumFold(add32(add32(~old & 0xffff, ~f & 0xffff), t & 0xffff));
  if (l4 && (flags & 0x20) && res === 0) res = 0xffff; // CSUM_MANGLED_0
  p.buf[at] = res & 0xff;
  p.buf[at + 1] = res >> 8;
  return 0n;
}

/** A table row's id and name: the VM's helpers take both from the verifier's prototype table, so the two never disagree. */
function proto(name: string): { id: number; name: string } {
  return { id: helperIdOf(name), name };
}

/** The helpers, by kernel id (names as in enum bpf_func_id without the `bpf_` prefix). */
export const HELPERS: readonly HelperDef[] = [
  { ...proto('map_lookup_elem'), fn: (env, r1, r2) => lookup(env, r1, r2) },
  { ...proto('map_update_elem'), fn: (env, r1, r2, r3, r4) => {
    const m = mapOf(env, r1);
    const key = env.mem.read(r2, m.spec.keySize, env.pc);
    const value = env.mem.read(r3, m.spec.valueSize, env.pc);
    const r = m.updateElem(key, value, Number(r4 & 0xffffffffn), env.host.cpu ?? 0);
    // A pointer the program holds to this key's value sees the new bytes (array maps update in place).
    if (r === 0) {
      const idx = env.maps.indexOf(m);
      if (LRU_TYPES.has(m.spec.type)) env.mem.reload(idx); // a lookup would touch the LRU order
      else {
        const view = m.lookupElem(key, env.host.cpu ?? 0);
        if (view) env.mem.reloadView(view);
      }
    }
    return negErr(r);
  } },
  { ...proto('map_delete_elem'), fn: (env, r1, r2) => {
    const m = mapOf(env, r1);
    return negErr(m.deleteElem(env.mem.read(r2, m.spec.keySize, env.pc), env.host.cpu ?? 0));
  } },
  { ...proto('probe_read'), fn: probeRead('kernel', false) },
  { ...proto('ktime_get_ns'), fn: (env) => (env.host.now ?? defaultNow)() },
  { ...proto('trace_printk'), fn: (env, r1, r2, r3, r4, r5) => {
    const fmt = text.decode(env.mem.read(r1, Number(r2 & 0xffffffffn), env.pc)).replace(/\0.*$/s, '');
    const line = format(env, fmt, [r3, r4, r5]).replace(/\n$/, '');
    env.trace.push(line);
    env.host.tracePrintk?.(line);
    return BigInt(line.length + 1);
  } },
  { ...proto('get_prandom_u32'), fn: (env) => BigInt((env.host.random?.() ?? Math.floor(Math.random() * 0x100000000)) >>> 0) },
  { ...proto('get_smp_processor_id'), fn: (env) => BigInt(env.host.cpu ?? 0) },
  { ...proto('skb_store_bytes'), fn: (env, _ctx, off, from, len) => {
    const p = pkt(env);
    const o = Number(BigInt.asIntN(32, off)), n = Number(len & 0xffffffffn);
    if (o < 0 || p.start + o + n > p.end) return EFAULT;
    p.buf.set(env.mem.read(from, n, env.pc), p.start + o);
    return 0n;
  } },
  { ...proto('l3_csum_replace'), fn: (env, _ctx, off, from, to, flags) => csumReplace(env, Number(off & 0xffffffffn), from, to, Number(flags & 0xffn), false) },
  { ...proto('l4_csum_replace'), fn: (env, _ctx, off, from, to, flags) => csumReplace(env, Number(off & 0xffffffffn), from, to, Number(flags & 0xffn), true) },
  { ...proto('tail_call'), fn: (env, _ctx, r2, r3) => {
    const m = mapOf(env, r2);
    return env.tailCall(m, Number(r3 & 0xffffffffn)) ? 0n : negErr(ENOENT);
  } },
  { ...proto('get_current_pid_tgid'), fn: (env) => {
    const t = env.host.task;
    return t ? (BigInt(t.tgid >>> 0) << 32n) | BigInt(t.pid >>> 0) : 0n;
  } },
  { ...proto('get_current_uid_gid'), fn: (env) => {
    const t = env.host.task;
    return t ? (BigInt(t.gid >>> 0) << 32n) | BigInt(t.uid >>> 0) : 0n;
  } },
  { ...proto('get_current_comm'), fn: (env, buf, size) => {
    const n = Number(size & 0xffffffffn);
    const out = new Uint8Array(n);
    const comm = ascii(env.host.task?.comm ?? '');
    out.set(comm.subarray(0, Math.max(0, n - 1)));
    env.mem.write(buf, out, env.pc);
    return env.host.task ? 0n : negErr(EINVAL);
  } },
  { ...proto('redirect'), fn: (env, ifindex, flags) => {
    const p = pkt(env);
    p.redirect = { ifindex: Number(ifindex & 0xffffffffn), flags: Number(flags & 0xffffffffn) };
    return p.xdp ? 4n : 7n; // XDP_REDIRECT, TC_ACT_REDIRECT
  } },
  { ...proto('perf_event_output'), fn: (env, _ctx, map, flags, data, size) => {
    const m = mapOf(env, map);
    const bytes = env.mem.read(data, Number(size & 0xffffffffn), env.pc);
    const cpu = env.host.cpu ?? 0;
    const idx = Number(flags & 0xffffffffn);
    env.host.perfOutput?.(m.spec.name, idx === 0xffffffff ? cpu : idx, bytes);
    return m.output ? negErr(m.output(bytes, Number(flags), cpu)) : 0n;
  } },
  { ...proto('skb_load_bytes'), fn: (env, _ctx, off, to, len) => {
    const p = pkt(env);
    const o = Number(BigInt.asIntN(32, off)), n = Number(len & 0xffffffffn);
    const d = p.start + (p.dataAt ?? 0); // skb->data
    if (o < 0 || d + o + n > p.end) { env.mem.write(to, new Uint8Array(n), env.pc); return EFAULT; }
    env.mem.write(to, p.buf.slice(d + o, d + o + n), env.pc);
    return 0n;
  } },
  { ...proto('csum_diff'), fn: (env, from, fromSize, to, toSize, seed) => {
    const fs = Number(fromSize & 0xffffffffn), ts = Number(toSize & 0xffffffffn);
    if (fs % 4 || ts % 4) return EINVAL;
    const f = env.mem.read(from, fs, env.pc), t = env.mem.read(to, ts, env.pc);
    // Since Linux 6.13 the same on every arch: csum_sub(partial(to, seed), partial(from)) when diffing, partial(to, seed)
    // when pushing, ~partial(from, ~seed) when pulling, folded to 16 bits (csum_from32to16, no complement).
    const word = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
    const partial = (b: Uint8Array, n: number, init: number): number => {
      let sum = init >>> 0;
      for (let i = 0; i < n; i += 4) sum = add32(sum, word(b, i));
      return sum;
    };
    let ret = Number(seed & 0xffffffffn);
    if (fs && ts) ret = add32(partial(t, ts, ret), ~partial(f, fs, 0) >>> 0);
    else if (ts) ret = partial(t, ts, ret);
    else if (fs) ret = ~partial(f, fs, ~ret >>> 0) >>> 0;
    ret = (ret & 0xffff) + (ret >>> 16);
    return BigInt((ret & 0xffff) + (ret >>> 16));
  } },
  { ...proto('xdp_adjust_head'), fn: (env, _ctx, delta) => {
    const p = pkt(env);
    const start = p.start + Number(BigInt.asIntN(32, delta));
    const metaLen = p.start - p.meta;
    // The kernel keeps room for struct xdp_frame at the head and an Ethernet header in the data.
    if (!p.xdp || start - metaLen < XDP_FRAME_SIZE || start > p.end - 14) return EINVAL;
    p.start = start;
    p.meta = start - metaLen;
    p.changed();
    return 0n;
  } },
  { ...proto('probe_read_str'), fn: probeRead('kernel', true) },
  { ...proto('redirect_map'), fn: (env, map, key, flags) => {
    const m = mapOf(env, map);
    const p = pkt(env);
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, Number(key & 0xffffffffn), true);
    const v = m.lookupElem(k);
    // The low bits give the fallback action; BPF_F_BROADCAST (devmaps) redirects to every entry, none included.
    if (!v && (flags & BPF_F_BROADCAST) === 0n) return flags & 3n;
    if (!v) {
      p.redirect = { ifindex: 0, flags: Number(flags & 0xffffffffn), map: m.spec.name };
      return 4n;
    }
    p.redirect = { ifindex: v.length >= 4 ? new DataView(v.buffer, v.byteOffset).getUint32(0, true) : 0, flags: 0, map: m.spec.name };
    return 4n; // XDP_REDIRECT
  } },
  { ...proto('xdp_adjust_meta'), fn: (env, _ctx, delta) => {
    const p = pkt(env);
    const meta = p.meta + Number(BigInt.asIntN(32, delta));
    if (!p.xdp || meta > p.start || meta < 0 || p.start - meta > 32 || (p.start - meta) % 4) return EINVAL;
    p.meta = meta;
    p.changed();
    return 0n;
  } },
  { ...proto('xdp_adjust_tail'), fn: (env, _ctx, delta) => {
    const p = pkt(env);
    const end = p.end + Number(BigInt.asIntN(32, delta));
    if (!p.xdp || end < p.start + 14 || end > p.buf.length) return EINVAL;
    if (end > p.end) p.buf.fill(0, p.end, end);
    p.end = end;
    p.changed();
    return 0n;
  } },
  { ...proto('skb_load_bytes_relative'), fn: (env, _ctx, off, to, len, hdr) => {
    const p = pkt(env);
    const base = hdr === 0n ? 0 : hdr === 1n ? p.netOffset : -1;
    const o = Number(BigInt.asIntN(32, off)), n = Number(len & 0xffffffffn);
    if (base < 0 || o < 0 || p.start + base + o + n > p.end) { env.mem.write(to, new Uint8Array(n), env.pc); return base < 0 ? EINVAL : EFAULT; }
    env.mem.write(to, p.buf.slice(p.start + base + o, p.start + base + o + n), env.pc);
    return 0n;
  } },
  { ...proto('map_push_elem'), fn: (env, map, value, flags) => {
    const m = mapOf(env, map);
    if (!m.pushElem) return EINVAL;
    return negErr(m.pushElem(env.mem.read(value, m.spec.valueSize, env.pc), Number(flags & 0xffffffffn)));
  } },
  { ...proto('map_pop_elem'), fn: (env, map, value) => {
    const m = mapOf(env, map);
    if (!m.popElem) return EINVAL;
    const out = new Uint8Array(m.spec.valueSize);
    const r = m.popElem(out);
    env.mem.write(value, out, env.pc);
    return negErr(r);
  } },
  { ...proto('map_peek_elem'), fn: (env, map, value) => {
    const m = mapOf(env, map);
    if (!m.peekElem) return EINVAL;
    const out = env.mem.read(value, m.spec.valueSize, env.pc);
    const r = m.peekElem(out);
    env.mem.write(value, out, env.pc);
    return negErr(r);
  } },
  { ...proto('probe_read_user'), fn: probeRead('user', false) },
  { ...proto('probe_read_kernel'), fn: probeRead('kernel', false) },
  { ...proto('probe_read_user_str'), fn: probeRead('user', true) },
  { ...proto('probe_read_kernel_str'), fn: probeRead('kernel', true) },
  { ...proto('ktime_get_boot_ns'), fn: (env) => (env.host.bootNow ?? env.host.now ?? defaultNow)() },
  { ...proto('ringbuf_output'), fn: (env, map, data, size, flags) => {
    const m = mapOf(env, map);
    if (!m.output) return EINVAL;
    return negErr(m.output(env.mem.read(data, Number(size & 0xffffffffn), env.pc), Number(flags & 0xffffffffn)));
  } },
  { ...proto('ringbuf_reserve'), fn: (env, map, size, flags) => {
    const m = mapOf(env, map);
    const rec = m.reserve?.(Number(size & 0xffffffffn), Number(flags & 0xffffffffn));
    if (!rec) return 0n;
    const ptr = env.mem.mirror(rec, true, `${mapName(m)} record`, env.pc, env.maps.indexOf(m));
    env.records.set(ptr, { map: m, rec });
    return ptr;
  } },
  // Storage on a full socket (not TIME_WAIT or NEW_SYN_RECV), made on F_CREATE from *value or zeros. The VM's
  // sockets (the test run's, the host's lookups) live for one run, and their storage with them.
  { ...proto('sk_storage_get'), fn: (env, map, sk, value, flags) => {
    const m = mapOf(env, map);
    if (flags > 1n || sk === 0n || !isFullSock(env, sk)) return 0n;
    const key = `${map}:${sk}`;
    const have = env.skStorage.get(key);
    if (have !== undefined || flags !== 1n) return have ?? 0n;
    const init = value === 0n ? new Uint8Array(m.spec.valueSize) : env.mem.read(value, m.spec.valueSize, env.pc).slice();
    const ptr = env.mem.addBytes(init, true, `${mapName(m)} sk storage`, env.pc);
    env.skStorage.set(key, ptr);
    return ptr;
  } },
  { ...proto('ringbuf_submit'), fn: (env, data, flags) => ringbufDone(env, data, flags, true) },
  { ...proto('ringbuf_discard'), fn: (env, data, flags) => ringbufDone(env, data, flags, false) },
  { ...proto('ringbuf_query'), fn: (env, map, flags) => mapOf(env, map).query?.(Number(flags & 0xffffffffn)) ?? 0n },
  { ...proto('ktime_get_coarse_ns'), fn: (env) => {
    const t = (env.host.now ?? defaultNow)();
    return t - (t % 4_000_000n); // jiffy granularity (HZ=250)
  } },
  { ...proto('for_each_map_elem'), fn: (env, map, cb, cbCtx, flags) => {
    const m = mapOf(env, map);
    if (!m.forEachElem) return EINVAL;
    const entry = funcEntry(env, cb);
    const idx = env.maps.indexOf(m);
    env.mem.flush(idx); // the callback's copies start from what the program wrote
    // One key region and one value region serve every element (the value is written back after each callback).
    const keyBuf = env.mem.alloc(m.spec.keySize, env.pc);
    const keyPtr = pointer(env.mem.addRegion(keyBuf, m.spec.keySize, false, 'for_each key', env.pc), 0);
    const valueBuf = env.mem.alloc(m.spec.valueSize, env.pc);
    const writable = ((m.spec.flags ?? 0) & 0x80) === 0;
    const valuePtr = pointer(env.mem.addRegion(valueBuf, m.spec.valueSize, writable, `${mapName(m)} value`, env.pc), 0);
    const n = m.forEachElem((key, value) => {
      env.mem.u8.set(key, keyBuf);
      env.mem.u8.set(value, valueBuf);
      const r = invoke(env, entry, [map, keyPtr, valuePtr, cbCtx]);
      if (writable) value.set(env.mem.u8.subarray(valueBuf, valueBuf + value.length));
      return stopped(env) ? 1 : Number(r & 1n);
    }, Number(flags & 0xffffffffn), env.host.cpu ?? 0);
    env.mem.reload(idx); // pointers the program holds into this map see what the callbacks wrote
    return negErr(n);
  } },
  { ...proto('snprintf'), fn: (env, str, size, fmt, data, dataLen) => {
    const f = text.decode(readCString(env, fmt, 4096));
    const n = Number(dataLen & 0xffffffffn);
    if (n % 8 || n > 8 * 12) return EINVAL;
    const raw = env.mem.read(data, n, env.pc);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const args: bigint[] = [];
    for (let i = 0; i < n; i += 8) args.push(dv.getBigUint64(i, true));
    const out = ascii(format(env, f, args));
    const cap = Number(size & 0xffffffffn);
    if (cap > 0) {
      const w = new Uint8Array(Math.min(cap, out.length + 1));
      w.set(out.subarray(0, w.length - 1));
      env.mem.write(str, w, env.pc);
    }
    return BigInt(out.length + 1);
  } },
  { ...proto('loop'), fn: (env, nr, cb, cbCtx, flags) => {
    if (flags !== 0n) return EINVAL;
    const n = Number(nr & 0xffffffffn);
    if (n > 1 << 23) return E2BIG;
    const entry = funcEntry(env, cb);
    let i = 0;
    for (; i < n; i++) {
      const r = invoke(env, entry, [BigInt(i), cbCtx]);
      if (stopped(env)) return 0n;
      if ((r & 0xffffffffn) !== 0n) { i++; break; }
    }
    return BigInt(i);
  } },
  // Socket lookups, VLAN tags, skb hash/csum, classid, current task, strtol/strtoul: their own file.
  ...NET_HELPERS,
  ...TRACING_HELPERS,
];

function ringbufDone(env: HelperEnv, data: bigint, flags: bigint, submit: boolean): bigint {
  const r = env.records.get(data);
  if (!r) throw makeFault(FaultKind.BAD_POINTER, env.pc, data, 0, env.mem.names);
  env.records.delete(data);
  env.mem.flushView(r.rec);
  if (submit) r.map.submit?.(r.rec, Number(flags & 0xffffffffn));
  else r.map.discard?.(r.rec, Number(flags & 0xffffffffn));
  return 0n;
}

function funcEntry(env: HelperEnv, ptr: bigint): number {
  if ((ptr & ~0xffffffffn) !== FUNC_PTR_TAG) throw makeFault(FaultKind.BAD_POINTER, env.pc, ptr, 0, env.mem.names);
  return Number(ptr & 0xffffffffn);
}

function stopped(env: HelperEnv): boolean {
  return env.mem.dv.getInt32(Layout.STOP, true) !== 0;
}

/** Runs a callback subprogram one frame deeper than the caller. */
function invoke(env: HelperEnv, entry: number, args: bigint[]): bigint {
  const dv = env.mem.dv;
  const depth = dv.getInt32(Layout.DEPTH, true);
  const pc = env.pc;
  if (depth + 1 >= MAX_CALL_DEPTH) throw makeFault(FaultKind.CALL_DEPTH, pc);
  const r = env.engine.exec(entry, args, depth + 1);
  // Helpers the callback called left their own depth here; the caller's is still current.
  dv.setInt32(Layout.DEPTH, depth, true);
  env.pc = pc;
  return r;
}

const LRU_TYPES: ReadonlySet<number> = new Set([9, 10]);

/** The helper table indexed by id. */
export const HELPERS_BY_ID: ReadonlyMap<number, HelperDef> = new Map(HELPERS.map((h) => [h.id, h]));

/**
 * uBPF's test helper `unwind` (id 5 in the bpf_conformance model): returns r1 and stops
 * the program when r1 is 0.
 */
export const UNWIND_HELPER: HelperDef = {
  id: 5,
  name: 'unwind',
  fn: (env, r1) => {
    if (r1 === 0n) env.mem.dv.setInt32(Layout.STOP, 1, true);
    return r1;
  },
};
