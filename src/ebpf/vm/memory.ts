/** The VM's memory model: one linear buffer holding separate regions, 64-bit pointers that name a region, and typed faults. */

import { RuntimeFault } from '../../util/index.js';

/**
 * A pointer is `(region id << 32) + 2^31 + offset`: programs can add to and compare pointers,
 * and every access is checked against the region it names. The 2^31 bias keeps a pointer
 * that strays below its region inside the same region id (an out-of-bounds access, not a
 * neighbour). Region 0 does not exist, so a scalar below 2^32 never dereferences.
 */
export const REGION_SHIFT = 32n;
/** The bias added to offsets inside a pointer. */
export const OFFSET_BIAS = 0x80000000;
/** How many regions one run may hold (the table lives inside linear memory for the JIT: 16 bytes each). */
export const MAX_REGIONS = 65536;
/** Frames a program may nest (BPF-to-BPF calls and helper callbacks), as in the kernel. */
export const MAX_CALL_DEPTH = 8;
/** Bytes of stack each frame gets. */
export const STACK_SIZE = 512;

/** The context region when the program type converts fields on access (`__sk_buff`, `xdp_md`). */
export const CTX_REGION = 1;
/** Stack frame `d` is region `STACK_REGION + d`. */
export const STACK_REGION = 2;
/** The first region id handed out per run (packet, memory, map values, helper memory). */
export const FIRST_DYNAMIC_REGION = STACK_REGION + MAX_CALL_DEPTH;

/** Linear-memory layout shared by the interpreter and the JIT (byte offsets). */
export const Layout = {
  /** i32: non-zero when a helper asked the program to stop (unwind, ld_abs out of bounds, tail call). */
  STOP: 0,
  /** i32: the frame depth of the instruction calling a helper (callbacks run one deeper). */
  DEPTH: 4,
  /** i64: instructions left before the run faults. */
  BUDGET: 8,
  /** i64 x 5: r1..r5 at entry. */
  ARGS: 16,
  /** i64 x 10: r0..r9 when the JIT hands a run over to the interpreter (over ARGS, which are read at entry only). */
  SPILL: 16,
  /** The region table: per id four u32 words — base, readable length, writable length, spare. */
  TABLE: 128,
  /** Saved r6..r9 and the return slot per frame (48 bytes each). */
  FRAMES: 128 + MAX_REGIONS * 16,
  /** The stacks, one 512-byte frame after another. */
  STACKS: 128 + MAX_REGIONS * 16 + MAX_CALL_DEPTH * 48,
  /** Where per-run allocations start (after the stacks, 64 KiB aligned). */
  HEAP: Math.ceil((128 + MAX_REGIONS * 16 + MAX_CALL_DEPTH * 48 + MAX_CALL_DEPTH * STACK_SIZE) / 65536) * 65536,
} as const;

/** Tags for values that are not memory pointers: map handles and function pointers (callbacks). */
export const MAP_HANDLE_TAG = 0x4d415000n << REGION_SHIFT;
export const FUNC_PTR_TAG = 0x46554e00n << REGION_SHIFT;

/** Fault kinds; the JIT passes the index to its fault import so both engines say the same thing. */
export const FaultKind = {
  BAD_POINTER: 0,
  OUT_OF_BOUNDS: 1,
  READ_ONLY: 2,
  BUDGET: 3,
  CALL_DEPTH: 4,
  CTX_ACCESS: 5,
  HELPER: 6,
  OUT_OF_MEMORY: 7,
  FELL_OFF: 8,
  BAD_INSN: 9,
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

const FAULT_CODES: readonly string[] = [
  'E_VM_BAD_POINTER', 'E_VM_OUT_OF_BOUNDS', 'E_VM_READ_ONLY', 'E_VM_BUDGET', 'E_VM_CALL_DEPTH',
  'E_VM_CTX_ACCESS', 'E_VM_HELPER', 'E_VM_OUT_OF_MEMORY', 'E_VM_FELL_OFF', 'E_VM_BAD_INSN',
];

/** Names a region for messages. */
function regionName(id: number, names: readonly string[]): string {
  if (id === CTX_REGION) return 'ctx';
  if (id >= STACK_REGION && id < FIRST_DYNAMIC_REGION) return `stack${id - STACK_REGION ? id - STACK_REGION : ''}`;
  return names[id] || `region ${id}`; // '' marks an id the run has not handed out
}

/** A {@link RuntimeFault} naming the instruction; `ptr`/`size` describe the access for memory faults. */
export function makeFault(kind: number, insn: number, ptr = 0n, size = 0, names: readonly string[] = []): RuntimeFault {
  const code = FAULT_CODES[kind] ?? 'E_VM_FAULT';
  const p = BigInt.asUintN(64, ptr);
  const id = Number(p >> REGION_SHIFT);
  const off = Number(p & 0xffffffffn) - OFFSET_BIAS;
  let msg: string;
  switch (kind) {
    case FaultKind.BAD_POINTER: msg = `dereference of scalar 0x${p.toString(16)} (${size} bytes)`; break;
    case FaultKind.OUT_OF_BOUNDS: msg = `out-of-bounds access of ${size} bytes at ${regionName(id, names)}+${off}`; break;
    case FaultKind.READ_ONLY: msg = `write of ${size} bytes to read-only ${regionName(id, names)}+${off}`; break;
    case FaultKind.BUDGET: msg = 'instruction budget exhausted'; break;
    case FaultKind.CALL_DEPTH: msg = `call depth exceeds ${MAX_CALL_DEPTH} frames`; break;
    case FaultKind.CTX_ACCESS: msg = `invalid ctx access of ${size} bytes at offset ${off}`; break;
    case FaultKind.HELPER: msg = `helper ${p} not available in the VM`; break;
    case FaultKind.OUT_OF_MEMORY: msg = 'vm memory exhausted'; break;
    case FaultKind.FELL_OFF: msg = 'execution fell off the end of the program'; break;
    default: msg = 'invalid instruction'; break;
  }
  return new RuntimeFault(code, msg, { position: { insn } });
}

/** Interface of the views a region can mirror (a map value): copied in, and written back after the run or around helpers. */
interface ExternalRegion {
  id: number;
  view: Uint8Array;
  writable: boolean;
  /** Which map the view belongs to (-1: none), so a helper on one map syncs only that map's regions. */
  tag: number;
}

/**
 * One buffer that holds every region of a run. The JIT hands the same buffer to
 * WebAssembly as its linear memory; the interpreter reads it through a DataView.
 * Regions that mirror outside memory (map values) are synced around helper calls.
 */
export class VmMemory {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** The region table, four u32 per id: base, readable length, writable length, spare. */
  readonly table: Uint32Array;
  /** The words before the table (STOP, DEPTH, BUDGET, ARGS) as u32: cheaper per-run stores than DataView's BigInt ones. */
  readonly head: Uint32Array;
  /** Region names for messages (indexed by id). */
  readonly names: string[] = [];
  private heapTop: number = Layout.HEAP;
  private nextRegion = FIRST_DYNAMIC_REGION;
  private external: ExternalRegion[] = [];
  private byView = new Map<Uint8Array, number>();
  private extById = new Map<number, ExternalRegion>();

  constructor(buffer: ArrayBuffer) {
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
    this.table = new Uint32Array(buffer, Layout.TABLE, MAX_REGIONS * 4);
    this.head = new Uint32Array(buffer, 0, Layout.TABLE / 4);
    for (let d = 0; d < MAX_CALL_DEPTH; d++) {
      this.setRegion(STACK_REGION + d, Layout.STACKS + d * STACK_SIZE, STACK_SIZE, STACK_SIZE);
    }
  }

  /**
   * Forgets every per-run region and allocation, and zeroes the first stack frame unless the
   * caller knows it is still zero (`stackClean`: no run since the last zeroing wrote it).
   */
  reset(stackClean = false): void {
    const t = this.table;
    // Plain stores: a few words, where fill()'s call costs more than the work (per-run overhead).
    t[CTX_REGION * 4] = 0; t[CTX_REGION * 4 + 1] = 0; t[CTX_REGION * 4 + 2] = 0; t[CTX_REGION * 4 + 3] = 0;
    if (this.nextRegion > FIRST_DYNAMIC_REGION) {
      const end = this.nextRegion * 4;
      if (end - FIRST_DYNAMIC_REGION * 4 <= 64) for (let i = FIRST_DYNAMIC_REGION * 4; i < end; i++) t[i] = 0;
      else t.fill(0, FIRST_DYNAMIC_REGION * 4, end);
    }
    this.heapTop = Layout.HEAP;
    this.nextRegion = FIRST_DYNAMIC_REGION;
    if (this.external.length) {
      this.external = [];
      this.byView.clear();
      this.extById.clear();
    }
    // Blank the names handed out (shrinking the array would reallocate it on every run).
    for (let i = FIRST_DYNAMIC_REGION; i < this.names.length; i++) this.names[i] = '';
    if (!stackClean) this.u8.fill(0, Layout.STACKS, Layout.STACKS + STACK_SIZE);
    this.head[Layout.STOP >> 2] = 0;
  }

  /** Reserves `size` zeroed bytes of linear memory (not zeroed when `zero` is false: the caller fills them); faults when the buffer is full. */
  alloc(size: number, insn = -1, zero = true): number {
    const base = (this.heapTop + 7) & ~7;
    if (base + size > this.u8.length) throw makeFault(FaultKind.OUT_OF_MEMORY, insn);
    this.heapTop = base + size;
    if (zero) this.u8.fill(0, base, base + size);
    return base;
  }

  /** Sets the bounds of region `id`. */
  setRegion(id: number, base: number, readable: number, writable: number): void {
    this.table[id * 4] = base;
    this.table[id * 4 + 1] = readable;
    this.table[id * 4 + 2] = writable;
  }

  /** Adds a region over linear bytes [base, base+len); returns its id. */
  addRegion(base: number, len: number, writable: boolean, name: string, insn = -1): number {
    if (this.nextRegion >= MAX_REGIONS) throw makeFault(FaultKind.OUT_OF_MEMORY, insn);
    const id = this.nextRegion++;
    this.setRegion(id, base, len, writable ? len : 0);
    this.names[id] = name;
    return id;
  }

  /** Copies `bytes` into a new region; returns a pointer to its start. */
  addBytes(bytes: Uint8Array, writable: boolean, name: string, insn = -1): bigint {
    return pointer(this.addBytesRegion(bytes, writable, name, insn), 0);
  }

  /** Like {@link addBytes}, returning the region id (its bytes are then {@link regionBytes}). */
  addBytesRegion(bytes: Uint8Array, writable: boolean, name: string, insn = -1): number {
    const base = this.alloc(bytes.length, insn, false);
    this.u8.set(bytes, base);
    return this.addRegion(base, bytes.length, writable, name, insn);
  }

  /**
   * A pointer to a region mirroring `view` (a map value): the same view gives the same
   * region for the whole run, so pointers compare equal and writes land in place.
   */
  mirror(view: Uint8Array, writable: boolean, name: string, insn = -1, tag = -1): bigint {
    const known = this.byView.get(view);
    if (known !== undefined) return pointer(known, 0);
    const base = this.alloc(view.length, insn);
    this.u8.set(view, base);
    const id = this.addRegion(base, view.length, writable, name, insn);
    this.byView.set(view, id);
    const e = { id, view, writable, tag };
    this.external.push(e);
    this.extById.set(id, e);
    return pointer(id, 0);
  }

  /**
   * Writes mirrored regions back to the memory they mirror (after the program, and before a
   * helper that works on their map); `tag` limits it to one map's regions.
   */
  flush(tag?: number): void {
    for (const e of this.external) {
      if (!e.writable || (tag !== undefined && e.tag !== tag)) continue;
      const base = this.table[e.id * 4];
      e.view.set(this.u8.subarray(base, base + e.view.length));
    }
  }

  /** Reads mirrored regions again (after a helper that may have changed their map); `tag` limits it to one map. */
  reload(tag?: number): void {
    for (const e of this.external) {
      if (tag !== undefined && e.tag !== tag) continue;
      const base = this.table[e.id * 4];
      this.u8.set(e.view, base);
    }
  }

  /** The linear address of `size` bytes at `ptr`, checked; faults name instruction `insn`. */
  resolve(ptr: bigint, size: number, write: boolean, insn: number): number {
    const p = BigInt.asUintN(64, ptr);
    const id = Number(p >> REGION_SHIFT);
    const off = Number(p & 0xffffffffn) - OFFSET_BIAS;
    if (id === 0 || id >= MAX_REGIONS || (this.table[id * 4 + 1] === 0 && id !== CTX_REGION && this.table[id * 4] === 0)) {
      throw makeFault(FaultKind.BAD_POINTER, insn, p, size, this.names);
    }
    const limit = this.table[id * 4 + (write ? 2 : 1)];
    if (off < 0 || off + size > limit) {
      if (write && off >= 0 && off + size <= this.table[id * 4 + 1]) throw makeFault(FaultKind.READ_ONLY, insn, p, size, this.names);
      throw makeFault(FaultKind.OUT_OF_BOUNDS, insn, p, size, this.names);
    }
    return this.table[id * 4] + off;
  }

  /** A copy of `len` bytes at `ptr`. */
  read(ptr: bigint, len: number, insn: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    const a = this.resolve(ptr, len, false, insn);
    return this.u8.slice(a, a + len);
  }

  /** Writes `bytes` at `ptr`. */
  write(ptr: bigint, bytes: Uint8Array, insn: number): void {
    if (bytes.length === 0) return;
    const a = this.resolve(ptr, bytes.length, true, insn);
    this.u8.set(bytes, a);
    // A helper writing into a mirrored map value writes the map too, so a later reload keeps it.
    const e = this.extById.get(regionOf(ptr));
    if (e) e.view.set(bytes, a - this.table[e.id * 4]);
  }

  /** Writes back the one region mirroring `view` (a ring buffer record being submitted). */
  flushView(view: Uint8Array): void {
    const id = this.byView.get(view);
    if (id === undefined) return;
    const base = this.table[id * 4];
    view.set(this.u8.subarray(base, base + view.length));
  }

  /** Reads again the one region mirroring `view`, if any (after a map update replaced it in place). */
  reloadView(view: Uint8Array): void {
    const id = this.byView.get(view);
    if (id !== undefined) this.u8.set(view, this.table[id * 4]);
  }

  /** How many bytes are readable from `ptr` to the end of its region (0 for a non-pointer). */
  readableFrom(ptr: bigint): number {
    const p = BigInt.asUintN(64, ptr);
    const id = Number(p >> REGION_SHIFT);
    const off = Number(p & 0xffffffffn) - OFFSET_BIAS;
    if (id === 0 || id >= MAX_REGIONS || off < 0) return 0;
    return Math.max(0, this.table[id * 4 + 1] - off);
  }

  /** The base linear address and length of a region (for run results). */
  regionBytes(id: number): Uint8Array {
    const base = this.table[id * 4];
    return this.u8.subarray(base, base + this.table[id * 4 + 1]);
  }
}

/** Pointers to the start of the first regions, made once: BigInt arithmetic is a large part of a short run. */
const REGION_STARTS: bigint[] = [];
for (let id = 0; id < 64; id++) REGION_STARTS.push((BigInt(id) << REGION_SHIFT) + BigInt(OFFSET_BIAS));

/** The pointer to byte `off` of region `id`. */
export function pointer(id: number, off: number): bigint {
  if (off === 0 && id < REGION_STARTS.length) return REGION_STARTS[id];
  return (BigInt(id) << REGION_SHIFT) + BigInt(OFFSET_BIAS + off);
}

/** The offset inside its region that a pointer names (negative below the region). */
export function offsetOf(ptr: bigint): number {
  return Number(BigInt.asUintN(64, ptr) & 0xffffffffn) - OFFSET_BIAS;
}

/** The region id a pointer names. */
export function regionOf(ptr: bigint): number {
  return Number(BigInt.asUintN(64, ptr) >> REGION_SHIFT);
}
