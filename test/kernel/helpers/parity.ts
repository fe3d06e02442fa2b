/** Runs one ProgramSpec in the kernel and in the VM (interpreter, JIT) on the same packet and reports r0, packet out and map contents. */

import { createMap, jitAvailable, vm } from '../../../src/ebpf/index.js';
import type { BpfMap, BpfProgram, ProgramSpec } from '../../../src/ebpf/index.js';
import type { Kernel } from '../../../src/kernel/index.js';
import { VerifierError } from '../../../src/kernel/index.js';
import { toHex } from '../../../src/util/index.js';

/** What a backend did with a program: comparable with toEqual. */
export interface Outcome {
  retval: number;
  dataOut: string;
  maps: Record<string, string[]>;
}

/** The VM engines this machine has. */
export const engines: ('interp' | 'jit')[] = jitAvailable() ? ['interp', 'jit'] : ['interp'];

async function contents(m: BpfMap): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of m.entries()) out.push(`${toHex(k)}=${toHex(v)}`);
  return out.sort();
}

async function observe(p: BpfProgram, maps: ReadonlyMap<string, BpfMap>, packet: Uint8Array): Promise<Outcome> {
  const r = await p.testRun({ data: packet });
  const m: Record<string, string[]> = {};
  for (const [name, map] of maps) m[name] = await contents(map);
  return { retval: r.retval, dataOut: toHex(r.dataOut), maps: m };
}

/** The kernel's outcome; a verifier rejection is rethrown with the log's tail and a listing. */
export async function onKernel(kernel: Kernel, spec: ProgramSpec, packet: Uint8Array): Promise<Outcome> {
  let kp;
  try {
    kp = kernel.load(spec);
  } catch (e) {
    if (e instanceof VerifierError) throw new Error(`${e.message}\n${e.log.split('\n').slice(-8).join('\n')}\n${listing(spec)}`);
    throw e;
  }
  try {
    return await observe(kp, kp.maps, packet);
  } finally {
    kp.close();
  }
}

/** The VM's outcome with fresh maps. */
export async function onVm(spec: ProgramSpec, packet: Uint8Array, engine: 'interp' | 'jit'): Promise<Outcome> {
  const maps = new Map((spec.maps ?? []).map((ms) => [ms.name, createMap(ms)]));
  using p = vm.load(spec, { engine, maps });
  return observe(p, maps, packet);
}

/** A listing for failure messages: one instruction per line as raw fields. */
export function listing(spec: ProgramSpec): string {
  return spec.insns.map((i, n) => `${n}: code=0x${i.code.toString(16)} dst=r${i.dst} src=r${i.src} off=${i.off} imm=${i.imm}${i.imm64 !== undefined ? ` imm64=${i.imm64}` : ''}${i.ref ? ` ref=${i.ref}` : ''}`).join('\n');
}
