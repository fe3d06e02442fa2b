/** A small argument parser for tcpdump-style flags (`-dd`, `-ttt`, `-r FILE`, `--count`). */

import { UsageError } from '../util/index.js';

/** One flag a command accepts. Tokens such as `-dd` are whole flags, matched before bundles. */
export interface FlagSpec {
  /** Every spelling, e.g. `['-r', '--read']`. */
  names: readonly string[];
  /** The key under which the value is stored. */
  key: string;
  /** True when the flag takes a value (`-r FILE`, `--engine=jit`). */
  value?: boolean;
  /** Allowed values, when the flag takes one. */
  choices?: readonly string[];
}

/** Parsed arguments: flags by key (string value, or true), and the positional arguments. */
export interface ParsedArgs {
  flags: Map<string, string | true>;
  positionals: string[];
  /** The spelling the user typed for each key (`-c`, `--count`), for error messages. */
  typed?: Map<string, string>;
}

/** Parses `argv` against `specs`; throws a {@link UsageError} naming the bad token. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags = new Map<string, string | true>();
  const typed = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      positionals.push(tok);
      continue;
    }
    const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
    const name = eq > 0 ? tok.slice(0, eq) : tok;
    let spec = byName.get(name);
    if (spec) {
      if (spec.value) {
        let v: string | undefined;
        if (eq > 0) v = tok.slice(eq + 1);
        else v = argv[++i];
        if (v === undefined) throw new UsageError('E_USAGE', `option ${name} needs a value`);
        if (spec.choices && !spec.choices.includes(v)) {
          throw new UsageError('E_USAGE', `option ${name}: "${v}" is not one of ${spec.choices.join(', ')}`);
        }
        flags.set(spec.key, v);
        typed.set(spec.key, name);
      } else {
        if (eq > 0) throw new UsageError('E_USAGE', `option ${name} takes no value`);
        flags.set(spec.key, true);
        typed.set(spec.key, name);
      }
      continue;
    }
    // A bundle of short flags (`-nq`), or a short flag with its value attached (`-s65535`).
    if (!tok.startsWith('--') && tok.length > 2) {
      spec = byName.get(tok.slice(0, 2));
      if (spec?.value) {
        flags.set(spec.key, tok.slice(2));
        typed.set(spec.key, tok.slice(0, 2));
        continue;
      }
      const letters = tok.slice(1).split('');
      if (letters.every((c) => byName.get('-' + c) && !byName.get('-' + c)?.value)) {
        for (const c of letters) {
          flags.set(byName.get('-' + c)!.key, true);
          typed.set(byName.get('-' + c)!.key, '-' + c);
        }
        continue;
      }
    }
    // A negative number is an argument, not a flag.
    if (/^-\d/.test(tok)) {
      positionals.push(tok);
      continue;
    }
    throw new UsageError('E_USAGE', `unknown option ${tok}`);
  }
  return { flags, positionals, typed };
}

/** The string value of a flag, or `undefined`. */
export function flagString(args: ParsedArgs, key: string): string | undefined {
  const v = args.flags.get(key);
  return typeof v === 'string' ? v : undefined;
}

/** True when a boolean flag was given. */
export function flagSet(args: ParsedArgs, key: string): boolean {
  return args.flags.has(key);
}

/** The option as the user typed it (`-c`), for messages; the key when unknown. */
export function flagName(args: ParsedArgs, key: string): string {
  return args.typed?.get(key) ?? key;
}

/** An integer flag value, checked; the error names the option as typed (`option -c needs …`). */
export function flagInt(args: ParsedArgs, key: string): number | undefined {
  const v = flagString(args, key);
  if (v === undefined) return undefined;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new UsageError('E_USAGE', `option ${flagName(args, key)} needs a non-negative integer, got "${v}"`);
  return Number(v);
}

/**
 * tcpdump's `-c COUNT`: a positive integer. `-c 0` and `-c abc` are errors worded as
 * tcpdump words them (`invalid packet count 0`).
 */
export function flagPacketCount(args: ParsedArgs, key: string): number | undefined {
  const v = flagString(args, key);
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 0x7fffffff)) throw new UsageError('E_USAGE', `invalid packet count ${v}`);
  return n;
}
