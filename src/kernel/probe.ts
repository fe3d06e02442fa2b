/** Feature probes: which program types, map types, helpers and attach types this kernel has (memoized), and `requireFeature`. */

import { MapType, ProgType, helperId } from '../ebpf/index.js';
import { UnsupportedError, UsageError } from '../util/index.js';
import { AttachType } from './attach-type.js';
import { BpfCmd, mapCreateAttr, progLoadAttr } from './attr.js';
import { cString } from './map.js';
import { Errno, SyscallError } from './sys.js';
import type { Sys } from './sys.js';

// r0 = 0; exit
const RET0 = Uint8Array.of(0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);

/** What a minimal program of a type needs to load: the attach type, and for BTF-attached types a BTF id. */
const progTypeNeeds: Partial<Record<number, { expectedAttachType?: number; attachBtfId?: number; progFlags?: number }>> = {
  // Syscall programs must be sleepable (BPF_F_SLEEPABLE).
  [ProgType.BPF_PROG_TYPE_SYSCALL]: { progFlags: 1 << 4 },
  [ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR]: { expectedAttachType: AttachType.BPF_CGROUP_INET4_CONNECT },
  [ProgType.BPF_PROG_TYPE_CGROUP_SOCKOPT]: { expectedAttachType: AttachType.BPF_CGROUP_GETSOCKOPT },
  [ProgType.BPF_PROG_TYPE_SK_LOOKUP]: { expectedAttachType: AttachType.BPF_SK_LOOKUP },
  [ProgType.BPF_PROG_TYPE_NETFILTER]: { expectedAttachType: AttachType.BPF_NETFILTER },
  // BTF id 1 is never a function: a kernel with the type answers EINVAL and says so in the log.
  [ProgType.BPF_PROG_TYPE_TRACING]: { expectedAttachType: AttachType.BPF_TRACE_RAW_TP, attachBtfId: 1 },
  [ProgType.BPF_PROG_TYPE_EXT]: { attachBtfId: 1 },
  [ProgType.BPF_PROG_TYPE_LSM]: { expectedAttachType: AttachType.BPF_LSM_MAC, attachBtfId: 1 },
  [ProgType.BPF_PROG_TYPE_STRUCT_OPS]: { attachBtfId: 1 },
};

/** Log text that shows a BTF-attached program type exists (it got as far as checking the target). */
const btfTargetChecked = /attach_btf_id|is not a function|BTF|btf/;

/** EINVAL/ENOTSUPP with a complaint about the BTF target: the type exists, only our dummy target was wrong. */
function btfTargetRefused(r: { errno: number; log: string }): boolean {
  return (r.errno === Errno.EINVAL || r.errno === Errno.ENOTSUPP) && btfTargetChecked.test(r.log);
}

/** Map parameters that make a minimal valid map of each probeable type. */
const mapTypeParams: Partial<Record<number, { keySize: number; valueSize: number; maxEntries: number; flags?: number }>> = {
  [MapType.BPF_MAP_TYPE_HASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_ARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_PROG_ARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_PERCPU_HASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_PERCPU_ARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_STACK_TRACE]: { keySize: 4, valueSize: 8, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_CGROUP_ARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_LRU_HASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_LPM_TRIE]: { keySize: 8, valueSize: 4, maxEntries: 1, flags: 1 /* BPF_F_NO_PREALLOC */ },
  [MapType.BPF_MAP_TYPE_DEVMAP]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_SOCKMAP]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_CPUMAP]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_XSKMAP]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_SOCKHASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_QUEUE]: { keySize: 0, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_STACK]: { keySize: 0, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_DEVMAP_HASH]: { keySize: 4, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_RINGBUF]: { keySize: 0, valueSize: 0, maxEntries: 4096 },
  [MapType.BPF_MAP_TYPE_BLOOM_FILTER]: { keySize: 0, valueSize: 4, maxEntries: 1 },
  [MapType.BPF_MAP_TYPE_USER_RINGBUF]: { keySize: 0, valueSize: 0, maxEntries: 4096 },
};

/** Attach mechanisms we can probe, as (program type, expected attach type, needs a BTF target). */
const attachProbes: Record<string, { progType: number; attachType: number }> = {
  fentry: { progType: ProgType.BPF_PROG_TYPE_TRACING, attachType: AttachType.BPF_TRACE_FENTRY },
  fexit: { progType: ProgType.BPF_PROG_TYPE_TRACING, attachType: AttachType.BPF_TRACE_FEXIT },
  fmod_ret: { progType: ProgType.BPF_PROG_TYPE_TRACING, attachType: AttachType.BPF_MODIFY_RETURN },
  lsm: { progType: ProgType.BPF_PROG_TYPE_LSM, attachType: AttachType.BPF_LSM_MAC },
  tp_btf: { progType: ProgType.BPF_PROG_TYPE_TRACING, attachType: AttachType.BPF_TRACE_RAW_TP },
  raw_tp: { progType: ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, attachType: 0 },
  tracepoint: { progType: ProgType.BPF_PROG_TYPE_TRACEPOINT, attachType: 0 },
  kprobe: { progType: ProgType.BPF_PROG_TYPE_KPROBE, attachType: 0 },
  xdp: { progType: ProgType.BPF_PROG_TYPE_XDP, attachType: AttachType.BPF_XDP },
  tcx_ingress: { progType: ProgType.BPF_PROG_TYPE_SCHED_CLS, attachType: AttachType.BPF_TCX_INGRESS },
  tcx_egress: { progType: ProgType.BPF_PROG_TYPE_SCHED_CLS, attachType: AttachType.BPF_TCX_EGRESS },
  cgroup_skb_ingress: { progType: ProgType.BPF_PROG_TYPE_CGROUP_SKB, attachType: AttachType.BPF_CGROUP_INET_INGRESS },
  cgroup_connect4: { progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attachType: AttachType.BPF_CGROUP_INET4_CONNECT },
  socket_filter: { progType: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, attachType: 0 },
};

/** The names `requireFeature` takes after `attach:`. */
export const attachFeatureNames = Object.keys(attachProbes);

/** Lower-case short names (`xdp`, `socket_filter`, `ringbuf`) to kernel constants. */
const progTypeByName = new Map(Object.entries(ProgType).map(([k, v]) => [k.replace('BPF_PROG_TYPE_', '').toLowerCase(), v]));
const mapTypeByName = new Map(Object.entries(MapType).map(([k, v]) => [k.replace('BPF_MAP_TYPE_', '').toLowerCase(), v]));

/**
 * Feature probes against one kernel. Every answer is memoized. A probe that fails with
 * EPERM while a plain socket filter also fails with EPERM throws (no privilege), instead
 * of calling everything unsupported.
 */
export class Probes {
  private readonly sys: Sys;
  private readonly memo = new Map<string, boolean>();
  private privileged: boolean | undefined;

  constructor(sys: Sys) {
    this.sys = sys;
  }

  private cached(key: string, probe: () => boolean): boolean {
    let v = this.memo.get(key);
    if (v === undefined) {
      v = probe();
      this.memo.set(key, v);
    }
    return v;
  }

  /** Loads a tiny program; returns the errno and log of a failure, or undefined when it loaded. */
  private tryLoad(progType: number, insns: Uint8Array, opts: { expectedAttachType?: number; attachBtfId?: number; progFlags?: number }): { errno: number; log: string } | undefined {
    const license = cString('GPL');
    const code = new Uint8Array(new ArrayBuffer(insns.length));
    code.set(insns);
    const log = new Uint8Array(new ArrayBuffer(64 * 1024));
    try {
      const fd = this.sys.bpf(BpfCmd.BPF_PROG_LOAD, progLoadAttr({
        progType, insns: this.sys.addressOf(code), insnCnt: code.length / 8, license: this.sys.addressOf(license),
        logLevel: 1, logBuf: this.sys.addressOf(log), logSize: log.length, ...opts,
      }));
      this.sys.close(fd);
      return undefined;
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      const nul = log.indexOf(0);
      return { errno: e.errno, log: new TextDecoder().decode(log.subarray(0, nul < 0 ? log.length : nul)) };
    }
  }

  private checkPrivilege(): void {
    if (this.privileged === undefined) {
      const r = this.tryLoad(ProgType.BPF_PROG_TYPE_SOCKET_FILTER, RET0, {});
      this.privileged = !(r && (r.errno === Errno.EPERM || r.errno === Errno.EACCES));
    }
    if (!this.privileged) {
      throw new SyscallError('bpf', Errno.EPERM, { hint: 'feature probes need root or CAP_BPF: even a plain socket filter is refused' });
    }
  }

  /** True when programs of this type load. */
  progType(type: number): boolean {
    return this.cached(`prog:${type}`, () => {
      const needs = progTypeNeeds[type] ?? {};
      const r = this.tryLoad(type, RET0, needs);
      if (!r) return true;
      if (r.errno === Errno.EPERM) this.checkPrivilege();
      // BTF-attached types: id 1 is not a valid target, so EINVAL with a BTF complaint means the type exists.
      if (needs.attachBtfId !== undefined) return btfTargetRefused(r);
      // Types that load but reject `return 0` still verified it: the type exists.
      return r.errno === Errno.EACCES && r.log !== '';
    });
  }

  /** True when maps of this type can be created (types needing BTF or a special fd are not probeable). */
  mapType(type: number): boolean {
    const p = mapTypeParams[type];
    if (!p) throw new UsageError('E_USAGE', `cannot probe map type ${type}: it needs btf or an fd to create`);
    return this.cached(`map:${type}`, () => {
      try {
        this.sys.close(this.sys.bpf(BpfCmd.BPF_MAP_CREATE, mapCreateAttr({ mapType: type, keySize: p.keySize, valueSize: p.valueSize, maxEntries: p.maxEntries, mapFlags: p.flags ?? 0 })));
        return true;
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        if (e.errno === Errno.EPERM) this.checkPrivilege();
        return false;
      }
    });
  }

  /** True when a program of `progType` may call helper number `helper` (as libbpf probes it: the verifier does not call it unknown). */
  helper(progType: number, helper: number): boolean {
    return this.cached(`helper:${progType}:${helper}`, () => {
      if (!this.progType(progType)) return false;
      const insns = new Uint8Array(24);
      const dv = new DataView(insns.buffer);
      insns[0] = 0x85; // call helper
      dv.setInt32(4, helper, true);
      insns.set(RET0, 8);
      const r = this.tryLoad(progType, insns, progTypeNeeds[progType] ?? {});
      if (!r) return true;
      return !/invalid func|unknown func|program of this type cannot use helper/.test(r.log);
    });
  }

  /** True when a program for this attach mechanism loads (fentry/fexit/lsm fail here on lockdown kernels). */
  attach(name: string): boolean {
    const a = attachProbes[name];
    if (!a) throw new UsageError('E_USAGE', `unknown attach type "${name}" (known: ${attachFeatureNames.join(', ')})`);
    return this.cached(`attach:${name}`, () => {
      const needs = progTypeNeeds[a.progType] ?? {};
      if (name === 'tp_btf') {
        // tp_btf needs a real tracepoint BTF id; without one the probe asks whether TRACING loads at all.
        return this.progType(ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT) && this.traceLoads(a.attachType);
      }
      if (needs.attachBtfId !== undefined) return this.traceLoads(a.attachType, a.progType);
      const r = this.tryLoad(a.progType, RET0, { expectedAttachType: a.attachType });
      if (!r) return true;
      if (r.errno === Errno.EPERM) this.checkPrivilege();
      return false;
    });
  }

  private traceLoads(attachType: number, progType: number = ProgType.BPF_PROG_TYPE_TRACING): boolean {
    const r = this.tryLoad(progType, RET0, { expectedAttachType: attachType, attachBtfId: 1 });
    if (!r) return true;
    return btfTargetRefused(r);
  }

  /**
   * Checks a feature by name: `prog:xdp`, `map:ringbuf`, `helper:xdp:1` or `helper:xdp:map_lookup_elem` (program type and helper id or name),
   * `attach:fentry`. Returns whether the kernel has it.
   */
  has(feature: string): boolean {
    const [kind, a, b] = feature.split(':');
    if (kind === 'prog') return this.progType(lookupName(progTypeByName, a, feature));
    if (kind === 'map') return this.mapType(lookupName(mapTypeByName, a, feature));
    if (kind === 'helper' && b !== undefined) {
      const id = /^\d+$/.test(b) ? Number(b) : helperId(b);
      if (id === undefined) throw new UsageError('E_USAGE', `unknown helper "${b}" in feature "${feature}"`);
      return this.helper(lookupName(progTypeByName, a, feature), id);
    }
    if (kind === 'attach' && a !== undefined) return this.attach(a);
    throw new UsageError('E_USAGE', `unknown feature "${feature}" (use prog:<type>, map:<type>, helper:<prog type>:<id or name>, attach:<name>)`);
  }

  /** Throws an {@link UnsupportedError} naming the feature when the kernel lacks it. */
  require(feature: string): void {
    if (!this.has(feature)) {
      throw new UnsupportedError('E_UNSUPPORTED', `this kernel does not support ${feature}`, {
        hint: feature.startsWith('attach:f') || feature === 'attach:lsm' ? 'trampoline attach (fentry/fexit/lsm) is refused on some kernels, e.g. under lockdown; use tp_btf or raw_tp' : undefined,
      });
    }
  }
}

function lookupName(table: Map<string, number>, name: string | undefined, feature: string): number {
  const v = name === undefined ? undefined : table.get(name.toLowerCase());
  if (v === undefined) throw new UsageError('E_USAGE', `unknown feature "${feature}"`);
  return v;
}

/** Throws an {@link UnsupportedError} naming the feature when `probes` says the kernel lacks it. */
export function requireFeature(probes: Probes, feature: string): void {
  probes.require(feature);
}
