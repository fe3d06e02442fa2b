/** seccomp: a per-syscall policy compiled to classic BPF (architecture checked first), and its installation on every thread. */

import { BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, insn, validate } from '../cbpf/index.js';
import type { Insn } from '../cbpf/index.js';
import { BpfkitError, UsageError } from '../util/index.js';
import { sockFilterBytes, sockFprog } from './attr.js';
import { Errno } from './sys.js';
import type { ErrnoName, Sys } from './sys.js';
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from './syscalls.js';

/** What seccomp does with a matching syscall. */
export type SeccompAction =
  | { action: 'allow' }
  | { action: 'errno'; errno: number }
  | { action: 'kill' }
  | { action: 'kill-process' }
  | { action: 'log' }
  | { action: 'trap' }
  | { action: 'trace'; data: number };

/** Let the syscall run. */
export const allow = (): SeccompAction => ({ action: 'allow' });
/** Fail the syscall with this errno (a name such as 'EPERM' or a number). */
export const deny = (errno: number | ErrnoName = 'EPERM'): SeccompAction => ({ action: 'errno', errno: typeof errno === 'number' ? errno : Errno[errno] });
/** Kill the calling thread. */
export const kill = (): SeccompAction => ({ action: 'kill' });
/** Kill the whole process. */
export const killProcess = (): SeccompAction => ({ action: 'kill-process' });
/** Allow, after logging the call to the audit log. */
export const log = (): SeccompAction => ({ action: 'log' });
/** Send SIGSYS. */
export const trap = (): SeccompAction => ({ action: 'trap' });

/** SECCOMP_RET_* values. */
export const SeccompRet = {
  SECCOMP_RET_KILL_PROCESS: 0x80000000, SECCOMP_RET_KILL_THREAD: 0x00000000, SECCOMP_RET_TRAP: 0x00030000,
  SECCOMP_RET_ERRNO: 0x00050000, SECCOMP_RET_USER_NOTIF: 0x7fc00000, SECCOMP_RET_TRACE: 0x7ff00000,
  SECCOMP_RET_LOG: 0x7ffc0000, SECCOMP_RET_ALLOW: 0x7fff0000,
} as const;

/** The return value of a seccomp filter for an action. */
export function seccompRet(a: SeccompAction): number {
  switch (a.action) {
    case 'allow': return SeccompRet.SECCOMP_RET_ALLOW;
    case 'errno': return (SeccompRet.SECCOMP_RET_ERRNO | (a.errno & 0xffff)) >>> 0;
    case 'kill': return SeccompRet.SECCOMP_RET_KILL_THREAD;
    case 'kill-process': return SeccompRet.SECCOMP_RET_KILL_PROCESS;
    case 'log': return SeccompRet.SECCOMP_RET_LOG;
    case 'trap': return SeccompRet.SECCOMP_RET_TRAP;
    case 'trace': return (SeccompRet.SECCOMP_RET_TRACE | (a.data & 0xffff)) >>> 0;
  }
}

/** Per architecture: the AUDIT_ARCH_* value seccomp_data.arch holds, and the syscall numbers. */
export const seccompArches = {
  x64: { auditArch: 0xc000003e, syscalls: SYSCALLS_X86_64 },
  arm64: { auditArch: 0xc00000b7, syscalls: SYSCALLS_AARCH64 },
} as const;

/** A seccomp policy: an action per syscall name, and one for everything else. */
export interface SeccompPolicy {
  /** The architecture the filter accepts (others get `badArch`); defaults to the running one. */
  arch?: 'x64' | 'arm64';
  /** Action for syscalls without a rule. */
  defaultAction: SeccompAction;
  /** Actions by syscall name (`mkdir`, `openat`) or number. */
  rules: Readonly<Record<string, SeccompAction>>;
  /** Action for a foreign architecture or the x32 ABI; defaults to kill-process, as a filter can't vouch for numbers it wasn't written for. */
  badArch?: SeccompAction;
}

/** offsetof(struct seccomp_data, nr) and (…, arch). */
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;
/** x32 syscalls on x86-64 have this bit set in nr. */
const X32_SYSCALL_BIT = 0x40000000;

function runningArch(): 'x64' | 'arm64' {
  const arch = (globalThis as { process?: { arch?: string } }).process?.arch;
  return arch === 'arm64' ? 'arm64' : 'x64';
}

/**
 * Compiles a policy to a classic BPF seccomp filter: check the architecture, then one
 * `jeq nr / ret action` pair per rule (short forward jumps only, so any number of rules fits),
 * then the default. The result passes the cbpf validator in seccomp mode.
 */
export function compileSeccomp(policy: SeccompPolicy): Insn[] {
  const arch = policy.arch ?? runningArch();
  const { auditArch, syscalls } = seccompArches[arch];
  const bad = seccompRet(policy.badArch ?? killProcess());
  const prog: Insn[] = [
    insn(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_ARCH),
    insn(BPF_JMP | BPF_JEQ | BPF_K, auditArch, 1, 0),
    insn(BPF_RET | BPF_K, bad),
    insn(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA_NR),
  ];
  if (arch === 'x64') prog.push(insn(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1), insn(BPF_RET | BPF_K, bad));
  for (const [name, action] of Object.entries(policy.rules)) {
    const nr = /^\d+$/.test(name) ? Number(name) : syscalls[name];
    if (nr === undefined) {
      throw new UsageError('E_SECCOMP_SYSCALL', `unknown ${arch} syscall "${name}"`, {
        hint: arch === 'arm64' && SYSCALLS_X86_64[name] !== undefined ? `arm64 has no ${name}; use its *at form (e.g. mkdirat)` : undefined,
      });
    }
    prog.push(insn(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), insn(BPF_RET | BPF_K, seccompRet(action)));
  }
  prog.push(insn(BPF_RET | BPF_K, seccompRet(policy.defaultAction)));
  validate(prog, { mode: 'seccomp' });
  return prog;
}

/** PR_SET_NO_NEW_PRIVS, and the seccomp() operation and flags. */
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
export const SeccompFlag = {
  SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
} as const;

/** Options for {@link installSeccomp}. */
export interface InstallSeccompOptions {
  /** Apply to every thread of the process (libuv's pool included); default true. Without it only the calling thread is filtered. */
  tsync?: boolean;
  /** Log every action except allow (SECCOMP_FILTER_FLAG_LOG). */
  log?: boolean;
}

/**
 * Installs a seccomp filter: sets no_new_privs, then seccomp(SET_MODE_FILTER, TSYNC). Irreversible
 * for this process; run it in a child process in tests.
 */
export function installSeccomp(sys: Sys, prog: readonly Insn[], options: InstallSeccompOptions = {}): void {
  validate(prog, { mode: 'seccomp' });
  const filter = sockFilterBytes(prog);
  const fprog = sockFprog(prog.length, sys.addressOf(filter));
  let flags = 0;
  if (options.tsync ?? true) flags |= SeccompFlag.SECCOMP_FILTER_FLAG_TSYNC;
  if (options.log) flags |= SeccompFlag.SECCOMP_FILTER_FLAG_LOG;
  try {
    sys.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    const r = sys.seccomp(SECCOMP_SET_MODE_FILTER, flags, fprog);
    // With TSYNC, a positive result is the id of a thread that could not be synchronized.
    if (r > 0) throw new UsageError('E_SECCOMP_TSYNC', `thread ${r} could not take the seccomp filter`);
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext('install seccomp filter') : e;
  }
}
