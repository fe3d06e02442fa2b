/** Link-layer type tests (gen_linktype and friends) for every supported DLT. */

import { BPF_B, BPF_H, BPF_JEQ, BPF_JMP, BPF_LD, BPF_LDX, BPF_MEM, BPF_W, BPF_X, stmt } from '../../cbpf/index.js';
import { DLT, dltName } from '../dlt.js';
import { ETHER_LIKE, JUNIPER_OFFSETS, WLAN_DLTS } from './tables.js';
import { genAnd, genNot, genOr, type GBlock } from './blocks.js';
import {
  ETHERMTU, ETHERTYPE, ISO, LINUX_SLL_P_802_2, LINUX_SLL_P_802_3, LLCSAP, OFFSET_NOT_SET, PPP,
} from './constants.js';
import { GencodeCore } from './core.js';
import type { OffRel } from './core.js';

/** Layer 2 of the generator: tests of the link-layer payload type. */
export class LinkGen extends GencodeCore {
  // ---- link-layer type tests -----------------------------------------------------------

  protected snap(orgcode: number, ptype: number): GBlock {
    const v = Uint8Array.of(LLCSAP.SNAP, LLCSAP.SNAP, 0x03, orgcode >> 16, (orgcode >> 8) & 0xff, orgcode & 0xff, ptype >> 8, ptype & 0xff);
    return this.bcmp('llc', 0, v);
  }

  protected etherLinktype(llProto: number): GBlock {
    if (llProto === LLCSAP.IPX) {
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
    // A length (<= ETHERMTU) in the type field means an 802.3 frame carrying LLC.
    return this.llcOrEthertype(llProto, () => this.cmpLe('linktype', 0, BPF_H, ETHERMTU), () => this.cmp('linktype', 2, BPF_B, llProto));
  }

  protected linuxSllLinktype(llProto: number): GBlock {
    if (llProto === LLCSAP.IPX) {
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
    return this.llcOrEthertype(
      llProto,
      () => this.cmp('linktype', 0, BPF_H, LINUX_SLL_P_802_2),
      () => this.cmp('linkhdr', this.offLinkpl.constantPart, BPF_B, llProto),
    );
  }

  /**
   * What gen_ether_linktype and gen_linux_sll_linktype share (all but IPX): a frame carries 802.2
   * LLC when `isLlc` holds; an `llProto` up to ETHERMTU is then a DSAP that `dsapIs` tests, and a
   * larger one an EtherType in the type field. The blocks are made in libpcap's order.
   */
  private llcOrEthertype(llProto: number, isLlc: () => GBlock, dsapIs: () => GBlock): GBlock {
    switch (llProto) {
      case LLCSAP.ISONS: case LLCSAP.IP: case LLCSAP.NETBEUI: {
        const b0 = isLlc();
        const b1 = this.cmp('llc', 0, BPF_H, (llProto << 8) | llProto);
        return genAnd(b0, b1);
      }
      case ETHERTYPE.ATALK: case ETHERTYPE.AARP: {
        let b0 = isLlc();
        let b1 = llProto === ETHERTYPE.ATALK ? this.snap(0x080007, ETHERTYPE.ATALK) : this.snap(0, ETHERTYPE.AARP);
        b1 = genAnd(b0, b1);
        b0 = this.cmp('linktype', 0, BPF_H, llProto);
        return genOr(b0, b1);
      }
      default:
        if (llProto <= ETHERMTU) {
          this.assertMaxval('LLC DSAP', llProto, 255);
          const b0 = isLlc();
          const b1 = dsapIs();
          return genAnd(b0, b1);
        }
        this.assertMaxval('EtherType', llProto, 0xffff);
        return this.cmp('linktype', 0, BPF_H, llProto);
    }
  }

  protected llcLinktype(llProto: number): GBlock {
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

  protected ipVersion(offrel: OffRel, ver: number): GBlock {
    return this.mcmp(offrel, 0, BPF_B, ver << 4, 0xf0);
  }

  protected bsdAfOffline(offset: number, size: number, llProto: number, swapped: boolean): GBlock {
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

  protected pppType(llProto: number): number {
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

  protected linktypeTest(llProto: number): GBlock {
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
  protected prevlinkhdrCheck(): GBlock | null {
    if (this.isEncap) {
      // gen_encap_ll_check: inside VXLAN/Geneve, an Ethernet header exists only if the payload starts after it.
      const b0 = this.newBlock(BPF_JMP | BPF_JEQ | BPF_X, 0, [stmt(BPF_LD | BPF_MEM, this.offLinkhdr.reg), stmt(BPF_LDX | BPF_MEM, this.offLinkpl.reg)]);
      return genNot(b0);
    }
    if (this.prevlinktype === DLT.SUNATM) return this.cmpNe('prevlinkhdr', 4, BPF_H, 0xff00);
    return null;
  }

  protected justAfterMplsStack(): GBlock {
    return this.set(0x01, this.loadA('prevmplshdr', 2, BPF_B));
  }
  protected mplsLinktype(llProto: number): GBlock {
    if (llProto === ETHERTYPE.IP || llProto === ETHERTYPE.IPV6) {
      const b0 = this.justAfterMplsStack();
      const b1 = this.ipVersion('linkpl', llProto === ETHERTYPE.IP ? 4 : 6);
      return genAnd(b0, b1);
    }
    return this.error('unsupported protocol over mpls');
  }

  protected atmPrototype(v: number): GBlock {
    return this.mcmp('linkhdr', 0, BPF_B, v, 0x0f);
  }

}
