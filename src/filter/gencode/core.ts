/** The generator state (offsets, scratch registers) and its primitives: blocks, loads, comparisons. */

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_H, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET,
  BPF_K, BPF_LD, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MEMWORDS, BPF_MISC, BPF_MSH, BPF_TAX, BPF_W, BPF_X, type Insn, stmt,
} from '../../cbpf/index.js';
import { ParseError } from '../../util/index.js';
import { DLT, dltName } from '../dlt.js';
import type { Resolver } from '../names/resolver.js';
import { JUNIPER_OFFSETS } from './tables.js';
import { genAnd, genNot, type GBlock } from './blocks.js';
import { IP6_HDRLEN, OFFSET_NOT_SET } from './constants.js';

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

export type OffRel =
  | 'packet' | 'linkhdr' | 'prevlinkhdr' | 'llc' | 'prevmplshdr' | 'linkpl' | 'linkpl-nosnap' | 'linktype'
  | 'tran-ipv4' | 'tran-ipv6';

export interface AbsOffset {
  constantPart: number;
  isVariable: boolean;
  reg: number;
}

/** An arithmetic value being computed: its code, the scratch register holding it, and protocol checks. */
export interface ArthVal {
  s: Insn[];
  regno: number;
  b: GBlock | null;
}

/** The generator for one compile: mutable offsets and registers, exactly the state gencode.c keeps. */

export class GencodeCore {
  protected nextId = 0;
  protected col = 0;
  readonly linktype0: number;
  protected linktype: number;
  protected prevlinktype: number;
  protected offOutermostlinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  protected offPrevlinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  protected offLinkhdr: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  protected offLinkpl: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  protected offLinktype: AbsOffset = { constantPart: 0, isVariable: false, reg: -1 };
  protected offNl = 0;
  protected offNlNosnap = 0;
  /** SS7 (MTP2) field offsets: li, li_hsl, sio, opc, dpc, sls; undefined when not SS7. */
  protected ss7: readonly [number, number, number, number, number, number] | undefined;
  protected isEncap = false;
  protected isVlanVloffset = false;
  protected labelStackDepth = 0;
  protected vlanStackDepth = 0;
  protected regused: boolean[] = new Array<boolean>(BPF_MEMWORDS).fill(false);
  protected curreg = 0;
  protected readonly snaplen: number;
  protected readonly netmask: number | undefined;
  protected readonly resolver: Resolver | undefined;
  protected readonly linuxExt: boolean;
  protected readonly offlineAf: 'unswapped' | 'swapped' | undefined;

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

  protected error(msg: string): never {
    throw new ParseError('E_FILTER_SEMANTIC', msg, { position: { column: this.col } });
  }

  protected initLinktype(): void {
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

  /** libpcap's PUSH_LINKHDR: the link header becomes `linktype` at `offLinkhdr`, remembering the one it replaces; it is not an encapsulation. */
  protected pushLinkhdr(linktype: number, offLinkhdr: AbsOffset): void {
    this.prevlinktype = this.linktype;
    this.offPrevlinkhdr = { ...this.offLinkhdr };
    this.linktype = linktype;
    this.offLinkhdr = offLinkhdr;
    this.isEncap = false;
  }

  // ---- blocks and statements -------------------------------------------------------------

  protected newBlock(code: number, k = 0, stmts: Insn[] = []): GBlock {
    const b: GBlock = { id: this.nextId++, stmts, code, k: k >>> 0, jt: null, jf: null, sense: false, head: null as unknown as GBlock, meaning: 'uncertain' };
    b.head = b;
    return b;
  }
  protected jmpK(jtype: number, v: number, stmts: Insn[]): GBlock {
    return this.newBlock(BPF_JMP | jtype | BPF_K, v, stmts);
  }
  protected uncond(rsense: boolean): GBlock {
    const b = this.jmpK(BPF_JEQ, 0, [stmt(BPF_LD | BPF_IMM, rsense ? 0 : 1)]);
    b.meaning = rsense ? 'true' : 'false';
    return b;
  }
  protected genTrue(): GBlock { return this.uncond(true); }
  protected genFalse(): GBlock { return this.uncond(false); }

  protected allocReg(): number {
    for (let n = BPF_MEMWORDS; --n >= 0;) {
      if (this.regused[this.curreg]) this.curreg = (this.curreg + 1) % BPF_MEMWORDS;
      else {
        this.regused[this.curreg] = true;
        return this.curreg;
      }
    }
    return this.error('too many registers needed to evaluate expression');
  }
  protected freeReg(n: number): void {
    this.regused[n] = false;
  }

  protected absOffsetVarpart(off: AbsOffset): Insn[] | null {
    if (!off.isVariable) return null;
    if (off.reg === -1) off.reg = this.allocReg();
    return [stmt(BPF_LDX | BPF_MEM, off.reg)];
  }

  protected loadAbsOffsetRel(s: Insn[] | null, offset: number, size: number): Insn[] {
    if (s) {
      s.push(stmt(BPF_LD | BPF_IND | size, offset));
      return s;
    }
    return [stmt(BPF_LD | BPF_ABS | size, offset)];
  }

  protected loadA(offrel: OffRel, offset: number, size: number): Insn[] {
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

  protected loadxIphdrlen(): Insn[] {
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

  protected ncmp(offrel: OffRel, offset: number, size: number, mask: number, jtype: number, reverse: boolean, v: number): GBlock {
    const s = this.loadA(offrel, offset, size);
    if (mask >>> 0 !== 0xffffffff) s.push(stmt(BPF_ALU | BPF_AND | BPF_K, mask));
    const b = this.jmpK(jtype, v, s);
    return reverse ? genNot(b) : b;
  }
  protected cmp(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JEQ, false, v);
  }
  protected cmpGt(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGT, false, v);
  }
  protected cmpGe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGE, false, v);
  }
  protected cmpLt(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGE, true, v);
  }
  protected cmpLe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JGT, true, v);
  }
  protected cmpNe(offrel: OffRel, offset: number, size: number, v: number): GBlock {
    return this.ncmp(offrel, offset, size, 0xffffffff, BPF_JEQ, true, v);
  }
  protected mcmp(offrel: OffRel, offset: number, size: number, v: number, mask: number): GBlock {
    if (mask === 0) return v ? this.genFalse() : this.genTrue();
    return this.ncmp(offrel, offset, size, mask, BPF_JEQ, false, v);
  }
  protected bcmp(offrel: OffRel, offset: number, v: Uint8Array): GBlock {
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
  protected set(v: number, s: Insn[]): GBlock {
    return this.jmpK(BPF_JSET, v, s);
  }
  protected unset(v: number, s: Insn[]): GBlock {
    return genNot(this.set(v, s));
  }

  protected assertMaxval(name: string, val: number, max: number): void {
    if (val > max) this.error(`${name} ${val} greater than maximum ${max}`);
  }
  protected failKwOnDlt(keyword: string): never {
    return this.error(`'${keyword}' not supported on ${this.dltString()}`);
  }

  /** How libpcap names the current link type in messages (`DLT_EN10MB`). */
  protected dltString(): string {
    const name = dltName(this.linktype);
    return name.startsWith('DLT ') ? name : `DLT_${name}`;
  }

  /** finish_parse: variable-offset prologue, then patch exits to `ret #snaplen` / `ret #0`. */
  /** True when gencode emitted code libpcap will not optimize (variable 802.11 header lengths). */
  noOptimize = false;

}
