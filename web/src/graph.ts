/** Graphviz in WebAssembly (@viz-js/viz): DOT to an SVG element, the instance made once on first use. */
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

/** Draws `dot` into `host`; returns the number of nodes drawn. */
export async function renderDot(host: HTMLElement, dot: string): Promise<number> {
  viz ??= instance();
  const v = await viz;
  // Graphviz in WebAssembly measures text with its built-in metrics, which know Courier but not
  // the generic 'monospace': with it, long statements overflow their boxes.
  // Tighter spacing than Graphviz's default keeps a 40-block CFG narrow enough to read at full size.
  const svg = v.renderSVGElement(dot.replace(/fontname="monospace"/g, 'fontname="Courier"').replace(/^(digraph [^\n]*\{)$/m, '$1\n  graph [nodesep=0.18, ranksep=0.32];'));
  host.replaceChildren(svg);
  enableZoom(host);
  // Full size is wider than the box for big graphs: start with the entry block (drawn first, at the top) in view.
  const entry = svg.querySelector('g.node')?.getBoundingClientRect();
  if (entry && entry.width > 0) host.scrollLeft += entry.left + entry.width / 2 - (host.getBoundingClientRect().left + host.clientWidth / 2);
  return svg.querySelectorAll('g.node').length;
}

/** A click, Enter or Space on a graph toggles between full size (readable, scrolls) and fitted to the box (overview). */
function enableZoom(host: HTMLElement): void {
  if (host.dataset.zoom) return;
  host.dataset.zoom = 'full';
  host.title = 'click or press Enter: fit to the box / full size';
  const toggle = (): void => {
    const fit = host.classList.toggle('fit');
    host.dataset.zoom = fit ? 'fit' : 'full';
  };
  host.addEventListener('click', toggle);
  host.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    toggle();
  });
}
