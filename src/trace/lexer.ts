/** The trace language's scanner: tokens with source ranges, `#define` substitution, and raw probe-spec scanning. */

import type { Loc } from './ast.js';
import { TraceError } from './errors.js';

export type TokKind = 'ident' | 'int' | 'str' | 'var' | 'positional' | 'map' | 'punct' | 'eof';

export interface Token {
  kind: TokKind;
  text: string;
  /** For ints: the value; for strings: the decoded text in `text`. */
  value?: bigint;
  loc: Loc;
  /** Offset of the token's first character (for raw re-scanning). */
  start: number;
}

const PUNCTS = [
  '<<=', '>>=', '...', '->', '++', '--', '==', '!=', '<=', '>=', '&&', '||', '<<', '>>', '+=', '-=', '*=', '/=', '%=',
  '&=', '|=', '^=', '..', '{', '}', '(', ')', '[', ']', ';', ',', ':', '?', '+', '-', '*', '/', '%', '&', '|', '^', '!',
  '~', '<', '>', '=', '.', '#',
];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };

/** Time and size suffixes bpftrace accepts on integer literals (`1ms`, `5s`...), as multipliers. */
const INT_SUFFIXES: Record<string, bigint> = { ns: 1n, us: 1000n, ms: 1000000n, s: 1000000000n, m: 60000000000n, h: 3600000000000n, d: 86400000000000n };

export class Lexer {
  readonly src: string;
  pos = 0;
  private line = 1;
  private lineStart = 0;
  private readonly defines = new Map<string, string>();
  private pending: Token[] = [];

  constructor(src: string) {
    this.src = src;
  }

  here(): { line: number; col: number } {
    return { line: this.line, col: this.pos - this.lineStart + 1 };
  }

  locFrom(start: { line: number; col: number }): Loc {
    const h = this.here();
    return { line: start.line, col: start.col, endLine: h.line, endCol: h.col };
  }

  private advance(n = 1): void {
    for (let i = 0; i < n; i++) {
      if (this.src[this.pos] === '\n') {
        this.line++;
        this.lineStart = this.pos + 1;
      }
      this.pos++;
    }
  }

  /** Skips spaces, comments and preprocessor lines (`#define` is recorded, `#include` ignored). */
  skipTrivia(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) return;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { this.advance(); continue; }
      if (c === '/' && this.src[this.pos + 1] === '/') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.advance();
        continue;
      }
      if (c === '/' && this.src[this.pos + 1] === '*') {
        const end = this.src.indexOf('*/', this.pos + 2);
        if (end < 0) throw new TraceError('E_TRACE_SYNTAX', 'unterminated comment', this.locFrom(this.here()));
        this.advance(end + 2 - this.pos);
        continue;
      }
      if (c === '#' && this.pos === this.lineStartOfPos()) {
        let end = this.src.indexOf('\n', this.pos);
        if (end < 0) end = this.src.length;
        const text = this.src.slice(this.pos, end);
        const m = /^#\s*define\s+([A-Za-z_]\w*)\s*(.*)$/.exec(text);
        if (m) this.defines.set(m[1], m[2].trim());
        if (/^#\s*(define|include|ifn?def|endif|undef|pragma)/.test(text) || text.startsWith('#!')) {
          this.advance(end - this.pos);
          continue;
        }
      }
      return;
    }
  }

  private lineStartOfPos(): number {
    let p = this.pos;
    while (p > 0 && (this.src[p - 1] === ' ' || this.src[p - 1] === '\t')) p--;
    return p === 0 || this.src[p - 1] === '\n' ? this.pos : -1;
  }

  /** Scans a probe spec (`tracepoint:syscalls:sys_enter_*`, `uprobe:/bin/bash:readline`, `BEGIN`) as raw text. */
  scanProbe(): Token {
    if (this.pending.length) this.rewindTo(this.pending[0]);
    this.pending = [];
    this.skipTrivia();
    const start = this.here();
    const s = this.pos;
    let sawColon = false;
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) break;
      if (c === '"') {
        const end = this.src.indexOf('"', this.pos + 1);
        if (end < 0) break;
        this.advance(end + 1 - this.pos);
        continue;
      }
      if (/[A-Za-z0-9_:*.\-+?$@[\]!]/.test(c)) {
        if (c === ':') sawColon = true;
        this.advance();
        continue;
      }
      // A path in a uprobe (`uprobe:/bin/bash:f`) may contain '/', a predicate starts after a space.
      if (c === '/' && sawColon) { this.advance(); continue; }
      break;
    }
    const text = this.src.slice(s, this.pos).replace(/"/g, '');
    return { kind: 'ident', text, loc: this.locFrom(start), start: s };
  }

  peek(k = 0): Token {
    while (this.pending.length <= k) this.pending.push(...this.scan());
    return this.pending[k];
  }

  next(): Token {
    const t = this.peek();
    this.pending.shift();
    return t;
  }

  /** Drops lookahead so that raw scanning restarts at the first unconsumed token. */
  rewindTo(tok: Token): void {
    this.pending = [];
    this.pos = tok.start;
    this.line = tok.loc.line;
    this.lineStart = tok.start - (tok.loc.col - 1);
  }

  private scan(): Token[] {
    this.skipTrivia();
    const start = this.here();
    const s = this.pos;
    const c = this.src[this.pos];
    const mk = (kind: TokKind, text: string, value?: bigint): Token => ({ kind, text, value, loc: this.locFrom(start), start: s });
    if (c === undefined) return [mk('eof', '')];
    if (/[A-Za-z_]/.test(c)) {
      let e = this.pos;
      while (e < this.src.length && /\w/.test(this.src[e])) e++;
      const word = this.src.slice(this.pos, e);
      this.advance(e - this.pos);
      const def = this.defines.get(word);
      if (def !== undefined) {
        const sub = new Lexer(def);
        const toks: Token[] = [];
        for (let t = sub.next(); t.kind !== 'eof'; t = sub.next()) toks.push({ ...t, loc: this.locFrom(start), start: s });
        return toks.length ? toks : this.scan();
      }
      return [mk('ident', word)];
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*)([eE][0-9]+)?([a-zA-Z]*)/.exec(this.src.slice(this.pos, this.pos + 80));
      const lit = m![0];
      this.advance(lit.length);
      const digits = m![1].replace(/_/g, '');
      let v: bigint;
      try {
        v = /^0[0-7]+$/.test(digits) ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
      } catch {
        throw new TraceError('E_TRACE_SYNTAX', `invalid integer literal "${lit}"`, this.locFrom(start));
      }
      if (m![2]) v *= 10n ** BigInt(m![2].slice(1));
      const suffix = m![3];
      if (suffix) {
        const mult = INT_SUFFIXES[suffix];
        if (mult !== undefined) v *= mult;
        else if (!/^(u|l|ul|ull|ll|lu)$/i.test(suffix)) throw new TraceError('E_TRACE_SYNTAX', `invalid integer literal suffix "${suffix}"`, this.locFrom(start));
      }
      if (v > 0xffffffffffffffffn) throw new TraceError('E_TRACE_SYNTAX', `integer literal out of range: ${lit}`, this.locFrom(start));
      return [mk('int', lit, v)];
    }
    if (c === '"') {
      this.advance();
      let out = '';
      for (;;) {
        const ch = this.src[this.pos];
        if (ch === undefined) throw new TraceError('E_TRACE_SYNTAX', 'unterminated string', this.locFrom(start));
        if (ch === '"') { this.advance(); break; }
        if (ch === '\\') {
          const n = this.src[this.pos + 1];
          if (n === 'x') {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(this.src.slice(this.pos + 2, this.pos + 4))?.[0] ?? '';
            out += String.fromCharCode(parseInt(hex || '0', 16));
            this.advance(2 + hex.length);
            continue;
          }
          if (n !== undefined && /[0-7]/.test(n)) {
            const oct = /^[0-7]{1,3}/.exec(this.src.slice(this.pos + 1, this.pos + 4))![0];
            out += String.fromCharCode(parseInt(oct, 8));
            this.advance(1 + oct.length);
            continue;
          }
          out += ESCAPES[n ?? ''] ?? '\\' + (n ?? '');
          this.advance(2);
          continue;
        }
        out += ch;
        this.advance();
      }
      return [mk('str', out)];
    }
    if (c === "'") {
      // A character literal: its code as an integer.
      const m = /^'(\\.|[^\\'])'/.exec(this.src.slice(this.pos, this.pos + 4));
      if (m) {
        this.advance(m[0].length);
        const ch = m[1].length === 2 ? ESCAPES[m[1][1]] ?? m[1][1] : m[1];
        return [mk('int', m[0], BigInt(ch.charCodeAt(0)))];
      }
    }
    if (c === '$') {
      let e = this.pos + 1;
      if (this.src[e] === '#') { this.advance(2); return [mk('positional', '$#')]; }
      while (e < this.src.length && /\w/.test(this.src[e])) e++;
      const name = this.src.slice(this.pos, e);
      this.advance(e - this.pos);
      if (/^\$[0-9]+$/.test(name)) return [mk('positional', name)];
      if (name === '$') throw new TraceError('E_TRACE_SYNTAX', 'syntax error, unexpected $', this.locFrom(start));
      return [mk('var', name)];
    }
    if (c === '@') {
      let e = this.pos + 1;
      while (e < this.src.length && /\w/.test(this.src[e])) e++;
      const name = this.src.slice(this.pos, e);
      this.advance(e - this.pos);
      return [mk('map', name)];
    }
    for (const p of PUNCTS) {
      if (this.src.startsWith(p, this.pos)) {
        this.advance(p.length);
        return [mk('punct', p)];
      }
    }
    this.advance();
    throw new TraceError('E_TRACE_SYNTAX', `invalid character '${c}'`, this.locFrom(start));
  }
}
