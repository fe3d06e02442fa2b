/** The VM's side of `loadCollection`: maps from `createMap`, programs from `vm.load`, pins in a per-process namespace standing in for bpffs. */

import type { CollectionLoader, CollectionProgramContext } from '../collection-loader.js';
import { createMap, handleOf, type VmMap } from '../maps/index.js';
import type { MapSpec, ProgramSpec } from '../spec.js';
import type { VmHost } from './helpers.js';
import { load, type EngineKind, type VmProgram } from './program.js';

/** Options of the VM backend for collections. */
export interface VmCollectionOptions {
  /** `'jit'` (default where WebAssembly exists) or `'interp'`. */
  engine?: EngineKind;
  /** Task, clocks, probe memory and output sinks every program of the collection sees. */
  host?: VmHost;
  /** Where pinned maps live (default: one namespace for the whole process, as bpffs is one per machine). */
  pins?: Map<string, VmMap>;
  /** Raw BTF CO-RE relocations resolve against (a vmlinux BTF the host supplies); default: the object's own BTF. */
  coreTarget?: Uint8Array;
  /** Run the VM's verifier on each program before loading it (default true); `false` loads any well-formed program. */
  verify?: boolean;
}

/** The process-wide stand-in for /sys/fs/bpf: pinned VM maps by path. */
const VM_PINS = new Map<string, VmMap>();

class VmCollectionLoader implements CollectionLoader<VmMap, VmProgram> {
  readonly backend = 'vm';
  private readonly pins: Map<string, VmMap>;

  constructor(private readonly options: VmCollectionOptions) {
    this.pins = options.pins ?? VM_PINS;
  }

  coreTarget(): Uint8Array | undefined {
    return this.options.coreTarget;
  }

  createMap(spec: MapSpec): VmMap {
    return createMap(spec);
  }

  loadProgram(spec: ProgramSpec, maps: ReadonlyMap<string, VmMap>, _context: CollectionProgramContext): VmProgram {
    const mine = new Map<string, VmMap>();
    for (const ms of spec.maps ?? []) {
      const m = maps.get(ms.name);
      if (m) mine.set(ms.name, m);
    }
    return load(spec, { engine: this.options.engine, host: this.options.host, maps: mine, verify: this.options.verify });
  }

  fdOf(obj: VmMap | VmProgram): number {
    return handleOf(obj);
  }

  freeze(map: VmMap): void {
    map.freeze();
  }

  pin(map: VmMap, path: string): void {
    this.pins.set(path, map);
  }

  openPinned(path: string): VmMap | undefined {
    return this.pins.get(path);
  }

  closeMap(map: VmMap): void {
    // A pin holds the map as bpffs holds a kernel map: closing the collection leaves it open.
    for (const m of this.pins.values()) if (m === map) return;
    map.close();
  }

  close(): void {
    // Nothing of its own: the maps and programs belong to the collection.
  }
}

/**
 * The VM as a collection backend: `loadCollection(bytes, vmBackend({ engine: 'interp' }))`.
 * (`loadCollection(bytes, vm)` uses the defaults.)
 */
export function vmBackend(options: VmCollectionOptions = {}): { collectionLoader(): CollectionLoader<VmMap, VmProgram> } {
  return { collectionLoader: () => new VmCollectionLoader(options) };
}
