/** Linux socket-buffer metadata that ancillary loads (`ld [SKF_AD_OFF + n]`) read, and the netlink attribute search they use. */

/**
 * What the kernel knows about a packet besides its bytes. Fields that are absent read as 0.
 * Passing an `AuxData` at all switches ancillary loads to Linux semantics; without it they
 * behave as in libpcap's `bpf_filter` (an offset past the packet, so the filter returns 0).
 */
export interface AuxData {
  /** skb->protocol in host order, e.g. 0x0800 (`ld proto`). */
  protocol?: number;
  /** skb->pkt_type: 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing (`ld type`). */
  pktType?: number;
  /** Interface index (`ld ifidx`). */
  ifindex?: number;
  /** skb->mark (`ld mark`). */
  mark?: number;
  /** skb->queue_mapping (`ld queue`). */
  queue?: number;
  /** Device type, ARPHRD_* (`ld hatype`). */
  hatype?: number;
  /** skb->hash (`ld rxhash`). */
  rxhash?: number;
  /** The CPU the filter runs on (`ld cpu`). */
  cpu?: number;
  /** The VLAN TCI that the driver stripped (`ld vlan_tci`). */
  vlanTci?: number;
  /** True when a VLAN tag was stripped (`ld vlan_avail`, libpcap's `vlanp`). */
  vlanPresent?: boolean;
  /** The stripped tag's TPID in host order, e.g. 0x8100 (`ld vlan_tpid`). */
  vlanTpid?: number;
  /** The payload offset the flow dissector finds (`ld poff`). */
  payOffset?: number;
  /** What `ld rand` returns; a function is called on every load. */
  random?: number | (() => number);
  /**
   * Where the network header starts in the packet, for loads at `SKF_NET_OFF + k`. Absent:
   * such loads fail. (Loads at `SKF_LL_OFF + k` read from the start of the packet, the link header.)
   */
  networkOffset?: number;
}

const SKF_NET_OFF = -0x100000;
const SKF_LL_OFF = -0x200000;

/**
 * A packet load as the Linux kernel does it (`bpf_skb_load_helper_*`), for the cases where
 * libpcap would fail: `off` is the 32-bit offset (X + k wraps); a negative one addresses the
 * network header (`SKF_NET_OFF`) or link header (`SKF_LL_OFF`). Returns the big-endian value,
 * or undefined when the load fails (the filter then returns 0).
 */
export function kernelLoad(data: Uint8Array, off: number, size: number, aux: AuxData): number | undefined {
  let at = off | 0;
  if (at < 0) {
    if (at >= SKF_NET_OFF) {
      if (aux.networkOffset === undefined) return undefined;
      at = aux.networkOffset + (at - SKF_NET_OFF);
    } else if (at >= SKF_LL_OFF) at = at - SKF_LL_OFF;
    else return undefined;
  }
  if (at < 0 || at + size > data.length) return undefined;
  if (size === 4) return (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3];
  if (size === 2) return (data[at] << 8) | data[at + 1];
  return data[at];
}

const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;

/** The kernel's `nla_find` over `data[start, start + len)`: offset of the first attribute of `type`, or 0. */
function nlaFind(data: Uint8Array, start: number, len: number, type: number): number {
  let o = start;
  let rem = len;
  while (rem >= NLA_HDRLEN) {
    const nlaLen = data[o] | (data[o + 1] << 8);
    if (nlaLen < NLA_HDRLEN || nlaLen > rem) break;
    const nlaType = (data[o + 2] | (data[o + 3] << 8)) & NLA_TYPE_MASK;
    if (nlaType === type) return o;
    const step = (nlaLen + 3) & ~3;
    o += step;
    rem -= step;
  }
  return 0;
}

/** `ld nla`: the offset of netlink attribute X at or after offset A (Linux `__skb_get_nlattr`), or 0. */
export function skbGetNlattr(data: Uint8Array, a: number, x: number): number {
  const len = data.length;
  if (len < NLA_HDRLEN || a > len - NLA_HDRLEN) return 0;
  return nlaFind(data, a, len - a, x);
}

/** `ld nlan`: the offset of attribute X nested in the attribute at offset A (Linux `__skb_get_nlattr_nest`), or 0. */
export function skbGetNlattrNest(data: Uint8Array, a: number, x: number): number {
  const len = data.length;
  if (len < NLA_HDRLEN || a > len - NLA_HDRLEN) return 0;
  const nlaLen = data[a] | (data[a + 1] << 8);
  if (nlaLen > len - a || nlaLen < NLA_HDRLEN) return 0;
  return nlaFind(data, a + NLA_HDRLEN, nlaLen - NLA_HDRLEN, x);
}

/**
 * The value of an ancillary load at `SKF_AD_OFF + off` (Linux `convert_bpf_extensions`),
 * or undefined when `off` is not one the kernel knows.
 */
export function ancillaryValue(off: number, aux: AuxData, data: Uint8Array, a: number, x: number): number | undefined {
  switch (off) {
    case 0:
      return (aux.protocol ?? 0) & 0xffff;
    case 4:
      return (aux.pktType ?? 0) & 7;
    case 8:
      return (aux.ifindex ?? 0) >>> 0;
    case 12:
      return skbGetNlattr(data, a, x);
    case 16:
      return skbGetNlattrNest(data, a, x);
    case 20:
      return (aux.mark ?? 0) >>> 0;
    case 24:
      return (aux.queue ?? 0) & 0xffff;
    case 28:
      return (aux.hatype ?? 0) & 0xffff;
    case 32:
      return (aux.rxhash ?? 0) >>> 0;
    case 36:
      return (aux.cpu ?? 0) >>> 0;
    case 40:
      return (a ^ x) >>> 0;
    case 44:
      return (aux.vlanTci ?? 0) & 0xffff;
    case 48:
      return aux.vlanPresent ? 1 : 0;
    case 52:
      return (aux.payOffset ?? 0) >>> 0;
    case 56:
      return (typeof aux.random === 'function' ? aux.random() : (aux.random ?? 0)) >>> 0;
    case 60:
      return (aux.vlanTpid ?? 0) & 0xffff;
    default:
      return undefined;
  }
}
