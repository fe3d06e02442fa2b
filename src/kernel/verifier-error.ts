/** `VerifierError`: the kernel verifier's rejection as one line, the full log on request, and a hint where we know one. */

import { ValidationError } from '../util/index.js';
import type { VerifierError as BpfkitVerifierError } from '../ebpf/verifier/index.js';

/** What bpfkit's own verifier says of a program the kernel refused: its explanation, or that it accepts it (a gap to report). */
export type VerifierExplanation = { readonly verdict: 'rejected'; readonly error: BpfkitVerifierError } | { readonly verdict: 'accepted' };

/** Known verifier messages and what they usually mean, matched in order against the summary line. */
const verifierHints: readonly (readonly [RegExp, string])[] = [
  [/R0 !read_ok/, 'r0 is read (or returned) before it was written: set r0 before exit'],
  [/R\d+ !read_ok/, 'register read before it was written'],
  [/last insn is not an exit or jmp/, 'the program must end with exit or an unconditional jump'],
  [/GPL-restricted|GPL compatible/, 'this helper needs a GPL-compatible license (e.g. "GPL" or "Dual MIT/GPL")'],
  [/invalid mem access 'map_value_or_null'|_or_null/, 'check the map lookup result for NULL before using it'],
  [/invalid mem access 'scalar'|invalid mem access 'inv'/, 'dereferencing a number, not a pointer'],
  [/invalid access to packet/, 'check data + offset + size <= data_end before reading the packet'],
  [/invalid (?:indirect read from |write to |read from )?stack|invalid stack/, 'stack accesses must stay in r10-512 .. r10-1 and read only written bytes'],
  [/unreachable insn/, 'the program has instructions that no path reaches'],
  [/back-edge|infinite loop|loop detected/, 'loops must have a bound the verifier can prove'],
  [/jump out of range|jump into the middle/, 'a jump lands outside the program or inside an lddw'],
  [/unknown opcode|invalid BPF_|reserved fields/, 'an instruction the kernel does not accept (check opcode and reserved fields)'],
  [/fd \d+ is not pointing to valid bpf_map|map fd/, 'an lddw refers to a map fd that is not open'],
  [/unknown func|invalid func|program of this type cannot use helper/, 'this helper does not exist or is not allowed for this program type'],
  [/division by zero/, 'division by a constant zero'],
  [/R\d+ invalid mem access/, 'memory access through a register that is not a valid pointer'],
  [/too many instructions|BPF program is too large/, 'the program is over the instruction limit'],
  [/R\d+ pointer arithmetic .*prohibited|pointer arithmetic/, 'this pointer arithmetic is not allowed'],
];

/** Lines the verifier prints after the error that carry no diagnosis. */
// `cur state:`/`old state:` are the two states the kernel prints after "infinite loop detected".
const trailer = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|mark_precise|func#|cur state: |old state: |\s*$)/;

/** The last meaningful line of a verifier log, and the instruction it concerns when the log says. */
export function summarizeVerifierLog(log: string): { summary: string; insn?: number; source?: { file: string; line: number; text: string } } {
  const lines = log.split('\n').map((l) => l.trimEnd());
  let i = lines.length - 1;
  while (i >= 0 && trailer.test(lines[i])) i--;
  const summary = i >= 0 ? lines[i].trim() : '';
  // The instruction is the one the error names ("infinite loop detected at insn 13"), or else the last "N: (..)" line
  // printed before the error.
  const named = /\bat insn (\d+)$/.exec(summary);
  let insn: number | undefined = named ? Number(named[1]) : undefined;
  for (let j = i; j >= 0 && insn === undefined; j--) {
    const m = /^(\d+): /.exec(lines[j]);
    if (m) {
      insn = Number(m[1]);
      break;
    }
  }
  // With line info the log quotes the source before the instructions it covers: `; text @ file.c:12`.
  let source: { file: string; line: number; text: string } | undefined;
  for (let j = i; j >= 0 && !source; j--) {
    const m = /^; (.*) @ (\S+):(\d+)$/.exec(lines[j]);
    if (m) source = { text: m[1].trim(), file: m[2], line: Number(m[3]) };
  }
  const out: { summary: string; insn?: number; source?: { file: string; line: number; text: string } } = { summary };
  if (insn !== undefined) out.insn = insn;
  if (source) out.source = source;
  return out;
}

/** The hint for a verifier summary line, when we know one. */
export function verifierHint(summary: string): string | undefined {
  for (const [re, hint] of verifierHints) if (re.test(summary)) return hint;
  return undefined;
}

/** The kernel verifier refused a program. `log` is the full verifier log; the message is its last meaningful line. */
export class VerifierError extends ValidationError {
  /** The full verifier log (log_level 1). */
  readonly log: string;
  /** The errno of the failed PROG_LOAD (EACCES for a rejection, EINVAL for malformed programs). */
  readonly errno: number;
  /** The program's name. */
  readonly program: string;

  /** The source line the log quotes last before the error (programs loaded with BTF line info). */
  readonly source: { file: string; line: number; text: string } | undefined;

  /** bpfkit's verifier on the same program, when the loader ran it (see `KernelProgram.load`'s `explain`). */
  explanation: VerifierExplanation | undefined;

  constructor(program: string, log: string, errno: number) {
    const { summary, insn, source } = summarizeVerifierLog(log);
    // The position adds file and line; the message quotes the source itself.
    const where = source ? ` in \`${source.text}\`` : '';
    super('E_VERIFIER', `load program "${program}": verifier: ${summary || 'rejected with an empty log'}${where}`, {
      position: insn === undefined ? (source ? { file: source.file, line: source.line } : undefined) : { insn, ...(source ? { file: source.file, line: source.line } : {}) },
      hint: verifierHint(summary),
    });
    this.source = source;
    this.log = log;
    this.errno = errno;
    this.program = program;
  }

  /**
   * The kernel's verdict and bpfkit's side by side: the kernel's error line and the log lines before it,
   * then bpfkit's explanation (the instructions that made the register what it was, and a hint).
   */
  explain(logLines = 12): string {
    const lines = this.log.trimEnd().split('\n');
    const out = [`kernel verifier (errno ${this.errno}):`, ...lines.slice(-logLines).map((l) => `  ${l}`)];
    if (this.explanation?.verdict === 'rejected') {
      out.push('bpfkit verifier:', ...this.explanation.error.explain().split('\n').map((l) => `  ${l}`));
    } else if (this.explanation?.verdict === 'accepted') {
      out.push('bpfkit verifier: accepts this program (a difference from the kernel: please report it)');
    }
    return out.join('\n');
  }
}
