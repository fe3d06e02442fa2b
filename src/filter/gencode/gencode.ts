/** Code generation: walks the filter syntax tree and builds libpcap-identical blocks (mirrors gencode.c), then a Cfg. */

import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_B, BPF_IMM, BPF_IND, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX,
  BPF_LSH, BPF_MEM, BPF_MISC, BPF_OR, BPF_RET, BPF_ST, BPF_TAX, BPF_TXA, BPF_W, BPF_X, type Insn, stmt,
} from '../../cbpf/index.js';
import type { Expr, FilterAst } from '../ast.js';
import type { Cfg } from '../cfg.js';
import { DLT } from '../dlt.js';
import { WLAN_DLTS } from './tables.js';
import { backpatch, genAnd, genNot, genOr, toCfg, type GBlock } from './blocks.js';
import { PrimitiveGen } from './primitives.js';
import type { GenerateOptions } from './core.js';

export type { GenerateOptions } from './core.js';

/** The generator for one compile: mutable offsets and registers, exactly the state gencode.c keeps. */
export class Gencode extends PrimitiveGen {
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

  /**
   * insert_compute_vloffsets: statements at the start of the root block that compute the
   * lengths of variable-length link headers into their scratch registers.
   */
  protected insertComputeVloffsets(b: GBlock): void {
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
  protected load80211HeaderLen(s: Insn[] | null, snext: Insn | null, jumps: [Insn, Insn | null, Insn | null][]): Insn[] | null {
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

