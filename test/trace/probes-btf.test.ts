/**
 * Kernel types from BTF against bpftool (libbpf's btf_dump, what bpftrace prints with -lv):
 * struct definitions, raw tracepoint argument types from the btf_trace_* typedefs, member
 * offsets from the raw dump; and the lazy reader against src/elf's full parser.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BtfKind, parseBtf } from '../../src/elf/index.js';
import {
  LazyBtf, btfSource, enumValues, findEnumerator, formatStructDefinition, listRawTracepoints, listStructs, parseCType, rawTracepointArgs, structLayout,
  typeInfo,
} from '../../src/trace/probes/index.js';
import { skipReason } from '../helpers/reference.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const why = skipReason('kernel btf vs bpftool', { commands: ['bpftool'], files: [VMLINUX] });

describe.skipIf(why !== undefined)('kernel btf vs bpftool', () => {
  let btf: LazyBtf;
  let cDump: string;
  let rawDump: string;
  beforeAll(() => {
    btf = new LazyBtf(new Uint8Array(readFileSync(VMLINUX)));
    cDump = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    rawDump = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX], { encoding: 'utf8', maxBuffer: 1 << 28 });
  });

  it('struct and union definitions as btf_dump writes them', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const m of cDump.matchAll(/^(struct|union) (\w+) \{\n[\s\S]*?\n\}( __attribute__\(\(packed\)\))?;$/gm)) {
      // bpftool renames same-named types (`foo___2`); bpftrace lists them by their BTF names.
      if (/___\d/.test(m[0])) continue;
      checked++;
      if (formatStructDefinition(btf, `${m[1]} ${m[2]}`) !== m[0]) wrong.push(`${m[1]} ${m[2]}`);
    }
    expect(checked).toBeGreaterThan(1000);
    expect(wrong).toEqual([]);
  });

  it('raw tracepoint arguments: the btf_trace_* prototypes without their first void *', () => {
    let checked = 0;
    for (const m of cDump.matchAll(/^typedef void \(\*btf_trace_(\w+)\)\(void \*(?:, )?(.*)\);$/gm)) {
      expect((rawTracepointArgs(btf, m[1]) ?? []).map((a) => a.typeName).join(', '), m[1]).toBe(m[2]);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(listRawTracepoints(btf).length).toBeGreaterThan(100);
    expect(rawTracepointArgs(btf, 'no_such_tracepoint_zz')).toBeUndefined();
  });

  it('member offsets of large structs, anonymous members flattened', () => {
    // Parse the raw dump once: id → kind, name, referenced type, members with bit offsets.
    interface RawType { kind: string; name: string; ref: number; members: { name: string; type: number; bits: number; size: number }[] }
    const types = new Map<number, RawType>();
    let cur: RawType | undefined;
    for (const line of rawDump.split('\n')) {
      const h = /^\[(\d+)\] (\w+) '([^']*)'(?:.*? type_id=(\d+))?/.exec(line);
      if (h) {
        cur = { kind: h[2], name: h[3] === '(anon)' ? '' : h[3], ref: Number(h[4] ?? 0), members: [] };
        types.set(Number(h[1]), cur);
        continue;
      }
      const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
      if (m && cur) cur.members.push({ name: m[1] === '(anon)' ? '' : m[1], type: Number(m[2]), bits: Number(m[3]), size: Number(m[4] ?? 0) });
    }
    const skipQualifiers = (id: number): number => {
      for (let t = types.get(id); t && ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind); t = types.get(id)) id = t.ref;
      return id;
    };
    const flatten = (id: number, base: number, out: Map<string, number>): void => {
      for (const m of types.get(id)?.members ?? []) {
        const inner = types.get(skipQualifiers(m.type));
        if (m.name === '' && inner && (inner.kind === 'STRUCT' || inner.kind === 'UNION')) flatten(skipQualifiers(m.type), base + m.bits, out);
        else if (m.size === 0 && (base + m.bits) % 8 === 0) out.set(m.name, (base + m.bits) / 8);
      }
    };
    for (const name of ['task_struct', 'file', 'sk_buff', 'inode', 'mm_struct', 'sock', 'dentry', 'cred', 'super_block', 'net_device']) {
      const id = [...types].find(([, t]) => t.kind === 'STRUCT' && t.name === name && t.members.length > 0)?.[0];
      expect(id, name).toBeDefined();
      const ref = new Map<string, number>();
      flatten(id ?? 0, 0, ref);
      const ours = new Map((structLayout(btf, `struct ${name}`) ?? []).filter((f) => !f.bitfield).map((f) => [f.name, f.offset]));
      expect(ours, name).toEqual(ref);
    }
  });

  it('the lazy reader agrees with src/elf\'s full parse', () => {
    const full = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    expect(btf.count).toBe(full.types.length);
    for (let id = 0; id < full.types.length; id += 97) expect(btf.type(id), `type ${id}`).toEqual(full.types[id]);
    for (const name of ['task_struct', 'sched_switch', 'btf_trace_sched_switch', 'pid_t', 'do_nanosleep', 'nonexistent_zz_type']) {
      expect(btf.byName(name).map((t) => t.id), name).toEqual(full.byName(name).map((t) => t.id));
    }
    const src = btfSource(full);
    expect(structLayout(src, 'struct file')).toEqual(structLayout(btf, 'struct file'));
    // Names found by prefix in the string section, as a walk over every type's name finds them.
    for (const [prefix, kind] of [['__traceiter_', BtfKind.FUNC], ['__probestub_', BtfKind.FUNC], ['btf_trace_', BtfKind.TYPEDEF], ['task_', undefined], ['no_such_prefix_zz', undefined]] as const) {
      const walk = full.types.filter((t) => t.id > 0 && t.name.startsWith(prefix) && (kind === undefined || t.kind === kind)).map((t) => t.id);
      expect(btf.idsWithNamePrefix(prefix, kind), prefix).toEqual(walk);
    }
    expect(listRawTracepoints(btf)).toEqual(listRawTracepoints(src));
  });
});

describe.skipIf(why !== undefined)('type lookups the compiler needs', () => {
  let btf: LazyBtf;
  beforeAll(() => {
    btf = new LazyBtf(new Uint8Array(readFileSync(VMLINUX)));
  });

  it('curtask->real_parent->comm: pointer, struct, char[16]', () => {
    const task = structLayout(btf, 'struct task_struct') ?? [];
    const parent = task.find((f) => f.name === 'real_parent');
    expect(parent?.typeName).toBe('struct task_struct *');
    const info = typeInfo(btf, parent?.typeId ?? 0);
    expect(info.kind).toBe('pointer');
    expect(typeInfo(btf, info.elementTypeId ?? 0)).toMatchObject({ kind: 'struct', name: 'task_struct' });
    const comm = task.find((f) => f.name === 'comm');
    expect([comm?.typeName, comm?.size]).toEqual(['char[16]', 16]);
    expect(typeInfo(btf, comm?.typeId ?? 0)).toMatchObject({ kind: 'array', length: 16 });
  });

  it('C type text from tracepoint formats', () => {
    for (const [text, kind, size] of [['const char *', 'pointer', 8], ['unsigned long', 'int', 8], ['pid_t', 'int', 4], ['umode_t', 'int', 2], ['u8', 'int', 1], ['struct sk_buff *', 'pointer', 8], ['bool', 'bool', 1]] as const) {
      const t = parseCType(btf, text);
      expect(t, text).toBeDefined();
      const info = t && t.pointers > 0 ? { kind: 'pointer', size: 8 } : typeInfo(btf, t?.typeId ?? 0);
      expect([info.kind, info.size], text).toEqual([kind, size]);
    }
    expect(parseCType(btf, 'struct no_such_struct_zz *')).toBeUndefined();
  });

  it('enums and struct listings', () => {
    expect(enumValues(btf, 'pid_type')?.get(0n)).toBe('PIDTYPE_PID');
    expect(findEnumerator(btf, 'PIDTYPE_TGID')).toMatchObject({ enumName: 'pid_type', value: 1n });
    const all = listStructs(btf);
    expect(all).toContain('struct task_struct');
    expect(all).toContain('union bpf_attr');
    expect(all.some((s) => s.includes('(anon)'))).toBe(false);
  });
});
