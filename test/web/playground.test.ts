/** End-to-end tests of the playground in headless Chromium: listings equal `bpfkit compile -d`, counts equal `bpfkit filter --count`, the VM's r0 equals Node's. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ebpf, pcap } from '../../src/index.js';
import { verify, VerifierError } from '../../src/ebpf/verifier/index.js';
import { traceRun } from '../../src/ebpf/vm/index.js';
import { runTraceInVm } from '../../src/trace/index.js';
import { browserSkipReason, openSession, type Session } from './browser.js';
import { optimizerStages } from '../../web/src/passes.js';
import { compileFilter, elf } from '../../src/index.js';
import { skipReason } from '../helpers/reference.js';

const skip = browserSkipReason();
/** The README's screenshots are refreshed with BPFKIT_SCREENSHOTS=1; otherwise they go to a temp dir, so a test run leaves the tree clean. */
const shotDir = process.env.BPFKIT_SCREENSHOTS === '1' ? 'docs' : mkdtempSync(path.join(tmpdir(), 'bpfkit-shots-'));
const shot = (name: string): { path: string; fullPage: false } => ({ path: path.join(shotDir, name), fullPage: false });

/** 42 blocks from gencode, 26 emitted: the CFG must stay legible at this size. */
const BIG_EXPR = 'tcp port 80 or tcp port 443 or udp port 53 or icmp or arp or (ip6 and tcp port 22)';

/** The eBPF tab loads typed programs as tc classifiers (web/src/ebpf-tab.ts ASM_PROG_TYPE: skb data from the Ethernet header). */
const ASM_TYPE = ebpf.ProgType.BPF_PROG_TYPE_SCHED_CLS;

/** Expressions across the compiler: link, network and transport qualifiers, arithmetic, and an optimizer-heavy one. */
const EXPRESSIONS = [
  'tcp port 80',
  'host 10.0.0.1 and not udp',
  'ip6 and tcp port 22', 'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0',
  'ether broadcast or arp',
  'icmp or (udp and portrange 50-60)',
  'tcp port 80 and (ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2) != 0',
  'vlan and ip',
  'net 192.168.0.0/16 and (port 53 or port 443)',
];

describe.skipIf(skip !== undefined)('playground in Chromium', () => {
  let s: Session;
  let tmp: string;
  beforeAll(async () => {
    s = await openSession();
    tmp = mkdtempSync(path.join(tmpdir(), 'bpfkit-web-'));
  }, 180_000);
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await s?.close();
  });

  const listing = () => s.page.locator('#filter-listing');

  it('#filter=<expr> opens the filter tab with the -d listing of bpfkit compile -d', async () => {
    for (const expr of EXPRESSIONS) {
      const want = await runCli(['compile', '-d', expr]);
      expect(want.status).toBe(0);
      await s.page.goto(`${s.url}#filter=${encodeURIComponent(expr)}`);
      await s.page.reload();
      await s.page.waitForSelector('body[data-ready="true"]');
      expect(await s.page.locator('#tab-filter').getAttribute('aria-selected')).toBe('true');
      expect((await listing().textContent()) ?? '').toBe(want.stdout);
    }
  }, 120_000);

  it('typing an expression updates the listing; -dd and -ddd match too; an error is underlined at its column', async () => {
    await s.page.goto(s.url);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    const editor = s.page.locator('#filter-input');
    await editor.click();
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.type('udp and port 53');
    await expect.poll(async () => listing().textContent()).toBe((await runCli(['compile', '-d', 'udp and port 53'])).stdout);
    expect(decodeURIComponent(new URL(s.page.url()).hash)).toContain('filter=udp and port 53');
    for (const form of ['dd', 'ddd']) {
      await s.page.selectOption('#filter-form', form);
      expect(await listing().textContent()).toBe((await runCli(['compile', `-${form}`, 'udp and port 53'])).stdout);
    }
    await s.page.selectOption('#filter-form', 'd');
    // A syntax error: the message says the column, and the editor underlines the text from there.
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.type('tcp port 80 and and');
    const want = await runCli(['compile', '-d', 'tcp port 80 and and']);
    expect(want.status).not.toBe(0);
    const col = Number(/column (\d+)/.exec(want.stderr)?.[1]);
    expect(col).toBeGreaterThan(0);
    await expect.poll(async () => s.page.locator('#filter-error').textContent()).toContain(`column ${col}`);
    const underlined = await s.page.locator('.cm-lintRange-error').first().textContent();
    expect('tcp port 80 and and'.slice(col - 1).startsWith(underlined ?? '<none>')).toBe(true);
    expect(underlined?.length).toBeGreaterThan(0);
    // Both CFGs are drawn for a valid expression.
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.type('tcp port 80');
    await expect.poll(async () => s.page.locator('#cfg-after svg g.node').count()).toBeGreaterThan(2);
    expect(await s.page.locator('#cfg-before svg g.node').count()).toBeGreaterThanOrEqual(await s.page.locator('#cfg-after svg g.node').count());
    await s.page.screenshot(shot('playground-filter.png'));
  }, 120_000);

  it('the optimizer is drawn pass by pass, with the blocks each pass changed marked, legibly for a 40-block graph', async () => {
    await s.page.goto(`${s.url}#filter=${encodeURIComponent(BIG_EXPR)}`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    const prog = compileFilter(BIG_EXPR, { linkType: 'EN10MB', snaplen: 262144, netmask: 0 });
    const stages = optimizerStages(prog.cfg);
    expect(stages.length).toBeGreaterThan(3);
    await expect.poll(async () => s.page.locator('#pass-select option').count()).toBe(stages.length - 1);
    const names = await s.page.locator('#pass-select option').allTextContents();
    names.forEach((n, i) => expect(n).toContain(stages[i + 1].name));
    // Marked nodes (filled) in the picture after each pass are exactly the blocks that pass rewrote or added.
    const marked = async (host: string): Promise<number[]> => (await s.page.locator(`${host} g.node`).evaluateAll((gs) =>
      gs.filter((g) => g.querySelector('[fill="#ffe08a"], [fill="#ffc2c2"]')).map((g) => g.querySelector('title')?.textContent ?? '')))
      .map((t) => Number(t.slice(1))).sort((a, b) => a - b);
    for (let i = 1; i < stages.length; i++) {
      if (i > 1) await s.page.click('#pass-next');
      await expect.poll(async () => (await s.page.evaluate('document.body.dataset.passDrawn') as string | undefined)?.split(':')[1]).toBe(String(i));
      expect(await marked('#pass-after')).toEqual([...stages[i].changed].sort((a, b) => a - b));
      const before = new Set((await s.page.locator('#pass-before g.node title').allTextContents()).map((t) => Number(t.slice(1))));
      expect(await marked('#pass-before')).toEqual([...stages[i].removed, ...stages[i].changed].filter((id) => before.has(id)).sort((a, b) => a - b));
    }
    // Legible: in the 42-block gencode graph every node's text is drawn at least 11 px tall, and inside its box.
    expect(await s.page.locator('#cfg-before svg g.node').count()).toBeGreaterThanOrEqual(40);
    const [minText, overflow] = await s.page.evaluate(`(() => {
      let min = Infinity, out = 0;
      for (const g of document.querySelectorAll('#cfg-before svg g.node')) {
        const box = g.querySelector('polygon, path').getBoundingClientRect();
        for (const t of g.querySelectorAll('text')) {
          const r = t.getBoundingClientRect();
          min = Math.min(min, r.height);
          if (r.left < box.left - 1 || r.right > box.right + 1) out++;
        }
      }
      return [min, out];
    })()`) as [number, number];
    expect(minText).toBeGreaterThanOrEqual(11);
    expect(overflow).toBe(0);
    await s.page.selectOption('#pass-select', '3');
    await s.page.evaluate("document.getElementById('passes-title').scrollIntoView({ block: 'start' })");
    await s.page.screenshot(shot('playground-passes.png'));
  }, 120_000);

  it('a dropped capture is filtered in the browser with the count of bpfkit filter --count', async () => {
    const file = path.join(tmp, 'sample.pcap');
    expect((await runCli(['sample', '-w', file, '-c', '3000', '--seed', '7'])).status).toBe(0);
    const bytes = readFileSync(file);
    for (const expr of ['tcp', 'udp port 53', 'arp or icmp', 'tcp[tcpflags] & tcp-syn != 0']) {
      const want = await runCli(['filter', '-r', file, '--count', expr]);
      expect(want.status).toBe(0);
      const count = Number(/\d+/.exec(want.stdout)?.[0]);
      await s.page.goto(`${s.url}#filter=${encodeURIComponent(expr)}`);
      await s.page.reload();
      await s.page.waitForSelector('body[data-ready="true"]');
      // A real drop event with the file in its DataTransfer, as a drag from the desktop gives.
      // (Browser code as text: this file is type-checked without the DOM library.)
      await s.page.evaluate(`(() => {
        const data = Uint8Array.from(atob('${bytes.toString('base64')}'), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([data], 'sample.pcap'));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      })()`);
      await expect.poll(async () => s.page.locator('#matched-count').textContent(), { timeout: 20_000 }).toBe(String(count));
      expect(await s.page.locator('.pkt.match').count()).toBe(Math.min(count, await s.page.locator('.pkt.match').count()));
    }
    // The first matching row's hex view shows its bytes and an accept verdict.
    await s.page.locator('.pkt.match').first().click();
    await expect.poll(async () => s.page.locator('#packet-hex').textContent()).toMatch(/verdict [1-9]\d* \(accept\)/);
    // The packet's path through the emitted program's CFG: from B0, ending on the return that gave the verdict.
    const lastOnPath = async (): Promise<string> => {
      const nodes = await s.page.locator('#cfg-after g.node.on-path').allTextContents();
      expect(nodes.length).toBeGreaterThanOrEqual(2);
      const byId = nodes.map((t) => ({ id: Number(/^\s*b(\d+)/.exec(t)?.[1]), t })).sort((a, b) => a.id - b.id);
      expect(byId[0].id).toBe(0);
      return byId[byId.length - 1].t;
    };
    expect(await lastOnPath()).toContain('ret #262144');
    await s.page.locator('.pkt.drop').first().click();
    await expect.poll(async () => s.page.locator('#packet-hex').textContent()).toMatch(/verdict 0 \(drop\)/);
    expect(await lastOnPath()).toMatch(/ret #0(?!x)\b/);
    await s.page.locator('.pkt.match').first().click();
    // The emitted CFG with the packet's path above the packet list: a taller window for this one.
    await s.page.setViewportSize({ width: 1440, height: 1300 });
    await s.page.evaluate("document.getElementById('cfg-after').parentElement.scrollIntoView({ block: 'start' })");
    await s.page.screenshot(shot('playground-capture.png'));
    await s.page.setViewportSize({ width: 1440, height: 1000 });
  }, 180_000);

  it('the eBPF tab assembles, shows the other syntax, and runs the program in the VM with the r0 Node gets', async () => {
    await s.page.goto(s.url);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await s.page.locator('#tab-filter').focus();
    await s.page.keyboard.press('ArrowRight');
    expect(await s.page.locator('#panel-ebpf').isVisible()).toBe(true);
    // CodeMirror draws the document as one .cm-line per line.
    const asm = (await s.page.locator('#ebpf-input .cm-line').allTextContents()).join('\n');
    expect(asm).toContain('exit');
    const insns = ebpf.assembleLlvm(asm);
    expect((await s.page.locator('#ebpf-disasm').textContent()) ?? '').toBe(`; conformance syntax\n${ebpf.disassembleConformance(insns)}`);
    const packets = Array.from(pcap.synthesizeTraffic({ count: 3 }));
    for (let i = 0; i < 3; i++) {
      const prog = ebpf.load({ name: 't', type: ASM_TYPE, insns, license: 'GPL' }, { engine: 'interp' });
      const want = prog.run({ data: packets[i].data }).r0;
      prog.close();
      await s.page.selectOption('#ebpf-packet', String(i));
      await s.page.click('#ebpf-run');
      await expect.poll(async () => s.page.locator('#ebpf-result').getAttribute('data-r0')).toBe(String(want));
    }
    // A line that does not assemble is reported with its line number.
    await s.page.locator('#ebpf-input .cm-line').nth(1).click();
    await s.page.keyboard.press('End');
    await s.page.keyboard.type(' bogus');
    await expect.poll(async () => s.page.locator('#ebpf-error').textContent()).toMatch(/line 2/);
    await s.page.keyboard.press('Control+Z');
    await expect.poll(async () => s.page.locator('#ebpf-error').textContent()).toBe('');
    await expect.poll(async () => s.page.locator('#ebpf-verifier').textContent()).toMatch(/^accepted: processed \d+ insns/);
    expect(() => verify({ name: 't', type: ASM_TYPE, insns, license: 'GPL' })).not.toThrow();
    await s.page.click('#ebpf-run');
  }, 120_000);

  it('stepping the VM shows the registers, stack and verifier state Node computes for the same run', async () => {
    await s.page.goto(`${s.url}#ebpf=`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await s.page.locator('#tab-ebpf').click();
    const asm = (await s.page.locator('#ebpf-input .cm-line').allTextContents()).join('\n');
    const spec = { name: 't', type: ASM_TYPE, insns: ebpf.assembleLlvm(asm), license: 'GPL' };
    // The sample packet whose run is longest (the one that gets furthest into the filter).
    const packets = Array.from(pcap.synthesizeTraffic({ count: 3 }));
    const traces = packets.map((p) => traceRun(ebpf.load(spec, { engine: 'interp' }), { data: p.data }));
    const pick = traces.reduce((best, t, i) => (t.steps.length > traces[best].steps.length ? i : best), 0);
    const t = traces[pick];
    expect(t.steps.length).toBeGreaterThan(6);
    const states = verify(spec, { insnStates: true }).insnStates!;
    await s.page.selectOption('#ebpf-packet', String(pick));
    const regsShown = async (): Promise<string[]> => s.page.locator('#step-regs tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-value') ?? ''));
    const check = async (n: number): Promise<void> => {
      await expect.poll(async () => s.page.locator('#step-pos').getAttribute('data-step')).toBe(String(n));
      const step = t.steps[n];
      expect(await regsShown()).toEqual(step.regs.map(String));
      expect(await s.page.locator('#step-listing .cur').getAttribute('data-slot')).toBe(String(step.pc));
      const verifier = (await s.page.locator('#step-verifier').textContent()) ?? '';
      expect(states[step.pc].length).toBeGreaterThan(0);
      for (const part of states[step.pc][0].split(' ')) expect(verifier).toContain(part);
    };
    await s.page.click('#step-next');
    await check(1);
    // One visible line per instruction, each below the last.
    const ys = await s.page.locator('#step-listing > div').evaluateAll((ls) => ls.map((l) => l.getBoundingClientRect().top));
    expect(ys.length).toBe(spec.insns.length);
    ys.slice(1).forEach((y, i) => expect(y).toBeGreaterThan(ys[i]));
    await s.page.click('#step-reset');
    // Step by step with the button, then with the keyboard in the listing, then back.
    for (let n = 1; n <= 4; n++) {
      await s.page.click('#step-next');
      await check(n);
    }
    await s.page.locator('#step-listing').focus();
    await s.page.keyboard.press('ArrowRight');
    await check(5);
    await s.page.keyboard.press('ArrowLeft');
    await s.page.keyboard.press('ArrowLeft');
    await check(3);
    // Several at once, then to the end: the status says the run's r0.
    await s.page.fill('#step-count', '3');
    await s.page.click('#step-next');
    await check(6);
    await s.page.fill('#step-count', '1');
    await s.page.click('#step-end');
    await expect.poll(async () => s.page.locator('#step-pos').textContent()).toContain(`exit, r0 = ${t.result!.r0} `);
    expect((await regsShown())[0]).toBe(String(t.result!.r0));
    await s.page.click('#step-reset');
    await s.page.click('#step-next');
    await s.page.click('#step-next');
    await check(2);
    await s.page.evaluate("document.getElementById('step-title').scrollIntoView({ block: 'start' })");
    await s.page.screenshot(shot('playground-ebpf-step.png'));
  }, 120_000);

  it('a program the verifier rejects has its failing instruction underlined and explained', async () => {
    await s.page.goto(`${s.url}#ebpf=`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await s.page.locator('#tab-ebpf').click();
    await s.page.selectOption('#ebpf-example', 'rejected');
    await expect.poll(async () => s.page.locator('#ebpf-verifier').getAttribute('data-insn')).not.toBeNull();
    const asm = (await s.page.locator('#ebpf-input .cm-line').allTextContents()).join('\n');
    const insns = ebpf.assembleLlvm(asm);
    let want: VerifierError | undefined;
    try {
      verify({ name: 't', type: ASM_TYPE, insns, license: 'GPL' }, { logLevel: 2 });
    } catch (e) {
      if (e instanceof VerifierError) want = e;
      else throw e;
    }
    expect(want).toBeDefined();
    expect(await s.page.locator('#ebpf-verifier').getAttribute('data-insn')).toBe(String(want!.insn));
    const text = (await s.page.locator('#ebpf-verifier').textContent()) ?? '';
    expect(text.startsWith(`rejected at insn ${want!.insn}: ${want!.kernelMessage}`)).toBe(true);
    // The underlined line is the instruction the verifier names (lines = instructions in this program).
    const underlined = await s.page.locator('.cm-lintRange-error').allTextContents();
    expect(underlined.join('')).toBe(asm.split('\n')[want!.insn]);
    expect(asm.split('\n')[want!.insn]).toBe('r0 = *(u32 *)(r6 + 4000)');
    await s.page.screenshot(shot('playground-ebpf.png'));
  }, 120_000);

  it.skipIf(skipReason('ELF with BTF line info', { commands: ['clang-19'] }) !== undefined)('an ELF object dropped on the page is verified, and a rejection names its C source line from BTF', async () => {
    const src = path.join(tmp, 'bad_read.c');
    writeFileSync(src, '#define SEC(n) __attribute__((section(n), used))\nSEC("socket")\nint bad_read(void *ctx)\n{\n\treturn *(int *)((char *)ctx + 4000);\n}\nchar LICENSE[] SEC("license") = "GPL";\n');
    const obj = path.join(tmp, 'bad_read.o');
    execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-c', src, '-o', obj]);
    const spec = elf.loadCollectionSpec(new Uint8Array(readFileSync(obj))).programs.get('bad_read')!;
    let want: VerifierError | undefined;
    try { verify(spec); } catch (e) { if (e instanceof VerifierError) want = e; else throw e; }
    expect(want?.source?.line).toBe(5);
    await s.page.goto(`${s.url}#ebpf=`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await s.page.locator('#tab-ebpf').click();
    await s.page.evaluate(`(() => {
      const data = Uint8Array.from(atob('${readFileSync(obj).toString('base64')}'), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], 'bad_read.o'));
      document.getElementById('ebpf-editor').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await expect.poll(async () => s.page.locator('#elf-program').inputValue()).toBe('bad_read');
    await expect.poll(async () => s.page.locator('#ebpf-verifier').getAttribute('data-insn')).toBe(String(want!.insn));
    const text = (await s.page.locator('#ebpf-verifier').textContent()) ?? '';
    expect(text).toContain(`rejected at insn ${want!.insn}: ${want!.kernelMessage}`);
    expect(text).toContain(`source: ${want!.source!.file}:5: ${want!.source!.text}`);
    expect(want!.source!.text).toContain('ctx + 4000');
  }, 120_000);

  it('works offline once loaded: the service worker serves the page, and compile, draw and the VM still run', async () => {
    await s.page.goto(s.url);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await expect.poll(async () => s.page.evaluate('!!navigator.serviceWorker.controller'), { timeout: 20_000 }).toBe(true);
    await s.context.setOffline(true);
    try {
      const expr = 'udp port 53 or icmp';
      await s.page.goto(`${s.url}#filter=${encodeURIComponent(expr)}`);
      await s.page.reload();
      await s.page.waitForSelector('body[data-ready="true"]');
      expect(await listing().textContent()).toBe((await runCli(['compile', '-d', expr])).stdout);
      await expect.poll(async () => s.page.locator('#cfg-after svg g.node').count()).toBeGreaterThan(2);
      await s.page.locator('#tab-ebpf').click();
      await s.page.click('#ebpf-run');
      await expect.poll(async () => s.page.locator('#ebpf-result').getAttribute('data-r0')).not.toBeNull();
    } finally {
      await s.context.setOffline(false);
    }
  }, 120_000);

  it('the trace tab compiles a bpftrace program and runs BEGIN/END in the VM with the output Node gets', async () => {
    const source = 'BEGIN { @a[7] = 3; @n = count(); @n = count(); printf("x=%d\\n", 41 + 1); exit(); }';
    await s.page.goto(`${s.url}#trace=${encodeURIComponent(source)}`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    expect(await s.page.locator('#tab-trace').getAttribute('aria-selected')).toBe('true');
    const ncpus = Number(await s.page.evaluate('navigator.hardwareConcurrency || 1'));
    const want = await runTraceInVm(source, { ncpus });
    expect(want.output).toContain('x=42');
    await expect.poll(async () => s.page.locator('#trace-output').getAttribute('data-done')).not.toBeNull();
    expect(await s.page.locator('#trace-output').textContent()).toBe(want.output + (want.exitCode !== undefined ? `\n[exit ${want.exitCode}]` : ''));
    const programs = (await s.page.locator('#trace-programs').textContent()) ?? '';
    for (const p of want.compiled.probes) expect(programs).toContain(ebpf.disassembleLlvm(p.spec.insns));
    expect(await s.page.locator('#trace-maps').textContent()).toContain('@a');
    // A syntax error is reported with bpftrace's position and underlined.
    await s.page.locator('#trace-input').click();
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.insertText('BEGIN { @x = ; }');
    await expect.poll(async () => s.page.locator('#trace-error').textContent()).toMatch(/line 1/);
    expect(await s.page.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
    await s.page.keyboard.press('Control+Z');
    await s.page.goto(`${s.url}#trace=`);
    await s.page.reload();
    await s.page.waitForSelector('body[data-ready="true"]');
    await s.page.locator('#tab-trace').click();
    await expect.poll(async () => s.page.locator('#trace-output').getAttribute('data-done')).not.toBeNull();
    await s.page.screenshot(shot('playground-trace.png'));
  }, 120_000);
});
