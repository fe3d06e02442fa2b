/** Arithmetic expressions, packet loads and relations (scratch-register code). */

import {
  BPF_ADD, BPF_ALU, BPF_B, BPF_DIV, BPF_H, BPF_IMM, BPF_JMP, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC,
  BPF_MOD, BPF_NEG, BPF_RSH, BPF_ST, BPF_TAX, BPF_W, BPF_X, type Insn, stmt,
} from '../../cbpf/index.js';
import type { Arith, ProtoQual } from '../ast.js';
import { DLT } from '../dlt.js';
import { ARITH_CODES, PQ_IPPROTO, RELOP_JUMPS } from './tables.js';
import { genAnd, genNot, type GBlock } from './blocks.js';
import { IP6_HDRLEN, IPPROTO } from './constants.js';
import { AddrGen } from './hosts.js';
import type { ArthVal } from './core.js';

/** Layer 4 of the generator: arithmetic and relations. */
export class ArithGen extends AddrGen {
  // ---- arithmetic --------------------------------------------------------------------------

  protected arith(a: Arith): ArthVal {
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

  protected load(proto: ProtoQual, inst: ArthVal, size: number): ArthVal {
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

  protected relation(op: string, left: Arith, right: Arith): GBlock {
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

}
