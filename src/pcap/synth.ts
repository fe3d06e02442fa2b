/** A seeded generator of realistic Ethernet traffic (ARP, IPv4/IPv6, TCP/HTTP(S) flows, DNS, ICMP, VLANs, fragments) for tests and benchmarks. */

import { UsageError } from '../util/index.js';
import { DLT_EN10MB } from './link-types.js';
import type { Packet } from './packet.js';

/** Options of {@link synthesizeTraffic}. */
export interface SynthOptions {
  /** Seed of the PRNG: the same seed gives the same packets. Default 1. */
  seed?: number;
  /** Number of packets; default 1000. `Infinity` never stops. */
  count?: number;
  /** Time stamp of the first packet, in seconds; default 1700000000. */
  startTime?: number;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.u32() % items.length];
  }
  /** 64 KiB of random bytes that payloads are cut from (drawing each byte would be ten times slower). */
  private pool: Uint8Array | undefined;
  fill(out: Uint8Array, from: number, to: number): void {
    if (!this.pool) {
      this.pool = new Uint8Array(65536);
      for (let i = 0; i < 65536; i += 4) {
        const r = this.u32();
        this.pool[i] = r;
        this.pool[i + 1] = r >>> 8;
        this.pool[i + 2] = r >>> 16;
        this.pool[i + 3] = r >>> 24;
      }
    }
    const n = to - from;
    const start = this.u32() % (65536 - n + 1);
    out.set(this.pool.subarray(start, start + n), from);
  }
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_VLAN = 0x8100;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const EMPTY = new Uint8Array(0);
/** Largest Ethernet frame without FCS. */
const MAX_FRAME = 1514;

/** A host: MAC, IPv4 and IPv6 address. */
interface Host {
  mac: Uint8Array;
  ip4: Uint8Array;
  ip6: Uint8Array;
}

/** Where a frame goes: the two hosts, the IP version, and an optional VLAN id. */
interface Path {
  src: Host;
  dst: Host;
  v6: boolean;
  vlan: number;
}

/** One TCP connection and where it is in its life. */
interface Flow {
  client: Host;
  server: Host;
  v6: boolean;
  vlan: number;
  cport: number;
  sport: number;
  cseq: number;
  sseq: number;
  /** Response bytes the server still has to send. */
  remaining: number;
  /** 0 SYN, 1 SYN-ACK, 2 ACK, 3 request, 4 response data, 5 client FIN, 6 server FIN, 7 last ACK. */
  step: number;
  /** Segments since the client last acknowledged. */
  unacked: number;
  /** True once the server's first data segment went out. */
  answered: boolean;
}

const HOSTNAMES = ['example.com', 'www.example.org', 'api.example.net', 'cdn.example.com', 'mail.example.org', 'tcpdump.org', 'kernel.org'];
const PATHS = ['/', '/index.html', '/api/v1/items', '/static/app.js', '/images/logo.png', '/search?q=bpf'];

function makeHost(rng: Rng, net4: readonly number[], index: number): Host {
  const mac = new Uint8Array([0x02, 0x42, rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), index & 0xff]);
  const ip4 = new Uint8Array([net4[0], net4[1], net4[2], index & 0xff]);
  const ip6 = new Uint8Array(16);
  ip6.set([0x20, 0x01, 0x0d, 0xb8, 0, net4[2]], 0);
  ip6[14] = index >> 8;
  ip6[15] = index & 0xff;
  return { mac, ip4, ip6 };
}

/** Internet checksum of `data[from, to)` added to `sum` (not yet folded). */
function sum16(data: Uint8Array, from: number, to: number, sum = 0): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < to) sum += data[i] << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/**
 * The generator's state: hosts, open TCP flows, the clock. {@link synthesizeTraffic} wraps it;
 * use it directly to draw packets one by one.
 */
export class TrafficSynth {
  private readonly rng: Rng;
  private readonly clients: Host[] = [];
  private readonly servers: Host[] = [];
  private readonly flows: Flow[] = [];
  private readonly pending: Packet[] = [];
  private sec: number;
  private usec = 0;
  private ipId = 1;

  constructor(seed = 1, startTime = 1700000000) {
    this.rng = new Rng(seed === 0 ? 0x9e3779b9 : seed);
    this.sec = startTime;
    for (let i = 0; i < 24; i++) this.clients.push(makeHost(this.rng, [192, 168, 1], 10 + i));
    for (let i = 0; i < 12; i++) this.servers.push(makeHost(this.rng, [93, 184, 216], 30 + i));
  }

  /** The next packet. */
  next(): Packet {
    const p = this.pending.shift() ?? this.draw();
    // Stamp on the way out, so that answers queued behind their requests come later.
    [p.tsSec, p.tsNsec] = this.tick();
    return p;
  }

  /** Frames are cut from 1 MiB slabs: one ArrayBuffer per packet would cost more in GC than all the rest. */
  private slab = new Uint8Array(0);
  private slabAt = 0;
  private alloc(n: number): Uint8Array {
    if (this.slabAt + n > this.slab.length) {
      this.slab = new Uint8Array(1 << 20);
      this.slabAt = 0;
    }
    return this.slab.subarray(this.slabAt, (this.slabAt += n));
  }

  /** Scratch space for L4 headers and payloads before they are copied into a frame; reset per draw. */
  private readonly scratchBuf = new Uint8Array(1 << 16);
  private scratchAt = 0;
  private scratch(n: number): Uint8Array {
    const r = this.scratchBuf.subarray(this.scratchAt, (this.scratchAt += n));
    r.fill(0);
    return r;
  }

  private draw(): Packet {
    this.scratchAt = 0;
    const r = this.rng.int(0, 999);
    if (r < 30) return this.arp();
    if (r < 180) return this.dns();
    if (r < 220) return this.icmpEcho();
    if (r < 245) return this.icmp6();
    if (r < 255) return this.fragmentedUdp();
    return this.tcp();
  }

  private tick(): [number, number] {
    // Gaps of 1 us .. ~2 ms, in whole microseconds so that a microsecond file keeps them exactly.
    this.usec += 1 + (this.rng.u32() % (this.rng.chance(0.1) ? 2000 : 200));
    if (this.usec >= 1_000_000) {
      this.sec += Math.floor(this.usec / 1_000_000);
      this.usec %= 1_000_000;
    }
    return [this.sec, this.usec * 1000];
  }

  private packet(data: Uint8Array): Packet {
    return { data, origLen: data.length, tsSec: 0, tsNsec: 0, linkType: DLT_EN10MB, interfaceId: 0 };
  }

  private randomPath(v6Chance: number): Path {
    const rng = this.rng;
    return {
      src: rng.pick(this.clients),
      dst: rng.pick(this.servers),
      v6: rng.chance(v6Chance),
      vlan: rng.chance(0.05) ? rng.int(1, 4094) : 0,
    };
  }

  /**
   * A frame: Ethernet (+802.1Q), IPv4 (optionally with a Router Alert option) or IPv6, the L4
   * header and payload; IP and L4 checksums filled in; padded to the 60-byte minimum.
   */
  private frame(
    path: Path,
    proto: number,
    l4: Uint8Array,
    opts: { ipOptions?: boolean; fragOffset?: number; moreFragments?: boolean; id?: number; l4Total?: number } = {},
  ): Uint8Array {
    const eth = path.vlan ? 18 : 14;
    const ipHeader = path.v6 ? 40 : opts.ipOptions ? 24 : 20;
    const total = eth + ipHeader + l4.length;
    const out = this.alloc(Math.max(60, total));
    out.set(path.dst.mac, 0);
    out.set(path.src.mac, 6);
    let at = 12;
    if (path.vlan) {
      out[12] = ETH_VLAN >> 8;
      out[13] = ETH_VLAN & 0xff;
      out[14] = (path.vlan >> 8) & 0x0f;
      out[15] = path.vlan & 0xff;
      at = 16;
    }
    const etherType = path.v6 ? ETH_IPV6 : ETH_IPV4;
    out[at] = etherType >> 8;
    out[at + 1] = etherType & 0xff;
    const ip = at + 2;
    const l4At = ip + ipHeader;
    out.set(l4, l4At);
    let pseudo: number;
    if (path.v6) {
      out[ip] = 0x60;
      out[ip + 4] = l4.length >> 8;
      out[ip + 5] = l4.length & 0xff;
      out[ip + 6] = proto;
      out[ip + 7] = 64;
      out.set(path.src.ip6, ip + 8);
      out.set(path.dst.ip6, ip + 24);
      pseudo = sum16(out, ip + 8, ip + 40) + l4.length + proto;
    } else {
      const totalLength = ipHeader + l4.length;
      out[ip] = 0x40 | (ipHeader / 4);
      out[ip + 2] = totalLength >> 8;
      out[ip + 3] = totalLength & 0xff;
      const id = opts.id ?? this.ipId++ & 0xffff;
      out[ip + 4] = id >> 8;
      out[ip + 5] = id & 0xff;
      const frag = (opts.fragOffset ?? 0) / 8;
      const flags = opts.moreFragments ? 0x2000 : opts.fragOffset === undefined && proto === IPPROTO_TCP ? 0x4000 : 0;
      out[ip + 6] = (flags | frag) >> 8;
      out[ip + 7] = (flags | frag) & 0xff;
      out[ip + 8] = 64;
      out[ip + 9] = proto;
      out.set(path.src.ip4, ip + 12);
      out.set(path.dst.ip4, ip + 16);
      if (opts.ipOptions) out.set([0x94, 0x04, 0, 0], ip + 20); // Router Alert
      const csum = fold(sum16(out, ip, ip + ipHeader));
      out[ip + 10] = csum >> 8;
      out[ip + 11] = csum & 0xff;
      pseudo = sum16(out, ip + 12, ip + 20) + (opts.l4Total ?? l4.length) + proto;
    }
    // L4 checksum (skipped for non-first fragments, which carry no L4 header).
    const csumAt = proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? 2 : -1;
    if (csumAt >= 0 && !opts.fragOffset && opts.l4Total === undefined) {
      const base = proto === IPPROTO_ICMP ? 0 : pseudo;
      let c = fold(sum16(out, l4At, l4At + l4.length, base));
      if (c === 0 && proto === IPPROTO_UDP) c = 0xffff;
      out[l4At + csumAt] = c >> 8;
      out[l4At + csumAt + 1] = c & 0xff;
    }
    return out;
  }

  private arp(): Packet {
    const rng = this.rng;
    const a = rng.pick(this.clients);
    const b = rng.chance(0.5) ? rng.pick(this.clients) : rng.pick(this.servers);
    const reply = rng.chance(0.4);
    const out = this.alloc(60);
    out.set(reply ? a.mac : [255, 255, 255, 255, 255, 255], 0);
    out.set(reply ? b.mac : a.mac, 6);
    out.set([ETH_ARP >> 8, ETH_ARP & 0xff, 0, 1, 8, 0, 6, 4, 0, reply ? 2 : 1], 12);
    const sender = reply ? b : a;
    const target = reply ? a : b;
    out.set(sender.mac, 22);
    out.set(sender.ip4, 28);
    if (reply) out.set(target.mac, 32);
    out.set(target.ip4, 38);
    return this.packet(out);
  }

  private dnsName(name: string): number[] {
    const out: number[] = [];
    for (const label of name.split('.')) out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
    out.push(0);
    return out;
  }

  private dns(): Packet {
    const rng = this.rng;
    const path = this.randomPath(0.2);
    const name = rng.pick(HOSTNAMES);
    const qtype = path.v6 || rng.chance(0.3) ? 28 : 1;
    const id = rng.int(0, 0xffff);
    const sport = rng.int(1024, 65535);
    const question = [...this.dnsName(name), 0, qtype, 0, 1];
    const query = [id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...question];
    this.pending.push(this.dnsAnswer(path, id, sport, question, qtype));
    return this.packet(this.frame(path, IPPROTO_UDP, this.udp(sport, 53, query)));
  }

  private dnsAnswer(path: Path, id: number, dport: number, question: number[], qtype: number): Packet {
    const rng = this.rng;
    const answers = rng.int(1, 4);
    const body = [id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, answers, 0, 0, 0, 0, ...question];
    for (let i = 0; i < answers; i++) {
      const rdata = qtype === 28 ? Array.from({ length: 16 }, () => rng.int(0, 255)) : [rng.int(1, 223), rng.int(0, 255), rng.int(0, 255), rng.int(1, 254)];
      body.push(0xc0, 0x0c, 0, qtype, 0, 1, 0, 0, 0x0e, 0x10, 0, rdata.length, ...rdata);
    }
    const back: Path = { src: path.dst, dst: path.src, v6: path.v6, vlan: path.vlan };
    return this.packet(this.frame(back, IPPROTO_UDP, this.udp(53, dport, body)));
  }

  private udp(sport: number, dport: number, payload: number[] | Uint8Array): Uint8Array {
    const out = this.scratch(8 + payload.length);
    out[0] = sport >> 8;
    out[1] = sport & 0xff;
    out[2] = dport >> 8;
    out[3] = dport & 0xff;
    out[4] = out.length >> 8;
    out[5] = out.length & 0xff;
    out.set(payload, 8);
    return out;
  }

  private icmpEcho(): Packet {
    const rng = this.rng;
    const path = this.randomPath(0);
    path.v6 = false;
    const id = rng.int(0, 0xffff);
    const seq = rng.int(0, 0xffff);
    const size = rng.chance(0.9) ? 56 : rng.int(0, 1400);
    const make = (type: number): Uint8Array => {
      const m = this.scratch(8 + size);
      m[0] = type;
      m.set([id >> 8, id & 0xff, seq >> 8, seq & 0xff], 4);
      for (let i = 0; i < size; i++) m[8 + i] = (i + 0x10) & 0xff;
      return m;
    };
    const back: Path = { src: path.dst, dst: path.src, v6: false, vlan: path.vlan };
    if (rng.chance(0.9)) this.pending.push(this.packet(this.frame(back, IPPROTO_ICMP, make(0), { ipOptions: rng.chance(0.1) })));
    return this.packet(this.frame(path, IPPROTO_ICMP, make(8)));
  }

  private icmp6(): Packet {
    const rng = this.rng;
    const path = this.randomPath(1);
    if (rng.chance(0.5)) {
      // Neighbor Solicitation for the destination.
      const m = this.scratch(32);
      m[0] = 135;
      m.set(path.dst.ip6, 8);
      m.set([1, 1], 24);
      m.set(path.src.mac, 26);
      return this.packet(this.frame(path, IPPROTO_ICMPV6, m));
    }
    const m = this.scratch(8 + 56);
    m[0] = 128;
    m.set([0, rng.int(1, 255), 0, rng.int(0, 255)], 4);
    rng.fill(m, 8, m.length);
    const back: Path = { src: path.dst, dst: path.src, v6: true, vlan: path.vlan };
    const reply = this.scratch(m.length);
    reply.set(m);
    reply[0] = 129;
    this.pending.push(this.packet(this.frame(back, IPPROTO_ICMPV6, reply)));
    return this.packet(this.frame(path, IPPROTO_ICMPV6, m));
  }

  /** A UDP datagram too big for one frame, sent as two IPv4 fragments. */
  private fragmentedUdp(): Packet {
    const rng = this.rng;
    const path = this.randomPath(0);
    path.v6 = false;
    const payload = this.scratch(rng.int(1500, 2900));
    rng.fill(payload, 0, payload.length);
    const datagram = this.udp(rng.int(1024, 65535), rng.pick([5004, 9000, 8125, 20000]), payload);
    const firstLen = (MAX_FRAME - (path.vlan ? 18 : 14) - 20) & ~7;
    const id = this.ipId++ & 0xffff;
    const first = this.frame(path, IPPROTO_UDP, datagram.subarray(0, firstLen), { moreFragments: true, id, l4Total: datagram.length });
    const second = this.frame(path, IPPROTO_UDP, datagram.subarray(firstLen), { fragOffset: firstLen, id });
    this.pending.push(this.packet(second));
    return this.packet(first);
  }

  private tcpSegment(flow: Flow, fromClient: boolean, flags: number, payload: Uint8Array): Packet {
    const seg = this.scratch(20 + payload.length);
    const [sport, dport] = fromClient ? [flow.cport, flow.sport] : [flow.sport, flow.cport];
    const seq = fromClient ? flow.cseq : flow.sseq;
    const ack = flags & TCP_ACK ? (fromClient ? flow.sseq : flow.cseq) : 0;
    seg.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 0);
    seg.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff], 4);
    seg.set([ack >>> 24, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff], 8);
    seg[12] = 5 << 4;
    seg[13] = flags;
    seg[14] = 0xfa;
    seg[15] = 0xf0;
    seg.set(payload, 20);
    const consumed = payload.length + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    if (fromClient) flow.cseq = (flow.cseq + consumed) >>> 0;
    else flow.sseq = (flow.sseq + consumed) >>> 0;
    const path: Path = fromClient
      ? { src: flow.client, dst: flow.server, v6: flow.v6, vlan: flow.vlan }
      : { src: flow.server, dst: flow.client, v6: flow.v6, vlan: flow.vlan };
    return this.packet(this.frame(path, IPPROTO_TCP, seg));
  }

  private newFlow(): Flow {
    const rng = this.rng;
    const path = this.randomPath(0.15);
    return {
      client: path.src,
      server: path.dst,
      v6: path.v6,
      vlan: path.vlan,
      cport: rng.int(32768, 60999),
      sport: rng.chance(0.6) ? 443 : 80,
      cseq: rng.u32(),
      sseq: rng.u32(),
      remaining: rng.chance(0.5) ? rng.int(200, 3000) : rng.int(3000, 60000),
      step: 0,
      unacked: 0,
      answered: false,
    };
  }

  private tcp(): Packet {
    const rng = this.rng;
    if (this.flows.length < 8 || (this.flows.length < 32 && rng.chance(0.05))) this.flows.push(this.newFlow());
    const index = rng.u32() % this.flows.length;
    const flow = this.flows[index];
    const text = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
    switch (flow.step++) {
      case 0:
        return this.tcpSegment(flow, true, TCP_SYN, EMPTY);
      case 1:
        return this.tcpSegment(flow, false, TCP_SYN | TCP_ACK, EMPTY);
      case 2:
        return this.tcpSegment(flow, true, TCP_ACK, EMPTY);
      case 3: {
        if (flow.sport === 80) {
          const req = `GET ${rng.pick(PATHS)} HTTP/1.1\r\nHost: ${rng.pick(HOSTNAMES)}\r\nUser-Agent: bpfkit-synth/1.0\r\nAccept: */*\r\n\r\n`;
          return this.tcpSegment(flow, true, TCP_PSH | TCP_ACK, text(req));
        }
        const hello = this.scratch(rng.int(200, 520));
        rng.fill(hello, 0, hello.length);
        hello.set([0x16, 0x03, 0x01, (hello.length - 5) >> 8, (hello.length - 5) & 0xff, 0x01], 0);
        return this.tcpSegment(flow, true, TCP_PSH | TCP_ACK, hello);
      }
      case 4: {
        if (flow.unacked >= 2) {
          flow.unacked = 0;
          flow.step = 4;
          return this.tcpSegment(flow, true, TCP_ACK, EMPTY);
        }
        // Keep every frame within 1514 bytes whatever the headers.
        const mss = MAX_FRAME - (flow.vlan ? 18 : 14) - (flow.v6 ? 40 : 20) - 20;
        const size = Math.min(mss, flow.remaining);
        const payload = this.scratch(size);
        rng.fill(payload, 0, size);
        if (flow.sport === 80 && !flow.answered && size > 64) {
          payload.set(text(`HTTP/1.1 200 OK\r\nContent-Length: ${flow.remaining}\r\n\r\n`), 0);
        } else if (flow.sport === 443 && size >= 5) {
          payload.set([0x17, 0x03, 0x03, (size - 5) >> 8, (size - 5) & 0xff], 0);
        }
        flow.answered = true;
        flow.remaining -= size;
        flow.unacked++;
        flow.step = flow.remaining > 0 ? 4 : 5;
        return this.tcpSegment(flow, false, TCP_PSH | TCP_ACK, payload);
      }
      case 5:
        return this.tcpSegment(flow, true, TCP_FIN | TCP_ACK, EMPTY);
      case 6:
        return this.tcpSegment(flow, false, TCP_FIN | TCP_ACK, EMPTY);
      default:
        this.flows.splice(index, 1);
        return this.tcpSegment(flow, true, TCP_ACK, EMPTY);
    }
  }
}

/**
 * Seeded synthetic Ethernet traffic: a deterministic mix of ARP, DNS over UDP (IPv4/IPv6),
 * ICMP and ICMPv6 echo, neighbor solicitations, fragmented UDP, IPv4 options, 802.1Q tags,
 * and TCP flows on ports 80/443 (handshake, request, data, FIN). Frames are 60-1514 bytes,
 * time stamps increase in whole microseconds.
 */
export function* synthesizeTraffic(options: SynthOptions = {}): Generator<Packet, void, undefined> {
  const count = options.count ?? 1000;
  if (!(count >= 0)) throw new UsageError('E_SYNTH_COUNT', `packet count must be non-negative, got ${count}`);
  const synth = new TrafficSynth(options.seed ?? 1, options.startTime ?? 1700000000);
  for (let i = 0; i < count; i++) yield synth.next();
}
