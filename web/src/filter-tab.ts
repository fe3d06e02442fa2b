/** The filter tab: expression to -d listing, AST and CFG drawings (whole and pass by pass), and the filter run on a capture with the JIT. */
import { EditorView, keymap } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { minimalSetup } from 'codemirror';
import { setDiagnostics, lintGutter } from '@codemirror/lint';
import { BpfkitError, cbpf, compileFilter, decode, filter, pcap, type FilterProgram } from '../../src/index.js';
import { renderDot } from './graph.js';
import { markedDot, optimizerStages, type PassStage } from './passes.js';
import { writeFragment, type PageState } from './fragment.js';

const DEFAULT_EXPR = 'tcp port 80 and (ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2) != 0';
/** Quiet time after a keystroke before the pass-by-pass pictures are made. */
const PASS_DELAY_MS = 120;
/** Rows drawn in the packet list; the count and verdicts cover every packet. */
const LIST_LIMIT = 1000;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** The AST as an indented outline: each node's `kind` first, then its scalar fields, then its children. */
export function formatAst(node: unknown, indent = ''): string {
  if (node === null || typeof node !== 'object') return `${indent}${String(node)}\n`;
  if (Array.isArray(node)) return node.map((n) => formatAst(n, indent)).join('');
  const rec = node as Record<string, unknown>;
  const scalars: string[] = [];
  const children: [string, unknown][] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'kind') continue;
    if (v !== null && typeof v === 'object') children.push([k, v]);
    else if (v !== undefined) scalars.push(`${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  }
  let out = `${indent}${typeof rec.kind === 'string' ? rec.kind : ''}${scalars.length ? ' ' + scalars.join(' ') : ''}\n`;
  for (const [k, v] of children) out += `${indent}  ${k}:\n${formatAst(v, indent + '    ')}`;
  return out;
}

interface Capture {
  name: string;
  packets: pcap.Packet[];
  linkType: number;
}

export function initFilterTab(state: PageState): void {
  const listing = $<HTMLPreElement>('filter-listing');
  const errorBox = $<HTMLDivElement>('filter-error');
  const form = $<HTMLSelectElement>('filter-form');
  const linkSelect = $<HTMLSelectElement>('filter-linktype');
  const noOpt = $<HTMLInputElement>('filter-noopt');
  if (state.form && ['d', 'dd', 'ddd'].includes(state.form)) form.value = state.form;
  if (state.linktype) linkSelect.value = state.linktype;
  let capture: Capture | undefined;
  let current: FilterProgram | undefined;
  let drawSeq = 0;
  let stages: PassStage[] = [];
  let passTimer: ReturnType<typeof setTimeout> | undefined;
  const passSelect = $<HTMLSelectElement>('pass-select');

  const view = new EditorView({
    parent: $('filter-editor'),
    state: EditorState.create({
      doc: state.filter ?? DEFAULT_EXPR,
      extensions: [
        minimalSetup,
        lintGutter(),
        // One line: Enter does nothing instead of inserting a newline.
        keymap.of([{ key: 'Enter', run: () => true }]),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'pcap-filter expression', id: 'filter-input' }),
        EditorView.updateListener.of((u) => { if (u.docChanged) update(); }),
      ],
    }),
  });

  function update(): void {
    const expr = view.state.doc.toString();
    writeFragment({ filter: expr, form: form.value === 'd' ? '' : form.value });
    const t0 = performance.now();
    try {
      const linkType = capture ? capture.linkType : linkSelect.value;
      current = compileFilter(expr, { linkType, snaplen: 262144, netmask: 0, optimize: !noOpt.checked });
    } catch (e) {
      current = undefined;
      if (!(e instanceof BpfkitError)) throw e;
      showError(e, expr.length);
      return;
    }
    errorBox.textContent = '';
    view.dispatch(setDiagnostics(view.state, []));
    listing.textContent = cbpf.formatProgram(current.insns, form.value as cbpf.ProgramFormat);
    listing.classList.remove('stale');
    $('filter-ast').textContent = formatAst(current.ast);
    const compiled = performance.now() - t0;
    const prog = current;
    const seq = ++drawSeq;
    void Promise.all([
      renderDot($('cfg-before'), filter.cfgToDot(prog.cfg, 'gencode')),
      // The emitted program's graph: block ids are instruction numbers, as in the listing and the packet paths.
      renderDot($('cfg-after'), filter.cfgToDot(filter.cfgFromProgram(prog.insns), noOpt.checked ? 'emitted, not optimized' : 'optimized, as emitted')),
    ]).then(([before, after]) => {
      if (seq !== drawSeq) return;
      $('cfg-before-n').textContent = `(${before} blocks)`;
      $('cfg-after-n').textContent = `(${after} blocks)`;
      const total = performance.now() - t0;
      $('filter-stats').textContent = `${prog.insns.length} instructions · compile ${compiled.toFixed(1)} ms · compile + draw ${total.toFixed(1)} ms`;
      document.body.dataset.drawMs = total.toFixed(2);
      document.body.dataset.drawn = String(seq);
      // The pass-by-pass pictures (a traced optimizer run and two more drawings) wait for a
      // pause in typing, so keystrokes never queue behind them.
      clearTimeout(passTimer);
      passTimer = setTimeout(() => showPasses(prog, seq, performance.now()), PASS_DELAY_MS);
    });
    runCapture();
  }

  /** Fills the pass list for `prog` and draws its last pass (the one that finished the graph). */
  function showPasses(prog: FilterProgram, seq: number, t0: number): void {
    const optimized = !noOpt.checked && prog.finalCfg !== prog.cfg;
    stages = optimized ? optimizerStages(prog.cfg) : [];
    $('passes-n').textContent = optimized ? `(${stages.length - 1} passes changed the graph)` : '(optimizer off for this filter)';
    passSelect.replaceChildren(...stages.slice(1).map((st, i) => Object.assign(document.createElement('option'), {
      value: String(i + 1),
      textContent: `${i + 1}. ${st.name} (${st.changed.size} rewritten/new, ${st.removed.size} removed)`,
    })));
    if (stages.length > 1) passSelect.value = '1';
    void drawPass(seq).then(() => {
      if (seq !== drawSeq) return;
      // From the end of the pause to the pass pictures drawn (bench/web.ts reads it).
      document.body.dataset.passesMs = (performance.now() - t0).toFixed(2);
      document.body.dataset.passesFor = String(seq);
    });
  }

  /** Draws the selected pass: the graph before it with the blocks it rewrote or removed, and after it with those it rewrote or added. */
  async function drawPass(seq = drawSeq): Promise<void> {
    const i = Number(passSelect.value);
    const before = $('pass-before'), after = $('pass-after');
    if (!(i >= 1 && i < stages.length)) {
      before.replaceChildren();
      after.replaceChildren();
      $('pass-before-name').textContent = '';
      $('pass-after-name').textContent = '';
      delete document.body.dataset.passDrawn;
      return;
    }
    const a = stages[i - 1], b = stages[i];
    // New ids in `changed` are simply absent from the graph before.
    const gone = new Set([...b.removed, ...b.changed]);
    await Promise.all([
      renderDot(before, markedDot(filter.cfgToDot(a.cfg, a.name), gone, '#ffc2c2')),
      renderDot(after, markedDot(filter.cfgToDot(b.cfg, b.name), b.changed, '#ffe08a')),
    ]);
    if (seq !== drawSeq) return;
    $('pass-before-name').textContent = `(${a.name})`;
    $('pass-after-name').textContent = `(${b.name})`;
    document.body.dataset.passDrawn = `${seq}:${i}`;
  }

  function showError(e: BpfkitError, len: number): void {
    errorBox.textContent = e.message;
    listing.classList.add('stale');
    const col = e.position?.column;
    const from = col === undefined ? 0 : Math.min(Math.max(col - 1, 0), len);
    const to = Math.min(len, from + Math.max(1, tokenLength(view.state.doc.toString(), from)));
    view.dispatch(setDiagnostics(view.state, [{ from: Math.min(from, Math.max(len - 1, 0)), to: Math.max(to, Math.min(len, 1)), severity: 'error', message: e.message }]));
  }

  function runCapture(): void {
    const status = $('capture-status');
    const list = $('packet-list');
    if (!capture) return;
    if (!current) {
      status.textContent = `${capture.name}: ${capture.packets.length} packets (no valid filter)`;
      return;
    }
    const prog = current;
    const t0 = performance.now();
    const verdicts = new Uint32Array(capture.packets.length);
    let matched = 0;
    for (let i = 0; i < capture.packets.length; i++) {
      const p = capture.packets[i];
      const v = prog.matchAt(p.data, 0, p.data.length, p.origLen);
      verdicts[i] = v;
      if (v !== 0) matched++;
    }
    const ms = performance.now() - t0;
    status.innerHTML = '';
    status.dataset.filterMs = ms.toFixed(3);
    const m = document.createElement('strong');
    m.id = 'matched-count';
    m.textContent = String(matched);
    status.append(`${capture.name}: `, m, ` of ${capture.packets.length} packets match (JIT, ${ms.toFixed(1)} ms)`);
    const printState = new decode.PrintState();
    const frag = document.createDocumentFragment();
    const n = Math.min(capture.packets.length, LIST_LIMIT);
    for (let i = 0; i < n; i++) {
      const p = capture.packets[i];
      const row = document.createElement('div');
      row.className = verdicts[i] ? 'pkt match' : 'pkt drop';
      row.setAttribute('role', 'option');
      row.dataset.index = String(i);
      row.textContent = `${verdicts[i] ? '✔' : '·'} ${i + 1} ${decode.formatPacket(p, {}, printState).text}`;
      frag.append(row);
    }
    list.replaceChildren(frag);
    if (capture.packets.length > n) list.append(Object.assign(document.createElement('div'), { className: 'muted', textContent: `… ${capture.packets.length - n} more` }));
  }

  function selectPacket(row: HTMLElement): void {
    if (!capture) return;
    for (const r of document.querySelectorAll('.pkt[aria-selected="true"]')) r.setAttribute('aria-selected', 'false');
    row.setAttribute('aria-selected', 'true');
    row.scrollIntoView({ block: 'nearest' });
    const p = capture.packets[Number(row.dataset.index)];
    const verdict = current ? current.match(p.data, p.origLen) : 0;
    const path = current ? packetPath(current.insns, p) : [];
    highlightPath(path);
    $('packet-hex').textContent = `packet ${Number(row.dataset.index) + 1}: ${p.data.length} of ${p.origLen} bytes, verdict ${verdict} (${verdict ? 'accept' : 'drop'})\n` +
      `path: ${path.map((b) => `B${b}`).join(' → ')}\n` +
      decode.hexDump(p.data, true).replace(/^\n/, '');
  }

  function loadCapture(name: string, packets: pcap.Packet[], linkType: number): void {
    capture = { name, packets, linkType };
    update();
  }

  function loadFile(file: File): void {
    void file.arrayBuffer().then((buf) => {
      try {
        const r = pcap.readCapture(new Uint8Array(buf));
        loadCapture(file.name + (r.error ? ` (damaged: ${r.error.message})` : ''), r.packets, r.linkType);
      } catch (e) {
        if (!(e instanceof BpfkitError)) throw e;
        $('capture-status').textContent = `${file.name}: ${e.message}`;
      }
    });
  }

  $('packet-list').addEventListener('click', (e) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>('.pkt');
    if (row) selectPacket(row);
  });
  $('packet-list').addEventListener('keydown', (e) => {
    const sel = document.querySelector<HTMLElement>('.pkt[aria-selected="true"]');
    const next = e.key === 'ArrowDown' ? (sel?.nextElementSibling ?? document.querySelector('.pkt')) : e.key === 'ArrowUp' ? sel?.previousElementSibling : null;
    if (next instanceof HTMLElement && next.classList.contains('pkt')) {
      e.preventDefault();
      selectPacket(next);
    }
  });
  $('sample-btn').addEventListener('click', () => loadCapture('sample', Array.from(pcap.synthesizeTraffic({ count: 1000 })), 1));
  $<HTMLInputElement>('capture-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) loadFile(f);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) loadFile(f);
  });
  for (const el of [form, linkSelect, noOpt]) el.addEventListener('change', update);
  passSelect.addEventListener('change', () => void drawPass());
  const movePass = (d: number): void => {
    const i = Number(passSelect.value) + d;
    if (i >= 1 && i < stages.length) { passSelect.value = String(i); void drawPass(); }
  };
  $('pass-prev').addEventListener('click', () => movePass(-1));
  $('pass-next').addEventListener('click', () => movePass(1));
  update();
}

/** Two return values no filter is likely to use: a block is reached when its probe returns both. */
const MARKS = [0x5eed_f00d, 0x0bad_cafe];

/**
 * The blocks (first instruction numbers) a packet passes through. Classic BPF only jumps
 * forward, so the run reaches instruction `i` exactly when the program with `ret #MARK` in
 * place of `i` returns MARK: the path comes from the engine itself, not a re-implementation.
 */
export function packetPath(insns: readonly cbpf.Insn[], p: pcap.Packet): number[] {
  const starts: number[] = [];
  const seen = new Set<number>();
  const stack = [filter.cfgFromProgram(insns).entry];
  while (stack.length) {
    const b = stack.pop() as filter.Block;
    if (seen.has(b.id)) continue;
    seen.add(b.id);
    starts.push(b.id);
    if (b.term.kind === 'branch') stack.push(b.term.jt, b.term.jf);
  }
  const probe = insns.slice();
  const reached = starts.filter((start) => {
    if (start === 0) return true;
    const saved = probe[start];
    const hit = MARKS.every((k) => {
      probe[start] = { code: cbpf.BPF_RET | cbpf.BPF_K, jt: 0, jf: 0, k };
      return cbpf.interpret(probe, p.data, p.origLen) === k;
    });
    probe[start] = saved;
    return hit;
  });
  return reached.sort((a, b) => a - b);
}

/** Marks the path's nodes and the edges between consecutive path blocks in the drawn CFG. */
function highlightPath(path: readonly number[]): void {
  const on = new Set(path.map((b) => `b${b}`));
  const pairs = new Set(path.slice(1).map((b, i) => `b${path[i]}->b${b}`));
  for (const g of document.querySelectorAll<SVGGElement>('#cfg-after g.node')) {
    g.classList.toggle('on-path', on.has(g.querySelector('title')?.textContent ?? ''));
  }
  for (const g of document.querySelectorAll<SVGGElement>('#cfg-after g.edge')) {
    g.classList.toggle('on-path', pairs.has(g.querySelector('title')?.textContent ?? ''));
  }
}

/** Length of the word at `from`, so the underline covers the offending token. */
function tokenLength(text: string, from: number): number {
  const m = /^[^\s()]+/.exec(text.slice(from));
  return m ? m[0].length : 1;
}
