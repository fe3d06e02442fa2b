/** Trace-language diagnostics in bpftrace's form: `stdin:LINE:COL-COL: ERROR: message`, the source line and a `~~~` marker. */

import { BpfkitError } from '../util/index.js';
import type { Loc } from './ast.js';

/** A syntax, type or environment error in a trace program, with where it happened. */
export class TraceError extends BpfkitError {
  readonly loc: Loc | undefined;
  constructor(code: string, message: string, loc?: Loc, hint?: string) {
    super(code, message, { position: loc ? { line: loc.line, column: loc.col } : undefined, hint });
    this.loc = loc;
  }
}

/** Renders a diagnostic as bpftrace prints it (`kind` is ERROR, WARNING or HINT). */
export function renderDiagnostic(source: string, fileName: string, message: string, loc: Loc | undefined, kind = 'ERROR'): string {
  if (!loc) return `${kind}: ${message}\n`;
  const out: string[] = [];
  const one = (l: Loc, msg: string): void => {
    const lines = source.split('\n');
    const endCol = l.endLine === l.line ? l.endCol : (lines[l.line - 1]?.length ?? 0) + 1;
    out.push(`${fileName}:${l.line}:${l.col}-${endCol}: ${kind}: ${msg}`);
    const text = lines[l.line - 1];
    if (text !== undefined) {
      out.push(text);
      out.push(' '.repeat(l.col - 1) + '~'.repeat(Math.max(1, endCol - l.col)));
    }
  };
  one(loc, message);
  if (loc.expandedFrom) one(loc.expandedFrom, 'expanded from');
  return out.join('\n') + '\n';
}
