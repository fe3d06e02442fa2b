/** Encoders for `union bpf_attr` per bpf() command, `perf_event_attr` and `sock_fprog`: pure byte layout, no syscalls. */

import { BPF_MAXINSNS, programToBytes } from '../cbpf/index.js';
import { UsageError } from '../util/index.js';

/** bpf() commands (enum bpf_cmd). */
export const BpfCmd = {
  BPF_MAP_CREATE: 0, BPF_MAP_LOOKUP_ELEM: 1, BPF_MAP_UPDATE_ELEM: 2, BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4, BPF_PROG_LOAD: 5, BPF_OBJ_PIN: 6, BPF_OBJ_GET: 7, BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9, BPF_PROG_TEST_RUN: 10, BPF_PROG_GET_NEXT_ID: 11, BPF_MAP_GET_NEXT_ID: 12,
  BPF_PROG_GET_FD_BY_ID: 13, BPF_MAP_GET_FD_BY_ID: 14, BPF_OBJ_GET_INFO_BY_FD: 15, BPF_PROG_QUERY: 16,
  BPF_RAW_TRACEPOINT_OPEN: 17, BPF_BTF_LOAD: 18, BPF_BTF_GET_FD_BY_ID: 19, BPF_TASK_FD_QUERY: 20,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21, BPF_MAP_FREEZE: 22, BPF_BTF_GET_NEXT_ID: 23, BPF_MAP_LOOKUP_BATCH: 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25, BPF_MAP_UPDATE_BATCH: 26, BPF_MAP_DELETE_BATCH: 27, BPF_LINK_CREATE: 28,
  BPF_LINK_UPDATE: 29, BPF_LINK_GET_FD_BY_ID: 30, BPF_LINK_GET_NEXT_ID: 31, BPF_ENABLE_STATS: 32,
  BPF_ITER_CREATE: 33, BPF_LINK_DETACH: 34, BPF_PROG_BIND_MAP: 35,
} as const;

/** The size of `union bpf_attr` we pass: large enough for every command we encode; the tail stays zero. */
export const BPF_ATTR_SIZE = 144;

/** The pointer of a buffer, as the seam gives it (`Sys.addressOf`); 0n for NULL. */
export type Ptr = bigint;

/** A little-endian struct writer over a zeroed buffer (the kernel rejects non-zero unknown tails). */
class StructWriter {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(new ArrayBuffer(size));
    this.dv = new DataView(this.bytes.buffer);
  }
  u16(off: number, v: number): this {
    this.dv.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.dv.setUint32(off, v >>> 0, true);
    return this;
  }
  u64(off: number, v: bigint | number): this {
    this.dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }
  /** A NUL-padded fixed-size char array; `text` is truncated to leave a NUL. */
  chars(off: number, size: number, text: string): this {
    const enc = new TextEncoder().encode(text);
    this.bytes.set(enc.subarray(0, size - 1), off);
    return this;
  }
}

/** Little-endian reads of kernel-written fields. */
export function readU32(bytes: Uint8Array, off: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(off, true);
}

/** The BPF_MAP_CREATE fields we set; `name` is truncated to 15 bytes (BPF_OBJ_NAME_LEN). */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  name?: string;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  mapExtra?: bigint;
}

/** Object names the kernel accepts: alphanumerics, '_' and '.', at most 15 bytes. */
export function objName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

/** Encodes BPF_MAP_CREATE. */
export function mapCreateAttr(a: MapCreateAttr): Uint8Array {
  const w = new StructWriter(BPF_ATTR_SIZE)
    .u32(0, a.mapType).u32(4, a.keySize).u32(8, a.valueSize).u32(12, a.maxEntries)
    .u32(16, a.mapFlags ?? 0).u32(20, a.innerMapFd ?? 0).chars(28, 16, objName(a.name ?? ''));
  if (a.btfFd !== undefined) w.u32(48, a.btfFd).u32(52, a.btfKeyTypeId ?? 0).u32(56, a.btfValueTypeId ?? 0);
  if (a.mapExtra !== undefined) w.u64(64, a.mapExtra);
  return w.bytes;
}

/**
 * BPF_MAP_LOOKUP_ELEM / UPDATE_ELEM / DELETE_ELEM / GET_NEXT_KEY / LOOKUP_AND_DELETE_ELEM:
 * `value` is the value pointer, or the next-key pointer for GET_NEXT_KEY.
 */
export function mapElemAttr(mapFd: number, key: Ptr, value: Ptr = 0n, flags = 0): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u32(0, mapFd).u64(8, key).u64(16, value).u64(24, flags).bytes;
}

/** BPF_MAP_*_BATCH fields. `count` is in/out: read it back with {@link batchCount}. */
export interface MapBatchAttr {
  mapFd: number;
  inBatch: Ptr;
  outBatch: Ptr;
  keys: Ptr;
  values: Ptr;
  count: number;
  elemFlags?: number;
  flags?: number;
}

/** Encodes BPF_MAP_LOOKUP_BATCH / UPDATE_BATCH / DELETE_BATCH / LOOKUP_AND_DELETE_BATCH. */
export function mapBatchAttr(a: MapBatchAttr): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE)
    .u64(0, a.inBatch).u64(8, a.outBatch).u64(16, a.keys).u64(24, a.values)
    .u32(32, a.count).u32(36, a.mapFd).u64(40, a.elemFlags ?? 0).u64(48, a.flags ?? 0).bytes;
}

/** The element count the kernel wrote back into a batch attr. */
export function batchCount(attr: Uint8Array): number {
  return readU32(attr, 32);
}

/** BPF_PROG_LOAD fields. */
export interface ProgLoadAttr {
  progType: number;
  insns: Ptr;
  insnCnt: number;
  license: Ptr;
  logLevel?: number;
  logBuf?: Ptr;
  logSize?: number;
  kernVersion?: number;
  progFlags?: number;
  name?: string;
  expectedAttachType?: number;
  progBtfFd?: number;
  /** `struct bpf_func_info` records (8 bytes each) and their count. */
  funcInfo?: Ptr;
  funcInfoCnt?: number;
  /** `struct bpf_line_info` records (16 bytes each) and their count. */
  lineInfo?: Ptr;
  lineInfoCnt?: number;
  attachBtfId?: number;
  attachProgFd?: number;
  fdArray?: Ptr;
}

/** Encodes BPF_PROG_LOAD (the log buffer is written by the kernel when `logLevel` > 0). */
export function progLoadAttr(a: ProgLoadAttr): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE)
    .u32(0, a.progType).u32(4, a.insnCnt).u64(8, a.insns).u64(16, a.license)
    .u32(24, a.logLevel ?? 0).u32(28, a.logSize ?? 0).u64(32, a.logBuf ?? 0n)
    .u32(40, a.kernVersion ?? 0).u32(44, a.progFlags ?? 0).chars(48, 16, objName(a.name ?? ''))
    .u32(68, a.expectedAttachType ?? 0).u32(72, a.progBtfFd ?? 0)
    .u32(76, a.funcInfoCnt ? 8 : 0).u64(80, a.funcInfo ?? 0n).u32(88, a.funcInfoCnt ?? 0)
    .u32(92, a.lineInfoCnt ? 16 : 0).u64(96, a.lineInfo ?? 0n).u32(104, a.lineInfoCnt ?? 0)
    .u32(108, a.attachBtfId ?? 0).u32(112, a.attachProgFd ?? 0).u64(120, a.fdArray ?? 0n).bytes;
}

/** The whole verifier log's size, which a 6.4+ kernel writes back into BPF_PROG_LOAD's attr (`log_true_size`; 0 from older kernels). */
export function progLoadLogTrueSize(attr: Uint8Array): number {
  return attr.length >= 144 ? readU32(attr, 140) : 0;
}

/** BPF_PROG_TEST_RUN. Sizes out, retval and duration are written back; read them with {@link testRunOut}. */
export interface TestRunAttr {
  progFd: number;
  dataIn: Ptr;
  dataSizeIn: number;
  dataOut: Ptr;
  dataSizeOut: number;
  ctxIn?: Ptr;
  ctxSizeIn?: number;
  ctxOut?: Ptr;
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
}

/** Encodes BPF_PROG_TEST_RUN. */
export function testRunAttr(a: TestRunAttr): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE)
    .u32(0, a.progFd).u32(8, a.dataSizeIn).u32(12, a.dataSizeOut).u64(16, a.dataIn).u64(24, a.dataOut)
    .u32(32, a.repeat ?? 0).u32(40, a.ctxSizeIn ?? 0).u32(44, a.ctxSizeOut ?? 0)
    .u64(48, a.ctxIn ?? 0n).u64(56, a.ctxOut ?? 0n).u32(64, a.flags ?? 0).u32(68, a.cpu ?? 0).bytes;
}

/** What the kernel wrote back into a PROG_TEST_RUN attr. */
export function testRunOut(attr: Uint8Array): { retval: number; dataSizeOut: number; duration: number; ctxSizeOut: number } {
  return { retval: readU32(attr, 4), dataSizeOut: readU32(attr, 12), duration: readU32(attr, 36), ctxSizeOut: readU32(attr, 44) };
}

/** BPF_MAP_FREEZE: just the map fd. */
export function mapFreezeAttr(mapFd: number): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u32(0, mapFd).bytes;
}

/** BPF_OBJ_PIN (pin `fd` at the path) and BPF_OBJ_GET (`fd` 0, `fileFlags` BPF_F_RDONLY/WRONLY). */
export function objAttr(pathname: Ptr, fd: number, fileFlags = 0): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u64(0, pathname).u32(8, fd).u32(12, fileFlags).bytes;
}

/** BPF_PROG_ATTACH / BPF_PROG_DETACH (cgroup, sockmap, flow dissector...). */
export function progAttachAttr(targetFd: number, progFd: number, attachType: number, attachFlags = 0, replaceFd = 0): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u32(0, targetFd).u32(4, progFd).u32(8, attachType).u32(12, attachFlags).u32(16, replaceFd).bytes;
}

/** BPF_LINK_CREATE fields; `targetBtfId` or the perf-event `bpfCookie` share the union after the header. */
export interface LinkCreateAttr {
  progFd: number;
  targetFd: number;
  attachType: number;
  flags?: number;
  targetBtfId?: number;
  bpfCookie?: bigint;
}

/** Encodes BPF_LINK_CREATE. */
export function linkCreateAttr(a: LinkCreateAttr): Uint8Array {
  const w = new StructWriter(BPF_ATTR_SIZE).u32(0, a.progFd).u32(4, a.targetFd).u32(8, a.attachType).u32(12, a.flags ?? 0);
  if (a.targetBtfId !== undefined) w.u32(16, a.targetBtfId);
  else if (a.bpfCookie !== undefined) w.u64(16, a.bpfCookie);
  return w.bytes;
}

/** BPF_LINK_DETACH. */
export function linkDetachAttr(linkFd: number): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u32(0, linkFd).bytes;
}

/** BPF_RAW_TRACEPOINT_OPEN: `name` points at a NUL-terminated tracepoint name. */
export function rawTracepointOpenAttr(name: Ptr, progFd: number): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u64(0, name).u32(8, progFd).bytes;
}

/** BPF_BTF_LOAD. */
export function btfLoadAttr(btf: Ptr, btfSize: number, logBuf: Ptr = 0n, logSize = 0, logLevel = 0): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u64(0, btf).u64(8, logBuf).u32(16, btfSize).u32(20, logSize).u32(24, logLevel).bytes;
}

/** BPF_OBJ_GET_INFO_BY_FD: `info` points at a buffer of `infoLen` bytes (bpf_prog_info, bpf_map_info...). */
export function objGetInfoAttr(fd: number, info: Ptr, infoLen: number): Uint8Array {
  return new StructWriter(BPF_ATTR_SIZE).u32(0, fd).u32(4, infoLen).u64(8, info).bytes;
}

/** The leading fields of `struct bpf_map_info`. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  /** The BTF object the map was created with (0: none), and its key and value type ids there. */
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
}

/** Size of the `bpf_map_info` prefix we read (the kernel copies min(ours, its) bytes). */
export const BPF_MAP_INFO_SIZE = 88;

/** Decodes the `bpf_map_info` prefix OBJ_GET_INFO_BY_FD wrote. */
export function decodeMapInfo(info: Uint8Array): MapInfo {
  const nameBytes = info.subarray(24, 40);
  const nul = nameBytes.indexOf(0);
  return {
    type: readU32(info, 0), id: readU32(info, 4), keySize: readU32(info, 8), valueSize: readU32(info, 12),
    maxEntries: readU32(info, 16), mapFlags: readU32(info, 20),
    name: new TextDecoder().decode(nameBytes.subarray(0, nul < 0 ? 16 : nul)),
    btfId: readU32(info, 64), btfKeyTypeId: readU32(info, 68), btfValueTypeId: readU32(info, 72),
  };
}

/** The leading fields of `struct bpf_prog_info`. */
export interface ProgInfo {
  type: number;
  id: number;
  tag: Uint8Array;
  jitedProgLen: number;
  xlatedProgLen: number;
}

/** Size of the `bpf_prog_info` prefix we read. */
export const BPF_PROG_INFO_SIZE = 232;

/** Decodes the `bpf_prog_info` prefix OBJ_GET_INFO_BY_FD wrote. */
export function decodeProgInfo(info: Uint8Array): ProgInfo {
  return { type: readU32(info, 0), id: readU32(info, 4), tag: info.slice(8, 16), jitedProgLen: readU32(info, 16), xlatedProgLen: readU32(info, 20) };
}

/** perf_event_attr types (enum perf_type_id). */
export const PerfType = { PERF_TYPE_HARDWARE: 0, PERF_TYPE_SOFTWARE: 1, PERF_TYPE_TRACEPOINT: 2, PERF_TYPE_HW_CACHE: 3, PERF_TYPE_RAW: 4, PERF_TYPE_BREAKPOINT: 5 } as const;

/** `perf_event_attr` flag bits (the bitfield word at offset 40), by kernel name. */
export const PerfFlag = {
  disabled: 1n << 0n, inherit: 1n << 1n, pinned: 1n << 2n, exclusive: 1n << 3n, exclude_user: 1n << 4n,
  exclude_kernel: 1n << 5n, exclude_hv: 1n << 6n, exclude_idle: 1n << 7n, mmap: 1n << 8n, comm: 1n << 9n,
  freq: 1n << 10n, inherit_stat: 1n << 11n, enable_on_exec: 1n << 12n, task: 1n << 13n, watermark: 1n << 14n,
} as const;

/** PERF_ATTR_SIZE_VER8: the layout we write. */
export const PERF_ATTR_SIZE = 136;

/** The `perf_event_attr` fields we set. */
export interface PerfEventAttr {
  type: number;
  config: bigint;
  samplePeriod?: bigint;
  sampleType?: bigint;
  readFormat?: bigint;
  flags?: bigint;
  wakeupEvents?: number;
  bpType?: number;
  config1?: bigint;
  config2?: bigint;
}

/** Encodes `struct perf_event_attr` (size field set to {@link PERF_ATTR_SIZE}). */
export function perfEventAttr(a: PerfEventAttr): Uint8Array {
  return new StructWriter(PERF_ATTR_SIZE)
    .u32(0, a.type).u32(4, PERF_ATTR_SIZE).u64(8, a.config).u64(16, a.samplePeriod ?? 0n).u64(24, a.sampleType ?? 0n)
    .u64(32, a.readFormat ?? 0n).u64(40, a.flags ?? 0n).u32(48, a.wakeupEvents ?? 0).u32(52, a.bpType ?? 0)
    .u64(56, a.config1 ?? 0n).u64(64, a.config2 ?? 0n).bytes;
}

/** A classic BPF instruction as `struct sock_filter` holds it. */
export interface SockFilterInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** `struct sock_filter[]`: 8 bytes per instruction (u16 code, u8 jt, u8 jf, u32 k), host order (little-endian here). */
export function sockFilterBytes(prog: readonly SockFilterInsn[]): Uint8Array {
  if (prog.length === 0 || prog.length > BPF_MAXINSNS) {
    throw new UsageError('E_USAGE', `a classic bpf program needs 1 to ${BPF_MAXINSNS} instructions, got ${prog.length}`);
  }
  // Copied into its own ArrayBuffer so the address handed to the kernel is stable.
  const out = new Uint8Array(new ArrayBuffer(prog.length * 8));
  out.set(programToBytes(prog));
  return out;
}

/** `struct sock_fprog { unsigned short len; struct sock_filter *filter; }` (16 bytes on 64-bit). */
export function sockFprog(len: number, filter: Ptr): Uint8Array {
  return new StructWriter(16).u16(0, len).u64(8, filter).bytes;
}
