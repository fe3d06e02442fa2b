/** The trace language's syntax tree: every node carries the source range it came from. */

/** A source range: 1-based line and columns (end exclusive), as bpftrace prints `stdin:L:C1-C2`. */
export interface Loc {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  /** Set on nodes produced by a macro expansion: where the macro was called. */
  expandedFrom?: Loc;
}

/** A type written in the source: `int8`, `struct task_struct *`, `uint8[4]`, `string`. */
export interface TypeSpec {
  name: string;
  pointer: number;
  array?: number;
  /** `typeof(EXPR)`: the type of an expression (name `typeof`), pointers and an array count on top. */
  of?: Expr;
  loc: Loc;
}

export type Expr =
  | { kind: 'int'; value: bigint; loc: Loc }
  | { kind: 'str'; value: string; loc: Loc }
  | { kind: 'bool'; value: boolean; loc: Loc }
  | { kind: 'var'; name: string; loc: Loc }
  | { kind: 'map'; name: string; keys: Expr[] | undefined; loc: Loc }
  | { kind: 'builtin'; name: string; loc: Loc }
  | { kind: 'positional'; index: number; loc: Loc }
  | { kind: 'positionalCount'; loc: Loc }
  | { kind: 'call'; name: string; args: Expr[]; loc: Loc }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; loc: Loc }
  | { kind: 'unary'; op: string; operand: Expr; loc: Loc }
  | { kind: 'incdec'; op: '++' | '--'; prefix: boolean; target: Expr; loc: Loc }
  | { kind: 'ternary'; cond: Expr; then: Expr; else: Expr; loc: Loc }
  | { kind: 'field'; base: Expr; field: string; arrow: boolean; loc: Loc }
  | { kind: 'index'; base: Expr; index: Expr; loc: Loc }
  | { kind: 'tuple'; elems: Expr[]; loc: Loc }
  | { kind: 'record'; fields: { name: string; value: Expr }[]; loc: Loc }
  | { kind: 'cast'; type: TypeSpec; operand: Expr; loc: Loc }
  | { kind: 'sizeof'; type?: TypeSpec; expr?: Expr; loc: Loc }
  /** `typeof(TYPE)` or `typeof(EXPR)` where a type is passed around (a macro argument): a type, not a value. */
  | { kind: 'typeof'; type: TypeSpec; loc: Loc }
  | { kind: 'offsetof'; type: TypeSpec; fields: string[]; loc: Loc }
  | { kind: 'block'; stmts: Stmt[]; value: Expr; loc: Loc };

export type Stmt =
  | { kind: 'expr'; expr: Expr; loc: Loc }
  | { kind: 'assign'; target: Expr; op: string; value: Expr; loc: Loc }
  | { kind: 'let'; name: string; type?: TypeSpec; value?: Expr; loc: Loc }
  | { kind: 'if'; cond: Expr; then: Stmt[]; else?: Stmt[]; loc: Loc }
  | { kind: 'while'; cond: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'forMap'; var: string; map: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'forRange'; var: string; from: Expr; to: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'unroll'; count: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'block'; body: Stmt[]; loc: Loc }
  | { kind: 'return'; value?: Expr; loc: Loc }
  | { kind: 'break'; loc: Loc }
  | { kind: 'continue'; loc: Loc };

/** One attach point as written: `tracepoint:syscalls:sys_enter_read`, `BEGIN`, `i:ms:1`. */
export interface ProbeSpec {
  text: string;
  loc: Loc;
}

export interface Probe {
  probes: ProbeSpec[];
  predicate?: Expr;
  body: Stmt[];
  loc: Loc;
}

export interface MacroDef {
  name: string;
  params: { name: string; isMap: boolean }[];
  body: Stmt[];
  /** Expression macros (`macro m(x) x + 1` or a block ending in an expression). */
  value?: Expr;
  loc: Loc;
}

export interface MapDecl {
  name: string;
  type: string;
  maxEntries: bigint;
  loc: Loc;
}

export interface Program {
  probes: Probe[];
  macros: MacroDef[];
  mapDecls: MapDecl[];
  config: { key: string; value: Expr; loc: Loc }[];
  /** Struct definitions written in the program (C syntax), by name. */
  structs: { name: string; text: string; loc: Loc }[];
  /** Enumerators of `enum X { A, B = 2 }` definitions. */
  enums: { name: string; value: bigint; enumName: string }[];
}
