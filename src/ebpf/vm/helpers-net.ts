/** VM helpers real programs and kernel selftests use beyond the core set: socket lookups, VLAN tags, skb hash and checksum, cgroup classid, current task, strtol/strtoul. */

import { jhash } from '../maps/jhash.js';
import type { HelperDef, HelperEnv, PacketState } from './helpers.js';
import { FaultKind, makeFault } from './memory.js';

const EINVAL = -22n, ERANGE = -34n, ENOTSUPP = -524n, ENOMEM = -12n, ENODEV = -19n;
/** The test run's device, loopback: MTU 65536 (L3), hard_header_len ETH_HLEN. */
const LO_MTU = 65536, LO_HARD_HEADER = 14, LO_IFINDEX = 1;
/** BPF_MTU_CHK_SEGS, and the results BPF_MTU_CHK_RET_SUCCESS / _FRAG_NEEDED. */
const BPF_MTU_CHK_SEGS = 1n, MTU_OK = 0n, MTU_FRAG_NEEDED = 1n;

/** skb->len: the data from where `skb->data` points (after the Ethernet header for socket filters). */
const skbLen = (p: PacketState): number => p.end - p.start - (p.dataAt ?? 0);

/**
 * bpf_check_mtu (skb and XDP variants): the device is the test run's (ifindex 0, or loopback's 1);
 * the length checked is `*mtu_len` + L2 header when set, else the packet's, plus `len_diff`;
 * `*mtu_len` gets the device's MTU.
 */
function checkMtu(env: HelperEnv, _ctx: bigint, ifindex: bigint, mtuLen: bigint, lenDiff: bigint, flags: bigint): bigint {
  const p = pkt(env);
  if (p.xdp ? flags !== 0n : (flags & ~BPF_MTU_CHK_SEGS) !== 0n) return u64(EINVAL);
  const cell = env.mem.read(mtuLen, 4, env.pc);
  const inLen = new DataView(cell.buffer, cell.byteOffset, 4).getUint32(0, true);
  if (!p.xdp && flags & BPF_MTU_CHK_SEGS && (lenDiff !== 0n || inLen !== 0)) return u64(EINVAL);
  const idx = Number(ifindex & 0xffffffffn);
  if (idx !== 0 && idx !== LO_IFINDEX) return u64(ENODEV);
  const len = (inLen ? inLen + LO_HARD_HEADER : p.xdp ? p.end - p.start : skbLen(p)) + Number(BigInt.asIntN(32, lenDiff));
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, LO_MTU, true);
  env.mem.write(mtuLen, out, env.pc);
  return len > LO_MTU + LO_HARD_HEADER ? MTU_FRAG_NEEDED : MTU_OK;
}
const u64 = (n: bigint): bigint => BigInt.asUintN(64, n);
/** sk_state of a socket sock_init_data made. */
const TCP_CLOSE = 7;

/** A kernel-looking address for `bpf_get_current_task` when the host names none (never 0: programs test it). */
export const DEFAULT_TASK_ADDRESS = 0xffff888000100000n;

/** What `bpf_sk_lookup_*` looks for: the tuple as the program wrote it (addresses and ports in network order). */
export interface SocketTuple {
  family: 2 | 10;
  protocol: 6 | 17;
  srcIp: Uint8Array;
  srcPort: number;
  dstIp: Uint8Array;
  dstPort: number;
}

/** A socket the host reports: the fields of `struct bpf_sock` the program reads. */
export interface HostSocket {
  family: number;
  type: number;
  protocol: number;
  /** Local address and port (src_ip4 in network order, src_port in host order, as the kernel shows them). */
  srcIp4?: number;
  srcPort: number;
  dstIp4?: number;
  /** Remote port in network order (as `bpf_sock.dst_port`). */
  dstPort?: number;
  /** TCP state (10 = LISTEN). */
  state: number;
  mark?: number;
  priority?: number;
  boundDevIf?: number;
}

/** `struct bpf_sock` (80 bytes) from what the host gave. */
function bpfSock(s: HostSocket): Uint8Array {
  const b = new Uint8Array(80);
  const v = new DataView(b.buffer);
  v.setUint32(0, s.boundDevIf ?? 0, true);
  v.setUint32(4, s.family, true);
  v.setUint32(8, s.type, true);
  v.setUint32(12, s.protocol, true);
  v.setUint32(16, s.mark ?? 0, true);
  v.setUint32(20, s.priority ?? 0, true);
  v.setUint32(24, s.srcIp4 ?? 0, true);
  v.setUint32(44, s.srcPort, true);
  v.setUint16(48, s.dstPort ?? 0, true);
  v.setUint32(52, s.dstIp4 ?? 0, true);
  v.setUint32(72, s.state, true);
  v.setInt32(76, -1, true); // rx_queue_mapping: none
  return b;
}

/** sizeof(struct ipv6hdr) - sizeof(struct iphdr). */
const IP_HDR_DIFF = 20;
/** BPF_SKB_MAX_LEN: SKB_MAX_ALLOC, four pages less the aligned skb_shared_info. */
const SKB_MAX_ALLOC = 16384 - 320;

/** bpf_skb_net_hdr_push: `len` zeroed bytes inserted `off` bytes into the data (the headroom must hold them: skb_cow). */
function netHdrPush(env: HelperEnv, p: PacketState, off: number, len: number): bigint {
  if (len > p.start) throw makeFault(FaultKind.HELPER, env.pc, 31n); // a reallocation the vm does not make
  p.start -= len;
  p.buf.copyWithin(p.start, p.start + len, p.start + len + off);
  p.buf.fill(0, p.start + off, p.start + off + len);
  return 0n;
}

/** bpf_skb_net_hdr_pop: `len` bytes taken out `off` bytes into the data, or -ENOMEM when the packet is shorter (pskb_may_pull). */
function netHdrPop(p: PacketState, off: number, len: number): bigint {
  if (skbLen(p) < off + len) return ENOMEM;
  p.buf.copyWithin(p.start + len, p.start, p.start + off);
  p.start += len;
  return 0n;
}

/**
 * `skb->sk` of a test run: the kernel gives every skb run a dummy socket (sk_alloc + sock_init_data: TCP_CLOSE,
 * no type, protocol or port, no rx queue) whose family and addresses bpf_prog_test_run_skb copies from an IPv4
 * or IPv6 header, as `struct bpf_sock`.
 */
export function testRunSock(p: PacketState): Uint8Array {
  const b = bpfSock({ family: 0, type: 0, protocol: 0, srcPort: 0, state: TCP_CLOSE });
  const v = new DataView(b.buffer);
  const d = p.buf.subarray(p.start, p.end);
  const ethertype = d.length >= 14 ? (d[12] << 8) | d[13] : 0;
  if (ethertype === 0x0800 && d.length >= 34) {
    v.setUint32(4, 2, true);
    b.set(d.subarray(26, 30), 24); // src_ip4 = sk_rcv_saddr = the header's saddr
    b.set(d.subarray(30, 34), 52); // dst_ip4 = sk_daddr
  } else if (ethertype === 0x86dd && d.length >= 54) {
    v.setUint32(4, 10, true);
    b.set(d.subarray(22, 38), 28); // src_ip6
    b.set(d.subarray(38, 54), 56); // dst_ip6
  }
  return b;
}

/** sk_fullsock: a socket in neither TCP_TIME_WAIT (6) nor TCP_NEW_SYN_RECV (12), read from its `struct bpf_sock` state. */
export function isFullSock(env: HelperEnv, sk: bigint): boolean {
  const b = env.mem.read(sk + 72n, 4, env.pc);
  const state = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  return state !== 6 && state !== 12;
}

function pkt(env: HelperEnv): PacketState {
  if (!env.packet) throw makeFault(FaultKind.HELPER, env.pc, 0n);
  return env.packet;
}

/** __skb_vlan_pop: the 802.1Q/802.1ad tag after the MAC addresses taken out of the data (MACs move up 4 bytes); its TCI, or undefined when too short. */
function popDataTag(p: PacketState): number | undefined {
  const d = p.buf;
  if (p.end - p.start < 18) return undefined;
  const tci = (d[p.start + 14] << 8) | d[p.start + 15];
  d.copyWithin(p.start + 4, p.start, p.start + 12);
  p.start += 4;
  p.changed();
  p.vlan!.setProtocol((d[p.start + 12] << 8) | d[p.start + 13]);
  return tci;
}

/** bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp: the host's socket for the tuple, or NULL (as the kernel gives for a tuple no socket has). */
function skLookup(protocol: 6 | 17, listeners: boolean): HelperDef['fn'] {
  return (env, _ctx, tuplePtr, size, netns, flags) => {
    const n = Number(size & 0xffffffffn);
    // The kernel returns NULL for flags, a foreign netns id it cannot find, or a tuple of neither size.
    if (flags !== 0n || (n !== 12 && n !== 36) || BigInt.asIntN(32, netns) < -1n) return 0n;
    const t = env.mem.read(tuplePtr, n, env.pc);
    const v = new DataView(t.buffer, t.byteOffset);
    const ipLen = n === 12 ? 4 : 16;
    const tuple: SocketTuple = {
      family: n === 12 ? 2 : 10, protocol,
      srcIp: t.slice(0, ipLen), dstIp: t.slice(ipLen, 2 * ipLen),
      srcPort: v.getUint16(2 * ipLen, false), dstPort: v.getUint16(2 * ipLen + 2, false),
    };
    const hit = env.host.lookupSocket?.(tuple, { listeners });
    return hit ? env.mem.addBytes(bpfSock(hit), false, `bpf_sock ${tuple.dstPort}`, env.pc) : 0n;
  };
}

// The flow hash of the packet's addresses, protocol and ports (skb_get_hash): the kernel seeds it
// randomly at boot, so only its properties (stable per flow, never 0) can match the kernel's.
function flowHash(env: HelperEnv): bigint {
  const p = pkt(env);
  const d = p.buf.subarray(p.start, p.end);
  if (d.length < 34 || d[12] !== 0x08 || d[13] !== 0x00) return 0n;
  const ihl = (d[14] & 15) * 4;
  const proto = d[23];
  const key = new Uint8Array(13);
  key.set(d.subarray(26, 34), 0);
  key[8] = proto;
  if ((proto === 6 || proto === 17) && d.length >= 14 + ihl + 4) key.set(d.subarray(14 + ihl, 14 + ihl + 4), 9);
  const h = jhash(key, env.host.hashSeed ?? 0) >>> 0;
  return BigInt(h === 0 ? 1 : h);
}

// `_parse_integer_fixup_radix` + `_parse_integer` of the kernel: digits of `base` from `s`, with overflow.
function parseDigits(s: Uint8Array, baseIn: number): { value: bigint; len: number; overflow: boolean; skipped: number } {
  let base = baseIn, i = 0;
  const lower = (c: number | undefined): number => (c === undefined ? 0 : c | 0x20);
  const isX = (c: number | undefined): boolean => c !== undefined && /[0-9a-f]/i.test(String.fromCharCode(c));
  if (base === 0) base = s[0] === 0x30 ? (lower(s[1]) === 0x78 && isX(s[2]) ? 16 : 8) : 10;
  if (base === 16 && s[0] === 0x30 && lower(s[1]) === 0x78) i = 2;
  const skipped = i;
  let value = 0n, overflow = false;
  const start = i;
  for (; i < s.length; i++) {
    const c = s[i];
    const dgt = c >= 0x30 && c <= 0x39 ? c - 0x30 : lower(c) >= 0x61 && lower(c) <= 0x66 ? lower(c) - 0x61 + 10 : 99;
    if (dgt >= base) break;
    value = value * BigInt(base) + BigInt(dgt);
    if (value > 0xffffffffffffffffn) overflow = true;
  }
  return { value: BigInt.asUintN(64, value), len: i - start, overflow, skipped };
}

/** `__bpf_strtoull`: chars consumed, or a negative errno; `neg` when a '-' came first. */
function strtoull(env: HelperEnv, buf: bigint, bufLen: bigint, flags: bigint): { ret: bigint; value: bigint; neg: boolean } {
  const len = Number(bufLen & 0xffffffffn);
  const base = Number(flags & 0x1fn);
  if (len === 0 || (flags & ~0x1fn) !== 0n || ![0, 8, 10, 16].includes(base)) return { ret: EINVAL, value: 0n, neg: false };
  const b = env.mem.read(buf, len, env.pc);
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || (b[i] >= 9 && b[i] <= 13))) i++;
  const neg = i < b.length && b[i] === 0x2d;
  if (neg) i++;
  if (i >= b.length) return { ret: EINVAL, value: 0n, neg };
  // The kernel copies at most 63 bytes into a NUL-terminated string before parsing.
  let str = b.slice(i, i + Math.min(b.length - i, 63));
  const nul = str.indexOf(0);
  if (nul >= 0) str = str.subarray(0, nul);
  const r = parseDigits(str, base);
  if (r.overflow) return { ret: ERANGE, value: 0n, neg };
  if (r.len === 0) return { ret: EINVAL, value: 0n, neg };
  return { ret: BigInt(i + r.skipped + r.len), value: r.value, neg };
}

function writeU64(env: HelperEnv, ptr: bigint, v: bigint): void {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, u64(v), true);
  env.mem.write(ptr, out, env.pc);
}

/** sizeof(struct bpf_fib_lookup), the BPF_FIB_LOOKUP_* flags (DIRECT..MARK), EAFNOSUPPORT. */
const FIB_PARAMS_SIZE = 64, FIB_LOOKUP_FLAGS = 0x3fn, EAFNOSUPPORT = -97n;
/** PACKET_OTHERHOST: the last of the receive packet types. */
const PACKET_OTHERHOST = 3;
/** TC_ACT_SHOT / TC_ACT_REDIRECT. */
const TC_ACT_SHOT = 2n, TC_ACT_REDIRECT = 7n;
/** BPF_F_INGRESS: the one flag bpf_clone_redirect takes. */
const BPF_F_INGRESS = 1n;
/** sizeof(struct bpf_redir_neigh). */
const REDIR_NEIGH_SIZE = 20;
/** bpf_skb_set_tunnel_key: sizeof(struct bpf_tunnel_key), the older layouts it still takes, and its flags. */
const TUNNEL_KEY_SIZES = new Set([44, 28, 24, 22]);
const TUNNEL_KEY_FLAGS = 0x1fn, BPF_F_TUNINFO_IPV6 = 1n;
const EFAULT = -14n;

/** bpf_xdp_pointer's checks, then the copy between the frame and `buf`: EFAULT past 64 KiB, EINVAL past the frame. */
function xdpBytes(store: boolean): HelperDef['fn'] {
  return (env, _ctx, offset, buf, len) => {
    const p = pkt(env);
    const o = Number(offset & 0xffffffffn), n = Number(len & 0xffffffffn);
    if (o > 0xffff || n > 0xffff) return u64(EFAULT);
    if (o + n > p.end - p.start) return u64(EINVAL);
    if (store) p.buf.set(env.mem.read(buf, n, env.pc), p.start + o);
    else env.mem.write(buf, p.buf.slice(p.start + o, p.start + o + n), env.pc);
    return 0n;
  };
}

/** The helpers of this file, by id, appended to the VM's table. */
export const NET_HELPERS: readonly HelperDef[] = [
  { id: 17, name: 'get_cgroup_classid', fn: (env) => BigInt((env.host.cgroupClassid ?? 0) >>> 0) },
  {
    id: 18, name: 'skb_vlan_push', fn: (env, _ctx, proto, tci) => {
      const p = pkt(env);
      if (!p.vlan) throw makeFault(FaultKind.HELPER, env.pc, 18n);
      // Any protocol other than 802.1ad becomes 802.1Q, as bpf_skb_vlan_push does.
      const be = Number(proto & 0xffffn) === 0xa888 ? 0xa888 : 0x0081;
      if (p.vlan.get().present) throw makeFault(FaultKind.HELPER, env.pc, 18n); // pushing a second tag into the data: not in the vm
      p.vlan.set({ present: true, tci: Number(tci & 0xffffn), proto: be });
      return 0n;
    },
  },
  {
    id: 19, name: 'skb_vlan_pop', fn: (env) => {
      const p = pkt(env);
      const vlan = p.vlan;
      if (!vlan) throw makeFault(FaultKind.HELPER, env.pc, 19n);
      const isVlan = (t: number): boolean => t === 0x8100 || t === 0x88a8;
      // skb_vlan_pop: drop the accelerated tag, or else a tag in the data; then the next tag in the data becomes the accelerated one.
      if (vlan.get().present) vlan.set({ present: false, tci: 0, proto: 0 });
      else if (!isVlan(vlan.protocol()) || popDataTag(p) === undefined) return 0n;
      const proto = vlan.protocol();
      if (!isVlan(proto)) return 0n;
      const tci = popDataTag(p);
      if (tci === undefined) return 0n;
      vlan.set({ present: true, tci, proto: ((proto >> 8) | ((proto & 0xff) << 8)) >>> 0 });
      return 0n;
    },
  },
  { id: 34, name: 'get_hash_recalc', fn: (env) => flowHash(env) },
  // The clone goes to the device, the packet carries on: the test run's loopback (1) takes it; no other device is known.
  {
    id: 13, name: 'clone_redirect', fn: (env, _ctx, ifindex, flags) => {
      pkt(env);
      if (flags & ~BPF_F_INGRESS) return u64(EINVAL);
      return (ifindex & 0xffffffffn) === BigInt(LO_IFINDEX) ? 0n : u64(EINVAL);
    },
  },
  // The tunnel metadata goes with the packet out of the test run, so only the checks show.
  {
    id: 21, name: 'skb_set_tunnel_key', fn: (env, _ctx, from, size, flags) => {
      pkt(env);
      const n = Number(size & 0xffffffffn);
      if (flags & ~TUNNEL_KEY_FLAGS || !TUNNEL_KEY_SIZES.has(n)) return u64(EINVAL);
      const key = new Uint8Array(44);
      key.set(env.mem.read(from, n, env.pc));
      const v = new DataView(key.buffer);
      if ((!(flags & BPF_F_TUNINFO_IPV6) && v.getUint32(24, true) !== 0) || v.getUint16(22, true) !== 0) return u64(EINVAL);
      return 0n;
    },
  },
  {
    id: 152, name: 'redirect_neigh', fn: (env, ifindex, _params, plen, flags) => {
      const p = pkt(env);
      const n = Number(BigInt.asIntN(32, plen));
      if ((n !== 0 && n < REDIR_NEIGH_SIZE) || flags) return TC_ACT_SHOT;
      p.redirect = { ifindex: Number(ifindex & 0xffffffffn), flags: 0 };
      return TC_ACT_REDIRECT;
    },
  },
  {
    id: 155, name: 'redirect_peer', fn: (env, ifindex, flags) => {
      const p = pkt(env);
      if (flags) return TC_ACT_SHOT;
      p.redirect = { ifindex: Number(ifindex & 0xffffffffn), flags: 0 };
      return TC_ACT_REDIRECT;
    },
  },
  // skb_pkt_type_ok: only the four receive types (up to PACKET_OTHERHOST) may be read or set.
  {
    id: 32, name: 'skb_change_type', fn: (env, _ctx, type) => {
      const p = pkt(env);
      if (!p.pktType || p.xdp) throw makeFault(FaultKind.HELPER, env.pc, 32n);
      if (p.pktType.get() > PACKET_OTHERHOST || type > BigInt(PACKET_OTHERHOST)) return u64(EINVAL);
      p.pktType.set(Number(type));
      return 0n;
    },
  },
  // Helpers that act on a kernel socket the program found: the VM's host sockets are read-only copies, so a
  // program reaching one with a socket faults (it loads, as in the kernel, and runs where it never gets one).
  { id: 110, name: 'tcp_gen_syncookie', fn: (env) => { throw makeFault(FaultKind.HELPER, env.pc, 110n); } },
  { id: 124, name: 'sk_assign', fn: (env, _ctx, _sk, flags) => (flags ? u64(EINVAL) : (() => { throw makeFault(FaultKind.HELPER, env.pc, 124n); })()) },
  { id: 139, name: 'skc_to_tcp_request_sock', fn: (env, sk) => (sk === 0n ? 0n : (() => { throw makeFault(FaultKind.HELPER, env.pc, 139n); })()) },
  { id: 100, name: 'tcp_check_syncookie', fn: (env) => { throw makeFault(FaultKind.HELPER, env.pc, 100n); } },
  { id: 95, name: 'sk_fullsock', fn: (env, sk) => (sk !== 0n && isFullSock(env, sk) ? sk : 0n) },
  { id: 137, name: 'skc_to_tcp_sock', fn: (env, sk) => (sk === 0n ? 0n : (() => { throw makeFault(FaultKind.HELPER, env.pc, 137n); })()) },
  // bpf_fib_lookup's checks before the routing table (which the VM does not have): the size, the flags, the
  // family, and for IPv4 the device; a lookup that would reach the table faults.
  {
    id: 69, name: 'fib_lookup', fn: (env, _ctx, params, plen, flags) => {
      if (Number(BigInt.asIntN(32, plen)) < FIB_PARAMS_SIZE || flags & ~FIB_LOOKUP_FLAGS) return u64(EINVAL);
      const head = env.mem.read(params, 12, env.pc);
      const family = head[0], ifindex = new DataView(head.buffer, head.byteOffset, 12).getUint32(8, true);
      if (family !== 2 && family !== 10) return u64(EAFNOSUPPORT);
      if (family === 2 && ifindex !== LO_IFINDEX) return u64(ENODEV);
      throw makeFault(FaultKind.HELPER, env.pc, 69n);
    },
  },
  // skb->tstamp and its clock (`__sk_buff.tstamp`, `tstamp_type`): realtime takes any time, the others a non-zero one.
  {
    id: 192, name: 'skb_set_tstamp', fn: (env, _ctx, tstamp, type) => {
      const p = pkt(env);
      if (!p.tstamp || p.xdp) throw makeFault(FaultKind.HELPER, env.pc, 192n);
      const t = Number(type & 0xffffffffn);
      if (t > 2 || (t !== 0 && tstamp === 0n)) return u64(EINVAL);
      p.tstamp.set(tstamp, t);
      return 0n;
    },
  },
  { id: 189, name: 'xdp_load_bytes', fn: xdpBytes(false) },
  { id: 190, name: 'xdp_store_bytes', fn: xdpBytes(true) },
  // A test run's skb is linear: pulling succeeds up to skb->len (pskb_may_pull), and packet pointers are re-derived either way.
  {
    id: 39, name: 'skb_pull_data', fn: (env, _ctx, len) => {
      const p = pkt(env);
      const want = Number(len & 0xffffffffn);
      p.changed();
      return want > skbLen(p) ? u64(ENOMEM) : 0n;
    },
  },
  { id: 163, name: 'check_mtu', fn: checkMtu },
  // bpf_skb_change_proto: IPv4 <-> IPv6 makes or takes the 20 bytes the headers differ by right after the MAC
  // header (the program writes the new header itself); any other pair is -ENOTSUPP.
  {
    id: 31, name: 'skb_change_proto', fn: (env, _ctx, proto, flags) => {
      const p = pkt(env);
      if (p.xdp || !p.vlan) throw makeFault(FaultKind.HELPER, env.pc, 31n);
      if (flags !== 0n) return u64(EINVAL);
      const from = p.vlan.protocol(), to = Number(proto & 0xffffn);
      // proto is __be16: ETH_P_IPV6 arrives as 0xdd86 in the register on a little-endian host.
      const be = ((to >> 8) | ((to & 0xff) << 8)) & 0xffff;
      const off = p.netOffset;
      let r = 0n;
      if (from === 0x0800 && be === 0x86dd) r = netHdrPush(env, p, off, IP_HDR_DIFF);
      else if (from === 0x86dd && be === 0x0800) r = netHdrPop(p, off, IP_HDR_DIFF);
      else r = ENOTSUPP;
      if (r === 0n) p.vlan.setProtocol(be);
      p.changed();
      return u64(r);
    },
  },
  // bpf_skb_change_head: room pushed in front of the data, zeroed, and it becomes the MAC header; the network
  // header stays where it was (an L3 packet gets an L2 header for an L2 device).
  {
    id: 43, name: 'skb_change_head', fn: (env, _ctx, room, flags) => {
      const p = pkt(env);
      if (p.xdp) throw makeFault(FaultKind.HELPER, env.pc, 43n);
      const n = Number(room & 0xffffffffn), len = skbLen(p);
      if (flags !== 0n || len + n > SKB_MAX_ALLOC || len + n > 0xffffffff) return u64(EINVAL);
      if (n > p.start) throw makeFault(FaultKind.HELPER, env.pc, 43n); // more than the test run's headroom: a reallocation the vm does not make
      p.start -= n;
      p.buf.fill(0, p.start, p.start + n);
      p.netOffset += n;
      p.changed();
      return 0n;
    },
  },
  // No fragments in a test run's xdp_buff: the linear data is the whole buffer.
  { id: 188, name: 'xdp_get_buff_len', fn: (env) => BigInt(pkt(env).end - pkt(env).start) },
  // Test-run skbs are CHECKSUM_NONE: the kernel gives -ENOTSUPP unless the csum is complete.
  { id: 40, name: 'csum_update', fn: () => u64(ENOTSUPP) },
  { id: 84, name: 'sk_lookup_tcp', fn: skLookup(6, false) },
  { id: 85, name: 'sk_lookup_udp', fn: skLookup(17, false) },
  { id: 86, name: 'sk_release', fn: () => 0n },
  { id: 99, name: 'skc_lookup_tcp', fn: skLookup(6, true) },
  {
    id: 105, name: 'strtol', fn: (env, buf, len, flags, res) => {
      const r = strtoull(env, buf, len, flags);
      let v = 0n, ret = r.ret;
      if (ret >= 0n) {
        const s = BigInt.asIntN(64, r.neg ? -r.value : r.value);
        // (long long)-_res > 0 / (long long)_res < 0: out of range for a signed 64-bit value.
        if ((r.neg && BigInt.asIntN(64, -r.value) > 0n) || (!r.neg && BigInt.asIntN(64, r.value) < 0n)) ret = ERANGE;
        else v = s;
      }
      writeU64(env, res, ret >= 0n ? v : 0n);
      return u64(ret);
    },
  },
  {
    id: 106, name: 'strtoul', fn: (env, buf, len, flags, res) => {
      const r = strtoull(env, buf, len, flags);
      const ret = r.ret >= 0n && r.neg ? EINVAL : r.ret;
      writeU64(env, res, ret >= 0n ? r.value : 0n);
      return u64(ret);
    },
  },
];
