/** Synthetic kernel and user memory for running trace programs in the VM: a task_struct laid out by BTF (pid, tgid, comm, parents, cred) behind `curtask`. */

import type { VmHost, VmTask } from '../../ebpf/index.js';
import { ProbeError } from './errors.js';
import { btfSizeOf, findAggregate, structFields, structMember } from './btf-types.js';
import type { BtfSource } from './kernel-btf.js';

/** Memory spaces a tracing program reads: the kernel's and the current process's. */
export type MemorySpace = 'kernel' | 'user';

/**
 * A sparse address space per memory space: byte ranges mapped at addresses, read and written
 * as `bpf_probe_read_*`/`bpf_probe_write_user` see them (reads past a range's end fail, as an
 * unmapped page would).
 */
export class SparseMemory {
  private readonly regions: Record<MemorySpace, { addr: bigint; bytes: Uint8Array }[]> = { kernel: [], user: [] };

  /** Maps `bytes` (kept by reference) at `addr`. */
  map(space: MemorySpace, addr: bigint, bytes: Uint8Array): void {
    this.regions[space].push({ addr, bytes });
  }

  private find(space: MemorySpace, addr: bigint, len: number): { r: { addr: bigint; bytes: Uint8Array }; off: number } | undefined {
    for (const r of this.regions[space]) {
      const off = addr - r.addr;
      if (off >= 0n && off + BigInt(len) <= BigInt(r.bytes.length)) return { r, off: Number(off) };
    }
    return undefined;
  }

  /** `len` bytes at `addr`, or undefined when any of them is unmapped. */
  read(addr: bigint, len: number, space: MemorySpace): Uint8Array | undefined {
    const hit = this.find(space, addr, len);
    return hit ? hit.r.bytes.slice(hit.off, hit.off + len) : undefined;
  }

  /** Stores bytes at `addr`; false when the range is not mapped. */
  write(addr: bigint, bytes: Uint8Array, space: MemorySpace): boolean {
    const hit = this.find(space, addr, bytes.length);
    if (!hit) return false;
    hit.r.bytes.set(bytes, hit.off);
    return true;
  }
}

/** What a synthetic task holds. */
export interface SyntheticTaskOptions {
  pid: number;
  /** Thread group id (default pid). */
  tgid?: number;
  comm: string;
  uid?: number;
  gid?: number;
  /** The parent (`real_parent` and `parent`); default: a task that is its own parent (pid 1, init). */
  parent?: SyntheticTaskOptions;
  /** cgroup v2 id. */
  cgroupId?: bigint;
}

/** Where synthetic kernel objects are placed: a kernel-looking address range. */
const KERNEL_BASE = 0xffff888000000000n;

function setField(btf: BtfSource, structId: number, bytes: Uint8Array, member: string, value: bigint | Uint8Array): void {
  const f = structMember(btf, structId, member);
  if (!f) return; // a kernel without this member: leave it out, as a read of it would not compile either
  if (value instanceof Uint8Array) {
    bytes.set(value.subarray(0, Math.max(0, f.size - 1)), f.offset);
    return;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (f.size === 8) dv.setBigUint64(f.offset, BigInt.asUintN(64, value), true);
  else if (f.size === 4) dv.setUint32(f.offset, Number(BigInt.asUintN(32, value)), true);
  else if (f.size === 2) dv.setUint16(f.offset, Number(BigInt.asUintN(16, value)), true);
  else if (f.size === 1) dv.setUint8(f.offset, Number(BigInt.asUintN(8, value)));
}

/**
 * Lays out `struct task_struct` for `opts` (and its parent chain, and each task's `struct cred`)
 * in kernel memory at BTF offsets: `pid`, `tgid`, `comm`, `real_parent`, `parent`,
 * `group_leader`, `cred`/`real_cred` with `uid`/`gid`. Returns the task for `VmHost.task`.
 * ProbeError `E_PROBE_BTF` when BTF has no task_struct.
 */
export function syntheticTask(btf: BtfSource, mem: SparseMemory, opts: SyntheticTaskOptions): VmTask {
  const taskType = findAggregate(btf, 'struct task_struct');
  const credType = findAggregate(btf, 'struct cred');
  if (!taskType) throw new ProbeError('E_PROBE_BTF', 'btf has no struct task_struct');
  const taskSize = taskType.size;
  let next = KERNEL_BASE;
  const alloc = (size: number): bigint => {
    const at = next;
    next += BigInt(Math.ceil(size / 64) * 64 + 64);
    return at;
  };
  const enc = new TextEncoder();
  const place = (o: SyntheticTaskOptions, depth: number): bigint => {
    const addr = alloc(taskSize);
    const bytes = new Uint8Array(taskSize);
    mem.map('kernel', addr, bytes);
    const parent = o.parent && depth < 64 ? place(o.parent, depth + 1) : o.pid === 1 ? addr : place({ pid: 1, comm: 'init' }, depth + 1);
    setField(btf, taskType.id, bytes, 'pid', BigInt(o.pid));
    setField(btf, taskType.id, bytes, 'tgid', BigInt(o.tgid ?? o.pid));
    setField(btf, taskType.id, bytes, 'comm', enc.encode(o.comm));
    setField(btf, taskType.id, bytes, 'real_parent', parent);
    setField(btf, taskType.id, bytes, 'parent', parent);
    setField(btf, taskType.id, bytes, 'group_leader', addr);
    if (credType) {
      const cred = new Uint8Array(credType.size);
      const credAddr = alloc(credType.size);
      mem.map('kernel', credAddr, cred);
      for (const [name, v] of [['uid', o.uid ?? 0], ['gid', o.gid ?? 0], ['euid', o.uid ?? 0], ['egid', o.gid ?? 0]] as const) {
        // kuid_t/kgid_t wrap the id in a one-member struct: the id is at the member's offset.
        const f = structFields(btf, credType.id).find((x) => x.name === name);
        if (f && btfSizeOf(btf, f.typeId) === 4) new DataView(cred.buffer).setUint32(f.offset, v >>> 0, true);
      }
      setField(btf, taskType.id, bytes, 'cred', credAddr);
      setField(btf, taskType.id, bytes, 'real_cred', credAddr);
    }
    return addr;
  };
  const taskAddr = place(opts, 0);
  return { pid: opts.pid, tgid: opts.tgid ?? opts.pid, uid: opts.uid ?? 0, gid: opts.gid ?? 0, comm: opts.comm, taskAddr, ...(opts.cgroupId !== undefined ? { cgroupId: opts.cgroupId } : {}) };
}

/**
 * A VM host for tracing programs: the synthetic task as current, `mem` behind
 * `bpf_probe_read_*` and `bpf_probe_write_user`, and any other host fields given.
 */
export function syntheticHost(btf: BtfSource, task: SyntheticTaskOptions, extra: VmHost = {}, mem = new SparseMemory()): { host: VmHost; memory: SparseMemory } {
  const t = syntheticTask(btf, mem, task);
  const host: VmHost = {
    ...extra,
    task: t,
    readMemory: (addr, len, space) => mem.read(addr, len, space),
    writeMemory: (addr, bytes, space) => mem.write(addr, bytes, space),
  };
  return { host, memory: mem };
}
