/**
 * Loads trace programs that have callback subprograms (for-map loops, len()): the kernel wants
 * BTF func_info for those, so this builds a minimal BTF (one signature per function) and passes it.
 */

import { encodeProgram } from '../ebpf/index.js';
import type { ProgramSpec } from '../ebpf/index.js';
import { BpfCmd, KernelProgram, SyscallError, VerifierError, bindMaps, btfLoadAttr, cString, isErrno, progLoadAttr } from '../kernel/index.js';
import type { KernelMap, Sys } from '../kernel/index.js';
import { callbackStarts } from './callbacks.js';

export { callbackStarts } from './callbacks.js';

/** BTF with `long`, a 1-argument prototype for the main function and a 4-argument one for callbacks, and one FUNC per function. */
function buildBtf(callbacks: number): Uint8Array {
  const strings = ['', 'long', 'a', 'b', 'c', 'd', 'main', ...Array.from({ length: callbacks }, (_, i) => `cb${i}`)];
  const strOff: number[] = [];
  let strLen = 0;
  for (const s of strings) {
    strOff.push(strLen);
    strLen += s.length + 1;
  }
  const words: number[] = [];
  const kind = (k: number, vlen = 0): number => ((k << 24) | vlen) >>> 0;
  // 1: long
  words.push(strOff[1], kind(1), 8, (1 << 24) | 64);
  // 2: long (*)(long a)
  words.push(0, kind(13, 1), 1, strOff[2], 1);
  // 3: long (*)(long a, long b, long c, long d)
  words.push(0, kind(13, 4), 1, strOff[2], 1, strOff[3], 1, strOff[4], 1, strOff[5], 1);
  // 4: main; 5..: callbacks (static linkage)
  words.push(strOff[6], kind(12, 0), 2);
  for (let i = 0; i < callbacks; i++) words.push(strOff[7 + i], kind(12, 0), 3);
  const typeLen = words.length * 4;
  const out = new Uint8Array(new ArrayBuffer(24 + typeLen + strLen));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strLen, true);
  words.forEach((w, i) => dv.setUint32(24 + i * 4, w, true));
  let p = 24 + typeLen;
  for (const s of strings) {
    for (let i = 0; i < s.length; i++) out[p + i] = s.charCodeAt(i);
    p += s.length + 1;
  }
  return out;
}

/** Loads `spec` with BTF func_info for its callbacks; maps are bound by name from `maps`. */
export function loadWithCallbacks(sys: Sys, spec: ProgramSpec, maps: ReadonlyMap<string, KernelMap>): KernelProgram {
  const starts = callbackStarts(spec.insns);
  const btf = buildBtf(starts.length);
  let btfFd: number;
  try {
    btfFd = sys.bpf(BpfCmd.BPF_BTF_LOAD, btfLoadAttr(sys.addressOf(btf), btf.length));
  } catch (e) {
    throw e instanceof SyscallError ? e.withContext(`load BTF for program "${spec.name}"`) : e;
  }
  try {
    const bytes = encodeProgram(bindMaps(spec.insns, maps));
    const insns = new Uint8Array(new ArrayBuffer(bytes.length));
    insns.set(bytes);
    const funcInfo = new Uint8Array(new ArrayBuffer(8 * (1 + starts.length)));
    const fv = new DataView(funcInfo.buffer);
    fv.setUint32(4, 4, true);
    starts.forEach((s, i) => {
      fv.setUint32(8 * (i + 1), s, true);
      fv.setUint32(8 * (i + 1) + 4, 5 + i, true);
    });
    const license = cString(spec.license);
    const attempt = (logLevel: number, log?: Uint8Array): number => {
      const attr = progLoadAttr({
        progType: spec.type, insns: sys.addressOf(insns), insnCnt: insns.length / 8, license: sys.addressOf(license),
        logLevel, logBuf: log ? sys.addressOf(log) : 0n, logSize: log?.length ?? 0, name: spec.name, progBtfFd: btfFd,
      });
      const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
      dv.setUint32(76, 8, true);
      dv.setBigUint64(80, sys.addressOf(funcInfo), true);
      dv.setUint32(88, 1 + starts.length, true);
      // The verifier gives up with EAGAIN when a signal is pending: load again, as libbpf does (up to 5 tries).
      for (let tries = 1; ; tries++) {
        try {
          return sys.bpf(BpfCmd.BPF_PROG_LOAD, attr);
        } catch (e) {
          if (tries >= 5 || !isErrno(e, 'EAGAIN')) throw e;
          log?.fill(0);
        }
      }
    };
    try {
      return new KernelProgram(sys, attempt(0), spec, maps);
    } catch (first) {
      const log = new Uint8Array(new ArrayBuffer(4 << 20));
      try {
        return new KernelProgram(sys, attempt(1, log), spec, maps);
      } catch (e) {
        const nul = log.indexOf(0);
        const text = new TextDecoder().decode(log.subarray(0, nul < 0 ? log.length : nul));
        if (e instanceof SyscallError && text.trim()) throw new VerifierError(spec.name, text, e.errno);
        throw first;
      }
    }
  } finally {
    sys.close(btfFd);
  }
}
