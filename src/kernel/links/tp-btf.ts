/** tp_btf: BTF-typed tracepoints — a BPF_PROG_TYPE_TRACING program on `btf_trace_<name>` from vmlinux BTF, attached as BPF_TRACE_RAW_TP. */

import type { ProgramSpec } from '../../ebpf/index.js';
import { ProgType } from '../../ebpf/index.js';
import { BpfkitError, UnsupportedError, UsageError } from '../../util/index.js';
import { AttachType } from '../attach-type.js';
import type { Kernel } from '../kernel.js';
import type { KernelProgram } from '../program.js';
import { VMLINUX_BTF, btfTypeId } from './fentry.js';
import { KernelLink, linkCreate } from './link.js';

const BTF_KIND_TYPEDEF = 8;

/** vmlinux BTF is a few MB and parsing it takes ~100 ms: read it once per process and path. */
const btfCache = new Map<string, Promise<Uint8Array>>();

async function readBtf(path: string): Promise<Uint8Array> {
  let p = btfCache.get(path);
  if (!p) {
    p = import('node:fs/promises').then(async (fs) => new Uint8Array(await fs.readFile(path)));
    btfCache.set(path, p);
    p.catch(() => btfCache.delete(path));
  }
  try {
    return await p;
  } catch (cause) {
    throw new UnsupportedError('E_UNSUPPORTED', `this kernel exposes no btf at ${path}`, { cause, hint: 'tp_btf needs a kernel built with CONFIG_DEBUG_INFO_BTF' });
  }
}

/**
 * The BTF id of the typedef `btf_trace_<tracepoint>` that the kernel declares for each raw tracepoint
 * (UsageError `E_BTF_TRACEPOINT` when the kernel has no such tracepoint).
 */
export async function tpBtfId(tracepoint: string, path = VMLINUX_BTF): Promise<number> {
  const id = btfTypeId(await readBtf(path), `btf_trace_${tracepoint}`, BTF_KIND_TYPEDEF);
  if (id === undefined) throw new UsageError('E_BTF_TRACEPOINT', `no raw tracepoint "${tracepoint}" in ${path}`);
  return id;
}

/**
 * Loads `spec` as a tp_btf program on raw tracepoint `tracepoint` (e.g. `sys_enter`) and attaches it.
 * The context is the tracepoint's arguments as u64s, typed by BTF (pointers may be read directly).
 * The caller owns both: close the link to detach, and the program.
 *
 * @example
 * const { link, program } = await attachTpBtf(kernel, spec, 'sys_enter');
 */
export async function attachTpBtf(kernel: Kernel, spec: ProgramSpec, tracepoint: string): Promise<{ link: KernelLink; program: KernelProgram }> {
  const label = `tp_btf/${tracepoint}`;
  try {
    const btfId = await tpBtfId(tracepoint);
    const program = kernel.load({ ...spec, type: ProgType.BPF_PROG_TYPE_TRACING, expectedAttachType: AttachType.BPF_TRACE_RAW_TP }, { attachBtfId: btfId });
    try {
      const fd = linkCreate(kernel.sys, label, { progFd: program.fd, targetFd: 0, attachType: AttachType.BPF_TRACE_RAW_TP });
      return { link: new KernelLink(kernel.sys, label, [fd]), program };
    } catch (e) {
      program.close();
      throw e;
    }
  } catch (e) {
    throw e instanceof BpfkitError && !e.message.startsWith('attach') ? e.withContext(`attach ${label}`) : e;
  }
}
