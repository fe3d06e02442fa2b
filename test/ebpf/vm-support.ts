// Test support for the VM suites: assembling llvm-syntax text with map and function references.
import { assembleLlvm, slotOffsets, type Insn } from '../../src/ebpf/index.js';

/**
 * Assembles llvm-syntax text where `rN = map:NAME ll` loads a map (BPF_PSEUDO_MAP_FD by `ref`),
 * `rN = mapvalue:NAME+OFF ll` a pointer into an array map's value (BPF_PSEUDO_MAP_VALUE), and
 * `rN = func:LABEL ll` a callback (BPF_PSEUDO_FUNC).
 */
export function asm(text: string): Insn[] {
  const refs: ({ kind: 'map' | 'mapvalue' | 'func'; name: string; off: number } | undefined)[] = [];
  const labels = new Map<string, number>();
  let index = 0;
  const lines = text.split('\n').map((line) => {
    const code = line.replace(/(;|#|\/\/).*$/, '').trim();
    const label = /^(\w+):$/.exec(code);
    if (label) { labels.set(label[1], index); return line; }
    if (!code) return line;
    const m = /^(r\d+)\s*=\s*(map|mapvalue|func):(\w+)(?:\+(\d+))?\s+ll$/.exec(code);
    if (/\bll$/.test(code)) refs.push(m ? { kind: m[2] as 'map', name: m[3], off: Number(m[4] ?? 0) } : undefined);
    index++;
    return m ? `${m[1]} = 0 ll` : line;
  });
  const insns = assembleLlvm(lines.join('\n'));
  const offs = slotOffsets(insns);
  let k = 0;
  insns.forEach((insn, i) => {
    if (insn.code !== 0x18) return;
    const r = refs[k++];
    if (!r) return;
    if (r.kind === 'func') {
      const target = labels.get(r.name);
      if (target === undefined) throw new Error(`no label ${r.name}`);
      insn.src = 4;
      insn.imm = offs[target] - offs[i] - 1;
      insn.imm64 = BigInt(insn.imm >>> 0);
    } else {
      insn.src = r.kind === 'map' ? 1 : 2;
      insn.ref = r.name;
      insn.imm64 = BigInt(r.off) << 32n;
    }
  });
  return insns;
}
