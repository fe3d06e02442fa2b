/** compileFilter: a pcap-filter expression to a validated classic BPF program with interpret/JIT matchers. */

import { compileJit, compileJitRange, interpret, validate, type CbpfRangeFunction, type Insn } from '../cbpf/index.js';
import { ParseError, UsageError } from '../util/index.js';
import type { FilterAst } from './ast.js';
import type { Cfg } from './cfg.js';
import { dltFromName } from './dlt.js';
import { emit } from './emit.js';
import { generate, generateWithInfo } from './gencode/gencode.js';
import type { Resolver } from './names/resolver.js';
import { optimizeFilter } from './optimize/index.js';
import { parseFilter } from './parser.js';

/** Options of {@link compileFilter}, mirroring `pcap_open_dead(linkType, snaplen)` + `pcap_compile(optimize, netmask)`. */
export interface CompileFilterOptions {
  /** DLT number or libpcap name (`EN10MB`, `RAW`, ...). Default EN10MB. */
  linkType?: number | string;
  /** The value of `ret` for accepted packets. Default 262144 (tcpdump's). */
  snaplen?: number;
  /** Run the optimizer (default true). */
  optimize?: boolean;
  /** IPv4 netmask for `ip broadcast`: dotted quad or unsigned number. */
  netmask?: string | number;
  /** Host, network, ether, service and protocol names (core code never reads /etc itself). */
  resolver?: Resolver;
  /** Compile for a live Linux socket: SKF_AD loads for `inbound`/`outbound`/`ifindex`. */
  linuxExtensions?: boolean;
  /** Compile for a savefile in host (`unswapped`) or opposite (`swapped`) byte order; see {@link GenerateOptions}. */
  offlineAf?: 'unswapped' | 'swapped';
}

/** A compiled filter. */
export interface FilterProgram {
  readonly expr: string;
  readonly linkType: number;
  readonly insns: Insn[];
  readonly ast: FilterAst;
  /** The graph gencode produced, before optimization. */
  readonly cfg: Cfg;
  /** The graph that was emitted (optimized unless disabled). */
  readonly finalCfg: Cfg;
  /** Runs the program on one packet (JIT); returns 0 to drop, else the number of bytes to keep. */
  match(packet: Uint8Array, wirelen?: number): number;
  /** Runs the program on `caplen` bytes at `offset` of `buf` (a capture buffer), without making a view. */
  matchAt(buf: Uint8Array, offset: number, caplen: number, wirelen: number): number;
  /** The same through the reference interpreter. */
  interpret(packet: Uint8Array, wirelen?: number): number;
}

function netmaskValue(m: string | number | undefined): number | undefined {
  if (m === undefined) return undefined;
  if (typeof m === 'number') return m >>> 0;
  const p = m.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new UsageError('E_USAGE', `invalid netmask "${m}"`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Resolves a link type option to a DLT number; throws a UsageError for unknown names. */
export function resolveLinkType(linkType: number | string | undefined): number {
  const lt = dltFromName(linkType ?? 1);
  if (lt === undefined) throw new UsageError('E_USAGE', `unknown link type "${String(linkType)}"`);
  return lt;
}

/**
 * Compiles a pcap-filter(7) expression as libpcap's `pcap_compile` would.
 *
 * @example compileFilter('tcp port 80', { linkType: 'EN10MB' }).insns.length
 * @throws ParseError for expressions libpcap rejects (code, column, libpcap-like message)
 */
export function compileFilter(expr: string, options: CompileFilterOptions = {}): FilterProgram {
  try {
    return compileUnguarded(expr, options);
  } catch (e) {
    // Deeply nested input exhausts the JS stack; libpcap's parser has a depth limit too.
    if (e instanceof RangeError) throw new ParseError('E_FILTER_TOO_COMPLEX', 'expression too complex (nested too deeply)', { cause: e });
    throw e;
  }
}

function compileUnguarded(expr: string, options: CompileFilterOptions): FilterProgram {
  const linkType = resolveLinkType(options.linkType);
  const ast = parseFilter(expr);
  const { cfg, noOptimize } = generateWithInfo(ast, {
    linkType,
    snaplen: options.snaplen,
    netmask: netmaskValue(options.netmask),
    resolver: options.resolver,
    linuxExtensions: options.linuxExtensions,
    offlineAf: options.offlineAf,
  });
  let final = cfg;
  // libpcap leaves programs with variable 802.11 header code unoptimized.
  if ((options.optimize ?? true) && !noOptimize) {
    try {
      final = optimizeFilter(cfg);
    } catch (e) {
      // The whole expression is what rejects every packet: point at its start.
      if (e instanceof ParseError && e.code === 'E_FILTER_REJECTS_ALL' && e.position === undefined) throw new ParseError(e.code, e.detail, { position: { column: 1 }, hint: e.hint, cause: e });
      throw e;
    }
  }
  const insns = emit(final);
  // protochain is the one construct whose code loops (a wrapping `ja`), as libpcap's does.
  validate(insns, { mode: options.linuxExtensions ? 'kernel' : 'libpcap', loops: true });
  let jit: ((p: Uint8Array, w?: number) => number) | undefined;
  let jitRange: CbpfRangeFunction | undefined;
  return {
    expr,
    linkType,
    insns,
    ast,
    cfg,
    finalCfg: final,
    match(packet, wirelen) {
      jit ??= compileJit(insns);
      return jit(packet, wirelen ?? packet.length);
    },
    matchAt(buf, offset, caplen, wirelen) {
      jitRange ??= compileJitRange(insns);
      return jitRange(buf, offset, caplen, wirelen);
    },
    interpret(packet, wirelen) {
      return interpret(insns, packet, wirelen ?? packet.length);
    },
  };
}

export { parseFilter, generate };
