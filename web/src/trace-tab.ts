/** The trace tab: a bpftrace program compiled to eBPF in the page, its programs and maps shown, BEGIN/END run in the VM. */
import { EditorView } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { basicSetup } from 'codemirror';
import { setDiagnostics } from '@codemirror/lint';
import { BpfkitError, ebpf } from '../../src/index.js';
import { compileTrace, runTraceInVm, TraceError, type CompiledProgram } from '../../src/trace/core.js';
import { writeFragment, type PageState } from './fragment.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const DEFAULT_TRACE = `BEGIN
{
  printf("hello from the VM, %d CPUs\\n", ncpus);
  @squares[1] = 1; @squares[2] = 4; @squares[3] = 9;
  @sum = sum(10); @sum = sum(32);
  @h = hist(1000);
  exit();
}

END
{
  printf("bye\\n");
}
`;

/** The maps as a table: language name, BPF name and type, key and value types. */
function formatMaps(c: CompiledProgram): string {
  const rows = [...c.mapInfo.values()].map((m) => {
    const spec = c.maps.find((s) => s.name === m.bpfName);
    return `${m.name.padEnd(12)} ${m.bpfName.padEnd(16)} type ${String(m.mapType).padEnd(3)} max ${String(m.maxEntries).padEnd(6)}` +
      ` key ${spec?.keySize ?? '?'} B, value ${spec?.valueSize ?? '?'} B${m.agg ? `  (${m.agg})` : ''}`;
  });
  return rows.length ? rows.join('\n') : '(no maps)';
}

export function initTraceTab(state: PageState): void {
  let seq = 0;
  const view = new EditorView({
    parent: $('trace-editor'),
    state: EditorState.create({
      doc: state.trace ?? DEFAULT_TRACE,
      extensions: [
        basicSetup,
        EditorView.contentAttributes.of({ 'aria-label': 'bpftrace program', id: 'trace-input' }),
        EditorView.updateListener.of((u) => { if (u.docChanged) update(); }),
      ],
    }),
  });

  function update(): void {
    const source = view.state.doc.toString();
    writeFragment({ trace: source === DEFAULT_TRACE ? '' : source });
    const mine = ++seq;
    let compiled: CompiledProgram;
    try {
      compiled = compileTrace(source, { ncpus: navigator.hardwareConcurrency || 1 });
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      $('trace-error').textContent = e.message;
      const loc = e instanceof TraceError ? e.loc : undefined;
      if (loc && loc.line >= 1 && loc.line <= view.state.doc.lines) {
        const l = view.state.doc.line(loc.line);
        const from = Math.min(l.to, l.from + Math.max(0, loc.col - 1));
        view.dispatch(setDiagnostics(view.state, [{ from, to: Math.max(from + 1, l.to), severity: 'error', message: e.message }]));
      }
      delete $('trace-output').dataset.done;
      return;
    }
    $('trace-error').textContent = '';
    view.dispatch(setDiagnostics(view.state, []));
    $('trace-programs').textContent = compiled.probes.map((p) =>
      `; ${p.probe.name}  (${p.spec.insns.length} insns)\n${ebpf.disassembleLlvm(p.spec.insns)}`).join('\n');
    $('trace-maps').textContent = formatMaps(compiled);
    const out = $('trace-output');
    void runTraceInVm(source, { ncpus: navigator.hardwareConcurrency || 1 }).then(
      (r) => {
        if (mine !== seq) return;
        out.textContent = r.output + (r.exitCode !== undefined ? `\n[exit ${r.exitCode}]` : '');
        out.dataset.done = String(mine);
      },
      (e: unknown) => {
        if (mine !== seq) return;
        out.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
        out.dataset.done = String(mine);
      },
    );
  }
  update();
}
