/** Map op scripts run the same way on a VM map and a kernel map, so their traces and dumps can be compared. */

import { execFileSync } from 'node:child_process';
import type { BpfMap } from '../../../src/ebpf/index.js';

/** One syscall-side operation; values and keys are raw bytes, `ref` picks an object from the side's pool (fd maps). */
export type MapOp =
  | { k: 'update'; key: Uint8Array; value: Uint8Array; flags: number }
  | { k: 'updateRef'; key: Uint8Array; ref: number; flags: number }
  | { k: 'lookup'; key: Uint8Array }
  | { k: 'delete'; key: Uint8Array }
  | { k: 'next'; key?: Uint8Array }
  | { k: 'lookupAndDelete'; key?: Uint8Array }
  | { k: 'has'; value: Uint8Array }
  | { k: 'dump' };

/** The map calls both backends share (VmMap and KernelMap both have them). */
export interface ParityMap extends BpfMap {
  lookupAndDelete(key?: Uint8Array): Uint8Array | undefined;
}

/** One backend under test: its map, how a pool ref becomes a 4-byte fd/handle, and how an id read back names a pool object. */
export interface Side {
  map: ParityMap;
  /** Bloom filters: LOOKUP with the value as input. */
  has?: (value: Uint8Array) => boolean;
  refValue?: (ref: number) => Uint8Array;
  /** Turns a looked-up value into text (fd maps: the pool object the id names). */
  show?: (value: Uint8Array) => string;
}

/** How a dump reads the map at the end: walk keys, pop everything (queue/stack), or probe values (bloom). */
export type DumpKind = { k: 'keys' } | { k: 'pop' } | { k: 'probe'; values: Uint8Array[] };

export function hex(b: Uint8Array): string {
  return b.length === 0 ? '-' : Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The errno name of a map failure from either backend (MapError or SyscallError); anything else is rethrown. */
function errnoOf(e: unknown): string {
  const name = (e as { errnoName?: unknown }).errnoName;
  if (typeof name === 'string') return name;
  throw e;
}

function attempt(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return errnoOf(e);
  }
}

const show = (side: Side, v: Uint8Array | undefined): string => (v === undefined ? 'none' : side.show ? side.show(v) : hex(v));

/** Runs one op; the result is `ok`, a value, `none` (ENOENT reported as undefined), or an errno name. */
export function runOp(side: Side, op: MapOp, dump: DumpKind): string {
  const m = side.map;
  switch (op.k) {
    case 'update':
      return attempt(() => (m.set(op.key, op.value, op.flags), 'ok'));
    case 'updateRef':
      return attempt(() => (m.set(op.key, side.refValue!(op.ref), op.flags), 'ok'));
    case 'lookup':
      return attempt(() => show(side, m.get(op.key)));
    case 'delete':
      return attempt(() => (m.delete(op.key), 'ok'));
    case 'next':
      return attempt(() => {
        const k = m.nextKey(op.key);
        return k === undefined ? 'none' : hex(k);
      });
    case 'lookupAndDelete':
      return attempt(() => show(side, m.lookupAndDelete(op.key)));
    case 'has':
      return attempt(() => String(side.has!(op.value)));
    case 'dump':
      return dumpMap(side, dump);
  }
}

/** The whole content as text; a walk is bounded (maxEntries + 2 steps) so a broken nextKey cannot loop. */
export function dumpMap(side: Side, dump: DumpKind): string {
  const m = side.map;
  const out: string[] = [];
  if (dump.k === 'probe') return dump.values.map((v) => attempt(() => (side.has!(v) ? '1' : '0'))).join('');
  if (dump.k === 'pop') {
    for (let i = 0; i <= m.spec.maxEntries + 1; i++) {
      const r = attempt(() => show(side, m.lookupAndDelete()));
      out.push(r);
      if (r === 'none') break;
    }
    return out.join(' ');
  }
  let key: Uint8Array | undefined;
  for (let i = 0; i <= m.spec.maxEntries + 1; i++) {
    const r = attempt(() => {
      key = m.nextKey(key);
      return key === undefined ? 'end' : `${hex(key)}=${attempt(() => show(side, m.get(key!)))}`;
    });
    out.push(r);
    if (r === 'end' || !r.includes('=')) break;
  }
  return out.join(' ');
}

/** Runs a script: one result per op, then the final dump. */
export function runScript(side: Side, ops: readonly MapOp[], dump: DumpKind): { trace: string[]; dump: string } {
  return { trace: ops.map((op) => runOp(side, op, dump)), dump: dumpMap(side, dump) };
}

/**
 * Pins the calling thread (the one that makes the bpf() calls) to CPU 0 and returns an undo. LRU
 * maps hand out nodes from the current CPU's local free list, and the VM models syscalls made
 * on CPU 0 (`HashMap.syscallCpu`), so an unpinned thread that migrates would evict differently.
 */
export function pinToCpu0(tid: number): () => void {
  const before = /mask:\s*([0-9a-f]+)/.exec(execFileSync('taskset', ['-p', String(tid)]).toString())?.[1];
  execFileSync('taskset', ['-p', '1', String(tid)], { stdio: 'ignore' });
  return () => {
    if (before) execFileSync('taskset', ['-p', before, String(tid)], { stdio: 'ignore' });
  };
}
