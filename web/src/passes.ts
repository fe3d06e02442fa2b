/** The optimizer pass by pass: the filter CFG after each pass that changed it, and which blocks the pass changed, for drawing. */
import { filter } from '../../src/index.js';

/** One picture in the sequence: the graph after `name`, the blocks that pass rewrote or added, and those it removed. */
export interface PassStage {
  name: string;
  cfg: filter.Cfg;
  changed: ReadonlySet<number>;
  removed: ReadonlySet<number>;
}

/** Each reachable block's content and successors as a string, by block id (ids are stable across passes). */
function blockSignatures(cfg: filter.Cfg): Map<number, string> {
  const out = new Map<number, string>();
  const stack = [cfg.entry];
  while (stack.length) {
    const b = stack.pop() as filter.Block;
    if (out.has(b.id)) continue;
    const t = b.term;
    const stmts = b.stmts.map((s) => `${s.code}:${s.k}`).join(' ');
    out.set(b.id, `${stmts} | ${t.code}:${t.k}${t.kind === 'branch' ? ` ${t.jt.id} ${t.jf.id}` : ''}`);
    if (t.kind === 'branch') stack.push(t.jt, t.jf);
  }
  return out;
}

/**
 * Runs the optimizer on the gencode graph with its `trace` hook and keeps the stages that
 * changed something (most passes of the last rounds change nothing). The first stage is
 * the gencode graph itself.
 */
export function optimizerStages(gencode: filter.Cfg): PassStage[] {
  const raw: [string, filter.Cfg][] = [];
  filter.optimizeWithStats(gencode, { trace: (name, cfg) => raw.push([name, cfg]) });
  const out: PassStage[] = [{ name: 'gencode', cfg: gencode, changed: new Set(), removed: new Set() }];
  let prev = blockSignatures(gencode);
  for (const [name, cfg] of raw) {
    const sigs = blockSignatures(cfg);
    const changed = new Set([...sigs].filter(([id, sig]) => prev.get(id) !== sig).map(([id]) => id));
    const removed = new Set([...prev.keys()].filter((id) => !sigs.has(id)));
    if (changed.size === 0 && removed.size === 0) continue;
    out.push({ name, cfg, changed, removed });
    prev = sigs;
  }
  return out;
}

/** `cfgToDot` output with the blocks in `mark` filled with `color` (and a thicker border). */
export function markedDot(dot: string, mark: ReadonlySet<number>, color: string): string {
  if (mark.size === 0) return dot;
  return dot.replace(/^( {2}b(\d+) \[label="(?:[^"\\]|\\.)*")(, style=rounded)?\];$/gm, (line, head: string, id: string, rounded: string | undefined) =>
    mark.has(Number(id)) ? `${head}, style="${rounded ? 'rounded,' : ''}filled,bold", fillcolor="${color}", penwidth=2];` : line);
}
