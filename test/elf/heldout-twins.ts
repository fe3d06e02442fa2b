// Hand-assembled twins of three held-out clang objects: the same programs written in the llvm syntax, as CollectionSpecs, that must give the kernel's recorded results for the clang objects.
import { MapType, ProgType, assembleLlvm, type MapSpec, type ProgramSpec } from '../../src/ebpf/index.js';
import type { CollectionSpec } from '../../src/elf/index.js';

const prog = (name: string, type: number, maps: MapSpec[], text: string, sectionName: string): ProgramSpec =>
  ({ name, type: type as ProgramSpec['type'], license: 'GPL', maps, insns: assembleLlvm(text), sectionName });
const coll = (progs: ProgramSpec[], maps: MapSpec[]): CollectionSpec =>
  ({ programs: new Map(progs.map((p) => [p.name, p])), maps: new Map(maps.map((m) => [m.name, m])), license: 'GPL', version: 0 });

const bytesByProto: MapSpec = { name: 'bytes_by_proto', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 256 };
/** coll-socket.c's sock_keep_tcp, with ld_abs. */
const socket = coll([prog('sock_keep_tcp', ProgType.BPF_PROG_TYPE_SOCKET_FILTER, [bytesByProto], `
  r6 = r1
  r0 = *(u16 *)skb[12]
  if r0 != 0x800 goto drop
  r0 = *(u8 *)skb[23]
  r7 = r0
  *(u32 *)(r10 - 4) = r0
  r2 = r10
  r2 += -4
  r1 = map[bytes_by_proto]
  call 1
  if r0 == 0 goto verdict
  r1 = *(u32 *)(r6 + 0)
  lock *(u64 *)(r0 + 0) += r1
verdict:
  r0 = 20
  if r7 != 6 goto out
  r0 = *(u32 *)(r6 + 0)
out:
  exit
drop:
  r0 = 0
  exit`, 'socket')], [bytesByProto]);

const firstNibble: MapSpec = { name: 'first_nibble', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 16 };
/** coll-bpfeb.c's xdp_be, little-endian. */
const bpfeb = coll([prog('xdp_be', ProgType.BPF_PROG_TYPE_XDP, [firstNibble], `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r4 = r2
  r4 += 4
  r0 = 1
  if r4 > r3 goto out
  r6 = r2
  r5 = *(u8 *)(r6 + 0)
  r5 >>= 4
  *(u32 *)(r10 - 4) = r5
  r2 = r10
  r2 += -4
  r1 = map[first_nibble]
  call 1
  if r0 == 0 goto verdict
  r1 = *(u8 *)(r6 + 1)
  r3 = *(u8 *)(r6 + 2)
  r3 <<= 8
  r1 += r3
  r3 = *(u32 *)(r0 + 0)
  r3 += r1
  *(u32 *)(r0 + 0) = r3
verdict:
  r1 = *(u8 *)(r6 + 3)
  r1 &= 1
  r0 = 1
  if r1 == 0 goto out
  r0 = 2
out:
  exit`, 'xdp')], [firstNibble]);

const bss: MapSpec = { name: '.bss', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 12, maxEntries: 1, flags: 0x400 };
const byProto: MapSpec = {
  name: 'by_proto', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 256,
  initialRefs: [{ index: 6, ref: 'handle_tcp' }, { index: 17, ref: 'handle_udp' }],
};
const bump = (off: number, ret: number): string => `
  r1 = map[.bss][0]+${off}
  r2 = *(u32 *)(r1 + 0)
  r2 += 1
  *(u32 *)(r1 + 0) = r2
  r0 = ${ret}
  exit`;
/** coll-tailcall.c: the dispatcher and its two handlers, the prog array filled by `.values`. */
const tailcall = coll([
  prog('handle_tcp', ProgType.BPF_PROG_TYPE_XDP, [bss], bump(0, 2), 'xdp'),
  prog('handle_udp', ProgType.BPF_PROG_TYPE_XDP, [bss], bump(4, 1), 'xdp'),
  prog('dispatch', ProgType.BPF_PROG_TYPE_XDP, [bss, byProto], `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)
  r4 = r2
  r4 += 34
  if r4 > r3 goto pass
  r5 = *(u16 *)(r2 + 12)
  if r5 != 0x8 goto pass
  r3 = *(u8 *)(r2 + 23)
  r2 = map[by_proto]
  call 12
  r1 = map[.bss][0]+8
  r2 = *(u32 *)(r1 + 0)
  r2 += 1
  *(u32 *)(r1 + 0) = r2
  r0 = 3
  exit
pass:
  r0 = 2
  exit`, 'xdp'),
], [bss, byProto]);

/** Twin specs by the held-out case they stand for. */
export const TWINS: Readonly<Record<string, CollectionSpec>> = {
  '5:coll-socket': socket,
  '15:coll-bpfeb': bpfeb,
  '11:coll-tailcall': tailcall,
};
