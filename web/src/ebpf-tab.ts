/** The eBPF tab: assemble and disassemble in both syntaxes, read an ELF object, verify, run the program in the VM on a packet, and step through the run. */
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

/** Programs typed in the editor load as tc classifiers: their skb data starts at the Ethernet header, as the examples read it. */
export const ASM_PROG_TYPE = ebpf.ProgType.BPF_PROG_TYPE_SCHED_CLS;

/** The sample packets the Run and Step controls offer. */
const SAMPLE_PACKETS = Array.from(pcap.synthesizeTraffic({ count: 3 }));

/** A register value as the panel names it: a pointer as region+offset, a scalar in signed decimal. */
function describeValue(v: bigint): string {
  const id = ebpf.regionOf(v);
  if (id === 0 || id >= ebpf.MAX_REGIONS) return v >= 1n << 63n ? String(BigInt.asIntN(64, v)) : String(v);
  const off = ebpf.offsetOf(v);
  if (id === ebpf.CTX_REGION) return `ctx${off ? `+${off}` : ''}`;
  if (id >= ebpf.STACK_REGION && id < ebpf.STACK_REGION + ebpf.MAX_CALL_DEPTH) {
    const d = id - ebpf.STACK_REGION;
    return `fp${off - ebpf.STACK_SIZE ? off - ebpf.STACK_SIZE : ''}${d ? ` (frame ${d})` : ''}`;
  }
  return `mem#${id}${off >= 0 ? '+' : ''}${off}`;
}

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
  /** The run being stepped (made on first use, dropped when the program or the packet changes). */
  let stepper: ebpf.Stepper | undefined;
  /** The verifier's entry states per slot, when it accepted the program. */
  let insnStates: string[][] | undefined;
  let verdictNote = '';
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

  /** The program the controls act on: the ELF object's selected program, else the assembled text. */
  function currentSpec(): ebpf.ProgramSpec | undefined {
    const sel = $<HTMLSelectElement>('elf-program');
    const fromElf = elfPrograms && !sel.hidden ? elfPrograms.get(sel.value) : undefined;
    return fromElf ?? (insns ? { name: 'playground', type: ASM_PROG_TYPE, insns, license: 'GPL' } : undefined);
  }

  function assemble(): void {
    const text = view.state.doc.toString();
    writeFragment({ ebpf: text === DEFAULT_ASM ? '' : text, syntax: syntax() === 'llvm' ? '' : syntax() });
    try {
      insns = SYNTAX[syntax()].assemble(text);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      insns = undefined;
      resetStepper();
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
    resetStepper();
  }

  /** Runs the verifier as for a socket filter; a rejection is underlined on its instruction's line. */
  function check(text: string, p: ebpf.Insn[]): void {
    const out = $('ebpf-verifier');
    const sel = $<HTMLSelectElement>('elf-program');
    const fromElf = elfPrograms && !sel.hidden ? elfPrograms.get(sel.value) : undefined;
    const spec: ebpf.ProgramSpec = fromElf ?? { name: 'playground', type: ASM_PROG_TYPE, insns: p, license: 'GPL' };
    insnStates = undefined;
    try {
      const r = verify(spec, { logLevel: 2, insnStates: true });
      insnStates = r.insnStates;
      verdictNote = '';
      out.className = 'listing verdict-ok';
      out.textContent = `accepted: processed ${r.processed} insns, ${r.totalStates} states\n\n${r.log}`;
      delete out.dataset.insn;
    } catch (e) {
      if (!(e instanceof VerifierError)) {
        if (e instanceof BpfkitError) { out.textContent = `rejected: ${e.message}`; verdictNote = `(the verifier refused the program: ${e.message})`; return; }
        throw e;
      }
      verdictNote = `(the verifier rejected the program at insn ${e.insn}: ${e.kernelMessage}; the VM steps it unverified)`;
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
    const spec = currentSpec()!;
    const pkt = SAMPLE_PACKETS[Number($<HTMLSelectElement>('ebpf-packet').value)];
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

  function resetStepper(): void {
    stepper = undefined;
    showStep();
  }

  /** The stepped run of the current program on the chosen packet, made on first use. */
  function stepperFor(): ebpf.Stepper | undefined {
    if (stepper) return stepper;
    const spec = currentSpec();
    if (!spec) return undefined;
    const pkt = SAMPLE_PACKETS[Number($<HTMLSelectElement>('ebpf-packet').value)];
    try {
      // Unverified, so a rejected program can be stepped up to the fault the VM finds.
      const prog = ebpf.load(spec, { engine: 'interp', verify: false });
      stepper = new ebpf.Stepper(prog, { data: pkt.data }, { maxSteps: 100_000 });
      prog.close();
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      $('step-pos').textContent = `cannot run: ${e.message}`;
      return undefined;
    }
    drawStepListing(spec);
    return stepper;
  }

  function drawStepListing(spec: ebpf.ProgramSpec): void {
    const lines = ebpf.disassembleLlvm(spec.insns).split('\n');
    const slots = ebpf.slotOffsets(spec.insns);
    const host = $('step-listing');
    host.replaceChildren(...spec.insns.map((_, i) => {
      const line = document.createElement('div');
      line.dataset.slot = String(slots[i]);
      line.textContent = `  ${String(slots[i]).padStart(4)}: ${(lines[i] ?? '').trim()}`;
      return line;
    }));
  }

  /** Draws the machine before the stepper's next instruction: listing mark, registers, stack, verifier state. */
  function showStep(): void {
    const st = stepper;
    const pos = $('step-pos');
    const regs = $<HTMLTableElement>('step-regs');
    if (!st) {
      pos.textContent = insns || currentSpec() ? 'press Step to start' : '';
      $('step-listing').replaceChildren();
      regs.replaceChildren();
      $('step-stack').textContent = '';
      $('step-verifier').textContent = '';
      delete pos.dataset.step;
      return;
    }
    const t = st.trace;
    const n = t.steps.length;
    const at = st.position;
    const cur = st.current;
    const shown = cur ?? t.steps[n - 1];
    pos.dataset.step = String(at);
    if (cur) pos.textContent = `step ${at} of ${n}${t.truncated ? '+' : ''} · next: insn ${cur.pc}${cur.depth ? ` in frame ${cur.depth}` : ''}`;
    else if (t.result) pos.textContent = `after ${n} instructions: exit, r0 = ${t.result.r0} (0x${t.result.r0.toString(16)})`;
    else if (t.fault) pos.textContent = `after ${n} instructions: fault at insn ${t.fault.position?.insn}: ${t.fault.message}`;
    else pos.textContent = `stopped after ${n} recorded instructions`;
    for (const el of $('step-listing').children) {
      const line = el as HTMLElement;
      const on = shown !== undefined && Number(line.dataset.slot) === shown.pc;
      const mark = on ? (cur ? '▶' : t.fault ? '✖' : '■') : ' ';
      line.classList.toggle('cur', on);
      line.classList.toggle('fault', on && !cur && t.fault !== undefined);
      if (on) line.setAttribute('aria-current', 'step'); else line.removeAttribute('aria-current');
      line.textContent = mark + line.textContent!.slice(1);
      if (on) line.scrollIntoView({ block: 'nearest' });
    }
    if (!shown) { regs.replaceChildren(); return; }
    // After the last instruction only r0 is known anew (the result); the rest is the last step's.
    const values = shown.regs.slice();
    if (!cur && t.result) values[0] = t.result.r0;
    const prev = cur ? t.steps[at - 1] : shown;
    regs.replaceChildren(...values.map((v, r) => {
      const row = document.createElement('tr');
      row.dataset.reg = `r${r}`;
      row.dataset.value = String(v);
      if (prev && prev !== shown && prev.regs[r] !== v) row.className = 'changed';
      if (!cur && r === 0 && t.result && shown.regs[0] !== v) row.className = 'changed';
      const cells = [`r${r}`, `0x${v.toString(16).padStart(16, '0')}`, describeValue(v)];
      row.append(...cells.map((c, k) => Object.assign(document.createElement('td'), { textContent: c, className: k === 2 ? 'note' : '' })));
      return row;
    }));
    const stack: string[] = [];
    const dv = new DataView(shown.stack.buffer, shown.stack.byteOffset, shown.stack.length);
    for (let off = shown.stack.length - 8; off >= 0; off -= 8) {
      const bytes = shown.stack.subarray(off, off + 8);
      if (bytes.every((b) => b === 0)) continue;
      stack.push(`fp-${String(shown.stack.length - off).padEnd(4)} ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}  = ${dv.getBigUint64(off, true)}`);
    }
    $('step-stack').textContent = stack.length ? stack.join('\n') : '(all zero)';
    const vs = insnStates?.[shown.pc];
    $('step-verifier').textContent = !insnStates ? verdictNote || '(not verified)' :
      !vs || vs.length === 0 ? `insn ${shown.pc}: no path the verifier explored reaches it` :
      vs.map((line, k) => `insn ${shown.pc}, path ${k + 1}:\n  ${line.split(' ').join('\n  ')}`).join('\n');
  }

  function stepBy(n: number): void {
    const st = stepperFor();
    if (!st) return;
    if (n > 0) st.step(n); else if (n < 0) st.back(-n);
    showStep();
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
  // An ELF object dropped anywhere on the tab loads as the chooser's does.
  const panel = $('panel-ebpf');
  panel.addEventListener('dragover', (e) => { e.preventDefault(); panel.classList.add('over'); });
  panel.addEventListener('dragleave', () => panel.classList.remove('over'));
  panel.addEventListener('drop', (e) => {
    e.preventDefault();
    panel.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) loadElf(f);
  });
  $('ebpf-packet').addEventListener('change', resetStepper);
  const count = (): number => Math.max(1, Math.floor(Number($<HTMLInputElement>('step-count').value)) || 1);
  $('step-next').addEventListener('click', () => stepBy(count()));
  $('step-back').addEventListener('click', () => stepBy(-count()));
  $('step-reset').addEventListener('click', () => { stepperFor()?.reset(); showStep(); });
  $('step-end').addEventListener('click', () => stepBy(Number.MAX_SAFE_INTEGER));
  $('step-listing').addEventListener('keydown', (e) => {
    const k = { ArrowRight: 1, ArrowDown: 1, n: 1, ArrowLeft: -1, ArrowUp: -1, p: -1 }[e.key];
    if (k === undefined) return;
    e.preventDefault();
    stepBy(k * count());
  });
  assemble();
}
