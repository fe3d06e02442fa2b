// seccomp: the compiled policy run through the cbpf interpreter on seccomp_data, and installed for real in a child process.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpret, validate } from '../../src/cbpf/index.js';
import { SYSCALLS_AARCH64, SYSCALLS_X86_64, SeccompRet, allow, compileSeccomp, deny, kill, log, seccompArches, trap } from '../../src/kernel/index.js';
import { repoRoot } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

/**
 * struct seccomp_data for (nr, arch), laid out for the packet interpreter: seccomp loads
 * aligned words in host order, the packet interpreter in network order, so the words are
 * stored big-endian here to give the same accumulator values.
 */
function seccompData(nr: number, arch: number): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, nr, false);
  dv.setUint32(4, arch, false);
  return b;
}

describe('seccomp policy compiler', () => {
  const X64 = seccompArches.x64.auditArch;
  const policy = compileSeccomp({ arch: 'x64', defaultAction: allow(), rules: { mkdir: deny('EPERM'), openat: deny(13), ptrace: kill(), kill: trap(), uname: log() } });

  it('returns each rule\'s action for its syscall and the default for the rest', () => {
    const run = (name: string) => interpret(policy, seccompData(SYSCALLS_X86_64[name], X64)) >>> 0;
    expect(run('mkdir')).toBe((SeccompRet.SECCOMP_RET_ERRNO | 1) >>> 0);
    expect(run('openat')).toBe((SeccompRet.SECCOMP_RET_ERRNO | 13) >>> 0);
    expect(run('ptrace')).toBe(SeccompRet.SECCOMP_RET_KILL_THREAD);
    expect(run('kill')).toBe(SeccompRet.SECCOMP_RET_TRAP);
    expect(run('uname')).toBe(SeccompRet.SECCOMP_RET_LOG);
    for (const name of ['read', 'write', 'mkdirat', 'close']) expect(run(name)).toBe(SeccompRet.SECCOMP_RET_ALLOW);
  });

  it('kills the process on a foreign architecture and on the x32 ABI', () => {
    expect(interpret(policy, seccompData(83, seccompArches.arm64.auditArch)) >>> 0).toBe(SeccompRet.SECCOMP_RET_KILL_PROCESS);
    expect(interpret(policy, seccompData(0x40000000 | 83, X64)) >>> 0).toBe(SeccompRet.SECCOMP_RET_KILL_PROCESS);
  });

  it('stays valid with hundreds of rules (only short jumps)', () => {
    const rules = Object.fromEntries(Object.keys(SYSCALLS_X86_64).map((n) => [n, deny('ENOSYS')]));
    const big = compileSeccomp({ arch: 'x64', defaultAction: kill(), rules });
    expect(() => validate(big, { mode: 'seccomp' })).not.toThrow();
    expect(interpret(big, seccompData(SYSCALLS_X86_64.write, X64)) >>> 0).toBe((SeccompRet.SECCOMP_RET_ERRNO | 38) >>> 0);
    expect(interpret(big, seccompData(999, X64)) >>> 0).toBe(SeccompRet.SECCOMP_RET_KILL_THREAD);
  });

  it('syscall tables: well-known numbers', () => {
    expect([SYSCALLS_X86_64.read, SYSCALLS_X86_64.mkdir, SYSCALLS_X86_64.bpf, SYSCALLS_X86_64.seccomp]).toEqual([0, 83, 321, 317]);
    expect([SYSCALLS_AARCH64.mkdirat, SYSCALLS_AARCH64.bpf, SYSCALLS_AARCH64.fcntl, SYSCALLS_AARCH64.mkdir]).toEqual([34, 280, 25, undefined]);
  });

  it('unknown syscall names are typed errors with a hint for arm64', () => {
    expect(() => compileSeccomp({ arch: 'x64', defaultAction: allow(), rules: { nosuch: deny() } })).toThrow(expect.objectContaining({ code: 'E_SECCOMP_SYSCALL' }));
    expect(() => compileSeccomp({ arch: 'arm64', defaultAction: allow(), rules: { mkdir: deny() } })).toThrow(expect.objectContaining({ hint: expect.stringMatching(/mkdirat/) }));
  });
});

const why = await kernelSkip('seccomp install');

describe.skipIf(why !== undefined)('seccomp installed in a child process', () => {
  it('mkdir fails with EPERM on the main thread and on the libuv threadpool; other calls still work', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-seccomp-'));
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'examples/seccomp-deny-mkdir.ts'), dir], { encoding: 'utf8', cwd: repoRoot });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ mainThread: 'EPERM', threadpool: 'EPERM', writeFile: 'still allowed' });
      expect(existsSync(path.join(dir, 'main-thread'))).toBe(false);
      expect(existsSync(path.join(dir, 'threadpool'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
