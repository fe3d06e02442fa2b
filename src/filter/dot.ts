/** Drawings of a filter CFG: Graphviz DOT text, and a self-contained SVG with our own layered layout (no graphviz needed). */

import { BPF_JA, BPF_JMP, formatInsnImage, type Insn } from '../cbpf/index.js';
import type { Block, Cfg } from './cfg.js';
import { topoOrder } from './optimize/graph.js';

/** A statement as `tcpdump -d` prints it, without the index column and jump targets. */
function insnText(i: Insn): string {
  return formatInsnImage({ code: i.code, k: i.k, jt: 0, jf: 0 }, 0)
    .replace(/^\(\d+\) /, '')
    .replace(/\s+jt \d+\s+jf \d+$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Reachable blocks, entry first, then in the order a depth-first walk (true side first) meets them. */
function blocksOf(cfg: Cfg): Block[] {
  const out: Block[] = [];
  const seen = new Set<Block>();
  const stack = [cfg.entry];
  while (stack.length > 0) {
    const b = stack.pop() as Block;
    if (seen.has(b)) continue;
    seen.add(b);
    out.push(b);
    const t = b.term;
    if (t.kind === 'branch') stack.push(t.jf, t.jt);
  }
  return out;
}

/** The lines drawn in a block: its statements, then its test or return. */
function blockLines(b: Block): string[] {
  const lines = b.stmts.map(insnText);
  const t = b.term;
  if (t.kind === 'return') lines.push(insnText({ code: t.code, k: t.k, jt: 0, jf: 0 }));
  else if (t.code !== (BPF_JMP | BPF_JA)) lines.push(insnText({ code: t.code, k: t.k, jt: 0, jf: 0 }));
  return lines;
}

function dotEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * The graph in Graphviz DOT: one box per block (`B<id>` plus its instructions), true edges
 * solid green, false edges dashed red, gotos plain. Render with `dot -Tsvg`.
 */
export function cfgToDot(cfg: Cfg, title?: string): string {
  const out: string[] = [`digraph ${title === undefined ? 'cfg' : `"${dotEscape(title)}"`} {`];
  if (title !== undefined) out.push(`  label="${dotEscape(title)}";`, '  labelloc=t;');
  out.push('  node [shape=box, fontname="monospace", fontsize=10];');
  for (const b of blocksOf(cfg)) {
    const label = [`B${b.id}`, ...blockLines(b)].map((l) => `${dotEscape(l)}\\l`).join('');
    const shape = b.term.kind === 'return' ? ', style=rounded' : '';
    out.push(`  b${b.id} [label="${label}"${shape}];`);
  }
  for (const b of blocksOf(cfg)) {
    const t = b.term;
    if (t.kind !== 'branch') continue;
    if (t.code === (BPF_JMP | BPF_JA)) out.push(`  b${b.id} -> b${t.jt.id};`);
    else {
      out.push(`  b${b.id} -> b${t.jt.id} [label="T", color=darkgreen];`);
      out.push(`  b${b.id} -> b${t.jf.id} [label="F", color=red, style=dashed];`);
    }
  }
  out.push('}');
  return out.join('\n') + '\n';
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Layout constants (pixels): monospace glyph size, padding and gaps between layers and boxes.
const CHAR_W = 7.2;
const LINE_H = 14;
const PAD = 6;
const GAP_X = 24;
const GAP_Y = 40;

interface Placed {
  b: Block;
  lines: string[];
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The graph as a standalone SVG document. Layout: each block sits on the layer of its
 * longest path from the entry (so every edge points down), blocks in a layer are ordered
 * by the mean position of their predecessors, and edges are curves from the bottom of a
 * block to the top of its successor.
 */
export function cfgToSvg(cfg: Cfg, title?: string): string {
  const blocks = blocksOf(cfg);
  // Longest-path layering over a topological order.
  const order = topoOrder(cfg);
  const layer = new Map<Block, number>([[cfg.entry, 0]]);
  for (const b of order) {
    const t = b.term;
    if (t.kind !== 'branch') continue;
    const l = (layer.get(b) ?? 0) + 1;
    for (const s of [t.jt, t.jf]) layer.set(s, Math.max(layer.get(s) ?? 0, l));
  }
  const layers: Block[][] = [];
  for (const b of blocks) (layers[layer.get(b) as number] ??= []).push(b);

  const placed = new Map<Block, Placed>();
  const preds = new Map<Block, Block[]>();
  for (const b of blocks) {
    const t = b.term;
    if (t.kind !== 'branch') continue;
    for (const s of new Set([t.jt, t.jf])) {
      const l = preds.get(s);
      if (l) l.push(b);
      else preds.set(s, [b]);
    }
  }
  let y = title === undefined ? PAD : PAD + LINE_H * 2;
  let width = 0;
  for (const row of layers) {
    if (!row) continue;
    // Order by where the predecessors are, so edges cross less.
    const key = (b: Block): number => {
      const ps = (preds.get(b) ?? []).map((p) => placed.get(p)).filter((p): p is Placed => p !== undefined);
      return ps.length === 0 ? 0 : ps.reduce((s, p) => s + p.x + p.w / 2, 0) / ps.length;
    };
    row.sort((a, b) => key(a) - key(b));
    let x = PAD;
    let rowH = 0;
    for (const b of row) {
      const lines = [`B${b.id}`, ...blockLines(b)];
      const w = Math.ceil(Math.max(...lines.map((l) => l.length)) * CHAR_W + 2 * PAD);
      const h = lines.length * LINE_H + 2 * PAD;
      placed.set(b, { b, lines, x, y, w, h });
      x += w + GAP_X;
      rowH = Math.max(rowH, h);
    }
    width = Math.max(width, x);
    y += rowH + GAP_Y;
  }
  const height = y;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<style>text{font-family:monospace;font-size:12px}.t{stroke:#1a7f37}.f{stroke:#cf222e;stroke-dasharray:4 3}.g{stroke:#555}path{fill:none;stroke-width:1.2}rect{fill:#f6f8fa;stroke:#333}.ret{fill:#eef6ff}</style>',
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" style="fill:#333;stroke:none"/></marker></defs>',
  ];
  if (title !== undefined) out.push(`<text x="${PAD}" y="${PAD + LINE_H}" font-weight="bold">${xmlEscape(title)}</text>`);
  for (const p of placed.values()) {
    const t = p.b.term;
    if (t.kind !== 'branch') continue;
    const edges: [Block, string][] = t.code === (BPF_JMP | BPF_JA) ? [[t.jt, 'g']] : [[t.jt, 't'], [t.jf, 'f']];
    edges.forEach(([s, cls], i) => {
      const q = placed.get(s) as Placed;
      const x1 = p.x + (edges.length === 1 ? p.w / 2 : (p.w * (i + 1)) / 3);
      const y1 = p.y + p.h;
      const x2 = q.x + q.w / 2;
      const y2 = q.y;
      const dy = Math.max(20, (y2 - y1) / 2);
      out.push(`<path class="${cls}" marker-end="url(#arrow)" d="M ${x1.toFixed(1)} ${y1} C ${x1.toFixed(1)} ${y1 + dy} ${x2.toFixed(1)} ${y2 - dy} ${x2.toFixed(1)} ${y2}"/>`);
    });
  }
  for (const p of placed.values()) {
    const cls = p.b.term.kind === 'return' ? ' class="ret"' : '';
    out.push(`<g id="B${p.b.id}"><rect${cls} x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" rx="4"/>`);
    p.lines.forEach((l, i) => out.push(`<text x="${p.x + PAD}" y="${p.y + PAD + (i + 1) * LINE_H - 3}"${i === 0 ? ' font-weight="bold"' : ''}>${xmlEscape(l)}</text>`));
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
