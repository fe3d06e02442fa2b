/** `KernelProgram`: a program loaded with bpf(PROG_LOAD), its maps bound by name, and test runs with PROG_TEST_RUN. */

import { encodeProgram } from '../ebpf/index.js';
import type { BpfProgram, Insn, ProgramSpec, TestRunOptions, TestRunResult } from '../ebpf/index.js';
import { encodeFuncInfo, encodeLineInfo } from '../elf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { BPF_PROG_INFO_SIZE, BpfCmd, decodeProgInfo, objAttr, objGetInfoAttr, progLoadAttr, progLoadLogTrueSize, testRunAttr, testRunOut } from './attr.js';
import type { ProgInfo } from './attr.js';
import { cString } from './map.js';
import type { KernelMap } from './map.js';
import { Errno, SyscallError, isErrno } from './sys.js';
import type { Sys } from './sys.js';
import { VerifierError, type VerifierExplanation } from './verifier-error.js';
import { VerifierError as BpfkitVerifierError, verify } from '../ebpf/verifier/index.js';

/** lddw pseudo sources (the `src` register field of a `lddw`). */
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;
const LDDW = 0x18;

/** Options for loading a program. */
export interface ProgramLoadOptions {
  /** Maps by the names `lddw` refs use. */
  maps?: ReadonlyMap<string, KernelMap>;
  /** Load with this log level from the start (1 = verifier log, 2 = with states) and keep the log in `verifierLog`. */
  logLevel?: number;
  /** Starting log buffer size in bytes; doubled on ENOSPC up to 16 MiB. */
  logSize?: number;
  kernVersion?: number;
  progFlags?: number;
  attachBtfId?: number;
  attachProgFd?: number;
  /**
   * When the kernel refuses the program, also run bpfkit's verifier on it and attach its explanation to the
   * {@link VerifierError} (`explanation`, `explain()`), so the kernel's log and ours are read side by side. Default true.
   */
  explain?: boolean;
  /** A loaded BTF (BPF_BTF_LOAD fd) the spec's func_info and line_info refer to: sent with them, so global functions and callbacks load and the log names source lines. */
  btfFd?: number;
}

const DEFAULT_LOG_SIZE = 1 << 20;
/** Tries of a load the verifier abandoned with EAGAIN (libbpf's count). */
const LOAD_TRIES = 5;
const MAX_LOG_SIZE = 16 << 20;
/** bpfkit verifier codes for running out of the kernel's budget (the kernel's E2BIG). */
const BUDGET_CODES: ReadonlySet<string> = new Set(['E_VERIFIER_TOO_LARGE', 'E_VERIFIER_TOO_COMPLEX']);

/** Replaces each `lddw` that names a map by the pseudo-map-fd (or map-value) form holding that map's fd. */
export function bindMaps(insns: readonly Insn[], maps: ReadonlyMap<string, { fd: number }>): Insn[] {
  return insns.map((insn, index) => {
    if (insn.code !== LDDW || insn.ref === undefined) return insn;
    const m = maps.get(insn.ref);
    if (!m) {
      throw new UsageError('E_MAP_REF', `lddw refers to map "${insn.ref}", which the program spec does not list`, { position: { insn: index } });
    }
    const src = insn.src === BPF_PSEUDO_MAP_VALUE ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
    // Map value form: the high half is the offset into the value and stays as written.
    const hi = src === BPF_PSEUDO_MAP_VALUE ? BigInt.asUintN(64, insn.imm64 ?? 0n) >> 32n : 0n;
    return { ...insn, src, imm: m.fd, imm64: (hi << 32n) | BigInt(m.fd >>> 0) };
  });
}

function newBytes(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}

/** A program in the kernel. Owns its fd and, when loaded by `Kernel.load`, the maps it created. */
export class KernelProgram implements BpfProgram {
  readonly spec: ProgramSpec;
  /** Maps by name (those the program refers to). */
  readonly maps: ReadonlyMap<string, KernelMap>;
  /** The verifier log, when loaded with `logLevel`. */
  readonly verifierLog: string | undefined;
  private readonly sys: Sys;
  private readonly ownedMaps: KernelMap[];
  private fdValue: number;

  constructor(sys: Sys, fd: number, spec: ProgramSpec, maps: ReadonlyMap<string, KernelMap>, ownedMaps: KernelMap[] = [], verifierLog?: string) {
    this.sys = sys;
    this.fdValue = fd;
    this.spec = spec;
    this.maps = maps;
    this.ownedMaps = ownedMaps;
    this.verifierLog = verifierLog;
  }

  /**
   * Loads a program. On failure it loads again with a verifier log (as libbpf does) and
   * throws a {@link VerifierError} whose message is the log's last meaningful line.
   * `ownedMaps` are closed with the program.
   */
  static load(sys: Sys, spec: ProgramSpec, options: ProgramLoadOptions = {}, ownedMaps: KernelMap[] = []): KernelProgram {
    const maps = options.maps ?? new Map<string, KernelMap>();
    let bytes: Uint8Array;
    try {
      bytes = encodeProgram(bindMaps(spec.insns, maps));
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext(`load program "${spec.name}"`) : e;
    }
    if (bytes.length === 0) throw new UsageError('E_USAGE', `load program "${spec.name}": the program has no instructions`);
    const insns = newBytes(bytes.length);
    insns.set(bytes);
    const license = cString(spec.license);
    // func_info/line_info only mean something with the BTF they index.
    const funcInfo = options.btfFd !== undefined && spec.funcInfo?.length ? copyOf(encodeFuncInfo(spec)) : undefined;
    const lineInfo = options.btfFd !== undefined && spec.lineInfo?.length ? copyOf(encodeLineInfo(spec)) : undefined;
    let lastAttr: Uint8Array | undefined;
    const once = (logLevel: number, logBuf?: Uint8Array): number =>
      sys.bpf(BpfCmd.BPF_PROG_LOAD, lastAttr = progLoadAttr({
        progType: spec.type, insns: sys.addressOf(insns), insnCnt: insns.length / 8, license: sys.addressOf(license),
        logLevel, logBuf: logBuf ? sys.addressOf(logBuf) : 0n, logSize: logBuf?.length ?? 0,
        kernVersion: options.kernVersion, progFlags: options.progFlags, name: spec.name,
        expectedAttachType: spec.expectedAttachType, attachBtfId: options.attachBtfId, attachProgFd: options.attachProgFd,
        progBtfFd: options.btfFd, funcInfo: funcInfo ? sys.addressOf(funcInfo) : 0n, funcInfoCnt: (funcInfo?.length ?? 0) / 8,
        lineInfo: lineInfo ? sys.addressOf(lineInfo) : 0n, lineInfoCnt: (lineInfo?.length ?? 0) / 16,
      }));
    // The verifier gives up with EAGAIN when a signal is pending (a profiler's SIGPROF, a child's
    // SIGCHLD): the program is not at fault, so load again, as libbpf does (up to 5 tries).
    const trueSize = (): number => (lastAttr ? progLoadLogTrueSize(lastAttr) : 0);
    // bpfkit's verdict on a refused program, computed once (a program that ran out of the budget takes a second).
    let explained: VerifierExplanation | undefined;
    const explain = (): VerifierExplanation | undefined => (explained ??= explainWithBpfkit(spec, maps, options.btfFd !== undefined));
    const attempt = (logLevel: number, logBuf?: Uint8Array): number => {
      for (let tries = 1; ; tries++) {
        try {
          return once(logLevel, logBuf);
        } catch (e) {
          if (tries >= LOAD_TRIES || !isErrno(e, 'EAGAIN')) throw e;
          logBuf?.fill(0);
        }
      }
    };

    try {
      if (options.logLevel) {
        const { fd, log } = withLog(spec, options.logSize ?? DEFAULT_LOG_SIZE, (buf) => attempt(options.logLevel ?? 1, buf), trueSize);
        return new KernelProgram(sys, fd, spec, maps, ownedMaps, log);
      }
      try {
        return new KernelProgram(sys, attempt(0), spec, maps, ownedMaps);
      } catch (first) {
        if (!(first instanceof SyscallError) || first.errno === Errno.EPERM || first.errno === Errno.EBADF || first.errno === Errno.EAGAIN) {
          throw first instanceof BpfkitError ? first.withContext(`load program "${spec.name}"`) : first;
        }
        // E2BIG: the program ran out of the kernel's budget (1M processed instructions, or too many pending jumps).
        // The kernel's log of such a run takes several times as long again to write; when bpfkit's verifier runs out
        // of the same budget, its words (the kernel's wording) explain the kernel's verdict without that second run.
        if (first.errno === Errno.E2BIG && options.explain !== false) {
          const ours = explain();
          if (ours?.verdict === 'rejected' && BUDGET_CODES.has(ours.error.code)) {
            const e = new VerifierError(spec.name, `${ours.error.kernelMessage}\n`, first.errno);
            e.explanation = ours;
            throw e;
          }
        }
        const { fd } = withLog(spec, options.logSize ?? DEFAULT_LOG_SIZE, (buf) => attempt(1, buf), trueSize);
        // Loaded on the second try (a transient failure): keep it.
        return new KernelProgram(sys, fd, spec, maps, ownedMaps);
      }
    } catch (e) {
      if (e instanceof VerifierError && options.explain !== false) e.explanation = explain();
      throw e;
    }
  }

  /** Opens a program pinned on bpffs (its spec holds no instructions: the kernel keeps those). */
  static fromPin(sys: Sys, path: string, name = path.slice(path.lastIndexOf('/') + 1)): KernelProgram {
    let fd: number;
    try {
      fd = sys.bpf(BpfCmd.BPF_OBJ_GET, objAttr(sys.addressOf(cString(path)), 0));
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext(`open pinned program ${path}`) : e;
    }
    const info = progInfoOf(sys, fd);
    return new KernelProgram(sys, fd, { name, type: info.type as ProgramSpec['type'], insns: [], license: '' }, new Map());
  }

  get fd(): number {
    if (this.fdValue < 0) throw new UsageError('E_CLOSED', `program "${this.spec.name}" is closed`);
    return this.fdValue;
  }

  /** One BPF_PROG_TEST_RUN, synchronously. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    const run = this.prepareRun(options);
    for (;;) {
      try {
        this.sys.bpf(BpfCmd.BPF_PROG_TEST_RUN, run.attr());
        return run.result();
      } catch (e) {
        if (!run.retry(e)) throw this.runError(e);
      }
    }
  }

  /** BPF_PROG_TEST_RUN on a worker thread, so a large `repeat` does not block the event loop. */
  async testRunAsync(options: TestRunOptions = {}): Promise<TestRunResult> {
    const run = this.prepareRun(options);
    for (;;) {
      try {
        await this.sys.bpfAsync(BpfCmd.BPF_PROG_TEST_RUN, run.attr());
        return run.result();
      } catch (e) {
        if (!run.retry(e)) throw this.runError(e);
      }
    }
  }

  private runError(e: unknown): unknown {
    return e instanceof BpfkitError ? e.withContext(`test run program "${this.spec.name}"`) : e;
  }

  private prepareRun(options: TestRunOptions): { attr(): Uint8Array; result(): TestRunResult; retry(e: unknown): boolean } {
    const data = options.data ? copyOf(options.data) : undefined;
    const ctx = options.ctx ? copyOf(options.ctx) : undefined;
    // Room for programs that grow the packet (xdp_adjust_head/tail); ENOSPC grows it once more.
    let outSize = data ? data.length + 256 : 0;
    let dataOut = newBytes(outSize);
    // A raw tracepoint run takes no ctx_out and no repeat (bpf_prog_test_run_raw_tp refuses both with EINVAL).
    const rawTp = this.spec.type === 17 || this.spec.type === 24;
    const ctxOut = ctx && !rawTp ? newBytes(ctx.length + 256) : undefined;
    let attr: Uint8Array = new Uint8Array(0);
    let grown = false;
    const fd = this.fd;
    const a = (b: Uint8Array | undefined): bigint => (b && b.length ? this.sys.addressOf(b) : 0n);
    return {
      attr: () => {
        attr = testRunAttr({
          progFd: fd, dataIn: a(data), dataSizeIn: data?.length ?? 0, dataOut: a(dataOut), dataSizeOut: dataOut.length,
          ctxIn: a(ctx), ctxSizeIn: ctx?.length ?? 0, ctxOut: a(ctxOut), ctxSizeOut: ctxOut?.length ?? 0,
          repeat: options.repeat ?? (rawTp ? 0 : 1),
        });
        return attr;
      },
      result: () => {
        const o = testRunOut(attr);
        const r: TestRunResult = { retval: o.retval, dataOut: dataOut.slice(0, Math.min(o.dataSizeOut, dataOut.length)), duration: o.duration };
        if (ctxOut) r.ctxOut = ctxOut.slice(0, Math.min(o.ctxSizeOut, ctxOut.length));
        return r;
      },
      retry: (e) => {
        if (grown || !isErrno(e, 'ENOSPC')) return false;
        const need = testRunOut(attr).dataSizeOut;
        if (need <= outSize) return false;
        grown = true;
        outSize = need;
        dataOut = newBytes(outSize);
        return true;
      },
    };
  }

  /** What the kernel says about this program (id, tag, sizes). */
  info(): ProgInfo {
    return progInfoOf(this.sys, this.fd);
  }

  /** Pins the program at a bpffs path. */
  pin(path: string): void {
    try {
      this.sys.bpf(BpfCmd.BPF_OBJ_PIN, objAttr(this.sys.addressOf(cString(path)), this.fd));
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext(`pin program "${this.spec.name}" at ${path}`) : e;
    }
  }

  /** Closes the program and the maps it created; the kernel frees them once nothing else holds them. */
  close(): void {
    if (this.fdValue < 0) return;
    const fd = this.fdValue;
    this.fdValue = -1;
    this.sys.close(fd);
    for (const m of this.ownedMaps) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function copyOf(b: Uint8Array): Uint8Array {
  const c = newBytes(b.length);
  c.set(b);
  return c;
}

/**
 * bpfkit's verifier on a program the kernel refused, with the maps it was bound to. Without the BTF the
 * kernel had, global functions are verified as static ones: the explanation is then best effort.
 */
function explainWithBpfkit(spec: ProgramSpec, maps: ReadonlyMap<string, KernelMap>, withBtf: boolean): VerifierExplanation | undefined {
  const mapSpecs = [...maps.values()].map((m) => m.spec);
  try {
    verify(withBtf ? spec : { ...spec, funcInfo: undefined, lineInfo: undefined }, { maps: mapSpecs });
    return { verdict: 'accepted' };
  } catch (e) {
    if (e instanceof BpfkitVerifierError) return { verdict: 'rejected', error: e };
    // Our verifier failing on its own is no reason to hide the kernel's verdict.
    return undefined;
  }
}

/**
 * Runs a load with a log buffer, growing it on ENOSPC; throws a VerifierError when the log says why.
 * A kernel that reports the log's true size (6.4+) keeps the log's tail in a buffer too small for all of it: a
 * rejection's tail is what explains it, so a rejected program is not verified again with ever larger buffers (a
 * program that hits the 1M-instruction budget would take seconds per try).
 */
function withLog(spec: ProgramSpec, startSize: number, load: (buf: Uint8Array) => number, trueSize: () => number): { fd: number; log: string } {
  for (let size = startSize; ;) {
    const buf = newBytes(size);
    try {
      const fd = load(buf);
      return { fd, log: cText(buf) };
    } catch (e) {
      const needed = isErrno(e, 'ENOSPC') ? trueSize() : 0;
      // Too small for the whole log: once more with the size the kernel reported, or twice the size from older kernels.
      if (isErrno(e, 'ENOSPC') && size < MAX_LOG_SIZE && needed <= MAX_LOG_SIZE) {
        size = needed > size ? needed : size * 2;
        continue;
      }
      const log = needed > size ? `[... the first ${needed - size + 1} bytes of the verifier log are cut ...]\n${cText(buf)}` : cText(buf);
      if (e instanceof SyscallError && log.trim() !== '') throw new VerifierError(spec.name, log, e.errno);
      throw e instanceof BpfkitError ? e.withContext(`load program "${spec.name}"`) : e;
    }
  }
}

function cText(buf: Uint8Array): string {
  const nul = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, nul < 0 ? buf.length : nul));
}

function progInfoOf(sys: Sys, fd: number): ProgInfo {
  const info = newBytes(BPF_PROG_INFO_SIZE);
  sys.bpf(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, objGetInfoAttr(fd, sys.addressOf(info), info.length));
  return decodeProgInfo(info);
}
