/** Small eBPF programs the attach-point tests share: count runs, and sum a context field, in an array map. */

import { MapType, ProgramBuilder, R0, R1, R2, R6, R10 } from '../../../src/ebpf/index.js';
import type { ProgType, ProgramSpec } from '../../../src/ebpf/index.js';

/**
 * `counts[0] += 1` and, when `sumField` is given, `counts[1] += *(u64 or u32 *)(ctx + sumField)`;
 * with `tgid`, only runs of that process count. Returns 0.
 */
export function countingSpec(name: string, type: ProgType, opts: { sumField?: number; sumBits?: 32 | 64; tgid?: number; ret?: number } = {}): ProgramSpec {
  const b = new ProgramBuilder().mov64(R6, R1);
  if (opts.tgid !== undefined) b.call('get_current_pid_tgid').rsh64(R0, 32).jne(R0, opts.tgid, 'out');
  b.stw(R10, -4, 0).ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'out')
    .mov64(R1, 1).atomic('add', 64, R0, 0, R1);
  if (opts.sumField !== undefined) {
    b.stw(R10, -4, 1).ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'out')
      .ldx(opts.sumBits ?? 64, R1, R6, opts.sumField).atomic('add', 64, R0, 0, R1);
  }
  b.label('out').mov64(R0, opts.ret ?? 0).exit();
  return {
    name, type, license: 'GPL', insns: b.build(),
    maps: [{ name: 'counts', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 }],
  };
}

/** Reads `counts[i]` of a loaded counting program. */
export function countAt(prog: { maps: ReadonlyMap<string, { get(k: Uint8Array): Uint8Array | undefined }> }, i: number): bigint {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, i, true);
  const v = prog.maps.get('counts')!.get(key)!;
  return new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
}

/** x86-64 `struct pt_regs` field offsets (the context of kprobe/uprobe programs). */
export const PT_REGS_X64 = { rbp: 32, rbx: 40, rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, ip: 128, sp: 152 } as const;
