/** The running kernel's BTF read lazily: type records decoded on demand and names found through the string table, so a lookup costs milliseconds, not a full parse. */

import { BtfKind } from '../../elf/index.js';
import type { Btf, BtfEnumValue, BtfMember, BtfParam, BtfType } from '../../elf/index.js';
import { ProbeError } from './errors.js';

/** What the type functions of this folder need from BTF: types by id and by name. Both a parsed `Btf` and a {@link LazyBtf} provide it. */
export interface BtfSource {
  /** Number of types, void included (ids are 0 … count-1). */
  readonly count: number;
  /** The type with this id; ProbeError `E_PROBE_BTF` when out of range. */
  type(id: number): BtfType;
  /** Every type named `name` (optionally of one kind), by id. */
  byName(name: string, kind?: BtfKind): BtfType[];
  /** Every type id, in order (for listings that walk all types). */
  ids(): Iterable<number>;
  /** The kind of type `id`, without decoding the rest of it. */
  kindOf(id: number): BtfKind;
  /** The name of type `id`, without decoding the rest of it. */
  nameOf(id: number): string;
}

/** A {@link BtfSource} over a fully parsed `Btf` (object files, tests). */
export function btfSource(btf: Btf): BtfSource {
  return {
    count: btf.types.length,
    type(id) {
      const t = btf.types[id];
      if (t === undefined) throw new ProbeError('E_PROBE_BTF', `btf type id ${id} out of range`);
      return t;
    },
    byName: (name, kind) => btf.byName(name, kind),
    ids: () => btf.types.keys(),
    kindOf: (id) => btf.types[id]?.kind ?? BtfKind.UNKN,
    nameOf: (id) => btf.types[id]?.name ?? '',
  };
}

const BTF_MAGIC = 0xeb9f;
/** Bytes after the 12-byte header: a fixed part plus `vlen` entries, by kind (as <linux/btf.h>). */
const KIND_EXTRA: readonly (readonly [number, number])[] = [
  [0, 0], [4, 0], [0, 0], [12, 0], [0, 12], [0, 12], [0, 8], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0],
  [0, 0], [0, 8], [4, 0], [0, 12], [0, 0], [4, 0], [0, 0], [0, 12],
];

/**
 * Raw BTF with an offset table: opening it walks the type headers once (a few milliseconds
 * for vmlinux); a type is decoded the first time it is asked for; `byName` finds the name in
 * the string table and then the types whose name offset is that string.
 */
export class LazyBtf implements BtfSource {
  readonly count: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly le: boolean;
  private readonly offsets: Uint32Array;
  /** Each type's name offset, read during the header walk (what `byName` scans). */
  private readonly nameOffs: Uint32Array;
  private readonly strStart: number;
  private readonly strEnd: number;
  private readonly cache = new Map<number, BtfType>();
  private strings: string | undefined;
  /** Name → type ids, built once lookups become frequent (a listing, a big script). */
  private index: Map<string, number[]> | undefined;
  private lookups = 0;

  constructor(bytes: Uint8Array) {
    const fail = (msg: string): never => {
      throw new ProbeError('E_PROBE_BTF', msg);
    };
    if (bytes.length < 24) fail('btf too short for its header');
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = v.getUint16(0, true) === BTF_MAGIC;
    if (!le && v.getUint16(0, false) !== BTF_MAGIC) fail('not btf (bad magic)');
    const hdr = v.getUint32(4, le);
    const tStart = hdr + v.getUint32(8, le);
    const tEnd = tStart + v.getUint32(12, le);
    this.strStart = hdr + v.getUint32(16, le);
    this.strEnd = this.strStart + v.getUint32(20, le);
    if (tEnd > bytes.length || this.strEnd > bytes.length) fail('btf sections past end of data');
    const offs: number[] = [0];
    const names: number[] = [0];
    for (let at = tStart; at < tEnd;) {
      if (at + 12 > tEnd) fail(`btf type ${offs.length} truncated`);
      offs.push(at);
      names.push(v.getUint32(at, le));
      const info = v.getUint32(at + 4, le);
      const extra = KIND_EXTRA[(info >>> 24) & 0x1f];
      if (extra === undefined) fail(`unknown btf kind ${(info >>> 24) & 0x1f}`);
      at += 12 + extra[0] + extra[1] * (info & 0xffff);
      if (at > tEnd) fail(`btf type ${offs.length - 1} past end of type section`);
    }
    this.bytes = bytes;
    this.view = v;
    this.le = le;
    this.offsets = Uint32Array.from(offs);
    this.nameOffs = Uint32Array.from(names);
    this.count = offs.length;
  }

  private stringTable(): string {
    // latin-1 keeps one char per byte, so string offsets are char offsets.
    this.strings ??= new TextDecoder('latin1').decode(this.bytes.subarray(this.strStart, this.strEnd));
    return this.strings;
  }

  /** The string at `off` in the string section. */
  string(off: number): string {
    if (off === 0) return '';
    const all = this.stringTable();
    const end = all.indexOf('\0', off);
    return all.slice(off, end < 0 ? all.length : end);
  }

  type(id: number): BtfType {
    const hit = this.cache.get(id);
    if (hit) return hit;
    if (!Number.isInteger(id) || id < 0 || id >= this.count) throw new ProbeError('E_PROBE_BTF', `btf type id ${id} out of range (${this.count - 1} types)`);
    const t = id === 0 ? { id: 0, kind: BtfKind.UNKN, name: '', kindFlag: false, vlen: 0, size: 0, type: 0 } : this.decode(id);
    this.cache.set(id, t);
    return t;
  }

  private decode(id: number): BtfType {
    const v = this.view;
    const le = this.le;
    const at = this.offsets[id];
    const info = v.getUint32(at + 4, le);
    const kind = ((info >>> 24) & 0x1f) as BtfKind;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const sizeOrType = v.getUint32(at + 8, le);
    const t: BtfType = { id, kind, name: this.string(v.getUint32(at, le)), kindFlag, vlen, size: 0, type: 0 };
    const p = at + 12;
    switch (kind) {
      case BtfKind.INT: {
        const x = v.getUint32(p, le);
        t.size = sizeOrType;
        t.int = { encoding: (x >>> 24) & 0xf, offset: (x >>> 16) & 0xff, bits: x & 0xff };
        break;
      }
      case BtfKind.ARRAY:
        t.array = { type: v.getUint32(p, le), indexType: v.getUint32(p + 4, le), nelems: v.getUint32(p + 8, le) };
        break;
      case BtfKind.STRUCT: case BtfKind.UNION: {
        t.size = sizeOrType;
        const ms: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 12;
          const off = v.getUint32(q + 8, le);
          ms.push({ name: this.string(v.getUint32(q, le)), type: v.getUint32(q + 4, le), bitOffset: kindFlag ? off & 0xffffff : off, bitSize: kindFlag ? off >>> 24 : 0 });
        }
        t.members = ms;
        break;
      }
      case BtfKind.ENUM: case BtfKind.ENUM64: {
        t.size = sizeOrType;
        const vs: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++) {
          if (kind === BtfKind.ENUM) {
            const q = p + i * 8;
            vs.push({ name: this.string(v.getUint32(q, le)), value: BigInt(kindFlag ? v.getInt32(q + 4, le) : v.getUint32(q + 4, le)) });
          } else {
            const q = p + i * 12;
            const x = (BigInt(v.getUint32(q + 8, le)) << 32n) | BigInt(v.getUint32(q + 4, le));
            vs.push({ name: this.string(v.getUint32(q, le)), value: kindFlag ? BigInt.asIntN(64, x) : x });
          }
        }
        t.enumValues = vs;
        break;
      }
      case BtfKind.FUNC_PROTO: {
        t.type = sizeOrType;
        const ps: BtfParam[] = [];
        for (let i = 0; i < vlen; i++) ps.push({ name: this.string(v.getUint32(p + i * 8, le)), type: v.getUint32(p + i * 8 + 4, le) });
        t.params = ps;
        break;
      }
      case BtfKind.VAR:
        t.type = sizeOrType;
        t.linkage = v.getUint32(p, le);
        break;
      case BtfKind.DATASEC: case BtfKind.FLOAT:
        t.size = sizeOrType;
        break;
      case BtfKind.DECL_TAG:
        t.type = sizeOrType;
        t.componentIdx = v.getInt32(p, le);
        break;
      default:
        t.type = sizeOrType;
    }
    return t;
  }

  /** The kind of type `id` without decoding it. */
  kindOf(id: number): BtfKind {
    return id === 0 ? BtfKind.UNKN : (((this.view.getUint32(this.offsets[id] + 4, this.le) >>> 24) & 0x1f) as BtfKind);
  }

  nameOf(id: number): string {
    return this.string(this.nameOffs[id] ?? 0);
  }

  byName(name: string, kind?: BtfKind): BtfType[] {
    if (name === '') return [];
    const out: BtfType[] = [];
    const names = this.nameOffs;
    // A few lookups scan the name offsets; past that, one index pays for itself.
    if (!this.index && ++this.lookups > 16) {
      const idx = new Map<string, number[]>();
      for (let id = 1; id < names.length; id++) {
        if (names[id] === 0) continue;
        const n = this.string(names[id]);
        const l = idx.get(n);
        if (l) l.push(id);
        else idx.set(n, [id]);
      }
      this.index = idx;
    }
    if (this.index) {
      for (const id of this.index.get(name) ?? []) if (kind === undefined || this.kindOf(id) === kind) out.push(this.type(id));
      return out;
    }
    // The string section is deduplicated, so a name is usually one offset; then one pass over
    // the name offsets (a u32 read per type) finds its types.
    const all = this.stringTable();
    const needle = `\0${name}\0`;
    for (let at = all.indexOf(needle); at >= 0; at = all.indexOf(needle, at + 1)) {
      for (let id = names.indexOf(at + 1, 1); id >= 0; id = names.indexOf(at + 1, id + 1)) {
        if (kind === undefined || this.kindOf(id) === kind) out.push(this.type(id));
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  *ids(): Iterable<number> {
    for (let id = 0; id < this.count; id++) yield id;
  }
}

/** Where the running kernel's BTF is. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

let vmlinux: Promise<LazyBtf> | undefined;

/**
 * The running kernel's BTF (read once per process). ProbeError `E_PROBE_NO_BTF` when the
 * kernel has none (built without CONFIG_DEBUG_INFO_BTF).
 */
export function kernelBtf(path = VMLINUX_BTF_PATH): Promise<LazyBtf> {
  const load = async (): Promise<LazyBtf> => {
    const fs = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(path));
    } catch (cause) {
      throw new ProbeError('E_PROBE_NO_BTF', `this kernel exposes no btf at ${path}`, { cause, hint: 'the kernel needs CONFIG_DEBUG_INFO_BTF for struct types and raw tracepoint arguments' });
    }
    return new LazyBtf(bytes);
  };
  if (path !== VMLINUX_BTF_PATH) return load();
  vmlinux ??= load();
  vmlinux.catch(() => {
    vmlinux = undefined;
  });
  return vmlinux;
}
