/** The trace language's parser: probes, predicates, statements and C-precedence expressions to an AST with source ranges. */

import type { Expr, Loc, MacroDef, Probe, Program, Stmt, TypeSpec } from './ast.js';
import { TraceError } from './errors.js';
import { Lexer } from './lexer.js';
import type { Token } from './lexer.js';

const BINARY_LEVELS: string[][] = [
  ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
];
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
/** Type names a cast or `let $x: T` may use. */
export const TYPE_NAMES = new Set([
  'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string', 'inet', 'buffer',
  'char', 'short', 'int', 'long', 'unsigned', 'void', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64',
]);

function span(a: Loc, b: Loc): Loc {
  return { line: a.line, col: a.col, endLine: b.endLine, endCol: b.endCol };
}

class Parser {
  private readonly lx: Lexer;
  /** Inside a predicate `/.../`, '/' ends the expression unless parenthesised. */
  private predicateDepth = -1;
  private parenDepth = 0;
  private last: Loc = { line: 1, col: 1, endLine: 1, endCol: 1 };

  constructor(src: string) {
    this.lx = new Lexer(src);
  }

  private err(msg: string, loc: Loc): never {
    throw new TraceError('E_TRACE_SYNTAX', msg, loc);
  }

  private next(): Token {
    const t = this.lx.next();
    this.last = t.loc;
    return t;
  }

  private peek(k = 0): Token {
    return this.lx.peek(k);
  }

  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'punct' || t.kind === 'ident') && t.text === text;
  }

  private accept(text: string): boolean {
    if (this.is(text)) {
      this.next();
      return true;
    }
    return false;
  }

  private expect(text: string): Token {
    const t = this.peek();
    if (!this.is(text)) this.unexpected(t, text);
    return this.next();
  }

  private unexpected(t: Token, want?: string): never {
    const what = t.kind === 'eof' ? 'end of file' : t.text;
    this.err(`syntax error, unexpected ${what}${want ? `, expecting ${want}` : ''}`, t.loc);
  }

  program(): Program {
    const prog: Program = { probes: [], macros: [], mapDecls: [], config: [], structs: [], enums: [] };
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'ident' && t.text === 'config' && this.is('=', 1)) {
        this.next();
        this.next();
        this.expect('{');
        while (!this.is('}')) {
          const k = this.next();
          if (k.kind !== 'ident') this.unexpected(k, 'identifier');
          this.expect('=');
          const value = this.expr();
          prog.config.push({ key: k.text, value, loc: span(k.loc, this.last) });
          if (!this.accept(';')) break;
        }
        this.expect('}');
        this.accept(';');
        continue;
      }
      if (t.kind === 'ident' && t.text === 'macro' && this.peek(1).kind === 'ident') {
        prog.macros.push(this.macro());
        continue;
      }
      if (t.kind === 'ident' && t.text === 'let' && this.peek(1).kind === 'map') {
        this.next();
        const m = this.next();
        this.expect('=');
        const ty = this.next();
        this.expect('(');
        const n = this.next();
        this.expect(')');
        this.accept(';');
        prog.mapDecls.push({ name: m.text, type: ty.text, maxEntries: n.value ?? 0n, loc: span(t.loc, this.last) });
        continue;
      }
      if (t.kind === 'ident' && (t.text === 'struct' || t.text === 'union' || t.text === 'enum') && ((this.peek(1).kind === 'ident' && this.is('{', 2)) || (t.text === 'enum' && this.is('{', 1)))) {
        this.skipCDefinition(prog);
        continue;
      }
      if (t.kind === 'ident' && t.text === 'import') {
        this.next();
        this.next();
        this.accept(';');
        continue;
      }
      prog.probes.push(this.probe());
    }
    return prog;
  }

  private skipCDefinition(prog: Program): void {
    const kw = this.next();
    const name = this.is('{') ? { ...this.peek(), text: '' } : this.next();
    const start = this.peek().start;
    let depth = 0;
    do {
      const t = this.next();
      if (t.kind === 'eof') this.err('unterminated struct definition', kw.loc);
      if (t.text === '{' && t.kind === 'punct') depth++;
      if (t.text === '}' && t.kind === 'punct') depth--;
    } while (depth > 0);
    let text = this.lx.src.slice(start, this.lx.pos);
    // `__attribute__((packed))` after the body.
    while (this.is('__attribute__')) {
      this.next();
      let depth = 0;
      do {
        const t = this.next();
        if (t.kind === 'eof') break;
        if (t.text === '(') depth++;
        if (t.text === ')') depth--;
        if (t.text === 'packed') text += ' __packed__';
      } while (depth > 0);
    }
    prog.structs.push({ name: `${kw.text} ${name.text}`, text, loc: span(kw.loc, this.last) });
    if (kw.text === 'enum') {
      let next = 0n;
      for (const part of text.replace(/^\s*\{|\}\s*$/g, '').split(',')) {
        const m = /^\s*([A-Za-z_]\w*)\s*(?:=\s*(-?(?:0x[0-9a-fA-F]+|[0-9]+)))?\s*$/.exec(part);
        if (!m) continue;
        const value = m[2] !== undefined ? BigInt(m[2]) : next;
        prog.enums.push({ name: m[1], value, enumName: name.text });
        next = value + 1n;
      }
    }
    this.accept(';');
  }

  private macro(): MacroDef {
    const kw = this.next();
    const name = this.next();
    this.expect('(');
    const params: MacroDef['params'] = [];
    while (!this.is(')')) {
      const p = this.next();
      if (p.kind !== 'var' && p.kind !== 'map' && p.kind !== 'ident') this.unexpected(p, 'parameter');
      params.push({ name: p.text, isMap: p.kind === 'map' });
      if (!this.accept(',')) break;
    }
    this.expect(')');
    if (!this.is('{')) {
      const value = this.expr();
      return { name: name.text, params, body: [], value, loc: span(kw.loc, this.last) };
    }
    const { stmts, value } = this.blockWithValue();
    return { name: name.text, params, body: stmts, value, loc: span(kw.loc, this.last) };
  }

  /** `{ stmt; ...; [expr] }`: a block whose last expression without ';' is its value. */
  private blockWithValue(): { stmts: Stmt[]; value?: Expr } {
    this.expect('{');
    const stmts: Stmt[] = [];
    let value: Expr | undefined;
    while (!this.is('}')) {
      if (this.peek().kind === 'eof') this.unexpected(this.peek(), '}');
      const s = this.stmt();
      if (this.accept(';')) {
        stmts.push(s);
        continue;
      }
      if (s.kind === 'expr' && this.is('}')) {
        value = s.expr;
        break;
      }
      stmts.push(s);
      if (!isCompound(s) && !this.is('}')) this.unexpected(this.peek(), ';');
    }
    this.expect('}');
    return { stmts, value };
  }

  private probe(): Probe {
    const specs = [];
    const first = this.lx.scanProbe();
    if (!first.text) this.unexpected(this.peek());
    specs.push({ text: first.text, loc: first.loc });
    while (this.accept(',')) {
      const t = this.lx.scanProbe();
      if (!t.text) this.unexpected(this.peek());
      specs.push({ text: t.text, loc: t.loc });
    }
    let predicate: Expr | undefined;
    if (this.is('/')) {
      this.next();
      this.predicateDepth = this.parenDepth;
      predicate = this.expr();
      this.predicateDepth = -1;
      this.expect('/');
    }
    const body = this.block();
    return { probes: specs, predicate, body, loc: span(first.loc, this.last) };
  }

  private block(): Stmt[] {
    const { stmts, value } = this.blockWithValue();
    if (value) stmts.push({ kind: 'expr', expr: value, loc: value.loc });
    return stmts;
  }

  private stmt(): Stmt {
    const t = this.peek();
    if (t.kind === 'ident') {
      switch (t.text) {
        case 'if': return this.ifStmt();
        case 'while': {
          this.next();
          const cond = this.expr();
          const body = this.block();
          return { kind: 'while', cond, body, loc: span(t.loc, this.last) };
        }
        case 'unroll': {
          this.next();
          this.expect('(');
          const count = this.expr();
          this.expect(')');
          const body = this.block();
          return { kind: 'unroll', count, body, loc: span(t.loc, this.last) };
        }
        case 'for': {
          this.next();
          const paren = this.accept('(');
          const v = this.next();
          if (v.kind !== 'var') this.unexpected(v, 'variable');
          this.expect(':');
          const from = this.expr();
          if (this.accept('..')) {
            const to = this.expr();
            if (paren) this.expect(')');
            const body = this.block();
            return { kind: 'forRange', var: v.text, from, to, body, loc: span(t.loc, this.last) };
          }
          if (paren) this.expect(')');
          const body = this.block();
          return { kind: 'forMap', var: v.text, map: from, body, loc: span(t.loc, this.last) };
        }
        case 'return': {
          this.next();
          const value = this.is(';') || this.is('}') ? undefined : this.expr();
          return { kind: 'return', value, loc: span(t.loc, this.last) };
        }
        case 'break': this.next(); return { kind: 'break', loc: t.loc };
        case 'continue': this.next(); return { kind: 'continue', loc: t.loc };
        case 'let': {
          this.next();
          const v = this.next();
          if (v.kind !== 'var') this.unexpected(v, 'variable');
          let type: TypeSpec | undefined;
          if (this.accept(':')) type = this.typeSpec();
          let value: Expr | undefined;
          if (this.accept('=')) value = this.expr();
          return { kind: 'let', name: v.text, type, value, loc: span(t.loc, this.last) };
        }
        default:
      }
    }
    if (this.is('{')) {
      const body = this.block();
      return { kind: 'block', body, loc: span(t.loc, this.last) };
    }
    const e = this.expr();
    const op = this.peek();
    if (op.kind === 'punct' && ASSIGN_OPS.has(op.text)) {
      this.next();
      const value = this.expr();
      if (e.kind !== 'var' && e.kind !== 'map' && e.kind !== 'field' && e.kind !== 'unary' && !(e.kind === 'builtin' && e.name === '_')) this.err('syntax error, invalid assignment target', e.loc);
      return { kind: 'assign', target: e, op: op.text, value, loc: span(e.loc, this.last) };
    }
    return { kind: 'expr', expr: e, loc: e.loc };
  }

  /** `if c { a } else { b }` used as a value. */
  private ifExpr(t: Token): Expr {
    const cond = this.expr();
    const then = this.blockExpr();
    this.expect('else');
    const els = this.is('if') ? this.ifExpr(this.next()) : this.blockExpr();
    return { kind: 'ternary', cond, then, else: els, loc: span(t.loc, this.last) };
  }

  private blockExpr(): Expr {
    const start = this.peek();
    const { stmts, value } = this.blockWithValue();
    const v = value ?? (stmts.length ? ifValue(stmts[stmts.length - 1]) : undefined);
    if (!v) this.err('block expression needs a value', start.loc);
    const rest = value ? stmts : stmts.slice(0, -1);
    return rest.length ? { kind: 'block', stmts: rest, value: v, loc: span(start.loc, this.last) } : v;
  }

  private ifStmt(): Stmt {
    const t = this.next();
    // `if (c) {` or `if c {`: the parentheses are just part of the expression.
    const cond = this.expr();
    const then = this.block();
    let els: Stmt[] | undefined;
    if (this.accept('else')) {
      els = this.is('if') ? [this.ifStmt()] : this.block();
    }
    return { kind: 'if', cond, then, else: els, loc: span(t.loc, this.last) };
  }

  typeSpec(): TypeSpec {
    const t = this.next();
    let name = t.text;
    if (t.kind !== 'ident') this.unexpected(t, 'type');
    if (name === 'typeof' && this.is('(')) return this.typeofSpec(t.loc);
    if (name === 'struct' || name === 'union' || name === 'enum') name = `${name} ${this.next().text}`;
    else if (name === 'unsigned' && this.peek().kind === 'ident' && TYPE_NAMES.has(this.peek().text)) name = `unsigned ${this.next().text}`;
    let pointer = 0;
    while (this.accept('*')) pointer++;
    let array: number | undefined;
    if (this.is('[') && this.peek(1).kind === 'int') {
      this.next();
      array = Number(this.next().value);
      this.expect(']');
    }
    return { name, pointer, array, loc: span(t.loc, this.last) };
  }

  expr(): Expr {
    const cond = this.binary(0);
    if (this.is('?') && this.is(':', 1)) {
      // `a ?: b`: a when it is true, else b.
      this.next();
      this.next();
      const els = this.expr();
      return { kind: 'ternary', cond, then: cond, else: els, loc: span(cond.loc, els.loc) };
    }
    if (this.is('?')) {
      this.next();
      const then = this.expr();
      this.expect(':');
      const els = this.expr();
      return { kind: 'ternary', cond, then, else: els, loc: span(cond.loc, els.loc) };
    }
    return cond;
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || !BINARY_LEVELS[level].includes(t.text)) return left;
      if (t.text === '/' && this.predicateDepth === this.parenDepth) return left;
      this.next();
      const right = this.binary(level + 1);
      left = { kind: 'binary', op: t.text, left, right, loc: span(left.loc, right.loc) };
    }
  }

  /** `typeof(TYPE)` is that type; `typeof(EXPR)` the expression's type, found by the compiler; pointers and `[N]` may follow. */
  private typeofSpec(start: Loc): TypeSpec {
    this.expect('(');
    const inner: TypeSpec = this.isTypeStart() ? this.typeSpec() : { name: 'typeof', pointer: 0, of: this.expr(), loc: start };
    this.expect(')');
    let pointer = inner.pointer;
    while (this.accept('*')) pointer++;
    let array = inner.array;
    if (this.is('[') && this.peek(1).kind === 'int') {
      this.next();
      array = Number(this.next().value);
      this.expect(']');
    }
    return { ...inner, pointer, array, loc: span(start, this.last) };
  }

  /** A type name, a struct/union/enum, or `typeof(` begins here. */
  private isTypeStart(): boolean {
    const t = this.peek();
    return t.kind === 'ident' && (TYPE_NAMES.has(t.text) || ['struct', 'union', 'enum'].includes(t.text) || (t.text === 'typeof' && this.is('(', 1)));
  }

  private isCastAhead(): boolean {
    if (!this.is('(')) return false;
    const t = this.peek(1);
    if (t.kind !== 'ident') return false;
    if (t.text === 'struct' || t.text === 'union' || t.text === 'enum') return true;
    if (t.text === 'typeof' && this.is('(', 2)) return true;
    if (!TYPE_NAMES.has(t.text)) return false;
    const after = this.peek(2);
    return after.kind === 'punct' && (after.text === ')' || after.text === '*' || after.text === '[') || after.kind === 'ident';
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'punct') {
      if (['!', '~', '-', '*', '&', '+'].includes(t.text)) {
        this.next();
        const operand = this.unary();
        if (t.text === '-' && operand.kind === 'int') return { kind: 'int', value: -operand.value, loc: span(t.loc, operand.loc) };
        if (t.text === '+') return operand;
        return { kind: 'unary', op: t.text, operand, loc: span(t.loc, operand.loc) };
      }
      if (t.text === '++' || t.text === '--') {
        this.next();
        const target = this.unary();
        return { kind: 'incdec', op: t.text, prefix: true, target, loc: span(t.loc, target.loc) };
      }
      if (this.isCastAhead()) {
        this.next();
        const type = this.typeSpec();
        this.expect(')');
        const operand = this.unary();
        return { kind: 'cast', type, operand, loc: span(t.loc, operand.loc) };
      }
    }
    return this.postfix(this.primary());
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return e;
      if (t.text === '.' || t.text === '->') {
        this.next();
        const f = this.next();
        if (f.kind !== 'ident' && f.kind !== 'int') this.unexpected(f, 'field name');
        e = { kind: 'field', base: e, field: f.text, arrow: t.text === '->', loc: span(e.loc, f.loc) };
        continue;
      }
      if (t.text === '[') {
        this.next();
        this.parenDepth++;
        const index = this.expr();
        this.parenDepth--;
        this.expect(']');
        e = { kind: 'index', base: e, index, loc: span(e.loc, this.last) };
        continue;
      }
      if (t.text === '++' || t.text === '--') {
        this.next();
        e = { kind: 'incdec', op: t.text, prefix: false, target: e, loc: span(e.loc, t.loc) };
        continue;
      }
      return e;
    }
  }

  private args(): Expr[] {
    this.expect('(');
    this.parenDepth++;
    const args: Expr[] = [];
    // A comma needs an argument after it, as in bpftrace (`f(a, )` is a syntax error).
    if (!this.is(')')) do args.push(this.expr()); while (this.accept(','));
    this.parenDepth--;
    this.expect(')');
    return args;
  }

  private primary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'int': return { kind: 'int', value: t.value!, loc: t.loc };
      case 'str': {
        let value = t.text;
        let loc = t.loc;
        // Adjacent literals concatenate, as in C.
        while (this.peek().kind === 'str') {
          const n = this.next();
          value += n.text;
          loc = span(loc, n.loc);
        }
        return { kind: 'str', value, loc };
      }
      case 'var': return { kind: 'var', name: t.text, loc: t.loc };
      case 'positional': return t.text === '$#' ? { kind: 'positionalCount', loc: t.loc } : { kind: 'positional', index: Number(t.text.slice(1)), loc: t.loc };
      case 'map': {
        if (this.is('[')) {
          this.next();
          this.parenDepth++;
          const keys: Expr[] = [];
          // `@x[]` has no key: a syntax error in bpftrace too.
          if (this.is(']')) this.unexpected(this.peek());
          do keys.push(this.expr()); while (this.accept(','));
          this.parenDepth--;
          this.expect(']');
          return { kind: 'map', name: t.text, keys, loc: span(t.loc, this.last) };
        }
        return { kind: 'map', name: t.text, keys: undefined, loc: t.loc };
      }
      case 'ident': {
        if (t.text === 'true' || t.text === 'false') return { kind: 'bool', value: t.text === 'true', loc: t.loc };
        if (t.text === 'if') return this.ifExpr(t);
        if (t.text === 'sizeof' && this.is('(')) {
          this.next();
          const isType = this.isTypeStart();
          const out: Expr = isType ? { kind: 'sizeof', type: this.typeSpec(), loc: t.loc } : { kind: 'sizeof', expr: this.expr(), loc: t.loc };
          this.expect(')');
          out.loc = span(t.loc, this.last);
          return out;
        }
        if (t.text === 'typeof' && this.is('(')) return { kind: 'typeof', type: this.typeofSpec(t.loc), loc: span(t.loc, this.last) };
        if (t.text === 'offsetof' && this.is('(')) {
          this.next();
          const type = this.typeSpec();
          this.expect(',');
          const fields = [this.next().text];
          while (this.accept('.')) fields.push(this.next().text);
          this.expect(')');
          return { kind: 'offsetof', type, fields, loc: span(t.loc, this.last) };
        }
        if (this.is('(')) {
          const args = this.args();
          return { kind: 'call', name: t.text, args, loc: span(t.loc, this.last) };
        }
        return { kind: 'builtin', name: t.text, loc: t.loc };
      }
      case 'punct': {
        if (t.text === '(') {
          this.parenDepth++;
          // A record: `(name = value, ...)`.
          if (this.peek().kind === 'ident' && this.is('=', 1)) {
            const fields: { name: string; value: Expr }[] = [];
            while (!this.is(')')) {
              const n = this.next();
              this.expect('=');
              fields.push({ name: n.text, value: this.expr() });
              if (!this.accept(',')) break;
            }
            this.parenDepth--;
            this.expect(')');
            return { kind: 'record', fields, loc: span(t.loc, this.last) };
          }
          const first = this.expr();
          if (this.is(',')) {
            const elems = [first];
            while (this.accept(',')) {
              if (this.is(')')) break;
              elems.push(this.expr());
            }
            this.parenDepth--;
            this.expect(')');
            return { kind: 'tuple', elems, loc: span(t.loc, this.last) };
          }
          this.parenDepth--;
          this.expect(')');
          return first;
        }
        if (t.text === '{') {
          this.lx.rewindTo(t);
          const { stmts, value } = this.blockWithValue();
          if (!value) this.err('block expression needs a value', t.loc);
          return { kind: 'block', stmts, value, loc: span(t.loc, this.last) };
        }
        return this.unexpected(t);
      }
      default:
        return this.unexpected(t);
    }
  }
}

/** An `if … else …` statement whose branches end in expressions, as the value it yields. */
function ifValue(s: Stmt): Expr | undefined {
  if (s.kind !== 'if' || !s.else) return undefined;
  const branch = (list: Stmt[]): Expr | undefined => {
    const last = list[list.length - 1];
    if (!last) return undefined;
    const v = last.kind === 'expr' ? last.expr : ifValue(last);
    if (!v) return undefined;
    const rest = list.slice(0, -1);
    return rest.length ? { kind: 'block', stmts: rest, value: v, loc: v.loc } : v;
  };
  const then = branch(s.then);
  const els = branch(s.else);
  return then && els ? { kind: 'ternary', cond: s.cond, then, else: els, loc: s.loc } : undefined;
}

function isCompound(s: Stmt): boolean {
  return s.kind === 'if' || s.kind === 'while' || s.kind === 'forMap' || s.kind === 'forRange' || s.kind === 'unroll' || s.kind === 'block';
}

/** Parses a trace program. Throws a {@link TraceError} with the position of the first syntax error. */
export function parseProgram(src: string): Program {
  return new Parser(src).program();
}
