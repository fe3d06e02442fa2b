/** Code generation: walks the filter syntax tree and builds libpcap-identical blocks (mirrors gencode.c), then a Cfg. */

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_DIV, BPF_JA, BPF_H, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
  BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MSH, BPF_MUL,
  BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST, BPF_STX, BPF_TAX, BPF_TXA, BPF_W, BPF_X, SKF_AD_OFF, SKF_AD_PKTTYPE,
  SKF_AD_IFINDEX, type Insn, stmt,
} from '../../cbpf/index.js';
import { ParseError } from '../../util/index.js';
import type { Arith, Expr, IdValue, ProtoQual, Qual, DirQual, FilterAst } from '../ast.js';
import type { Cfg } from '../cfg.js';
import { DLT, dltName } from '../dlt.js';
import { lookupProtocol, lookupService, parseIpv6, type Resolver } from '../names/resolver.js';
import {
  IEEE80211_FC0_SUBTYPE_MASK, IEEE80211_FC0_TYPE_MASK, IEEE80211_FC1_DIR_MASK, WLAN_DIRS, WLAN_SUBTYPES, WLAN_TYPES, str2tok,
} from './wlan-names.js';
import { RELOP_CODES } from '../parser.js';
import { atoin, parseMac, utf8 } from './addresses.js';
import {
  ARITH_CODES, EPROTO_NAMES, ERR_INVALID_QUAL, ETHER_LIKE, JUNIPER_OFFSETS, MAC48_DLTS, PF_ACTIONS, PF_REASONS, PQ_ETHERTYPE,
  PQ_IPPROTO, PQ_LLCSAP, PQ_NLPID, RELOP_JUMPS, WLAN_DLTS,
} from './tables.js';
import { backpatch, genAnd, genNot, genOr, toCfg, type GBlock } from './blocks.js';
import {
  ARP_DSTADDR_OFFSET, ARP_SRCADDR_OFFSET, ETHERMTU, ETHERTYPE, IP6_HDRLEN, IPPROTO, IPV4_DSTADDR_OFFSET,
  IPV4_PROTO_OFFSET, IPV4_SRCADDR_OFFSET, IPV6_DSTADDR_OFFSET, IPV6_PROTO_OFFSET, IPV6_SRCADDR_OFFSET, ISIS_PDU, ISO,
  LINUX_SLL_OUTGOING, LINUX_SLL_P_802_2, LINUX_SLL_P_802_3, LLCSAP, OFFSET_NOT_SET, PPP, PROTO_UNDEF,
  TRAN_DSTPORT_OFFSET, TRAN_SRCPORT_OFFSET,
} from './constants.js';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** DLT number. */
  linkType: number;
  snaplen?: number;
  /** IPv4 netmask for `ip broadcast` (unsigned); undefined when unknown. */
  netmask?: number;
  resolver?: Resolver;
  /** Compile as for a live Linux socket: SKF_AD loads for `inbound`, `ifindex`, `vlan`. */
  linuxExtensions?: boolean;
  /**
   * Compile for a savefile (libpcap's BPF_OFFLINE_AF_HANDLING) written in host or opposite
   * byte order: DLT_NULL/LOOP/ENC/PFLOG `ip`/`ip6` then test BSD AF_ values. Default: a dead handle.
   */
  offlineAf?: 'unswapped' | 'swapped';
}

type OffRel =
  | 'packet' | 'linkhdr' | 'prevlinkhdr' | 'llc' | 'prevmplshdr' | 'linkpl' | 'linkpl-nosnap' | 'linktype'
  | 'tran-ipv4' | 'tran-ipv6';

interface AbsOffset {
  constantPart: number;
  isVariable: boolean;
  reg: number;
}

/** An arithmetic value being computed: its code, the scratch register holding it, and protocol checks. */
interface ArthVal {
  s: Insn[];
  regno: number;
  b: GBlock | null;
}

/** The generator for one compile: mutable offsets and registers, exactly the state gencode.c keeps. */
export class Gencode {
  private nextId = 0;
  private col = 0;
  readonly linktype0: number;
  private linktype: number;
  private prevlinktype: number;
  private offOutermostlinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  private offPrevlinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  private offLinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  private offLinkpl: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  private offLinktype: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  private offNl = 0;
  private offNlNosnap = 0;
  /** SS7 (MTP2) field offsets: li, li_hsl, sio, opc, dpc, sls; undefined when not SS7. */
  private ss7: readonly [number, number, number, number, number, number] | undefined;
  private isEncap = false;
  private isVlanVloffset = false;
  private labelStackDepth = 0;
  private vlanStackDepth = 0;
  private regused: boolean[] = new Array<boolean>(BPF_MEMWORDS).fill(false);
  private curreg = 0;
  private readonly snaplen: number;
  private readonly netmask: number | undefined;
  private readonly resolver: Resolver | undefined;
  private readonly linuxExt: boolean;
  private readonly offlineAf: 'unswapped' | 'swapped' | undefined;

  constructor(opts: GenerateOptions) {
    this.linktype0 = opts.linkType;
    this.linktype = opts.linkType;
    this.prevlinktype = opts.linkType;
    this.snaplen = opts.snaplen ?? 262144;
    this.netmask = opts.netmask;
    this.resolver = opts.resolver;
    this.linuxExt = opts.linuxExtensions ?? false;
    this.offlineAf = opts.offlineAf;
    this.initLinktype();
  }

  private error(msg: string): never {
    throw new ParseError('E_FILTER_SEMANTIC', msg, { position: { column: this.col } });
  }

  private initLinktype(): void {
    const set = (lt: number, lp: number, nl: number, nosnap: number): void => {
      this.offLinktype.constantPart = lt;
      this.offLinkpl.constantPart = lp;
      this.offNl = nl;
      this.offNlNosnap = nosnap;
    };
    const N = OFFSET_NOT_SET;
    switch (this.linktype) {
      case DLT.ARCNET: set(2, 6, 0, 0); break;
      case DLT.ARCNET_LINUX: set(4, 8, 0, 0); break;
      case DLT.EN10MB: set(12, 14, 0, 3); break;
      case DLT.SLIP: set(N, 16, 0, 0); break;
      case DLT.SLIP_BSDOS: set(N, 24, 0, 0); break;
      case DLT.NULL: case DLT.LOOP: set(0, 4, 0, 0); break;
      case DLT.ENC: set(0, 12, 0, 0); break;
      case DLT.PPP: case DLT.PPP_PPPD: case DLT.C_HDLC: case DLT.PPP_SERIAL: set(2, 4, 0, 0); break;
      case DLT.PPP_ETHER: set(6, 8, 0, 0); break;
      case DLT.PPP_BSDOS: set(5, 24, 0, 0); break;
      case DLT.FDDI: set(13, 13, 8, 3); break;
      case DLT.IEEE802: set(14, 14, 8, 3); break;
      case DLT.PRISM_HEADER: case DLT.IEEE802_11_RADIO_AVS: case DLT.IEEE802_11_RADIO:
        this.offLinkhdr.isVariable = true;
        set(24, 0, 8, 3);
        this.offLinkpl.isVariable = true;
        break;
      case DLT.IEEE802_11: set(24, 0, 8, 3); this.offLinkpl.isVariable = true; break;
      case DLT.PPI: set(24, 0, 8, 3); this.offLinkpl.isVariable = true; this.offLinkhdr.isVariable = true; break;
      case DLT.ATM_RFC1483: case DLT.ATM_CLIP: set(0, 0, 8, 3); break;
      case DLT.RAW: case DLT.IPV4: case DLT.IPV6: set(N, 0, 0, 0); break;
      case DLT.LINUX_SLL: set(14, 16, 0, 0); break;
      case DLT.LINUX_SLL2: set(0, 20, 0, 0); break;
      case DLT.LTALK: set(N, 0, 0, 0); break;
      case DLT.IP_OVER_FC: set(16, 16, 8, 3); break;
      case DLT.FRELAY: set(N, 0, 0, 0); break;
      case DLT.MFR: set(N, 0, 4, 0); break;
      case DLT.APPLE_IP_OVER_IEEE1394: set(16, 18, 0, 0); break;
      case DLT.SYMANTEC_FIREWALL: set(6, 44, 0, 0); break;
      case DLT.PFLOG: set(0, 0, 0, 0); this.offLinkpl.isVariable = true; break;
      case DLT.IPNET: set(1, 24, 0, N); break;
      case DLT.NETANALYZER: this.offLinkhdr.constantPart = 4; set(16, 18, 0, 3); break;
      case DLT.NETANALYZER_TRANSPARENT: this.offLinkhdr.constantPart = 12; set(24, 26, 0, 3); break;
      case DLT.DSA_TAG_BRCM: case DLT.DSA_TAG_DSA: set(16, 18, 0, 3); break;
      case DLT.PFSYNC: set(N, 4, 0, 0); break;
      case DLT.SUNATM: set(4, 4, 8, 3); break;
      case DLT.MTP2: this.ss7 = [2, 4, 3, 4, 4, 7]; set(N, N, 0, 0); break;
      case DLT.MTP2_WITH_PHDR: this.ss7 = [6, 8, 7, 8, 8, 11]; set(N, N, 0, 0); break;
      case DLT.ERF: this.ss7 = [22, 24, 23, 24, 24, 27]; set(N, N, 0, 0); break;
      case DLT.EN3MB: case DLT.AX25: case DLT.PRONET: case DLT.CHAOS: case DLT.REDBACK_SMARTEDGE: case DLT.AX25_KISS:
      case DLT.BACNET_MS_TP:
        set(N, N, N, N);
        break;
      default: {
        const juniper = JUNIPER_OFFSETS.get(dltName(this.linktype));
        if (juniper) set(juniper[0], juniper[1], 0, 0);
        // Other "matching" link types compile, but only link-independent primitives work.
        else if (this.linktype >= 104 && this.linktype <= 304) set(N, N, N, N);
        else this.error(`unknown data link type ${this.linktype}`);
      }
    }
    this.offOutermostlinkhdr = { ...this.offLinkhdr };
    this.offPrevlinkhdr = { ...this.offLinkhdr };
  }

  // ---- blocks and statements -------------------------------------------------------------

  private newBlock(code: number, k = 0, stmts: Insn[] = []): GBlock {
    const b: GBlock = { id: this.nextId++, stmts, code, k: k >>> 0, jt: null, jf: null, sense: false, head: null as unknown as GBlock, meaning: 'uncertain' };
    b.head = b;
    return b;
  }
  private jmpK(jtype: number, v: number, stmts: Insn[]): GBlock {
    return this.newBlock(BPF_JMP | jtype | BPF_K, v, stmts);
  }
  private uncond(rsense: boolean): GBlock {
    const b = this.jmpK(BPF_JEQ, 0, [stmt(BPF_LD | BPF_IMM, rsense ? 0 : 1)]);
    b.meaning = rsense ? 'true' : 'false';
    return b;
  }
  private genTrue(): GBlock { return this.uncond(true); }
  private genFalse(): GBlock { return this.uncond(false); }

  private allocReg(): number {
    for (let n = BPF_MEMWORDS; --n >= 0;) {
      if (this.regused[this.curreg]) this.curreg = (this.curreg + 1) % BPF_MEMWORDS;
      else {
        this.regused[this.curreg] = true;
        return this.curreg;
      }
    }
    return this.error('too many registers needed to evaluate expression');
  }
  private freeReg(n: number): void {
    this.regused[n] = false;
  }

  private absOffsetVarpart(off: AbsOffset): Insn[] | null {
    if (!off.isVariable) return null;
    if (off.reg === -1) off.reg = this.allocReg();
    return [stmt(BPF_LDX | BPF_MEM, off.reg)];
  }

  private loadAbsOffsetRel(s: Insn[] | null, offset: number, size: number): Insn[] {
    if (s) {
      s.push(stmt(BPF_LD | BPF_IND | size, offset));
      return s;
    }
    return [stmt(BPF_LD | BPF_ABS | size, offset)];
  }

  private loadA(offrel: OffRel, offset: number, size: number): Insn[] {
    let s: Insn[] | null = null;
    switch (offrel) {
      case 'packet': break;
      case 'linkhdr': s = this.absOffsetVarpart(this.offLinkhdr); offset += this.offLinkhdr.constantPart; break;
      case 'prevlinkhdr': s = this.absOffsetVarpart(this.offPrevlinkhdr); offset += this.offPrevlinkhdr.constantPart; break;
      case 'llc': s = this.absOffsetVarpart(this.offLinkpl); offset += this.offLinkpl.constantPart; break;
      case 'prevmplshdr': s = this.absOffsetVarpart(this.offLinkpl); offset += this.offLinkpl.constantPart + this.offNl - 4; break;
      case 'linkpl': s = this.absOffsetVarpart(this.offLinkpl); offset += this.offLinkpl.constantPart + this.offNl; break;
      case 'linkpl-nosnap': s = this.absOffsetVarpart(this.offLinkpl); offset += this.offLinkpl.constantPart + this.offNlNosnap; break;
      case 'linktype': s = this.absOffsetVarpart(this.offLinktype); offset += this.offLinktype.constantPart; break;
      case 'tran-ipv4': s = this.loadxIphdrlen(); offset += this.offLinkpl.constantPart + this.offNl; break;
      case 'tran-ipv6': s = this.absOffsetVarpart(this.offLinkpl); offset += this.offLinkpl.constantPart + this.offNl + IP6_HDRLEN; break;
    }
    return this.loadAbsOffsetRel(s, offset >>> 0, size);
  }

  private loadxIphdrlen(): Insn[] {
    const s = this.absOffsetVarpart(this.offLinkpl);
    if (s) {
      s.push(stmt(BPF_LD | BPF_IND | BPF_B, this.offLinkpl.constantPart + this.offNl));
      s.push(stmt(BPF_ALU | BPF_AND | BPF_K, 0xf));
      s.push(stmt(BPF_ALU | BPF_LSH | BPF_K, 2));
      s.push(stmt(BPF_ALU | BPF_ADD | BPF_X));
      s.push(stmt(BPF_MISC | BPF_TAX));
      return s;
    }
    return [stmt(BPF_LDX | BPF_MSH | BPF_B, this.offLinkpl.constantPart + this.offNl)];
  }

  private ncmp(offrel: OffRel, offset: number, size: number, mask: number, jtype: number, reverse: boolean, v: number): GBlock {
    const s = this.loadA(offrel, offset, size);
    if (mask >>> 0 !== 0xffffffff) s.push(stmt(BPF_ALU | BPF_AND | BPF_K, mask));
    const b = this.jmpK(jtype, v, s);
    return reverse ? genNot(b) : b;
  }
  private cmp(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JEQ, false, v);
  }
  private cmpGt(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGT, false, v);
  }
  private cmpGe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGE, false, v);
  }
  private cmpLt(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGE, true, v);
  }
  private cmpLe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGT, true, v);
  }
  private cmpNe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JEQ, true, v);
  }
  private mcmp(offrel: OffRel, offset: number, size: number, v: number, mask: number): GBlock {
    if (mask === 0) return v ? this.genFalse() : this.genTrue();
    return this.ncmp(offrel, offset, size, mask, BPF_JEQ, false, v);
  }
  private bcmp(offrel: OffRel, offset: number, v: Uint8Array): GBlock {
    let size = v.length;
    let b: GBlock | null = null;
    while (size >= 4) {
      const p = size - 4;
      const w = ((v[p] << 24) | (v[p + 1] << 16) | (v[p + 2] << 8) | v[p + 3]) >>> 0;
      const tmp = this.cmp(offrel, offset + size - 4, BPF_W, w);
      b = b ? genAnd(b, tmp) : tmp;
      size -= 4;
    }
    while (size >= 2) {
      const p = size - 2;
      const tmp = this.cmp(offrel, offset + size - 2, BPF_H, (v[p] << 8) | v[p + 1]);
      b = b ? genAnd(b, tmp) : tmp;
      size -= 2;
    }
    if (size > 0) {
      const tmp = this.cmp(offrel, offset, BPF_B, v[0]);
      b = b ? genAnd(b, tmp) : tmp;
    }
    return b as GBlock;
  }
  private set(v: number, s: Insn[]): GBlock {
    return this.jmpK(BPF_JSET, v, s);
  }
  private unset(v: number, s: Insn[]): GBlock {
    return genNot(this.set(v, s));
  }

  private assertMaxval(name: string, val: number, max: number): void {
    if (val > max) this.error(`${name} ${val} greater than maximum ${max}`);
  }
  private failKwOnDlt(keyword: string): never {
    return this.error(`'${keyword}' not supported on ${this.dltString()}`);
  }

  /** How libpcap names the current link type in messages (`DLT_EN10MB`). */
  private dltString(): string {
    const name = dltName(this.linktype);
    return name.startsWith('DLT ') ? name : `DLT_${name}`;
  }

  // ---- link-layer type tests -----------------------------------------------------------

  private snap(orgcode: number, ptype: number): GBlock {
    const v = Uint8Array.of(LLCSAP.SNAP, LLCSAP.SNAP, 0x03, orgcode >> 16, (orgcode >> 8) & 0xff, orgcode & 0xff, ptype >> 8, ptype & 0xff);
    return this.bcmp('llc', 0, v);
  }

  private etherLinktype(llProto: number): GBlock {
    switch (llProto) {
      case LLCSAP.ISONS: case LLCSAP.IP: case LLCSAP.NETBEUI: {
        const b0 = this.cmpLe('linktype', 0, BPF_H, ETHERMTU);
        const b1 = this.cmp('llc', 0, BPF_H, (llProto << 8) | llProto);
        return genAnd(b0, b1);
      }
      case LLCSAP.IPX: {
        let b0 = this.cmp('llc', 0, BPF_B, LLCSAP.IPX);
        let b1 = this.cmp('llc', 0, BPF_H, 0xffff);
        b1 = genOr(b0, b1);
        b0 = this.snap(0, ETHERTYPE.IPX);
        b1 = genOr(b0, b1);
        b0 = this.cmpLe('linktype', 0, BPF_H, ETHERMTU);
        b1 = genAnd(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, ETHERTYPE.IPX);
        return genOr(b0, b1);
      }
      case ETHERTYPE.ATALK: case ETHERTYPE.AARP: {
        let b0 = this.cmpLe('linktype', 0, BPF_H, ETHERMTU);
        let b1 = llProto === ETHERTYPE.ATALK ? this.snap(0x080007, ETHERTYPE.ATALK) : this.snap(0, ETHERTYPE.AARP);
        b1 = genAnd(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, llProto);
        return genOr(b0, b1);
      }
      default:
        if (llProto <= ETHERMTU) {
          this.assertMaxval('LLC DSAP', llProto, 255);
          const b0 = this.cmpLe('linktype', 0, BPF_H, ETHERMTU);
          const b1 = this.cmp('linktype', 2, BPF_B, llProto);
          return genAnd(b0, b1);
        }
        this.assertMaxval('EtherType', llProto, 0xffff);
        return this.cmp('linktype', 0, BPF_H, llProto);
    }
  }

  private linuxSllLinktype(llProto: number): GBlock {
    switch (llProto) {
      case LLCSAP.ISONS: case LLCSAP.IP: case LLCSAP.NETBEUI: {
        const b0 = this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_2);
        const b1 = this.cmp('llc', 0, BPF_H, (llProto << 8) | llProto);
        return genAnd(b0, b1);
      }
      case LLCSAP.IPX: {
        let b0 = this.cmp('llc', 0, BPF_B, LLCSAP.IPX);
        let b1 = this.snap(0, ETHERTYPE.IPX);
        b1 = genOr(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_2);
        b1 = genAnd(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_3);
        b1 = genOr(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, ETHERTYPE.IPX);
        return genOr(b0, b1);
      }
      case ETHERTYPE.ATALK: case ETHERTYPE.AARP: {
        let b0 = this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_2);
        let b1 = llProto === ETHERTYPE.ATALK ? this.snap(0x080007, ETHERTYPE.ATALK) : this.snap(0, ETHERTYPE.AARP);
        b1 = genAnd(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, llProto);
        return genOr(b0, b1);
      }
      default:
        if (llProto <= ETHERMTU) {
          this.assertMaxval('LLC DSAP', llProto, 255);
          const b0 = this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_2);
          const b1 = this.cmp('linkhdr', this.offLinkpl.constantPart, BPF_B, llProto);
          return genAnd(b0, b1);
        }
        this.assertMaxval('EtherType', llProto, 0xffff);
        return this.cmp('linktype', 0, BPF_H, llProto);
    }
  }

  private llcLinktype(llProto: number): GBlock {
    switch (llProto) {
      case LLCSAP.IP: case LLCSAP.ISONS: case LLCSAP.NETBEUI:
        return this.cmp('llc', 0, BPF_H, (llProto << 8) | llProto);
      case LLCSAP.IPX:
        return this.cmp('llc', 0, BPF_B, LLCSAP.IPX);
      case ETHERTYPE.ATALK:
        return this.snap(0x080007, ETHERTYPE.ATALK);
      default:
        if (llProto <= ETHERMTU) {
          this.assertMaxval('LLC DSAP', llProto, 255);
          return this.cmp('llc', 0, BPF_B, llProto);
        }
        this.assertMaxval('EtherType', llProto, 0xffff);
        return this.cmp('llc', 6, BPF_H, llProto);
    }
  }

  private ipVersion(offrel: OffRel, ver: number): GBlock {
    return this.mcmp(offrel, 0, BPF_B, ver << 4, 0xf0);
  }

  private bsdAfOffline(offset: number, size: number, llProto: number, swapped: boolean): GBlock {
    const endian = (v: number): GBlock => this.cmp('linkhdr', offset, size, swapped ? (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0 : v);
    switch (llProto) {
      case ETHERTYPE.IP: return endian(2);
      case ETHERTYPE.IPV6: {
        let b0 = endian(24);
        let b1 = endian(28);
        b1 = genOr(b0, b1);
        b0 = endian(30);
        return genOr(b0, b1);
      }
      default: return this.genFalse();
    }
  }

  private pppType(llProto: number): number {
    switch (llProto) {
      case ETHERTYPE.IP: return PPP.IP;
      case ETHERTYPE.IPV6: return PPP.IPV6;
      case ETHERTYPE.DN: return PPP.DECNET;
      case ETHERTYPE.ATALK: return PPP.APPLE;
      case ETHERTYPE.NS: return PPP.NS;
      case LLCSAP.ISONS: return PPP.OSI;
      case LLCSAP.STP_8021D: return PPP.BRPDU;
      case LLCSAP.IPX: return PPP.IPX;
    }
    this.assertMaxval('PPP protocol', llProto, 0xffff);
    return llProto;
  }

  private linktypeTest(llProto: number): GBlock {
    if (this.labelStackDepth > 0) return this.mplsLinktype(llProto);
    const lt = this.linktype;
    if (ETHER_LIKE.has(lt)) {
      const b0 = this.isEncap ? null : this.prevlinkhdrCheck();
      const b1 = this.etherLinktype(llProto);
      return b0 ? genAnd(b0, b1) : b1;
    }
    if (WLAN_DLTS.has(lt)) {
      const b0 = this.mcmp('linkhdr', 0, BPF_B, 0x08, 0x0c);
      const b1 = this.llcLinktype(llProto);
      return genAnd(b0, b1);
    }
    switch (lt) {
      case DLT.SUNATM: {
        const b0 = this.atmPrototype(0x02);
        return genAnd(b0, this.llcLinktype(llProto));
      }
      case DLT.C_HDLC:
        this.assertMaxval('HDLC protocol', llProto, 0xffff);
        if (llProto === LLCSAP.ISONS) llProto = (llProto << 8) | LLCSAP.ISONS;
        return this.cmp('linktype', 0, BPF_H, llProto);
      case DLT.FDDI: case DLT.IEEE802: case DLT.ATM_RFC1483: case DLT.ATM_CLIP: case DLT.IP_OVER_FC:
        return this.llcLinktype(llProto);
      case DLT.LINUX_SLL:
        return this.linuxSllLinktype(llProto);
      case DLT.SLIP: case DLT.SLIP_BSDOS: case DLT.RAW:
        if (llProto === ETHERTYPE.IP) return this.ipVersion('linkhdr', 4);
        if (llProto === ETHERTYPE.IPV6) return this.ipVersion('linkhdr', 6);
        return this.genFalse();
      case DLT.IPV4:
        return llProto === ETHERTYPE.IP ? this.genTrue() : this.genFalse();
      case DLT.IPV6:
        return llProto === ETHERTYPE.IPV6 ? this.genTrue() : this.genFalse();
      case DLT.PPP: case DLT.PPP_PPPD: case DLT.PPP_SERIAL: case DLT.PPP_ETHER:
        return this.cmp('linktype', 0, BPF_H, this.pppType(llProto));
      case DLT.PPP_BSDOS:
        if (llProto === ETHERTYPE.IP) {
          let b0 = this.cmp('linktype', 0, BPF_H, PPP.IP);
          let b1 = this.cmp('linktype', 0, BPF_H, PPP.VJC);
          b1 = genOr(b0, b1);
          b0 = this.cmp('linktype', 0, BPF_H, PPP.VJNC);
          return genOr(b1, b0);
        }
        return this.cmp('linktype', 0, BPF_H, this.pppType(llProto));
      case DLT.NULL: case DLT.ENC: case DLT.LOOP: {
        if (this.offlineAf === undefined) {
          // A dead or live handle: the host's own AF_ values (Linux: AF_INET 2, AF_INET6 10).
          const af = llProto === ETHERTYPE.IP ? 2 : llProto === ETHERTYPE.IPV6 ? 10 : -1;
          if (af < 0) return this.genFalse();
          return this.cmp('linkhdr', 0, BPF_W, lt === DLT.LOOP ? af : (af << 24) >>> 0);
        }
        if (lt === DLT.LOOP) return this.bsdAfOffline(0, BPF_W, llProto, false);
        // A savefile may come from either byte order: test both.
        const swapped = this.offlineAf === 'swapped';
        const b0 = this.bsdAfOffline(0, BPF_W, llProto, swapped);
        const b1 = this.bsdAfOffline(0, BPF_W, llProto, !swapped);
        return genOr(b0, b1);
      }
      case DLT.PFLOG: {
        if (this.offlineAf !== undefined) return this.bsdAfOffline(1, BPF_B, llProto, false);
        const af = llProto === ETHERTYPE.IP ? 2 : llProto === ETHERTYPE.IPV6 ? 10 : -1;
        return af < 0 ? this.genFalse() : this.cmp('linkhdr', 1, BPF_B, af);
      }
      case DLT.ARCNET: case DLT.ARCNET_LINUX: {
        const t: Record<number, number> = { [ETHERTYPE.IPV6]: 0xc4, [ETHERTYPE.IP]: 0xd4, [ETHERTYPE.ARP]: 0xd5, [ETHERTYPE.REVARP]: 0xd6, [ETHERTYPE.ATALK]: 0xdd };
        const v = t[llProto];
        return v === undefined ? this.genFalse() : this.cmp('linktype', 0, BPF_B, v);
      }
      case DLT.LTALK:
        return llProto === ETHERTYPE.ATALK ? this.genTrue() : this.genFalse();
      case DLT.FRELAY: {
        const nlpid = (n: number): GBlock => this.cmp('linkhdr', 2, BPF_H, (0x03 << 8) | n);
        if (llProto === ETHERTYPE.IP) return nlpid(ISO.IPV4);
        if (llProto === ETHERTYPE.IPV6) return nlpid(ISO.IPV6);
        if (llProto === LLCSAP.ISONS) {
          const b0 = nlpid(ISO.CLNP);
          const b1 = nlpid(ISO.ESIS);
          let b2 = nlpid(ISO.ISIS);
          b2 = genOr(b1, b2);
          return genOr(b0, b2);
        }
        return this.genFalse();
      }
      case DLT.IPNET:
        if (llProto === ETHERTYPE.IP) return this.cmp('linktype', 0, BPF_B, 2);
        if (llProto === ETHERTYPE.IPV6) return this.cmp('linktype', 0, BPF_B, 26);
        return this.genFalse();
      case DLT.MFR:
        break;
      default:
        if (JUNIPER_OFFSETS.has(dltName(lt))) return this.mcmp('linkhdr', 0, BPF_W, 0x4d474300, 0xffffff00);
        if (this.offLinktype.constantPart !== OFFSET_NOT_SET) {
          this.assertMaxval('EtherType', llProto, 0xffff);
          return this.cmp('linktype', 0, BPF_H, llProto);
        }
    }
    return this.error(`link-layer type filtering not implemented for ${this.dltString()}`);
  }

  /** After LANE, Ethernet tests must also see that the SunATM frame is not LE control traffic. */
  private prevlinkhdrCheck(): GBlock | null {
    if (this.isEncap) {
      // gen_encap_ll_check: inside VXLAN/Geneve, an Ethernet header exists only if the payload starts after it.
      const b0 = this.newBlock(BPF_JMP | BPF_JEQ | BPF_X, 0, [stmt(BPF_LD | BPF_MEM, this.offLinkhdr.reg), stmt(BPF_LDX | BPF_MEM, this.offLinkpl.reg)]);
      return genNot(b0);
    }
    if (this.prevlinktype === DLT.SUNATM) return this.cmpNe('prevlinkhdr', 4, BPF_H, 0xff00);
    return null;
  }

  private justAfterMplsStack(): GBlock {
    return this.set(0x01, this.loadA('prevmplshdr', 2, BPF_B));
  }
  private mplsLinktype(llProto: number): GBlock {
    if (llProto === ETHERTYPE.IP || llProto === ETHERTYPE.IPV6) {
      const b0 = this.justAfterMplsStack();
      const b1 = this.ipVersion('linkpl', llProto === ETHERTYPE.IP ? 4 : 6);
      return genAnd(b0, b1);
    }
    return this.error('unsupported protocol over mpls');
  }

  // ---- hosts, nets, ports, protocols -----------------------------------------------------

  private assertNonwlanDqual(dir: DirQual): void {
    if (dir === 'src' || dir === 'dst' || dir === 'src and dst' || dir === 'default' || dir === 'src or dst') return;
    this.error(`'${dir}' is valid for 802.11 syntax only`);
  }

  private hostop(addr: number, mask: number, dir: DirQual, srcOff: number, dstOff: number): GBlock {
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

  private hostop6(addr: Uint8Array, mask: Uint8Array, dir: DirQual): GBlock {
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

  private host(addrs: number[], masks: number[], proto: ProtoQual, dir: DirQual, context: string, not = false): GBlock {
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

  private host6(addrs: Uint8Array[], masks: Uint8Array[], proto: ProtoQual, dir: DirQual, context: string, not = false): GBlock {
    this.assertNonwlanDqual(dir);
    if (proto !== 'default' && proto !== 'ip6') this.error(ERR_INVALID_QUAL(proto, context));
    const linkproto = this.linktypeTest(ETHERTYPE.IPV6);
    let h = this.genFalse();
    for (let i = 0; i < addrs.length; i++) h = genOr(h, this.hostop6(addrs[i], masks[i], dir));
    return genAnd(linkproto, not ? genNot(h) : h);
  }

  private host46ByName(name: string, proto: ProtoQual, dir: DirQual, proto6: ProtoQual = proto, not = false): GBlock {
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

  private mac48host(eaddr: Uint8Array, dir: DirQual, keyword: string): GBlock {
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
  private wlanhostop(eaddr: Uint8Array, dir: DirQual): GBlock {
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

  private ipProto(proto: number): GBlock {
    return this.cmp('linkpl', IPV4_PROTO_OFFSET, BPF_B, proto);
  }
  private ip6Proto(proto: number): GBlock {
    return this.cmp('linkpl', IPV6_PROTO_OFFSET, BPF_B, proto);
  }
  private ipfrag(): GBlock {
    return this.unset(0x1fff, this.loadA('linkpl', 6, BPF_H));
  }

  private portCommon(proto: number, b1: GBlock, v6: boolean): GBlock {
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

  private portAtom(v6: boolean, off: number, v: number): GBlock {
    return this.cmp(v6 ? 'tran-ipv6' : 'tran-ipv4', off, BPF_H, v);
  }
  private portRangeAtom(v6: boolean, off: number, v1: number, v2: number): GBlock {
    if (v1 === v2) return this.portAtom(v6, off, v1);
    const rel: OffRel = v6 ? 'tran-ipv6' : 'tran-ipv4';
    const b1 = this.cmpGe(rel, off, BPF_H, Math.min(v1, v2));
    const b2 = this.cmpLe(rel, off, BPF_H, Math.max(v1, v2));
    return genAnd(b1, b2);
  }

  private port(v6: boolean, v1: number, v2: number | undefined, proto: number, dir: DirQual, kw: string): GBlock {
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

  private portPqToIpproto(proto: ProtoQual, kw: string): number {
    switch (proto) {
      case 'udp': return IPPROTO.UDP;
      case 'tcp': return IPPROTO.TCP;
      case 'sctp': return IPPROTO.SCTP;
      case 'default': return PROTO_UNDEF;
    }
    return this.error(ERR_INVALID_QUAL(proto, kw));
  }

  private pqTo(map: Partial<Record<ProtoQual, number>>, proto: ProtoQual, what: string): number {
    const v = map[proto];
    if (v === undefined) return this.error(`Proto qualifier '${proto}' has no ${what}`);
    return v;
  }

  private proto(v: number, proto: ProtoQual): GBlock {
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

  private protoAbbrev(proto: ProtoQual): GBlock {
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

  private lookupProto(name: string, q: Qual): number {
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
  private nameToPort(name: string): { port: number; proto: number } | undefined {
    const tcp = lookupService(this.resolver, name, 'tcp');
    const udp = lookupService(this.resolver, name, 'udp');
    if (tcp >= 0) return { port: tcp, proto: udp >= 0 && udp === tcp ? PROTO_UNDEF : IPPROTO.TCP };
    if (udp >= 0) return { port: udp, proto: IPPROTO.UDP };
    return undefined;
  }

  private stringToPort(text: string): { port: number; proto: number } {
    if (/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) {
      const v = /^0[xX]/.test(text) ? parseInt(text.slice(2), 16) : text.length > 1 && text.startsWith('0') ? parseInt(text, 8) : parseInt(text, 10);
      return { port: v, proto: PROTO_UNDEF };
    }
    const r = this.nameToPort(text);
    if (!r) return this.error(`'${text}' is not a valid port`);
    return r;
  }

  private checkPortProto(proto: ProtoQual, real: number, what: string, name: string): number {
    const names: Record<number, string> = { [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.SCTP]: 'sctp' };
    const want = proto === 'udp' ? IPPROTO.UDP : proto === 'tcp' ? IPPROTO.TCP : proto === 'sctp' ? IPPROTO.SCTP : undefined;
    if (want === undefined) return real;
    if (real !== PROTO_UNDEF && real !== want) this.error(`${what} '${name}' is ${names[real]}`);
    return want;
  }

  private scode(name: string, q: Qual): GBlock {
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

  private mac48hostByName(name: string, dir: DirQual, context: string): GBlock {
    if (!MAC48_DLTS.has(this.linktype)) this.failKwOnDlt(context);
    const e = this.resolver?.ether?.(name);
    if (!e) return this.error(`unknown Ethernet-like host '${name}'`);
    return this.mac48host(e, dir, context);
  }

  /** gen_gateway: the link address is the name's, the IP address is not (the packet was routed through it). */
  private gateway(name: string, proto: ProtoQual): GBlock {
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
  private protochain(v: number, proto: ProtoQual): GBlock {
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

  private ncode(text: string | undefined, v: number, q: Qual): GBlock {
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
  private dnhost(text: string | undefined, v: number, q: Qual): GBlock {
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

  private dnhostop(addr: number, dir: DirQual): GBlock {
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
  private acode(text: string, q: Qual): GBlock {
    this.assertNonwlanDqual(q.dir);
    if (q.addr !== 'host' && q.addr !== 'default') this.error(ERR_INVALID_QUAL(q.addr, '$XX'));
    if (q.proto !== 'link') this.error("'link' is the only valid proto qualifier for 'host $XX'");
    if (!/^[0-9A-Fa-f]{1,2}$/.test(text)) return this.error(`invalid MAC-8 address '${text}'`);
    return this.mac8host(parseInt(text, 16), q.dir, 'link host $XX');
  }

  private mac8host(mac8: number, dir: DirQual, context: string): GBlock {
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

  private mcode(s1: string, s2: string | undefined, masklen: number, q: Qual): GBlock {
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

  private mcode6(s: string, masklen: number, q: Qual, parse6: (t: string) => Uint8Array | undefined): GBlock {
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

  private ecode(text: string, q: Qual): GBlock {
    const context = 'link host XX:XX:XX:XX:XX:XX';
    if (!((q.addr === 'host' || q.addr === 'default') && q.proto === 'link')) return this.error('Ethernet address used in non-ether expression');
    if (!MAC48_DLTS.has(this.linktype)) this.failKwOnDlt(context);
    const e = parseMac(text);
    if (!e) return this.error(`invalid MAC-48 address '${text}'`);
    return this.mac48host(e, q.dir, context);
  }

  private genId(value: IdValue, q: Qual): GBlock {
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

  // ---- arithmetic --------------------------------------------------------------------------

  private arith(a: Arith): ArthVal {
    this.col = a.col;
    switch (a.kind) {
      case 'num': {
        const reg = this.allocReg();
        return { s: [stmt(BPF_LD | BPF_IMM, a.value), stmt(BPF_ST, reg)], regno: reg, b: null };
      }
      case 'len': {
        const reg = this.allocReg();
        return { s: [stmt(BPF_LD | BPF_LEN), stmt(BPF_ST, reg)], regno: reg, b: null };
      }
      case 'neg': {
        const v = this.arith(a.operand);
        v.s.push(stmt(BPF_LD | BPF_MEM, v.regno), stmt(BPF_ALU | BPF_NEG), stmt(BPF_ST, v.regno));
        return v;
      }
      case 'binary': {
        const a0 = this.arith(a.left);
        const a1 = this.arith(a.right);
        this.col = a.col;
        const code = ARITH_CODES[a.op];
        const first = a1.s[0];
        const imm0 = first.code === (BPF_LD | BPF_IMM);
        if (code === BPF_DIV && imm0 && first.k === 0) this.error('division by zero');
        if (code === BPF_MOD && imm0 && first.k === 0) this.error('modulus by zero');
        if ((code === BPF_LSH || code === BPF_RSH) && imm0 && first.k > 31) this.error('shift by more than 31 bits');
        a0.s.push(...a1.s, stmt(BPF_LDX | BPF_MEM, a1.regno), stmt(BPF_LD | BPF_MEM, a0.regno), stmt(BPF_ALU | BPF_X | code));
        this.freeReg(a0.regno);
        this.freeReg(a1.regno);
        const reg = this.allocReg();
        a0.s.push(stmt(BPF_ST, reg));
        a0.regno = reg;
        return a0;
      }
      case 'load': {
        const inst = this.arith(a.index);
        this.col = a.col;
        return this.load(a.proto, inst, a.size);
      }
    }
  }

  private load(proto: ProtoQual, inst: ArthVal, size: number): ArthVal {
    const regno = this.allocReg();
    this.freeReg(inst.regno);
    const sizeCode = size === 1 ? BPF_B : size === 2 ? BPF_H : size === 4 ? BPF_W : this.error('data size must be 1, 2, or 4');
    let b: GBlock | null = null;
    let s: Insn[] | null = null;
    let constpart = 0;
    switch (proto) {
      case 'radio':
        if (this.linktype !== DLT.IEEE802_11_RADIO_AVS && this.linktype !== DLT.IEEE802_11_RADIO && this.linktype !== DLT.PRISM_HEADER) {
          this.error('radio information not present in capture');
        }
        break;
      case 'link':
        s = this.absOffsetVarpart(this.offLinkhdr);
        constpart = this.offLinkhdr.constantPart;
        break;
      case 'ip': case 'arp': case 'rarp': case 'atalk': case 'decnet': case 'sca': case 'lat': case 'moprc':
      case 'mopdl': case 'ip6':
        s = this.absOffsetVarpart(this.offLinkpl);
        constpart = this.offLinkpl.constantPart + this.offNl;
        b = this.protoAbbrev(proto);
        break;
      case 'sctp': case 'tcp': case 'udp': case 'icmp': case 'igmp': case 'igrp': case 'pim': case 'vrrp': case 'carp':
        s = this.loadxIphdrlen();
        constpart = this.offLinkpl.constantPart + this.offNl;
        b = this.protoAbbrev('ip');
        b = genAnd(b, this.ipProto(this.pqTo(PQ_IPPROTO, proto, 'IP protocol')));
        b = genAnd(b, this.ipfrag());
        break;
      case 'icmp6':
        b = this.protoAbbrev('ip6');
        b = genAnd(b, this.ip6Proto(IPPROTO.ICMPV6));
        s = this.absOffsetVarpart(this.offLinkpl);
        constpart = this.offLinkpl.constantPart + this.offNl + IP6_HDRLEN;
        break;
      default:
        this.error(`'${proto}' does not support the index operation`);
    }
    if (b) inst.b = inst.b ? genAnd(inst.b, b) : b;
    // gen_load_absoffsetarthrel: add the index to the variable part, then load.
    let varpart: Insn[];
    if (!s) varpart = [stmt(BPF_LDX | BPF_MEM, inst.regno)];
    else varpart = [...s, stmt(BPF_LD | BPF_MEM, inst.regno), stmt(BPF_ALU | BPF_ADD | BPF_X), stmt(BPF_MISC | BPF_TAX)];
    inst.s.push(...this.loadAbsOffsetRel(varpart, constpart, sizeCode));
    inst.regno = regno;
    inst.s.push(stmt(BPF_ST, regno));
    return inst;
  }

  private relation(op: string, left: Arith, right: Arith): GBlock {
    const a0 = this.arith(left);
    const a1 = this.arith(right);
    const [code, reversed] = RELOP_JUMPS[op];
    const s = [...a0.s, ...a1.s, stmt(BPF_LDX | BPF_MEM, a1.regno), stmt(BPF_LD | BPF_MEM, a0.regno)];
    let b = this.newBlock(BPF_JMP | code | BPF_X, 0, s);
    if (reversed) genNot(b);
    this.freeReg(a0.regno);
    this.freeReg(a1.regno);
    if (a0.b) b = genAnd(a0.b, b);
    if (a1.b) b = genAnd(a1.b, b);
    return b;
  }

  // ---- other primitives ---------------------------------------------------------------------

  private primitive(name: string, proto: ProtoQual, args: number[], text: string | undefined): GBlock {
    switch (name) {
      case 'less': return genNot(this.newBlock(BPF_JMP | BPF_JGT | BPF_K, args[0], [stmt(BPF_LD | BPF_LEN)]));
      case 'greater': return this.newBlock(BPF_JMP | BPF_JGE | BPF_K, args[0], [stmt(BPF_LD | BPF_LEN)]);
      case 'byte': return this.byteop(String.fromCharCode(args[1]), args[0], args[2]);
      case 'broadcast': return this.broadcast(proto);
      case 'multicast': return this.multicast(proto);
      case 'vlan': return this.vlan(args[0], args.length > 0);
      case 'mpls': return this.mpls(args[0], args.length > 0);
      case 'pppoed': return this.linktypeTest(ETHERTYPE.PPPOED);
      case 'pppoes': return this.pppoes(args[0], args.length > 0);
      case 'inbound': case 'outbound': return this.inboundOutbound(name === 'outbound');
      case 'ifindex': return this.ifindex(args[0]);
      case 'llc': return this.llc(text);
      case 'geneve': case 'vxlan': return this.tunnel(name, args[0] ?? 0, args.length > 0);
      case 'type': case 'subtype': case 'type-subtype': case 'dir': return this.p80211(name, args, text);
      case 'ifname': case 'rset': case 'rnr': case 'srnr': case 'reason': case 'action': return this.pf(name, args, text);
      case 'field': {
        const [code, reversed] = RELOP_JUMPS[RELOP_CODES[args[0]]];
        if (text === 'vpi' || text === 'vci') return this.atmField(text, args[1], code, reversed);
        return this.mtp3Field(text ?? '', args[1], code, reversed);
      }
      case 'fisu': case 'lssu': case 'msu': case 'hfisu': case 'hlssu': case 'hmsu':
        return this.mtp2Type(name);
      case 'lane': case 'metac': case 'bcc': case 'oamf4ec': case 'oamf4sc': case 'sc': case 'ilmic':
        return this.atmType(name);
      case 'oam': case 'oamf4': case 'connectmsg': case 'metaconnect':
        return this.atmMulti(name);
    }
    return this.error(`'${name}' is not supported yet`);
  }

  private assertSs7(kw: string): readonly [number, number, number, number, number, number] {
    if (!this.ss7) return this.error(`'${kw}' supported only on SS7`);
    return this.ss7;
  }

  /** gen_mtp2type_abbrev: signal unit types by the length indicator. */
  private mtp2Type(name: string): GBlock {
    const [li, liHsl] = this.assertSs7(name);
    switch (name) {
      case 'fisu': return this.ncmp('packet', li, BPF_B, 0x3f, BPF_JEQ, false, 0);
      case 'lssu': {
        const b0 = this.ncmp('packet', li, BPF_B, 0x3f, BPF_JGT, true, 2);
        const b1 = this.ncmp('packet', li, BPF_B, 0x3f, BPF_JGT, false, 0);
        return genAnd(b1, b0);
      }
      case 'msu': return this.ncmp('packet', li, BPF_B, 0x3f, BPF_JGT, false, 2);
      case 'hfisu': return this.ncmp('packet', liHsl, BPF_H, 0xff80, BPF_JEQ, false, 0);
      case 'hlssu': {
        const b0 = this.ncmp('packet', liHsl, BPF_H, 0xff80, BPF_JGT, true, 0x0100);
        const b1 = this.ncmp('packet', liHsl, BPF_H, 0xff80, BPF_JGT, false, 0);
        return genAnd(b1, b0);
      }
      default: return this.ncmp('packet', liHsl, BPF_H, 0xff80, BPF_JGT, false, 0x0100);
    }
  }

  /** gen_mtp3field_code: sio/opc/dpc/sls (h-prefixed: 3 bytes further, high-speed links). */
  private mtp3Field(field: string, v: number, jtype: number, reverse: boolean): GBlock {
    const [, , sio, opc, dpc, sls] = this.assertSs7(field);
    const extra = field.startsWith('h') ? 3 : 0;
    const swapl = (x: number): number => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
    const swaps = (x: number): number => ((x & 0xff) << 8) | ((x >> 8) & 0xff);
    switch (field.replace(/^h/, '')) {
      case 'sio':
        this.assertMaxval(field, v, 255);
        return this.ncmp('packet', sio + extra, BPF_B, 0xffffffff, jtype, reverse, v);
      case 'opc':
        this.assertMaxval(field, v, 0x3fff);
        return this.ncmp('packet', opc + extra, BPF_W, swapl(0x3fff << 14), jtype, reverse, swapl((v << 14) >>> 0));
      case 'dpc':
        this.assertMaxval(field, v, 0x3fff);
        return this.ncmp('packet', dpc + extra, BPF_H, swaps(0x3fff), jtype, reverse, swaps(v));
      default:
        this.assertMaxval(field, v, 0xf);
        return this.ncmp('packet', sls + extra, BPF_B, 0xf0, jtype, reverse, v << 4);
    }
  }

  private assertAtm(kw: string): void {
    if (this.linktype !== DLT.SUNATM) this.error(`'${kw}' supported only on SUNATM`);
  }

  /** SunATM pseudo-header: VPI at 1, VCI at 2, protocol type at 0. */
  private atmField(field: string, v: number, jtype: number, reverse: boolean): GBlock {
    this.assertAtm(field);
    if (field === 'vpi') {
      this.assertMaxval('VPI', v, 255);
      return this.ncmp('linkhdr', 1, BPF_B, 0xffffffff, jtype, reverse, v);
    }
    this.assertMaxval('VCI', v, 0xffff);
    return this.ncmp('linkhdr', 2, BPF_H, 0xffffffff, jtype, reverse, v);
  }

  private atmPrototype(v: number): GBlock {
    return this.mcmp('linkhdr', 0, BPF_B, v, 0x0f);
  }

  private atmType(name: string): GBlock {
    this.assertAtm(name);
    const vpiVci = (vci: number): GBlock => {
      const b0 = this.atmField('vpi', 0, BPF_JEQ, false);
      return genAnd(b0, this.atmField('vci', vci, BPF_JEQ, false));
    };
    switch (name) {
      case 'metac': return vpiVci(1);
      case 'bcc': return vpiVci(2);
      case 'oamf4sc': return vpiVci(3);
      case 'oamf4ec': return vpiVci(4);
      case 'sc': return vpiVci(5);
      case 'ilmic': return vpiVci(16);
    }
    // LANE: an Ethernet frame follows 2 bytes after the ATM payload start.
    const b1 = this.atmPrototype(0x01);
    this.prevlinktype = this.linktype;
    this.offPrevlinkhdr = { ...this.offLinkhdr };
    this.linktype = DLT.EN10MB;
    this.offLinkhdr = { isVariable: false, constantPart: 4 + 2, reg: -1 };
    this.isEncap = false;
    this.offLinktype.constantPart = this.offLinkhdr.constantPart + 12;
    this.offLinkpl.constantPart = this.offLinkhdr.constantPart + 14;
    this.offNl = 0;
    this.offNlNosnap = 3;
    return b1;
  }

  private atmMulti(name: string): GBlock {
    this.assertAtm(name);
    const msg = (t: number): GBlock => this.cmp('linkhdr', 4 + 5, BPF_B, t);
    if (name === 'oam' || name === 'oamf4') {
      const b0 = this.atmField('vci', 3, BPF_JEQ, false);
      let b1 = this.atmField('vci', 4, BPF_JEQ, false);
      b1 = genOr(b0, b1);
      return genAnd(this.atmField('vpi', 0, BPF_JEQ, false), b1);
    }
    const types = name === 'connectmsg' ? [0x05, 0x02, 0x07, 0x0f, 0x4d, 0x5a] : [0x05, 0x02, 0x07, 0x4d, 0x5a];
    let b0 = msg(types[0]);
    let b1 = msg(types[1]);
    b1 = genOr(b0, b1);
    for (const t of types.slice(2)) {
      b0 = msg(t);
      b1 = genOr(b0, b1);
    }
    b0 = this.atmType(name === 'connectmsg' ? 'sc' : 'metac');
    return genAnd(b0, b1);
  }

  /** PFLOG header fields (struct pfloghdr). */
  private pf(name: string, args: number[], text: string | undefined): GBlock {
    const kw = name === 'rset' ? 'ruleset' : name;
    if (this.linktype !== DLT.PFLOG) this.error(`'${kw}' supported only on PFLOG linktype`);
    const str = (off: number, what: string): GBlock => {
      const t = text ?? '';
      if (t.length >= 16) this.error(`${what} can only be 15 characters`);
      return this.bcmp('linkhdr', off, utf8(t));
    };
    switch (name) {
      case 'ifname': return str(4, 'ifname interface names');
      case 'rset': return str(20, 'ruleset names');
      case 'rnr': return this.cmp('linkhdr', 36, BPF_W, args[0]);
      case 'srnr': return this.cmp('linkhdr', 40, BPF_W, args[0]);
      case 'reason': {
        const v = text === undefined ? args[0] : str2tok(text, PF_REASONS);
        if (v < 0) this.error(`unknown PF reason "${text ?? ''}"`);
        return this.cmp('linkhdr', 3, BPF_B, v);
      }
      default: {
        const v = str2tok(text ?? '', PF_ACTIONS);
        if (v < 0) this.error(`unknown PF action "${text ?? ''}"`);
        return this.cmp('linkhdr', 2, BPF_B, v);
      }
    }
  }

  private byteop(op: string, idx: number, val: number): GBlock {
    this.assertMaxval('byte argument', val, 255);
    switch (op) {
      case '=': return this.cmp('linkhdr', idx, BPF_B, val);
      case '<': return this.cmpLt('linkhdr', idx, BPF_B, val);
      case '>': return this.cmpGt('linkhdr', idx, BPF_B, val);
    }
    const s0 = this.loadA('linkhdr', idx, BPF_B);
    s0.push(stmt(BPF_ALU | (op === '|' ? BPF_OR : BPF_AND) | BPF_K, val));
    return genNot(this.jmpK(BPF_JEQ, 0, s0));
  }

  private broadcast(proto: ProtoQual): GBlock {
    if (proto === 'default' || proto === 'link') {
      if (this.linktype === DLT.ARCNET || this.linktype === DLT.ARCNET_LINUX) return this.mac8host(0, 'dst', 'broadcast');
      if (this.linktype === DLT.BACNET_MS_TP) return this.mac8host(0xff, 'dst', 'broadcast');
      if (!MAC48_DLTS.has(this.linktype)) this.failKwOnDlt('broadcast');
      return this.mac48host(new Uint8Array(6).fill(0xff), 'dst', 'broadcast');
    }
    if (proto === 'ip') {
      // 255.255.255.255 is PCAP_NETMASK_UNKNOWN.
      if (this.netmask === undefined || this.netmask === 0xffffffff) this.error("netmask not known, so 'ip broadcast' not supported");
      const b0 = this.linktypeTest(ETHERTYPE.IP);
      const hostmask = ~(this.netmask ?? 0) >>> 0;
      const b1 = this.mcmp('linkpl', IPV4_DSTADDR_OFFSET, BPF_W, 0, hostmask);
      const b2 = this.mcmp('linkpl', IPV4_DSTADDR_OFFSET, BPF_W, hostmask, hostmask);
      return genAnd(b0, genOr(b1, b2));
    }
    return this.error(ERR_INVALID_QUAL(proto, 'broadcast'));
  }

  private macMulticast(offset: number): GBlock {
    return this.set(1, this.loadA('linkhdr', offset, BPF_B));
  }

  private multicast(proto: ProtoQual): GBlock {
    if (proto === 'default' || proto === 'link') {
      const lt = this.linktype;
      if (lt === DLT.ARCNET || lt === DLT.ARCNET_LINUX) return this.mac8host(0, 'dst', 'multicast');
      if (ETHER_LIKE.has(lt)) {
        const b1 = this.prevlinkhdrCheck();
        const b0 = this.macMulticast(0);
        return b1 ? genAnd(b1, b0) : b0;
      }
      if (lt === DLT.FDDI) return this.macMulticast(1);
      if (lt === DLT.IEEE802 || lt === DLT.IP_OVER_FC) return this.macMulticast(2);
      if (WLAN_DLTS.has(lt)) {
        let s = this.loadA('linkhdr', 1, BPF_B);
        let b1 = this.set(0x01, s);
        let b0 = this.macMulticast(16);
        b0 = genAnd(b1, b0);
        s = this.loadA('linkhdr', 1, BPF_B);
        let b2 = this.unset(0x01, s);
        b1 = this.macMulticast(4);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        s = this.loadA('linkhdr', 0, BPF_B);
        b1 = this.set(0x08, s);
        b0 = genAnd(b1, b0);
        s = this.loadA('linkhdr', 0, BPF_B);
        b2 = this.unset(0x08, s);
        b1 = this.macMulticast(4);
        b1 = genAnd(b2, b1);
        b0 = genOr(b1, b0);
        s = this.loadA('linkhdr', 0, BPF_B);
        b1 = this.unset(0x04, s);
        return genAnd(b1, b0);
      }
      return this.failKwOnDlt('multicast');
    }
    if (proto === 'ip') {
      const b0 = this.linktypeTest(ETHERTYPE.IP);
      return genAnd(b0, this.mcmp('linkpl', IPV4_DSTADDR_OFFSET, BPF_B, 0xe0, 0xf0));
    }
    if (proto === 'ip6') {
      const b0 = this.linktypeTest(ETHERTYPE.IPV6);
      return genAnd(b0, this.cmp('linkpl', IPV6_DSTADDR_OFFSET, BPF_B, 255));
    }
    return this.error(ERR_INVALID_QUAL(proto, 'multicast'));
  }

  private vlan(num: number | undefined, has: boolean): GBlock {
    if (this.labelStackDepth > 0) this.error('no VLAN match after MPLS');
    const lt = this.linktype;
    if (!(ETHER_LIKE.has(lt) || lt === DLT.IEEE802_11 || lt === DLT.PRISM_HEADER || lt === DLT.IEEE802_11_RADIO_AVS || lt === DLT.IEEE802_11_RADIO)) {
      this.failKwOnDlt('vlan');
    }
    if (this.linuxExt && lt === DLT.EN10MB && this.vlanStackDepth === 0 && !this.offLinkhdr.isVariable && this.offLinkhdr.constantPart === this.offOutermostlinkhdr.constantPart) {
      const r = this.vlanBpfExtensions(num ?? 0, has);
      this.vlanStackDepth++;
      return r;
    }
    let b0 = this.linktypeTest(ETHERTYPE.VLAN_8021Q);
    let b1 = this.linktypeTest(ETHERTYPE.VLAN_8021AD);
    b0 = genOr(b0, b1);
    b1 = this.linktypeTest(ETHERTYPE.VLAN_8021QINQ);
    b0 = genOr(b0, b1);
    if (has) {
      const v = num ?? 0;
      this.assertMaxval('VLAN tag', v, 0x0fff);
      b0 = genAnd(b0, this.mcmp('linkpl', 0, BPF_H, v, 0x0fff));
    }
    this.offLinkpl.constantPart += 4;
    this.offLinktype.constantPart += 4;
    this.vlanStackDepth++;
    return b0;
  }

  /**
   * gen_geneve / gen_vxlan: a UDP tunnel to a fixed port, after which an Ethernet frame
   * starts at a run-time offset (Geneve: after its variable options).
   */
  private tunnel(name: string, vni: number, has: boolean): GBlock {
    const geneve = name === 'geneve';
    const check = (v6: boolean): GBlock => {
      const rel: OffRel = v6 ? 'tran-ipv6' : 'tran-ipv4';
      let b0 = this.port(v6, geneve ? 6081 : 4789, undefined, IPPROTO.UDP, 'dst', 'port');
      let b1 = geneve ? this.mcmp(rel, 8, BPF_B, 0, 0xc0) : this.cmp(rel, 8, BPF_B, 0x08);
      b0 = genAnd(b0, b1);
      if (has) {
        this.assertMaxval(geneve ? 'Geneve VNI' : 'VXLAN VNI', vni, 0xffffff);
        b1 = this.mcmp(rel, 12, BPF_W, (vni << 8) >>> 0, 0xffffff00);
        b0 = genAnd(b0, b1);
      }
      return b0;
    };
    // IPv4: A = X = the IP header length (the UDP header's offset).
    let b0 = check(false);
    let b1 = this.newBlock(BPF_JMP | BPF_JEQ | BPF_X, 0, [...this.loadxIphdrlen(), stmt(BPF_MISC | BPF_TXA)]);
    const v4 = genAnd(b0, b1);
    b0 = check(true);
    const vp = this.absOffsetVarpart(this.offLinkpl);
    const s6 = vp ? [...vp, stmt(BPF_LD | BPF_IMM, IP6_HDRLEN), stmt(BPF_ALU | BPF_ADD | BPF_X, 0)] : [stmt(BPF_LD | BPF_IMM, IP6_HDRLEN)];
    s6.push(stmt(BPF_MISC | BPF_TAX));
    b1 = this.newBlock(BPF_JMP | BPF_JEQ | BPF_X, 0, s6);
    const v6 = genAnd(b0, b1);
    const offsets = geneve ? this.geneveOffsets() : this.vxlanOffsets();
    const t = this.genTrue();
    t.stmts = [...offsets, ...t.stmts];
    t.meaning = 'uncertain';
    this.isEncap = true;
    return genAnd(genOr(v4, v6), t);
  }

  private pushLinkhdrEthernetVariable(): number {
    const reg = this.allocReg();
    this.prevlinktype = this.linktype;
    this.offPrevlinkhdr = { ...this.offLinkhdr };
    this.linktype = DLT.EN10MB;
    this.offLinkhdr = { isVariable: true, constantPart: 0, reg };
    this.isEncap = false;
    return reg;
  }

  private geneveOffsets(): Insn[] {
    const s: Insn[] = [stmt(BPF_ALU | BPF_ADD | BPF_K, this.offLinkpl.constantPart + this.offNl + 8), stmt(BPF_MISC | BPF_TAX), stmt(BPF_ALU | BPF_ADD | BPF_K, 2)];
    this.offLinktype = { reg: this.allocReg(), isVariable: true, constantPart: 0 };
    s.push(stmt(BPF_ST, this.offLinktype.reg), stmt(BPF_LD | BPF_IND | BPF_B, 0), stmt(BPF_ALU | BPF_AND | BPF_K, 0x3f), stmt(BPF_ALU | BPF_MUL | BPF_K, 4), stmt(BPF_ALU | BPF_ADD | BPF_K, 8), stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
    const reg = this.pushLinkhdrEthernetVariable();
    s.push(stmt(BPF_ST, reg));
    this.noOptimize = true;
    s.push(stmt(BPF_LD | BPF_IND | BPF_H, 2), stmt(BPF_LDX | BPF_MEM, reg));
    const proto = stmt(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE.TEB);
    s.push(proto, stmt(BPF_MISC | BPF_TXA), stmt(BPF_ALU | BPF_ADD | BPF_K, 12), stmt(BPF_ST, this.offLinktype.reg), stmt(BPF_ALU | BPF_ADD | BPF_K, 2), stmt(BPF_MISC | BPF_TAX));
    this.offLinkpl = { reg: this.allocReg(), isVariable: true, constantPart: 0 };
    const stx = stmt(BPF_STX, this.offLinkpl.reg);
    s.push(stx);
    proto.jt = 0;
    proto.jf = s.indexOf(stx) - s.indexOf(proto) - 1;
    this.offNl = 0;
    return s;
  }

  private vxlanOffsets(): Insn[] {
    const s: Insn[] = [stmt(BPF_ALU | BPF_ADD | BPF_K, this.offLinkpl.constantPart + this.offNl + 8), stmt(BPF_ALU | BPF_ADD | BPF_K, 8)];
    const reg = this.pushLinkhdrEthernetVariable();
    s.push(stmt(BPF_ST, reg), stmt(BPF_ALU | BPF_ADD | BPF_K, 12));
    this.offLinktype = { reg: this.allocReg(), isVariable: true, constantPart: 0 };
    s.push(stmt(BPF_ST, this.offLinktype.reg), stmt(BPF_ALU | BPF_ADD | BPF_K, 2), stmt(BPF_MISC | BPF_TAX));
    this.offLinkpl = { reg: this.allocReg(), isVariable: true, constantPart: 0 };
    s.push(stmt(BPF_STX, this.offLinkpl.reg));
    this.offNl = 0;
    return s;
  }

  private vlanTpidTest(): GBlock {
    let b0 = this.linktypeTest(ETHERTYPE.VLAN_8021Q);
    let b1 = this.linktypeTest(ETHERTYPE.VLAN_8021AD);
    b0 = genOr(b0, b1);
    b1 = this.linktypeTest(ETHERTYPE.VLAN_8021QINQ);
    return genOr(b0, b1);
  }

  /**
   * gen_vlan_bpf_extensions: on a live Linux socket the kernel may have stripped the tag into
   * skb metadata (SKF_AD_VLAN_TAG*), so test that first; an in-packet tag moves later offsets by 4
   * at run time (variable offsets in scratch registers).
   */
  private vlanBpfExtensions(num: number, has: boolean): GBlock {
    const AD_PRESENT = (SKF_AD_OFF + 48) >>> 0;
    const AD_TAG = (SKF_AD_OFF + 44) >>> 0;
    let b0 = this.jmpK(BPF_JEQ, 1, [stmt(BPF_LD | BPF_B | BPF_ABS, AD_PRESENT)]);
    const tpid = this.vlanTpidTest();
    let vid: GBlock | null = null;
    if (has) {
      this.assertMaxval('VLAN tag', num, 0x0fff);
      vid = this.mcmp('linkpl', 0, BPF_H, num, 0x0fff);
    }
    // gen_vlan_patch_tpid_test: offsets become variable, advanced by 4 when a tag is in the packet.
    this.isVlanVloffset = true;
    const patch: Insn[] = [];
    for (const off of [this.offLinkpl, this.offLinktype]) {
      off.isVariable = true;
      if (off.reg === -1) off.reg = this.allocReg();
      patch.push(stmt(BPF_LD | BPF_MEM, off.reg), stmt(BPF_ALU | BPF_ADD | BPF_K, 4), stmt(BPF_ST, off.reg));
    }
    tpid.head.stmts = [...patch, ...tpid.head.stmts];
    tpid.head.meaning = 'uncertain';
    b0 = genOr(b0, tpid);
    if (vid) {
      // gen_vlan_patch_vid_test: take the VID from metadata when present, else from the packet.
      const cnt = vid.stmts.length;
      const jeq = stmt(BPF_JMP | BPF_JEQ | BPF_K, 1);
      jeq.jt = 0;
      jeq.jf = 2;
      vid.stmts = [stmt(BPF_LD | BPF_B | BPF_ABS, AD_PRESENT), jeq, stmt(BPF_LD | BPF_H | BPF_ABS, AD_TAG), stmt(BPF_JMP | BPF_JA | BPF_K, cnt - 1), ...vid.stmts];
      vid.meaning = 'uncertain';
      b0 = genAnd(b0, vid);
    }
    return b0;
  }

  private mpls(num: number | undefined, has: boolean): GBlock {
    let b0: GBlock;
    if (this.labelStackDepth > 0) b0 = genNot(this.justAfterMplsStack());
    else {
      const lt = this.linktype;
      if (lt === DLT.C_HDLC || ETHER_LIKE.has(lt)) b0 = this.linktypeTest(ETHERTYPE.MPLS);
      else if (lt === DLT.PPP) b0 = this.linktypeTest(PPP.MPLS_UCAST);
      else return this.failKwOnDlt('mpls');
    }
    if (has) {
      const v = num ?? 0;
      this.assertMaxval('MPLS label', v, 0xfffff);
      b0 = genAnd(b0, this.mcmp('linkpl', 0, BPF_W, (v << 12) >>> 0, 0xfffff000));
    }
    this.offNlNosnap += 4;
    this.offNl += 4;
    this.labelStackDepth++;
    return b0;
  }

  private pppoes(num: number | undefined, has: boolean): GBlock {
    let b0 = this.linktypeTest(ETHERTYPE.PPPOES);
    if (has) {
      const v = num ?? 0;
      this.assertMaxval('PPPoE session number', v, 0xffff);
      b0 = genAnd(b0, this.cmp('linkpl', 2, BPF_H, v));
    }
    // PUSH_LINKHDR(DLT_PPP, ...): the PPP header follows the 6-byte PPPoE header.
    this.prevlinktype = this.linktype;
    this.offPrevlinkhdr = { ...this.offLinkhdr };
    this.linktype = DLT.PPP;
    this.offLinkhdr = { isVariable: this.offLinkpl.isVariable, constantPart: this.offLinkpl.constantPart + this.offNl + 6, reg: this.offLinkpl.reg };
    this.isEncap = false;
    this.offLinktype = { ...this.offLinkhdr };
    this.offLinkpl.constantPart = this.offLinkhdr.constantPart + 2;
    this.offNl = 0;
    this.offNlNosnap = 0;
    return b0;
  }

  private inboundOutbound(outbound: boolean): GBlock {
    switch (this.linktype) {
      case DLT.SLIP: return this.cmp('linkhdr', 0, BPF_B, outbound ? 1 : 0);
      case DLT.IPNET: return this.cmp('linkhdr', 2, BPF_H, outbound ? 1 : 2);
      case DLT.LINUX_SLL: { const b0 = this.cmp('linkhdr', 0, BPF_H, LINUX_SLL_OUTGOING); return outbound ? b0 : genNot(b0); }
      case DLT.LINUX_SLL2: { const b0 = this.cmp('linkhdr', 10, BPF_B, LINUX_SLL_OUTGOING); return outbound ? b0 : genNot(b0); }
      case DLT.PFLOG: return this.cmp('linkhdr', 60, BPF_B, outbound ? 2 : 1);
      case DLT.PPP_PPPD: return this.cmp('linkhdr', 0, BPF_B, outbound ? 1 : 0);
      case DLT.DSA_TAG_BRCM: return this.mcmp('linkhdr', 12, BPF_B, outbound ? 0x20 : 0, 0xe0);
      case DLT.DSA_TAG_DSA: return this.mcmp('linkhdr', 12, BPF_B, outbound ? 0x40 : 0, outbound ? 0xc0 : 0x40);
    }
    if (JUNIPER_OFFSETS.has(dltName(this.linktype))) return this.mcmp('linkhdr', 3, BPF_B, outbound ? 0 : 1, 0x01);
    const kw = outbound ? 'outbound' : 'inbound';
    if (!this.linuxExt) this.error(`not a live capture, '${kw}' not supported on ${this.dltString()}`);
    const b0 = this.cmp('linkhdr', (SKF_AD_OFF + SKF_AD_PKTTYPE) >>> 0, BPF_H, 4);
    return outbound ? b0 : genNot(b0);
  }

  private ifindex(idx: number): GBlock {
    if (this.linktype === DLT.LINUX_SLL2) return this.cmp('linkhdr', 4, BPF_W, idx);
    if (!this.linuxExt) this.error(`not a live capture, 'ifindex' not supported on ${this.dltString()}`);
    return this.cmp('linkhdr', (SKF_AD_OFF + SKF_AD_IFINDEX) >>> 0, BPF_W, idx);
  }

  private llcInternal(): GBlock {
    const lt = this.linktype;
    if (lt === DLT.EN10MB || lt === DLT.DSA_TAG_BRCM || lt === DLT.DSA_TAG_DSA) {
      const b0 = this.cmpLe('linktype', 0, BPF_H, ETHERMTU);
      const b1 = this.cmpNe('llc', 0, BPF_H, 0xffff);
      return genAnd(b0, b1);
    }
    if (lt === DLT.IEEE802 || lt === DLT.FDDI || lt === DLT.ATM_RFC1483) return this.genTrue();
    if (lt === DLT.SUNATM) {
      // gen_atmtype_llc: after LLC the link type reverts to what it was before (LANE).
      const b0 = this.atmPrototype(0x02);
      this.linktype = this.prevlinktype;
      return b0;
    }
    if (WLAN_DLTS.has(lt)) return this.mcmp('linkhdr', 0, BPF_B, 0x08, 0x0c);
    return this.failKwOnDlt('llc');
  }

  private llc(sub: string | undefined): GBlock {
    if (sub === undefined) return this.llcInternal();
    const lower = sub.toLowerCase();
    const b0 = this.llcInternal();
    if (lower === 'i') return genAnd(b0, this.unset(0x01, this.loadA('llc', 2, BPF_B)));
    if (lower === 's') return genAnd(b0, this.mcmp('llc', 2, BPF_B, 0x01, 0x03));
    if (lower === 'u') return genAnd(b0, this.mcmp('llc', 2, BPF_B, 0x03, 0x03));
    const sSub: Record<string, number> = { rr: 0x0001, rnr: 0x0005, rej: 0x0009 };
    const uSub: Record<string, number> = { ui: 0x03, ua: 0x63, disc: 0x43, dm: 0x0f, sabme: 0x6f, test: 0xe3, xid: 0xaf, frmr: 0x87 };
    if (sSub[sub] !== undefined) return genAnd(b0, this.mcmp('llc', 2, BPF_B, sSub[sub], 0x0f));
    if (uSub[sub] !== undefined) return genAnd(b0, this.mcmp('llc', 2, BPF_B, uSub[sub], 0xef));
    return this.error(`unknown LLC type name "${sub}"`);
  }

  /** `type T [subtype S]`, `subtype TS`, `dir D`: masked tests of the frame control field. */
  private p80211(name: string, args: number[], text: string | undefined): GBlock {
    const typeOf = (num: number | undefined, id: string | undefined): number => {
      if (id !== undefined && id !== '') {
        const v = str2tok(id, WLAN_TYPES);
        if (v < 0) this.error(`unknown 802.11 type name "${id}"`);
        return v;
      }
      const n = num ?? 0;
      if (n & ~IEEE80211_FC0_TYPE_MASK) this.error(`invalid 802.11 type value 0x${n.toString(16).padStart(2, '0')}`);
      return n;
    };
    let value: number;
    let mask: number;
    if (name === 'dir') {
      if (text !== undefined) {
        const d = WLAN_DIRS.get(text.toLowerCase());
        if (d === undefined) this.error('unknown 802.11 direction');
        value = d ?? 0;
      } else {
        value = args[0];
        if (value & ~IEEE80211_FC1_DIR_MASK) this.error(`invalid 802.11 direction value 0x${value.toString(16)}`);
      }
      if (!WLAN_DLTS.has(this.linktype)) this.failKwOnDlt('dir');
      return this.mcmp('linkhdr', 1, BPF_B, value, IEEE80211_FC1_DIR_MASK);
    }
    if (name === 'type') {
      value = typeOf(args[0], text);
      mask = IEEE80211_FC0_TYPE_MASK;
    } else if (name === 'type-subtype') {
      const [tId, sId] = (text ?? '\u0000').split('\u0000');
      const type = typeOf(args[0] >= 0 ? args[0] : undefined, tId);
      let sub: number;
      if (sId !== '') {
        const table = WLAN_SUBTYPES.find(([t]) => t === type);
        if (!table) return this.error('unknown 802.11 type');
        sub = str2tok(sId, table[1]);
        if (sub < 0) this.error(`unknown 802.11 subtype name "${sId}"`);
      } else {
        sub = args[1];
        if (sub & ~IEEE80211_FC0_SUBTYPE_MASK) this.error(`invalid 802.11 subtype value 0x${sub.toString(16).padStart(2, '0')}`);
      }
      value = type | sub;
      mask = IEEE80211_FC0_TYPE_MASK | IEEE80211_FC0_SUBTYPE_MASK;
    } else {
      // `subtype NAME`: the first table (mgt, ctl, data) that knows the name supplies the type too.
      if (text === undefined) return this.error("can't parse filter expression: syntax error");
      value = -1;
      for (const [type, table] of WLAN_SUBTYPES) {
        const v = str2tok(text, table);
        if (v >= 0) {
          value = v | type;
          break;
        }
      }
      if (value < 0) this.error('unknown 802.11 type name');
      mask = IEEE80211_FC0_TYPE_MASK | IEEE80211_FC0_SUBTYPE_MASK;
    }
    if (!WLAN_DLTS.has(this.linktype)) this.failKwOnDlt('type/subtype');
    return this.mcmp('linkhdr', 0, BPF_B, value, mask);
  }

  // ---- driver ------------------------------------------------------------------------------

  /** Generates the blocks of one expression node, left to right as yacc reduces. */
  genExpr(e: Expr): GBlock {
    switch (e.kind) {
      case 'and': case 'or': {
        const b0 = this.genExpr(e.left);
        const b1 = this.genExpr(e.right);
        return e.kind === 'and' ? genAnd(b0, b1) : genOr(b0, b1);
      }
      case 'not':
        return genNot(this.genExpr(e.operand));
      case 'id':
        this.col = e.col;
        return this.genId(e.value, e.qual);
      case 'abbrev':
        this.col = e.col;
        return this.protoAbbrev(e.proto);
      case 'relation':
        this.col = e.col;
        return this.relation(e.op, e.left, e.right);
      case 'primitive':
        this.col = e.col;
        return this.primitive(e.name, e.proto, e.args, e.text);
    }
  }

  /** finish_parse: variable-offset prologue, then patch exits to `ret #snaplen` / `ret #0`. */
  /** True when gencode emitted code libpcap will not optimize (variable 802.11 header lengths). */
  noOptimize = false;

  /**
   * insert_compute_vloffsets: statements at the start of the root block that compute the
   * lengths of variable-length link headers into their scratch registers.
   */
  private insertComputeVloffsets(b: GBlock): void {
    if (this.offLinkpl.reg !== -1 && this.offLinkhdr.isVariable && this.offLinkhdr.reg === -1) this.offLinkhdr.reg = this.allocReg();
    const jumps: [Insn, Insn | null, Insn | null][] = [];
    let s: Insn[] | null = null;
    const reg = this.offLinkhdr.reg;
    const outer = this.linktype0;
    // libpcap never optimizes Prism programs (its AVS-or-Prism header test is a block-local jump).
    if (outer === DLT.PRISM_HEADER) this.noOptimize = true;
    if (reg !== -1) {
      if (outer === DLT.PRISM_HEADER) {
        const ld4 = stmt(BPF_LD | BPF_W | BPF_ABS, 4);
        const ld144 = stmt(BPF_LD | BPF_W | BPF_IMM, 144);
        const st = stmt(BPF_ST, reg);
        const jeq = stmt(BPF_JMP | BPF_JEQ | BPF_K, 0x80211000);
        jumps.push([jeq, ld4, ld144]);
        s = [stmt(BPF_LD | BPF_W | BPF_ABS, 0), stmt(BPF_ALU | BPF_AND | BPF_K, 0xfffff000), jeq, ld4, stmt(BPF_JMP | 0x00 | BPF_K, 1), ld144, st, stmt(BPF_MISC | BPF_TAX)];
      } else if (outer === DLT.IEEE802_11_RADIO_AVS) {
        s = [stmt(BPF_LD | BPF_W | BPF_ABS, 4), stmt(BPF_ST, reg), stmt(BPF_MISC | BPF_TAX)];
      } else if (outer === DLT.IEEE802_11_RADIO || outer === DLT.PPI) {
        s = [stmt(BPF_LD | BPF_B | BPF_ABS, 3), stmt(BPF_ALU | BPF_LSH | BPF_K, 8), stmt(BPF_MISC | BPF_TAX), stmt(BPF_LD | BPF_B | BPF_ABS, 2), stmt(BPF_ALU | BPF_OR | BPF_X), stmt(BPF_ST, reg), stmt(BPF_MISC | BPF_TAX)];
      }
    }
    const snext: Insn | null = b.stmts[0] ?? null;
    if (WLAN_DLTS.has(outer)) s = this.load80211HeaderLen(s, snext, jumps);
    else if (outer === DLT.PFLOG && this.offLinkpl.reg !== -1) {
      s = [stmt(BPF_LD | BPF_B | BPF_ABS, 0), stmt(BPF_ALU | BPF_ADD | BPF_K, 3), stmt(BPF_ALU | BPF_AND | BPF_K, 0xfffffffc), stmt(BPF_ST, this.offLinkpl.reg), stmt(BPF_MISC | BPF_TAX)];
    }
    if (!s && this.isVlanVloffset) {
      if (this.offLinkpl.reg === -1) this.offLinkpl.reg = this.allocReg();
      if (this.offLinktype.reg === -1) this.offLinktype.reg = this.allocReg();
      s = [stmt(BPF_LD | BPF_W | BPF_IMM, 0), stmt(BPF_ST, this.offLinkpl.reg), stmt(BPF_ST, this.offLinktype.reg)];
    }
    if (!s) return;
    b.stmts = [...s, ...b.stmts];
    b.meaning = 'uncertain';
    // Block-local jumps become relative offsets now that the statement list is final.
    for (const [j, jt, jf] of jumps) {
      const at = b.stmts.indexOf(j);
      const rel = (t: Insn | null): number => (t === null ? 0 : b.stmts.indexOf(t) - at - 1);
      j.jt = rel(jt);
      j.jf = rel(jf);
    }
  }

  /** gen_load_802_11_header_len: the 802.11 header is 24 bytes, +2 for QoS data, padded to 4 when radiotap says so. */
  private load80211HeaderLen(s: Insn[] | null, snext: Insn | null, jumps: [Insn, Insn | null, Insn | null][]): Insn[] | null {
    const reg = this.offLinkpl.reg;
    if (reg === -1) return s;
    this.noOptimize = true;
    const out = s ?? [stmt(BPF_LDX | BPF_IMM, this.offOutermostlinkhdr.constantPart)];
    const J = (k: number): Insn => stmt(BPF_JMP | BPF_JSET | BPF_K, k);
    out.push(stmt(BPF_MISC | BPF_TXA), stmt(BPF_ALU | BPF_ADD | BPF_K, 24), stmt(BPF_ST, reg), stmt(BPF_LD | BPF_IND | BPF_B, 0));
    const data1 = J(0x08);
    const data2 = J(0x04);
    const qos = J(0x80);
    const qosLd = stmt(BPF_LD | BPF_MEM, reg);
    out.push(data1, data2, qos, qosLd, stmt(BPF_ALU | BPF_ADD | BPF_K, 2), stmt(BPF_ST, reg));
    jumps.push([data1, data2, snext], [data2, snext, qos]);
    // libpcap tests the current link type here (not the outermost): after a tunnel it is Ethernet.
    if (this.linktype === DLT.IEEE802_11_RADIO) {
      const ld4 = stmt(BPF_LD | BPF_ABS | BPF_W, 4);
      const flags = J(0x02000000);
      const ext = J(0x00000080);
      const tsft = J(0x01000000);
      const ld16 = stmt(BPF_LD | BPF_ABS | BPF_B, 16);
      const tsftPad = J(0x20);
      const ld8 = stmt(BPF_LD | BPF_ABS | BPF_B, 8);
      const noTsftPad = J(0x20);
      const roundup = stmt(BPF_LD | BPF_MEM, reg);
      out.push(ld4, flags, ext, tsft, ld16, tsftPad, ld8, noTsftPad, roundup, stmt(BPF_ALU | BPF_ADD | BPF_K, 3), stmt(BPF_ALU | BPF_AND | BPF_K, 0xfffffffc), stmt(BPF_ST, reg));
      jumps.push([qos, qosLd, ld4], [flags, ext, snext], [ext, snext, tsft], [tsft, ld16, ld8], [tsftPad, roundup, snext], [noTsftPad, roundup, snext]);
    } else {
      jumps.push([qos, qosLd, snext]);
    }
    return out;
  }

  finish(p: GBlock | undefined): Cfg {
    if (!p) {
      // The empty expression accepts everything.
      return toCfg(this.newBlock(BPF_RET | BPF_K, this.snaplen));
    }
    this.insertComputeVloffsets(p.head);
    if (this.linktype0 === DLT.PPI) {
      // PPI carries the DLT of what follows; only 802.11 (105, little-endian) is understood.
      p = genAnd(this.cmp('packet', 4, BPF_W, 0x69000000), p);
    }
    backpatch(p, this.newBlock(BPF_RET | BPF_K, this.snaplen));
    p.sense = !p.sense;
    backpatch(p, this.newBlock(BPF_RET | BPF_K, 0));
    return toCfg(p.head);
  }
}

/** Lowers a syntax tree to a control-flow graph exactly as libpcap's gencode would (before optimization). */
export function generate(ast: FilterAst, opts: GenerateOptions): Cfg {
  return generateWithInfo(ast, opts).cfg;
}

/** {@link generate}, also telling whether libpcap would skip the optimizer for this program. */
export function generateWithInfo(ast: FilterAst, opts: GenerateOptions): { cfg: Cfg; noOptimize: boolean } {
  const g = new Gencode(opts);
  const p = ast.expr ? g.genExpr(ast.expr) : undefined;
  const cfg = g.finish(p);
  return { cfg, noOptimize: g.noOptimize };
}

