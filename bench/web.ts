/**
 * Benchmark of the playground in headless Chromium: page load (served, and offline from the
 * service worker), compile + draw (both CFGs) per expression of libpcap's corpus and then the
 * optimizer's pass-by-pass pictures, stepping the VM, and filtering a 100k-packet capture in the
 * browser vs in Node. Never fails on a number; prints why when Chromium or the corpus is missing.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileFilter, pcap } from '../src/index.js';
import { runCli } from '../test/helpers/cli.js';
import { corpusDir } from '../test/helpers/reference.js';
import { CHROMIUM, openSession } from '../test/web/browser.js';
import { existsSync } from 'node:fs';

const PACKETS = 100_000;
const FILTER_EXPR = 'tcp port 443 or udp port 53';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`skip: ${CHROMIUM} not found (apt-get install chromium)`);
    return;
  }
  const corpus = JSON.parse(readFileSync(path.join(corpusDir, 'pcap-filter/libpcap-tests.json'), 'utf8')) as { kind: string; expr: string; linktype: string; expect: string }[];
  // Expressions the page compiles as is: Ethernet, no host/service names (the page has no resolver).
  const exprs = [...new Set(corpus.filter((c) => c.kind === 'accept' && c.linktype === 'EN10MB' && c.expect === 'ok' && !c.expr.startsWith('_')).map((c) => c.expr))]
    .filter((e) => { try { compileFilter(e, { netmask: 0 }); return true; } catch { return false; } });

  const s = await openSession();
  const tmp = mkdtempSync(path.join(tmpdir(), 'bpfkit-bench-web-'));
  try {
    const page = s.page;
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await page.goto(`${s.url}?n=${i}#filter=tcp`, { waitUntil: 'load' });
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('#cfg-after svg');
      loads.push(performance.now() - t0);
    }
    console.log(`page load to first CFG drawn: median ${median(loads).toFixed(0)} ms (5 loads, served from 127.0.0.1)`);
    // Offline: the service worker answers from its cache.
    await page.waitForFunction('!!navigator.serviceWorker.controller', undefined, { timeout: 20_000 });
    await s.context.setOffline(true);
    const offline: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await page.reload({ waitUntil: 'load' });
        await page.waitForSelector('body[data-ready="true"]');
        await page.waitForSelector('#cfg-after svg');
        offline.push(performance.now() - t0);
      }
    } finally {
      await s.context.setOffline(false);
    }
    console.log(`page reload offline (service worker cache) to first CFG drawn: median ${median(offline).toFixed(0)} ms (5 reloads)`);

    const draw: number[] = [];
    const passes: number[] = [];
    let worst = { ms: 0, expr: '', insns: 0 };
    await page.locator('#filter-input').click();
    for (const expr of exprs) {
      const before = await page.evaluate('document.body.dataset.drawn');
      await page.keyboard.press('Control+A');
      // insertText('') changes nothing: the empty expression (accept all) is a deletion.
      if (expr === '') await page.keyboard.press('Backspace');
      else await page.keyboard.insertText(expr);
      try {
        await page.waitForFunction(`document.body.dataset.drawn !== ${JSON.stringify(before)}`, undefined, { timeout: 10_000 });
      } catch {
        console.log(`not drawn in 10 s: ${expr} (${await page.locator('#filter-error').textContent()})`);
        continue;
      }
      const ms = Number(await page.evaluate('document.body.dataset.drawMs'));
      draw.push(ms);
      const seq = await page.evaluate('document.body.dataset.drawn');
      await page.waitForFunction(`document.body.dataset.passesFor === ${JSON.stringify(seq)}`, undefined, { timeout: 10_000 }).then(
        async () => passes.push(Number(await page.evaluate('document.body.dataset.passesMs'))),
        () => console.log(`passes not drawn in 10 s: ${expr}`),
      );
      if (ms > worst.ms) worst = { ms, expr, insns: compileFilter(expr, { netmask: 0 }).insns.length };
    }
    const under = draw.filter((x) => x < 50).length;
    console.log(`compile + draw both CFGs, ${exprs.length} corpus expressions: median ${median(draw).toFixed(1)} ms, p90 ${pct(draw, 0.9).toFixed(1)} ms, max ${worst.ms.toFixed(1)} ms (${worst.insns} insns: ${worst.expr.slice(0, 60)}); ${under}/${draw.length} under 50 ms`);
    console.log(`  then, after a 120 ms pause in typing, the optimizer's pass-by-pass pictures (optimizer traced + first pass drawn): median ${median(passes).toFixed(1)} ms, p90 ${pct(passes, 0.9).toFixed(1)} ms, max ${Math.max(...passes).toFixed(1)} ms`);

    // Stepping: the default eBPF example on each sample packet, recorded and drawn to the end.
    await page.goto(`${s.url}?step#ebpf=`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#tab-ebpf').click();
    const steps: string[] = [];
    for (const pkt of ['0', '1', '2']) {
      await page.selectOption('#ebpf-packet', pkt);
      const ms = Number(await page.evaluate(`(() => { const t0 = performance.now(); document.getElementById('step-end').click(); return performance.now() - t0; })()`));
      steps.push(`${(await page.locator('#step-pos').getAttribute('data-step')) ?? '?'} insns in ${ms.toFixed(1)} ms`);
    }
    console.log(`VM stepping (record the run, draw to the end), default example per sample packet: ${steps.join(', ')}`);

    const file = path.join(tmp, 'big.pcap');
    await runCli(['sample', '-w', file, '-c', String(PACKETS), '--seed', '3']);
    const bytes = readFileSync(file);
    const packets = pcap.readCapture(bytes).packets;
    const prog = compileFilter(FILTER_EXPR, { netmask: 0 });
    const nodeRuns: number[] = [];
    let nodeMatched = 0;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      nodeMatched = 0;
      for (const p of packets) if (prog.matchAt(p.data, 0, p.data.length, p.origLen) !== 0) nodeMatched++;
      nodeRuns.push(performance.now() - t0);
    }
    await page.goto(`${s.url}?big#filter=${encodeURIComponent(FILTER_EXPR)}`);
    await page.waitForSelector('body[data-ready="true"]');
    const browserRuns: number[] = [];
    let browserMatched = '';
    const b64 = bytes.toString('base64');
    for (let r = 0; r < 5; r++) {
      await page.evaluate(`(() => {
        const data = Uint8Array.from(atob('${b64}'), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([data], 'big${r}.pcap'));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      })()`);
      await page.waitForFunction(`document.getElementById('capture-status').textContent.startsWith('big${r}.pcap')`, undefined, { timeout: 120_000 });
      browserRuns.push(Number(await page.evaluate(`document.getElementById('capture-status').dataset.filterMs`)));
      browserMatched = (await page.locator('#matched-count').textContent()) ?? '';
    }
    const rate = (ms: number): string => `${((PACKETS / ms) * 1000 / 1e6).toFixed(1)} M packets/s`;
    console.log(`'${FILTER_EXPR}' over ${PACKETS} packets (JIT, filtering loop only): browser median ${median(browserRuns).toFixed(1)} ms = ${rate(median(browserRuns))} (${browserMatched} matched); Node median ${median(nodeRuns).toFixed(1)} ms = ${rate(median(nodeRuns))} (${nodeMatched} matched); ratio browser/Node ${(median(browserRuns) / median(nodeRuns)).toFixed(2)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await s.close();
  }
}

await main();
