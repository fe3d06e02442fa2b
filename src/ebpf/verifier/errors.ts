/** `VerifierError`: a rejection with a stable code, the kernel's wording, the instructions that led to it and a hint. */

import { ValidationError } from '../../util/index.js';

/** One step of the backward slice: an instruction that made a register what it was, with the state after it. */
export interface WhyStep {
  readonly insn: number;
  readonly text: string;
  /** `R1=pkt(off=22,r=14)`-style state of the register it wrote. */
  readonly state: string;
}

/** Where in the source an instruction came from (BTF line info). */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

/** Details of a rejection. */
export interface VerifierErrorInfo {
  /** The instruction index (in instructions, lddw counting once). */
  readonly insn: number;
  /** The kernel's wording, first line (searchable). */
  readonly kernelMessage: string;
  /** Further kernel lines that follow the first (e.g. `R1 offset is outside of the packet`). */
  readonly kernelDetail: readonly string[];
  readonly why: readonly WhyStep[];
  readonly hint?: string;
  readonly source?: SourceLine;
  /** The verifier log up to the rejection (log level 1 or 2), empty at level 0. */
  readonly log: string;
}

/** The verifier refused a program. `message` is the kernel's first line (plus the position); `explain()` gives the whole story. */
export class VerifierError extends ValidationError {
  readonly insn: number;
  readonly kernelMessage: string;
  readonly kernelDetail: readonly string[];
  readonly why: readonly WhyStep[];
  readonly source: SourceLine | undefined;
  readonly log: string;

  constructor(code: string, info: VerifierErrorInfo) {
    super(code, info.kernelMessage, { position: { insn: info.insn, ...(info.source ? { line: info.source.line, column: info.source.column, file: info.source.file } : {}) }, hint: info.hint });
    this.insn = info.insn;
    this.kernelMessage = info.kernelMessage;
    this.kernelDetail = info.kernelDetail;
    this.why = info.why;
    this.source = info.source;
    this.log = info.log;
  }

  /** The kernel's line, the source line, why (the slice with register states), and the hint: what the CLI prints. */
  explain(): string {
    const out = [`${this.insn}: ${this.kernelMessage}`];
    for (const d of this.kernelDetail) out.push(`   ${d}`);
    if (this.source) out.push(`   at ${this.source.file}:${this.source.line}:${this.source.column}: ${this.source.text.trim()}`);
    if (this.why.length) {
      out.push('why:');
      for (const w of this.why) out.push(`  ${String(w.insn).padStart(4)}: ${w.text.padEnd(32)} ; ${w.state}`);
    }
    if (this.hint) out.push(`hint: ${this.hint}`);
    return out.join('\n');
  }

  /** A plain object for `--json`. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code, insn: this.insn, message: this.kernelMessage, detail: this.kernelDetail,
      why: this.why, hint: this.hint, source: this.source,
    };
  }
}
