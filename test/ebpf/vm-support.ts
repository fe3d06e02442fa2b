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

/** An XDP load one byte past its bounds check (13 bytes checked, byte 13 read): the verifier refuses it; unverified, both engines fault at slot 6. */
export const XDP_OFF_BY_ONE = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r0 = 0
  r4 = r2
  r4 += 13
  if r4 > r3 goto out
  r0 = *(u8 *)(r2 + 13)
out:
  exit`;

/** An XDP parse of Ethernet, an optional VLAN tag and IPv4 with a variable header length, then a 16-bit field of the next header: every load bounds-checked. */
export const XDP_PARSE = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r0 = 1
  r4 = r2
  r4 += 14
  if r4 > r3 goto out
  r5 = *(u16 *)(r2 + 12)
  r1 = 14
  if r5 != 0x81 goto novlan
  r4 = r2
  r4 += 18
  if r4 > r3 goto out
  r5 = *(u16 *)(r2 + 16)
  r1 = 18
novlan:
  r2 += r1
  r4 = r2
  r4 += 20
  if r4 > r3 goto out
  r5 = *(u8 *)(r2 + 0)
  r5 &= 15
  if r5 < 5 goto out
  r5 <<= 2
  r6 = *(u32 *)(r2 + 16)
  r2 += r5
  r7 = r2
  r7 += 8
  if r3 < r7 goto out
  r0 = *(u16 *)(r2 + 6)
out:
  exit`;
