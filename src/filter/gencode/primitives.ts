/** The other primitives: broadcast/multicast, vlan, mpls, pppoe, tunnels, 802.11, ATM, SS7, PF, llc. */

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_JA, BPF_H, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP,
  BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_MEM, BPF_MISC, BPF_MUL, BPF_OR, BPF_ST, BPF_STX, BPF_TAX, BPF_TXA, BPF_W,
  BPF_X, SKF_AD_OFF, SKF_AD_PKTTYPE, SKF_AD_IFINDEX, type Insn, stmt,
} from '../../cbpf/index.js';
import type { ProtoQual } from '../ast.js';
import { DLT, dltName } from '../dlt.js';
import {
  IEEE80211_FC0_SUBTYPE_MASK, IEEE80211_FC0_TYPE_MASK, IEEE80211_FC1_DIR_MASK, WLAN_DIRS, WLAN_SUBTYPES, WLAN_TYPES,
  str2tok,
} from './wlan-names.js';
import { RELOP_CODES } from '../parser.js';
import { utf8 } from './addresses.js';
import {
  ERR_INVALID_QUAL, ETHER_LIKE, JUNIPER_OFFSETS, MAC48_DLTS, PF_ACTIONS, PF_REASONS, RELOP_JUMPS, WLAN_DLTS,
} from './tables.js';
import { genAnd, genNot, genOr, type GBlock } from './blocks.js';
import {
  ETHERMTU, ETHERTYPE, IP6_HDRLEN, IPPROTO, IPV4_DSTADDR_OFFSET, IPV6_DSTADDR_OFFSET, LINUX_SLL_OUTGOING, PPP,
} from './constants.js';
import { ArithGen } from './arith.js';
import type { OffRel } from './core.js';

/** Layer 5 of the generator: the remaining keyword primitives. */
export class PrimitiveGen extends ArithGen {
  // ---- other primitives ---------------------------------------------------------------------

  protected primitive(name: string, proto: ProtoQual, args: number[], text: string | undefined): GBlock {
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

  protected assertSs7(kw: string): readonly [number, number, number, number, number, number] {
    if (!this.ss7) return this.error(`'${kw}' supported only on SS7`);
    return this.ss7;
  }

  /** gen_mtp2type_abbrev: signal unit types by the length indicator. */
  protected mtp2Type(name: string): GBlock {
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
  protected mtp3Field(field: string, v: number, jtype: number, reverse: boolean): GBlock {
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

  protected assertAtm(kw: string): void {
    if (this.linktype !== DLT.SUNATM) this.error(`'${kw}' supported only on SUNATM`);
  }

  /** SunATM pseudo-header: VPI at 1, VCI at 2, protocol type at 0. */
  protected atmField(field: string, v: number, jtype: number, reverse: boolean): GBlock {
    this.assertAtm(field);
    if (field === 'vpi') {
      this.assertMaxval('VPI', v, 255);
      return this.ncmp('linkhdr', 1, BPF_B, 0xffffffff, jtype, reverse, v);
    }
    this.assertMaxval('VCI', v, 0xffff);
    return this.ncmp('linkhdr', 2, BPF_H, 0xffffffff, jtype, reverse, v);
  }

  protected atmType(name: string): GBlock {
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
    this.pushLinkhdr(DLT.EN10MB, { isVariable: false, constantPart: 4 + 2, reg: -1 });
    this.offLinktype.constantPart = this.offLinkhdr.constantPart + 12;
    this.offLinkpl.constantPart = this.offLinkhdr.constantPart + 14;
    this.offNl = 0;
    this.offNlNosnap = 3;
    return b1;
  }

  protected atmMulti(name: string): GBlock {
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
  protected pf(name: string, args: number[], text: string | undefined): GBlock {
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

  protected byteop(op: string, idx: number, val: number): GBlock {
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

  protected broadcast(proto: ProtoQual): GBlock {
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

  protected macMulticast(offset: number): GBlock {
    return this.set(1, this.loadA('linkhdr', offset, BPF_B));
  }

  protected multicast(proto: ProtoQual): GBlock {
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

  protected vlan(num: number | undefined, has: boolean): GBlock {
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
  protected tunnel(name: string, vni: number, has: boolean): GBlock {
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

  protected pushLinkhdrEthernetVariable(): number {
    const reg = this.allocReg();
    this.pushLinkhdr(DLT.EN10MB, { isVariable: true, constantPart: 0, reg });
    return reg;
  }

  protected geneveOffsets(): Insn[] {
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

  protected vxlanOffsets(): Insn[] {
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

  protected vlanTpidTest(): GBlock {
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
  protected vlanBpfExtensions(num: number, has: boolean): GBlock {
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

  protected mpls(num: number | undefined, has: boolean): GBlock {
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

  protected pppoes(num: number | undefined, has: boolean): GBlock {
    let b0 = this.linktypeTest(ETHERTYPE.PPPOES);
    if (has) {
      const v = num ?? 0;
      this.assertMaxval('PPPoE session number', v, 0xffff);
      b0 = genAnd(b0, this.cmp('linkpl', 2, BPF_H, v));
    }
    // PUSH_LINKHDR(DLT_PPP, ...): the PPP header follows the 6-byte PPPoE header.
    this.pushLinkhdr(DLT.PPP, { isVariable: this.offLinkpl.isVariable, constantPart: this.offLinkpl.constantPart + this.offNl + 6, reg: this.offLinkpl.reg });
    this.offLinktype = { ...this.offLinkhdr };
    this.offLinkpl.constantPart = this.offLinkhdr.constantPart + 2;
    this.offNl = 0;
    this.offNlNosnap = 0;
    return b0;
  }

  protected inboundOutbound(outbound: boolean): GBlock {
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

  protected ifindex(idx: number): GBlock {
    if (this.linktype === DLT.LINUX_SLL2) return this.cmp('linkhdr', 4, BPF_W, idx);
    if (!this.linuxExt) this.error(`not a live capture, 'ifindex' not supported on ${this.dltString()}`);
    return this.cmp('linkhdr', (SKF_AD_OFF + SKF_AD_IFINDEX) >>> 0, BPF_W, idx);
  }

  protected llcInternal(): GBlock {
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

  protected llc(sub: string | undefined): GBlock {
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
  protected p80211(name: string, args: number[], text: string | undefined): GBlock {
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

}
