/** `openCollection`: libbpf's open → set `.rodata` → load lifecycle (a skeleton's `obj->rodata->x = …`), with global variables as plain fields. */

import type { BpfMap, BpfProgram, CollectionBackend, VmMap, VmProgram, vm } from '../ebpf/index.js';
import { UsageError } from '../util/index.js';
import { BtfKind, type Btf } from './btf.js';
import { loadCollection, type Collection, type LoadCollectionOptions } from './collection.js';
import { loadCollectionSpec, type CollectionOptions, type CollectionSpec } from './loader.js';

/** A global variable's value: integers of up to 4 bytes as numbers, 8-byte ones as bigints, anything else as bytes. */
export type GlobalValue = number | bigint | Uint8Array;

/** An opened object: its spec and its `.rodata` variables, which may be changed until `load`. */
export interface OpenedCollection<R extends Record<string, GlobalValue> = Record<string, GlobalValue>> {
  readonly spec: CollectionSpec;
  /** `.rodata` variables by name, read from the object; assign to change what is loaded. */
  readonly rodata: R;
  /** Loads into a backend with the variables as they are now (the VM when none is given). */
  load(backend?: typeof vm, options?: LoadCollectionOptions): Collection<VmMap, VmProgram>;
  load<M extends BpfMap, P extends BpfProgram>(backend: CollectionBackend<M, P>, options?: LoadCollectionOptions): Collection<M, P>;
}

function readVariable(btf: Btf, bytes: Uint8Array, offset: number, size: number, typeId: number): GlobalValue {
  const t = btf.resolve(typeId);
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, size);
  const le = btf.littleEndian;
  const isInt = t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;
  const signed = t.kind === BtfKind.INT ? ((t.int?.encoding ?? 0) & 1) !== 0 : t.kindFlag;
  if (!isInt || ![1, 2, 4, 8].includes(size)) return bytes.slice(offset, offset + size);
  if (size === 8) return signed ? v.getBigInt64(0, le) : v.getBigUint64(0, le);
  if (size === 4) return signed ? v.getInt32(0, le) : v.getUint32(0, le);
  if (size === 2) return signed ? v.getInt16(0, le) : v.getUint16(0, le);
  return signed ? v.getInt8(0) : v.getUint8(0);
}

/**
 * Opens a clang object without loading it (libbpf's `bpf_object__open` / a skeleton's `open`):
 * its `.rodata` variables are plain fields to change, then `load` creates everything with them.
 * The type parameter is the `Rodata` interface `bpfkit gen types` writes.
 *
 * @example
 * const obj = openCollection<Rodata>(readFileSync('xdp_fw.o'), { name: 'xdp_fw' });
 * obj.rodata.blocked_port = 80;
 * using coll = obj.load(await Kernel.open());
 */
export function openCollection<R extends Record<string, GlobalValue> = Record<string, GlobalValue>>(
  bytes: Uint8Array, options: CollectionOptions & { name?: string } = {},
): OpenedCollection<R> {
  const spec = loadCollectionSpec(bytes, options);
  const initial: Record<string, GlobalValue> = {};
  const btf = spec.btf;
  for (const sec of btf?.types ?? []) {
    if (sec.kind !== BtfKind.DATASEC || !sec.name.startsWith('.rodata')) continue;
    const data = spec.maps.get(sec.name)?.initialValue;
    if (!data) continue;
    for (const si of sec.secinfos ?? []) {
      const v = btf!.types[si.type];
      if (v?.kind === BtfKind.VAR) initial[v.name] = readVariable(btf!, data, si.offset, si.size, v.type);
    }
  }
  const rodata = { ...initial } as R;
  const load = (backend?: CollectionBackend | typeof vm, loadOptions: LoadCollectionOptions = {}): Collection => {
    const constants: Record<string, GlobalValue> = { ...(loadOptions.constants ?? {}) };
    for (const [k, v] of Object.entries(rodata)) {
      if (!(k in initial)) throw new UsageError('E_COLL_CONST', `no .rodata variable "${k}" in the object (it has ${Object.keys(initial).join(', ') || 'none'})`);
      if (v !== initial[k]) constants[k] = v;
    }
    const opts = { name: options.name, ...(options.targetBtf ? { targetBtf: options.targetBtf } : {}), ...loadOptions, constants };
    // Re-read for each load: the bytes give a fresh spec, so one opened object can load into both backends.
    return backend === undefined || !('collectionLoader' in backend) ? loadCollection(bytes, backend as typeof vm | undefined, opts) : loadCollection(bytes, backend, opts);
  };
  return { spec, rodata, load: load as OpenedCollection<R>['load'] };
}
