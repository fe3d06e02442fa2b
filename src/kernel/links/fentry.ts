/** fentry/fexit: BPF_PROG_TYPE_TRACING programs on a kernel function's BTF id, attached through the BPF trampoline (probed first: lockdown kernels refuse them). */

import type { ProgramSpec } from '../../ebpf/index.js';
import { ProgType } from '../../ebpf/index.js';
import { BpfkitError, FormatError, UnsupportedError, UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import type { Kernel } from '../kernel.js';
import type { KernelProgram } from '../program.js';
import { KernelLink, linkCreate } from './link.js';

/** Where the running kernel's BTF is. */
export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

const BTF_MAGIC = 0xeb9f;
const BTF_KIND_FUNC = 12;

/** Bytes that follow a type's 12-byte header, by BTF kind (`vlen` is the count in `info`). */
const kindExtra: Record<number, (vlen: number) => number> = {
  1: () => 4, 3: () => 12, 4: (n) => n * 12, 5: (n) => n * 12, 6: (n) => n * 8, 13: (n) => n * 8,
  14: () => 4, 15: (n) => n * 12, 17: () => 4, 19: (n) => n * 12,
};

/**
 * The BTF type id of function `name` (a BTF_KIND_FUNC) in raw BTF bytes such as
 * /sys/kernel/btf/vmlinux; undefined when there is none. Throws a FormatError on malformed BTF.
 */
export function btfFuncId(btf: Uint8Array, name: string): number | undefined {
  return btfTypeId(btf, name, BTF_KIND_FUNC);
}

/**
 * The BTF type id of the first type of kind `kind` (BTF_KIND_*: 8 typedef, 12 func...) named `name`;
 * undefined when there is none. Throws a FormatError on malformed BTF.
 */
export function btfTypeId(btf: Uint8Array, name: string, kind: number): number | undefined {
  if (btf.length < 24) throw new FormatError('E_BTF_TRUNCATED', 'btf too short for its header', { position: { offset: 0 } });
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const le = v.getUint16(0, true) === BTF_MAGIC;
  if (!le && v.getUint16(0, false) !== BTF_MAGIC) throw new FormatError('E_BTF_MAGIC', 'not btf (bad magic)', { position: { offset: 0 } });
  const hdrLen = v.getUint32(4, le);
  const typeStart = hdrLen + v.getUint32(8, le);
  const typeEnd = typeStart + v.getUint32(12, le);
  const strStart = hdrLen + v.getUint32(16, le);
  const strEnd = strStart + v.getUint32(20, le);
  if (typeEnd > btf.length || strEnd > btf.length) throw new FormatError('E_BTF_TRUNCATED', 'btf sections past end of data', { position: { offset: 8 } });
  const want = new TextEncoder().encode(name);
  const nameIs = (off: number): boolean => {
    const at = strStart + off;
    if (at + want.length >= strEnd || btf[at + want.length] !== 0) return false;
    for (let i = 0; i < want.length; i++) if (btf[at + i] !== want[i]) return false;
    return true;
  };
  let id = 1;
  for (let at = typeStart; at < typeEnd; id++) {
    if (at + 12 > typeEnd) throw new FormatError('E_BTF_TRUNCATED', `btf type ${id} truncated`, { position: { offset: at } });
    const info = v.getUint32(at + 4, le);
    const k = (info >>> 24) & 0x1f;
    if (k === kind && nameIs(v.getUint32(at, le))) return id;
    at += 12 + (kindExtra[k]?.(info & 0xffff) ?? 0);
  }
  return undefined;
}

/** Reads the running kernel's BTF and returns the id of function `name` (UsageError `E_BTF_FUNC` when absent). */
export async function kernelFuncBtfId(name: string, path = VMLINUX_BTF): Promise<number> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (cause) {
    throw new UnsupportedError('E_UNSUPPORTED', `this kernel exposes no btf at ${path}`, { cause, hint: 'fentry/fexit need a kernel built with CONFIG_DEBUG_INFO_BTF' });
  }
  const id = btfFuncId(bytes, name);
  if (id === undefined) throw new UsageError('E_BTF_FUNC', `no kernel function "${name}" in ${path}`);
  return id;
}

/** fentry runs at a function's entry, fexit at its return (with the return value as the last argument). */
export type TrampolineKind = 'fentry' | 'fexit';

const trampolineAttach: Record<TrampolineKind, number> = { fentry: AttachType.BPF_TRACE_FENTRY, fexit: AttachType.BPF_TRACE_FEXIT };

/**
 * Loads `spec` as a `kind` program on kernel function `fn` and attaches it. The feature is
 * probed first: a kernel that refuses trampolines (lockdown) gets an UnsupportedError naming
 * `attach:fentry`/`attach:fexit`, not a bare EPERM. The link owns the program.
 */
export async function attachFentry(kernel: Kernel, spec: ProgramSpec, kind: TrampolineKind, fn: string): Promise<{ link: KernelLink; program: KernelProgram }> {
  const label = `${kind}/${fn}`;
  try {
    kernel.requireFeature(`attach:${kind}`);
    const btfId = await kernelFuncBtfId(fn);
    const program = kernel.load({ ...spec, type: ProgType.BPF_PROG_TYPE_TRACING, expectedAttachType: trampolineAttach[kind] }, { attachBtfId: btfId });
    try {
      const fd = linkCreate(kernel.sys, label, { progFd: program.fd, targetFd: 0, attachType: trampolineAttach[kind] });
      return { link: new KernelLink(kernel.sys, label, [fd]), program };
    } catch (e) {
      program.close();
      throw e;
    }
  } catch (e) {
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}
