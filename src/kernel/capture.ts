/** Live capture from an AF_PACKET socket: filter attached before bind, non-blocking reads driven by poll, packet statistics. */

import type { Packet } from '../pcap/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import type { SockFilterInsn } from './attr.js';
import { attachBpfFilter, attachClassicFilter } from './socket-filter.js';
import { isErrno } from './sys.js';
import type { PollWatcher, Sys } from './sys.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_STATISTICS = 6;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const SIOCGSTAMPNS = 0x8907;
const PACKET_OUTGOING = 4;
const SOCKADDR_LL_SIZE = 20;

/** ARPHRD_* (the device's hardware type) → LINKTYPE_* of the frames a SOCK_RAW packet socket returns. */
const linkTypeByHatype: ReadonlyMap<number, number> = new Map([
  [1, 1], // ARPHRD_ETHER → LINKTYPE_ETHERNET
  [772, 1], // ARPHRD_LOOPBACK: Linux gives lo an all-zero Ethernet header
  [65534, 101], // ARPHRD_NONE (tun) → LINKTYPE_RAW
  [768, 101], // ARPHRD_TUNNEL (ipip) → LINKTYPE_RAW
  [776, 101], // ARPHRD_SIT → LINKTYPE_RAW
  [778, 101], // ARPHRD_IPGRE → LINKTYPE_RAW
  [519, 101], // ARPHRD_RAWIP → LINKTYPE_RAW
]);
const ARPHRD_LOOPBACK = 772;

/** LINKTYPE_LINUX_SLL2: what a capture on `any` returns (libpcap 1.10's default for it). */
export const LINKTYPE_LINUX_SLL2 = 276;
/** Length of the Linux cooked v2 header bpfkit builds in front of each packet on `any`. */
export const SLL2_HDR_LEN = 20;

const SKF_AD_OFF = -0x1000;
/** SLL2 header offsets a filter may load, and the kernel ancillary load that gives the same value (libpcap's fix_offset). */
const SLL2_ANCILLARY: ReadonlyMap<number, number> = new Map([
  [0, 0], // protocol → SKF_AD_PROTOCOL
  [4, 8], // interface index → SKF_AD_IFINDEX
  [8, 28], // ARPHRD_ type → SKF_AD_HATYPE
  [10, 4], // packet type → SKF_AD_PKTTYPE
]);

/**
 * The program to attach to a cooked (SOCK_DGRAM) socket, for a filter compiled for LINUX_SLL2:
 * the kernel runs it on the packet without the cooked header, so loads past the header move
 * back by its length and loads of its fields become ancillary loads, as libpcap's fix_program
 * does. Undefined when a load reaches a header field the kernel cannot give (the capture then
 * filters in user space).
 */
export function cookedKernelFilter(insns: readonly SockFilterInsn[]): SockFilterInsn[] | undefined {
  const out: SockFilterInsn[] = [];
  for (const insn of insns) {
    const cls = insn.code & 0x07;
    const mode = insn.code & 0xe0;
    // BPF_LD / BPF_LDX with BPF_ABS, BPF_IND or BPF_MSH: the packet loads.
    if ((cls === 0 || cls === 1) && (mode === 0x20 || mode === 0x40 || mode === 0xa0)) {
      const k = insn.k >>> 0;
      // Negative offsets (SKF_AD_OFF, SKF_NET_OFF, SKF_LL_OFF) already name what the kernel gives.
      if ((k | 0) < 0) out.push({ ...insn });
      else if (k >= SLL2_HDR_LEN) out.push({ ...insn, k: k - SLL2_HDR_LEN });
      else {
        const ad = SLL2_ANCILLARY.get(k);
        if (ad === undefined) return undefined;
        out.push({ ...insn, k: (SKF_AD_OFF + ad) >>> 0 });
      }
    } else out.push({ ...insn });
  }
  return out;
}

/**
 * The LINKTYPE_* of the frames a capture on a device of hardware type `hatype` (ARPHRD_*, as in
 * /sys/class/net/IFACE/type) returns; undefined for a type bpfkit does not know.
 */
export function linkTypeForHatype(hatype: number): number | undefined {
  return linkTypeByHatype.get(hatype);
}

/** Options for {@link LiveCapture.open}. */
export interface CaptureOptions {
  /** Interface name, e.g. `lo` or `eth0`; `any` captures on every interface in Linux cooked v2 (LINUX_SLL2). */
  interface: string;
  /** Classic BPF program (as `tcpdump -dd` prints it), or the fd of a loaded eBPF socket filter. */
  filter?: readonly SockFilterInsn[] | { fd: number };
  /** Bytes kept of each packet (the caplen ceiling). */
  snaplen?: number;
  /** Packets buffered before the oldest are dropped (counted in `stats().droppedByReader`). */
  queueLimit?: number;
  /** Keep the outgoing copy that loopback devices also deliver (libpcap drops it). */
  keepLoopbackOutgoing?: boolean;
}

/** Counters of a capture. */
export interface CaptureStats {
  /** Packets the socket passed through the filter (PACKET_STATISTICS tp_packets, accumulated). */
  received: number;
  /** Packets the kernel dropped for lack of buffer space (tp_drops, accumulated). */
  dropped: number;
  /** Packets dropped because the reader's queue was full. */
  droppedByReader: number;
}

/**
 * A live packet capture. Iterate it with `for await` (breaking out leaves it open);
 * `close()` ends every iteration.
 * The filter is attached before the socket is bound, so no unfiltered packet is ever queued.
 */
export class LiveCapture implements AsyncIterable<Packet> {
  readonly interface: string;
  readonly ifindex: number;
  private readonly sys: Sys;
  private fd: number;
  private watcher: PollWatcher | undefined;
  private readonly snaplen: number;
  private readonly queueLimit: number;
  private readonly keepOutgoing: boolean;
  /** True on `any`: a SOCK_DGRAM socket, each packet given an SLL2 header built from its address. */
  readonly cooked: boolean;
  private readonly queue: Packet[] = [];
  private waiters: { resolve(r: IteratorResult<Packet>): void; reject(e: unknown): void }[] = [];
  private failure: unknown;
  private readonly buf: Uint8Array;
  private readonly addr = new Uint8Array(new ArrayBuffer(SOCKADDR_LL_SIZE));
  private readonly ts = new Uint8Array(new ArrayBuffer(16));
  private totals = { received: 0, dropped: 0, droppedByReader: 0 };

  private constructor(sys: Sys, fd: number, ifindex: number, options: CaptureOptions) {
    this.sys = sys;
    this.fd = fd;
    this.ifindex = ifindex;
    this.interface = options.interface;
    this.snaplen = options.snaplen ?? 262144;
    this.queueLimit = options.queueLimit ?? 65536;
    this.keepOutgoing = options.keepLoopbackOutgoing ?? false;
    this.cooked = options.interface === 'any';
    this.buf = new Uint8Array(new ArrayBuffer(this.snaplen));
  }

  /** Opens the socket (protocol 0: receives nothing yet), attaches the filter, then binds with ETH_P_ALL. */
  static open(sys: Sys, options: CaptureOptions): LiveCapture {
    if (options.snaplen !== undefined && (!Number.isInteger(options.snaplen) || options.snaplen < 1)) {
      throw new UsageError('E_USAGE', `snaplen must be a positive integer, got ${options.snaplen}`);
    }
    let ifindex: number;
    let fd = -1;
    try {
      // `any`: bound to no interface (index 0), cooked so that every link type reads alike.
      const any = options.interface === 'any';
      ifindex = any ? 0 : sys.ifNameToIndex(options.interface);
      fd = sys.socket(AF_PACKET, (any ? SOCK_DGRAM : SOCK_RAW) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const f = options.filter;
      if (f && 'fd' in f) attachBpfFilter(sys, fd, f.fd);
      else if (f) attachClassicFilter(sys, fd, f);
      const sll = new Uint8Array(new ArrayBuffer(SOCKADDR_LL_SIZE));
      const dv = new DataView(sll.buffer);
      dv.setUint16(0, AF_PACKET, true);
      dv.setUint16(2, ETH_P_ALL, false); // network byte order
      dv.setInt32(4, ifindex, true);
      sys.bind(fd, sll);
    } catch (e) {
      if (fd >= 0) sys.close(fd);
      throw e instanceof BpfkitError ? e.withContext(`open capture on ${options.interface}`) : e;
    }
    const cap = new LiveCapture(sys, fd, ifindex, options);
    cap.watcher = sys.poll(fd, { readable: true }, () => cap.drain());
    return cap;
  }

  /** Reads every queued packet without blocking. */
  private drain(): void {
    // Bounded per wakeup so a flood cannot starve the event loop; poll is level-triggered and calls again.
    for (let n = 0; n < 1024 && this.fd >= 0; n++) {
      let length: number;
      try {
        length = this.sys.recvfrom(this.fd, this.buf, MSG_DONTWAIT | MSG_TRUNC, this.addr).length;
      } catch (e) {
        if (isErrno(e, 'EAGAIN') || isErrno(e, 'EINTR')) return;
        this.failure = e instanceof BpfkitError ? e.withContext(`capture on ${this.interface}`) : e;
        for (const w of this.waiters) w.reject(this.failure);
        this.waiters = [];
        return;
      }
      const adv = new DataView(this.addr.buffer);
      const hatype = adv.getUint16(8, true);
      const pkttype = this.addr[10];
      if (hatype === ARPHRD_LOOPBACK && pkttype === PACKET_OUTGOING && !this.keepOutgoing) continue;
      let tsSec = 0;
      let tsNsec = 0;
      try {
        this.sys.ioctl(this.fd, SIOCGSTAMPNS, this.ts);
        const tdv = new DataView(this.ts.buffer);
        tsSec = Number(tdv.getBigInt64(0, true));
        tsNsec = Number(tdv.getBigInt64(8, true));
      } catch {
        const now = Date.now();
        tsSec = Math.floor(now / 1000);
        tsNsec = (now % 1000) * 1e6;
      }
      const packet: Packet = this.cooked
        ? { data: this.cookedFrame(length), origLen: length + SLL2_HDR_LEN, tsSec, tsNsec, linkType: LINKTYPE_LINUX_SLL2, interfaceId: 0 }
        : { data: this.buf.slice(0, Math.min(length, this.snaplen)), origLen: length, tsSec, tsNsec, linkType: linkTypeByHatype.get(hatype) ?? 1, interfaceId: 0 };
      const w = this.waiters.shift();
      if (w) w.resolve({ value: packet, done: false });
      else if (this.queue.length < this.queueLimit) this.queue.push(packet);
      else this.totals.droppedByReader++;
    }
  }

  /** The SLL2 header (from the sockaddr_ll of the packet just read) and the payload, cut to the snapshot length. */
  private cookedFrame(length: number): Uint8Array {
    const caplen = Math.min(length + SLL2_HDR_LEN, this.snaplen);
    const out = new Uint8Array(caplen);
    const head = new Uint8Array(SLL2_HDR_LEN);
    const a = new DataView(this.addr.buffer);
    const h = new DataView(head.buffer);
    head.set(this.addr.subarray(2, 4), 0); // protocol, already in network byte order
    h.setUint32(4, a.getInt32(4, true) >>> 0); // interface index, big-endian
    h.setUint16(8, a.getUint16(8, true)); // ARPHRD_ type
    head[10] = this.addr[10]; // packet type
    head[11] = this.addr[11]; // link-layer address length
    head.set(this.addr.subarray(12, 20), 12);
    out.set(head.subarray(0, Math.min(SLL2_HDR_LEN, caplen)));
    if (caplen > SLL2_HDR_LEN) out.set(this.buf.subarray(0, caplen - SLL2_HDR_LEN), SLL2_HDR_LEN);
    return out;
  }

  /** The next packet, or undefined once closed. */
  async next(): Promise<Packet | undefined> {
    const r = await this.nextResult();
    return r.done ? undefined : r.value;
  }

  private nextResult(): Promise<IteratorResult<Packet>> {
    const p = this.queue.shift();
    if (p) return Promise.resolve({ value: p, done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.fd < 0) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Packet> {
    return {
      next: () => this.nextResult(),
      // Leaving a `for await` early does not close the capture: its owner does, so it can be iterated again.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  /** Packets received and dropped so far (reading PACKET_STATISTICS resets the kernel's counters; we add them up). */
  stats(): CaptureStats {
    if (this.fd >= 0) {
      const s = this.sys.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, 8);
      const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
      this.totals.received += dv.getUint32(0, true);
      this.totals.dropped += dv.getUint32(4, true);
    }
    return { ...this.totals };
  }

  private finish(): void {
    for (const w of this.waiters) w.resolve({ value: undefined, done: true });
    this.waiters = [];
  }

  /** Stops the capture: pending iterations end, queued packets are discarded. */
  close(): void {
    if (this.fd < 0) return;
    this.stats(); // keep the final counters readable after close
    this.watcher?.close();
    this.watcher = undefined;
    const fd = this.fd;
    this.fd = -1;
    this.queue.length = 0;
    this.sys.close(fd);
    this.finish();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
