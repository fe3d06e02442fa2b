/** Tracing helpers of the VM (current task, cgroup, jiffies, stacks, signals, func ip, cookies, strncmp…), with the kernel's return values for each case. */

import type { HelperDef, HelperEnv } from './helpers.js';
import { DEFAULT_TASK_ADDRESS } from './helpers-net.js';

const EPERM = -1n, ENOENT = -2n, EFAULT = -14n, EINVAL = -22n, EOPNOTSUPP = -95n;
/** BPF_F_SKIP_FIELD_MASK, BPF_F_USER_STACK, BPF_F_USER_BUILD_ID of bpf_get_stack's flags. */
const SKIP_MASK = 0xffn, USER_STACK = 1n << 8n, USER_BUILD_ID = 1n << 11n;
/** _NSIG on x86-64: valid_signal() accepts 0..64. */
export const NSIG = 64n;
const NS_PER_S = 1_000_000_000n;

function u32(x: bigint): number {
  return Number(x & 0xffffffffn);
}

function neg(n: bigint): bigint {
  return BigInt.asUintN(64, n);
}

function monotonic(env: HelperEnv): bigint {
  const now = env.host.bootNow ?? env.host.now;
  if (now) return now();
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return BigInt(Math.floor((perf?.now() ?? 0) * 1e6));
}

/**
 * get_jiffies_64(): the kernel starts jiffies 300 s before the 32-bit wrap (INITIAL_JIFFIES)
 * and adds HZ per second of uptime. `host.jiffies` overrides; `host.hz` sets CONFIG_HZ (250).
 */
function jiffies(env: HelperEnv): bigint {
  if (env.host.jiffies) return env.host.jiffies();
  const hz = BigInt(env.host.hz ?? 250);
  return 0x100000000n - 300n * hz + (monotonic(env) * hz) / NS_PER_S;
}

/** bpf_send_signal(_thread): -EPERM for kernel threads and init, -EINVAL for a signal past _NSIG, else delivered. */
function sendSignal(env: HelperEnv, sig: bigint, thread: boolean): bigint {
  const t = env.host.task;
  if (!t || t.kernelThread || t.tgid === 1) return neg(EPERM);
  const s = BigInt.asUintN(32, sig);
  if (s > NSIG) return neg(EINVAL);
  env.host.sendSignal?.(Number(s), thread);
  return 0n;
}

/**
 * bpf_get_stack: `size` bytes of frames from the host's stack (kernel or, with
 * BPF_F_USER_STACK, user), skipping `flags & 0xff`; the rest of the buffer zeroed; returns the
 * bytes copied. Bad flags or a size not a multiple of 8 clear the buffer and give -EINVAL; a
 * missing stack or more skipped frames than there are gives -EFAULT. Build-id stacks need the
 * mapped files' notes, which the VM does not have: -EOPNOTSUPP.
 */
function getStack(env: HelperEnv, buf: bigint, size: bigint, flags: bigint): bigint {
  const n = u32(size);
  const clear = (err: bigint): bigint => {
    if (n > 0) env.mem.write(buf, new Uint8Array(n), env.pc);
    return neg(err);
  };
  if (flags & ~(SKIP_MASK | USER_STACK | USER_BUILD_ID)) return clear(EINVAL);
  const user = (flags & USER_STACK) !== 0n;
  if (flags & USER_BUILD_ID) return clear(user ? EOPNOTSUPP : EINVAL);
  if (n % 8 !== 0) return clear(EINVAL);
  const frames = env.host.stack?.(user);
  const skip = Number(flags & SKIP_MASK);
  if (!frames || frames.length < skip) return clear(EFAULT);
  const take = Math.min(frames.length - skip, n / 8);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < take; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, frames[skip + i]), true);
  if (n > 0) env.mem.write(buf, out, env.pc);
  return BigInt(take * 8);
}

/** The kernel's strncmp: bytes compared unsigned, -1/0/1, stopping at a NUL or after `n` bytes. */
function strncmp(a: Uint8Array, b: Uint8Array, n: number): bigint {
  for (let i = 0; i < n; i++) {
    const c1 = a[i] ?? 0;
    const c2 = b[i] ?? 0;
    if (c1 !== c2) return c1 < c2 ? -1n : 1n;
    if (c1 === 0) break;
  }
  return 0n;
}

function cString(env: HelperEnv, ptr: bigint, max: number): Uint8Array {
  const bytes = env.mem.read(ptr, Math.min(max, env.mem.readableFrom(ptr)), env.pc);
  const z = bytes.indexOf(0);
  return z < 0 ? bytes : bytes.subarray(0, z + 1);
}

function currentTask(env: HelperEnv): bigint {
  return env.host.task?.taskAddr ?? env.host.currentTask ?? DEFAULT_TASK_ADDRESS;
}

/** The tracing helpers, by kernel id (enum bpf_func_id). */
export const TRACING_HELPERS: readonly HelperDef[] = [
  // A synthetic task's address, else the host's plain address, else a fixed kernel-looking one (never NULL in process context).
  { id: 35, name: 'get_current_task', fn: (env) => currentTask(env) },
  { id: 36, name: 'probe_write_user', fn: (env, dst, src, len) => {
    const t = env.host.task;
    if (!t || t.kernelThread) return neg(EPERM);
    const bytes = env.mem.read(src, u32(len), env.pc);
    return env.host.writeMemory?.(dst, bytes, 'user') ? 0n : neg(EFAULT);
  } },
  { id: 42, name: 'get_numa_node_id', fn: (env) => BigInt(env.host.numaNode ?? 0) },
  { id: 67, name: 'get_stack', fn: (env, _ctx, buf, size, flags) => getStack(env, buf, size, flags) },
  { id: 80, name: 'get_current_cgroup_id', fn: (env) => env.host.task?.cgroupId ?? 0n },
  { id: 109, name: 'send_signal', fn: (env, sig) => sendSignal(env, sig, false) },
  { id: 117, name: 'send_signal_thread', fn: (env, sig) => sendSignal(env, sig, true) },
  { id: 118, name: 'jiffies64', fn: (env) => jiffies(env) },
  { id: 120, name: 'get_ns_current_pid_tgid', fn: (env, dev, ino, out, size) => {
    const n = u32(size);
    const clear = (err: bigint): bigint => {
      if (n > 0) env.mem.write(out, new Uint8Array(n), env.pc);
      return neg(err);
    };
    if (n !== 8 || dev !== BigInt.asUintN(32, dev)) return clear(EINVAL);
    const ns = env.host.task?.pidNamespace;
    if (!ns) return clear(ENOENT);
    if (ns.dev !== dev || ns.ino !== ino) return clear(EINVAL);
    const info = new Uint8Array(8);
    const dv = new DataView(info.buffer);
    dv.setUint32(0, ns.pid >>> 0, true);
    dv.setUint32(4, ns.tgid >>> 0, true);
    env.mem.write(out, info, env.pc);
    return 0n;
  } },
  { id: 123, name: 'get_current_ancestor_cgroup_id', fn: (env, level) => env.host.task?.cgroupAncestors?.[Number(level & 0xffffffffn)] ?? 0n },
  { id: 158, name: 'get_current_task_btf', fn: (env) => currentTask(env) },
  { id: 173, name: 'get_func_ip', fn: (env) => env.host.funcIp ?? 0n },
  { id: 174, name: 'get_attach_cookie', fn: (env) => env.host.attachCookie ?? 0n },
  { id: 182, name: 'strncmp', fn: (env, s1, s1Size, s2) => {
    const n = u32(s1Size);
    const a = env.mem.read(s1, n, env.pc);
    return neg(strncmp(a, cString(env, s2, n + 1), n));
  } },
  { id: 208, name: 'ktime_get_tai_ns', fn: (env) => (env.host.taiNow ? env.host.taiNow() : monotonic(env)) },
];
