/** `bpfkit exporter --config FILE`: trace maps served as Prometheus metrics (counters, gauges, histograms with `le` buckets), OpenMetrics when asked. */

import type { Command } from './command.js';
import { isHistogram } from '../trace/api.js';
import type { HistogramData, MapEntryData, Plain, Trace } from '../trace/index.js';

/** One metric over one language map (ebpf_exporter's counter/gauge/histogram entries, with `map` naming the trace map). */
interface MetricConfig {
  name: string;
  help?: string;
  map: string;
  /** Label names for the map's key parts, in order. */
  labels?: { name: string }[];
  /** Multiplies values (and histogram bounds), e.g. 1e-6 for microseconds to seconds. */
  scale?: number;
}

interface ProgramConfig {
  name: string;
  /** The trace-language program, inline or in a file (relative to the config). */
  source?: string;
  file?: string;
  metrics: { counters?: MetricConfig[]; gauges?: MetricConfig[]; histograms?: MetricConfig[] };
}

interface ExporterConfig {
  programs: ProgramConfig[];
}

const HELP = `usage: bpfkit exporter --config FILE [--listen HOST:PORT]

Loads the config's trace programs and serves their maps as Prometheus metrics on
http://HOST:PORT/metrics (default 127.0.0.1:9435), OpenMetrics when the scraper asks
for it. The config (JSON) is shaped like cloudflare/ebpf_exporter's:

  { "programs": [ { "name": "syscalls",
      "source": "tracepoint:raw_syscalls:sys_enter { @calls[comm] = count(); }",
      "metrics": { "counters": [ { "name": "syscalls_total", "help": "System calls",
                                   "map": "@calls", "labels": [ { "name": "comm" } ] } ] } } ] }`;

export class ConfigError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Validates a parsed exporter config; ConfigError names the first problem. */
export function checkConfig(c: unknown): ExporterConfig {
  const cfg = c as ExporterConfig;
  if (!cfg || !Array.isArray(cfg.programs) || !cfg.programs.length) throw new ConfigError('config: "programs" must be a non-empty array');
  for (const [i, p] of cfg.programs.entries()) {
    if (typeof p.name !== 'string') throw new ConfigError(`config: programs[${i}].name must be a string`);
    if (typeof p.source !== 'string' && typeof p.file !== 'string') throw new ConfigError(`config: program ${p.name} needs "source" or "file"`);
    for (const kind of ['counters', 'gauges', 'histograms'] as const) {
      for (const m of p.metrics?.[kind] ?? []) {
        if (typeof m.name !== 'string' || !NAME.test(m.name)) throw new ConfigError(`config: program ${p.name}: invalid metric name ${JSON.stringify(m.name)}`);
        if (typeof m.map !== 'string') throw new ConfigError(`config: metric ${m.name}: "map" must name a trace map (@name)`);
        for (const l of m.labels ?? []) if (!NAME.test(l.name) || l.name.startsWith('__')) throw new ConfigError(`config: metric ${m.name}: invalid label name ${JSON.stringify(l.name)}`);
      }
    }
  }
  return cfg;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function plainText(p: Plain): string {
  return typeof p === 'bigint' || typeof p === 'string' || typeof p === 'boolean' ? String(p) : JSON.stringify(p, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}

function labelText(m: MetricConfig, key: Plain[], extra: [string, string][] = []): string {
  const pairs: [string, string][] = (m.labels ?? []).map((l, i) => [l.name, key[i] === undefined ? '' : plainText(key[i])]);
  const all = [...pairs, ...extra];
  return all.length ? `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
}

function number(v: bigint, scale: number | undefined): string {
  if (scale === undefined) return v.toString();
  // 1e-6 and such: divide by the exact inverse, so 15 µs prints 0.000015 rather than 0.000014999….
  const inv = Math.round(1 / scale);
  return String(scale < 1 && Math.abs(1 / scale - inv) < 1e-6 ? Number(v) / inv : Number(v) * scale);
}

/** The exposition of one metric from a map's entries (text format 0.0.4, or OpenMetrics). */
export function exposeMetric(kind: 'counter' | 'gauge' | 'histogram', m: MetricConfig, entries: MapEntryData[], openMetrics: boolean): string {
  // OpenMetrics names a counter's family without `_total`; its samples carry it.
  const family = kind === 'counter' && openMetrics ? m.name.replace(/_total$/, '') : m.name;
  let s = `# HELP ${family} ${escapeHelp(m.help ?? m.name)}\n# TYPE ${family} ${kind}\n`;
  for (const e of entries) {
    if (kind === 'histogram') {
      if (!isHistogram(e.value)) continue;
      const h: HistogramData = e.value;
      let cum = 0n;
      for (const b of h.buckets) {
        cum += b.count;
        if (b.high === undefined) continue;
        // Integer values in [low, high): the largest is high - 1, so `le` is exact.
        s += `${m.name}_bucket${labelText(m, e.key, [['le', number(b.high - 1n, m.scale)]])} ${cum}\n`;
      }
      s += `${m.name}_bucket${labelText(m, e.key, [['le', '+Inf']])} ${cum}\n`;
      s += `${m.name}_count${labelText(m, e.key)} ${cum}\n`;
      continue;
    }
    const v = e.value;
    const stats = typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && v.kind === 'stats' ? v.average : undefined;
    const n = typeof v === 'bigint' ? v : typeof stats === 'bigint' ? stats : undefined;
    if (n === undefined) continue;
    const sample = kind === 'counter' && openMetrics && !m.name.endsWith('_total') ? `${m.name}_total` : m.name;
    s += `${sample}${labelText(m, e.key)} ${number(n, m.scale)}\n`;
  }
  return s;
}

/** `bpfkit exporter`. */
export const exporterCommand: Command = {
  name: ['exporter'],
  summary: 'serve trace maps as Prometheus/OpenMetrics metrics (ebpf_exporter-style config)',
  help: HELP,
  async run(argv, io) {
    let configPath: string | undefined;
    let listen = '127.0.0.1:9435';
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--config' || a === '-c') configPath = argv[++i];
      else if (a.startsWith('--config=')) configPath = a.slice(9);
      else if (a === '--listen') listen = argv[++i] ?? '';
      else if (a.startsWith('--listen=')) listen = a.slice(9);
      else if (a === '--help' || a === '-h') {
        io.stdout(`${HELP}\n`);
        return 0;
      } else {
        io.stderr(`exporter: unrecognized argument '${a}'\n${HELP}\n`);
        return 1;
      }
    }
    if (!configPath) {
      io.stderr(`exporter: --config FILE is required\n${HELP}\n`);
      return 1;
    }
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m || Number(m[2]) > 65535) {
      io.stderr(`exporter: invalid --listen '${listen}' (HOST:PORT)\n`);
      return 1;
    }
    const fs = await import('node:fs');
    const path = await import('node:path');
    let cfg: ExporterConfig;
    try {
      let text: string;
      try {
        text = fs.readFileSync(configPath, 'utf8');
      } catch (e) {
        throw new ConfigError(`cannot read ${configPath}: ${(e as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new ConfigError(`${configPath}: ${(e as Error).message}`);
      }
      cfg = checkConfig(parsed);
    } catch (e) {
      if (e instanceof ConfigError) {
        io.stderr(`exporter: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const trace = await import('../trace/api.js');
    const running: { p: ProgramConfig; t: Trace }[] = [];
    const closeAll = async (): Promise<void> => {
      for (const r of running.splice(0)) await r.t.close();
    };
    try {
      for (const p of cfg.programs) {
        const source = p.source ?? fs.readFileSync(path.resolve(path.dirname(configPath), p.file!), 'utf8');
        const t = await trace.attach(source);
        running.push({ p, t });
        // Every configured map must exist in its program.
        for (const kind of ['counters', 'gauges', 'histograms'] as const) for (const mc of p.metrics?.[kind] ?? []) t.maps.get(mc.map);
      }
    } catch (e) {
      await closeAll();
      if (e instanceof Error && 'code' in e) {
        io.stderr(`exporter: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const scrape = async (openMetrics: boolean): Promise<string> => {
      let s = '';
      for (const { p, t } of running) {
        for (const [kind, list] of [['counter', p.metrics.counters], ['gauge', p.metrics.gauges], ['histogram', p.metrics.histograms]] as const) {
          for (const mc of list ?? []) s += exposeMetric(kind, mc, await t.maps.get(mc.map).entries(), openMetrics);
        }
      }
      return openMetrics ? `${s}# EOF\n` : s;
    };
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics' && !req.url?.startsWith('/metrics?')) {
        res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/plain' });
        res.end(req.url === '/' ? 'bpfkit exporter: see /metrics\n' : 'not found\n');
        return;
      }
      const om = /application\/openmetrics-text/.test(req.headers.accept ?? '');
      scrape(om).then((body) => {
        res.writeHead(200, { 'Content-Type': om ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(body);
      }, (e: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`${(e as Error).message}\n`);
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(m[2]), m[1], () => resolve());
      });
    } catch (e) {
      await closeAll();
      io.stderr(`exporter: cannot listen on ${listen}: ${(e as Error).message}\n`);
      return 1;
    }
    const addr = server.address();
    io.stdout(`Listening on http://${m[1]}:${typeof addr === 'object' && addr ? addr.port : m[2]}/metrics\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    server.close();
    await closeAll();
    return 0;
  },
};
