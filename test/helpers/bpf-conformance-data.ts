/** Reads bpf_conformance `.data` files (format in the corpus README): asm, raw words, mem, result, error sections. */

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { corpusDir } from './reference.js';

/** One parsed `.data` file. `unknownHeader` is set when the stock runner would skip the file. */
export interface ConformanceCase {
  name: string;
  asm?: string;
  /** `-- raw` tokens as written (whole 64-bit words, or single bytes in the `unused-*` files). */
  raw?: string[];
  mem: Uint8Array;
  result?: bigint;
  error?: string;
  unknownHeader?: string;
}

/** Parses the text of a `.data` file. */
export function parseConformanceData(name: string, text: string): ConformanceCase {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  let unknownHeader: string | undefined;
  for (let line of text.split('\n')) {
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.replace(/\r$/, '');
    if (line.includes('--')) {
      const h = ['asm', 'raw', 'mem', 'result', 'error', 'c', 'no register offset'].find((k) => line.includes(`-- ${k}`));
      if (!h) unknownHeader ??= line.trim();
      cur = [];
      sections.set(h ?? `?${line}`, cur);
      continue;
    }
    cur?.push(line);
  }
  const get = (k: string): string | undefined => sections.get(k)?.join('\n');
  const memText = (get('mem') ?? '').trim();
  const resultText = get('result')?.trim();
  const c: ConformanceCase = {
    name,
    mem: new Uint8Array(memText ? memText.split(/\s+/).map((b) => parseInt(b, 16)) : []),
  };
  if (sections.has('asm')) c.asm = get('asm');
  if (sections.has('raw')) c.raw = (get('raw') ?? '').split(/\s+/).filter((t) => t !== '');
  if (resultText) c.result = BigInt.asUintN(64, BigInt(resultText));
  if (sections.has('error')) c.error = (get('error') ?? '').trim();
  if (unknownHeader) c.unknownHeader = unknownHeader;
  return c;
}

/** Every `.data` file of a corpus subfolder (`tests` or `negative`), sorted by name. */
export function loadConformanceDir(sub: 'tests' | 'negative'): ConformanceCase[] {
  const dir = path.join(corpusDir, 'bpf-conformance', sub);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((f) => parseConformanceData(f, readFileSync(path.join(dir, f), 'utf8')));
}

/** `expected-bytecode.json`: per file, the words, mem, result and the reference disassembly. */
export interface ExpectedBytecode {
  words: string[];
  mem: string;
  result: string;
  ref_disasm: string[];
}

/** Reads `expected-bytecode.json`. */
export function loadExpectedBytecode(): Record<string, ExpectedBytecode> {
  return JSON.parse(readFileSync(path.join(corpusDir, 'bpf-conformance', 'expected-bytecode.json'), 'utf8')) as Record<string, ExpectedBytecode>;
}
