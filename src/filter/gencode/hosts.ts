/** Hosts, nets, ports, protocols and the id primitives (gen_scode/ncode/mcode...). */

import {
  BPF_ADD, BPF_ALU, BPF_B, BPF_JA, BPF_H, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MEM,
  BPF_MISC, BPF_MUL, BPF_ST, BPF_TAX, BPF_TXA, BPF_W, BPF_X, type Insn, stmt,
} from '../../cbpf/index.js';
import type { IdValue, ProtoQual, Qual, DirQual } from '../ast.js';
import { DLT } from '../dlt.js';
import { lookupProtocol, lookupService, parseIpv6 } from '../names/resolver.js';
import { atoin, parseMac } from './addresses.js';
import {
  EPROTO_NAMES, ERR_INVALID_QUAL, ETHER_LIKE, MAC48_DLTS, PQ_ETHERTYPE, PQ_IPPROTO, PQ_LLCSAP, PQ_NLPID, WLAN_DLTS,
} from './tables.js';
import { genAnd, genNot, genOr, type GBlock } from './blocks.js';
import {
  ARP_DSTADDR_OFFSET, ARP_SRCADDR_OFFSET, ETHERTYPE, IP6_HDRLEN, IPPROTO, IPV4_DSTADDR_OFFSET, IPV4_PROTO_OFFSET,
  IPV4_SRCADDR_OFFSET, IPV6_DSTADDR_OFFSET, IPV6_PROTO_OFFSET, IPV6_SRCADDR_OFFSET, ISIS_PDU, ISO, LLCSAP,
  PROTO_UNDEF, TRAN_DSTPORT_OFFSET, TRAN_SRCPORT_OFFSET,
} from './constants.js';
import { LinkGen } from './link.js';
import type { OffRel } from './core.js';

/** Layer 3 of the generator: address, port and protocol primitives. */
export class AddrGen extends LinkGen {
  // ---- hosts, nets, ports, protocols -----------------------------------------------------

  protected assertNonwlanDqual(dir: DirQual): void {
    if (dir === 'src' || dir === 'dst' || dir === 'src and dst' || dir === 'default' || dir === 'src or dst') return;
    this.error(`'${dir}' is valid for 802.11 syntax only`);
  }

  protected hostop(addr: number, mask: number, dir: DirQual, srcOff: number, dstOff: number): GBlock {
    switch (dir) {
      case 'src': return this.mcmp('linkpl', srcOff, BPF_W, addr, mask);
      case 'dst': return this.mcmp('linkpl', dstOff, BPF_W, addr, mask);
      case 'src and dst': {
        const b0 = this.hostop(addr, mask, 'src', srcOff, dstOff);
        const b1 = this.hostop(addr, mask, 'dst', srcOff, dstOff);
        return genAnd(b0, b1);
      }
      default: {
        const b0 = this.hostop(addr, mask, 'src', srcOff, dstOff);
        const b1 = this.hostop(addr, mask, 'dst', srcOff, dstOff);
        return genOr(b0, b1);
      }
    }
  }

  protected hostop6(addr: Uint8Array, mask: Uint8Array, dir: DirQual): GBlock {
    let offset: number;
    switch (dir) {
      case 'src': offset = IPV6_SRCADDR_OFFSET; break;
      case 'dst': offset = IPV6_DSTADDR_OFFSET; break;
      case 'src and dst': return genAnd(this.hostop6(addr, mask, 'src'), this.hostop6(addr, mask, 'dst'));
      default: {
        const b0 = this.hostop6(addr, mask, 'src');
        const b1 = this.hostop6(addr, mask, 'dst');
        return genOr(b0, b1);
      }
    }
    const word = (a: Uint8Array, i: number): number => ((a[4 * i] << 24) | (a[4 * i + 1] << 16) | (a[4 * i + 2] << 8) | a[4 * i + 3]) >>> 0;
    let b1 = this.genTrue();
    for (let i = 3; i >= 0; i--) {
      const b0 = this.mcmp('linkpl', offset + 4 * i, BPF_W, word(addr, i), word(mask, i));
      b1 = genAnd(b0, b1);
    }
    return b1;
  }

  protected host(addrs: number[], masks: number[], proto: ProtoQual, dir: DirQual, context: string, not = false): GBlock {
    this.assertNonwlanDqual(dir);
    let llproto: number;
    let srcOff: number;
    let dstOff: number;
    switch (proto) {
      case 'default': {
        let b0 = this.host(addrs, masks, 'ip', dir, context, not);
        if (this.labelStackDepth === 0) {
          let b1 = this.host(addrs, masks, 'arp', dir, context, not);
          b1 = genOr(b0, b1);
          b0 = this.host(addrs, masks, 'rarp', dir, context, not);
          b0 = genOr(b1, b0);
        }
        return b0;
      }
      case 'ip': llproto = ETHERTYPE.IP; srcOff = IPV4_SRCADDR_OFFSET; dstOff = IPV4_DSTADDR_OFFSET; break;
      case 'rarp': llproto = ETHERTYPE.REVARP; srcOff = ARP_SRCADDR_OFFSET; dstOff = ARP_DSTADDR_OFFSET; break;
      case 'arp': llproto = ETHERTYPE.ARP; srcOff = ARP_SRCADDR_OFFSET; dstOff = ARP_DSTADDR_OFFSET; break;
      default: return this.error(ERR_INVALID_QUAL(proto, context));
    }
    const b0 = this.linktypeTest(llproto);
    if (b0.meaning === 'false') return b0;
    let b1 = this.genFalse();
    for (let i = 0; i < addrs.length; i++) b1 = genOr(b1, this.hostop(addrs[i], masks[i], dir, srcOff, dstOff));
    return genAnd(b0, not ? genNot(b1) : b1);
  }

  protected host6(addrs: Uint8Array[], masks: Uint8Array[], proto: ProtoQual, dir: DirQual, context: string, not = false): GBlock {
    this.assertNonwlanDqual(dir);
    if (proto !== 'default' && proto !== 'ip6') this.error(ERR_INVALID_QUAL(proto, context));
    const linkproto = this.linktypeTest(ETHERTYPE.IPV6);
    let h = this.genFalse();
    for (let i = 0; i < addrs.length; i++) h = genOr(h, this.hostop6(addrs[i], masks[i], dir));
    return genAnd(linkproto, not ? genNot(h) : h);
  }

  protected host46ByName(name: string, proto: ProtoQual, dir: DirQual, proto6: ProtoQual = proto, not = false): GBlock {
    const context = 'host <Internet hostname>';
    const r = this.resolver?.host?.(name);
    if (!r || (r.ipv4.length === 0 && r.ipv6.length === 0)) return this.error(`unknown host '${name}'`);
    let ret: GBlock | null = null;
    if (proto !== 'ip6') {
      const a = [...r.ipv4].sort((x, y) => x - y);
      if (a.length) ret = this.host(a, a.map(() => 0xffffffff), proto, dir, context, not);
    }
    if (proto6 !== 'arp' && proto6 !== 'ip' && proto6 !== 'rarp') {
      const a = [...r.ipv6].sort((x, y) => {
        for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i] - y[i];
        return 0;
      });
      if (a.length) {
        const h6 = this.host6(a, a.map(() => new Uint8Array(16).fill(0xff)), proto6, dir, context, not);
        ret = ret ? genOr(ret, h6) : h6;
      }
    }
    if (!ret) return this.error(`unknown host '${name}'${proto === 'default' ? '' : ' for specified address family'}`);
    return ret;
  }

  protected mac48host(eaddr: Uint8Array, dir: DirQual, keyword: string): GBlock {
    let srcOff: number;
    let dstOff: number;
    const lt = this.linktype;
    let pre: GBlock | null = null;
    if (ETHER_LIKE.has(lt)) {
      pre = this.prevlinkhdrCheck();
      srcOff = 6;
      dstOff = 0;
    } else if (lt === DLT.FDDI) {
      srcOff = 7;
      dstOff = 1;
    } else if (lt === DLT.IEEE802) {
      srcOff = 8;
      dstOff = 2;
    } else if (lt === DLT.IP_OVER_FC) {
      srcOff = 10;
      dstOff = 2;
    } else if (WLAN_DLTS.has(lt)) {
      return this.wlanhostop(eaddr, dir);
    } else return this.failKwOnDlt(keyword);
    this.assertNonwlanDqual(dir);
    let b0: GBlock;
    switch (dir) {
      case 'src': b0 = this.bcmp('linkhdr', srcOff, eaddr); break;
      case 'dst': b0 = this.bcmp('linkhdr', dstOff, eaddr); break;
      case 'src and dst': {
        const tmp = this.bcmp('linkhdr', srcOff, eaddr);
        b0 = genAnd(tmp, this.bcmp('linkhdr', dstOff, eaddr));
        break;
      }
      default: {
        const tmp = this.bcmp('linkhdr', srcOff, eaddr);
        b0 = genOr(tmp, this.bcmp('linkhdr', dstOff, eaddr));
      }
    }
    return pre ? genAnd(pre, b0) : b0;
  }

  /** gen_wlanhostop: which of the four 802.11 addresses holds source/destination depends on ToDS/FromDS and the frame type. */
  protected wlanhostop(eaddr: Uint8Array, dir: DirQual): GBlock {
    const fc1 = (): Insn[] => this.loadA('linkhdr', 1, BPF_B);
    const fc0 = (): Insn[] => this.loadA('linkhdr', 0, BPF_B);
    const addr = (off: number): GBlock => this.bcmp('linkhdr', off, eaddr);
    const mcmpNe = (v: number, mask: number): GBlock => this.ncmp('linkhdr', 0, BPF_B, mask, BPF_JEQ, true, v);
    let b0: GBlock;
    let b1: GBlock;
    let b2: GBlock;
    switch (dir) {
      case 'src':
        b1 = this.set(0x01, fc1());
        b0 = addr(24);
        b0 = genAnd(b1, b0);
        b2 = this.unset(0x01, fc1());
        b1 = addr(16);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        b1 = this.set(0x02, fc1());
        b0 = genAnd(b1, b0);
        b2 = this.unset(0x02, fc1());
        b1 = addr(10);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        b1 = this.set(0x08, fc0());
        b0 = genAnd(b1, b0);
        b2 = this.unset(0x08, fc0());
        b1 = addr(10);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        b1 = this.unset(0x04, fc0());
        return genAnd(b1, b0);
      case 'dst':
        b1 = this.set(0x01, fc1());
        b0 = addr(16);
        b0 = genAnd(b1, b0);
        b2 = this.unset(0x01, fc1());
        b1 = addr(4);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        b1 = this.set(0x08, fc0());
        b0 = genAnd(b1, b0);
        b2 = this.unset(0x08, fc0());
        b1 = addr(4);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        b1 = this.unset(0x04, fc0());
        return genAnd(b1, b0);
      case 'src and dst':
        b0 = this.wlanhostop(eaddr, 'src');
        return genAnd(b0, this.wlanhostop(eaddr, 'dst'));
      case 'default': case 'src or dst':
        b0 = this.wlanhostop(eaddr, 'src');
        return genOr(b0, this.wlanhostop(eaddr, 'dst'));
      case 'addr1':
        return addr(4);
      case 'addr2':
      case 'ta':
        b0 = mcmpNe(0x04, 0x0c);
        b1 = mcmpNe(0xc0, 0xf0);
        b2 = mcmpNe(0xd0, 0xf0);
        b2 = genAnd(b1, b2);
        b2 = genOr(b0, b2);
        if (dir === 'ta') {
          b1 = this.set(0x08, fc0());
          b2 = genAnd(b1, b2);
        }
        b1 = addr(10);
        return genAnd(b2, b1);
      case 'addr3':
        b0 = mcmpNe(0x04, 0x0c);
        b1 = addr(16);
        return genAnd(b0, b1);
      case 'addr4':
        b0 = this.mcmp('linkhdr', 1, BPF_B, 0x03, 0x03);
        b1 = addr(24);
        return genAnd(b0, b1);
      case 'ra':
        b1 = this.set(0x08, fc0());
        b0 = addr(4);
        return genAnd(b1, b0);
    }
    return this.error(`internal error: wlan direction ${dir}`);
  }

  protected ipProto(proto: number): GBlock {
    return this.cmp('linkpl', IPV4_PROTO_OFFSET, BPF_B, proto);
  }
  protected ip6Proto(proto: number): GBlock {
    return this.cmp('linkpl', IPV6_PROTO_OFFSET, BPF_B, proto);
  }
  protected ipfrag(): GBlock {
    return this.unset(0x1fff, this.loadA('linkpl', 6, BPF_H));
  }

  protected portCommon(proto: number, b1: GBlock, v6: boolean): GBlock {
    const p = (n: number): GBlock => (v6 ? this.ip6Proto(n) : this.ipProto(n));
    let tmp: GBlock;
    if (proto === PROTO_UNDEF) {
      tmp = p(IPPROTO.SCTP);
      tmp = genOr(p(IPPROTO.UDP), tmp);
      tmp = genOr(p(IPPROTO.TCP), tmp);
    } else tmp = p(proto);
    if (v6) {
      b1 = genAnd(tmp, b1);
      return genAnd(this.linktypeTest(ETHERTYPE.IPV6), b1);
    }
    let b0 = this.ipfrag();
    b0 = genAnd(tmp, b0);
    b1 = genAnd(b0, b1);
    return genAnd(this.linktypeTest(ETHERTYPE.IP), b1);
  }

  protected portAtom(v6: boolean, off: number, v: number): GBlock {
    return this.cmp(v6 ? 'tran-ipv6' : 'tran-ipv4', off, BPF_H, v);
  }
  protected portRangeAtom(v6: boolean, off: number, v1: number, v2: number): GBlock {
    if (v1 === v2) return this.portAtom(v6, off, v1);
    const rel: OffRel = v6 ? 'tran-ipv6' : 'tran-ipv4';
    const b1 = this.cmpGe(rel, off, BPF_H, Math.min(v1, v2));
    const b2 = this.cmpLe(rel, off, BPF_H, Math.max(v1, v2));
    return genAnd(b1, b2);
  }

  protected port(v6: boolean, v1: number, v2: number | undefined, proto: number, dir: DirQual, kw: string): GBlock {
    const atom = (off: number): GBlock => (v2 === undefined ? this.portAtom(v6, off, v1) : this.portRangeAtom(v6, off, v1, v2));
    let b1: GBlock;
    switch (dir) {
      case 'src': b1 = atom(TRAN_SRCPORT_OFFSET); break;
      case 'dst': b1 = atom(TRAN_DSTPORT_OFFSET); break;
      case 'src and dst': { const tmp = atom(TRAN_SRCPORT_OFFSET); b1 = genAnd(tmp, atom(TRAN_DSTPORT_OFFSET)); break; }
      case 'default': case 'src or dst': { const tmp = atom(TRAN_SRCPORT_OFFSET); b1 = genOr(tmp, atom(TRAN_DSTPORT_OFFSET)); break; }
      default: return this.error(ERR_INVALID_QUAL(dir, kw));
    }
    return this.portCommon(proto, b1, v6);
  }

  protected portPqToIpproto(proto: ProtoQual, kw: string): number {
    switch (proto) {
      case 'udp': return IPPROTO.UDP;
      case 'tcp': return IPPROTO.TCP;
      case 'sctp': return IPPROTO.SCTP;
      case 'default': return PROTO_UNDEF;
    }
    return this.error(ERR_INVALID_QUAL(proto, kw));
  }

  protected pqTo(map: Partial<Record<ProtoQual, number>>, proto: ProtoQual, what: string): number {
    const v = map[proto];
    if (v === undefined) return this.error(`Proto qualifier '${proto}' has no ${what}`);
    return v;
  }

  protected proto(v: number, proto: ProtoQual): GBlock {
    switch (proto) {
      case 'default': {
        const b0 = this.proto(v, 'ip');
        const b1 = this.proto(v, 'ip6');
        return genOr(b0, b1);
      }
      case 'link':
        return this.linktypeTest(v);
      case 'ip': {
        this.assertMaxval('protocol number', v, 255);
        const b0 = this.linktypeTest(ETHERTYPE.IP);
        return genAnd(b0, this.ipProto(v));
      }
      case 'ip6': {
        this.assertMaxval('protocol number', v, 255);
        const b0 = this.linktypeTest(ETHERTYPE.IPV6);
        let b2 = this.ip6Proto(IPPROTO.FRAGMENT);
        let b1 = this.cmp('linkpl', IP6_HDRLEN, BPF_B, v);
        b1 = genAnd(b2, b1);
        b2 = this.ip6Proto(v);
        b1 = genOr(b2, b1);
        return genAnd(b0, b1);
      }
      case 'iso': {
        this.assertMaxval('ISO protocol', v, 255);
        if (this.linktype === DLT.FRELAY) return this.cmp('linkhdr', 2, BPF_H, (0x03 << 8) | v);
        if (this.linktype === DLT.C_HDLC) {
          const b0 = this.linktypeTest((LLCSAP.ISONS << 8) | LLCSAP.ISONS);
          return genAnd(b0, this.cmp('linkpl-nosnap', 1, BPF_B, v));
        }
        const b0 = this.linktypeTest(LLCSAP.ISONS);
        return genAnd(b0, this.cmp('linkpl-nosnap', 0, BPF_B, v));
      }
      case 'isis': {
        this.assertMaxval('IS-IS PDU type', v, ISIS_PDU.TYPE_MAX);
        const b0 = this.proto(ISO.ISIS, 'iso');
        const off = this.linktype === DLT.C_HDLC ? 5 : 4;
        return genAnd(b0, this.mcmp('linkpl-nosnap', off, BPF_B, v, ISIS_PDU.TYPE_MAX));
      }
    }
    return this.error(ERR_INVALID_QUAL(proto, 'proto'));
  }

  protected protoAbbrev(proto: ProtoQual): GBlock {
    const P = ISIS_PDU;
    const isisAny = (...types: number[]): GBlock => {
      // libpcap ORs these pairwise in a fixed order: first two, then each following one.
      let b1 = this.proto(types[1], 'isis');
      let b0 = this.proto(types[0], 'isis');
      b1 = genOr(b0, b1);
      for (const t of types.slice(2)) {
        b0 = this.proto(t, 'isis');
        b1 = genOr(b0, b1);
      }
      return b1;
    };
    switch (proto) {
      case 'sctp': case 'tcp': case 'udp': case 'ah': case 'esp': case 'pim':
        return this.proto(this.pqTo(PQ_IPPROTO, proto, 'IP protocol'), 'default');
      case 'icmp': case 'igmp': case 'igrp': case 'vrrp': case 'carp':
        return this.proto(this.pqTo(PQ_IPPROTO, proto, 'IP protocol'), 'ip');
      case 'icmp6':
        return this.proto(IPPROTO.ICMPV6, 'ip6');
      case 'ip': case 'arp': case 'rarp': case 'atalk': case 'aarp': case 'decnet': case 'sca': case 'lat':
      case 'mopdl': case 'moprc': case 'ip6':
        return this.linktypeTest(this.pqTo(PQ_ETHERTYPE, proto, 'EtherType'));
      case 'iso': case 'stp': case 'ipx': case 'netbeui':
        return this.linktypeTest(this.pqTo(PQ_LLCSAP, proto, 'LLC SAP'));
      case 'esis': case 'isis': case 'clnp':
        return this.proto(this.pqTo(PQ_NLPID, proto, 'NLPID'), 'iso');
      case 'l1': return isisAny(P.L1_LAN_IIH, P.PTP_IIH, P.L1_LSP, P.L1_CSNP, P.L1_PSNP);
      case 'l2': return isisAny(P.L2_LAN_IIH, P.PTP_IIH, P.L2_LSP, P.L2_CSNP, P.L2_PSNP);
      case 'iih': return isisAny(P.L1_LAN_IIH, P.L2_LAN_IIH, P.PTP_IIH);
      case 'lsp': return isisAny(P.L1_LSP, P.L2_LSP);
      case 'snp': return isisAny(P.L1_CSNP, P.L2_CSNP, P.L1_PSNP, P.L2_PSNP);
      case 'csnp': return isisAny(P.L1_CSNP, P.L2_CSNP);
      case 'psnp': return isisAny(P.L1_PSNP, P.L2_PSNP);
    }
    return this.error(`'${proto}' cannot be used as an abbreviation`);
  }

  // ---- ids ---------------------------------------------------------------------------------

  protected lookupProto(name: string, q: Qual): number {
    let v = -1;
    switch (q.proto) {
      case 'default': case 'ip': case 'ip6': v = lookupProtocol(this.resolver, name); break;
      case 'link': v = EPROTO_NAMES.get(name) ?? -1; break;
      case 'iso': v = name === 'esis' ? ISO.ESIS : name === 'isis' ? ISO.ISIS : name === 'clnp' ? ISO.CLNP : -1; break;
    }
    if (v >= 0) return v;
    if (q.proto === 'default') return this.error(`unknown '${q.addr}' value '${name}'`);
    return this.error(`unknown '${q.proto} ${q.addr}' value '${name}'`);
  }

  /** pcap_nametoport: TCP and UDP lookups; equal ports mean "any". */
  protected nameToPort(name: string): { port: number; proto: number } | undefined {
    const tcp = lookupService(this.resolver, name, 'tcp');
    const udp = lookupService(this.resolver, name, 'udp');
    if (tcp >= 0) return { port: tcp, proto: udp >= 0 && udp === tcp ? PROTO_UNDEF : IPPROTO.TCP };
    if (udp >= 0) return { port: udp, proto: IPPROTO.UDP };
    return undefined;
  }

  protected stringToPort(text: string): { port: number; proto: number } {
    if (/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) {
      const v = /^0[xX]/.test(text) ? parseInt(text.slice(2), 16) : text.length > 1 && text.startsWith('0') ? parseInt(text, 8) : parseInt(text, 10);
      return { port: v, proto: PROTO_UNDEF };
    }
    const r = this.nameToPort(text);
    if (!r) return this.error(`'${text}' is not a valid port`);
    return r;
  }

  protected checkPortProto(proto: ProtoQual, real: number, what: string, name: string): number {
    const names: Record<number, string> = { [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.SCTP]: 'sctp' };
    const want = proto === 'udp' ? IPPROTO.UDP : proto === 'tcp' ? IPPROTO.TCP : proto === 'sctp' ? IPPROTO.SCTP : undefined;
    if (want === undefined) return real;
    if (real !== PROTO_UNDEF && real !== want) this.error(`${what} '${name}' is ${names[real]}`);
    return want;
  }

  protected scode(name: string, q: Qual): GBlock {
    if (q.proto === 'decnet') this.error(ERR_INVALID_QUAL('decnet', q.addr === 'default' ? 'host' : q.addr));
    switch (q.addr) {
      case 'net': {
        let addr = this.resolver?.network?.(name) ?? 0;
        if (addr === 0) return this.error(`unknown network '${name}'`);
        let mask = 0xffffffff;
        while (addr && (addr & 0xff000000) === 0) {
          addr = (addr << 8) >>> 0;
          mask = (mask << 8) >>> 0;
        }
        return this.host([addr], [mask], q.proto, q.dir, 'net <IPv4 network name>');
      }
      case 'default': case 'host':
        if (q.proto === 'link') return this.mac48hostByName(name, q.dir, 'link host NAME');
        return this.host46ByName(name, q.proto, q.dir);
      case 'port': {
        this.portPqToIpproto(q.proto, 'port');
        const r = this.nameToPort(name);
        if (!r) return this.error(`unknown port '${name}'`);
        const real = this.checkPortProto(q.proto, r.proto, 'port', name);
        const b = this.port(false, r.port, undefined, real, q.dir, 'port');
        const b6 = this.port(true, r.port, undefined, real, q.dir, 'port');
        return genOr(b6, b);
      }
      case 'portrange': {
        this.portPqToIpproto(q.proto, 'portrange');
        const hy = name.indexOf('-');
        if (hy < 0) return this.error(`port range '${name}' contains no hyphen`);
        if (name.indexOf('-', hy + 1) >= 0) return this.error(`port range '${name}' contains more than one hyphen`);
        if (hy === 0) return this.error(`port range '${name}' has no starting port`);
        const p1 = this.stringToPort(name.slice(0, hy));
        if (hy === name.length - 1) return this.error(`port range '${name}' has no ending port`);
        const p2 = this.stringToPort(name.slice(hy + 1));
        let real = p1.proto === p2.proto ? p2.proto : PROTO_UNDEF;
        real = this.checkPortProto(q.proto, real, 'port in range', name);
        this.assertMaxval('port number', p1.port, 0xffff);
        this.assertMaxval('port number', p2.port, 0xffff);
        const b = this.port(false, p1.port, p2.port, real, q.dir, 'portrange');
        const b6 = this.port(true, p1.port, p2.port, real, q.dir, 'portrange');
        return genOr(b6, b);
      }
      case 'gateway':
        return this.gateway(name, q.proto);
      case 'proto':
        return this.proto(this.lookupProto(name, q), q.proto);
      case 'protochain':
        return this.protochain(this.lookupProto(name, q), q.proto);
    }
    return this.error('syntax error in filter expression');
  }

  protected mac48hostByName(name: string, dir: DirQual, context: string): GBlock {
    if (!MAC48_DLTS.has(this.linktype)) this.failKwOnDlt(context);
    const e = this.resolver?.ether?.(name);
    if (!e) return this.error(`unknown Ethernet-like host '${name}'`);
    return this.mac48host(e, dir, context);
  }

  /** gen_gateway: the link address is the name's, the IP address is not (the packet was routed through it). */
  protected gateway(name: string, proto: ProtoQual): GBlock {
    if (proto !== 'default' && proto !== 'ip' && proto !== 'arp' && proto !== 'rarp') this.error(ERR_INVALID_QUAL(proto, 'gateway'));
    if (this.labelStackDepth) this.error("'gateway' cannot be used within MPLS");
    if (this.isEncap) this.error("'gateway' cannot be used within VXLAN or Geneve");
    const b0 = this.mac48hostByName(name, 'src or dst', 'gateway');
    const b1 = this.host46ByName(name, proto, 'src or dst', 'ip', true);
    return genAnd(b0, b1);
  }

  /**
   * gen_protochain: walks the IPv4/IPv6 extension header chain in a loop (a backward `ja`)
   * looking for protocol `v`. libpcap never optimizes such programs.
   */
  protected protochain(v: number, proto: ProtoQual): GBlock {
    const reg2 = this.allocReg();
    if (proto === 'default') {
      const b0 = this.protochain(v, 'ip');
      const b = this.protochain(v, 'ip6');
      return genOr(b0, b);
    }
    if (proto !== 'ip' && proto !== 'ip6') return this.error(ERR_INVALID_QUAL(proto, 'protochain'));
    this.assertMaxval('protocol number', v, 255);
    if (this.offLinkpl.isVariable) this.error("'protochain' not supported with variable length headers");
    this.noOptimize = true;
    const nl = this.offLinkpl.constantPart + this.offNl;
    const list: Insn[] = [];
    const jumps = new Map<Insn, [Insn | null, Insn | null]>();
    const add = (i: Insn): Insn => {
      list.push(i);
      return i;
    };
    const jeq = (k: number): Insn => {
      const i = add(stmt(BPF_JMP | BPF_JEQ | BPF_K, k));
      jumps.set(i, [null, null]);
      return i;
    };
    const setJt = (i: Insn, t: Insn): void => { (jumps.get(i) as [Insn | null, Insn | null])[0] = t; };
    const setJf = (i: Insn, t: Insn): void => { (jumps.get(i) as [Insn | null, Insn | null])[1] = t; };
    let b0: GBlock;
    if (proto === 'ip') {
      b0 = this.linktypeTest(ETHERTYPE.IP);
      list.push(...this.loadA('linkpl', IPV4_PROTO_OFFSET, BPF_B));
      list.push(...this.loadxIphdrlen());
    } else {
      b0 = this.linktypeTest(ETHERTYPE.IPV6);
      list.push(...this.loadA('linkpl', IPV6_PROTO_OFFSET, BPF_B));
      add(stmt(BPF_LDX | BPF_IMM, IP6_HDRLEN));
    }
    const again = list.length;
    const fix5 = jeq(v);
    const fix2 = jeq(IPPROTO.NONE);
    setJf(fix5, fix2);
    let fix3: Insn | null = null;
    if (proto === 'ip6') {
      const chain = [IPPROTO.HOPOPTS, IPPROTO.DSTOPTS, IPPROTO.ROUTING, IPPROTO.FRAGMENT].map((k) => jeq(k));
      setJf(fix2, chain[0]);
      for (let j = 1; j < chain.length; j++) setJf(chain[j - 1], chain[j]);
      fix3 = chain[3];
      const advance = add(stmt(BPF_LD | BPF_IND | BPF_B, nl));
      add(stmt(BPF_ST, reg2));
      add(stmt(BPF_LD | BPF_IND | BPF_B, nl + 1));
      add(stmt(BPF_ALU | BPF_ADD | BPF_K, 1));
      add(stmt(BPF_ALU | BPF_MUL | BPF_K, 8));
      add(stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
      add(stmt(BPF_MISC | BPF_TAX));
      add(stmt(BPF_LD | BPF_MEM, reg2));
      add(stmt(BPF_JMP | BPF_JA | BPF_K, (again - list.length - 1) >>> 0));
      for (const c of chain) setJt(c, advance);
    } else {
      const nop = add(stmt(BPF_ALU | BPF_ADD | BPF_K, 0));
      setJf(fix2, nop);
    }
    const fix4 = jeq(IPPROTO.AH);
    if (fix3) setJf(fix3, fix4);
    const ld = add(stmt(BPF_LD | BPF_IND | BPF_B, nl));
    setJt(fix4, ld);
    add(stmt(BPF_ST, reg2));
    add(stmt(BPF_MISC | BPF_TXA));
    add(stmt(BPF_ALU | BPF_ADD | BPF_K, 1));
    add(stmt(BPF_MISC | BPF_TAX));
    add(stmt(BPF_LD | BPF_IND | BPF_B, nl));
    add(stmt(BPF_ALU | BPF_ADD | BPF_K, 2));
    add(stmt(BPF_ALU | BPF_MUL | BPF_K, 4));
    add(stmt(BPF_MISC | BPF_TAX));
    add(stmt(BPF_LD | BPF_MEM, reg2));
    add(stmt(BPF_JMP | BPF_JA | BPF_K, (again - list.length - 1) >>> 0));
    const end = add(stmt(BPF_ALU | BPF_ADD | BPF_K, 0));
    setJt(fix2, end);
    setJf(fix4, end);
    setJt(fix5, end);
    for (const [i, [jt, jf]] of jumps) {
      const at = list.indexOf(i);
      i.jt = jt ? list.indexOf(jt) - at - 1 : 0;
      i.jf = jf ? list.indexOf(jf) - at - 1 : 0;
    }
    const b = this.jmpK(BPF_JEQ, v, list);
    this.freeReg(reg2);
    return genAnd(b0, b);
  }

  protected ncode(text: string | undefined, v: number, q: Qual): GBlock {
    if (q.proto === 'decnet') return this.dnhost(text, v, q);
    let vlen: number;
    let idstr: string;
    if (text === undefined) {
      vlen = 32;
      idstr = String(v);
    } else {
      const r = atoin(text);
      if (!r) return this.error(`invalid IPv4 address '${text}'`);
      [v, vlen] = r;
      idstr = text;
    }
    switch (q.addr) {
      case 'default': case 'host': case 'net': {
        if (q.proto === 'link') return this.error(`illegal link-layer address '${idstr}'`);
        let mask = 0xffffffff;
        if (text === undefined && q.addr === 'net') {
          while (v && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        } else {
          v = vlen === 0 ? 0 : (v << (32 - vlen)) >>> 0;
          mask = vlen === 0 ? 0 : (mask << (32 - vlen)) >>> 0;
        }
        return this.host([v >>> 0], [mask], q.proto, q.dir, q.addr === 'net' ? 'net <IPv4 address>' : 'host <IPv4 address>');
      }
      case 'portrange': case 'port': {
        const proto = this.portPqToIpproto(q.proto, q.addr);
        this.assertMaxval('port number', v, 0xffff);
        const b = this.port(false, v, undefined, proto, q.dir, q.addr);
        const b6 = this.port(true, v, undefined, proto, q.dir, q.addr);
        return genOr(b6, b);
      }
      case 'proto':
        return this.proto(v, q.proto);
      case 'protochain':
        return this.protochain(v, q.proto);
      case 'undef':
        return this.error('syntax error in filter expression');
    }
    return this.error(ERR_INVALID_QUAL(q.addr, idstr));
  }

  /** gen_dnhost: a DECnet `area.node` address. */
  protected dnhost(text: string | undefined, v: number, q: Qual): GBlock {
    this.assertNonwlanDqual(q.dir);
    if (q.addr !== 'default' && q.addr !== 'host') this.error(ERR_INVALID_QUAL('decnet', q.addr));
    if (text === undefined) return this.error(`invalid DECnet address '${v}'`);
    const m = /^(\d+)\.(\d+)$/.exec(text);
    if (!m || Number(m[1]) > 63 || Number(m[2]) > 1023) return this.error(`invalid DECnet address '${text}'`);
    const addr = (Number(m[1]) << 10) | Number(m[2]);
    const b0 = this.linktypeTest(ETHERTYPE.DN);
    const b1 = this.dnhostop(addr, q.dir);
    return genAnd(b0, b1);
  }

  protected dnhostop(addr: number, dir: DirQual): GBlock {
    let offSh: number;
    let offLh: number;
    switch (dir) {
      case 'dst': offSh = 1; offLh = 7; break;
      case 'src': offSh = 3; offLh = 15; break;
      case 'src and dst': { const b0 = this.dnhostop(addr, 'src'); return genAnd(b0, this.dnhostop(addr, 'dst')); }
      default: { const b0 = this.dnhostop(addr, 'src'); return genOr(b0, this.dnhostop(addr, 'dst')); }
    }
    const sw = ((addr & 0xff) << 8) | (addr >> 8);
    let tmp = this.mcmp('linkpl', 2, BPF_H, 0x8106, 0xff07);
    let b1 = this.cmp('linkpl', 2 + 1 + offLh, BPF_H, sw);
    b1 = genAnd(tmp, b1);
    tmp = this.mcmp('linkpl', 2, BPF_B, 0x06, 0x07);
    let b2 = this.cmp('linkpl', 2 + offLh, BPF_H, sw);
    b2 = genAnd(tmp, b2);
    b1 = genOr(b2, b1);
    if (dir === 'dst') b2 = this.mcmp('linkpl', 2, BPF_W, (0x81020000 | sw) >>> 0, 0xff07ffff);
    else {
      tmp = this.mcmp('linkpl', 2, BPF_H, 0x8102, 0xff07);
      b2 = this.cmp('linkpl', 2 + 1 + offSh, BPF_H, sw);
      b2 = genAnd(tmp, b2);
    }
    b1 = genOr(b2, b1);
    if (dir === 'dst') b2 = this.mcmp('linkpl', 2, BPF_W, (0x02000000 | (sw << 8)) >>> 0, 0x07ffff00);
    else {
      tmp = this.mcmp('linkpl', 2, BPF_B, 0x02, 0x07);
      b2 = this.cmp('linkpl', 2 + offSh, BPF_H, sw);
      b2 = genAnd(tmp, b2);
    }
    return genOr(b2, b1);
  }

  /** gen_acode: `link host $XX`, an 8-bit (ARCnet, MS/TP) address. */
  protected acode(text: string, q: Qual): GBlock {
    this.assertNonwlanDqual(q.dir);
    if (q.addr !== 'host' && q.addr !== 'default') this.error(ERR_INVALID_QUAL(q.addr, '$XX'));
    if (q.proto !== 'link') this.error("'link' is the only valid proto qualifier for 'host $XX'");
    if (!/^[0-9A-Fa-f]{1,2}$/.test(text)) return this.error(`invalid MAC-8 address '${text}'`);
    return this.mac8host(parseInt(text, 16), q.dir, 'link host $XX');
  }

  protected mac8host(mac8: number, dir: DirQual, context: string): GBlock {
    let srcOff: number;
    let dstOff: number;
    if (this.linktype === DLT.ARCNET || this.linktype === DLT.ARCNET_LINUX) {
      srcOff = 0;
      dstOff = 1;
    } else if (this.linktype === DLT.BACNET_MS_TP) {
      srcOff = 4;
      dstOff = 3;
    } else return this.failKwOnDlt(context);
    switch (dir) {
      case 'src': return this.cmp('linkhdr', srcOff, BPF_B, mac8);
      case 'dst': return this.cmp('linkhdr', dstOff, BPF_B, mac8);
      case 'src and dst': { const a = this.cmp('linkhdr', srcOff, BPF_B, mac8); return genAnd(a, this.cmp('linkhdr', dstOff, BPF_B, mac8)); }
      case 'default': case 'src or dst': { const a = this.cmp('linkhdr', srcOff, BPF_B, mac8); return genOr(a, this.cmp('linkhdr', dstOff, BPF_B, mac8)); }
    }
    return this.error(`'${dir}' is valid for 802.11 syntax only`);
  }

  protected mcode(s1: string, s2: string | undefined, masklen: number, q: Qual): GBlock {
    if (q.proto === 'decnet') this.error(ERR_INVALID_QUAL('decnet', q.addr === 'default' ? 'host' : q.addr));
    const r1 = atoin(s1);
    if (!r1) return this.error(`invalid IPv4 address '${s1}'`);
    const n = (r1[0] * 2 ** (32 - r1[1])) >>> 0;
    let m: number;
    let idstr: string;
    if (s2 !== undefined) {
      const r2 = atoin(s2);
      if (!r2) return this.error(`invalid IPv4 address '${s2}'`);
      m = (r2[0] * 2 ** (32 - r2[1])) >>> 0;
      idstr = `${s1} mask ${s2}`;
    } else {
      this.assertMaxval('netmask length', masklen, 32);
      m = masklen === 0 ? 0 : (0xffffffff << (32 - masklen)) >>> 0;
      idstr = `${s1}/${masklen}`;
    }
    if ((n & ~m) >>> 0 !== 0) return this.error(`non-network bits set in "${idstr}"`);
    if (q.addr === 'net') return this.host([n], [m], q.proto, q.dir, 'net <IPv4 prefix>');
    return this.error(ERR_INVALID_QUAL(q.addr === 'default' ? 'host' : q.addr, idstr));
  }

  protected mcode6(s: string, masklen: number, q: Qual, parse6: (t: string) => Uint8Array | undefined): GBlock {
    const addr = parse6(s);
    if (!addr) return this.error(`'${s}' is not a valid IPv6 address`);
    if (masklen > 128) return this.error('mask length must be <= 128');
    const mask = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, masklen - 8 * i));
      mask[i] = (0xff << (8 - bits)) & 0xff;
    }
    for (let i = 0; i < 16; i++) if (addr[i] & ~mask[i]) return this.error(`non-network bits set in "${s}/${masklen}"`);
    switch (q.addr) {
      case 'default': case 'host':
        if (masklen !== 128) return this.error(ERR_INVALID_QUAL('host', `${s}/${masklen}`));
        return this.host6([addr], [mask], q.proto, q.dir, 'host <IPv6 address>');
      case 'net':
        return this.host6([addr], [mask], q.proto, q.dir, 'net <IPv6 prefix>');
    }
    return this.error(ERR_INVALID_QUAL(q.addr, masklen === 128 ? s : `${s}/${masklen}`));
  }

  protected ecode(text: string, q: Qual): GBlock {
    const context = 'link host XX:XX:XX:XX:XX:XX';
    if (!((q.addr === 'host' || q.addr === 'default') && q.proto === 'link')) return this.error('Ethernet address used in non-ether expression');
    if (!MAC48_DLTS.has(this.linktype)) this.failKwOnDlt(context);
    const e = parseMac(text);
    if (!e) return this.error(`invalid MAC-48 address '${text}'`);
    return this.mac48host(e, q.dir, context);
  }

  protected genId(value: IdValue, q: Qual): GBlock {
    switch (value.kind) {
      case 'name': return this.scode(value.text, q);
      case 'num': return this.ncode(undefined, value.value, q);
      case 'ipv4': return this.ncode(value.text, 0, q);
      case 'ipv4-len': return this.mcode(value.text, undefined, value.len, q);
      case 'ipv4-mask': return this.mcode(value.text, value.mask, 0, q);
      case 'ipv6': return this.mcode6(value.text, value.len, q, parseIpv6);
      case 'mac': return this.ecode(value.text, q);
      case 'arcnet': return this.acode(value.text, q);
    }
  }

}
