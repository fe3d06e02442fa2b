/** `loadCollection`: libbpf's `bpf_object__open` + `__load` in one call, for the VM and the kernel alike (maps, global data, pins, programs, prog arrays, map-in-maps). */

import {
  MapType, vm, vmBackend,
  type BpfMap, type BpfProgram, type CollectionBackend, type CollectionLoader, type MapSpec, type ProgramSpec, type VmMap, type VmProgram,
} from '../ebpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { BtfKind, parseBtf, type Btf } from './btf.js';
import { kernelBtf } from './btf-fixup.js';
import { attachBtfId, loadCollectionSpec, type CollectionSpec } from './loader.js';

/** Options of {@link loadCollection}. */
export interface LoadCollectionOptions {
  /**
   * The object's name (libbpf: the file name up to its first dot). Internal maps are named
   * as libbpf names them in the kernel: up to 8 characters of it, then the section (`xdp_prog.rodata`).
   */
  name?: string;
  /** BTF that CO-RE relocations resolve against; default: the backend's (the kernel's vmlinux), else the object's own. */
  targetBtf?: Btf;
  /** The directory `LIBBPF_PIN_BY_NAME` maps are pinned in (default `/sys/fs/bpf`). */
  pinPath?: string;
  /**
   * Global variables to set before load, by name (cilium's `RewriteConstants`, a skeleton's
   * `rodata->x = …`): a number or bigint is written at the variable's size in the object's byte
   * order, bytes are copied as they are.
   */
  constants?: Readonly<Record<string, number | bigint | Uint8Array>>;
  /**
   * The programs to load, by name (libbpf's `bpf_program__set_autoload`); default: every program
   * but those of `SEC("?...")` sections. A prog array slot naming a program not loaded stays empty.
   */
  programs?: readonly string[];
}

/** BPF_F_RDONLY_PROG. */
const BPF_F_RDONLY_PROG = 0x80;
/** LIBBPF_PIN_BY_NAME. */
const PIN_BY_NAME = 1;
/** BPF_OBJ_NAME_LEN. */
const OBJ_NAME_LEN = 16;

/**
 * The name libbpf gives an internal (global data) map in the kernel (`internal_map_name`):
 * up to 8 characters of the object's name then the section name, 15 characters at most; a
 * section with a second dot (`.data.counters`) keeps its own name only.
 */
export function internalMapName(objectName: string, section: string): string {
  const sfx = Math.min(Math.max(7, section.length), OBJ_NAME_LEN - 1);
  const pfx = section.indexOf('.', 1) >= 0 ? 0 : Math.min(OBJ_NAME_LEN - sfx - 1, objectName.length);
  return (objectName.slice(0, pfx) + section.slice(0, sfx)).slice(0, OBJ_NAME_LEN - 1).replace(/[^A-Za-z0-9_.]/g, '_');
}

/** libbpf's object name for a file path: the base name up to its first dot (`/x/xdp_prog.bpf.o` → `xdp_prog`). */
export function objectNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot < 0 ? base : base.slice(0, dot);
}

const isDataMap = (spec: MapSpec): boolean => /^\.(data|rodata|bss)(\.|$)/.test(spec.name);

/** Everything a loaded object holds, owned by one value: closing it closes every program and map (pinned maps live on in their pins). */
export class Collection<M extends BpfMap = BpfMap, P extends BpfProgram = BpfProgram> {
  /** Maps by the object's names for them (`counters`, `.rodata`), the same keys on every backend. */
  readonly maps: ReadonlyMap<string, M>;
  /** Programs by function name. */
  readonly programs: ReadonlyMap<string, P>;
  /** What was loaded. */
  readonly spec: CollectionSpec;
  /** `'vm'` or `'kernel'`. */
  readonly backend: string;
  private closed = false;

  /** Use {@link loadCollection}. */
  constructor(spec: CollectionSpec, maps: Map<string, M>, programs: Map<string, P>, private readonly loader: CollectionLoader<M, P>) {
    this.spec = spec;
    this.maps = maps;
    this.programs = programs;
    this.backend = loader.backend;
  }

  /** The program named `name`; a UsageError (`E_COLL_PROGRAM`) names the ones there are. */
  program(name: string): P {
    const p = this.programs.get(name);
    if (!p) throw new UsageError('E_COLL_PROGRAM', `no program "${name}" in the collection (it has ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  /** The map named `name`; a UsageError (`E_COLL_MAP`) names the ones there are. */
  map(name: string): M {
    const m = this.maps.get(name);
    if (!m) throw new UsageError('E_COLL_MAP', `no map "${name}" in the collection (it has ${[...this.maps.keys()].join(', ') || 'none'})`);
    return m;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) this.loader.closeMap(m);
    this.loader.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const u32le = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};

// A parsed target BTF per raw buffer: vmlinux takes a moment to parse and is the same for every load.
const parsedTargets = new WeakMap<Uint8Array, Btf>();
function parsedTarget(raw: Uint8Array): Btf {
  let b = parsedTargets.get(raw);
  if (!b) parsedTargets.set(raw, (b = parseBtf(raw)));
  return b;
}

/** Writes `constants` into the global-data maps' initial values, by the variables' places in the DATASECs. */
function rewriteConstants(maps: Map<string, MapSpec>, btf: Btf | undefined, constants: Readonly<Record<string, number | bigint | Uint8Array>>): void {
  const le = btf?.littleEndian ?? true;
  for (const [name, value] of Object.entries(constants)) {
    let hit: { map: MapSpec; offset: number; size: number } | undefined;
    for (const sec of btf?.types ?? []) {
      if (sec.kind !== BtfKind.DATASEC || !maps.has(sec.name)) continue;
      for (const si of sec.secinfos ?? []) if (btf!.types[si.type]?.name === name) hit = { map: maps.get(sec.name)!, offset: si.offset, size: si.size };
    }
    if (!hit) throw new UsageError('E_COLL_CONST', `no global variable "${name}" in the object's data sections`);
    const m = hit.map;
    const bytes = m.initialValue ? m.initialValue.slice() : new Uint8Array(m.valueSize);
    let raw: Uint8Array;
    if (value instanceof Uint8Array) {
      raw = value;
    } else {
      raw = new Uint8Array(hit.size);
      let v = BigInt.asUintN(hit.size * 8, BigInt(value));
      for (let i = 0; i < hit.size; i++, v >>= 8n) raw[le ? i : hit.size - 1 - i] = Number(v & 0xffn);
    }
    if (raw.length !== hit.size) throw new UsageError('E_COLL_CONST', `global variable "${name}" has ${hit.size} bytes, the value ${raw.length}`);
    bytes.set(raw, hit.offset);
    maps.set(m.name, { ...m, initialValue: bytes });
  }
}

/** libbpf's `map_is_reuse_compat`: a pinned map is reused only when it is the map the object declares. */
function checkPinned(spec: MapSpec, pinned: BpfMap, path: string): void {
  const p = pinned.spec;
  const same = p.type === spec.type && p.keySize === spec.keySize && p.valueSize === spec.valueSize && p.maxEntries === spec.maxEntries && (p.flags ?? 0) === (spec.flags ?? 0);
  if (!same) {
    throw new UsageError('E_COLL_PIN', `map "${spec.name}": the map pinned at ${path} differs (type ${p.type}, key ${p.keySize}, value ${p.valueSize}, max ${p.maxEntries}, flags 0x${(p.flags ?? 0).toString(16)})`);
  }
}

/**
 * Loads a clang object (or a spec read from one) into a backend, as libbpf's
 * `bpf_object__open_mem` + `bpf_object__load` do: maps created in dependency order (plain maps,
 * then map-in-maps with their inner templates), `.data`/`.rodata`/`.bss` written with their
 * initial values and `.rodata` frozen, `LIBBPF_PIN_BY_NAME` maps reused or pinned, programs
 * loaded with the object's BTF, func_info and line_info (kernel), then prog arrays and
 * map-in-map slots filled from `.values`. On failure everything made so far is closed.
 *
 * @example
 * using coll = loadCollection(readFileSync('xdp_prog.o'), vm);            // the VM
 * using kcoll = loadCollection(readFileSync('xdp_prog.o'), await Kernel.open(), { name: 'xdp_prog' });
 * coll.program('xdp_count').testRun({ data: frame });
 */
export function loadCollection(source: Uint8Array | CollectionSpec, backend?: typeof vm, options?: LoadCollectionOptions): Collection<VmMap, VmProgram>;
export function loadCollection<M extends BpfMap, P extends BpfProgram>(source: Uint8Array | CollectionSpec, backend: CollectionBackend<M, P>, options?: LoadCollectionOptions): Collection<M, P>;
export function loadCollection(
  source: Uint8Array | CollectionSpec, backend: CollectionBackend | typeof vm = vm, options: LoadCollectionOptions = {},
): Collection {
  const be: CollectionBackend = 'collectionLoader' in backend ? backend : (vmBackend() as CollectionBackend);
  const loader = be.collectionLoader();
  const maps = new Map<string, BpfMap>();
  const programs = new Map<string, BpfProgram>();
  const made: BpfMap[] = [];
  let spec: CollectionSpec;
  try {
    let btfBytes: Uint8Array | undefined;
    let target = options.targetBtf;
    if (source instanceof Uint8Array) {
      const raw = target ? undefined : loader.coreTarget();
      if (raw) target = parsedTarget(raw);
      spec = loadCollectionSpec(source, target ? { targetBtf: target } : {});
      // The kernel takes BTF in its own byte order only (libbpf refuses a foreign-endian object's BTF).
      if (spec.btf?.littleEndian) btfBytes = kernelBtf(source);
    } else {
      spec = source;
    }
    const mapSpecs = new Map(spec.maps);
    if (options.constants) rewriteConstants(mapSpecs, spec.btf, options.constants);

    // Plain maps first, so `.values` of an outer map and the inner templates can name them.
    const ordered = [...mapSpecs.values()].sort((a, b) => Number(a.innerMap !== undefined) - Number(b.innerMap !== undefined));
    for (const ms of ordered) {
      try {
        const created = { ...ms, name: isDataMap(ms) ? internalMapName(options.name ?? '', ms.name) : ms.name };
        // bpffs refuses dots in names: libbpf's sanitize_pin_path makes them underscores.
        const path = ms.pinning === PIN_BY_NAME ? `${options.pinPath ?? '/sys/fs/bpf'}/${ms.name.replace(/\./g, '_')}` : undefined;
        const pinned = path ? loader.openPinned(path) : undefined;
        if (pinned) {
          maps.set(ms.name, pinned);
          made.push(pinned);
          checkPinned(created, pinned, path!);
          continue;
        }
        const m = loader.createMap(created, btfBytes);
        maps.set(ms.name, m);
        made.push(m);
        if (ms.initialValue) m.set(new Uint8Array(4), ms.initialValue);
        if (isDataMap(ms) && ((ms.flags ?? 0) & BPF_F_RDONLY_PROG) !== 0) loader.freeze(m);
        if (path) loader.pin(m, path);
      } catch (e) {
        throw e instanceof BpfkitError ? e.withContext(`map "${ms.name}"`) : e;
      }
    }

    const mapsByRef = maps as ReadonlyMap<string, BpfMap>;
    if (options.programs) {
      for (const n of options.programs) if (!spec.programs.has(n)) throw new UsageError('E_COLL_PROGRAM', `no program "${n}" in the object (it has ${[...spec.programs.keys()].join(', ') || 'none'})`);
    }
    const wanted = (ps: ProgramSpec): boolean => (options.programs ? options.programs.includes(ps.name) : ps.autoload !== false);
    for (const ps of spec.programs.values()) {
      if (!wanted(ps)) continue;
      try {
        const bound: ProgramSpec = { ...ps, maps: ps.maps?.map((m) => mapSpecs.get(m.name) ?? m) };
        const attach = target ? attachBtfId(ps, target) : undefined;
        programs.set(ps.name, loader.loadProgram(bound, mapsByRef, { btf: btfBytes, attachBtfId: attach }));
      } catch (e) {
        throw e instanceof BpfkitError && !e.message.startsWith('load program') ? e.withContext(`load program "${ps.name}"`) : e;
      }
    }

    // `.values = { [i] = &x }`: prog arrays get program fds, map-in-maps inner map fds.
    for (const ms of mapSpecs.values()) {
      for (const r of ms.initialRefs ?? []) {
        const isProg = ms.type === MapType.BPF_MAP_TYPE_PROG_ARRAY;
        if (isProg && spec.programs.has(r.ref) && !wanted(spec.programs.get(r.ref)!)) continue;
        const obj = isProg ? programs.get(r.ref) : maps.get(r.ref);
        if (!obj) throw new UsageError('E_COLL_REF', `map "${ms.name}" slot ${r.index} names "${r.ref}", which the object does not have`);
        try {
          maps.get(ms.name)!.set(u32le(r.index), u32le(loader.fdOf(obj)));
        } catch (e) {
          throw e instanceof BpfkitError ? e.withContext(`fill map "${ms.name}" slot ${r.index} with "${r.ref}"`) : e;
        }
      }
    }
  } catch (e) {
    for (const p of programs.values()) p.close();
    for (const m of made) loader.closeMap(m);
    loader.close();
    throw e instanceof BpfkitError ? e.withContext('load collection') : e;
  }
  return new Collection(spec, maps, programs, loader);
}
