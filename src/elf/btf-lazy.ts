/** BTF read on demand: the type records are located once, a type is decoded the first time it is asked for, names are found in the string section. */

import { elfFail } from './elf-error.js';
import { BtfKind, btfLayout, btfString, btfStringSection, decodeBtfType, type BtfType } from './btf.js';

const VOID: BtfType = { id: 0, kind: BtfKind.UNKN, name: '', kindFlag: false, vlen: 0, size: 0, type: 0 };

/**
 * The kernel's BTF (/sys/kernel/btf/vmlinux, ~5 MB and ~130k types) as a program needs it: a
 * few structs and typedefs. Opening walks the record headers once (a few milliseconds); a type
 * is decoded as {@link parseBtf} decodes it, on first use; `byName` finds the name in the string
 * section, then the types whose name is that string, and builds a name index only once lookups
 * become frequent (a listing, a large script). Throws a FormatError (`E_BTF_*`) as parseBtf does.
 */
export class LazyBtf {
  /** Number of types, void included (ids are 0 … count-1). */
  readonly count: number;
  readonly littleEndian: boolean;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly offsets: Uint32Array;
  /** Each type's name offset, read during the header walk (what `byName` scans). */
  private readonly nameOffs: Uint32Array;
  private readonly strStart: number;
  private readonly strEnd: number;
  private readonly typesStart: number;
  private readonly cache = new Map<number, BtfType>();
  private strings: { text: string; ascii: boolean } | undefined;
  /** Name → type ids, built once lookups become frequent. */
  private index: Map<string, number[]> | undefined;
  private lookups = 0;

  constructor(bytes: Uint8Array) {
    const layout = btfLayout(bytes);
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = layout.littleEndian;
    this.offsets = layout.offsets;
    this.nameOffs = layout.nameOffsets;
    this.strStart = layout.stringsStart;
    this.strEnd = layout.stringsEnd;
    this.typesStart = layout.typesStart;
    this.count = layout.offsets.length;
  }

  private section(): { text: string; ascii: boolean } {
    this.strings ??= btfStringSection(this.bytes.subarray(this.strStart, this.strEnd));
    return this.strings;
  }

  /** The string at `off` in the string section. */
  string(off: number): string {
    if (off === 0) return '';
    if (off >= this.strEnd - this.strStart) elfFail('E_BTF_STRING', `string offset ${off} outside the string section`, this.strStart, '.BTF');
    return btfString(this.section(), off);
  }

  /** The type with this id; FormatError `E_BTF_TYPE_ID` when out of range. */
  type(id: number): BtfType {
    const hit = this.cache.get(id);
    if (hit) return hit;
    if (!Number.isInteger(id) || id < 0 || id >= this.count) elfFail('E_BTF_TYPE_ID', `type id ${id} out of range (${this.count - 1} types)`, this.typesStart, '.BTF');
    const t = id === 0 ? VOID : decodeBtfType(this.view, this.littleEndian, this.offsets[id], id, (off) => this.string(off));
    this.cache.set(id, t);
    return t;
  }

  /** The kind of type `id` without decoding it. */
  kindOf(id: number): BtfKind {
    if (id <= 0 || id >= this.count) return BtfKind.UNKN;
    return ((this.view.getUint32(this.offsets[id] + 4, this.littleEndian) >>> 24) & 0x1f) as BtfKind;
  }

  /** The name of type `id` without decoding the rest of it. */
  nameOf(id: number): string {
    return this.string(this.nameOffs[id] ?? 0);
  }

  /** Every type named `name` (optionally of one kind), in id order. */
  byName(name: string, kind?: BtfKind): BtfType[] {
    if (name === '') return [];
    const out: BtfType[] = [];
    const names = this.nameOffs;
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
    // the name offsets (a u32 compare per type) finds its types.
    const section = this.section();
    // A section with non-ASCII bytes is held a character per byte: the name is looked up as its UTF-8 bytes.
    let encoded = name;
    if (!section.ascii) {
      try {
        encoded = encodeURIComponent(name).replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      } catch {
        return []; // a lone surrogate: no BTF name is that
      }
    }
    const all = section.text;
    const needle = `\0${encoded}\0`;
    for (let at = all.indexOf(needle); at >= 0; at = all.indexOf(needle, at + 1)) {
      for (let id = names.indexOf(at + 1, 1); id >= 0; id = names.indexOf(at + 1, id + 1)) {
        if (kind === undefined || this.kindOf(id) === kind) out.push(this.type(id));
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Ids of the types (of `kind`, if given) whose name starts with `prefix`, in id order. The
   * prefix is found in the string section and matched against the name offsets, so no other name
   * is decoded: listing ~1,500 raw tracepoints among ~60k functions costs a scan, not 60k strings.
   */
  idsWithNamePrefix(prefix: string, kind?: BtfKind): number[] {
    const section = this.section();
    let encoded = prefix;
    if (!section.ascii) {
      try {
        encoded = encodeURIComponent(prefix).replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      } catch {
        return [];
      }
    }
    // Every string but the first (the empty one at offset 0) follows a NUL; the matching offsets are marked in a byte map.
    const starts = new Uint8Array(section.text.length + 1);
    const needle = `\0${encoded}`;
    let found = false;
    for (let at = section.text.indexOf(needle); at >= 0; at = section.text.indexOf(needle, at + 1)) {
      starts[at + 1] = 1;
      found = true;
    }
    const out: number[] = [];
    if (!found) return out;
    const names = this.nameOffs;
    for (let id = 1; id < names.length; id++) {
      if (starts[names[id]] === 1 && (kind === undefined || this.kindOf(id) === kind)) out.push(id);
    }
    return out;
  }

  /** Every type id, in order. */
  *ids(): Iterable<number> {
    for (let id = 0; id < this.count; id++) yield id;
  }
}
