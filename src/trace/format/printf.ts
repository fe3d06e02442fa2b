/** bpftrace's printf: the format string split into conversions (for type checking) and rendered as bpftrace's iostream-based formatter does. */

import { UsageError } from '../../util/index.js';
import type { FormatContext } from './context.js';
import { gfpFlagsText } from './gfp.js';
import { hexFormatBuffer, primitiveText, toPrimitive } from './print-value.js';
import type { Primitive } from './print-value.js';
import type { TraceValue } from './value.js';

/** One `%…` conversion of a printf format. */
export interface PrintfConversion {
  /** The conversion's text as written (`%-08lld`). */
  text: string;
  /** 0-based offset of the `%` in the format string. */
  offset: number;
  leftAlign: boolean;
  showSign: boolean;
  /** `#`: a `0x`/`0` prefix for hex/octal. */
  alternate: boolean;
  /** `0`: pad with zeros (bpftrace pads before a sign: `%05d` of -5 is `000-5`). */
  zeroPad: boolean;
  /** Minimum field width (0: none). */
  width: number;
  /** Precision (-1: none); bpftrace applies it to floating conversions only. */
  precision: number;
  /** Length modifier: `hh h l ll j z t L` (only `hh`…`t` change how ints are cut). */
  length: string;
  /** The specifier: `d i o u x X c s p r rx rh gr` (and float letters, which sema rejects). */
  specifier: string;
}

/** The format split at its conversions: `fragments.length === specs.length + 1`, with `%%` folded into the fragments. */
export interface PrintfFormat {
  fragments: string[];
  specs: PrintfConversion[];
}

// bpftrace's FormatSpec regex: flags in a fixed order, then width, precision, length, and
// the specifier (the `r`/`g` forms with their trailing modifiers first).
const SPEC = /%(-?)(\+?)( ?)(#?)(0?)(\*|\d+)?(?:\.(\*|\d+))?([hlLjzt]*)([diouxXeEfFGaAcspn%]|gr|g|rh|rx|r)/g;

/** Parses a format as bpftrace does: anything that is not a conversion is literal text. */
export function parsePrintfFormat(fmt: string): PrintfFormat {
  const fragments: string[] = [];
  const specs: PrintfConversion[] = [];
  let last = 0;
  let fragment = '';
  for (const m of fmt.matchAll(SPEC)) {
    const at = m.index;
    fragment += fmt.slice(last, at);
    last = at + m[0].length;
    if (m[9] === '%') {
      fragment += '%';
      continue;
    }
    fragments.push(fragment);
    fragment = '';
    specs.push({
      text: m[0], offset: at, leftAlign: m[1] !== '', showSign: m[2] !== '', alternate: m[4] !== '', zeroPad: m[5] !== '',
      width: m[6] !== undefined && m[6] !== '*' ? Number(m[6]) : 0,
      precision: m[7] !== undefined && m[7] !== '*' ? Number(m[7]) : -1,
      length: m[8], specifier: m[9],
    });
  }
  fragments.push(fragment + fmt.slice(last));
  return { fragments, specs };
}

/** What an argument must be for a specifier, as bpftrace's `FormatString::check` requires. */
export type PrintfArgClass = 'integer' | 'buffer' | 'any';

const ARG_CLASS: Readonly<Record<string, PrintfArgClass>> = {
  d: 'integer', i: 'integer', u: 'integer', o: 'integer', x: 'integer', X: 'integer', c: 'integer', p: 'integer', gr: 'integer',
  r: 'buffer', rx: 'buffer', rh: 'buffer', s: 'any',
};

/** The argument class of a specifier; undefined for specifiers bpftrace rejects (`f`, `e`, `n`…: "unsupported format specifier"). */
export function printfArgClass(specifier: string): PrintfArgClass | undefined {
  return ARG_CLASS[specifier];
}

/**
 * The error bpftrace gives for a printf whose argument count is wrong, or undefined when it
 * matches (`not enough arguments for format string (1 supplied, 2 expected)`).
 */
export function printfArgCountError(format: PrintfFormat, supplied: number): string | undefined {
  const expected = format.specs.length;
  if (supplied < expected) return `not enough arguments for format string (${supplied} supplied, ${expected} expected)`;
  if (supplied > expected) return `too many arguments for format string (${supplied} supplied, ${expected} expected)`;
  return undefined;
}

/** How `d`/`i`/`u`/`x`… cut a 64-bit value by length modifier: C's int, char, short, long… on LP64. */
const INT_BITS: Readonly<Record<string, number>> = { '': 32, hh: 8, h: 16, l: 64, ll: 64, j: 64, z: 64, t: 64, L: 32 };

function numeric(p: Primitive): bigint | undefined {
  switch (p.t) {
    case 'int': return p.v;
    case 'bool': return p.v ? 1n : 0n;
    case 'sym': return p.numeric;
    default: return undefined;
  }
}

/** Pads as an iostream with setw/setfill/left does: the fill goes before (or after) the whole text, sign included. */
function pad(s: string, spec: PrintfConversion): string {
  if (s.length >= spec.width) return s;
  const fill = (spec.zeroPad ? '0' : ' ').repeat(spec.width - s.length);
  return spec.leftAlign ? s + fill : fill + s;
}

function integerText(v: bigint, spec: PrintfConversion): string {
  const bits = INT_BITS[spec.length] ?? 32;
  const sp = spec.specifier;
  if (sp === 'd' || sp === 'i') {
    const n = BigInt.asIntN(bits, v);
    return spec.showSign && n >= 0n ? `+${n}` : n.toString();
  }
  if (sp === 'c') return String.fromCharCode(Number(BigInt.asUintN(8, v)));
  if (sp === 'p') {
    const n = BigInt.asUintN(64, v);
    return n === 0n ? '0' : `0x${n.toString(16)}`;
  }
  const n = BigInt.asUintN(bits, v);
  if (sp === 'o') return spec.alternate && n !== 0n ? `0${n.toString(8)}` : n.toString(8);
  if (sp === 'x') return spec.alternate && n !== 0n ? `0x${n.toString(16)}` : n.toString(16);
  if (sp === 'X') return (spec.alternate && n !== 0n ? `0x${n.toString(16)}` : n.toString(16)).toUpperCase();
  return n.toString();
}


/** One conversion applied to one value (`FormatSpec::apply`); a value it cannot take prints `!{…}` as bpftrace does. */
export function applyConversion(spec: PrintfConversion, p: Primitive): string {
  const sp = spec.specifier;
  if (sp === 's' || ARG_CLASS[sp] === undefined) return pad(primitiveText(p), spec);
  if (sp === 'r' || sp === 'rx' || sp === 'rh') {
    if (p.t !== 'buffer') return pad(primitiveText(p), spec);
    return pad(hexFormatBuffer(p.bytes, sp === 'r', sp !== 'rh'), spec);
  }
  const n = numeric(p);
  if (n === undefined) return `!{invalid ${sp === 'gr' ? 'GFP flags' : 'integer'} conversion: ${primitiveText(p)}}`;
  if (sp === 'gr') return pad(gfpFlagsText(n), spec);
  return pad(integerText(n, spec), spec);
}

/**
 * Renders a printf call as current bpftrace does (an iostream formatter, not C's printf):
 * ints cut to the length modifier's C type, width and `-`/`0` flags through setw/setfill,
 * precision ignored outside floats, `%s` of any value in its print() form, `%r`/`%rx`/`%rh`
 * for buffers. Throws a UsageError (`E_TRACE_PRINTF_ARGS`) when the argument count is wrong.
 */
export function formatPrintf(fmt: string | PrintfFormat, args: readonly TraceValue[], ctx: FormatContext = {}): string {
  const format = typeof fmt === 'string' ? parsePrintfFormat(fmt) : fmt;
  const problem = printfArgCountError(format, args.length);
  if (problem !== undefined) throw new UsageError('E_TRACE_PRINTF_ARGS', problem);
  let out = '';
  for (let i = 0; i < args.length; i++) out += format.fragments[i] + applyConversion(format.specs[i], toPrimitive(args[i], ctx));
  return out + format.fragments[format.fragments.length - 1];
}
