/** Graphviz in WebAssembly (@viz-js/viz): DOT to an SVG element, the instance made once on first use. */
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

/** Draws `dot` into `host`; returns the number of nodes drawn. */
export async function renderDot(host: HTMLElement, dot: string): Promise<number> {
  viz ??= instance();
  const v = await viz;
  // Graphviz in WebAssembly measures text with its built-in metrics, which know Courier but not
  // the generic 'monospace': with it, long statements overflow their boxes.
  const svg = v.renderSVGElement(dot.replace(/fontname="monospace"/g, 'fontname="Courier"'));
  host.replaceChildren(svg);
  return svg.querySelectorAll('g.node').length;
}
