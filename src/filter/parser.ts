/** The pcap-filter parser: tokens to a syntax tree, following grammar.y (implied qualifiers, `%`/`^` binding, and/or of equal precedence). */

import { ParseError } from '../util/index.js';
import type { Arith, ArithOp, DirQual, Expr, FilterAst, IdValue, ProtoQual, Qual, RelOp } from './ast.js';
import { tokenize, type Token } from './lexer.js';

const PROTO_KEYWORDS: ReadonlySet<string> = new Set([
  'link', 'ip', 'arp', 'rarp', 'sctp', 'tcp', 'udp', 'icmp', 'igmp', 'igrp', 'pim', 'vrrp', 'carp', 'radio', 'ip6',
  'icmp6', 'ah', 'esp', 'atalk', 'aarp', 'decnet', 'lat', 'sca', 'moprc', 'mopdl', 'iso', 'esis', 'isis', 'l1', 'l2',
  'iih', 'lsp', 'snp', 'csnp', 'psnp', 'clnp', 'stp', 'ipx', 'netbeui',
]);
const SIMPLE_DIRS: ReadonlySet<string> = new Set(['addr1', 'addr2', 'addr3', 'addr4', 'ra', 'ta']);
const ADDR_KEYWORDS: ReadonlySet<string> = new Set(['host', 'net', 'port', 'portrange']);
/** Binary operator precedence from grammar.y's %left lines; `%` and `^` have none (yacc then always shifts). */
const ARITH_PREC: ReadonlyMap<string, number> = new Map([
  ['|', 1], ['&', 2], ['<<', 3], ['>>', 3], ['+', 4], ['-', 4], ['*', 5], ['/', 5],
]);
const UMINUS_PREC = 6;
const RELOPS: ReadonlySet<string> = new Set(['>', '>=', '=', '<=', '<', '!=']);
/** Keywords of `other:` productions that stand alone. */
const PLAIN_PRIMITIVES: ReadonlySet<string> = new Set(['inbound', 'outbound', 'pppoed', 'lane', 'metac', 'bcc', 'oamf4ec', 'oamf4sc', 'sc', 'ilmic', 'oam', 'oamf4', 'connectmsg', 'metaconnect', 'fisu', 'lssu', 'msu', 'hfisu', 'hlssu', 'hmsu']);
/** Keywords optionally followed by a number. */
const NUM_OPTIONAL: ReadonlySet<string> = new Set(['vlan', 'mpls', 'pppoes', 'geneve', 'vxlan']);

const QERR: Qual = { proto: 'undef', dir: 'undef', addr: 'undef' };

/** Thrown internally to backtrack; carries the furthest column reached. */
class Backtrack extends Error {
  constructor(readonly col: number, readonly reason: string) {
    super(reason);
  }
}

interface Typed {
  expr: Expr;
  q: Qual;
}

class Parser {
  private pos = 0;
  private furthest = 0;
  private furthestReason = 'syntax error';

  constructor(private readonly toks: Token[]) {}

  private peek(off = 0): Token {
    return this.toks[Math.min(this.pos + off, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private isKw(t: Token, ...kws: string[]): boolean {
    return t.kind === 'kw' && kws.includes(t.value);
  }
  private isPunct(t: Token, ...ps: string[]): boolean {
    return t.kind === 'punct' && ps.includes(t.value);
  }
  private fail(reason = 'syntax error', t: Token = this.peek()): never {
    if (t.col >= this.furthest) {
      this.furthest = t.col;
      this.furthestReason = reason;
    }
    throw new Backtrack(t.col, reason);
  }
  private expectPunct(p: string): Token {
    const t = this.peek();
    if (!this.isPunct(t, p)) this.fail();
    return this.next();
  }
  /** Tries `f`; on failure restores the position and returns undefined. */
  private attempt<T>(f: () => T): T | undefined {
    const save = this.pos;
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Backtrack)) throw e;
      this.pos = save;
      return undefined;
    }
  }

  parseProgram(): FilterAst {
    try {
      if (this.peek().kind === 'eof') return { expr: undefined };
      const r = this.parseExpr(QERR);
      if (this.peek().kind !== 'eof') this.fail();
      return { expr: r.expr };
    } catch (e) {
      if (e instanceof Backtrack) {
        throw new ParseError('E_FILTER_SYNTAX', `can't parse filter expression: ${this.furthestReason}`, {
          position: { column: this.furthest },
        });
      }
      throw e;
    }
  }

  /** expr: term | expr and term | expr and id | expr or term | expr or id. */
  private parseExpr(inherited: Qual): Typed {
    let left = this.parseTerm(inherited);
    for (;;) {
      const t = this.peek();
      if (!this.isKw(t, 'and', 'or')) return left;
      this.next();
      const q = left.q;
      const term = this.attempt(() => this.parseTerm(q));
      let right: Typed;
      if (term) right = term;
      else right = { expr: this.parseId(q), q };
      left = { expr: { kind: t.value as 'and' | 'or', left: left.expr, right: right.expr, col: t.col }, q: right.q };
    }
  }

  /** term: rterm | not term. */
  private parseTerm(inherited: Qual): Typed {
    const t = this.peek();
    if (this.isPunct(t, '!')) {
      this.next();
      const inner = this.parseTerm(inherited);
      return { expr: { kind: 'not', operand: inner.expr, col: t.col }, q: inner.q };
    }
    return this.parseRterm(inherited);
  }

  private parseRterm(inherited: Qual): Typed {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      const grouped = this.attempt(() => {
        this.next();
        const inner = this.parseExpr(inherited);
        this.expectPunct(')');
        return { expr: inner.expr, q: inherited };
      });
      if (grouped) return grouped;
      return { expr: this.parseRelation(), q: QERR };
    }
    if (t.kind === 'kw') {
      const kw = t.value;
      if (PROTO_KEYWORDS.has(kw)) {
        const n = this.peek(1);
        if (this.startsHeadAfterProto(n)) return this.parseHeadId();
        if (this.isKw(n, 'broadcast', 'multicast')) {
          this.next();
          this.next();
          return { expr: { kind: 'primitive', name: n.value, proto: kw as ProtoQual, args: [], col: t.col }, q: QERR };
        }
        if (this.isKw(n, 'type', 'subtype', 'dir')) {
          this.next();
          return { expr: this.parseP80211(kw as ProtoQual, t.col), q: QERR };
        }
        if (this.isPunct(n, '[')) return { expr: this.parseRelation(), q: QERR };
        this.next();
        return { expr: { kind: 'abbrev', proto: kw as ProtoQual, col: t.col }, q: QERR };
      }
      if (this.startsHeadAfterProto(t)) return this.parseHeadId();
      if (kw === 'broadcast' || kw === 'multicast') {
        this.next();
        return { expr: { kind: 'primitive', name: kw, proto: 'default', args: [], col: t.col }, q: QERR };
      }
      if (kw === 'type' || kw === 'subtype' || kw === 'dir') return { expr: this.parseP80211('default', t.col), q: QERR };
      if (kw === 'len') return { expr: this.parseRelation(), q: QERR };
      return { expr: this.parseOther(), q: QERR };
    }
    return { expr: this.parseRelation(), q: QERR };
  }

  /** True when `t` starts a dqual, aqual, PROTO, PROTOCHAIN or GATEWAY. */
  private startsHeadAfterProto(t: Token): boolean {
    return t.kind === 'kw' && (t.value === 'src' || t.value === 'dst' || SIMPLE_DIRS.has(t.value) || ADDR_KEYWORDS.has(t.value) || t.value === 'proto' || t.value === 'protochain' || t.value === 'gateway');
  }

  /** rterm: head id, where head is pqual [dqual] [aqual] | pqual proto | pqual protochain | pqual gateway. */
  private parseHeadId(): Typed {
    let proto: ProtoQual = 'default';
    let dir: DirQual = 'default';
    let addr: Qual['addr'] = 'default';
    let t = this.peek();
    if (t.kind === 'kw' && PROTO_KEYWORDS.has(t.value)) {
      proto = t.value as ProtoQual;
      this.next();
      t = this.peek();
    }
    if (this.isKw(t, 'proto', 'protochain', 'gateway')) {
      addr = t.value as Qual['addr'];
      this.next();
    } else {
      let sawDir = false;
      if (this.isKw(t, 'src', 'dst')) {
        sawDir = true;
        this.next();
        const a = this.peek();
        const b = this.peek(1);
        if (this.isKw(a, 'and', 'or') && this.isKw(b, t.value === 'src' ? 'dst' : 'src')) {
          this.next();
          this.next();
          dir = a.value === 'or' ? 'src or dst' : 'src and dst';
        } else dir = t.value as DirQual;
      } else if (t.kind === 'kw' && SIMPLE_DIRS.has(t.value)) {
        sawDir = true;
        this.next();
        dir = t.value as DirQual;
      }
      const a = this.peek();
      if (a.kind === 'kw' && ADDR_KEYWORDS.has(a.value)) {
        this.next();
        addr = a.value as Qual['addr'];
      } else if (!sawDir) this.fail();
    }
    const q: Qual = { proto, dir, addr };
    return { expr: this.parseId(q), q };
  }

  /** id: nid | pnum | paren pid ')'; nid includes `not id`. */
  private parseId(q: Qual): Expr {
    const t = this.peek();
    if (this.isPunct(t, '!')) {
      this.next();
      return { kind: 'not', operand: this.parseId(q), col: t.col };
    }
    if (this.isPunct(t, '(')) {
      const pn = this.attempt(() => this.parsePnum());
      if (pn) return { kind: 'id', qual: q, value: { kind: 'num', value: pn.num }, col: pn.col };
      this.next();
      let left = this.parseId(q);
      for (;;) {
        const op = this.peek();
        if (!this.isKw(op, 'and', 'or')) break;
        this.next();
        const right = this.parseId(q);
        left = { kind: op.value as 'and' | 'or', left, right, col: op.col };
      }
      this.expectPunct(')');
      return left;
    }
    return { kind: 'id', qual: q, value: this.parseIdValue(q), col: t.col };
  }

  private parsePnum(): Token {
    const t = this.peek();
    if (t.kind === 'num') return this.next();
    if (this.isPunct(t, '(')) {
      this.next();
      const n = this.parsePnum();
      this.expectPunct(')');
      return n;
    }
    return this.fail();
  }

  private parseIdValue(q: Qual): IdValue {
    const t = this.peek();
    switch (t.kind) {
      case 'num':
        this.next();
        return { kind: 'num', value: t.num };
      case 'id':
        this.next();
        return { kind: 'name', text: t.value };
      case 'eid':
        this.next();
        return { kind: 'mac', text: t.text };
      case 'aid':
        this.next();
        return { kind: 'arcnet', text: t.text.slice(1) };
      case 'hid': {
        this.next();
        const len = this.parsePrefixLen();
        if (len !== undefined) {
          this.checkAddrQual(q, 'IPv4 address and prefix length', t);
          return { kind: 'ipv4-len', text: t.text, len };
        }
        if (this.isKw(this.peek(), 'mask')) {
          this.next();
          const m = this.peek();
          if (m.kind !== 'hid') this.fail();
          this.next();
          this.checkAddrQual(q, 'IPv4 address and netmask', t);
          return { kind: 'ipv4-mask', text: t.text, mask: m.text };
        }
        this.checkAddrQual(q, 'IPv4 address', t);
        return { kind: 'ipv4', text: t.text };
      }
      case 'hid6': {
        this.next();
        const len = this.parsePrefixLen();
        if (len !== undefined) {
          this.checkAddrQual(q, 'IPv6 address and prefix length', t);
          return { kind: 'ipv6', text: t.text, len };
        }
        this.checkAddrQual(q, 'IPv6 address', t);
        return { kind: 'ipv6', text: t.text, len: 128 };
      }
      default:
        return this.fail();
    }
  }

  /** The `/ len` that may follow an address: the prefix length, or undefined when no `/` follows. */
  private parsePrefixLen(): number | undefined {
    if (!this.isPunct(this.peek(), '/')) return undefined;
    this.next();
    const len = this.peek();
    if (len.kind !== 'num') this.fail();
    this.next();
    return len.num;
  }

  /** grammar.y rejects port/portrange/proto/protochain applied to an address while parsing. */
  private checkAddrQual(q: Qual, what: string, t: Token): void {
    if (q.addr === 'port' || q.addr === 'portrange' || q.addr === 'proto' || q.addr === 'protochain') {
      throw new ParseError('E_FILTER_QUALIFIER', `'${q.addr}' qualifier applied to ${what}`, { position: { column: t.col } });
    }
  }

  /** p80211: type T [subtype S] | subtype TS | dir D. */
  private parseP80211(proto: ProtoQual, col: number): Expr {
    const kw = this.next().value;
    const arg = this.next();
    if (arg.kind !== 'num' && arg.kind !== 'id') this.fail('syntax error', arg);
    const text = arg.kind === 'id' ? arg.value : undefined;
    const args = arg.kind === 'num' ? [arg.num] : [];
    if (kw === 'type' && this.isKw(this.peek(), 'subtype')) {
      this.next();
      const sub = this.next();
      if (sub.kind !== 'num' && sub.kind !== 'id') this.fail('syntax error', sub);
      return {
        kind: 'primitive', name: 'type-subtype', proto, args: [arg.kind === 'num' ? arg.num : -1, sub.kind === 'num' ? sub.num : -1],
        text: `${text ?? ''}\u0000${sub.kind === 'id' ? sub.value : ''}`, col,
      };
    }
    return { kind: 'primitive', name: kw, proto, args, text, col };
  }

  /** The `other:` productions and ATM/MTP/PF keywords. */
  private parseOther(): Expr {
    const t = this.next();
    const kw = t.value;
    const col = t.col;
    if (PLAIN_PRIMITIVES.has(kw)) return { kind: 'primitive', name: kw, proto: 'default', args: [], col };
    if (kw === 'less' || kw === 'greater' || kw === 'ifindex' || kw === 'rnr' || kw === 'srnr') {
      const n = this.next();
      if (n.kind !== 'num') this.fail('syntax error', n);
      return { kind: 'primitive', name: kw, proto: 'default', args: [n.num], col };
    }
    if (kw === 'byte') {
      const idx = this.next();
      if (idx.kind !== 'num') this.fail('syntax error', idx);
      const op = this.next();
      if (!this.isPunct(op, '&', '|', '<', '>', '=')) this.fail('syntax error', op);
      const v = this.next();
      if (v.kind !== 'num') this.fail('syntax error', v);
      return { kind: 'primitive', name: 'byte', proto: 'default', args: [idx.num, op.value.charCodeAt(0), v.num], col };
    }
    if (NUM_OPTIONAL.has(kw)) {
      const pn = this.attempt(() => this.parsePnum());
      return { kind: 'primitive', name: kw, proto: 'default', args: pn ? [pn.num] : [], col };
    }
    if (kw === 'llc') {
      const n = this.peek();
      if (n.kind === 'id') {
        this.next();
        return { kind: 'primitive', name: 'llc', proto: 'default', args: [], text: n.value, col };
      }
      if (this.isKw(n, 'rnr')) {
        this.next();
        return { kind: 'primitive', name: 'llc', proto: 'default', args: [], text: 'rnr', col };
      }
      return { kind: 'primitive', name: 'llc', proto: 'default', args: [], col };
    }
    if (kw === 'ifname' || kw === 'rset' || kw === 'reason' || kw === 'action') {
      const n = this.next();
      if (n.kind !== 'id' && !(kw === 'reason' && n.kind === 'num')) this.fail('syntax error', n);
      return { kind: 'primitive', name: kw, proto: 'default', args: n.kind === 'num' ? [n.num] : [], text: n.kind === 'id' ? n.value : undefined, col };
    }
    if (kw === 'vpi' || kw === 'vci' || ['sio', 'opc', 'dpc', 'sls', 'hsio', 'hopc', 'hdpc', 'hsls'].includes(kw)) {
      return this.parseFieldValue(kw);
    }
    return this.fail('syntax error', t);
  }

  /** atmvalue / mtp3value: NUM | relop NUM | irelop NUM | ( NUM or NUM ... ). */
  private parseFieldValue(field: string): Expr {
    const t = this.peek();
    const mk = (op: RelOp, v: number, c: number): Expr => ({ kind: 'primitive', name: 'field', proto: 'default', args: [RELOP_CODES.indexOf(op), v], text: field, col: c });
    if (t.kind === 'num') {
      this.next();
      return mk('=', t.num, t.col);
    }
    if (t.kind === 'punct' && RELOPS.has(t.value)) {
      this.next();
      const n = this.next();
      if (n.kind !== 'num') this.fail('syntax error', n);
      return mk(t.value as RelOp, n.num, t.col);
    }
    if (this.isPunct(t, '(')) {
      this.next();
      const first = this.next();
      if (first.kind !== 'num') this.fail('syntax error', first);
      let e = mk('=', first.num, first.col);
      while (this.isKw(this.peek(), 'or')) {
        const op = this.next();
        const n = this.next();
        if (n.kind !== 'num') this.fail('syntax error', n);
        e = { kind: 'or', left: e, right: mk('=', n.num, n.col), col: op.col };
      }
      this.expectPunct(')');
      return e;
    }
    return this.fail();
  }

  /** arth relop arth | arth irelop arth. */
  private parseRelation(): Expr {
    const left = this.parseArith(0);
    const op = this.peek();
    if (!(op.kind === 'punct' && RELOPS.has(op.value))) this.fail();
    this.next();
    const right = this.parseArith(0);
    return { kind: 'relation', op: op.value as RelOp, left, right, col: op.col };
  }

  private parseArith(minPrec: number): Arith {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return left;
      if (t.value === '%' || t.value === '^') {
        // No precedence: yacc shifts, so the right operand is everything that follows.
        this.next();
        const right = this.parseArith(0);
        left = { kind: 'binary', op: t.value, left, right, col: t.col };
        continue;
      }
      const p = ARITH_PREC.get(t.value);
      if (p === undefined || p <= minPrec) return left;
      this.next();
      const right = this.parseArith(p);
      left = { kind: 'binary', op: t.value as ArithOp, left, right, col: t.col };
    }
  }

  private parseUnary(): Arith {
    const t = this.peek();
    if (this.isPunct(t, '-')) {
      this.next();
      return { kind: 'neg', operand: this.parseArith(UMINUS_PREC), col: t.col };
    }
    if (t.kind === 'num') {
      this.next();
      return { kind: 'num', value: t.num, col: t.col };
    }
    if (this.isKw(t, 'len')) {
      this.next();
      return { kind: 'len', col: t.col };
    }
    if (this.isPunct(t, '(')) {
      this.next();
      const inner = this.parseArith(0);
      this.expectPunct(')');
      return inner;
    }
    if (t.kind === 'kw' && PROTO_KEYWORDS.has(t.value) && this.isPunct(this.peek(1), '[')) {
      this.next();
      this.next();
      const index = this.parseArith(0);
      let size = 1;
      if (this.isPunct(this.peek(), ':')) {
        this.next();
        const n = this.next();
        if (n.kind !== 'num') this.fail('syntax error', n);
        size = n.num;
      }
      this.expectPunct(']');
      return { kind: 'load', proto: t.value as ProtoQual, index, size, col: t.col };
    }
    return this.fail();
  }
}

/** Relation operators in the order gencode's field primitives index them. */
export const RELOP_CODES: readonly RelOp[] = ['=', '>', '>=', '<', '<=', '!='];

/**
 * Parses a pcap-filter expression into a syntax tree.
 * @throws ParseError with code `E_FILTER_SYNTAX` and the column of the offending token.
 */
export function parseFilter(expr: string): FilterAst {
  try {
    return new Parser(tokenize(expr)).parseProgram();
  } catch (e) {
    if (e instanceof RangeError) throw new ParseError('E_FILTER_TOO_COMPLEX', 'expression too complex (nested too deeply)', { cause: e });
    throw e;
  }
}
