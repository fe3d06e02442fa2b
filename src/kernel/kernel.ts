/** `Kernel`: the Linux backend's entry point — create maps and load specs into the kernel, mirroring `vm.load(spec)`. */

import type { MapSpec, ProgramSpec } from '../ebpf/index.js';
import { BpfkitError } from '../util/index.js';
import { LiveCapture } from './capture.js';
import { KernelCollectionLoader } from './collection-loader.js';
import type { CaptureOptions } from './capture.js';
import { KernelMap } from './map.js';
import { KernelProgram } from './program.js';
import type { ProgramLoadOptions } from './program.js';
import { Probes } from './probe.js';
import { loadSys } from './sys.js';
import type { Sys } from './sys.js';

/** Options for {@link Kernel.open}. */
export interface KernelOptions {
  /** The OS seam; defaults to the real one (koffi). Tests pass a `FakeSys`. */
  sys?: Sys;
  /** Possible CPUs (per-CPU map value sizes); read from sysfs by default. */
  possibleCpus?: number;
}

/** Parses a sysfs CPU list such as `0-3,5` into a count. */
export function parseCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

async function readPossibleCpus(): Promise<number> {
  try {
    // Synchronous: a sysfs file is generated in memory, and an async read is several thread-pool round trips.
    const fs = await import('node:fs');
    return parseCpuList(fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  } catch {
    return 1;
  }
}

/** The Linux kernel as a backend: `kernel.load(spec)` returns a program whose maps live in the kernel. */
export class Kernel {
  readonly sys: Sys;
  readonly possibleCpus: number;
  /** Feature probes (memoized). */
  readonly probes: Probes;

  constructor(sys: Sys, possibleCpus = 1) {
    this.sys = sys;
    this.possibleCpus = possibleCpus;
    this.probes = new Probes(sys);
  }

  /** Opens the backend: loads the FFI (real seam) and reads the CPU count. */
  static async open(options: KernelOptions = {}): Promise<Kernel> {
    const sys = options.sys ?? (await loadSys());
    const cpus = options.possibleCpus ?? (options.sys ? 1 : await readPossibleCpus());
    return new Kernel(sys, cpus);
  }

  /** Creates a map in the kernel. */
  createMap(spec: MapSpec): KernelMap {
    return KernelMap.create(this.sys, spec, { possibleCpus: this.possibleCpus });
  }

  /** Opens a map pinned on bpffs. */
  openPinnedMap(path: string): KernelMap {
    return KernelMap.fromPin(this.sys, path, { possibleCpus: this.possibleCpus });
  }

  /** Opens a program pinned on bpffs. */
  openPinnedProgram(path: string): KernelProgram {
    return KernelProgram.fromPin(this.sys, path);
  }

  /**
   * Loads a program spec. Maps in `spec.maps` are created (unless `options.maps` already
   * has one by that name) and closed with the program; `program.maps` has them by name.
   */
  load(spec: ProgramSpec, options: ProgramLoadOptions = {}): KernelProgram {
    const maps = new Map(options.maps ?? []);
    const created: KernelMap[] = [];
    try {
      for (const ms of spec.maps ?? []) {
        if (maps.has(ms.name)) continue;
        const m = this.createMap(ms);
        created.push(m);
        maps.set(ms.name, m);
      }
      return KernelProgram.load(this.sys, spec, { ...options, maps }, created);
    } catch (e) {
      for (const m of created) m.close();
      throw e instanceof BpfkitError && !e.message.startsWith('load program') ? e.withContext(`load program "${spec.name}"`) : e;
    }
  }

  /** The kernel as a collection backend: `loadCollection(bytes, kernel)` creates, fills and loads through it. */
  collectionLoader(): KernelCollectionLoader {
    return new KernelCollectionLoader(this.sys, this.possibleCpus);
  }

  /** Opens a live capture on an interface (AF_PACKET; needs root or CAP_NET_RAW). */
  capture(options: CaptureOptions): LiveCapture {
    return LiveCapture.open(this.sys, options);
  }

  /** Throws an UnsupportedError when the kernel lacks a feature (`prog:xdp`, `map:ringbuf`, `attach:fentry`...). */
  requireFeature(feature: string): void {
    this.probes.require(feature);
  }
}

/** Opens the Linux kernel backend (see {@link Kernel.open}). */
export function openKernel(options: KernelOptions = {}): Promise<Kernel> {
  return Kernel.open(options);
}
