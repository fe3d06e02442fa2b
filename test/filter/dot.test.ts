/** DOT and SVG drawings of a filter CFG: every block and edge drawn, edges pointing down, well-formed SVG. */

import { describe, expect, it } from 'vitest';
import { cfgFromProgram } from '../../src/filter/cfg-from-program.js';
import { cfgToDot, cfgToSvg } from '../../src/filter/dot.js';
import { optimize } from '../../src/filter/optimize/index.js';
import { parseProgram } from '../../src/cbpf/index.js';

const program = parseProgram([
  '(000) ldh      [12]',
  '(001) jeq      #0x800           jt 2\tjf 5',
  '(002) ldb      [23]',
  '(003) jeq      #0x6             jt 4\tjf 5',
  '(004) ret      #262144',
  '(005) ret      #0',
].join('\n'), 'd');

/** Checks that tags nest properly (enough for a document we generate ourselves). */
function wellFormed(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]);
  }
  return stack.length === 0;
}

describe('cfgToDot', () => {
  it('draws every block with its instructions and labels true and false edges', () => {
    const dot = cfgToDot(cfgFromProgram(program), 'ip and tcp');
    expect(dot.startsWith('digraph "ip and tcp" {')).toBe(true);
    for (const id of [0, 2, 4, 5]) expect(dot).toContain(`b${id} [label="B${id}`);
    expect(dot).toContain('ldh [12]\\l');
    expect(dot).toContain('jeq #0x800\\l');
    expect(dot).toContain('ret #262144\\l');
    expect(dot.match(/->/g)).toHaveLength(4);
    expect(dot.match(/label="T"/g)).toHaveLength(2);
    expect(dot.match(/label="F"/g)).toHaveLength(2);
  });

  it('escapes quotes in titles', () => {
    expect(cfgToDot(cfgFromProgram(program), 'say "hi"')).toContain('digraph "say \\"hi\\"" {');
  });
});

describe('cfgToSvg', () => {
  it('is a well-formed SVG with one box per block and one curve per edge, all pointing down', () => {
    const svg = cfgToSvg(cfgFromProgram(program), 'a < b');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toContain('a &lt; b');
    expect(svg.match(/<rect[ >]/g)).toHaveLength(4);
    const edges = [...svg.matchAll(/<path class="[tfg]" marker-end="url\(#arrow\)" d="M [\d.]+ ([\d.]+) C .* ([\d.]+)"\/>/g)];
    expect(edges).toHaveLength(4);
    for (const e of edges) expect(Number(e[2])).toBeGreaterThan(Number(e[1]));
  });

  it('draws an optimized graph too (a goto has one plain edge)', () => {
    const svg = cfgToSvg(optimize(cfgFromProgram(program)));
    expect(wellFormed(svg)).toBe(true);
    expect(svg.match(/<rect[ >]/g)!.length).toBeGreaterThanOrEqual(3);
  });
});
