/** The eBPF verifier: explores every path of a program over the abstract state, as the kernel's do_check does, and rejects what the kernel rejects. */

import type { Insn } from '../insn.js';
import type { MapSpec, ProgramSpec } from '../spec.js';
import { findProblems } from '../check.js';
import { describeInsn, type FormInfo, type FormKind } from '../forms.js';
import { formatInsnLlvm } from '../llvm-syntax.js';
import { HELPER_FUNCS } from '../opcodes.js';
import { CTX_RULES, LD_ABS_TYPES, PKT_ACCESS, returnRange } from './ctx-access.js';
import { VerifierError, type WhyStep } from './errors.js';
import { HELPER_PROTOS_BY_ID, UNPRIV_HELPERS, helperAvailability, type ArgType, type HelperProto } from './helper-protos.js';
import {
  type AluOp, type JmpOp, type Scalar, scalarAlu, scalarBranchTaken, scalarBswap, scalarConst, scalarConst32, scalarConstValue,
  scalarIsConst, scalarLoad, scalarLoadSx, scalarMovsx, scalarRefine, scalarTruncate, scalarUnknown, scalarZext32,
} from './scalar.js';
import {
  EMPTY_SLOT, NOT_INIT, UNKNOWN_REG, cloneState, constHash, constSig, histPush, mix, formatReg, isPktPtr, isPointer, ptrReg, regEqual, regTypeStr, regWith, scalarReg, statesSafe,
  type Frame, type Reg, type RegType, type Slot, type StoredState, type VState,
} from './state.js';
import { formatTnum } from './tnum.js';

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** BPF_PROG_TYPE_* (default: the spec's). */
  type?: number;
  /** expected_attach_type (default: the spec's). */
  expectedAttachType?: number;
  /** Verify as an unprivileged user would load it (no CAP_BPF/CAP_PERFMON): pointer leaks, back-edges, uninitialized stack reads refused. */
  unprivileged?: boolean;
  /** `strict`: BPF_F_STRICT_ALIGNMENT; `any`: BPF_F_ANY_ALIGNMENT; default: x86-64's (stack accesses aligned, the rest free). */
  alignment?: 'default' | 'strict' | 'any';
  /** BPF_F_SLEEPABLE. */
  sleepable?: boolean;
  /** The maps `lddw` refers to: by `ref` name, or by index `imm` (default: the spec's maps). */
  maps?: readonly MapSpec[];
  /** Log detail: 0 none, 1 instructions and branch states, 2 every instruction's state. */
  logLevel?: 0 | 1 | 2;
  /** Processed-instruction budget (BPF_COMPLEXITY_LIMIT_INSNS, 1,000,000). */
  maxInsns?: number;
  /** Keep the abstract state on entry to each instruction in {@link VerifyResult.insnStates} (a debugger's view; costs a string per step). */
  insnStates?: boolean;
}

/** The result of a successful verification: the kernel's statistics and the log. */
export interface VerifyResult {
  processed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
  /** Bytes of stack each function uses, by its first instruction. */
  stackDepth: Map<number, number>;
  log: string;
  /** Per instruction slot: true when some explored path reached it (false: dead by value, as `if r0 == 0` after `r0 = 0`). */
  reached: boolean[];
  /**
   * With {@link VerifyOptions.insnStates}: per slot, the state on entry as the level-2 log
   * prints it (`R1=ctx() R10=fp0 fp-8=mmmmmmmm`), one line per explored path, the first
   * {@link MAX_INSN_STATES}; empty where no path reached.
   */
  insnStates?: string[][];
  /** What the verifier proved about each instruction, for engines that drop run-time checks (the VM's JIT). */
  facts: VerifierFacts;
}

/**
 * Per-slot facts of an accepted program, true on every explored path. A packet load is only
 * accepted when the range proven by `data + N > data_end` comparisons covers it, so a load
 * whose base is a packet pointer on every path reads inside the packet, whatever the run.
 */
export interface VerifierFacts {
  /** 1 where the slot is a load (`ldx`) whose base is a packet pointer (not packet meta) on every path, outside callbacks: proven inside the packet. */
  readonly pktLoad: Uint8Array;
  /** The register a load writes when it writes a packet pointer on every path (the packet's start is known again after it), else -1. */
  readonly pktRoot: Int8Array;
  /**
   * True when every instruction that makes a packet pointer out of memory makes one on every path (a `pktRoot`),
   * so an engine that tracks the packet's base at those loads has it at each proven load.
   */
  readonly rootsExact: boolean;
}

/**
 * The verifier's per-slot typed arrays, carved out of one ArrayBuffer: making an ArrayBuffer costs far more than a
 * view on one (about 300 ns against 20), and a verification needs a dozen, small programs included.
 */
class Arena {
  /**
   * Int32 words per slot the verifier takes (liveIn, rel, relSlots x2, succA, succB, succC, the walk's stack, use/def)
   * and bytes (prune, edges, pktBase, pktOut, the walk's colour and progress), with room for the +1s and MAX_FRAMES pairs.
   */
  private static readonly WORDS = 9;
  private static readonly BYTES = 6;
  private readonly buf: ArrayBuffer;
  private used = 0;
  constructor(slots: number) {
    this.buf = new ArrayBuffer(4 * (Arena.WORDS * (slots + 1) + 2 * MAX_FRAMES) + Arena.BYTES * (slots + 4));
  }
  i32(n: number): Int32Array {
    const a = new Int32Array(this.buf, this.used, n);
    this.used += 4 * n;
    return a;
  }
  u8(n: number): Uint8Array {
    const a = new Uint8Array(this.buf, this.used, n);
    // Keeps the next Int32Array aligned.
    this.used += (n + 3) & ~3;
    return a;
  }
}

/** States kept per instruction by {@link VerifyOptions.insnStates}. */
export const MAX_INSN_STATES = 16;

/** Verifies a program: returns the statistics, or throws {@link VerifierError}. */
export function verify(spec: ProgramSpec, options: VerifyOptions = {}): VerifyResult {
  return new Verifier(spec, options).run();
}

/** A rejection inside the engine, turned into a VerifierError at the top. */
class Reject extends Error {
  constructor(readonly code: string, readonly pc: number, readonly lines: readonly string[], readonly regs: readonly number[], readonly hint?: string) {
    super(lines[0]);
  }
}

// Limits; the `_N` forms are their bigints, made once (the checks that use them run per access).
const MAX_STACK = 512;
const MIN_STACK_N = -BigInt(MAX_STACK);
const MAX_FRAMES = 8;
const MAX_VAR_OFF = 1 << 29;
const MAX_VAR_OFF_N = BigInt(MAX_VAR_OFF);
const MIN_VAR_OFF_N = -MAX_VAR_OFF_N;
const MAX_PACKET_OFF = 0xffff;
const MAX_PACKET_OFF_N = BigInt(MAX_PACKET_OFF);
const AT_PKT_END = -1;
const BEYOND_PKT_END = -2;
const MAX_JMP_SEQ = 8192;
/** Immediates in [-SMALL_IMM, SMALL_IMM) have process-wide registers (see immReg), sign- and zero-extended. */
const SMALL_IMM = 256;
const SMALL_IMM64: (Reg | undefined)[] = new Array<Reg | undefined>(2 * SMALL_IMM).fill(undefined);
const SMALL_IMM32: (Reg | undefined)[] = new Array<Reg | undefined>(2 * SMALL_IMM).fill(undefined);

/** Edge flags of an instruction (see links): its successors are prune points; the instruction after it is one. */
const JUMP_TARGETS = 1;
const AFTER_BRANCH = 2;

/** A stored state's signature (see ConstSig) still to be made. */
const SIG_LATER = -2;

/** States still being explored kept per instruction and loop key (see visited). */
const ACTIVE_PER_KEY = 16;
const S64_MIN = -(1n << 63n);
/** History entries an error's backward slice looks at, newest first. */
const WHY_WALK = 400;

const ALU_NAMES: Record<number, AluOp> = {
  0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh', 0x80: 'neg', 0x90: 'mod', 0xa0: 'xor', 0xb0: 'mov', 0xc0: 'arsh',
};
const ALU_STR: Record<number, string> = {
  0x00: '+=', 0x10: '-=', 0x20: '*=', 0x30: '/=', 0x40: '|=', 0x50: '&=', 0x60: '<<=', 0x70: '>>=', 0x80: 'neg', 0x90: '%=', 0xa0: '^=', 0xb0: '=', 0xc0: 's>>=', 0xd0: 'endian',
};
const JMP_NAMES: Record<number, JmpOp> = {
  0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset', 0x50: 'jne', 0x60: 'jsgt', 0x70: 'jsge', 0xa0: 'jlt', 0xb0: 'jle', 0xc0: 'jslt', 0xd0: 'jsle',
};
const SIZE_OF: Record<number, 1 | 2 | 4 | 8> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** Map types some helpers need, and the helpers some map types allow (check_map_func_compatibility). */
const FUNC_MAPS: Readonly<Record<number, readonly number[]>> = {
  12: [3], 25: [4], 130: [27], 131: [27], 134: [27], 27: [7], 51: [14, 25, 16, 17], 87: [22, 23, 30], 88: [22, 23], 89: [22, 23, 30],
  164: [1, 2, 5, 6, 9, 10], 107: [24], 108: [24], 33: [8], 37: [8],
};
const MAP_FUNCS: Readonly<Record<number, readonly number[]>> = {
  3: [12], 4: [25, 22, 55, 111], 27: [130, 131, 134], 7: [27, 67], 14: [51, 1], 25: [51, 1], 16: [51], 17: [51, 1], 22: [87, 88, 89], 23: [87, 88, 89],
  30: [87, 89], 12: [1], 13: [1], 24: [107, 108, 194], 8: [33, 37],
};

/** Expected-type lists as the kernel prints them after `expected=`. */
const MEM_TYPES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';

/** Hints for kernel messages, by pattern: what to change. */
const HINTS: readonly (readonly [RegExp, string])[] = [
  [/R0 !read_ok/, 'set r0 before exit: it is the return value'],
  [/R\d+ !read_ok/, 'a register is read before any instruction on this path writes it'],
  [/_or_null/, 'check the pointer for NULL first: if (rX == 0) goto out;'],
  [/invalid mem access 'scalar'/, 'this register holds a number, not a pointer (packet pointers become numbers after a helper that changes the packet: reload them from the context)'],
  [/invalid access to map value|outside of the allowed memory range/, 'bound the offset: check index < max before adding it to the map value pointer'],
  [/min value is negative/, 'use an unsigned index or check index >= 0 first'],
  [/unbounded memory access/, "bound the value first: var &= const, or if (var < const)"],
  [/invalid (read from|write to|indirect access to|indirect read from) stack|invalid variable-offset/, 'stack accesses must stay in r10-512 .. r10-1 and read only bytes written before'],
  [/misaligned/, 'align the access to its size'],
  [/invalid bpf_context access/, "this context field does not exist, has another size, or is read-only for this program type"],
  [/pointer arithmetic|pointer .* pointer prohibited|bitwise operator/, 'only add or subtract scalars to pointers that may not be NULL'],
  [/leaks addr/, 'unprivileged programs may not store, return or pass pointers as numbers'],
  [/cannot use helper|unknown func|invalid func/, 'this helper is not available to this program type'],
  [/GPL-restricted/, 'use a GPL-compatible license ("GPL", "Dual BSD/GPL")'],
  [/Unreleased reference/, 'release every object you acquire (bpf_sk_release, bpf_ringbuf_submit/discard) on every path before exit'],
  [/infinite loop|back-edge|too large|too complex/, 'give the loop a bound the verifier can prove (a counter compared with a constant), or use bpf_loop'],
  [/unreachable insn/, 'remove the dead code: every instruction must be reachable'],
  [/should have been in/, 'return a value in the range this program type allows'],
  [/cannot write into/, 'this program type may only read the packet'],
  [/cannot pass map_type/, 'this helper does not work on this kind of map'],
];

interface Pending {
  pc: number;
  st: VState;
  from: number;
}

/** The licenses the kernel takes as GPL-compatible (license_is_gpl_compatible). */
const GPL_LICENSES: ReadonlySet<string> = new Set(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);

/** The bytes of a slot a whole register was spilled into. */
const SPILLED = 'rrrrrrrr';

/** BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH. */
const SOCK_MAPS: ReadonlySet<number> = new Set([15, 18]);

/** The forms whose dst register is written (check_reg_arg DST_OP): r10 may not be one. */
const WRITES_DST: ReadonlySet<FormKind> = new Set<FormKind>(['alu', 'neg', 'end', 'lddw', 'ldx']);

interface InsnInfo {
  insn: Insn;
  kind: FormKind | undefined;
  /** The instruction as LLVM prints it: made when a log line or an error needs it, not for every verification. */
  readonly text: string;
  problems: readonly { message: string }[];
}

/** An {@link InsnInfo} whose text is formatted on first use. */
class InsnEntry implements InsnInfo {
  private formatted: string | undefined;
  /** The register of the immediate operand, once asked (see immOf). */
  imm: Reg | undefined = undefined;
  constructor(readonly insn: Insn, readonly kind: FormKind | undefined, readonly problems: readonly { message: string }[]) {}
  get text(): string {
    return (this.formatted ??= formatInsnLlvm(this.insn, { decimal: true, helperNames: true })[0]);
  }
}

/** The kernel's "uses reserved fields" wording by instruction kind. */
const RESERVED: Partial<Record<FormKind, string>> = {
  alu: 'BPF_ALU', neg: 'BPF_NEG', end: 'BPF_END', ldx: 'BPF_LDX', st: 'BPF_ST', stx: 'BPF_STX', atomic: 'BPF_ATOMIC', ja: 'BPF_JA', gotol: 'BPF_JA',
  call: 'BPF_CALL', exit: 'BPF_EXIT', ld_abs: 'BPF_LD_[ABS|IND]', ld_ind: 'BPF_LD_[ABS|IND]', lddw: 'BPF_LD_IMM64',
};

/** The states stored at one prune point. */
interface PcStates {
  /** Fully explored states (no branch left), oldest first: the candidates for pruning. */
  done: StoredState[];
  /** States with paths still being explored, by loop key, oldest first (made with the first one). */
  active: Map<number, StoredState[]> | undefined;
  nactive: number;
}


class Verifier {
  private readonly type: number;
  private readonly attachType: number | undefined;
  private readonly priv: boolean;
  private readonly strict: boolean;
  private readonly maps: MapSpec[];
  /** How many of `maps` are the program's (call() appends inner maps). */
  private readonly ownMaps: number;
  /** Map indexes by name, made when an lddw names a map (see mapIndex). */
  private mapIndexByName: Map<string, number> | undefined;
  private readonly logLevel: number;
  private readonly limit: number;
  private readonly gpl: boolean;
  /** Instructions by slot; undefined on the second slot of an lddw. */
  private readonly at: (InsnEntry | undefined)[];
  private readonly nslots: number;
  private readonly subStarts: number[] = [];
  private readonly prune: Uint8Array;
  private readonly liveIn: Int32Array;
  /** Scratch masks of visited(), per frame (see liveMasks). */
  private readonly liveBuf: Int32Array;
  private readonly preciseBuf: Int32Array;
  /** Where the per-slot arrays live. */
  private readonly arena: Arena;
  private readonly rel: Int32Array;
  /** Per slot, two words: the stack slots (of a one-function program that reaches its stack through r10 only) whose spilled value may still matter; -1 words: all. */
  private readonly relSlots: Int32Array;
  /** The states stored at each prune point, by slot. */
  private readonly explored: (PcStates | undefined)[];
  /** Successors inside the function, by slot, and the function a slot enters (see links). */
  private readonly succA: Int32Array;
  private readonly succB: Int32Array;
  private readonly succC: Int32Array;
  /** Per slot, which prune points its edges make (JUMP_TARGETS, AFTER_BRANCH). */
  private readonly edges: Uint8Array;
  /** describeInsn of each instruction (by index, not slot), made once for the structural checks too. */
  private readonly forms: FormInfo[];
  private readonly log: string[] = [];
  private readonly stackDepth = new Map<number, number>();
  private readonly callGraph = new Map<number, Set<number>>();
  private readonly reached: boolean[];
  private readonly insnStates: string[][] | undefined;
  /** Per slot, bit 1: a load's base was a packet pointer outside callbacks; bit 2: it was something else. */
  private readonly pktBase: Uint8Array;
  /** Per slot, bit 1: a load wrote a packet pointer; bit 2: it wrote something else. */
  private readonly pktOut: Uint8Array;
  private idGen = 0;
  private processed = 0;
  private jmps = 0;
  private lastAddJmps = 0;
  private lastAddInsns = 0;
  private maxPerInsn = 0;
  private totalStates = 0;
  private curStates = 0;
  private peakStates = 0;
  private st!: VState;
  private pc = 0;

  constructor(private readonly spec: ProgramSpec, options: VerifyOptions) {
    this.type = options.type ?? spec.type;
    this.attachType = options.expectedAttachType ?? spec.expectedAttachType;
    this.priv = !options.unprivileged;
    this.strict = options.alignment === 'strict';
    this.maps = [...(options.maps ?? spec.maps ?? [])];
    this.ownMaps = this.maps.length;
    this.logLevel = options.logLevel ?? 0;
    this.limit = options.maxInsns ?? 1_000_000;
    this.gpl = GPL_LICENSES.has(spec.license);
    let slot = 0;
    for (const insn of spec.insns) slot += insn.code === 0x18 ? 2 : 1;
    // Made at their size and without holes: every pass reads them by slot.
    this.at = new Array<InsnEntry | undefined>(slot).fill(undefined);
    this.forms = new Array<FormInfo>(spec.insns.length);
    slot = 0;
    for (let i = 0; i < spec.insns.length; i++) {
      const insn = spec.insns[i];
      const d = describeInsn(insn);
      this.forms[i] = d;
      this.at[slot] = new InsnEntry(insn, d.kind, d.problems);
      slot += insn.code === 0x18 ? 2 : 1;
    }
    this.nslots = slot;
    const arena = (this.arena = new Arena(slot));
    this.prune = arena.u8(slot + 1);
    this.explored = new Array<PcStates | undefined>(slot);
    this.succA = arena.i32(slot);
    this.succB = arena.i32(slot);
    this.succC = arena.i32(slot);
    this.edges = arena.u8(slot);
    this.liveIn = arena.i32(slot + 1);
    this.rel = arena.i32(slot + 1);
    this.relSlots = arena.i32(2 * (slot + 1)).fill(-1);
    this.liveBuf = arena.i32(MAX_FRAMES);
    this.preciseBuf = arena.i32(MAX_FRAMES);
    this.reached = new Array<boolean>(slot).fill(false);
    this.insnStates = options.insnStates ? Array.from({ length: slot }, () => []) : undefined;
    this.pktBase = arena.u8(slot);
    this.pktOut = arena.u8(slot);
    if (options.sleepable && ![2, 26, 29, 27].includes(this.type)) {
      throw this.toError(new Reject('E_VERIFIER_SLEEPABLE', 0, ['Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable'], []));
    }
  }

  run(): VerifyResult {
    try {
      this.structure();
      this.cfg();
      this.liveness();
      this.relevance();
      this.explore();
      this.checkStackDepth();
    } catch (e) {
      if (e instanceof Reject) throw this.toError(e);
      throw e;
    }
    const maxPer = this.maxPerInsn;
    // The statistics line is only formatted for a log someone asked for.
    if (this.logLevel) this.log.push(`processed ${this.processed} insns (limit ${this.limit}) max_states_per_insn ${maxPer} total_states ${this.totalStates} peak_states ${this.peakStates} mark_read 0`);
    const result: VerifyResult = {
      processed: this.processed, totalStates: this.totalStates, peakStates: this.peakStates, maxStatesPerInsn: maxPer,
      stackDepth: this.stackDepth, log: this.logLevel ? this.log.join('\n') + '\n' : '', reached: this.reached,
      facts: this.facts(),
    };
    if (this.insnStates) result.insnStates = this.insnStates;
    return result;
  }

  private facts(): VerifierFacts {
    const n = this.nslots;
    // One buffer for both (see Arena); the result keeps it, so it is not the verifier's arena.
    const buf = new ArrayBuffer(2 * n);
    const pktLoad = new Uint8Array(buf, 0, n);
    const pktRoot = new Int8Array(buf, n, n).fill(-1);
    let rootsExact = true;
    for (let pc = 0; pc < n; pc++) {
      if (this.pktBase[pc] === 1) pktLoad[pc] = 1;
      if (this.pktOut[pc] === 1) pktRoot[pc] = this.at[pc]!.insn.dst;
      else if (this.pktOut[pc] === 3) rootsExact = false;
    }
    return { pktLoad, pktRoot, rootsExact };
  }

  // ---- errors ----

  private fail(code: string, lines: string | readonly string[], regs: readonly number[] = [], hint?: string): never {
    throw new Reject(code, this.pc, typeof lines === 'string' ? [lines] : lines, regs, hint);
  }

  private toError(r: Reject): VerifierError {
    const why: WhyStep[] = [];
    if (this.st) {
      let want = 0;
      for (const x of r.regs) want |= 1 << x;
      let walked = 0;
      // The path's history, newest first (see HistorySeg).
      for (let h = this.st.hist, n = this.st.histLen; h && want && why.length < 6 && walked < WHY_WALK; n = h.prevLen, h = h.prev) {
        for (let i = n - 1; i >= 0 && want && why.length < 6 && walked++ < WHY_WALK; i--) {
          const reg = h.reg(i);
          if (!(want & (1 << reg))) continue;
          const pc = h.pc(i);
          const value = h.value(i);
          why.unshift({ insn: pc, text: this.at[pc]?.text ?? '', state: value ? `R${reg}=${formatReg(value, this.maps)}` : '' });
          want &= ~(1 << reg);
          want |= h.reads(i);
        }
      }
    }
    if (this.st && r.regs.length) {
      const regs = this.st.frames[this.st.frames.length - 1].regs;
      const now = r.regs.filter((x, k) => r.regs.indexOf(x) === k && regs[x]?.t !== 'not_init').map((x) => `R${x}=${formatReg(regs[x], this.maps)}`);
      if (now.length) why.push({ insn: r.pc, text: this.at[r.pc]?.text ?? '', state: now.join(' ') });
    }
    let hint = r.hint;
    if (!hint) for (const [re, text] of HINTS) if (re.test(r.lines.join('\n'))) { hint = text; break; }
    const line = this.spec.lineInfo?.filter((l) => l.insn <= r.pc).at(-1);
    if (this.logLevel) this.log.push(...r.lines, `processed ${this.processed} insns (limit ${this.limit}) max_states_per_insn 0 total_states ${this.totalStates} peak_states ${this.peakStates} mark_read 0`);
    return new VerifierError(r.code, {
      insn: r.pc, kernelMessage: r.lines[0], kernelDetail: r.lines.slice(1), why, hint,
      source: line ? { file: line.fileName, line: line.lineNum, column: line.column, text: line.line } : undefined,
      log: this.logLevel ? this.log.join('\n') + '\n' : '',
    });
  }

  // ---- structure, control flow, liveness ----

  private structure(): void {
    // Reserved fields and unknown opcodes are refused when a path reaches them (do_check), as the kernel does.
    // Writes to r10 are refused on the paths (check_reg_arg), so privileged dead code with one loads; unprivileged, the
    // kernel also walks the branches it knows are not taken (sanitize_speculative_path), which this stands for.
    const problems = findProblems(this.spec.insns, { maxInsns: 1_000_000, frameWrites: !this.priv, forms: this.forms }).filter((x) => x.code !== 'E_EBPF_FIELD' && x.code !== 'E_EBPF_OPCODE');
    if (problems.length === 0) return;
    const p = problems[0];
    const slotOf = (i: number): number => this.spec.insns.slice(0, i).reduce((a, x) => a + (x.code === 0x18 ? 2 : 1), 0);
    const pc = slotOf(p.insn);
    this.pc = pc;
    const insn = this.spec.insns[p.insn];
    const wording: Record<string, () => string> = {
      E_EBPF_OPCODE: () => `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`,
      E_EBPF_REG: () => `R${Math.max(insn.dst, insn.src)} is invalid`,
      E_EBPF_FP_WRITE: () => 'frame pointer is read only',
      E_EBPF_JUMP_RANGE: () => `jump out of range from insn ${pc} to ${/slot (-?\d+)/.exec(p.message)?.[1] ?? '?'}`,
      E_EBPF_JUMP_LDDW: () => `jump into the middle of ldimm64 insn ${/slot (-?\d+)/.exec(p.message)?.[1] ?? '?'}`,
      E_EBPF_LAST: () => 'last insn is not an exit or jmp',
      E_EBPF_EMPTY: () => 'program is empty',
      E_EBPF_TOO_LONG: () => `BPF program is too large. Processed ${this.spec.insns.length} insn`,
    };
    this.fail('E_VERIFIER_INSN', wording[p.code]?.() ?? `invalid insn: ${p.message}`);
  }

  /**
   * The successors of every instruction inside its function, in the order the walks take them (fall-through or jump
   * target first, then a conditional jump's target; -1: none). Typed arrays, filled once: the dataflow passes ask
   * often. structure() has refused targets outside the program already.
   */
  private links(): void {
    const { succA, succB, succC, edges } = this;
    succA.fill(-1);
    succB.fill(-1);
    succC.fill(-1);
    for (let pc = 0; pc < this.nslots; pc++) {
      const info = this.at[pc];
      if (!info) continue;
      const insn = info.insn;
      const next = pc + (insn.code === 0x18 ? 2 : 1);
      const kind = info.kind;
      switch (kind) {
        case 'exit': break;
        case 'ja': succA[pc] = pc + 1 + insn.off; break;
        case 'gotol': succA[pc] = pc + 1 + insn.imm; break;
        case 'jcond': case 'may_goto': succA[pc] = next; succB[pc] = pc + 1 + insn.off; break;
        default: succA[pc] = next;
      }
      // The function a call (src 1) or a function reference (lddw src 4) enters.
      if ((kind === 'call' && insn.src === 1) || (kind === 'lddw' && insn.src === 4)) succC[pc] = pc + 1 + insn.imm;
      const cls = insn.code & 7;
      const jump = (cls === 5 || cls === 6) && kind !== 'call' && kind !== 'exit';
      edges[pc] = (jump ? JUMP_TARGETS : 0) | (kind === 'call' || (jump && kind !== 'ja' && kind !== 'gotol') ? AFTER_BRANCH : 0);
    }
  }

  /** check_subprogs + check_cfg: function bounds, jumps inside them, reachability, back-edges for unprivileged programs. */
  private cfg(): void {
    this.links();
    const starts = new Set<number>([0]);
    for (let pc = 0; pc < this.nslots; pc++) {
      if (!this.at[pc]) continue;
      const t = this.succC[pc];
      if (t !== -1) starts.add(t);
    }
    for (const s of starts) {
      if (s < 0 || s >= this.nslots || !this.at[s]) { this.pc = 0; this.fail('E_VERIFIER_CFG', `call to invalid destination`); }
    }
    if (starts.size > 1 && !this.priv) { this.pc = [...starts].sort((a, b) => a - b)[1]; this.fail('E_VERIFIER_PRIV', 'loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN'); }
    this.subStarts.push(...[...starts].sort((a, b) => a - b));
    for (let k = 0; k < this.subStarts.length; k++) {
      const lo = this.subStarts[k];
      const hi = k + 1 < this.subStarts.length ? this.subStarts[k + 1] : this.nslots;
      let last = hi - 1;
      while (!this.at[last]) last--;
      for (let pc = lo; pc < hi; pc++) {
        const i = this.at[pc];
        if (!i || i.kind === 'call' || i.kind === 'exit' || i.kind === 'callx') continue;
        if ((i.insn.code & 7) !== 5 && (i.insn.code & 7) !== 6) continue;
        // The jump's target: an unconditional jump's only successor, a conditional one's second.
        const t = i.kind === 'ja' || i.kind === 'gotol' ? this.succA[pc] : this.succB[pc];
        if (t !== -1 && (t < lo || t >= hi)) { this.pc = pc; this.fail('E_VERIFIER_CFG', `jump out of range from insn ${pc} to ${t}`); }
      }
      const lk = this.at[last]!.kind;
      if (lk !== 'exit' && lk !== 'ja' && lk !== 'gotol') { this.pc = last; this.fail('E_VERIFIER_CFG', 'last insn is not an exit or jmp'); }
    }
    this.walk();
  }

  /**
   * Depth-first walk from insn 0 (calls and function references enter their functions): colours find back-edges and
   * unreachable instructions; jump targets and the instructions after branches and calls become prune points.
   */
  private walk(): void {
    const n = this.nslots;
    const color = this.arena.u8(n); // 0 white, 1 on stack, 2 done
    // Each instruction is pushed once: which of its successors (A, B, the function it enters) the walk takes next.
    const tried = this.arena.u8(n);
    const stack = this.arena.i32(n);
    let sp = 0;
    color[0] = 1;
    stack[sp++] = 0;
    while (sp) {
      const pc = stack[sp - 1];
      let t = -1;
      while (t === -1 && tried[pc] < 3) {
        const k = tried[pc]++;
        t = k === 0 ? this.succA[pc] : k === 1 ? this.succB[pc] : this.succC[pc];
      }
      if (t === -1) {
        color[pc] = 2;
        sp--;
        continue;
      }
      if (t < 0 || t >= n || !this.at[t]) { this.pc = pc; this.fail('E_VERIFIER_CFG', `jump out of range from insn ${pc} to ${t}`); }
      const e = this.edges[pc];
      if (e & JUMP_TARGETS) this.prune[t] = 1;
      if (e & AFTER_BRANCH) this.prune[pc + 1] = 1;
      if (color[t] === 1 && !this.priv) { this.pc = pc; this.fail('E_VERIFIER_LOOP', `back-edge from insn ${pc} to ${t}`); }
      if (color[t] === 0) {
        color[t] = 1;
        stack[sp++] = t;
      }
    }
    for (let pc = 0; pc < n; pc++) {
      if (color[pc] === 0 && this.at[pc]) { this.pc = pc; this.fail('E_VERIFIER_CFG', `unreachable insn ${pc}`); }
    }
  }

  /** Registers an instruction reads (low 16 bits) and writes (high 16 bits), for the static liveness pruning uses. */
  private useDef(pc: number): number {
    const i = this.at[pc]!;
    const insn = i.insn;
    const d = 1 << insn.dst;
    const sr = 1 << insn.src;
    switch (i.kind) {
      case 'alu': return ud(((insn.code & 0xf0) === 0xb0 ? 0 : d) | (insn.code & 8 ? sr : 0), d);
      case 'neg': case 'end': return ud(d, d);
      case 'lddw': return ud(0, d);
      case 'ldx': return ud(sr, d);
      case 'st': return ud(d, 0);
      case 'stx': return ud(d | sr, 0);
      case 'atomic': {
        if (insn.imm === 0x100) return ud(sr, d);
        const fetch = insn.imm & 1;
        return ud(d | sr | (insn.imm === 0xf1 ? 1 : 0), insn.imm === 0xf1 ? 1 : fetch ? sr : 0);
      }
      case 'ld_abs': return ud(1 << 6, 0x3f);
      case 'ld_ind': return ud((1 << 6) | sr, 0x3f);
      case 'call': case 'callx': return ud(0x3e, 0x3f);
      case 'exit': return ud(1, 0);
      case 'ja': case 'gotol': case 'may_goto': return 0;
      default: return ud(d | (insn.code & 8 ? sr : 0), 0);
    }
  }

  /**
   * Registers whose value (not only type) may still matter from each instruction on: read by a branch, an address,
   * a helper, a store, a return checked for its range, or copied into one that is. A static stand-in for the
   * kernel's precision tracking: scalars outside this set are compared by type only when pruning.
   */
  private relevance(): void {
    const ranged = returnRange(this.type, this.attachType) !== undefined;
    const b = bit;
    const { succA, succB, rel, nslots: n } = this;
    const exact = this.stackExact();
    const relSlots = this.relSlots;
    // A least fixed point: slots start irrelevant (without exact stack tracking they stay all-relevant, -1).
    if (exact) relSlots.fill(0);
    let changed = true;
    while (changed) {
      changed = false;
      for (let pc = n - 1; pc >= 0; pc--) {
        const i = this.at[pc];
        if (!i) continue;
        const insn = i.insn;
        let out = 0;
        let outLo = 0, outHi = 0;
        for (let k = 0; k < 2; k++) {
          const t = k === 0 ? succA[pc] : succB[pc];
          if (t < 0 || t >= n) continue;
          out |= rel[t];
          outLo |= relSlots[2 * t];
          outHi |= relSlots[2 * t + 1];
        }
        let use = 0;
        let def = 0;
        let useLo = 0, useHi = 0, defLo = 0, defHi = 0;
        const x = (insn.code & 8) !== 0;
        switch (i.kind) {
          case 'alu': {
            def = b(insn.dst);
            const mov = (insn.code & 0xf0) === 0xb0;
            if (out & def) use = (mov ? 0 : b(insn.dst)) | (x ? b(insn.src) : 0);
            break;
          }
          case 'neg': case 'end': def = b(insn.dst); if (out & def) use = def; break;
          case 'lddw': def = b(insn.dst); break;
          case 'ldx':
            def = b(insn.dst); use = b(insn.src);
            // A value read back from the stack matters when the register it lands in does.
            if (exact && insn.src === 10 && out & def) {
              useLo = slotBits(insn.off, SIZE_OF[insn.code & 0x18], 0);
              useHi = slotBits(insn.off, SIZE_OF[insn.code & 0x18], 1);
            }
            break;
          case 'st': case 'stx': {
            use = b(insn.dst);
            if (!exact) { use |= i.kind === 'stx' ? b(insn.src) : 0; break; }
            // With the stack reached through r10 only, a stored scalar matters only when a relevant load reads it back;
            // stores elsewhere (map values, packet, context) do not make the value matter.
            if (insn.dst !== 10) break;
            const size = SIZE_OF[insn.code & 0x18];
            const lo = slotBits(insn.off, size, 0);
            const hi = slotBits(insn.off, size, 1);
            if (i.kind === 'stx' && ((outLo & lo) || (outHi & hi))) use |= b(insn.src);
            if (size === 8 && insn.off % 8 === 0) { defLo = lo; defHi = hi; }
            break;
          }
          case 'atomic': use = b(insn.dst) | b(insn.src) | (insn.imm === 0xf1 ? 1 : 0); def = insn.imm === 0x100 ? b(insn.dst) : 0; break;
          case 'ld_abs': case 'ld_ind': use = b(6) | (i.kind === 'ld_ind' ? b(insn.src) : 0); def = 0x3f; break;
          case 'call': case 'callx': use = 0x3e; def = 0x3f; break;
          case 'exit': use = ranged || this.subStarts.length > 1 ? 1 : 0; break;
          case 'ja': case 'gotol': case 'may_goto': break;
          default: use = b(insn.dst) | (x ? b(insn.src) : 0);
        }
        const v = use | (out & ~def) | (1 << 10);
        if (v !== rel[pc]) { rel[pc] = v; changed = true; }
        const lo = exact ? useLo | (outLo & ~defLo) : -1;
        const hi = exact ? useHi | (outHi & ~defHi) : -1;
        if (lo !== relSlots[2 * pc] || hi !== relSlots[2 * pc + 1]) { relSlots[2 * pc] = lo; relSlots[2 * pc + 1] = hi; changed = true; }
      }
    }
  }

  /**
   * True when the program reaches its stack only through r10 with constant offsets, in one function: r10 is never
   * copied or computed with (so no helper, callee or pointer sees the stack) and no atomic works on it. Only then is
   * it known, statically, which loads read back a stored value.
   */
  private stackExact(): boolean {
    if (this.subStarts.length > 1) return false;
    for (let pc = 0; pc < this.nslots; pc++) {
      const i = this.at[pc];
      if (!i) continue;
      const insn = i.insn;
      switch (i.kind) {
        case 'ldx': case 'st': case 'stx': break;
        case 'atomic': if (insn.dst === 10 || insn.src === 10) return false; break;
        case 'alu': if ((insn.code & 8) !== 0 && insn.src === 10) return false; break;
        default:
          if ((insn.code & 7) === 5 || (insn.code & 7) === 6) {
            if (i.kind === 'jcond' && (insn.dst === 10 || ((insn.code & 8) !== 0 && insn.src === 10))) return false;
          }
      }
      if ((i.kind === 'ldx' && insn.dst === 10) || (i.kind === 'stx' && insn.src === 10)) return false;
    }
    return true;
  }

  /** Registers live into each instruction (backward dataflow to a fixed point; bitmasks only grow). */
  private liveness(): void {
    const n = this.nslots;
    const ud = this.arena.i32(n);
    for (let pc = 0; pc < n; pc++) if (this.at[pc]) ud[pc] = this.useDef(pc);
    const { succA, succB, liveIn } = this;
    let changed = true;
    while (changed) {
      changed = false;
      for (let pc = n - 1; pc >= 0; pc--) {
        if (!this.at[pc]) continue;
        const a = succA[pc], b = succB[pc];
        const out = (a >= 0 && a < n ? liveIn[a] : 0) | (b >= 0 && b < n ? liveIn[b] : 0);
        const u = ud[pc];
        const v = (u & 0xffff) | (out & ~(u >>> 16)) | (1 << 10);
        if (v !== liveIn[pc]) { liveIn[pc] = v; changed = true; }
      }
    }
  }

  // ---- exploration ----

  private newFrame(callsite: number, sub: number, index: number, callback: boolean): Frame {
    const regs: Reg[] = new Array<Reg>(11).fill(NOT_INIT);
    regs[10] = ptrReg('stack', { frame: index });
    return { regs, stack: [], callsite, sub, callback };
  }

  private explore(): void {
    const f0 = this.newFrame(-1, 0, 0, false);
    f0.regs[1] = ptrReg('ctx');
    const pending: Pending[] = [{ pc: 0, st: { frames: [f0], refs: [], parent: undefined, hist: undefined, histLen: 0 }, from: -1 }];
    while (pending.length) {
      const p = pending.pop()!;
      this.st = p.st;
      this.pc = p.pc;
      if (this.logLevel && p.from >= 0) this.log.push(`from ${p.from} to ${p.pc}: ${this.stateLine()}`);
      for (;;) {
        if (++this.processed > this.limit) this.fail('E_VERIFIER_TOO_LARGE', `BPF program is too large. Processed ${this.processed} insn`);
        if (this.prune[this.pc] && this.visited()) {
          if (this.logLevel) this.log.push(`${this.pc}: safe`);
          this.endPath();
          break;
        }
        this.reached[this.pc] = true;
        if (this.insnStates && this.insnStates[this.pc].length < MAX_INSN_STATES) this.insnStates[this.pc].push(this.stateLine());
        const before = this.logLevel ? this.at[this.pc]! : undefined;
        const next = this.step(pending);
        if (before) this.log.push(`${this.pc}: (${before.insn.code.toString(16).padStart(2, '0')}) ${before.text}${this.logLevel >= 2 ? `\t; ${this.stateLine()}` : ''}`);
        if (pending.length > MAX_JMP_SEQ) this.fail('E_VERIFIER_TOO_COMPLEX', `The sequence of ${pending.length} jumps is too complex.`);
        if (next < 0) {
          this.endPath();
          break;
        }
        this.pc = next;
      }
    }
  }

  /** The path ends (exit or pruned): its parent states lose a branch; fully explored ones become usable for pruning. */
  private endPath(): void {
    let s = this.st.parent;
    while (s) {
      s.branches--;
      if (s.branches > 0) break;
      this.retire(s);
      s = s.parent;
    }
  }

  /** Forks the current state for the other side of a branch. */
  private fork(): VState {
    const c = cloneState(this.st);
    if (c.parent) c.parent.branches++;
    return c;
  }

  /** is_state_visited: prune when a fully explored state covers this one; detect loops that come back unchanged. */
  private visited(): boolean {
    const pc = this.pc;
    const cur = this.st;
    let ps = this.explored[pc];
    if (!ps) {
      ps = { done: [], active: undefined, nactive: 0 };
      this.explored[pc] = ps;
    }
    const live = this.liveMasks(cur, pc, this.liveIn, this.liveBuf);
    const precise = this.liveMasks(cur, pc, this.rel, this.preciseBuf);
    // add_new_state: whether this visit would store a state (see below). Only such visits count a miss, as the
    // kernel: otherwise the states of early loop iterations were dropped by later ones before they could prune.
    const inLoop = ps.nactive > 0 && this.jmps - this.lastAddJmps < 20 && this.processed - this.lastAddInsns < 100;
    const addNew = !inLoop && this.jmps - this.lastAddJmps >= 2 && this.processed - this.lastAddInsns >= 8;
    // The key is needed to find active states, or to store this one.
    const key = ps.nactive > 0 || addNew ? this.loopKey(cur, live, precise) : 0;
    // The kernel walks one list in the order states were stored; states still being explored can only be an
    // infinite loop when their key is equal, so they are looked up by key, and the first such loop (by age)
    // fails the program unless an older, fully explored state prunes this one first.
    let loopAt = Infinity;
    const bucket = ps.nactive > 0 ? ps.active?.get(key) : undefined;
    if (bucket) {
      for (const s of bucket) {
        if (this.maybeLooping(s.state, cur, live, precise) && statesSafe(s.state, cur, live, this.priv, precise) && this.onPath(s)) { loopAt = s.seq; break; }
      }
    }
    const list = ps.done;
    // Stack slots whose spilled scalar cannot matter any more are compared by type only (one-frame programs: see relSlots).
    const one = cur.frames.length === 1;
    const slotsLo = one ? this.relSlots[2 * pc] : -1;
    const slotsHi = one ? this.relSlots[2 * pc + 1] : -1;
    // The current state's hash at the positions of the last signature asked (stored states mostly share them).
    let atRegs = -1, atLo = 0, atHi = 0, atHash = 0;
    for (let k = 0; k < list.length; k++) {
      const s = list[k];
      if (s.seq > loopAt) break;
      // A stored constant the current state does not hold rules the stored state out without loading it (see ConstSig).
      if (one && s.sigRegs === SIG_LATER) {
        const sig = constSig(s.state, live[0] & precise[0], slotsLo, slotsHi);
        s.sigRegs = sig.regs; s.sigLo = sig.lo; s.sigHi = sig.hi; s.sigHash = sig.hash;
      }
      const sig = one && s.sigRegs !== -1;
      if (sig && (s.sigRegs !== atRegs || s.sigLo !== atLo || s.sigHi !== atHi)) {
        atRegs = s.sigRegs; atLo = s.sigLo; atHi = s.sigHi;
        atHash = constHash(cur, atRegs, atLo, atHi);
      }
      if ((!sig || atHash === s.sigHash) && statesSafe(s.state, cur, live, this.priv, precise, slotsLo, slotsHi)) {
        s.hits++;
        return true;
      }
      // States that keep missing are dropped (the kernel's miss_cnt heuristic).
      if (addNew && ++s.misses > s.hits * 3 + 3) {
        list.splice(k--, 1);
        this.curStates--;
      }
    }
    if (loopAt !== Infinity) this.fail('E_VERIFIER_LOOP', `infinite loop detected at insn ${pc}`);
    if (!addNew) return false;
    this.lastAddJmps = this.jmps;
    this.lastAddInsns = this.processed;
    // A stored state is only compared with, never resumed: it keeps no history.
    const stored: StoredState = {
      state: cloneState(cur, false), pc, branches: 1, parent: cur.parent, hits: 0, misses: 0, key, seq: this.totalStates,
      sigRegs: one ? SIG_LATER : -1, sigLo: 0, sigHi: 0, sigHash: 0,
    };
    ps.active ??= new Map();
    const same = ps.active.get(key);
    if (same) same.push(stored); else ps.active.set(key, [stored]);
    ps.nactive++;
    // A long bounded loop whose rounds look alike here (no live register tells them apart) would compare each round
    // with every round before it until the budget runs out: past 16, the oldest such state leaves the list (the kernel
    // too evicts states still being explored); it then only counts the branches below it.
    if (same && same.length > ACTIVE_PER_KEY) {
      const old = same.shift()!;
      old.evicted = true;
      ps.nactive--;
      this.curStates--;
    }
    cur.parent = stored;
    this.totalStates++;
    this.curStates++;
    this.peakStates = Math.max(this.peakStates, this.curStates);
    this.maxPerInsn = Math.max(this.maxPerInsn, list.length + ps.nactive);
    return false;
  }

  /** A stored state whose paths are all explored moves from the active states to the pruning candidates, in age order. */
  private retire(s: StoredState): void {
    // An evicted state is in no list any more: it only counted the branches below it.
    if (s.evicted) return;
    const ps = this.explored[s.pc]!;
    const bucket = ps.active!.get(s.key)!;
    bucket.splice(bucket.indexOf(s), 1);
    if (bucket.length === 0) ps.active!.delete(s.key);
    ps.nactive--;
    const list = ps.done;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].seq < s.seq) lo = mid + 1; else hi = mid;
    }
    list.splice(lo, 0, s);
  }

  /**
   * A hash of the innermost frame's live registers: states with different keys cannot be an infinite loop (equal
   * registers hash equally; a collision only costs a comparison). A number, not text: building and hashing a string
   * per prune point was a tenth of the time of a long loop.
   */
  private loopKey(st: VState, live: Int32Array, precise: Int32Array): number {
    const n = st.frames.length;
    const regs = st.frames[n - 1].regs;
    const m = live[n - 1];
    const p = precise[n - 1];
    let h = st.frames.length;
    for (let r = 0; r < 10; r++) {
      if (!(m & (1 << r))) continue;
      const x = regs[r];
      if (x.t === 'scalar' && !(p & (1 << r))) { h = mix(h, 1); continue; }
      // Two of the scalar's facts are enough to spread the keys (equal registers still hash equally).
      h = mix(mix(mix(mix(h, TYPE_CODE[x.t]), x.off), Number(x.s.var.value)), Number(x.s.umax));
    }
    return h;
  }

  /** states_maybe_looping: the innermost frame's live registers are identical (a cheap test before the full one). */
  private maybeLooping(old: VState, cur: VState, live: Int32Array, precise: Int32Array): boolean {
    const n = cur.frames.length;
    if (old.frames.length !== n) return false;
    const o = old.frames[n - 1].regs;
    const c = cur.frames[n - 1].regs;
    const m = live[n - 1];
    const p = precise[n - 1];
    for (let r = 0; r < 11; r++) {
      if (!(m & (1 << r))) continue;
      if (o[r].t === 'scalar' && c[r].t === 'scalar' && !(p & (1 << r))) continue;
      if (!regEqual(o[r], c[r])) return false;
    }
    return true;
  }

  private onPath(s: StoredState): boolean {
    for (let p = this.st.parent; p; p = p.parent) if (p === s) return true;
    return false;
  }

  /**
   * Per frame from the outermost, the registers of `table` (liveIn or rel) that matter on return to it, written into
   * `out` (one of two buffers reused by every visit, indexed by frame).
   */
  private liveMasks(st: VState, pc: number, table: Int32Array, out: Int32Array): Int32Array {
    const n = st.frames.length;
    for (let f = 0; f < n; f++) {
      if (f === n - 1) out[f] = table[pc];
      else if (st.frames[f + 1].callback) out[f] = 0;
      else out[f] = table[st.frames[f + 1].callsite + 1] & ~0x3f;
    }
    return out;
  }

  private get frame(): Frame {
    return this.st.frames[this.st.frames.length - 1];
  }

  private get regs(): Reg[] {
    return this.frame.regs;
  }

  private stateLine(): string {
    const f = this.frame;
    const parts: string[] = [];
    f.regs.forEach((r, i) => { if (r.t !== 'not_init') parts.push(`R${i}=${formatReg(r, this.maps)}`); });
    f.stack.forEach((s, i) => {
      if (s.bytes === '????????') return;
      parts.push(`fp-${(i + 1) * 8}=${s.spill && s.bytes === 'rrrrrrrr' ? formatReg(s.spill, this.maps) : s.bytes}`);
    });
    return parts.join(' ');
  }

  private rd(r: number): Reg {
    const v = this.regs[r];
    if (v.t === 'not_init') this.fail('E_VERIFIER_UNINIT', `R${r} !read_ok`, [r]);
    return v;
  }

  private set(r: number, v: Reg, reads = 0): void {
    this.regs[r] = v;
    // An error's backward slice walks at most WHY_WALK entries: older ones are cut off now and then.
    histPush(this.st, this.pc, r, reads, v, WHY_WALK, 4 * WHY_WALK);
  }

  /** immReg of the current instruction's immediate, kept on the instruction (one instruction always asks the same). */
  private immOf(insn: Insn, is64: boolean): Reg {
    const e = this.at[this.pc]!;
    return (e.imm ??= this.immReg(insn.imm, is64));
  }

  /**
   * The constant register of an immediate, sign-extended (`is64`) or zero-extended from 32 bits. Small ones are made
   * once per process (registers are immutable; most immediates are small), others once per instruction (immOf).
   */
  private immReg(imm: number, is64: boolean): Reg {
    const make = (): Reg => scalarReg(is64 ? scalarConst(BigInt(imm)) : scalarConst32(BigInt(imm >>> 0)));
    if (imm < -SMALL_IMM || imm >= SMALL_IMM) return make();
    const table = is64 ? SMALL_IMM64 : SMALL_IMM32;
    return (table[imm + SMALL_IMM] ??= make());
  }

  private newId(): number {
    return ++this.idGen;
  }

  /** Executes the instruction at this.pc; returns the next pc, or -1 when the path ends. Forks go to `pending`. */
  private step(pending: Pending[]): number {
    const pc = this.pc;
    const info = this.at[pc]!;
    const insn = info.insn;
    const cls = insn.code & 7;
    const next = pc + (insn.code === 0x18 ? 2 : 1);
    if (info.kind === undefined) this.fail('E_VERIFIER_INSN', `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`);
    if (info.problems.length) this.fail('E_VERIFIER_INSN', `${RESERVED[info.kind] ?? 'BPF_JMP/JMP32'} uses reserved fields`, [], info.problems[0].message);
    if (insn.dst === 10 && WRITES_DST.has(info.kind)) this.fail('E_VERIFIER_INSN', 'frame pointer is read only', [10]);
    switch (info.kind) {
      case 'alu': case 'neg': case 'end':
        this.alu(insn, cls === 7);
        return next;
      case 'lddw':
        this.lddw(insn);
        return next;
      case 'ldx': {
        const base = this.rd(insn.src);
        const size = SIZE_OF[insn.code & 0x18];
        const v = this.memAccess(insn.src, insn.off, size, false, undefined, (insn.code & 0xe0) === 0x80);
        this.set(insn.dst, v, 1 << insn.src);
        // A callback runs in an invocation of its own in the JIT, which has not seen the caller's packet loads.
        this.pktBase[pc] |= base.t === 'pkt' && !inCallback(this.st) ? 1 : 2;
        this.pktOut[pc] |= v.t === 'pkt' ? 1 : 2;
        return next;
      }
      case 'st': {
        // BPF_ST into the context is allowed since Linux 6.3 (the field rules still apply).
        this.rd(insn.dst);
        this.memAccess(insn.dst, insn.off, SIZE_OF[insn.code & 0x18], true, this.immOf(insn, true), false, true);
        return next;
      }
      case 'stx': {
        const v = this.rd(insn.src);
        this.rd(insn.dst);
        this.memAccess(insn.dst, insn.off, SIZE_OF[insn.code & 0x18], true, v, false, false, insn.src);
        return next;
      }
      case 'atomic':
        this.atomic(insn);
        return next;
      case 'ld_abs': case 'ld_ind':
        this.ldAbs(insn, info.kind === 'ld_ind');
        return next;
      case 'ja':
        return pc + 1 + insn.off;
      case 'gotol':
        return pc + 1 + insn.imm;
      case 'jcond':
        this.jmps++;
        return this.cond(insn, cls === 6, pending, next);
      case 'may_goto': {
        const other = this.fork();
        pending.push({ pc: pc + 1 + insn.off, st: other, from: pc });
        return next;
      }
      case 'call':
        return this.call(insn, pending, next);
      case 'callx':
        this.fail('E_VERIFIER_INSN', 'unknown opcode 8d');
        break;
      case 'exit':
        return this.exit();
      default:
        break;
    }
    if (cls === 5 || cls === 6) { this.jmps++; return this.cond(insn, cls === 6, pending, next); }
    this.fail('E_VERIFIER_INSN', `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`);
  }

  // ---- ALU ----

  private alu(insn: Insn, is64: boolean): void {
    const op = insn.code & 0xf0;
    const x = (insn.code & 8) !== 0;
    const dn = insn.dst;
    if (op === 0xb0) return this.mov(insn, is64, x);
    if (op === 0x80 || op === 0xd0) {
      const d = this.rd(dn);
      if (isPointer(d)) {
        if (!this.priv) this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic prohibited`, [dn]);
        this.set(dn, scalarReg(is64 && op === 0x80 ? scalarUnknown() : is64 ? scalarUnknown() : scalarZext32(scalarUnknown())), 1 << dn);
        return;
      }
      const s = op === 0x80
        ? scalarAlu('neg', d.s, d.s, is64)
        : scalarBswap(d.s, insn.imm as 16 | 32 | 64, is64 ? 'always' : (insn.code & 8) !== 0);
      this.set(dn, scalarReg(s), 1 << dn);
      return;
    }
    const dst = this.rd(dn);
    let src: Reg;
    if (x) src = this.rd(insn.src);
    else {
      if ((op === 0x30 || op === 0x90) && insn.imm === 0) this.fail('E_VERIFIER_DIV0', 'div by zero');
      if ((op === 0x60 || op === 0x70 || op === 0xc0) && (insn.imm < 0 || insn.imm >= (is64 ? 64 : 32))) this.fail('E_VERIFIER_INSN', `invalid shift ${insn.imm}`);
      src = this.immOf(insn, true);
    }
    const reads = (1 << dn) | (x ? 1 << insn.src : 0);
    if (isPointer(dst) || isPointer(src)) {
      this.set(dn, this.ptrArith(insn, dst, src, op, is64), reads);
      return;
    }
    let name = ALU_NAMES[op];
    if (insn.off === 1 && (op === 0x30 || op === 0x90)) name = op === 0x30 ? 'sdiv' : 'smod';
    this.set(dn, scalarReg(scalarAlu(name, dst.s, src.s, is64)), reads);
  }

  private mov(insn: Insn, is64: boolean, x: boolean): void {
    const dn = insn.dst;
    if (!x) {
      this.set(dn, this.immOf(insn, is64));
      return;
    }
    const sn = insn.src;
    const src = this.rd(sn);
    const reads = 1 << sn;
    if (insn.off !== 0) {
      if (isPointer(src)) {
        if (!this.priv) this.fail('E_VERIFIER_LEAK', `R${sn} sign-extension part of pointer`, [sn]);
        this.set(dn, scalarReg(is64 ? scalarUnknown() : scalarZext32(scalarUnknown())), reads);
        return;
      }
      this.set(dn, scalarReg(scalarMovsx(src.s, insn.off as 8 | 16 | 32, is64)), reads);
      return;
    }
    if (is64) {
      if (src.t === 'scalar' && !scalarIsConst(src.s) && src.id === 0) {
        // Linked copies: a branch on one refines both (sync_linked_regs).
        const linked = regWith(src, { id: this.newId() });
        this.regs[sn] = linked;
        this.set(dn, linked, reads);
        return;
      }
      this.set(dn, src, reads);
      return;
    }
    if (isPointer(src)) {
      if (!this.priv) this.fail('E_VERIFIER_LEAK', `R${sn} partial copy of pointer`, [sn]);
      this.set(dn, scalarReg(scalarZext32(scalarUnknown())), reads);
      return;
    }
    this.set(dn, scalarReg(scalarZext32(src.s)), reads);
  }

  /** adjust_ptr_min_max_vals: pointer ± scalar; everything else on pointers is refused or gives an unknown scalar. */
  private ptrArith(insn: Insn, dst: Reg, src: Reg, op: number, is64: boolean): Reg {
    const dn = insn.dst;
    const opstr = ALU_STR[op];
    if (isPointer(dst) && isPointer(src)) {
      if (op === 0x10 && this.priv) return scalarReg(is64 ? scalarUnknown() : scalarZext32(scalarUnknown()));
      this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer ${opstr} pointer prohibited`, [dn, insn.src]);
    }
    const ptr = isPointer(dst) ? dst : src;
    const off = isPointer(dst) ? src : dst;
    if (!is64) {
      if (op === 0x10 && this.priv) return scalarReg(scalarZext32(scalarUnknown()));
      this.fail('E_VERIFIER_PTR_ARITH', `R${dn} 32-bit pointer arithmetic prohibited`, arithRegs(insn));
    }
    if (ptr.nul) this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`, arithRegs(insn));
    const known = scalarIsConst(off.s);
    const kval = known ? signed64(off.s.var.value) : 0n;
    switch (ptr.t) {
      case 'ctx': case 'map_value': case 'map_key': case 'stack': case 'pkt': case 'pkt_meta': case 'mem': case 'func':
        break;
      case 'map_ptr':
        if (known && kval === 0n && op === 0x00) break;
        this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic on ${regTypeStr(ptr)} prohibited`, arithRegs(insn));
        break;
      default:
        this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic on ${regTypeStr(ptr)} prohibited`, arithRegs(insn));
    }
    this.saneOffset(off, ptr, insn);
    this.saneOffset(ptr, ptr, insn);
    let out: Reg;
    switch (op) {
      case 0x00:
        if (known && fitsS32(ptr.off + Number(kval))) out = regWith(ptr, { off: ptr.off + Number(kval) });
        else {
          out = regWith(ptr, { s: scalarAlu('add', ptr.s, off.s, true) });
          if (isPktPtr(ptr)) out = regWith(out, { id: this.newId(), range: 0 });
        }
        break;
      case 0x10:
        if (ptr === src) this.fail('E_VERIFIER_PTR_ARITH', `R${dn} tried to subtract pointer from scalar`, arithRegs(insn));
        // The kernel refuses any subtraction from a stack pointer (JITs may not cope): add a negative value instead.
        if (ptr.t === 'stack') this.fail('E_VERIFIER_PTR_ARITH', `R${dn} subtraction from stack pointer prohibited`, arithRegs(insn), 'write r += -N instead of r -= N for stack pointers');
        if (known && fitsS32(ptr.off - Number(kval))) out = regWith(ptr, { off: ptr.off - Number(kval) });
        else {
          out = regWith(ptr, { s: scalarAlu('sub', ptr.s, off.s, true) });
          if (isPktPtr(ptr)) out = regWith(out, { id: this.newId(), range: 0 });
        }
        break;
      case 0x40: case 0x50: case 0xa0:
        this.fail('E_VERIFIER_PTR_ARITH', `R${dn} bitwise operator ${opstr} on pointer prohibited`, arithRegs(insn));
        break;
      default:
        this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic with ${opstr} operator prohibited`, arithRegs(insn));
    }
    this.saneOffset(out!, ptr, insn);
    if (!this.priv) {
      // sanitize_check_bounds: unprivileged pointers must stay inside their object.
      if (out!.t === 'stack') {
        const lo = out!.off + Number(BigInt.asIntN(64, out!.s.smin));
        if (!scalarIsConst(out!.s) || lo < -MAX_STACK || lo >= 0) this.fail('E_VERIFIER_PTR_ARITH', `R${dn} stack pointer arithmetic goes out of range, prohibited for !root`, arithRegs(insn));
      } else if (out!.t === 'map_value') {
        const vs = this.maps[out!.map]?.valueSize ?? 0;
        if (out!.off + Number(out!.s.smin) < 0 || BigInt(out!.off) + out!.s.umax > BigInt(vs)) this.fail('E_VERIFIER_PTR_ARITH', `R${dn} pointer arithmetic of map value goes out of range, prohibited for !root`, arithRegs(insn));
      }
    }
    return out!;
  }

  /** check_reg_sane_offset: `r` is the offset or the pointer of `ptr`'s arithmetic at `insn` (messages made only on failure). */
  private saneOffset(r: Reg, ptr: Reg, insn: Insn): void {
    const s = r.s;
    if (scalarIsConst(s)) {
      const val = signed64(s.var.value);
      if (val >= MAX_VAR_OFF_N || val <= MIN_VAR_OFF_N) this.fail('E_VERIFIER_PTR_ARITH', `math between ${regTypeStr(ptr)} pointer and ${val} is not allowed`, arithRegs(insn));
    }
    if (isPointer(r) && (r.off >= MAX_VAR_OFF || r.off <= -MAX_VAR_OFF)) this.fail('E_VERIFIER_PTR_ARITH', `${regTypeStr(ptr)} pointer offset ${r.off} is not allowed`, arithRegs(insn));
    if (s.smin === S64_MIN) this.fail('E_VERIFIER_PTR_ARITH', `math between ${regTypeStr(ptr)} pointer and register with unbounded min value is not allowed`, arithRegs(insn));
    if (s.smin >= MAX_VAR_OFF_N || s.smin <= MIN_VAR_OFF_N) this.fail('E_VERIFIER_PTR_ARITH', `value ${s.smin} makes ${regTypeStr(ptr)} pointer be out of bounds`, arithRegs(insn));
  }

  // ---- lddw ----

  private lddw(insn: Insn): void {
    const imm64 = insn.imm64 ?? BigInt(insn.imm);
    switch (insn.src) {
      case 0:
        this.set(insn.dst, scalarReg(scalarConst(imm64)));
        return;
      case 1: case 2: {
        const idx = insn.ref !== undefined ? this.mapIndex(insn.ref) : insn.imm;
        const m = this.maps[idx];
        if (!m) this.fail('E_VERIFIER_MAP', `fd ${insn.imm} is not pointing to valid bpf_map`);
        if (insn.src === 1) {
          this.set(insn.dst, ptrReg('map_ptr', { map: idx }));
          return;
        }
        const off = Number(BigInt.asUintN(32, imm64 >> 32n));
        if (m.type !== 2) this.fail('E_VERIFIER_MAP', 'direct value access on this map type is not supported');
        if (off >= m.valueSize) this.fail('E_VERIFIER_MAP', `invalid access to map value pointer, value_size=${m.valueSize} off=${off}`);
        this.set(insn.dst, ptrReg('map_value', { map: idx, off, rdonly: false }));
        return;
      }
      case 4:
        // Callbacks are typed by BTF: without func_info the kernel refuses a function reference.
        if (!this.spec.funcInfo?.length) this.fail('E_VERIFIER_BTF', 'missing btf func_info', [], 'function references (bpf_loop, for_each_map_elem callbacks) need BTF func_info: build with clang -g');
        this.set(insn.dst, ptrReg('func', { sub: this.pc + 1 + insn.imm }));
        return;
      default:
        this.fail('E_VERIFIER_UNSUPPORTED', `unsupported lddw src ${insn.src} (BTF id / map index forms need a loader)`);
    }
  }

  private mapIndex(name: string): number {
    // The program's own maps only: inner maps the verifier adds later are not named by lddw.
    this.mapIndexByName ??= new Map(this.maps.slice(0, this.ownMaps).map((m, i) => [m.name, i]));
    return this.mapIndexByName.get(name) ?? -1;
  }

  // ---- memory ----

  private alignCheck(regno: number, r: Reg, off: number, size: number, strict = this.strict): void {
    const stack = r.t === 'stack';
    if (size === 1 || (!stack && !strict)) return;
    const v = r.s.var;
    // A pointer without a variable part (the usual one) is tested in numbers: a two's complement sum has the same low bits.
    if (v.value === 0n && v.mask === 0n) {
      if (((r.off + off) & (size - 1)) === 0) return;
    } else if (this.alignedVar(r, off, size)) return;
    const desc = stack ? 'stack ' : r.t === 'map_value' ? 'map_value ' : r.t === 'ctx' ? 'context ' : '';
    if (isPktPtr(r)) this.fail('E_VERIFIER_ALIGN', `misaligned packet access off 0+${formatTnum(r.s.var)}+${r.off}+${off} size ${size}`, [regno]);
    this.fail('E_VERIFIER_ALIGN', `misaligned ${desc}access off ${formatTnum(r.s.var)}+${r.off}+${off} size ${size}`, [regno]);
  }

  /** The alignment test of a pointer with a variable part (or a constant one): every value it may hold is aligned. */
  private alignedVar(r: Reg, off: number, size: number): boolean {
    const known = scalarIsConst(r.s);
    const total = BigInt(r.off + off) + (known ? r.s.var.value : 0n);
    const mask = BigInt(size - 1);
    return known ? (BigInt.asUintN(64, total) & mask) === 0n : ((r.s.var.mask | BigInt.asUintN(64, BigInt(r.off + off) + r.s.var.value)) & mask) === 0n;
  }

  /**
   * check_mem_access: a load (`write` false: returns the loaded register) or a store of `value` through register `regno`
   * at `off`. `imm`: a BPF_ST store.
   */
  private memAccess(regno: number, off: number, size: 1 | 2 | 4 | 8, write: boolean, value: Reg | undefined, sx: boolean, imm = false, valueRegno = -1): Reg {
    const r = this.regs[regno];
    const total = r.off + off;
    if (r.nul || r.t === 'scalar' || r.t === 'map_ptr' || r.t === 'pkt_end' || r.t === 'func' || r.t === 'not_init') {
      this.fail('E_VERIFIER_MEM', `R${regno} invalid mem access '${regTypeStr(r)}'`, [regno]);
    }
    this.alignCheck(regno, r, off, size);
    const leak = write && value && isPointer(value) && !this.priv;
    switch (r.t) {
      case 'map_value': {
        const m = this.maps[r.map];
        const flags = m.flags ?? 0;
        if (write && flags & 0x80) this.fail('E_VERIFIER_MAP', `write into map forbidden, value_size=${m.valueSize} off=${total} size=${size}`, [regno]);
        if (!write && flags & 0x100) this.fail('E_VERIFIER_MAP', `read from map forbidden, value_size=${m.valueSize} off=${total} size=${size}`, [regno]);
        if (leak) this.fail('E_VERIFIER_LEAK', `R${valueRegno} leaks addr into map`, [valueRegno]);
        this.region(regno, r, total, size, m.valueSize, 'map value');
        return loadedScalar(size, sx);
      }
      case 'map_key': {
        const m = this.maps[r.map];
        if (write) this.fail('E_VERIFIER_MEM', `write to change key R${regno} not allowed`, [regno]);
        this.region(regno, r, total, size, m.keySize, 'map key');
        return loadedScalar(size, sx);
      }
      case 'mem':
        if (write && r.rdonly) this.fail('E_VERIFIER_MEM', `R${regno} cannot write into ${regTypeStr(r)}`, [regno]);
        if (leak) this.fail('E_VERIFIER_LEAK', `R${valueRegno} leaks addr into mem`, [valueRegno]);
        this.region(regno, r, total, size, r.size, 'mem');
        return loadedScalar(size, sx);
      case 'ctx': {
        if (r.off < 0) this.fail('E_VERIFIER_CTX', `negative offset ctx ptr R${regno} off=${r.off} disallowed`, [regno]);
        if (r.off) this.fail('E_VERIFIER_CTX', `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`, [regno]);
        if (!scalarIsConst(r.s) || r.s.var.value !== 0n) this.fail('E_VERIFIER_CTX', `variable ctx access var_off=${formatTnum(r.s.var)} disallowed`, [regno]);
        if (leak) this.fail('E_VERIFIER_LEAK', `R${valueRegno} leaks addr into ctx`, [valueRegno]);
        const rules = CTX_RULES.get(this.type);
        const v = rules?.access(off, size, write, this.attachType, this.priv) ?? { ok: false };
        if (!v.ok || (sx && v.result !== 'scalar')) this.fail('E_VERIFIER_CTX', `invalid bpf_context access off=${off} size=${size}`, [regno]);
        void imm;
        if (write) return UNKNOWN_REG;
        switch (v.result) {
          case 'pkt': return ptrReg('pkt');
          case 'pkt_end': return ptrReg('pkt_end');
          case 'pkt_meta': return ptrReg('pkt_meta');
          case 'sock_common_or_null': return ptrReg('sock_common', { nul: true, id: this.newId() });
          case 'socket_or_null': return ptrReg('sock', { nul: true, id: this.newId() });
          default: return loadedScalar(size, sx);
        }
      }
      case 'stack':
        return this.stackAccess(regno, r, off, size, write, value, sx, imm);
      case 'pkt': case 'pkt_meta': {
        const mode = PKT_ACCESS.get(this.type);
        if (!mode || (write && mode !== 'rw')) this.fail('E_VERIFIER_PKT', 'cannot write into packet', [regno]);
        if (leak) this.fail('E_VERIFIER_LEAK', `R${valueRegno} leaks addr into packet`, [valueRegno]);
        this.packet(regno, r, total, size, false);
        return loadedScalar(size, sx);
      }
      case 'sock': case 'sock_common':
        if (write || total < 0 || total % size !== 0 || total + size > 80 || size > 4) this.fail('E_VERIFIER_MEM', `invalid bpf_sock access off=${total} size=${size}`, [regno]);
        return loadedScalar(size, sx);
      default:
        this.fail('E_VERIFIER_MEM', `R${regno} invalid mem access '${regTypeStr(r)}'`, [regno]);
    }
  }

  /** check_mem_region_access: fixed offset plus the pointer's variable part inside [0, memSize). */
  private region(regno: number, r: Reg, off: number, size: number, memSize: number, what: 'map value' | 'map key' | 'mem', zeroOk = false): void {
    const s = r.s;
    const smin = s.smin;
    const o = BigInt(off);
    if (smin < 0n && (smin === S64_MIN || o + smin !== BigInt.asIntN(32, o + smin) || smin + o < 0n)) {
      this.fail('E_VERIFIER_BOUNDS', `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, [regno]);
    }
    if (!regionWithin(smin + o, size, memSize, zeroOk)) this.fail('E_VERIFIER_BOUNDS', [regionLine(what, memSize, smin + o, size), `R${regno} min value is outside of the allowed memory range`], [regno]);
    if (s.umax >= BigInt(MAX_VAR_OFF)) this.fail('E_VERIFIER_BOUNDS', `R${regno} unbounded memory access, make sure to bounds check any such access`, [regno]);
    if (!regionWithin(s.umax + o, size, memSize, zeroOk)) this.fail('E_VERIFIER_BOUNDS', [regionLine(what, memSize, s.umax + o, size), `R${regno} max value is outside of the allowed memory range`], [regno]);
  }

  /** check_packet_access: [off, off+size) inside the range a data_end comparison proved. */
  private packet(regno: number, r: Reg, off: number, size: number, zeroOk: boolean): void {
    if (r.s.smin < 0n) this.fail('E_VERIFIER_PKT', `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`, [regno]);
    const ok = r.range >= 0 && off >= 0 && (size > 0 || zeroOk) && off + size <= r.range;
    if (!ok) {
      this.fail('E_VERIFIER_PKT', [`invalid access to packet, off=${off} size=${size}, R${regno}(id=${r.id},off=${off},r=${r.range})`, `R${regno} offset is outside of the packet`], [regno],
        r.range >= 0 && off >= 0 ? `compare ${r.t === 'pkt_meta' ? 'data_meta' : 'data'} + ${off + size - r.off}${scalarIsConst(r.s) ? '' : ' (plus the variable offset)'} with ${r.t === 'pkt_meta' ? 'data' : 'data_end'} before this access` : undefined);
    }
  }

  private growStack(frame: Frame, minOff: number): void {
    const need = Math.ceil(-minOff / 8);
    while (frame.stack.length < need) frame.stack.push(EMPTY_SLOT);
    const sub = frame.sub;
    this.stackDepth.set(sub, Math.max(this.stackDepth.get(sub) ?? 0, need * 8));
  }

  private stackAccess(regno: number, r: Reg, insnOff: number, size: 1 | 2 | 4 | 8, write: boolean, value: Reg | undefined, sx: boolean, imm: boolean): Reg {
    const frame = this.st.frames[r.frame];
    const extra = write ? ' write to' : ' read from';
    if (!scalarIsConst(r.s)) {
      const lo = BigInt(r.off + insnOff) + r.s.smin;
      const hi = BigInt(r.off + insnOff) + r.s.smax + BigInt(size);
      if (r.s.smin === S64_MIN || lo < MIN_STACK_N || hi > 0n) {
        this.fail('E_VERIFIER_STACK', `invalid variable-offset${extra} stack R${regno} var_off=${formatTnum(r.s.var)} off=${insnOff} size=${size}`, [regno]);
      }
      if (!this.priv) this.fail('E_VERIFIER_STACK', `R${regno} variable stack access prohibited for !root, var_off=${formatTnum(r.s.var)} off=${insnOff}`, [regno]);
      this.growStack(frame, Number(lo));
      for (let o = Number(lo); o < Number(hi); o++) {
        const spi = spiOf(o);
        const sl = frame.stack[spi];
        if (write) frame.stack[spi] = { bytes: setChar(sl.spill ? sl.bytes.replace(/r/g, 'm') : sl.bytes, byteOf(o), 'm'), spill: undefined };
      }
      return UNKNOWN_REG;
    }
    const val = r.s.var.value;
    const off = r.off + insnOff + (val === 0n ? 0 : Number(signed64(val)));
    if (off < -MAX_STACK || off + size > 0) this.fail('E_VERIFIER_STACK', `invalid${extra} stack R${regno} off=${off} size=${size}`, [regno]);
    this.growStack(frame, off);
    const spi = spiOf(off);
    const idx = byteOf(off);
    const sl = frame.stack[spi];
    if (write) {
      this.stackWrite(frame, spi, idx, off, size, value!, imm);
      return UNKNOWN_REG;
    }
    if (sl.bytes[7] === 'r' && sl.spill) {
      const spill = sl.spill;
      let spillSize = 0;
      for (let i = 7; i >= 0 && sl.bytes[i] === 'r'; i--) spillSize++;
      if (size === 8 && spillSize === 8) return spill;
      if (spill.t !== 'scalar') this.fail('E_VERIFIER_STACK', 'invalid size of register fill', [regno]);
      if (idx === 7 && size <= spillSize) {
        // The low bytes of a spilled scalar (little-endian): its value truncated.
        const v = scalarTruncate(spill.s, size);
        return scalarReg(sx && size < 8 ? scalarMovsx(v, (size * 8) as 8 | 16 | 32, true) : v);
      }
      for (let i = 0; i < size; i++) {
        if (sl.bytes[idx - i] === '?' && !this.priv) this.fail('E_VERIFIER_STACK', `invalid read from stack off ${off}+${i} size ${size}`, [regno]);
      }
      return scalarReg(sx && size < 8 ? scalarLoadSx(size as 1 | 2 | 4) : scalarLoad(size));
    }
    let zeros = 0;
    for (let i = 0; i < size; i++) {
      const b = sl.bytes[idx - i];
      if (b === '0') zeros++;
      else if (b === '?' && !this.priv) this.fail('E_VERIFIER_STACK', `invalid read from stack off ${off}+${i} size ${size}`, [regno]);
    }
    if (zeros === size) return scalarReg(scalarConst(0n));
    return scalarReg(sx && size < 8 ? scalarLoadSx(size as 1 | 2 | 4) : scalarLoad(size));
  }

  /** save_register_state: `reg` spilled into the low `size` bytes of slot `spi`. */
  private spill(frame: Frame, spi: number, size: number, reg: Reg): void {
    if (size === 8) {
      frame.stack[spi] = { bytes: SPILLED, spill: reg };
      return;
    }
    const sl = frame.stack[spi];
    let bytes = '';
    for (let i = 0; i < 8; i++) {
      if (i >= 8 - size) bytes += 'r';
      else {
        const old = sl.spill ? (sl.bytes[i] === 'r' ? 'm' : sl.bytes[i]) : sl.bytes[i];
        bytes += old === '0' || (old === '?' && this.priv) ? old : 'm';
      }
    }
    frame.stack[spi] = { bytes, spill: reg };
  }

  /** check_stack_write_fixed_off. */
  private stackWrite(frame: Frame, spi: number, idx: number, off: number, size: number, value: Reg, imm: boolean): void {
    const sl = frame.stack[spi];
    const aligned = (-off) % 8 === 0;
    if (aligned && value.t === 'scalar' && this.priv && !imm) return this.spill(frame, spi, size, value);
    if (aligned && imm && this.priv) return this.spill(frame, spi, size, value);
    if (isPointer(value)) {
      if (size !== 8) this.fail('E_VERIFIER_STACK', 'invalid size of register spill', []);
      return this.spill(frame, spi, size, value);
    }
    const zero = scalarIsConst(value.s) && value.s.var.value === 0n;
    let bytes = sl.spill || sl.bytes.includes('r') ? sl.bytes.replace(/r/g, 'm') : sl.bytes;
    for (let i = 0; i < size; i++) bytes = setChar(bytes, idx - i, zero ? '0' : 'm');
    frame.stack[spi] = { bytes, spill: undefined };
  }

  private atomic(insn: Insn): void {
    const size = SIZE_OF[insn.code & 0x18];
    const op = insn.imm;
    if (op === 0x100) {
      this.rd(insn.src);
      this.set(insn.dst, this.memAccess(insn.src, insn.off, size, false, undefined, false), 1 << insn.src);
      return;
    }
    if (op === 0x110) {
      const v = this.rd(insn.src);
      this.rd(insn.dst);
      this.memAccess(insn.dst, insn.off, size, true, v, false, false, insn.src);
      return;
    }
    if (size !== 4 && size !== 8) this.fail('E_VERIFIER_INSN', 'invalid atomic operand size');
    const v = this.rd(insn.src);
    const d = this.rd(insn.dst);
    if (op === 0xf1) this.rd(0);
    if (isPointer(v) && !this.priv) this.fail('E_VERIFIER_LEAK', `R${insn.src} leaks addr into mem`, [insn.src]);
    if (d.t === 'ctx' || isPktPtr(d) || d.t === 'sock' || d.t === 'sock_common') this.fail('E_VERIFIER_MEM', `BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(d)} is not allowed`, [insn.dst]);
    const old = this.memAccess(insn.dst, insn.off, size, false, undefined, false);
    if (op & 1 && isPointer(old) && !this.priv) this.fail('E_VERIFIER_LEAK', `R${insn.dst} leaks addr into mem`, [insn.dst]);
    this.memAccess(insn.dst, insn.off, size, true, UNKNOWN_REG, false);
    const loaded = scalarReg(scalarLoad(size));
    if (op === 0xf1) this.set(0, loaded, 1 << insn.dst);
    else if (op & 1) this.set(insn.src, loaded, 1 << insn.dst);
  }

  private ldAbs(insn: Insn, ind: boolean): void {
    if (!LD_ABS_TYPES.has(this.type)) this.fail('E_VERIFIER_LD_ABS', 'BPF_LD_[ABS|IND] instructions not allowed for this program type');
    this.rd(6);
    if (this.st.refs.length) this.fail('E_VERIFIER_LD_ABS', 'BPF_LD_[ABS|IND] cannot be mixed with socket references');
    if (this.regs[6].t !== 'ctx') this.fail('E_VERIFIER_LD_ABS', 'at the time of BPF_LD_ABS|IND R6 != pointer to skb', [6]);
    if (ind) this.rd(insn.src);
    if (this.regs[6].off) this.fail('E_VERIFIER_CTX', `dereference of modified ctx ptr R6 off=${this.regs[6].off} disallowed`, [6]);
    for (let r = 1; r <= 5; r++) this.regs[r] = NOT_INIT;
    this.set(0, UNKNOWN_REG, (1 << 6) | (ind ? 1 << insn.src : 0));
  }

  // ---- branches ----

  private cond(insn: Insn, is32: boolean, pending: Pending[], next: number): number {
    const op = JMP_NAMES[insn.code & 0xf0];
    const x = (insn.code & 8) !== 0;
    const dn = insn.dst, sn = insn.src;
    const target = this.pc + 1 + insn.off;
    const dst = this.rd(dn);
    const src = x ? this.rd(sn) : this.immOf(insn, true);
    if (!this.priv && x && isPointer(src)) this.fail('E_VERIFIER_LEAK', `R${sn} pointer comparison prohibited`, [sn]);
    let taken: boolean | undefined;
    if (dst.t === 'scalar' && src.t === 'scalar') taken = scalarBranchTaken(op, dst.s, src.s, is32, x && dn === sn);
    else if ((op === 'jeq' || op === 'jne') && ((isPointer(dst) && !dst.nul && isZero(src)) || (isPointer(src) && !src.nul && isZero(dst)))) taken = op === 'jne';
    else if (!is32 && x) taken = this.pktBranchTaken(op, dst, src);
    if (taken === true) return target;
    if (taken === false) return next;
    // Both edges: the taken one is forked, the fall-through continues here.
    const other = this.fork();
    let liveTaken = true, liveFall = true;
    if (dst.t === 'scalar' && src.t === 'scalar') {
      const t = scalarRefine(op, dst.s, src.s, is32, true, x && dn === sn);
      const f = scalarRefine(op, dst.s, src.s, is32, false, x && dn === sn);
      if (t) this.applyRefine(other, dn, x ? sn : -1, dst, src, t.dst, t.src); else liveTaken = false;
      if (f) this.applyRefine(this.st, dn, x ? sn : -1, dst, src, f.dst, f.src); else liveFall = false;
    } else if (!is32 && !x && insn.imm === 0 && (op === 'jeq' || op === 'jne') && dst.nul) {
      const [nullSt, okSt] = op === 'jeq' ? [other, this.st] : [this.st, other];
      this.markNull(nullSt, dst.id, true);
      this.markNull(okSt, dst.id, false);
    } else if (!is32 && x) {
      this.matchPkt(op, dst, src, dn, sn, this.st, other);
    } else if (!this.priv && isPointer(dst)) {
      this.fail('E_VERIFIER_LEAK', `R${dn} pointer comparison prohibited`, [dn]);
    }
    if (liveTaken) pending.push({ pc: target, st: other, from: this.pc });
    else if (other.parent) this.endPathOf(other);
    if (!liveFall) {
      // The fall-through is impossible: continue with the taken edge instead.
      const p = pending.pop();
      if (!p) return -1;
      this.endPath();
      this.st = p.st;
      return p.pc;
    }
    return next;
  }

  private endPathOf(st: VState): void {
    const save = this.st;
    this.st = st;
    this.endPath();
    this.st = save;
  }

  /** Writes refined scalars into a state and into every register linked to them by id. */
  private applyRefine(st: VState, dn: number, sn: number, dst: Reg, src: Reg, nd: Scalar, ns: Scalar): void {
    const regs = st.frames[st.frames.length - 1].regs;
    regs[dn] = regWith(dst, { s: nd });
    if (sn >= 0 && sn !== dn) regs[sn] = regWith(src, { s: ns });
    if (dst.id) this.syncLinked(st, dst.id, nd);
    if (sn >= 0 && src.id) this.syncLinked(st, src.id, ns);
  }

  /** sync_linked_regs: every scalar of id `id` (registers and spills, all frames) takes the value `s`. */
  private syncLinked(st: VState, id: number, s: Scalar): void {
    for (const f of st.frames) {
      const regs = f.regs;
      for (let i = 0; i < regs.length; i++) {
        const r = regs[i];
        if (r.t === 'scalar' && r.id === id && r.s !== s) regs[i] = regWith(r, { s });
      }
      const stack = f.stack;
      for (let i = 0; i < stack.length; i++) {
        const sp = stack[i].spill;
        if (sp && sp.t === 'scalar' && sp.id === id && sp.s !== s) stack[i] = { bytes: stack[i].bytes, spill: regWith(sp, { s }) };
      }
    }
  }

  /** Applies `fn` to every register and spilled register of every frame. */
  private forEachReg(st: VState, fn: (r: Reg) => Reg): void {
    for (const f of st.frames) {
      for (let i = 0; i < f.regs.length; i++) f.regs[i] = fn(f.regs[i]);
      for (let i = 0; i < f.stack.length; i++) {
        const sl = f.stack[i];
        if (sl.spill) {
          const n = fn(sl.spill);
          if (n !== sl.spill) f.stack[i] = { bytes: sl.bytes, spill: n };
        }
      }
    }
  }

  /** mark_ptr_or_null_regs: after a null check every copy (same id) becomes NULL (a scalar 0) or a valid pointer. */
  private markNull(st: VState, id: number, isNull: boolean): void {
    if (!id) return;
    let ref = 0;
    this.forEachReg(st, (r) => {
      if (!isPointer(r) || r.id !== id || !r.nul) return r;
      if (isNull) { ref = r.ref || ref; return scalarReg(scalarConst(0n)); }
      return regWith(r, { nul: false });
    });
    if (isNull && ref) st.refs = st.refs.filter((x) => x.id !== ref);
  }

  private pktBranchTaken(op: JmpOp, dst: Reg, src: Reg): boolean | undefined {
    let pkt: Reg;
    let o = op;
    if (src.t === 'pkt_end' && isPktPtr(dst)) pkt = dst;
    else if (dst.t === 'pkt_end' && isPktPtr(src)) { pkt = src; o = flip(op); }
    else return undefined;
    if (pkt.range >= 0) return undefined;
    switch (o) {
      case 'jle': case 'jgt':
        if (pkt.range === BEYOND_PKT_END) return o === 'jgt';
        break;
      case 'jlt': case 'jge':
        if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return o === 'jge';
        break;
      default:
        break;
    }
    return undefined;
  }

  /** try_match_pkt_pointers: a comparison of a packet pointer with data_end (or meta with data) proves a range on one side. */
  private matchPkt(op: JmpOp, dst: Reg, src: Reg, dn: number, sn: number, fall: VState, taken: VState): void {
    const dstPkt = (dst.t === 'pkt' && src.t === 'pkt_end') || (dst.t === 'pkt_meta' && src.t === 'pkt');
    const srcPkt = (dst.t === 'pkt_end' && src.t === 'pkt') || (dst.t === 'pkt' && src.t === 'pkt_meta');
    if (!dstPkt && !srcPkt) {
      if (!this.priv && isPointer(dst)) this.fail('E_VERIFIER_LEAK', `R${dn} pointer comparison prohibited`, [dn]);
      return;
    }
    const reg = dstPkt ? dst : src;
    const rn = dstPkt ? dn : sn;
    const row = PKT_CMP[op]?.[dstPkt ? 0 : 1];
    if (!row) return;
    const [goodTaken, open, beyond] = row;
    const good = goodTaken ? taken : fall;
    const endSt = goodTaken ? fall : taken;
    this.findGoodPkt(good, reg, open);
    const regs = endSt.frames[endSt.frames.length - 1].regs;
    if (regs[rn].t === 'pkt') regs[rn] = regWith(regs[rn], { range: beyond ? BEYOND_PKT_END : AT_PKT_END });
  }

  private findGoodPkt(st: VState, reg: Reg, open: boolean): void {
    if (reg.off < 0 || (reg.off === 0 && open)) return;
    const umax = reg.s.umax;
    // umax is at most 0xffff past the first test: the sum is exact as a number.
    if (umax > MAX_PACKET_OFF_N || Number(umax) + reg.off > MAX_PACKET_OFF) return;
    // A strict comparison (pkt + N < data_end) proves one byte more (measured on Linux 6.18).
    const range = reg.off + (open ? 1 : 0);
    // A loop of its own rather than forEachReg: this runs on every data_end comparison.
    const t = reg.t;
    const id = reg.id;
    for (const f of st.frames) {
      const regs = f.regs;
      for (let i = 0; i < regs.length; i++) {
        const r = regs[i];
        if (r.t === t && r.id === id && r.range < range) regs[i] = regWith(r, { range });
      }
      const stack = f.stack;
      for (let i = 0; i < stack.length; i++) {
        const sp = stack[i].spill;
        if (sp && sp.t === t && sp.id === id && sp.range < range) stack[i] = { bytes: stack[i].bytes, spill: regWith(sp, { range }) };
      }
    }
  }

  // ---- calls ----

  private call(insn: Insn, pending: Pending[], next: number): number {
    if (insn.src === 1) return this.subCall(this.pc + 1 + insn.imm, false);
    if (insn.src !== 0) this.fail('E_VERIFIER_UNSUPPORTED', 'calling kernel functions is not supported without kernel BTF');
    const id = insn.imm;
    const proto = HELPER_PROTOS_BY_ID.get(id);
    if (!proto) this.fail('E_VERIFIER_HELPER', `invalid func unknown#${id}`);
    const avail = helperAvailability(proto, this.type);
    if (avail === '-' || (!this.priv && !UNPRIV_HELPERS.has(id))) this.fail('E_VERIFIER_HELPER', `program of this type cannot use helper ${helperName(id)}#${id}`);
    if (avail === 'g' && !this.gpl) this.fail('E_VERIFIER_GPL', 'cannot call GPL-restricted function from non-GPL compatible program');
    if (!proto.args) this.fail('E_VERIFIER_UNSUPPORTED', `helper ${helperName(id)}#${id} has no prototype in bpfkit's verifier yet`);
    const meta = this.checkArgs(proto);
    // Release, clobber, return value.
    if (proto.release !== undefined) this.release(meta.releaseRef);
    if (proto.changesPkt) this.forEachReg(this.st, (r) => (r.t === 'pkt' || r.t === 'pkt_meta' || r.t === 'pkt_end' ? UNKNOWN_REG : r));
    // A callback's arguments come from the caller's registers, which the call clobbers.
    const args = proto.callback ? this.regs.slice(0, 6) : undefined;
    for (let r = 1; r <= 5; r++) this.regs[r] = NOT_INIT;
    let r0: Reg;
    switch (proto.ret) {
      case 'void': r0 = NOT_INIT; break;
      case 'map_value_or_null': {
        const m = this.maps[meta.map];
        if (m.type === 12 || m.type === 13) {
          let inner = m.innerMap ? this.maps.indexOf(m.innerMap) : -1;
          if (m.innerMap && inner < 0) { this.maps.push(m.innerMap); inner = this.maps.length - 1; }
          r0 = ptrReg('map_ptr', { map: inner, nul: true, id: this.newId() });
          if (inner < 0) r0 = UNKNOWN_REG;
        } else {
          const elide = (m.type === 2 || m.type === 6) && meta.constKey !== undefined && meta.constKey < BigInt(m.maxEntries);
          r0 = ptrReg('map_value', { map: meta.map, nul: !elide, id: elide ? 0 : this.newId() });
        }
        break;
      }
      case 'socket_or_null': case 'sock_common_or_null': case 'ringbuf_mem_or_null': {
        const rid = this.newId();
        // Only an acquiring helper's object is a reference to release (sk_fullsock hands back the socket it was given).
        const ref = proto.acquire ? rid : 0;
        // A new array: states share their reference lists (see VState.refs).
        if (ref) this.st.refs = [...this.st.refs, { id: rid, insn: this.pc }];
        r0 = proto.ret === 'ringbuf_mem_or_null'
          ? ptrReg('mem', { size: meta.allocSize, nul: true, id: rid, ref })
          : ptrReg(proto.ret === 'socket_or_null' ? 'sock' : 'sock_common', { nul: true, id: rid, ref });
        break;
      }
      default: r0 = UNKNOWN_REG;
    }
    this.set(0, r0, 0x3e);
    if (proto.callback) {
      // The callback runs as a path of its own; the caller continues after the call with r0 unknown.
      const cont = this.fork();
      pending.push({ pc: next, st: cont, from: this.pc });
      const fn = args![proto.callback.arg + 1];
      const cb = this.subCall(fn.sub, true);
      const f = this.frame;
      if (proto.callback.kind === 'loop') {
        f.regs[1] = UNKNOWN_REG;
        f.regs[2] = args![3];
      } else {
        f.regs[1] = args![1];
        f.regs[2] = ptrReg('map_key', { map: meta.map });
        f.regs[3] = ptrReg('map_value', { map: meta.map });
        f.regs[4] = args![3];
        f.regs[5] = NOT_INIT;
      }
      return cb;
    }
    return next;
  }

  /** Enters a function: a new frame with r1-r5 from the caller (a callback's arguments are set by the caller). */
  private subCall(target: number, callback: boolean): number {
    const frames = this.st.frames;
    if (frames.length >= MAX_FRAMES) this.fail('E_VERIFIER_CALL', `the call stack of ${frames.length + 1} frames is too deep !`);
    const callerSub = this.frame.sub;
    const edges = this.callGraph.get(callerSub) ?? new Set<number>();
    edges.add(target);
    this.callGraph.set(callerSub, edges);
    const f = this.newFrame(this.pc, target, frames.length, callback);
    if (!callback) for (let r = 1; r <= 5; r++) f.regs[r] = this.regs[r];
    frames.push(f);
    if (!this.stackDepth.has(target)) this.stackDepth.set(target, 0);
    return target;
  }

  private exit(): number {
    const frames = this.st.frames;
    const f = this.frame;
    if (f.callback) {
      const r0 = this.rd(0);
      if (r0.t !== 'scalar') this.fail('E_VERIFIER_RETURN', 'R0 not a scalar value', [0]);
      if (r0.s.smin < 0n || r0.s.smax > 1n) this.fail('E_VERIFIER_RETURN', `At callback return the register R0 has ${rangeText(r0.s)} should have been in [0, 1]`, [0]);
      return -1;
    }
    if (frames.length > 1) {
      const r0 = f.regs[0];
      if (r0.t === 'stack' && r0.frame === frames.length - 1) this.fail('E_VERIFIER_CALL', 'cannot return stack pointer to the caller', [0]);
      frames.pop();
      const caller = this.frame;
      for (let r = 1; r <= 5; r++) caller.regs[r] = NOT_INIT;
      this.set(0, r0);
      return f.callsite + 1;
    }
    if (this.st.refs.length) {
      const r = this.st.refs[0];
      this.fail('E_VERIFIER_REF_LEAK', `Unreleased reference id=${r.id} alloc_insn=${r.insn}`);
    }
    const r0 = this.rd(0);
    if (isPointer(r0) && !this.priv) this.fail('E_VERIFIER_LEAK', 'R0 leaks addr as return value', [0]);
    const range = returnRange(this.type, this.attachType);
    if (range) {
      if (r0.t !== 'scalar') this.fail('E_VERIFIER_RETURN', `At program exit the register R0 is not a known value (${regTypeStr(r0)})`, [0]);
      if (r0.s.smin < range[0] || r0.s.smax > range[1]) this.fail('E_VERIFIER_RETURN', `At program exit the register R0 has ${rangeText(r0.s)} should have been in [${range[0]}, ${range[1]}]`, [0]);
    }
    return -1;
  }

  private release(ref: number): void {
    if (!ref || !this.st.refs.some((r) => r.id === ref)) this.fail('E_VERIFIER_REF', 'release kernel function called without a referenced object', [1]);
    this.st.refs = this.st.refs.filter((r) => r.id !== ref);
    this.forEachReg(this.st, (r) => (isPointer(r) && r.ref === ref ? UNKNOWN_REG : r));
  }

  private badArg(regno: number, r: Reg, expected: string): never {
    this.fail('E_VERIFIER_HELPER_ARG', `R${regno} type=${regTypeStr(r)} expected=${expected}`, [regno]);
  }

  /** check_func_arg for every argument of a helper. */
  private checkArgs(proto: HelperProto): { map: number; constKey: bigint | undefined; allocSize: number; releaseRef: number } {
    const meta = { map: -1, constKey: undefined as bigint | undefined, allocSize: 0, releaseRef: 0 };
    const args = proto.args!;
    for (let i = 0; i < args.length; i++) {
      const regno = i + 1;
      const at: ArgType = args[i];
      const r = this.rd(regno);
      switch (at) {
        case 'anything':
          if (isPointer(r) && !this.priv) this.fail('E_VERIFIER_LEAK', `R${regno} leaks addr into helper function`, [regno]);
          break;
        case 'map_ptr': {
          if (r.t !== 'map_ptr' || r.nul) this.badArg(regno, r, 'map_ptr');
          meta.map = r.map;
          const m = this.maps[r.map];
          const needs = FUNC_MAPS[proto.id];
          const allowed = MAP_FUNCS[m.type];
          if ((needs && !needs.includes(m.type)) || (allowed && !allowed.includes(proto.id))) {
            this.fail('E_VERIFIER_HELPER_ARG', `cannot pass map_type ${m.type} into func ${helperName(proto.id)}#${proto.id}`, [regno]);
          }
          break;
        }
        case 'map_key': case 'map_value': case 'map_value_or_null': case 'uninit_map_value': {
          // ARG_PTR_TO_MAP_VALUE_OR_NULL: NULL, or a map value's bytes.
          if (at === 'map_value_or_null' && isZero(r)) break;
          if (meta.map < 0) this.fail('E_VERIFIER_HELPER_ARG', 'invalid map_ptr to access map->key', [regno]);
          // resolve_map_arg_type: a sockmap's or sockhash's value is the socket itself.
          if (at === 'map_value' && SOCK_MAPS.has(this.maps[meta.map].type)) {
            if ((r.t !== 'sock' && r.t !== 'sock_common') || r.nul) this.badArg(regno, r, 'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_');
            break;
          }
          if (!memLike(r, false)) this.badArg(regno, r, MEM_TYPES);
          const m = this.maps[meta.map];
          const size = at === 'map_key' ? m.keySize : m.valueSize;
          this.helperMem(regno, r, size, at === 'uninit_map_value', false);
          if (at === 'map_key') meta.constKey = this.constStackValue(r, size);
          break;
        }
        case 'mem': case 'mem_or_null': case 'uninit_mem':
          if (!memLike(r, at === 'mem_or_null')) this.badArg(regno, r, MEM_TYPES);
          break;
        case 'const_size': case 'const_size_or_zero': {
          if (r.t !== 'scalar') this.badArg(regno, r, 'scalar');
          const zeroOk = at === 'const_size_or_zero';
          const s = r.s;
          if (s.smin < 0n) this.fail('E_VERIFIER_HELPER_ARG', `R${regno} min value is negative, either use unsigned or 'var &= const'`, [regno]);
          if (s.umin === 0n && !zeroOk) this.fail('E_VERIFIER_HELPER_ARG', `R${regno} invalid zero-sized read: u64=[${s.umin},${s.umax}]`, [regno]);
          if (s.umax >= BigInt(MAX_VAR_OFF)) this.fail('E_VERIFIER_HELPER_ARG', `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`, [regno]);
          const memReg = this.regs[regno - 1];
          if (!isZero(memReg) || s.umax !== 0n) {
            if (isZero(memReg)) this.fail('E_VERIFIER_HELPER_ARG', `R${regno - 1} type=scalar expected=${MEM_TYPES}`, [regno - 1]);
            this.helperMem(regno - 1, memReg, Number(s.umax), args[i - 1] === 'uninit_mem', zeroOk);
          }
          break;
        }
        case 'const_alloc_size_or_zero':
          if (r.t !== 'scalar' || !scalarIsConst(r.s)) this.fail('E_VERIFIER_HELPER_ARG', `R${regno} is not a known constant'`, [regno]);
          meta.allocSize = Number(r.s.var.value);
          break;
        case 'ctx':
          if (r.t !== 'ctx') this.badArg(regno, r, 'ctx');
          if (r.off) this.fail('E_VERIFIER_CTX', `dereference of modified ctx ptr R${regno} off=${r.off} disallowed`, [regno]);
          break;
        case 'func':
          if (r.t !== 'func') this.badArg(regno, r, 'func');
          break;
        case 'stack_or_null':
          if (!(r.t === 'stack' || isZero(r))) this.badArg(regno, r, 'fp');
          break;
        case 'ringbuf_mem':
          if (r.t !== 'mem' || r.nul || !r.ref) this.badArg(regno, r, 'ringbuf_mem');
          if (r.off || !scalarIsConst(r.s) || r.s.var.value !== 0n) this.fail('E_VERIFIER_HELPER_ARG', `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`, [regno]);
          meta.releaseRef = r.ref;
          break;
        case 'btf_id_sock_common': case 'sock_common':
          if ((r.t !== 'sock' && r.t !== 'sock_common') || r.nul) this.badArg(regno, r, 'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_');
          if (at === 'btf_id_sock_common') meta.releaseRef = r.ref;
          break;
        case 'uninit_long':
          if (!memLike(r, false)) this.badArg(regno, r, MEM_TYPES);
          this.helperMem(regno, r, 8, true, false);
          break;
        case 'u32_inout':
          // ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED of 4 bytes: aligned, read (initialized), then written (its old value forgotten).
          if (!memLike(r, false)) this.badArg(regno, r, MEM_TYPES);
          this.alignCheck(regno, r, 0, 4, true);
          this.helperMem(regno, r, 4, false, false);
          this.helperMem(regno, r, 4, true, false);
          break;
        case 'const_str':
          this.fail('E_VERIFIER_HELPER_ARG', `R${regno} does not point to a readonly map'`, [regno]);
      }
    }
    return meta;
  }

  /** check_helper_mem_access: `size` bytes at the pointer are accessible (and initialized, unless the helper writes them). */
  private helperMem(regno: number, r: Reg, size: number, raw: boolean, zeroOk: boolean): void {
    switch (r.t) {
      case 'pkt': case 'pkt_meta': {
        const mode = PKT_ACCESS.get(this.type);
        if (!mode || (raw && mode !== 'rw')) this.fail('E_VERIFIER_PKT', 'cannot write into packet', [regno]);
        this.packet(regno, r, r.off, size, zeroOk);
        return;
      }
      case 'map_value': {
        const m = this.maps[r.map];
        if (raw && (m.flags ?? 0) & 0x80) this.fail('E_VERIFIER_MAP', `write into map forbidden, value_size=${m.valueSize} off=${r.off} size=${size}`, [regno]);
        this.region(regno, r, r.off, size, m.valueSize, 'map value', zeroOk);
        return;
      }
      case 'map_key':
        this.region(regno, r, r.off, size, this.maps[r.map].keySize, 'map key', zeroOk);
        return;
      case 'mem':
        this.region(regno, r, r.off, size, r.size, 'mem', zeroOk);
        return;
      case 'stack': {
        if (size === 0) return;
        const frame = this.st.frames[r.frame];
        const lo = BigInt(r.off) + r.s.smin;
        const hi = BigInt(r.off) + r.s.smax + BigInt(size);
        if (!scalarIsConst(r.s) && !this.priv) this.fail('E_VERIFIER_STACK', `R${regno} variable stack access prohibited for !root, var_off=${formatTnum(r.s.var)}`, [regno]);
        if (r.s.smin === S64_MIN || lo < MIN_STACK_N || hi > 0n) {
          if (scalarIsConst(r.s)) this.fail('E_VERIFIER_STACK', `invalid indirect access to stack R${regno} off=${lo} size=${size}`, [regno]);
          this.fail('E_VERIFIER_STACK', `invalid variable-offset indirect access to stack R${regno} var_off=${formatTnum(r.s.var)} off=${r.off} size=${size}`, [regno]);
        }
        const from = Number(lo);
        const to = Number(hi);
        this.growStack(frame, from);
        for (let o = from; o < to; o++) {
          const spi = spiOf(o);
          const idx = byteOf(o);
          const sl = frame.stack[spi];
          if (raw) {
            frame.stack[spi] = { bytes: setChar(sl.spill ? sl.bytes.replace(/r/g, 'm') : sl.bytes, idx, 'm'), spill: undefined };
            continue;
          }
          // Privileged programs may read any stack byte: nothing to check per byte.
          if (this.priv) continue;
          const b = sl.bytes[idx];
          if (b === '?') this.fail('E_VERIFIER_STACK', `invalid indirect read from stack R${regno} off ${lo}+${o - from} size ${size}`, [regno]);
          if (b === 'r' && sl.spill && isPointer(sl.spill)) this.fail('E_VERIFIER_LEAK', `invalid indirect read from stack R${regno} off ${lo}+${o - from} size ${size}`, [regno]);
        }
        return;
      }
      default:
        this.fail('E_VERIFIER_HELPER_ARG', `R${regno} type=${regTypeStr(r)} expected=${MEM_TYPES}`, [regno]);
    }
  }

  /** get_constant_map_key: the key a stack pointer points at, when the stack holds a known constant of the key's size. */
  private constStackValue(r: Reg, size: number): bigint | undefined {
    if (r.t !== 'stack' || !scalarIsConst(r.s)) return undefined;
    const off = r.off + Number(r.s.var.value);
    const frame = this.st.frames[r.frame];
    const spi = spiOf(off);
    const idx = byteOf(off);
    const sl = frame.stack[spi] ?? EMPTY_SLOT;
    let zeros = 0;
    for (let i = idx; i >= 0 && sl.bytes[i] === '0'; i--) zeros++;
    if (zeros >= size) return 0n;
    if (!sl.spill || sl.spill.t !== 'scalar' || sl.bytes[7] !== 'r') return undefined;
    let spill = 0;
    for (let i = idx; i >= 0 && sl.bytes[i] === 'r'; i--) spill++;
    if (spill !== size) return undefined;
    return scalarConstValue(scalarTruncate(sl.spill.s, size as 1 | 2 | 4 | 8));
  }

  /** check_max_stack_depth: along every call chain the frames' stack (each rounded up to 32) stays within 512 bytes. */
  private checkStackDepth(): void {
    const depth = (s: number): number => Math.ceil(Math.max(this.stackDepth.get(s) ?? 0, 1) / 32) * 32;
    const walk = (s: number, acc: number, n: number): void => {
      const total = acc + depth(s);
      if (total > MAX_STACK) this.fail('E_VERIFIER_CALL', `combined stack size of ${n} calls is ${total}. Too large`);
      for (const t of this.callGraph.get(s) ?? []) if (n < MAX_FRAMES + 1) walk(t, total, n + 1);
    };
    this.pc = 0;
    walk(0, 0, 1);
  }
}

/**
 * try_match_pkt_pointers by comparison, with the packet pointer as dst (index 0) or src (index 1): [the taken
 * branch (not the fall-through) gets the range, the range is right-open, the other branch learns the pointer is beyond the end].
 */
const PKT_CMP: Partial<Record<JmpOp, readonly [readonly [boolean, boolean, boolean], readonly [boolean, boolean, boolean]]>> = {
  jgt: [[false, false, true], [true, true, false]],
  jlt: [[true, true, false], [false, false, true]],
  jge: [[false, true, false], [true, false, true]],
  jle: [[true, false, true], [false, true, false]],
};

/** Register types as small numbers, for hashing. */
const TYPE_CODE: Record<RegType, number> = {
  not_init: 2, scalar: 3, ctx: 4, map_ptr: 5, map_value: 6, map_key: 7, stack: 8, pkt: 9, pkt_meta: 10, pkt_end: 11, mem: 12, sock: 13, sock_common: 14, func: 15,
};

/** The mask of one register. */
function bit(r: number): number {
  return 1 << r;
}

/** A use mask and a def mask in one number (use in the low 16 bits, def in the high ones). */
function ud(use: number, def: number): number {
  return use | (def << 16);
}

/** Word `word` (0: slots 0-31, 1: slots 32-63) of the mask of stack slots an access through r10 covers (slot i holds fp-8(i+1) .. fp-8i-1). */
function slotBits(off: number, size: number, word: 0 | 1): number {
  let m = 0;
  for (let a = off; a < off + size; a++) {
    const i = ((-a - 1) >> 3) - 32 * word;
    if (i >= 0 && i < 32) m |= 1 << i;
  }
  return m;
}

/** A u64 as s64; without a new bigint when it is below 2^63 (pointer offsets are, and this runs per pointer arithmetic). */
function signed64(v: bigint): bigint {
  return v < TWO_63 ? v : BigInt.asIntN(64, v);
}

const TWO_63 = 1n << 63n;

/** The registers an error in pointer arithmetic names: dst, and src or dst again. */
function arithRegs(insn: Insn): number[] {
  return [insn.dst, insn.code & 8 ? insn.src : insn.dst];
}

/** A helper's name as the kernel's messages give it (made only for a message). */
function helperName(id: number): string {
  return `bpf_${HELPER_FUNCS[id] ?? 'unknown'}`;
}

/** Whether the path runs inside a callback (bpf_loop, for_each_map_elem) at any depth. */
function inCallback(st: VState): boolean {
  for (let f = 1; f < st.frames.length; f++) if (st.frames[f].callback) return true;
  return false;
}

/** The scalar a load of `size` bytes gives (sign-extended by `sx`). */
function loadedScalar(size: 1 | 2 | 4 | 8, sx: boolean): Reg {
  return scalarReg(sx && size < 8 ? scalarLoadSx(size as 1 | 2 | 4) : scalarLoad(size));
}

/** Whether a pointer's fixed offset plus a constant (a small integer plus a signed 64-bit value, as a double) fits s32: a value too large for a double to hold exactly is far outside either way. */
function fitsS32(v: number): boolean {
  return v >= -0x80000000 && v <= 0x7fffffff;
}

function regionWithin(o: bigint, size: number, memSize: number, zeroOk: boolean): boolean {
  return o >= 0n && (size > 0 || zeroOk) && o + BigInt(size) <= BigInt(memSize);
}

function regionLine(what: 'map value' | 'map key' | 'mem', memSize: number, o: bigint, size: number): string {
  return what === 'map value'
    ? `invalid access to map value, value_size=${memSize} off=${o} size=${size}`
    : what === 'map key' ? `invalid access to map key, key_size=${memSize} off=${o} size=${size}` : `invalid access to memory, mem_size=${memSize} off=${o} size=${size}`;
}

/** A pointer to memory a helper may read or write (or NULL, where allowed). */
function memLike(r: Reg, allowNull: boolean): boolean {
  return (allowNull && isZero(r)) || (!r.nul && MEM_LIKE.has(r.t));
}

const MEM_LIKE = new Set<RegType>(['stack', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem']);

/** The stack slot of the byte at fp+off (off < 0): slot i holds fp-8(i+1) .. fp-8i-1. */
function spiOf(off: number): number {
  return (-off - 1) >> 3;
}

/** The byte of the byte at fp+off inside its slot, as the kernel indexes it (7 is the lowest address). */
function byteOf(off: number): number {
  return (-off - 1) & 7;
}

function setChar(s: string, i: number, c: string): string {
  return s.slice(0, i) + c + s.slice(i + 1);
}

function isZero(r: Reg): boolean {
  return r.t === 'scalar' && scalarIsConst(r.s) && r.s.var.value === 0n;
}

function flip(op: JmpOp): JmpOp {
  const m: Partial<Record<JmpOp, JmpOp>> = { jgt: 'jlt', jlt: 'jgt', jge: 'jle', jle: 'jge', jsgt: 'jslt', jslt: 'jsgt', jsge: 'jsle', jsle: 'jsge' };
  return m[op] ?? op;
}

/** verbose_invalid_scalar's description of a value. */
function rangeText(s: Scalar): string {
  const parts: string[] = [];
  if (s.smin > S64_MIN) parts.push(`smin=${s.smin}`);
  if (s.smax < (1n << 63n) - 1n) parts.push(`smax=${s.smax}`);
  return parts.length ? parts.join(' ') : 'unknown scalar value';
}

/** Re-exported for the log and tests. */
export { formatReg };
export type { Slot };
