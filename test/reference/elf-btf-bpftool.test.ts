// The BTF parser against `bpftool btf dump file`: every type of the fixtures' objects and of the running kernel's vmlinux.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BTF_KIND_NAMES, BtfKind, parseBtf, readElf, type Btf, type BtfType } from '../../src/elf/index.js';
import { skipReason } from '../helpers/reference.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';

interface DumpLine { name: string; fields: Map<string, string> }
interface DumpType extends DumpLine { id: number; kind: string; subs: DumpLine[] }

// One line of bpftool's plain dump: an optional quoted name, then key=value pairs.
function fieldsOf(text: string): DumpLine {
  const q = /^'([^']*)'\s*/.exec(text);
  const name = q ? (q[1] === '(anon)' ? '' : q[1]) : '';
  const rest = q ? text.slice(q[0].length) : text;
  const fields = new Map<string, string>();
  for (const m of rest.matchAll(/(\w+)=([^\s,]+)/g)) fields.set(m[1], m[2]);
  return { name, fields };
}

/** Parses `bpftool btf dump file X` (plain format). */
function parseDump(text: string): Map<number, DumpType> {
  const out = new Map<number, DumpType>();
  let cur: DumpType | undefined;
  for (const line of text.split('\n')) {
    const h = /^\[(\d+)\] (\w+) (.*)$/.exec(line);
    if (h) {
      cur = { id: Number(h[1]), kind: h[2], ...fieldsOf(h[3]), subs: [] };
      out.set(cur.id, cur);
    } else if (line.startsWith('\t') && cur) {
      cur.subs.push(fieldsOf(line.slice(1)));
    }
  }
  return out;
}

const num = (d: DumpLine, k: string): number | undefined => (d.fields.has(k) ? Number(d.fields.get(k)) : undefined);

/** Our type and bpftool's, as the same canonical text (only the fields bpftool prints for that kind). */
function canonical(t: BtfType, d: DumpType): [ours: string, theirs: string] {
  const ours: unknown[] = [BTF_KIND_NAMES[t.kind], t.name];
  const theirs: unknown[] = [d.kind, d.name];
  const pair = (a: unknown, b: unknown): void => { ours.push(a); theirs.push(b); };
  if (d.fields.has('size')) pair(t.size, num(d, 'size'));
  if (d.fields.has('vlen')) pair(t.vlen, num(d, 'vlen'));
  if (d.fields.has('nr_bits')) pair(t.int?.bits, num(d, 'nr_bits'));
  if (t.kind === BtfKind.ARRAY) pair([t.array?.type, t.array?.indexType, t.array?.nelems], [num(d, 'type_id'), num(d, 'index_type_id'), num(d, 'nr_elems')]);
  else if (d.fields.has('type_id')) pair(t.type, num(d, 'type_id'));
  if (d.fields.has('ret_type_id')) pair(t.type, num(d, 'ret_type_id'));
  if (t.members) pair(t.members.map((m) => [m.name, m.type, m.bitOffset, m.bitSize]), d.subs.map((s) => [s.name, num(s, 'type_id'), num(s, 'bits_offset'), num(s, 'bitfield_size') ?? 0]));
  if (t.enumValues) pair(t.enumValues.map((e) => [e.name, e.value.toString()]), d.subs.map((s) => [s.name, s.fields.get('val')?.replace(/U?LL$/, '')]));
  if (t.params) pair(t.params.map((p) => [p.name, p.type]), d.subs.map((s) => [s.name, num(s, 'type_id')]));
  if (t.secinfos) pair(t.secinfos.map((x) => [x.type, x.offset, x.size]), d.subs.map((x) => [num(x, 'type_id'), num(x, 'offset'), num(x, 'size')]));
  return [JSON.stringify(ours), JSON.stringify(theirs)];
}

function compareAll(btf: Btf, dump: Map<number, DumpType>): void {
  expect(btf.types.length - 1).toBe(dump.size);
  const diffs: string[] = [];
  for (const t of btf.types.slice(1)) {
    const d = dump.get(t.id);
    if (!d) { diffs.push(`[${t.id}] missing from bpftool's dump`); continue; }
    const [ours, theirs] = canonical(t, d);
    if (ours !== theirs && diffs.length < 10) diffs.push(`[${t.id}] ours ${ours} bpftool ${theirs}`);
  }
  expect(diffs).toEqual([]);
}

const objSkip = clangSkip('btf of clang objects vs bpftool') ?? skipReason('btf of clang objects vs bpftool', { commands: ['bpftool'] });

describe.skipIf(objSkip)('object BTF vs bpftool btf dump file', () => {
  const b = fixtureBuilder();
  afterAll(() => b.cleanup());
  for (const name of ['elf-xdp', 'elf-core']) {
    it(`${name}.o: every type`, () => {
      const o = b.build(name);
      const btf = parseBtf(readElf(o.bytes).section('.BTF')!.data);
      compareAll(btf, parseDump(execFileSync('bpftool', ['btf', 'dump', 'file', o.path], { encoding: 'utf8', maxBuffer: 1 << 26 })));
    });
  }
});

const VMLINUX = '/sys/kernel/btf/vmlinux';
const vmSkip = skipReason('vmlinux btf vs bpftool', { commands: ['bpftool'], files: [VMLINUX] });

describe.skipIf(vmSkip)('vmlinux BTF vs bpftool btf dump file', () => {
  it('every type of the running kernel matches', () => {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    const dump = parseDump(execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX], { encoding: 'utf8', maxBuffer: 1 << 30 }));
    compareAll(btf, dump);
    // A few well-known types, found by name, have bpftool's ids and layout.
    for (const name of ['task_struct', 'sk_buff', 'xdp_md', 'list_head']) {
      const [t] = btf.byName(name, BtfKind.STRUCT);
      const d = [...dump.values()].find((x) => x.kind === 'STRUCT' && x.name === name);
      expect(t?.id, name).toBe(d?.id);
    }
    expect(btf.sizeOf(btf.byName('list_head', BtfKind.STRUCT)[0].id)).toBe(16);
  });
});

