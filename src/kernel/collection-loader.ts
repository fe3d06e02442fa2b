/** The kernel's side of `loadCollection`: maps and programs through bpf(), the object's BTF loaded once, pins on bpffs, vmlinux BTF for CO-RE. */

import { readFileSync } from 'node:fs';
import type { CollectionLoader, CollectionProgramContext, MapSpec, ProgramSpec } from '../ebpf/index.js';
import { BpfkitError } from '../util/index.js';
import { BpfCmd, btfLoadAttr } from './attr.js';
import { KernelMap } from './map.js';
import { KernelProgram } from './program.js';
import { isErrno } from './sys.js';
import type { Sys } from './sys.js';

/** BPF_BTF_LOAD of BTF bytes (in the kernel's byte order): the fd programs' func_info/line_info and maps' key/value types refer to. */
export function loadBtf(sys: Sys, bytes: Uint8Array): number {
  // A copy in an ArrayBuffer of its own: the kernel reads it through its address.
  const buf = new Uint8Array(new ArrayBuffer(bytes.length));
  buf.set(bytes);
  return sys.bpf(BpfCmd.BPF_BTF_LOAD, btfLoadAttr(sys.addressOf(buf), buf.length));
}

const VMLINUX = '/sys/kernel/btf/vmlinux';
let vmlinuxBytes: Uint8Array | null | undefined;

/** The running kernel's BTF (read once), or undefined when the kernel has none. */
export function vmlinuxBtfBytes(): Uint8Array | undefined {
  if (vmlinuxBytes === undefined) {
    try {
      vmlinuxBytes = new Uint8Array(readFileSync(VMLINUX));
    } catch {
      vmlinuxBytes = null;
    }
  }
  return vmlinuxBytes ?? undefined;
}

/** One collection load into the kernel; it holds the object's BTF fd while programs load. */
export class KernelCollectionLoader implements CollectionLoader<KernelMap, KernelProgram> {
  readonly backend = 'kernel';
  private btf: { bytes: Uint8Array; fd: number } | undefined;
  /** The BTF the kernel refused (EINVAL) in this load, not offered again. */
  private btfRefused: Uint8Array | undefined;

  constructor(private readonly sys: Sys, private readonly possibleCpus: number) {}

  coreTarget(): Uint8Array | undefined {
    return vmlinuxBtfBytes();
  }

  /** With the object's BTF, as libbpf: the key and value typed; a kernel that refuses the BTF for this map gets it without (libbpf's retry). */
  createMap(spec: MapSpec, btf?: Uint8Array): KernelMap {
    if (btf && spec.btfValueTypeId) {
      try {
        return KernelMap.create(this.sys, spec, { possibleCpus: this.possibleCpus, btfFd: this.btfFd(btf) });
      } catch {
        // fall through: created without BTF below, and a real failure shows there
      }
    }
    return KernelMap.create(this.sys, spec, { possibleCpus: this.possibleCpus });
  }

  /** BPF_BTF_LOAD of the object's BTF, once per collection (every program's func_info indexes the same types). */
  private btfFd(bytes: Uint8Array): number {
    if (this.btf?.bytes === bytes) return this.btf.fd;
    let fd: number;
    try {
      fd = loadBtf(this.sys, bytes);
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext("load the object's btf") : e;
    }
    if (this.btf) this.sys.close(this.btf.fd);
    this.btf = { bytes, fd };
    return fd;
  }

  /**
   * The object's BTF fd for programs, or undefined when the kernel refuses that BTF: libbpf then loads the
   * programs without it ("BTF is optional, ignoring"), and a program that needs it fails in the verifier.
   */
  private programBtfFd(bytes: Uint8Array | undefined): number | undefined {
    if (!bytes || this.btfRefused === bytes) return undefined;
    try {
      return this.btfFd(bytes);
    } catch (e) {
      if (!isErrno(e, 'EINVAL')) throw e;
      this.btfRefused = bytes;
      return undefined;
    }
  }

  loadProgram(spec: ProgramSpec, maps: ReadonlyMap<string, KernelMap>, context: CollectionProgramContext): KernelProgram {
    const btfFd = this.programBtfFd(context.btf);
    return KernelProgram.load(this.sys, spec, { maps, btfFd, attachBtfId: context.attachBtfId });
  }

  fdOf(obj: KernelMap | KernelProgram): number {
    return obj.fd;
  }

  freeze(map: KernelMap): void {
    map.freeze();
  }

  pin(map: KernelMap, path: string): void {
    map.pin(path);
  }

  openPinned(path: string): KernelMap | undefined {
    try {
      return KernelMap.fromPin(this.sys, path, { possibleCpus: this.possibleCpus });
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  closeMap(map: KernelMap): void {
    map.close();
  }

  close(): void {
    if (this.btf) this.sys.close(this.btf.fd);
    this.btf = undefined;
  }
}
