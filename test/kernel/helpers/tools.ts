/** Shared by the `bpfkit tools` reference tests: run ours and libbpf-tools' version around a workload and pick rows. */

import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { hasCommand, inCi, repoRoot, reportSkip } from '../../helpers/reference.js';

export interface Running {
  ready: Promise<void>;
  stop(): Promise<string>;
}

/** How many BPF links process `pid` holds (its attached probes). */
export function bpfLinks(pid: number): number {
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:bpf_link') n++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // exited
  }
  return n;
}

/** Starts a command; `ready` once its output matches `readyText` (plus a settle time for tools that attach after printing), or once it holds `readyText` BPF links. */
export function start(cmd: string[], readyText: RegExp | number, settleMs = 0): Running {
  const child: ChildProcessWithoutNullStreams = spawn(cmd[0], cmd.slice(1), { cwd: repoRoot });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    // A tool that prints nothing until it ends (offcputime) is ready once it holds `readyText` BPF links.
    if (typeof readyText === 'number') {
      const poll = setInterval(() => {
        if (bpfLinks(child.pid!) >= readyText) {
          clearInterval(poll);
          setTimeout(resolve, settleMs);
        }
      }, 50);
      void exited.then(() => clearInterval(poll));
    }
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (typeof readyText !== 'number' && readyText.test(out)) setTimeout(resolve, settleMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then(() => reject(new Error(`${cmd.join(' ')} exited before it was ready: ${err}`)));
  });
  return {
    ready,
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await exited;
      return out;
    },
  };
}

export const ours = (tool: string, args: string[]): string[] => [process.execPath, '--import', 'tsx', path.join(repoRoot, 'test/helpers/cli-entry.ts'), 'tools', tool, ...args];
/** libbpf-tools' binary, line-buffered so its lines arrive as they are printed. */
export const theirs = (tool: string, args: string[]): string[] => ['stdbuf', '-oL', `/usr/sbin/${tool}`, ...args];

/**
 * libbpf-tools (0.26, Debian's) versions that cannot give a reference on this kind of kernel, and why: checked
 * facts, printed when the comparison is skipped (these never fail CI: installing does not fix them).
 */
export const UNUSABLE: Record<string, string> = {
  statsnoop: "libbpf-tools 0.26's statsnoop loads no program: its tracepoint_exists() looks for debugfs' events/syscalls/statfs (no kernel has it; the events are sys_enter_statfs)",
  biosnoop: "libbpf-tools' biosnoop needs a kprobe on blk_account_io_start (this kernel has no kprobes)",
  profile: 'libbpf-tools 0.26 has no profile (bcc added it later)',
  memleak: "libbpf-tools 0.26 has no memleak (bcc added it later), and bcc's memleak-bpfcc cannot compile without kernel headers",
  funccount: 'libbpf-tools has no funccount (a bcc Python tool)',
  tcpretrans: 'libbpf-tools has no tcpretrans (a bcc Python tool)',
  trace: "libbpf-tools has no trace (a bcc Python tool; trace-bpfcc cannot compile without kernel headers)",
  argdist: "libbpf-tools has no argdist (a bcc Python tool; argdist-bpfcc cannot compile without kernel headers)",
};

/** Whether libbpf-tools' `tool` can run here; prints why not (and in CI fails when it is only not installed). */
export function reference(tool: string): boolean {
  if (UNUSABLE[tool] !== undefined) {
    console.warn(`[no reference] tools ${tool}: ${UNUSABLE[tool]}; compared with the workload's ground truth only`);
    return false;
  }
  if (existsSync(`/usr/sbin/${tool}`) && hasCommand('stdbuf')) return true;
  const msg = `libbpf-tools' ${tool} not installed (apt-get install libbpf-tools)`;
  if (inCi()) throw new Error(msg);
  reportSkip(`tools ${tool} reference`, msg);
  return false;
}

/** Runs ours and (when present) libbpf-tools' tool around `work`; returns both outputs. */
export async function both(tool: string, args: string[], ready: RegExp | number, work: () => void | Promise<void>): Promise<{ ours: string; theirs?: string }> {
  const a = start(ours(tool, args), ready);
  const withRef = reference(tool);
  const b = withRef ? start(theirs(tool, args), ready, 800) : undefined;
  await Promise.all([a.ready, b?.ready]);
  await work();
  const [oa, ob] = await Promise.all([a.stop(), b?.stop()]);
  return { ours: oa, ...(ob !== undefined ? { theirs: ob } : {}) };
}

/** Lines matching `re`, with columns `drop` (0-based, whitespace-split) removed. */
export function rows(out: string, re: RegExp, drop: number[] = []): string[] {
  return out.split('\n').filter((l) => re.test(l)).map((l) => l.trim().split(/\s+/).filter((_, i) => !drop.includes(i)).join(' '));
}

