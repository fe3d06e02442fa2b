/**
 * Runs compiled trace programs in bpfkit's VM with synthetic events (no kernel, no root): BEGIN,
 * then each given probe firing with its context bytes, then END and the maps, printed as bpftrace does.
 */

import { createMap, load } from '../ebpf/index.js';
import type { VmHost, VmMap, VmProgram } from '../ebpf/index.js';
import { withCallbackFuncInfo } from './callbacks.js';
import { compileTrace } from './compiler.js';
import type { CompileOptions, CompiledProgram } from './compiler.js';
import { TraceOutput, formatPrintf } from './format/index.js';
import type { OutputMode } from './format/index.js';
import { dumpMap, enumNames, eventDecoder, symbolize, zeroValue } from './map-dump.js';
import { OrderedEvents } from './ordered-events.js';
import { decodeValue, readInt } from './types.js';
import type { TraceType, Value } from './types.js';

/** One synthetic firing of a probe: which probe (by its canonical name, `tracepoint:syscalls:sys_enter_read`), and its context. */
export interface VmProbeEvent {
  probe: string;
  /** Context bytes (a tracepoint record, raw tracepoint args, pt_regs). */
  ctx?: Uint8Array;
  /** Task and clocks for this firing. */
  host?: VmHost;
}

export interface VmTraceOptions extends CompileOptions {
  format?: OutputMode;
  /** Default task, clocks and memory for every run. */
  host?: VmHost;
  events?: readonly VmProbeEvent[];
}

export interface VmTraceResult {
  /** Everything printed (stdout and diagnostics interleaved, as a terminal shows them). */
  output: string;
  /** The exit() code, when a probe called exit(). */
  exitCode?: number;
  compiled: CompiledProgram;
  /** The BPF maps by name, for tests that look inside. */
  maps: ReadonlyMap<string, VmMap>;
}

/** Compiles `source` and runs it in the VM: BEGIN, the given events in order (until exit()), END, then the maps. */
export async function runTraceInVm(source: string, options: VmTraceOptions = {}): Promise<VmTraceResult> {
  const compiled = compileTrace(source, options);
  const maps = new Map<string, VmMap>();
  for (const ms of compiled.maps) maps.set(ms.name, createMap(ms));
  const programs: { probe: string; provider: string; prog: VmProgram }[] = compiled.probes.map((p) => ({
    probe: p.probe.name,
    provider: p.probe.provider,
    prog: load(withCallbackFuncInfo(p.spec), { maps, engine: 'interp', host: options.host }),
  }));
  let text = '';
  const format = options.format ?? 'text';
  const output = new TraceOutput(format, { out: (t) => { text += t; } }, { enums: compiled.enums });
  const decode = eventDecoder(compiled.events);
  let exitCode: number | undefined;
  let exited = false;
  const ring = maps.get(compiled.ringbuf) as unknown as { consume(cb: (r: { data: Uint8Array }) => void): number };
  const events = new OrderedEvents((data): void | Promise<void> => {
      const ev = decode(data);
      if (!ev || exited) return;
      const { desc, bytes } = ev;
      const args = (list: { type: TraceType; offset: number }[]): Value[] => list.map((a) => decodeValue(a.type, bytes, a.offset));
      switch (desc.kind) {
        case 'printf':
          if (desc.level) text += `${desc.level === 'error' ? 'ERROR' : 'WARNING'}: ${formatPrintf(desc.fmt, args(desc.args), { enums: compiled.enums })}\n`;
          else output.printf(formatPrintf(desc.fmt, enumNames(desc.fmt, args(desc.args), desc.args, compiled.enums), { enums: compiled.enums }));
          return;
        case 'print': {
          const v = decodeValue(desc.type, bytes, desc.offset);
          output.value(format === 'text' ? symbolize(v, compiled.enums) : v);
          return;
        }
        case 'printMap': {
          const info = compiled.mapInfo.get(desc.map)!;
          return dumpMap(info, maps.get(info.bpfName)!, maps.get(info.bpfName)!.cpus).then((d) => {
            output.map(!d.keyed && !d.entries.length ? { ...d, entries: [{ key: [], value: zeroValue(info) }] } : d, { top: desc.top, div: desc.div === undefined ? undefined : BigInt(desc.div) });
          });
        }
        case 'clear': case 'zero': {
          const info = compiled.mapInfo.get(desc.map)!;
          const m = maps.get(info.bpfName)!;
          return (async () => {
            const keys: Uint8Array[] = [];
            for await (const k of m.keys()) keys.push(k);
            for (const k of keys) {
              if (desc.kind === 'zero') m.set(k, new Uint8Array(m.syscallValueSize));
              else m.delete(k);
            }
          })();
        }
        case 'exit':
          exitCode = bytes.length >= 16 ? Number(readInt(bytes, 8, 64, true)) & 0xff : 0;
          exited = true;
          return;
        case 'warning':
          text += `WARNING: ${desc.message}\n`;
          return;
        case 'runtimeError':
          text += `WARNING: ${desc.message}\n`;
          return;
        default:
      }
  });
  const drain = async (): Promise<void> => {
    ring.consume(({ data }) => events.push(data));
    await events.settle();
  };
  const fire = async (match: (p: { probe: string; provider: string }) => boolean, ctx: Uint8Array, host?: VmHost): Promise<void> => {
    for (const p of programs) {
      if (!match(p)) continue;
      if (host) {
        const again = load(withCallbackFuncInfo(compiled.probes.find((x) => x.probe.name === p.probe)!.spec), { maps, engine: 'interp', host: { ...options.host, ...host } });
        again.run({ ctx });
      } else p.prog.run({ ctx });
      await drain();
    }
  };
  await fire((p) => p.provider === 'begin', new Uint8Array(8));
  for (const ev of options.events ?? []) {
    if (exited) break;
    await fire((p) => p.probe === ev.probe, ev.ctx ?? new Uint8Array(8), ev.host);
  }
  exited = false;
  await fire((p) => p.provider === 'end', new Uint8Array(8));
  if (format === 'text') output.end();
  const printMaps = compiled.config.get('print_maps_on_exit');
  for (const name of printMaps === 0n ? [] : compiled.mapOrder) {
    const info = compiled.mapInfo.get(name);
    if (!info) continue;
    const d = await dumpMap(info, maps.get(info.bpfName)!, maps.get(info.bpfName)!.cpus);
    output.map(format === 'text' ? { ...d, entries: d.entries.map((e) => ({ key: e.key.map((k) => symbolize(k, compiled.enums)), value: symbolize(e.value as Value, compiled.enums) })) } : d);
  }
  return { output: text, exitCode, compiled, maps };
}
