/** The eBPF tab: assemble and disassemble in both syntaxes, read an ELF object, and run the program in the VM on a packet. */
import { EditorView } from '@codemirror/view';
import { EditorState } from '@codemirror/state';
import { basicSetup } from 'codemirror';
import { setDiagnostics } from '@codemirror/lint';
import { BpfkitError, ebpf, elf, pcap } from '../../src/index.js';
import { verify, VerifierError } from '../../src/ebpf/verifier/index.js';
import { writeFragment, type PageState } from './fragment.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A socket filter that keeps TCP packets to or from port 80 and drops the rest (IPv4 over Ethernet). */
const DEFAULT_ASM = `r6 = r1
r0 = *(u16 *)skb[12]
if r0 != 0x800 goto +9
r0 = *(u8 *)skb[23]
if r0 != 6 goto +7
r0 = *(u16 *)skb[36]
if r0 == 80 goto +3
r0 = *(u16 *)skb[34]
if r0 == 80 goto +1
goto +2
r0 = 262144
exit
r0 = 0
exit
`;

/** A program the verifier rejects: the context has no field at offset 4000. */
const REJECTED_ASM = `r6 = r1
r0 = *(u16 *)skb[12]
if r0 != 0x800 goto +2
r0 = *(u32 *)(r6 + 4000)
exit
r0 = 0
exit
`;

const EXAMPLES: Record<string, string> = { accepted: DEFAULT_ASM, rejected: REJECTED_ASM };

type Syntax = 'llvm' | 'conformance';

/** Editor line (1-based) of instruction `insn`: blank lines, comments and labels hold none. */
function lineOfInsn(text: string, insn: number): number | undefined {
  let n = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const l = raw.trim();
    if (l === '' || /^(;|#|\/\/)/.test(l) || /^[\w.]+:$/.test(l)) continue;
    if (n++ === insn) return i + 1;
  }
  return undefined;
}

const SYNTAX: Record<Syntax, { assemble(text: string): ebpf.Insn[]; disassemble(insns: readonly ebpf.Insn[]): string }> = {
  llvm: { assemble: ebpf.assembleLlvm, disassemble: (i) => ebpf.disassembleLlvm(i) },
  conformance: { assemble: ebpf.assembleConformance, disassemble: ebpf.disassembleConformance },
};

export function initEbpfTab(state: PageState): void {
  const syntaxSel = $<HTMLSelectElement>('ebpf-syntax');
  if (state.syntax === 'conformance') syntaxSel.value = 'conformance';
  let insns: ebpf.Insn[] | undefined;
  let elfPrograms: Map<string, ebpf.ProgramSpec> | undefined;
  const view = new EditorView({
    parent: $('ebpf-editor'),
    state: EditorState.create({
      doc: state.ebpf ?? DEFAULT_ASM,
      extensions: [
        basicSetup,
        EditorView.contentAttributes.of({ 'aria-label': 'eBPF assembly', id: 'ebpf-input' }),
        EditorView.updateListener.of((u) => { if (u.docChanged) assemble(); }),
      ],
    }),
  });

  function syntax(): Syntax {
    return syntaxSel.value as Syntax;
  }

  function assemble(): void {
    const text = view.state.doc.toString();
    writeFragment({ ebpf: text === DEFAULT_ASM ? '' : text, syntax: syntax() === 'llvm' ? '' : syntax() });
    try {
      insns = SYNTAX[syntax()].assemble(text);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      insns = undefined;
      $('ebpf-error').textContent = e.message;
      const line = e.position?.line;
      if (line !== undefined && line >= 1 && line <= view.state.doc.lines) {
        const l = view.state.doc.line(line);
        view.dispatch(setDiagnostics(view.state, [{ from: l.from, to: l.to, severity: 'error', message: e.message }]));
      }
      return;
    }
    $('ebpf-error').textContent = '';
    view.dispatch(setDiagnostics(view.state, []));
    showProgram(insns);
    check(text, insns);
  }

  /** Runs the verifier as for a socket filter; a rejection is underlined on its instruction's line. */
  function check(text: string, p: ebpf.Insn[]): void {
    const out = $('ebpf-verifier');
    const sel = $<HTMLSelectElement>('elf-program');
    const fromElf = elfPrograms && !sel.hidden ? elfPrograms.get(sel.value) : undefined;
    const spec: ebpf.ProgramSpec = fromElf ?? { name: 'playground', type: ebpf.ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: p, license: 'GPL' };
    try {
      const r = verify(spec, { logLevel: 2 });
      out.className = 'listing verdict-ok';
      out.textContent = `accepted: processed ${r.processed} insns, ${r.totalStates} states\n\n${r.log}`;
      delete out.dataset.insn;
    } catch (e) {
      if (!(e instanceof VerifierError)) {
        if (e instanceof BpfkitError) { out.textContent = `rejected: ${e.message}`; return; }
        throw e;
      }
      out.className = 'listing verdict-bad';
      out.dataset.insn = String(e.insn);
      const why = e.why.map((w) => `  ${String(w.insn).padStart(3)}: ${w.text.padEnd(32)} ; ${w.state}`).join('\n');
      out.textContent = `rejected at insn ${e.insn}: ${e.kernelMessage}\n` +
        (e.kernelDetail.length ? e.kernelDetail.join('\n') + '\n' : '') +
        (e.hint ? `hint: ${e.hint}\n` : '') + (why ? `why:\n${why}\n` : '') + (e.source ? `source: ${e.source.file}:${e.source.line}: ${e.source.text}\n` : '') +
        (e.log ? `\nlog:\n${e.log}` : '');
      const line = fromElf ? undefined : lineOfInsn(text, e.insn);
      if (line !== undefined && line <= view.state.doc.lines) {
        const l = view.state.doc.line(line);
        view.dispatch(setDiagnostics(view.state, [{ from: l.from, to: l.to, severity: 'error', message: `verifier: ${e.kernelMessage}${e.hint ? ` (${e.hint})` : ''}` }]));
      }
    }
  }

  function showProgram(p: readonly ebpf.Insn[]): void {
    const other: Syntax = syntax() === 'llvm' ? 'conformance' : 'llvm';
    $('ebpf-disasm').textContent = `; ${other} syntax\n` + SYNTAX[other].disassemble(p);
    const bytes = ebpf.encodeProgram(p);
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 8) {
      lines.push(`${String(i / 8).padStart(4)}: ${Array.from(bytes.subarray(i, i + 8), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    }
    $('ebpf-bytes').textContent = lines.join('\n');
  }

  function run(): void {
    const out = $('ebpf-result');
    if (!insns) {
      out.textContent = 'the program does not assemble';
      return;
    }
    const sel = $<HTMLSelectElement>('elf-program');
    const fromElf = elfPrograms && !sel.hidden ? elfPrograms.get(sel.value) : undefined;
    const spec: ebpf.ProgramSpec = fromElf ?? { name: 'playground', type: ebpf.ProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' };
    const packets = Array.from(pcap.synthesizeTraffic({ count: 3 }));
    const pkt = packets[Number($<HTMLSelectElement>('ebpf-packet').value)];
    try {
      const prog = ebpf.load(spec, { engine: 'interp' });
      const t0 = performance.now();
      const r = prog.run({ data: pkt.data });
      const ms = performance.now() - t0;
      prog.close();
      out.textContent = `r0 = ${r.r0} (0x${r.r0.toString(16)})  ·  ${ms.toFixed(2)} ms\npacket: ${pkt.data.length} bytes\n` +
        (r.trace.length ? `trace_printk:\n${r.trace.join('\n')}\n` : '');
      out.dataset.r0 = String(r.r0);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      out.textContent = `error: ${e.message}`;
      delete out.dataset.r0;
    }
  }

  function loadElf(file: File): void {
    void file.arrayBuffer().then((buf) => {
      const sel = $<HTMLSelectElement>('elf-program');
      try {
        const coll = elf.loadCollectionSpec(new Uint8Array(buf));
        elfPrograms = coll.programs;
        sel.replaceChildren(...[...coll.programs.keys()].map((n) => Object.assign(document.createElement('option'), { value: n, textContent: n })));
        sel.hidden = coll.programs.size === 0;
        showElfProgram();
      } catch (e) {
        if (!(e instanceof BpfkitError)) throw e;
        $('ebpf-error').textContent = `${file.name}: ${e.message}`;
      }
    });
  }

  function showElfProgram(): void {
    const spec = elfPrograms?.get($<HTMLSelectElement>('elf-program').value);
    if (!spec) return;
    syntaxSel.value = 'llvm';
    // Relocated map loads disassemble as plain lddw; the editor shows the text, Run uses the spec.
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: ebpf.disassembleLlvm(spec.insns) } });
  }

  syntaxSel.addEventListener('change', () => {
    if (insns) {
      const text = SYNTAX[syntax()].disassemble(insns);
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    } else assemble();
  });
  $('ebpf-assemble').addEventListener('click', assemble);
  $('ebpf-example').addEventListener('change', () => {
    const text = EXAMPLES[$<HTMLSelectElement>('ebpf-example').value];
    if (text === undefined) return;
    syntaxSel.value = 'llvm';
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  });
  $('ebpf-run').addEventListener('click', run);
  $<HTMLInputElement>('elf-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) loadElf(f);
  });
  $('elf-program').addEventListener('change', showElfProgram);
  assemble();
}
