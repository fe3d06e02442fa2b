/** The seam a backend (VM or kernel) offers the collection loader: create maps, load programs, name objects by fd, freeze and pin. */

import type { BpfMap, BpfProgram, MapSpec, ProgramSpec } from './spec.js';

/** What a backend needs besides the spec to load one program of a collection. */
export interface CollectionProgramContext {
  /** The object's BTF, fixed for the kernel (DATASEC sizes and offsets filled in); func_info and line_info refer to it. */
  btf?: Uint8Array;
  /** `attach_btf_id` of a tp_btf/fentry/lsm program, found in the target BTF. */
  attachBtfId?: number;
}

/**
 * One backend's side of `loadCollection`: every step that touches the backend's objects.
 * The VM's and the kernel's implementations differ only in where the objects live.
 */
export interface CollectionLoader<M extends BpfMap = BpfMap, P extends BpfProgram = BpfProgram> {
  /** `'vm'` or `'kernel'`. */
  readonly backend: string;
  /** The BTF CO-RE relocations resolve against when the caller names none (the running kernel's vmlinux), raw bytes. */
  coreTarget(): Uint8Array | undefined;
  /** Creates a map; an outer map-in-map makes its inner template from `spec.innerMap` itself. `btf`: the object's BTF its type ids refer to. */
  createMap(spec: MapSpec, btf?: Uint8Array): M;
  /** Loads one program with its maps bound by the names its `lddw`s use. */
  loadProgram(spec: ProgramSpec, maps: ReadonlyMap<string, M>, context: CollectionProgramContext): P;
  /** The number a program array or map-in-map slot holds for this object (an fd, or a VM handle). */
  fdOf(obj: M | P): number;
  /** BPF_MAP_FREEZE: the syscall side may no longer write the map. */
  freeze(map: M): void;
  /** Pins a map at a path (bpffs in the kernel, a per-process namespace in the VM). */
  pin(map: M, path: string): void;
  /** Opens a pinned map, or undefined when nothing is pinned there. */
  openPinned(path: string): M | undefined;
  /** Closes a map the collection created or opened (a pinned map lives on in its pin). */
  closeMap(map: M): void;
  /** Releases what the loader holds itself (the kernel's BTF fd); the maps and programs belong to the collection. */
  close(): void;
}

/** A backend that can load collections: the VM (`vm`) and the kernel (`Kernel`). */
export interface CollectionBackend<M extends BpfMap = BpfMap, P extends BpfProgram = BpfProgram> {
  collectionLoader(): CollectionLoader<M, P>;
}
